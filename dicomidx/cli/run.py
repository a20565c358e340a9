"""`dicomidx run`: index the file system from its event queue, as the DICOM service would."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from dicomidx.cli import options
from dicomidx.cli.console import OutputFormat, print_json, stdout
from dicomidx.cli.logs import LogFormat, configure_logging, debug_enabled
from dicomidx.cloud.clouds import CloudName

CONNECTION_STRING_ENV = "AZURE_STORAGE_CONNECTION_STRING"

ConnectionString = Annotated[
    str | None,
    typer.Option(
        "--connection-string",
        envvar=CONNECTION_STRING_ENV,
        show_envvar=True,
        show_default=False,
        help="Storage connection string (Azurite, or an account with keys); else "
        "--storage-account with DefaultAzureCredential. Never logged.",
    ),
]


def run(
    connection_string: ConnectionString = None,
    cloud: options.Cloud = CloudName.PUBLIC,
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="Messages handled at once (threads).")
    ] = 8,
    drain: Annotated[
        bool,
        typer.Option(help="Stop once the queue is empty and nothing is in flight."),
    ] = False,
    max_dequeue_count: Annotated[
        int, typer.Option(min=1, help="Attempts before a Server error is poisoned.")
    ] = 5,
    visibility_timeout: Annotated[
        int, typer.Option(min=5, help="Seconds a message stays hidden; renewed while worked on.")
    ] = 60,
    retry_delay: Annotated[
        float, typer.Option(min=0, help="Seconds before a first retry; doubles per attempt.")
    ] = 10.0,
    max_retry_delay: Annotated[float, typer.Option(min=0, help="Cap of the retry delay.")] = 300.0,
    max_poll_interval: Annotated[
        float, typer.Option(min=0.1, help="Cap of the wait between receives of an empty queue.")
    ] = 30.0,
    log_format: Annotated[
        LogFormat, typer.Option(help="json lines, readable text, or auto (text on a terminal).")
    ] = LogFormat.AUTO,
    output: options.Output = OutputFormat.TABLE,
    queue: options.Queue = None,
    storage_account: options.StorageAccount = None,
    file_system: options.FileSystem = None,
    workspace: options.Workspace = None,
    dicom_service: options.DicomService = None,
    index: options.Index = None,
    config: options.Config = None,
) -> int:
    """Index DICOM files from the storage event queue; failures go to <queue>-poison.

    SIGINT or SIGTERM stops receiving, lets messages in flight finish, and exits 0.
    """
    settings = options.settings_from(
        config,
        queue=queue,
        storage_account=storage_account,
        file_system=file_system,
        workspace=workspace,
        dicom_service=dicom_service,
        index=index,
    )
    settings.require("workspace", "dicom_service", "file_system")
    configure_logging(log_format, level=logging.DEBUG if debug_enabled() else logging.INFO)

    from dicomidx.cloud.clouds import CLOUDS
    from dicomidx.cloud.data_plane import StorageAccess
    from dicomidx.index import SqliteIndex
    from dicomidx.worker.delivery import RetryPolicy
    from dicomidx.worker.loop import LoopOptions
    from dicomidx.worker.runner import run_worker

    access = StorageAccess(connection_string, settings.storage_account, CLOUDS[cloud])
    loop = LoopOptions(
        concurrency=concurrency,
        visibility_timeout=visibility_timeout,
        max_poll_interval=max_poll_interval,
        drain=drain,
    )
    policy = RetryPolicy(max_dequeue_count, retry_delay, max_retry_delay)
    stop = threading.Event()
    store = SqliteIndex(settings.index)
    try:
        with _stop_on_signals(stop):
            summary = run_worker(settings, access, store, options=loop, policy=policy, stop=stop)
    finally:
        store.close()

    render_summary(summary.as_json(), output)
    return 0


def render_summary(counts: dict[str, Any], output: OutputFormat) -> None:
    if output is OutputFormat.JSON:
        print_json(counts)
        return

    table = Table(title=f"{counts['messages']} messages", title_justify="left")
    table.add_column("outcome")
    table.add_column("reason")
    table.add_column("messages", justify="right")
    for outcome in ("indexed", "removed", "retried"):
        table.add_row(outcome, "", str(counts[outcome]))
    for outcome in ("skipped", "poisoned"):
        for reason, count in counts[outcome].items():
            table.add_row(outcome, Text(reason), str(count))
    stdout.print(table)


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """The first SIGINT or SIGTERM asks the worker to stop; a second one interrupts."""

    def ask_to_stop(number: int, frame: FrameType | None) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    for number in previous:
        signal.signal(number, ask_to_stop)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
