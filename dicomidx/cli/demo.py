"""`dicomidx demo`: the whole flow on the embedded Azurite, start to finish, in one command."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from dicomidx.cli.console import OutputFormat, note, stdout
from dicomidx.cli.index import render_instances
from dicomidx.cli.logs import LogFormat, configure_logging
from dicomidx.cli.run import render_summary


def demo(
    index: Annotated[
        Path | None,
        typer.Option("--index", help="Keep the index in this file [default: a temporary one]."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show the worker's log for every event.")
    ] = False,
) -> int:
    """Start Azurite, write sample DICOM files and broken ones, enqueue their events, index.

    Prints the worker's counts, the index, and the poison queue with each failure's reason.
    """
    configure_logging(LogFormat.TEXT, level=logging.INFO if verbose else logging.ERROR)
    from dicomidx.demo import run_demo
    from dicomidx.index import SqliteIndex

    with tempfile.TemporaryDirectory(prefix="dicomidx-demo-") as scratch:
        path = index or Path(scratch) / "index.sqlite"
        store = SqliteIndex(path)
        try:
            report = run_demo(store, progress=note)
        finally:
            store.close()

    filtered = ", ".join(f"{reason} {count}" for reason, count in sorted(report.filtered.items()))
    note(f"Event Grid's recommended filter dropped: {filtered or 'nothing'}")
    render_summary(report.summary.as_json(), OutputFormat.TABLE)
    render_instances([instance.as_json() for instance in report.instances], OutputFormat.TABLE)

    table = Table(
        title=f"{report.poison_messages} messages in the poison queue", title_justify="left"
    )
    for column in ("code", "class", "attempts", "path", "message"):
        table.add_column(column, overflow="fold")
    for failure in report.failures:
        table.add_row(
            Text(failure.code),
            Text(failure.error_class),
            str(failure.attempts),
            Text(failure.path or "-"),
            Text(failure.message),
        )
    stdout.print(table)
    if index is not None:
        note(f"the index is in {index}; try `dicomidx index list --index {index}`")
    return 0
