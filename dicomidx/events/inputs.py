"""Read events for validate-events: JSON files, JSON Lines, or raw queue message bodies.

Every item read yields exactly one `Located` result, in input order, naming where it came
from (`file:line` for lines, `file[index]` for arrays, `file` for a single object).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dicomidx.errors import InputError
from dicomidx.events.decode import decode_message, parse_event, parse_json
from dicomidx.events.model import StorageEvent
from dicomidx.events.outcome import Verdict

STDIN = "-"
_LINE_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True, slots=True)
class Located:
    source: str
    item: StorageEvent | Verdict


def read_inputs(paths: Iterable[str], *, messages: bool = False) -> Iterator[Located]:
    """Yield every event or decoding verdict from the given files, in order."""
    for path in paths:
        name, text = _read_text(path)
        if messages:
            yield from _message_lines(name, text)
        elif Path(path).suffix.lower() in _LINE_SUFFIXES:
            yield from _json_lines(name, text)
        else:
            yield from _json_document(name, text)


def _read_text(path: str) -> tuple[str, str]:
    if path == STDIN:
        return "<stdin>", sys.stdin.read()

    try:
        return path, Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise InputError(f"{path}: no such file") from error
    except IsADirectoryError as error:
        raise InputError(f"{path}: is a folder; name the files inside it") from error
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text ({error.reason})") from error
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror})") from error


def _message_lines(name: str, text: str) -> Iterator[Located]:
    for number, line in _numbered_lines(text):
        yield Located(f"{name}:{number}", decode_message(line))


def _json_lines(name: str, text: str) -> Iterator[Located]:
    for number, line in _numbered_lines(text):
        value = parse_json(line)
        item = value if isinstance(value, Verdict) else parse_event(value)
        yield Located(f"{name}:{number}", item)


def _json_document(name: str, text: str) -> Iterator[Located]:
    """A JSON file holds one event or an array; anything else may still be JSON Lines."""
    value = parse_json(text)
    if isinstance(value, list):
        for index, element in enumerate(value):
            yield Located(f"{name}[{index}]", parse_event(element))
        return
    if not isinstance(value, Verdict):
        yield Located(name, parse_event(value))
        return

    # Not one JSON document: when its first line is JSON on its own, read it as JSON Lines.
    first = next((line for _, line in _numbered_lines(text)), "")
    if first and not isinstance(parse_json(first), Verdict):
        yield from _json_lines(name, text)
    else:
        yield Located(name, value)


def _numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    # Split on newlines only: JSON text may hold U+2028 and other characters that
    # str.splitlines() would treat as line ends.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if line.strip():
            yield number, line
