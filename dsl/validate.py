"""Checks that need the whole scenario: names, reachability, endpoints, expectations."""

from __future__ import annotations

from dotmock.dsl import catalogue
from dotmock.dsl import model as m
from dotmock.dsl.errors import DslError, did_you_mean


def _err(
    text_of: dict[str, str],
    message: str,
    where: m.Location | None,
    *,
    hint: str | None = None,
    expected: tuple[str, ...] = (),
) -> DslError:
    if where is None:
        return DslError(message, path="<scenario>", hint=hint, expected=expected)
    return DslError.at(
        message, text_of.get(where.path, ""), where.path, where.line, where.column, hint=hint, expected=expected
    )


def _at_word(text_of: dict[str, str], where: m.Location | None, word: str) -> m.Location | None:
    """`where` moved onto `word` when the word stands later on the same line (e.g. a path after `match`)."""
    if where is None or not word:
        return where
    lines = text_of.get(where.path, "").splitlines()
    if not 0 < where.line <= len(lines):
        return where
    index = lines[where.line - 1].find(word, where.column - 1)
    return where if index < 0 else m.Location(where.path, where.line, index + 1)


def _covers(earlier: m.Match, later: m.Match) -> bool:
    """True when every request `later` could match is also matched by the catch-all `earlier`."""
    if earlier.protocol != later.protocol or earlier.method != later.method:
        return False
    return earlier.path is None or earlier.path == later.path


def _endpoint_error(protocol: str, path: str | None) -> tuple[str, tuple[str, ...]] | None:
    if path is None:
        return None
    known = catalogue.HTTP_ENDPOINTS if protocol == "http" else catalogue.WS_ENDPOINTS
    if path in known:
        return None
    kind = "HTTP" if protocol == "http" else "WebSocket"
    return f"dotmock serves no {kind} endpoint {path}", known


def validate(scenario: m.Scenario, text_of: dict[str, str]) -> list[DslError]:
    """Every problem of an assembled scenario (one parameter row)."""
    errors: list[DslError] = []
    seen: dict[str, m.Fixture] = {}
    for fixture in scenario.fixtures:
        if fixture.name in seen:
            first = seen[fixture.name].location
            errors.append(
                _err(
                    text_of,
                    f"two fixtures are named {fixture.name!r}",
                    fixture.location,
                    hint=f"the first is at {first}" if first else None,
                )
            )
        seen.setdefault(fixture.name, fixture)
        problem = _endpoint_error(fixture.match.protocol, fixture.match.path)
        if problem:
            message, known = problem
            errors.append(
                _err(
                    text_of,
                    message,
                    _at_word(text_of, fixture.match.location, fixture.match.path or ""),
                    hint=did_you_mean(fixture.match.path or "", known),
                    expected=known,
                )
            )
        if fixture.match.protocol == "http" and fixture.match.method != "POST":
            errors.append(
                _err(
                    text_of,
                    f"the LLM endpoints take POST, not {fixture.match.method}",
                    _at_word(text_of, fixture.match.location, fixture.match.method or ""),
                )
            )

    fixtures = scenario.fixtures
    for i, later in enumerate(fixtures):
        for earlier in fixtures[:i]:
            if earlier.match.is_catch_all and _covers(earlier.match, later.match):
                errors.append(
                    _err(
                        text_of,
                        f"fixture {later.name!r} can never answer: {earlier.name!r} above it matches "
                        "every request it could",
                        later.location,
                        hint="move it above, or narrow the earlier match (model, message, attempt, ...)",
                    )
                )
                break
            a, b = earlier.match.attempt, later.match.attempt
            if (
                a is not None
                and b is not None
                and earlier.match.same_criteria_except_attempt(later.match)
                and a.overlaps(b)
            ):
                errors.append(
                    _err(
                        text_of,
                        f"attempt {b} of fixture {later.name!r} overlaps attempt {a} of {earlier.name!r}",
                        later.match.location,
                        hint="the first fixture wins: make the ranges disjoint, e.g. attempt 1 and attempt 2..",
                    )
                )
                break

    for expectation in scenario.expectations:
        if isinstance(expectation, m.RequestCountExpect | m.RequestFieldExpect):
            protocol = getattr(expectation, "protocol", "http")
            problem = _endpoint_error(protocol, expectation.path)
            if problem:
                message, known = problem
                errors.append(
                    _err(
                        text_of,
                        message,
                        expectation.location,
                        hint=did_you_mean(expectation.path or "", known),
                        expected=known,
                    )
                )
        if isinstance(expectation, m.WsExpect) and expectation.path is not None:
            problem = _endpoint_error("websocket", expectation.path)
            if problem:
                errors.append(_err(text_of, problem[0], expectation.location, expected=problem[1]))
    names = [e for e in scenario.expectations if isinstance(e, m.FindingsExpect)]
    if any(e.kind == "none" for e in names) and any(e.kind == "present" for e in names):
        clash = next(e for e in names if e.kind == "present")
        errors.append(_err(text_of, f"'no findings' contradicts 'finding {clash.name}'", clash.location))
    present = {e.name for e in names if e.kind == "present"}
    for e in names:
        if e.kind == "absent" and e.name in present:
            errors.append(_err(text_of, f"'finding {e.name}' and 'no finding {e.name}' contradict", e.location))
    if scenario.expectations and scenario.client is None:
        errors.append(
            _err(
                text_of,
                "expectations need a client to judge: add a `client` line",
                scenario.expectations[0].location,
                hint='e.g. client "python clients/chat.py"',
            )
        )
    return errors
