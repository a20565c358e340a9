"""Options of the poison commands: the filters they share, and the flags that guard changes."""

from __future__ import annotations

from typing import Annotated, Any

import typer

_FILTERS = "Filters (all given must hold)"


def _filter(*names: str, text: str, **extra: Any) -> Any:
    return typer.Option(*names, help=text, rich_help_panel=_FILTERS, show_default=False, **extra)


Reasons = Annotated[
    list[str] | None, _filter("--reason", metavar="CODE", text="Failure code or derived reason.")
]
ErrorClasses = Annotated[
    list[str] | None,
    _filter("--error-class", metavar="CLASS", text="User, Server, or none (no failure record)."),
]
Types = Annotated[
    list[str] | None, _filter("--type", metavar="TYPE", text="Event type, such as BlobCreated.")
]
PathGlob = Annotated[
    str | None, _filter("--path", metavar="GLOB", text="Shell glob over the path ('*' crosses /).")
]
OlderThan = Annotated[
    str | None,
    _filter(
        "--older-than", metavar="WHEN", text="Poisoned before: 30m, 2h, 7d, 1h30m, or ISO time."
    ),
]
NewerThan = Annotated[
    str | None,
    _filter(
        "--newer-than", metavar="WHEN", text="Poisoned after: 30m, 2h, 7d, 1h30m, or ISO time."
    ),
]
MessageIds = Annotated[
    list[str] | None, _filter("--message-id", metavar="ID", text="Poison message id; repeatable.")
]
Limit = Annotated[
    int | None, _filter("--limit", metavar="N", text="At most this many messages.", min=1)
]
Hold = Annotated[
    int | None,
    typer.Option(
        "--visibility-timeout",
        min=1,
        show_default=False,
        help="Seconds the read hides each message (the longest a message stays hidden if "
        "dicomidx dies) [default: from the queue length, at least 30].",
    ),
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
