"""Read events for validate-events: JSON files, JSON Lines, or raw queue message bodies.

Every item read yields exactly one `Located` result, in input order, naming where it came
from (`file:line` for lines, `file[index]` for arrays, `file` for a single object). JSON Lines
and message files are streamed line by line as bytes, so a large file never sits in memory
and a line that is not UTF-8 is one `not-json` result rather than an unreadable file.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import BinaryIO, NamedTuple

from dicomidx.errors import InputError
from dicomidx.events.decode import decode_message, parse_event, parse_json
from dicomidx.events.model import StorageEvent
from dicomidx.events.outcome import Verdict

STDIN = "-"
_LINE_SUFFIXES = (".jsonl", ".ndjson")
_DOCUMENT_SUFFIXES = (".json",)


class Located(NamedTuple):
    source: str
    item: StorageEvent | Verdict


def read_inputs(paths: Iterable[str], *, messages: bool = False) -> Iterator[Located]:
    """Yield every event or decoding verdict from the given files, in order."""
    for path in paths:
        name = "<stdin>" if path == STDIN else path
        suffix = Path(path).suffix.lower()
        if messages:
            with _open(path) as stream:
                yield from _message_lines(name, stream)
        elif suffix in _LINE_SUFFIXES:
            with _open(path) as stream:
                yield from _json_lines(name, stream)
        else:
            with _open(path) as stream:
                data = _read_all(name, stream)
            yield from _json_document(name, data, sniff=suffix not in _DOCUMENT_SUFFIXES)


def _open(path: str) -> AbstractContextManager[BinaryIO]:
    if path == STDIN:
        return nullcontext(sys.stdin.buffer)  # read, never closed
    try:
        return open(path, "rb")
    except FileNotFoundError as error:
        raise InputError(f"{path}: no such file") from error
    except IsADirectoryError as error:
        raise InputError(f"{path}: is a folder; name the files inside it") from error
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror})") from error


def _read_all(name: str, stream: BinaryIO) -> bytes:
    try:
        return stream.read()
    except OSError as error:
        raise InputError(f"{name}: cannot be read ({error.strerror})") from error


def _message_lines(name: str, stream: BinaryIO) -> Iterator[Located]:
    for number, line in _numbered_lines(stream):
        yield Located(f"{name}:{number}", decode_message(line))


def _json_lines(name: str, stream: BinaryIO | Iterable[bytes]) -> Iterator[Located]:
    # White space around JSON text is insignificant, so one rstrip() both ends the line and
    # tells a blank one; message bodies (above) keep every byte but the line end.
    for number, line in enumerate(stream, start=1):
        line = line.rstrip()
        if not line:
            continue
        value = parse_json(line)
        item = value if isinstance(value, Verdict) else parse_event(value)
        yield Located(f"{name}:{number}", item)


def _json_document(name: str, data: bytes, *, sniff: bool) -> Iterator[Located]:
    """A JSON file holds one event or an array; with `sniff`, it may be JSON Lines too."""
    value = parse_json(data)
    if isinstance(value, list):
        for index, element in enumerate(value):
            yield Located(f"{name}[{index}]", parse_event(element))
        return
    if not isinstance(value, Verdict):
        yield Located(name, parse_event(value))
        return

    # Not one JSON document: when its first line is JSON on its own, read it as JSON Lines.
    lines = data.split(b"\n")
    first = next((line for _, line in _numbered_lines(lines)), b"")
    if sniff and first and not isinstance(parse_json(first), Verdict):
        yield from _json_lines(name, lines)
    else:
        yield Located(name, value)


def _numbered_lines(lines: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    # Lines end at b"\n" only: JSON text may hold U+2028 and other characters that
    # str.splitlines() would treat as line ends.
    for number, line in enumerate(lines, start=1):
        line = line.rstrip(b"\r\n")
        if line.strip():
            yield number, line
