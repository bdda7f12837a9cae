"""A module fixture's value computed once per test run, not once per xdist worker.

Under `-n 2` the tests of a module are spread over both workers, and a module-scoped fixture runs on each
worker that got one of them: a fixture that runs dozens of client cases at once would run them twice. Here
the first worker to ask computes the value and leaves it (pickled) in the run's shared temporary folder;
the other waits on a lock for it, idle instead of repeating the work.
"""

from __future__ import annotations

import fcntl
import os
import pickle
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def once_per_run(factory: pytest.TempPathFactory, name: str, compute: Callable[[], T]) -> T:
    base = factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # pytest-N/, shared by popen-gwN/
    done = root / f"once-{name}.pickle"
    with open(root / f"once-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            value: T = pickle.loads(done.read_bytes())
            return value
        value = compute()
        done.write_bytes(pickle.dumps(value))
        return value
