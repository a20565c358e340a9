"""Render the poison commands: messages grouped by reason, move plans, and summaries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from dicomidx.cli.console import OutputFormat, note, print_json, stdout
from dicomidx.cli.console import stderr as stderr_console
from dicomidx.poison.messages import SERVICE_LOGS, UNRECORDED, PoisonMessage
from dicomidx.poison.session import Counts, Group
from dicomidx.settings import Settings

_MESSAGE_COLUMNS = ("message id", "inserted", "dequeues", "type", "path", "detail")


def render_messages(messages: list[PoisonMessage], *, queue: str, output: OutputFormat) -> None:
    """Every message with its reason: JSON, or a count per reason and the messages by reason."""
    if output is OutputFormat.JSON:
        print_json([message.as_json() for message in messages])
        return

    by_reason = _by_reason(messages)
    summary = Table(title=f"{len(messages)} messages in {queue}", title_justify="left")
    for column in ("reason", "class", "messages"):
        summary.add_column(column, justify="right" if column == "messages" else "left")
    for (reason, error_class), members in by_reason.items():
        summary.add_row(Text(reason), Text(error_class or "-"), str(len(members)))
    stdout.print(summary)
    for table in _message_tables(by_reason):
        stdout.print(table)
    if any(message.reason == UNRECORDED for message in messages):
        note(f"{UNRECORDED}: {SERVICE_LOGS}")


def render_plan(action: str, groups: list[Group], *, queue: str) -> None:
    """What a replay or purge would do, message by message, on stdout."""
    table = Table(title=f"{action}: {sum(len(g.messages) for g in groups)} messages from {queue}")
    for column in ("action", "reason", "message id", "type", "path"):
        table.add_column(column, overflow="fold")
    for group in groups:
        for message in group.messages:
            verb = action if message is group.first else "delete (twin of the first)"
            row = (verb, message.reason, message.message_id, message.type, message.path)
            table.add_row(*(Text(value or "") for value in row))
    stdout.print(table)


def render_counts(summary: dict[str, Any], output: OutputFormat) -> None:
    if output is OutputFormat.JSON:
        print_json(summary)
        return

    table = Table(title="dry run: nothing changed" if summary["dry_run"] else None)
    table.add_column("")
    table.add_column("messages", justify="right")
    for name in ("matched", "replayed", "deduplicated", "purged", "duplicated", "skipped"):
        if name in summary and (summary[name] or name == "matched"):
            table.add_row(name, str(summary[name]))
    stdout.print(table)


def plan_json(groups: list[Group]) -> list[dict[str, Any]]:
    return [
        {**message.as_json(), "twin_of": None if message is g.first else g.first.message_id}
        for g in groups
        for message in g.messages
    ]


class MoveProgress:
    """A progress bar with counts on stderr; call it with the counts after each message."""

    def __init__(self, verb: str, total: int) -> None:
        self.bar = Progress(
            TextColumn(verb),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            console=stderr_console,
        )
        self.task = self.bar.add_task(verb, total=total, counts="")

    def __enter__(self) -> MoveProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def __call__(self, counts: Counts) -> None:
        shown = {k: v for k, v in counts.as_json().items() if k not in ("seconds", "matched")}
        text = ", ".join(f"{k} {v}" for k, v in shown.items() if v and k != "messages_per_second")
        self.bar.update(self.task, completed=counts.done, counts=text)


def _by_reason(messages: list[PoisonMessage]) -> dict[tuple[str, str | None], list[PoisonMessage]]:
    order = Counter((m.reason, m.error_class) for m in messages)
    groups: dict[tuple[str, str | None], list[PoisonMessage]] = {
        key: [] for key, _ in order.most_common()
    }
    for message in messages:
        groups[message.reason, message.error_class].append(message)
    return groups


def _message_tables(
    by_reason: dict[tuple[str, str | None], list[PoisonMessage]],
) -> Iterator[Table]:
    for (reason, error_class), members in by_reason.items():
        title = f"{reason} ({error_class or 'no failure record'}): {len(members)}"
        table = Table(title=title, title_justify="left")
        for column in _MESSAGE_COLUMNS:
            table.add_column(column, overflow="fold")
        for message in members:
            table.add_row(*(Text(value) for value in _cells(message)))
        yield table


def _cells(message: PoisonMessage) -> tuple[str, ...]:
    inserted = message.inserted_on.strftime("%Y-%m-%d %H:%M:%S") if message.inserted_on else ""
    attempts = f" / {message.failure.attempts} attempts" if message.failure else ""
    return (
        message.message_id,
        inserted,
        f"{message.held.dequeue_count}{attempts}",
        (message.type or "").removeprefix("Microsoft.Storage."),
        message.path or "",
        "see the note" if message.reason == UNRECORDED else message.detail,
    )


def render_dry_run(action: str, groups: list[Any], settings: Settings, output: OutputFormat) -> int:
    """What the command would do: the same summary, counted as if done, and nothing changed."""
    counts: dict[str, Any] = {"matched": sum(len(group.messages) for group in groups)}
    if action == "replay":
        counts["replayed"] = len(groups)
        counts["deduplicated"] = counts["matched"] - len(groups)
    else:
        counts["purged"] = counts["matched"]
    if output is OutputFormat.TABLE and groups:
        render_plan(action, groups, queue=settings.poison_queue)
    return render_summary(counts, groups, settings, output, dry_run=True)


def render_summary(
    counts: dict[str, Any],
    groups: list[Any],
    settings: Settings,
    output: OutputFormat,
    *,
    dry_run: bool = False,
) -> int:
    summary = {
        "dry_run": dry_run,
        "queue": settings.queue,
        "poison_queue": settings.poison_queue,
        **counts,
        "messages": plan_json(groups),
    }
    render_counts(summary, output)
    return 0
