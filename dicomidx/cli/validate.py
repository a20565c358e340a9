"""`dicomidx validate-events`: what would happen to each event, decided offline."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dicomidx.cli import event_report, options
from dicomidx.cli.console import warn
from dicomidx.errors import CheckFailedError, InputError
from dicomidx.events.expectations import Expectation
from dicomidx.events.filter import EventFilter, recommended_filter
from dicomidx.events.filter_json import filter_from_json
from dicomidx.events.inputs import read_inputs
from dicomidx.events.rules import decide
from dicomidx.events.template import filter_from_template


class ReportFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    JUNIT = "junit"


def validate_events(
    paths: Annotated[
        list[str],
        typer.Argument(help="JSON files (an event or an array), JSON Lines files, or - for stdin."),
    ],
    messages: Annotated[
        bool,
        typer.Option(
            "--messages",
            help="Each line is a raw queue message body (base64), as the worker receives it.",
        ),
    ] = False,
    filter_file: Annotated[
        Path | None,
        typer.Option(
            "--filter",
            help="A filter as `az eventgrid system-topic event-subscription show` prints it, or "
            "an ARM template [default: the recommended filter for the configured names].",
            dir_okay=False,
        ),
    ] = None,
    parameters: Annotated[
        Path | None,
        typer.Option(
            "--parameters", help="Parameters file for an ARM template --filter.", dir_okay=False
        ),
    ] = None,
    expect: Annotated[
        list[str] | None,
        typer.Option(
            "--expect",
            metavar="OUTCOME[:REASON]",
            help="Exit 8 unless every event meets one of these (repeatable), "
            "e.g. --expect accepted --expect ignored:self-write.",
        ),
    ] = None,
    output: Annotated[
        ReportFormat, typer.Option("--output", "-o", help="table, json, or junit for CI.")
    ] = ReportFormat.TABLE,
    summary: Annotated[
        bool, typer.Option("--summary", help="With table output, print only the counts.")
    ] = False,
    workspace: options.Workspace = None,
    dicom_service: options.DicomService = None,
    file_system: options.FileSystem = None,
    config: options.Config = None,
) -> int:
    """Decide offline, as Event Grid and the DICOM service would, what happens to each event.

    Every event gets one outcome and reason: invalid (not-json, not-base64, not-cloudevent),
    filtered (event-type, subject-prefix, subject-suffix, advanced-filter), ignored
    (unsupported-type, other-file-system, outside-service-path, self-write, uncommitted) or
    accepted (index, remove).
    """
    settings = options.settings_from(
        config, workspace=workspace, dicom_service=dicom_service, file_system=file_system
    )
    settings.require("workspace", "dicom_service", "file_system")
    expectations = [Expectation.parse(text) for text in expect or ()]
    event_filter = _load_filter(filter_file, parameters)
    if event_filter is None:
        event_filter = recommended_filter(settings)

    for text in event_filter.warnings():
        warn(text)
    results = (
        event_report.Result(located.source, decide(located.item, settings, event_filter))
        for located in read_inputs(paths, messages=messages)
    )

    report = event_report.render(results, output.value, expectations, summary=summary)
    if report.unmet:
        raise CheckFailedError(
            f"{report.unmet} of {report.total} events did not meet "
            f"{' or '.join(str(e) for e in expectations)}"
        )
    return 0


def _load_filter(path: Path | None, parameters: Path | None) -> EventFilter | None:
    if path is None:
        if parameters is not None:
            raise InputError("--parameters goes with an ARM template given as --filter")
        return None

    document = _read_json(path)
    if isinstance(document, dict) and "resources" in document:
        params = _read_json(parameters) if parameters is not None else None
        return filter_from_json(
            filter_from_template(document, params, origin=str(path)), origin=str(path)
        )
    if parameters is not None:
        raise InputError(f"{path}: --parameters given, but this is not an ARM template")
    return filter_from_json(document, origin=str(path))


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise InputError(f"{path}: no such file") from error
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot be read ({error})") from error
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: not JSON ({error.msg} at line {error.lineno})") from error
