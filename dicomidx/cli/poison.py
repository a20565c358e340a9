"""`dicomidx poison inspect`, `replay` and `purge`: the whole poison queue, and why each failed.

Every command reads the whole `<queue>-poison` (see `dicomidx.poison.sweep`), matches the
worker's failure records from the index, applies the filters, then shows, moves or deletes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from dicomidx.cli import options
from dicomidx.cli.console import OutputFormat, confirm, warn
from dicomidx.cli.poison_options import (
    DryRun,
    ErrorClasses,
    Hold,
    Limit,
    MessageIds,
    NewerThan,
    OlderThan,
    PathGlob,
    Reasons,
    Types,
    Yes,
)
from dicomidx.cli.run import ConnectionString
from dicomidx.cloud.clouds import CloudName
from dicomidx.settings import Settings

app = typer.Typer(
    help="Inspect, replay and purge the poison queue <queue>-poison.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("inspect")
def inspect(
    reason: Reasons = None,
    error_class: ErrorClasses = None,
    type: Types = None,
    path: PathGlob = None,
    older_than: OlderThan = None,
    newer_than: NewerThan = None,
    message_id: MessageIds = None,
    limit: Limit = None,
    visibility_timeout: Hold = None,
    output: options.Output = OutputFormat.TABLE,
    connection_string: ConnectionString = None,
    cloud: options.Cloud = CloudName.PUBLIC,
    queue: options.Queue = None,
    storage_account: options.StorageAccount = None,
    file_system: options.FileSystem = None,
    workspace: options.Workspace = None,
    dicom_service: options.DicomService = None,
    index: options.Index = None,
    config: options.Config = None,
) -> int:
    """Show every poison message and why it failed, grouped by reason.

    Reads the whole queue, not only the 32 a peek shows; each message's dequeue count on the
    queue goes up by one (the count shown is the one before this read).
    """
    settings = options.settings_from(
        config, queue=queue, storage_account=storage_account, file_system=file_system,
        workspace=workspace, dicom_service=dicom_service, index=index,
    )  # fmt: skip
    selection = _selection(
        reason, error_class, type, path, older_than, newer_than, message_id, limit
    )

    access = _access(settings, connection_string, cloud)
    with _session(settings, access, visibility_timeout) as session:
        messages = selection.apply(session.read())

    from dicomidx.cli.poison_report import render_messages

    render_messages(messages, queue=settings.poison_queue, output=output)
    return 0


@contextmanager
def _session(settings: Settings, access: Any, hold: int | None) -> Iterator[Any]:
    """A poison session on the configured account, with the index's failure records."""
    from dicomidx.index import SqliteIndex
    from dicomidx.poison.session import poison_session

    poison = access.queue_client(settings.poison_queue)
    store = SqliteIndex(settings.index) if Path(settings.index).is_file() else None
    if store is None:
        warn(f"no index at {settings.index!r}: no failure records to match")
    try:
        with poison_session(settings, poison, store, hold=hold) as session:
            yield session
    finally:
        if store is not None:
            store.close()


def _access(settings: Settings, connection_string: str | None, cloud: CloudName) -> Any:
    from dicomidx.cloud.clouds import CLOUDS
    from dicomidx.cloud.data_plane import StorageAccess

    return StorageAccess(connection_string, settings.storage_account, CLOUDS[cloud])


