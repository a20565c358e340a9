"""`dicomidx validate-events` as a CI script runs it: output, exit codes, formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from dicomidx.cli.app import run
from tests.events.corpus import BASE, cloud_event, encode

NAMES = ["--workspace", "contosows", "--dicom-service", "dicomsvc", "--file-system", "imaging"]
TEMPLATES = Path(__file__).parents[2] / "templates"


def _write_lines(path: Path, events: list[Any]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def _json_run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, Any]]]:
    code = run(["validate-events", *args, *NAMES, "--output", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_json_output_gives_one_result_per_event_in_input_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [cloud_event(), cloud_event(BASE + "x.DCM"), "not an object"]
    path = _write_lines(tmp_path / "events.jsonl", events)
    path.write_text(path.read_text() + "{broken\n")

    code, results = _json_run(capsys, str(path))

    assert code == 0
    assert [(r["source"], r["outcome"], r["reason"]) for r in results] == [
        (f"{path}:1", "accepted", "index"),
        (f"{path}:2", "filtered", "subject-suffix"),
        (f"{path}:3", "invalid", "not-cloudevent"),
        (f"{path}:4", "invalid", "not-json"),
    ]
    assert set(results[0]) >= {"source", "id", "type", "subject", "outcome", "reason", "detail"}


def test_a_json_array_file_names_each_event_by_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "events.json"
    path.write_text(json.dumps([cloud_event(), cloud_event(type="x")], indent=2))
    code, results = _json_run(capsys, str(path))
    assert code == 0
    assert [r["source"] for r in results] == [f"{path}[0]", f"{path}[1]"]


def test_messages_mode_reads_raw_queue_bodies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bodies.txt"
    path.write_text(encode(cloud_event()) + "\n" + json.dumps(cloud_event()) + "\n")
    code, results = _json_run(capsys, str(path), "--messages")
    assert code == 0
    assert [r["reason"] for r in results] == ["index", "not-base64"]


def test_expectations_that_every_event_meets_exit_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_lines(tmp_path / "e.jsonl", [cloud_event(), cloud_event(type="x")])
    code = run(
        [
            "validate-events",
            str(path),
            *NAMES,
            "--expect",
            "accepted",
            "--expect",
            "filtered:event-type",
        ]
    )
    assert code == 0


def test_an_event_that_differs_from_the_expectations_exits_8_and_says_how_many(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_lines(tmp_path / "e.jsonl", [cloud_event(), cloud_event(type="x")])
    code = run(["validate-events", str(path), *NAMES, "--expect", "accepted:index"])
    captured = capsys.readouterr()
    assert code == 8
    assert "1 of 2 events did not meet accepted:index" in captured.err


@pytest.mark.parametrize(
    ("expect", "message"),
    [("acepted", "unknown outcome 'acepted'"), ("ignored:index", "not a reason for ignored")],
)
def test_an_expectation_outside_the_vocabulary_is_a_usage_error(
    expect: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_lines(tmp_path / "e.jsonl", [cloud_event()])
    code = run(["validate-events", str(path), *NAMES, "--expect", expect])
    assert code == 2
    assert message in capsys.readouterr().err


def test_unreadable_input_exits_4_and_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["validate-events", str(tmp_path / "missing.json"), *NAMES])
    assert code == 4
    assert "missing.json: no such file" in capsys.readouterr().err


def test_missing_names_exit_3_with_what_to_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_lines(tmp_path / "e.jsonl", [cloud_event()])
    code = run(["validate-events", str(path)])
    err = capsys.readouterr().err
    assert code == 3
    assert "DICOMIDX_WORKSPACE" in err


def test_an_empty_filter_file_delivers_everything_to_the_service_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_lines(tmp_path / "e.jsonl", [cloud_event(BASE + "x.DCM")])
    empty = tmp_path / "filter.json"
    empty.write_text("{}")
    code, results = _json_run(capsys, str(path), "--filter", str(empty))
    assert (code, results[0]["reason"]) == (0, "index")


def test_the_arm_template_read_as_a_filter_warns_about_silent_drops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_lines(tmp_path / "e.jsonl", [cloud_event(client_request_id=None)])
    code = run(
        [
            "validate-events",
            str(path),
            *NAMES,
            "--output",
            "json",
            "--filter",
            str(TEMPLATES / "storage-indexing.json"),
            "--parameters",
            str(TEMPLATES / "storage-indexing.parameters.example.json"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert json.loads(captured.out)[0]["reason"] == "advanced-filter"
    assert "drops every event without data.clientRequestId" in captured.err
    assert "'.DCM'" in captured.err


def test_junit_output_marks_each_unexpected_event_as_a_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_lines(tmp_path / "e.jsonl", [cloud_event(), cloud_event(type="x")])
    code = run(["validate-events", str(path), *NAMES, "--output", "junit", "--expect", "accepted"])
    suite = ET.fromstring(capsys.readouterr().out)  # noqa: S314 (our own output)
    assert code == 8
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    failure = suite.find("testcase/failure")
    assert failure is not None
    assert "got filtered:event-type" in (failure.get("message") or "")


def test_the_table_counts_each_outcome(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write_lines(tmp_path / "e.jsonl", [cloud_event(), cloud_event(), cloud_event(type="x")])
    code = run(["validate-events", str(path), *NAMES, "--summary"])
    out = capsys.readouterr().out
    assert code == 0
    assert "3 events" in out
    assert "accepted" in out
    assert "│      2 │" in out


def test_the_console_script_reads_stdin_and_keeps_stdout_for_data(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "dicomidx", "validate-events", "-", *NAMES, "-o", "json"],
        input=json.dumps(cloud_event()),
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0
    assert json.loads(completed.stdout)[0]["source"] == "<stdin>"
    assert "warning:" in completed.stderr
