"""Where output goes: data to stdout, progress and diagnostics to stderr.

User data (paths, subjects, details) is never parsed as rich markup: tables receive `Text`
cells and plain strings go through `plain()`.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.text import Text

stdout = Console(highlight=False, soft_wrap=False)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


def print_json(value: Any) -> None:
    """Machine output: plain JSON on stdout, no colour, no wrapping."""
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str))
    sys.stdout.write("\n")


def plain(value: object) -> Text:
    return Text(str(value))


def warn(message: str) -> None:
    stderr.print(Text.assemble(("warning: ", "yellow bold"), message))


def note(message: str) -> None:
    stderr.print(Text(message, style="dim"))
