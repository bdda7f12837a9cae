"""Seeded jitter on an answer's waits (`streaming { jitterMs N }`): deterministic per seed, so a failing case
can be replayed exactly.

Each wait of a paced answer (before each content chunk and before the terminator, from `latencyMs` or a
recorded `cadence`) is moved by a uniform amount in [-N, +N] ms, and never goes below 0. The amounts come
from a generator seeded with the run's seed (`Journal.seed`: `dotmock-run --seed`, `dotmock serve --seed`,
written in every report), the fixture's name and the request's identity (its call key and attempt number),
so the same request gets the same waits in every run with that seed, whatever order concurrent requests
arrive in, and a retry gets waits of its own. The waits used are journaled (`gaps_ms` of the exchange).
"""

from __future__ import annotations

import hashlib
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

SEED_BITS = 32


def new_seed() -> int:
    """A fresh seed for a run that was not given one (it is reported, so the run can be repeated)."""
    return secrets.randbits(SEED_BITS)


def parse_seed(text: str) -> int:
    """A seed given on a command line: a whole number from 0 to 2**32 - 1."""
    problem = f"a seed is a whole number from 0 to {2**SEED_BITS - 1}, not {text!r}"
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(problem) from None
    if not 0 <= value < 2**SEED_BITS:
        raise ValueError(problem)
    return value


@dataclass(frozen=True, slots=True)
class Jitter:
    """The jitter of one answer: `spread_s` either way, drawn from `rng`."""

    spread_s: float
    rng: random.Random

    def apply(self, waits: Sequence[float]) -> list[float]:
        """`waits` (seconds), each moved by its own draw, none below 0."""
        return [max(0.0, w + self.rng.uniform(-self.spread_s, self.spread_s)) for w in waits]


def jitter_for(seed: int | None, fixture: str, call_key: str, attempt: int, jitter_ms: int) -> Jitter | None:
    """The jitter of one answer of `fixture` to the request `call_key` (its `attempt`), or None without
    `jitterMs`. A server without a seed (an in-process test server) uses 0."""
    if jitter_ms <= 0:
        return None
    key = f"{seed or 0}\x00{fixture}\x00{call_key}\x00{attempt}".encode("utf-8", "surrogatepass")
    rng = random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))
    return Jitter(jitter_ms / 1000.0, rng)
