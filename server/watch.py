"""`dotmock serve --watch`: reload the scenario when its files change.

The files watched are the scenario file and every file its fixtures came from (its includes), re-read every
`interval` seconds and compared by content, so an editor's save (in place or by rename) is seen whatever the
file system's timestamp resolution. A change that loads is swapped in (`ScenarioHolder.reload`: the HTTP and
WebSocket endpoints and the test panel follow); one that does not prints its `DslError` and the previous
scenario goes on being served.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from dotmock.dsl import DslError, load_file
from dotmock.dsl.model import Scenario

DEFAULT_INTERVAL_S = 0.3


class Reloadable(Protocol):
    @property
    def scenario(self) -> Scenario: ...

    def reload(self, scenario: Scenario) -> None: ...


def watched_files(path: str, scenario: Scenario) -> set[str]:
    """The scenario file and the files its fixtures were written in."""
    files = {str(Path(path).resolve())}
    for fixture in scenario.fixtures:
        if fixture.location is not None:
            files.add(str(Path(fixture.location.path).resolve()))
    return files


def _digest(files: set[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for file in sorted(files):
        try:
            out[file] = hashlib.sha1(Path(file).read_bytes()).hexdigest()
        except OSError:
            out[file] = None
    return out


async def watch(
    path: str,
    holder: Reloadable,
    say: Callable[[str], None],
    *,
    interval: float = DEFAULT_INTERVAL_S,
) -> None:
    """Until cancelled: reload `path` into `holder` whenever one of its files changes.

    Files are always digested *before* they are loaded, so an edit made while a load runs (or before the
    watch began: the holder's scenario was loaded earlier) is never taken for the state already served: at
    worst it is loaded twice."""
    files = watched_files(path, holder.scenario)
    seen = await asyncio.to_thread(_digest, files)
    loaded = await _load(path, say)
    if loaded is not None and loaded != holder.scenario:  # edited between the first load and this watch
        files, seen = await _swap(path, holder, loaded, say, len(files), seen)
    while True:
        await asyncio.sleep(interval)
        now = await asyncio.to_thread(_digest, files)
        if now == seen:
            continue
        changed = [f for f in now if now[f] != seen.get(f)]
        seen = now
        loaded = await _load(path, say)
        if loaded is not None:
            files, seen = await _swap(path, holder, loaded, say, len(changed), seen)


async def _load(path: str, say: Callable[[str], None]) -> Scenario | None:
    try:
        loaded = await asyncio.to_thread(load_file, path)
    except DslError as err:
        say(f"{err.render()}\ndotmock: {path} has errors; still serving the previous scenario")
        return None
    except OSError as err:
        say(f"dotmock: cannot read {path}: {err.strerror or err}; still serving the previous scenario")
        return None
    if not loaded.cases:
        say(f"dotmock: {path} has no scenario; still serving the previous scenario")
        return None
    return loaded.cases[0]


async def _swap(
    path: str,
    holder: Reloadable,
    scenario: Scenario,
    say: Callable[[str], None],
    changed: int,
    seen: dict[str, str | None],
) -> tuple[set[str], dict[str, str | None]]:
    """Serve `scenario`; the files to watch from now on and their digests: those taken before the load, and
    for a file the new scenario newly includes, one taken now."""
    files = watched_files(path, scenario)
    added = await asyncio.to_thread(_digest, files - set(seen))
    seen = {f: seen[f] if f in seen else added[f] for f in files}
    holder.reload(scenario)
    n = len(scenario.fixtures)
    say(f"dotmock: reloaded {path} ({n} fixture{'s' if n != 1 else ''}; {changed} file(s) changed)")
    return files, seen