@app.command("replay")
def replay(
    reason: Reasons = None,
    error_class: ErrorClasses = None,
    type: Types = None,
    path: PathGlob = None,
    older_than: OlderThan = None,
    newer_than: NewerThan = None,
    message_id: MessageIds = None,
    limit: Limit = None,
    dry_run: DryRun = False,
    yes: Yes = False,
    rate: Annotated[
        float | None,
        typer.Option(min=0.01, show_default=False, help="Send at most this many messages/s."),
    ] = None,
    visibility_timeout: Hold = None,
    output: options.Output = OutputFormat.TABLE,
    connection_string: ConnectionString = None,
    cloud: options.Cloud = CloudName.PUBLIC,
    queue: options.Queue = None,
    storage_account: options.StorageAccount = None,
    file_system: options.FileSystem = None,
    workspace: options.Workspace = None,
    dicom_service: options.DicomService = None,
    index: options.Index = None,
    config: options.Config = None,
) -> int:
    """Move poison messages back to the main queue: send the original body, then delete.

    An interruption can leave a message on both queues, never on neither. Messages carrying
    the same event are sent once; their twins are deleted after that send.
    """
    from dicomidx.cli.poison_report import MoveProgress, render_dry_run, render_summary
    from dicomidx.poison.session import group_twins

    settings = options.settings_from(
        config, queue=queue, storage_account=storage_account, file_system=file_system,
        workspace=workspace, dicom_service=dicom_service, index=index,
    )  # fmt: skip
    selection = _selection(
        reason, error_class, type, path, older_than, newer_than, message_id, limit
    )

    access = _access(settings, connection_string, cloud)
    with _session(settings, access, visibility_timeout) as session:
        main = session.main_queue(access)
        groups = group_twins(selection.apply(session.read()))
        session.release(keep=[m for g in groups for m in g.messages])
        total = sum(len(group.messages) for group in groups)
        if dry_run or not groups:
            return render_dry_run("replay", groups, settings, output)
        if not confirm(f"replay {total} messages to {settings.queue}", yes=yes):
            return 0

        with MoveProgress("replay", total) as progress:
            counts = session.replay(main, groups, rate=rate, progress=progress)
    return render_summary(counts.as_json(), groups, settings, output)


@app.command("purge")
def purge(
    reason: Reasons = None,
    error_class: ErrorClasses = None,
    type: Types = None,
    path: PathGlob = None,
    older_than: OlderThan = None,
    newer_than: NewerThan = None,
    message_id: MessageIds = None,
    limit: Limit = None,
    dry_run: DryRun = False,
    yes: Yes = False,
    visibility_timeout: Hold = None,
    output: options.Output = OutputFormat.TABLE,
    connection_string: ConnectionString = None,
    cloud: options.Cloud = CloudName.PUBLIC,
    queue: options.Queue = None,
    storage_account: options.StorageAccount = None,
    file_system: options.FileSystem = None,
    workspace: options.Workspace = None,
    dicom_service: options.DicomService = None,
    index: options.Index = None,
    config: options.Config = None,
) -> int:
    """Delete poison messages for good (their failure records stay in the index)."""
    from dicomidx.cli.poison_report import MoveProgress, render_dry_run, render_summary
    from dicomidx.poison.session import Group

    settings = options.settings_from(
        config, queue=queue, storage_account=storage_account, file_system=file_system,
        workspace=workspace, dicom_service=dicom_service, index=index,
    )  # fmt: skip
    selection = _selection(
        reason, error_class, type, path, older_than, newer_than, message_id, limit
    )

    access = _access(settings, connection_string, cloud)
    with _session(settings, access, visibility_timeout) as session:
        chosen = selection.apply(session.read())
        session.release(keep=chosen)
        groups = [Group(message) for message in chosen]
        if dry_run or not chosen:
            return render_dry_run("purge", groups, settings, output)
        if not confirm(f"delete {len(chosen)} messages from {settings.poison_queue}", yes=yes):
            return 0

        with MoveProgress("purge", len(chosen)) as progress:
            counts = session.purge(chosen, progress=progress)
    return render_summary(counts.as_json(), groups, settings, output)


def _selection(
    reasons: list[str] | None,
    error_classes: list[str] | None,
    types: list[str] | None,
    path: str | None,
    older_than: str | None,
    newer_than: str | None,
    message_ids: list[str] | None,
    limit: int | None,
) -> Any:
    from dicomidx.poison.filters import Selection

    return Selection.from_flags(
        reasons=reasons or (), error_classes=error_classes or (), types=types or (), path=path,
        older_than=older_than, newer_than=newer_than, message_ids=message_ids or (), limit=limit,
    )  # fmt: skip
