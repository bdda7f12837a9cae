"""Timing checks on a shared machine. A wait measured on a loaded 2-core box can come out late by a
scheduler's whim, once; a pacing or a replay that is wrong comes out wrong every time. So a timing check
is measured again, up to `runs` times in all, and passes on the first run that holds; the last run's
failure is the one reported. Only the timing part of a test goes through here: what is sent is asserted
once, outside it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable


async def holds_in_one_of(runs: int, check: Callable[[], Awaitable[None]]) -> None:
    """Run `check` (which measures and asserts) until one run passes; raise the last failure after `runs`."""
    assert runs >= 1
    for left in range(runs - 1, -1, -1):
        try:
            await check()
            return
        except AssertionError:
            if left == 0:
                raise


def assert_same_gaps(name: str, recorded: list[float], replayed: list[float], tolerance_s: float) -> None:
    """The waits between an answer's pieces (send times from its start) recorded and replayed: the same
    number of pieces, each gap within `tolerance_s`."""
    assert len(recorded) == len(replayed), name
    gaps = [b - a for a, b in zip([0.0, *recorded], recorded, strict=False)]
    again = [b - a for a, b in zip([0.0, *replayed], replayed, strict=False)]
    for g, h in zip(gaps, again, strict=True):
        assert abs(g - h) <= tolerance_s, (name, gaps, again)
