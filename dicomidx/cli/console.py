"""Where output goes: data to stdout, progress and diagnostics to stderr.

User data (paths, subjects, details) is never parsed as rich markup: tables receive `Text`
cells, and messages are printed with `markup=False` or as `Text`.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from dicomidx.errors import UsageError

stdout = Console(highlight=False, soft_wrap=False)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


def print_json(value: Any) -> None:
    """Machine output: plain JSON on stdout, no colour, no wrapping."""
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str))
    sys.stdout.write("\n")


def warn(message: str) -> None:
    stderr.print(Text.assemble(("warning: ", "yellow bold"), message))


def note(message: str) -> None:
    stderr.print(Text(message, style="dim"))


def confirm(action: str, *, yes: bool) -> bool:
    """Ask before `action` (a phrase such as "apply this plan"); --yes answers for the user.

    Without a terminal there is nobody to ask, and a script that forgot --yes must not change
    anything: that is a usage error, not a silent yes or no.
    """
    if yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(
            f"not going to {action} without --yes: standard input is not a terminal, "
            "so there is no one to confirm",
            hint="look with --dry-run first, then pass --yes",
        )
    if typer.confirm(f"{action[0].upper()}{action[1:]}?", default=False, err=True):
        return True
    note("cancelled: nothing was changed")
    return False
