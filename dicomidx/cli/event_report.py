"""Render validate-events results: a table with counts, JSON, or JUnit XML for CI."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

from rich.table import Table
from rich.text import Text

from dicomidx.cli.console import stdout
from dicomidx.events.expectations import Expectation, meets_any
from dicomidx.events.outcome import Outcome, Verdict

_STYLE = {
    Outcome.ACCEPTED: "green",
    Outcome.IGNORED: "yellow",
    Outcome.FILTERED: "cyan",
    Outcome.INVALID: "red",
}


@dataclass(frozen=True, slots=True)
class Result:
    source: str
    verdict: Verdict

    def as_json(self) -> dict[str, Any]:
        event = self.verdict.event
        return {
            "source": self.source,
            "id": event.id if event else None,
            "type": event.type if event else None,
            "subject": event.subject if event else None,
            "api": event.api if event else None,
            "outcome": self.verdict.outcome.value,
            "reason": self.verdict.reason.value,
            "detail": self.verdict.detail,
        }


@dataclass
class Report:
    total: int = 0
    unmet: int = 0
    counts: Counter[tuple[Outcome, str]] = field(default_factory=Counter)


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
        report.counts[(result.verdict.outcome, result.verdict.reason.value)] += 1
        met = not expectations or meets_any(result.verdict, expectations)
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
    # Streamed, so that a million events never sit in memory as one document.
    write = sys.stdout.write
    separator = "[\n  "
    for result in results:
        tally(result)
        write(separator)
        write(json.dumps(result.as_json(), ensure_ascii=False))
        separator = ",\n  "
    write("[]\n" if separator.startswith("[") else "\n]\n")


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
    for (outcome, reason), count in sorted(report.counts.items()):
        table.add_row(Text(outcome.value, style=_STYLE[outcome]), Text(reason), str(count))
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
