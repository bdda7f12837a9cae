"""Headless Chromium for the browser tests: Debian's system browser, driven by Playwright.

Needs /usr/bin/chromium (`apt-get install chromium`; .ci/run installs it) or DOTMOCK_CHROMIUM=/path:
without it the browser tests fail with this message, they are not skipped.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

REPO = Path(__file__).resolve().parent.parent
# No background networking: this machine's closed network refuses Chromium's own connections.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = os.environ.get("DOTMOCK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        pytest.fail(
            f"Chromium is needed for the browser tests and was not found at {path}: install it with "
            "`apt-get install chromium` (.ci/run does) or set DOTMOCK_CHROMIUM",
            pytrace=False,
        )
    return path


def screenshot_path(name: str, tmp: Path) -> Path:
    """Where a README screenshot goes: docs/img/ when it is missing or DOTMOCK_UPDATE_SCREENSHOTS=1 asks for a
    new one (so a test run leaves the committed images alone), else a scratch file."""
    target = REPO / "docs" / "img" / name
    if os.environ.get("DOTMOCK_UPDATE_SCREENSHOTS") == "1" or not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        return target
    return tmp / name


@contextmanager
def launched_browser(extra_args: Sequence[str] = ()) -> Iterator[Browser]:
    """Chromium with `CHROMIUM_ARGS` and `extra_args` (`--host-resolver-rules=...` for a DNS-rebinding page)."""
    executable = chromium_path()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()
