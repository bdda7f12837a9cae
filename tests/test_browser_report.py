"""The HTML resilience report of the shipped scenarios, opened in headless Chromium.

Runs `dotmock run scenarios/ --json --html` once, then checks the page: offline (no request leaves the file),
one timeline per case, the cut of a truncated stream and of a dropped WebSocket drawn, findings with advice,
escaping, phone width and print. Needs Chromium like tests/test_browser_panel.py (fails without it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browsing import REPO, launched_browser, screenshot_path
from playwright.sync_api import Browser, Page, Route

from dotmock.runner.report_html import render_html
from dotmock.runner.report_json import report_from_json

# The first test pays for the module's shipped run (`run`: up to 240 s on a loaded machine) inside its own time.
pytestmark = pytest.mark.timeout(360)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched_browser() as b:
        yield b


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("report")
    json_path, html_path = out / "report.json", out / "report.html"
    jobs = str(max(4, min(16, os.cpu_count() or 4)))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dotmock",
            "run",
            "scenarios/",
            "-j",
            jobs,
            "--json",
            str(json_path),
            "--html",
            str(html_path),
        ],
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return json.loads(json_path.read_text(encoding="utf-8")), html_path


def offline_page(browser: Browser, width: int = 1100) -> tuple[Page, list[str]]:
    page = browser.new_page(viewport={"width": width, "height": 900})
    outside: list[str] = []

    def guard(route: Route) -> None:
        if route.request.url.startswith(("file:", "data:", "about:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    return page, outside


def _section(page: Page, index: int) -> Any:
    return page.locator(f"section#case-{index}")


def test_report_has_one_timeline_per_case_and_draws_the_cuts(
    browser: Browser, run: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    data, html_path = run
    cases = data["cases"]
    assert len(cases) >= 10
    page, outside = offline_page(browser)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        page.goto(html_path.as_uri())
        assert page.locator("section.case").count() == len(cases)
        assert page.locator("figure.timeline").count() == len(cases)
        assert page.locator("table.summary tbody tr").count() == len(cases)
        truncated = [i for i, c in enumerate(cases) if any("truncate" in ex["faults"] for ex in c["journal"]["http"])]
        dropped = [i for i, c in enumerate(cases) if any(conn.get("dropped") for conn in c["journal"]["websocket"])]
        assert truncated and dropped
        for i in range(len(cases)):
            section = _section(page, i)
            assert section.locator("figure.timeline").count() == 1
            assert section.locator("h2").text_content() and cases[i]["name"] in (
                section.locator("h2").text_content() or ""
            )
        for i in truncated:
            timeline = _section(page, i).locator("figure.timeline")
            cut = timeline.locator('path.cut[data-cut="truncate"]')
            assert cut.count() >= 1, cases[i]["name"]
            assert int(timeline.get_attribute("data-cuts") or 0) >= 1
            assert "ended without its terminator" in (cut.first.locator("title").text_content() or "")
        _section(page, truncated[0]).locator("details.case-details").evaluate("d => d.open = true")
        cut = _section(page, truncated[0]).locator('.svgwrap.wide path.cut[data-cut="truncate"]').first
        cut.scroll_into_view_if_needed()
        assert cut.is_visible() and (cut.bounding_box() or {}).get("height", 0) > 10
        for i in dropped:
            assert _section(page, i).locator('path.cut[data-cut="drop 1006"]').count() >= 1, cases[i]["name"]
        # Client lanes with start and exit, chunk ticks, retries and Retry-After windows are drawn.
        wide = page.locator(".svgwrap.wide")
        assert wide.locator("g.lane.client circle.start").count() == sum(1 for c in cases if c["client"])
        assert page.locator("line.tick.chunk").count() > 0
        assert page.locator("path.retry").count() > 0
        assert page.locator("rect.retry-after").count() > 0
        # Findings come with their advice, next to the expectations.
        with_findings = next(i for i, c in enumerate(cases) if c["findings"])
        section = _section(page, with_findings)
        assert "Advice:" in (section.locator("ul.findings").text_content() or "")
        assert section.locator("ul.expects li").count() == len(cases[with_findings]["expectations"])
        assert not outside, outside
        assert not errors, errors
        # The README's screenshot: the seed's example, a cut stream and its retry.
        seed = next((i for i, c in enumerate(cases) if c["name"] == "rate limit mid-stream is retried"), truncated[0])
        _section(page, seed).locator("details.case-details").evaluate("d => d.open = true")
        _section(page, seed).screenshot(path=str(screenshot_path("report.png", tmp_path)))
    finally:
        page.close()


def test_report_reads_on_a_phone_and_prints(browser: Browser, run: tuple[dict[str, Any], Path]) -> None:
    _, html_path = run
    page, outside = offline_page(browser, width=375)
    try:
        page.goto(html_path.as_uri())
        # Nothing but the timelines' own scroll boxes is wider than the screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= 376
        assert page.locator("table.summary thead").is_hidden()  # the summary table became cards
        # A timeline on a phone: the narrow drawing, all of it on the screen, no text under 10 px.
        first = page.locator("section.case").first
        first.locator("details.case-details").evaluate("d => d.open = true")
        narrow = first.locator(".svgwrap.narrow svg")
        assert narrow.is_visible() and first.locator(".svgwrap.wide").is_hidden()
        box = narrow.bounding_box() or {}
        assert box.get("x", -1) >= 0 and box.get("x", 0) + box.get("width", 999) <= 375
        sizes = narrow.locator("text").evaluate_all("ts => ts.map(t => t.getBoundingClientRect().height)")
        assert sizes and min(sizes) >= 10, sizes
        page.emulate_media(media="print")
        assert page.locator(".filters").is_hidden()
        assert page.locator("section.case").first.is_visible()
        assert not outside, outside
    finally:
        page.close()


def test_report_escapes_what_clients_and_scenarios_wrote(browser: Browser, run: tuple[dict[str, Any], Path]) -> None:
    data, _ = run
    hostile = json.loads(json.dumps(data))
    case = hostile["cases"][0]
    case["name"] = "<img src=x onerror=\"document.title='pwned'\">"
    case["message"] = "</pre><script>document.title='pwned'</script>"
    if case["client"]:
        case["client"]["stdout_tail"] = "<svg onload=\"document.title='pwned'\"></svg>"
        case["client"]["argv"] = ["</code><b>bold</b>"]
    case["tags"] = ['"><i>x</i>']
    if case["journal"]["http"]:
        case["journal"]["http"][0]["path"] = "</text><script>document.title='pwned'</script>"
        case["journal"]["http"][0]["fixture"] = "<b>fixture</b>"
    html = render_html(report_from_json(hostile))
    page, outside = offline_page(browser)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.set_content(html)
        assert page.title().startswith("dotmock resilience report")
        assert page.locator("section#case-0 img, section#case-0 b:has-text('bold'), section#case-0 i").count() == 0
        assert "<img src=x" in (page.locator("section#case-0 h2").text_content() or "")
        assert page.locator("script").count() == 1  # the report's own
        assert not dialogs and not outside
    finally:
        page.close()


def _shown(page: Page, selector: str, value: str) -> list[Any]:
    """`value` (a JS expression of `e`) of every element matching `selector` that is displayed, in one round
    trip: one `is_visible()` per element of a 200-case report took over two minutes on a loaded machine."""
    script = f"els => els.filter(e => e.getClientRects().length > 0).map(e => {value})"
    return list(page.eval_on_selector_all(selector, script))


def test_a_big_report_puts_failures_first_collapses_passes_and_filters(
    browser: Browser, run: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    """At 50+ cases: what failed is on top and open, what passed is one line each, and a search narrows both
    the summary table and the cases."""
    data, _ = run
    cases = [dict(c, name=f"{c['name']} #{k}", id=f"{c['id']}#{k}") for k in range(4) for c in data["cases"]]
    assert len(cases) >= 50
    failed = dict(cases[3], outcome="failed", name="the one that failed", id="x.mock::failed")
    cases[-1] = failed
    report = report_from_json(dict(data, cases=cases))
    html = tmp_path / "big.html"
    html.write_text(render_html(report), encoding="utf-8")
    page, _ = offline_page(browser)
    try:
        page.goto(html.as_uri())
        sections = page.locator("section.case")
        # Failures first (a live case of the shipped run may have failed too on a loaded machine).
        outcomes = page.eval_on_selector_all("section.case", "els => els.map(e => e.dataset.outcome)")
        first_pass = outcomes.index("passed")
        assert set(outcomes[:first_pass]) <= {"failed", "error", "not_run"} and outcomes[0] in ("failed", "error")
        assert all(o == "passed" for o in outcomes[first_pass:])
        top = page.eval_on_selector_all("table.summary tbody tr", "els => els.map(e => e.textContent)")[:first_pass]
        assert any("the one that failed" in row for row in top)
        assert sections.first.locator("details.case-details").get_attribute("open") is not None
        passed = page.locator('section.case[data-outcome="passed"]')
        assert passed.count() >= 40
        assert passed.first.locator("figure.timeline").is_hidden()  # collapsed: name and facts only
        assert passed.first.locator("h2").is_visible()
        page.fill(".case-search", "seed #2")
        visible = _shown(page, "section.case", "e.querySelector('h2').textContent")
        assert visible and all("#2" in name for name in visible)
        rows = _shown(page, "table.summary tbody tr", "e.textContent")
        assert len(rows) == len(visible)
        assert page.locator(".filter-count").text_content() == f"{len(visible)} of {len(cases)} cases"
        page.fill(".case-search", "")
        page.click('button[data-filter="problems"]')
        shown = _shown(page, "section.case", "e.dataset.outcome")
        assert shown and set(shown) <= {"failed", "error"} and len(shown) == first_pass - outcomes.count("not_run")
        # A summary link to a collapsed case opens it.
        page.click('button[data-filter="all"]')
        target = passed.first.get_attribute("id")
        page.locator(f'table.summary a[href="#{target}"]').click()
        assert page.locator(f"section#{target} figure.timeline").is_visible()
    finally:
        page.close()
