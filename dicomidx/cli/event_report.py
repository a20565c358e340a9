"""Render validate-events results: a table with counts, JSON, or JUnit XML for CI."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from xml.etree import ElementTree as ET

import orjson
from rich.table import Table
from rich.text import Text

from dicomidx.cli.console import stdout
from dicomidx.events.expectations import Expectation, meets_any
from dicomidx.events.outcome import OUTCOME_OF, Outcome, Reason, Verdict

_STYLE = {
    Outcome.ACCEPTED: "green",
    Outcome.IGNORED: "yellow",
    Outcome.FILTERED: "cyan",
    Outcome.INVALID: "red",
}


class Result(NamedTuple):
    source: str
    verdict: Verdict

    def as_json(self) -> dict[str, Any]:
        reason, detail, event = self.verdict
        if event is None:
            return {
                "source": self.source,
                "id": None,
                "type": None,
                "subject": None,
                "api": None,
                "outcome": OUTCOME_OF[reason].value,
                "reason": reason.value,
                "detail": detail,
            }
        return {
            "source": self.source,
            "id": event.id,
            "type": event.type,
            "subject": event.subject,
            "api": event.data.get("api"),
            "outcome": OUTCOME_OF[reason],  # enums: orjson writes their values
            "reason": reason,
            "detail": detail,
        }


@dataclass
class Report:
    total: int = 0
    unmet: int = 0
    counts: Counter[Reason] = field(default_factory=Counter)


def render(
    results: Iterable[Result],
    output: str,
    expectations: Sequence[Expectation],
    *,
    summary: bool = False,
) -> Report:
    """Write the results in the chosen format and return the counts."""
    report = Report()

    def tally(result: Result) -> bool:  # counts one result; True when it met expectations
        report.total += 1
        report.counts[result.verdict.reason] += 1
        if not expectations:
            return True
        met = meets_any(result.verdict, expectations)
        report.unmet += not met
        return met

    if output == "json":
        _write_json(results, tally)
    elif output == "junit":
        _write_junit([(result, tally(result)) for result in results], expectations)
    else:
        rows = [(result, tally(result)) for result in results]
        if not summary:
            _print_rows(rows, show_expectation=bool(expectations))
        _print_counts(report)
    return report


def _write_json(results: Iterable[Result], tally: Callable[[Result], bool]) -> None:
    # Streamed, one event per line (for grep), straight into the binary buffer: a million
    # events never sit in memory as one document, and no text layer encodes them again.
    sys.stdout.flush()
    out = sys.stdout.buffer
    dumps = orjson.dumps
    separator = b"[\n  "
    for result in results:
        tally(result)
        out.write(separator)
        out.write(dumps(result.as_json()))
        separator = b",\n  "
    out.write(b"[]\n" if separator.startswith(b"[") else b"\n]\n")
    out.flush()


def _print_rows(rows: list[tuple[Result, bool]], *, show_expectation: bool) -> None:
    table = Table(show_lines=False, pad_edge=False, expand=False)
    for column in ("source", "id", "type", "outcome", "reason", "detail"):
        table.add_column(column, overflow="fold")
    if show_expectation:
        table.add_column("expected")

    for result, met in rows:
        verdict, event = result.verdict, result.verdict.event
        cells = [
            Text(result.source),
            Text(event.id if event else "-"),
            Text(event.type.removeprefix("Microsoft.Storage.") if event else "-"),
            Text(verdict.outcome.value, style=_STYLE[verdict.outcome]),
            Text(verdict.reason.value),
            Text(verdict.detail),
        ]
        if show_expectation:
            cells.append(Text("yes", style="green") if met else Text("NO", style="red bold"))
        table.add_row(*cells)
    stdout.print(table)


def _print_counts(report: Report) -> None:
    table = Table(title=f"{report.total} events", title_justify="left")
    table.add_column("outcome")
    table.add_column("reason")
    table.add_column("events", justify="right")
    rows = sorted(
        (OUTCOME_OF[reason].value, reason.value, count) for reason, count in report.counts.items()
    )
    for outcome, reason, count in rows:
        table.add_row(Text(outcome, style=_STYLE[Outcome(outcome)]), Text(reason), str(count))
    stdout.print(table)


def _write_junit(rows: list[tuple[Result, bool]], expectations: Sequence[Expectation]) -> None:
    failures = sum(not met for _, met in rows)
    suite = ET.Element(
        "testsuite",
        name="dicomidx validate-events",
        tests=str(len(rows)),
        failures=str(failures),
        errors="0",
    )
    wanted = " or ".join(str(e) for e in expectations) or "any outcome"
    for result, met in rows:
        verdict = result.verdict
        event_id = verdict.event.id if verdict.event else "-"
        case = ET.SubElement(
            suite,
            "testcase",
            classname=verdict.outcome.value,
            name=f"{result.source} {event_id}",
        )
        ET.SubElement(
            case, "system-out"
        ).text = f"{verdict.outcome.value}:{verdict.reason.value} {verdict.detail}"
        if not met:
            failure = ET.SubElement(
                case,
                "failure",
                message=f"expected {wanted}, got {verdict.outcome.value}:{verdict.reason.value}",
                type="unexpected-outcome",
            )
            failure.text = verdict.detail
    ET.indent(suite)
    sys.stdout.write(ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n")
