"""Checks that need the whole scenario: names, reachability, endpoints, expectations. A check of one statement
or one fixture goes in `dsl/checks.py`, which runs while the file is built."""

from __future__ import annotations

from dotmock.dsl import catalogue
from dotmock.dsl import model as m
from dotmock.dsl.errors import DslError, did_you_mean, line_of


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
    text = text_of.get(where.path, "")
    source_line = line_of(text, where.line)
    if not source_line:
        return where
    index = source_line.find(word, where.column - 1)
    return where if index < 0 else m.Location(where.path, where.line, index + 1)


def _endpoint_errors(
    text_of: dict[str, str], protocol: str, path: str | None, where: m.Location | None, *, suggest: bool = True
) -> list[DslError]:
    """The error for a path dotmock does not serve (none for a path it does, or for any path: None)."""
    known = catalogue.HTTP_ENDPOINTS if protocol == "http" else catalogue.WS_ENDPOINTS
    if path is None or path in known or (protocol == "http" and catalogue.is_http_endpoint(path)):
        return []
    kind = "HTTP" if protocol == "http" else "WebSocket"
    hint = did_you_mean(path, known) if suggest else None
    return [_err(text_of, f"dotmock serves no {kind} endpoint {path}", where, hint=hint, expected=known)]


def _criteria(match: m.Match) -> str:
    """Equal for matches that are `same_criteria_except_attempt` (rule locations are not compared)."""
    return repr(
        (
            match.protocol,
            match.method,
            match.path,
            match.model,
            match.text,
            match.headers,
            match.json,
            match.turn,
            match.last_role,
            match.tool_results,
        )
    )


def _unreachable(fixtures: tuple[m.Fixture, ...], text_of: dict[str, str]) -> list[DslError]:
    """Fixtures an earlier one always answers first: shadowed by a catch-all above, or an attempt range that
    overlaps one of an otherwise equal fixture above. Near-linear: catch-alls are looked up by endpoint,
    attempt ranges among the fixtures of equal criteria only."""
    errors: list[DslError] = []
    first_catch_all: dict[tuple[str, str | None, str | None], int] = {}
    with_attempts: dict[str, list[int]] = {}
    for i, later in enumerate(fixtures):
        match = later.match
        covering = [
            first_catch_all.get((match.protocol, match.method, path))
            for path in {None, match.path}  # a catch-all without a path covers every path
        ]
        shadow = min((c for c in covering if c is not None), default=None)
        overlap = None
        if match.attempt is not None:
            for j in with_attempts.get(_criteria(match), ()):
                earlier_attempt = fixtures[j].match.attempt
                if earlier_attempt is not None and earlier_attempt.overlaps(match.attempt):
                    overlap = j
                    break
        if shadow is not None and (overlap is None or shadow < overlap):
            errors.append(
                _err(
                    text_of,
                    f"fixture {later.name!r} can never answer: {fixtures[shadow].name!r} above it matches "
                    "every request it could",
                    later.location,
                    hint="move it above, or narrow the earlier match (model, message, attempt, ...)",
                )
            )
        elif overlap is not None:
            errors.append(
                _err(
                    text_of,
                    f"attempt {match.attempt} of fixture {later.name!r} overlaps attempt "
                    f"{fixtures[overlap].match.attempt} of {fixtures[overlap].name!r}",
                    match.location,
                    hint="the first fixture wins: make the ranges disjoint, e.g. attempt 1 and attempt 2..",
                )
            )
        if match.is_catch_all:
            first_catch_all.setdefault((match.protocol, match.method, match.path), i)
        if match.attempt is not None:
            with_attempts.setdefault(_criteria(match), []).append(i)
    return errors


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
        match = fixture.match
        errors += _endpoint_errors(
            text_of, match.protocol, match.path, _at_word(text_of, match.location, match.path or "")
        )
        if fixture.match.protocol == "http" and fixture.match.method != "POST":
            errors.append(
                _err(
                    text_of,
                    f"the LLM endpoints take POST, not {fixture.match.method}",
                    _at_word(text_of, fixture.match.location, fixture.match.method or ""),
                )
            )

    errors.extend(_unreachable(scenario.fixtures, text_of))

    for expectation in scenario.expectations:
        if isinstance(expectation, m.RequestCountExpect | m.RequestFieldExpect):
            protocol = getattr(expectation, "protocol", "http")
            errors += _endpoint_errors(text_of, protocol, expectation.path, expectation.location)
        if isinstance(expectation, m.WsExpect):
            errors += _endpoint_errors(text_of, "websocket", expectation.path, expectation.location, suggest=False)
    names = [e for e in scenario.expectations if isinstance(e, m.FindingsExpect)]
    if any(e.kind == "none" for e in names) and any(e.kind == "present" for e in names):
        clash = next(e for e in names if e.kind == "present")
        errors.append(_err(text_of, f"'no findings' contradicts 'finding {clash.name}'", clash.location))
    present = {e.name for e in names if e.kind == "present"}
    for e in names:
        if e.kind == "absent" and e.name in present:
            errors.append(_err(text_of, f"'finding {e.name}' and 'no finding {e.name}' contradict", e.location))
    return errors
