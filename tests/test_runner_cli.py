"""`dotmock-run` and `dotmock report merge` as users run them: exit codes, shards, -j, Ctrl-C, and every
report format validated (JUnit against tests/data/junit.xsd, JSON against the shipped schema)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
import xmlschema

from dotmock.dsl.model import Scenario
from dotmock.runner.report_json import report_schema
from dotmock.runner.selection import keyword_filter, select, shard_of

HERE = Path(__file__).parent
REPO = HERE.parent
BEHAVE = f"{sys.executable} {HERE / 'clients' / 'behave.py'}"
SCHEMA = report_schema()
XSD = xmlschema.XMLSchema(str(HERE / "data" / "junit.xsd"))
RUN = [sys.executable, "-m", "dotmock", "run"]
MERGE = [sys.executable, "-m", "dotmock", "report", "merge"]


def wait_for_children(pid: int, n: int, timeout: float = 60.0) -> None:
    """Until process `pid` has `n` child processes (its clients): a fixed sleep races loading on a busy machine."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            children = []
        if len(children) >= n:
            time.sleep(0.3)  # and they have started
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} did not start {n} clients within {timeout:g}s")


def validate_json(path: Path) -> dict:
    data = json.loads(path.read_text())
    jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft202012Validator)
    return data


def write_cases(folder: Path, cases: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in cases.items():
        (folder / f"{name}.mock").write_text(body)


def simple(name: str, mode: str, timeout: str = "10s", extra: str = "") -> str:
    return (
        f'scenario "{name}"\ntags quick\nclient "{BEHAVE} {mode}" {{ timeout {timeout} }}\n'
        f'fixture "cut" {{ match POST /v1/chat/completions {{ json "stream" == true }} response "0123456789" '
        f"streaming {{ chunkSize 3 truncateAfterChunks 1 }} }}\n"
        f'fixture "ok" {{ match POST /v1/chat/completions response "fine" }}\n{extra}'
    )


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mixed") / "scenarios"
    write_cases(
        folder,
        {
            "a_ok": simple("answers", "ok", extra='expect { client exits 0  client stdout contains "fine" }\n'),
            "b_crash": simple("crashes", "crash"),
            "c_accepts": simple("accepts a cut stream", "stream-accept"),
            "d_documented": simple(
                "documents a weakness", "stream-accept", extra="expect { finding truncated_stream_accepted }\n"
            ),
            "e_params": (
                f'scenario "exit codes"\nclient "{BEHAVE} exit ${{code}}"\n'
                "params {\n | code |\n | 0 |\n | 3 |\n}\n"
                'fixture "ok" { match POST * response "x" }\nexpect { client exits ${code} finding never_called }\n'
            ),
            "f_noclient": 'scenario "no client"\nfixture "ok" { match POST * response "x" }\n',
        },
    )
    return folder


def run(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GITHUB_STEP_SUMMARY": ""}
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def outcomes(data: dict) -> dict[str, tuple[str, list[str]]]:
    return {c["id"]: (c["outcome"], sorted(f["name"] for f in c["findings"])) for c in data["cases"]}


@pytest.fixture(scope="module")
def full_run(mixed: Path) -> tuple[subprocess.CompletedProcess[str], dict, Path]:
    out = mixed.parent
    proc = run(
        [
            *RUN,
            "scenarios",
            "-j",
            "4",
            "--junit",
            "r.xml",
            "--json",
            "r.json",
            "--markdown",
            "r.md",
            "--html",
            "r.html",
        ],
        out,
    )
    return proc, validate_json(out / "r.json"), out


def test_exit_1_and_every_report_written_when_some_fail(full_run) -> None:
    proc, data, out = full_run
    assert proc.returncode == 1, proc.stderr
    got = {c["name"]: c["outcome"] for c in data["cases"]}
    assert got == {
        "answers": "passed",
        "crashes": "failed",
        "accepts a cut stream": "failed",
        "documents a weakness": "passed",
        "exit codes [code=0]": "passed",
        "exit codes [code=3]": "passed",
        "no client": "error",
    }
    assert data["summary"] == {"total": 7, "passed": 4, "failed": 2, "error": 1, "not_run": 0}
    XSD.validate(str(out / "r.xml"))
    md = (out / "r.md").read_text()
    assert "truncated_stream_accepted" in md and "| case | outcome |" in md
    html = (out / "r.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "crashes" in html
    assert "FAIL" in proc.stdout and "no client" in proc.stdout  # plain text: stdout is not a TTY


def test_junit_has_one_suite_per_file_and_failure_details(full_run) -> None:
    _, _, out = full_run
    import xml.etree.ElementTree as ET

    root = ET.parse(out / "r.xml").getroot()
    suites = root.findall("testsuite")
    assert len(suites) == 6
    crash = root.find(".//testcase[@name='crashes']")
    assert crash is not None
    failure = crash.find("failure")
    assert failure is not None and "client_crashed" in failure.get("message", "")
    assert "ValueError" in (crash.findtext("system-err") or "")
    assert root.find(".//testcase[@name='no client']/error") is not None


def test_jobs_do_not_change_verdicts(mixed: Path, full_run) -> None:
    _, parallel, out = full_run
    proc = run([*RUN, "scenarios", "-j", "1", "--json", "serial.json"], out)
    assert proc.returncode == 1
    assert outcomes(validate_json(out / "serial.json")) == outcomes(parallel)


def test_shards_are_disjoint_and_cover_everything(mixed: Path, full_run) -> None:
    _, whole, out = full_run
    seen: list[str] = []
    for k in (1, 2, 3):
        proc = run([*RUN, "scenarios", "--shard", f"{k}/3", "--json", f"s{k}.json"], out)
        assert proc.returncode in (0, 1), proc.stderr
        seen += [c["id"] for c in validate_json(out / f"s{k}.json")["cases"]]
    assert sorted(seen) == sorted(c["id"] for c in whole["cases"])
    assert len(seen) == len(set(seen))
    merged = run([*MERGE, "s1.json", "s2.json", "s3.json", "--json", "m.json", "--junit", "m.xml"], out)
    assert merged.returncode == 1
    assert outcomes(validate_json(out / "m.json")) == outcomes(whole)
    assert [c["id"] for c in json.loads((out / "m.json").read_text())["cases"]] == [c["id"] for c in whole["cases"]]
    XSD.validate(str(out / "m.xml"))
    partial = run([*MERGE, "s1.json", "s3.json", "--json", "p.json"], out)
    assert partial.returncode == 1
    assert "no report for shard 2/3" in partial.stderr


def test_shard_function_partitions_many_ids() -> None:
    ids = [f"scenarios/f{i // 7}.mock::case {i}" for i in range(500)]
    for n in (1, 2, 3, 8):
        buckets = [[i for i in ids if shard_of(i, n) == k] for k in range(1, n + 1)]
        assert sorted(i for bucket in buckets for i in bucket) == sorted(ids)
        assert all(buckets) or n > len(ids)


def test_keyword_expressions() -> None:
    cases = [
        Scenario(name=n, path="x.mock", base_dir=".", tags=tuple(t))
        for n, t in (("retry works", ["retry"]), ("ws drop", ["websocket"]), ("ws retry", ["websocket", "retry"]))
    ]
    pick = lambda expr: [c.name for c in select(cases, expr)]  # noqa: E731
    assert pick("retry") == ["retry works", "ws retry"]
    assert pick("websocket and not retry") == ["ws drop"]
    assert pick("drop or works") == ["retry works", "ws drop"]
    assert pick('"ws retry"') == ["ws retry"]
    assert pick("'retry works' or \"ws drop\"") == ["retry works", "ws drop"]
    assert pick("not (retry or drop)") == []
    with pytest.raises(ValueError):
        keyword_filter("retry and")


def test_k_filter_on_the_command_line(mixed: Path) -> None:
    proc = run([*RUN, "scenarios", "-k", "answers or exit", "--json", "k.json"], mixed.parent)
    assert proc.returncode == 0, proc.stdout
    names = sorted(c["name"] for c in validate_json(mixed.parent / "k.json")["cases"])
    assert names == ["answers", "exit codes [code=0]", "exit codes [code=3]"]


def test_parse_errors_exit_2_and_print_every_error(tmp_path: Path) -> None:
    write_cases(
        tmp_path / "bad",
        {
            "one": (
                'scenario "x"\nfixture "f" { match POST /v1/chat/completions response "x" streaming { chunksize 3 } }\n'
            ),
            "two": 'scenario "y"\nexpect { client exitz 0 }\n',
        },
    )
    proc = run([*RUN, "bad", "--json", "r.json"], tmp_path)
    assert proc.returncode == 2
    assert "one.mock" in proc.stderr and "two.mock" in proc.stderr
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--shard", "3/2"],
        ["-j", "0"],
        ["--timeout", "soon"],
        ["--timeout", "0s"],
        ["-k", "a and"],
        ["no/such/folder"],
        ["--bogus"],
    ],
)
def test_bad_invocations_exit_2(tmp_path: Path, args: list[str]) -> None:
    write_cases(tmp_path / "scenarios", {"a": simple("a", "ok")})
    assert run([*RUN, *args], tmp_path).returncode == 2


def test_markdown_is_appended_to_the_github_step_summary(tmp_path: Path) -> None:
    write_cases(tmp_path / "scenarios", {"a": simple("a", "ok")})
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary)}
    proc = subprocess.run([*RUN], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = summary.read_text()
    assert text.startswith("earlier step\n") and "dotmock resilience report" in text


def test_ctrl_c_while_loading_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    """Interrupted before any case ran (parsing a large folder): exit 130, one line, no traceback."""
    folder = tmp_path / "scenarios"
    fixtures = "".join(
        f'fixture "f{i}" {{\n  match POST /v1/chat/completions {{ message contains "m{i}" }}\n  response "r"\n}}\n'
        for i in range(1_300)  # 18,200 tokens a file: under MAX_TOKENS
    )
    body = 'client "python -c pass"\n' + fixtures
    write_cases(folder, {f"big{n}": f'scenario "big {n}"\n' + body for n in range(80)})
    proc = subprocess.Popen(
        [*RUN, str(folder)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(1.5)  # well inside loading 104,000 fixtures (20 s or more)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err, err
    assert "dotmock run: interrupted (Ctrl-C)" in err


def test_ctrl_c_stops_the_run_and_still_writes_complete_reports(tmp_path: Path) -> None:
    cases = {f"h{i}": simple(f"hangs {i}", "hang", timeout="60s") for i in range(4)}
    cases["z"] = simple("answers", "ok")
    write_cases(tmp_path / "scenarios", cases)
    proc = subprocess.Popen(
        [*RUN, "-j", "2", "--json", "r.json", "--junit", "r.xml", "--html", "r.html"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "GITHUB_STEP_SUMMARY": ""},
    )
    wait_for_children(proc.pid, 2)  # two hanging clients are running (loading can take seconds under load)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    data = validate_json(tmp_path / "r.json")
    assert data["interrupted"] is True
    assert len(data["cases"]) == 5
    assert all(c["outcome"] == "not_run" for c in data["cases"] if c["name"].startswith("hangs"))
    XSD.validate(str(tmp_path / "r.xml"))
    assert (tmp_path / "r.html").read_text().rstrip().endswith("</html>")
    assert not list(tmp_path.glob(".dotmock-*.tmp"))
