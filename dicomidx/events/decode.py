"""Turn a queue message body or a JSON value into a StorageEvent, or say exactly why not.

The DICOM service expects base64 text holding a CloudEvents 1.0 JSON object. Decoding is
strict on purpose: lenient base64 turns plain JSON into bytes without raising, which would
hide a subscription that delivers the wrong encoding.
"""

from __future__ import annotations

import binascii
import json
from base64 import b64decode
from collections.abc import Mapping
from typing import Any

from dicomidx.events.model import StorageEvent
from dicomidx.events.outcome import Reason, Verdict

_REQUIRED = ("id", "type", "source", "subject")
_WRONG_SCHEMA_HINT = (
    "this is an Event Grid schema event; the event subscription must deliver with "
    "eventDeliverySchema CloudEventSchemaV1_0"
)


def decode_message(body: str | bytes) -> StorageEvent | Verdict:
    """Decode one queue message body as the service would: base64, UTF-8, JSON, CloudEvent."""
    try:
        raw = b64decode(body, validate=True)
    except (binascii.Error, ValueError) as error:
        return Verdict(Reason.NOT_BASE64, _base64_detail(body, error))

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return Verdict(Reason.NOT_JSON, f"decoded bytes are not UTF-8 text ({error.reason})")

    value = parse_json(text)
    if isinstance(value, Verdict):
        return value
    return parse_event(value)


def parse_json(text: str) -> Any:
    """`json.loads`, with a Verdict instead of an exception."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        return Verdict(Reason.NOT_JSON, f"{error.msg} at line {error.lineno} column {error.colno}")
    except RecursionError:
        return Verdict(Reason.NOT_JSON, "JSON nested too deeply")


def parse_event(value: object) -> StorageEvent | Verdict:
    """Check that a decoded JSON value is a CloudEvents 1.0 event with what the service reads."""
    if not isinstance(value, dict):
        return Verdict(Reason.NOT_CLOUDEVENT, f"a JSON {_json_kind(value)}, not an object")

    version = value.get("specversion", value.get("specVersion"))
    if version is None:
        if "eventType" in value and "dataVersion" in value:
            return Verdict(Reason.NOT_CLOUDEVENT, _WRONG_SCHEMA_HINT)
        return Verdict(Reason.NOT_CLOUDEVENT, "no 'specversion' attribute")
    if version != "1.0":
        return Verdict(Reason.NOT_CLOUDEVENT, f"specversion {_short(version)} is not '1.0'")

    for name in _REQUIRED:
        attribute = value.get(name)
        if not isinstance(attribute, str) or not attribute:
            problem = "missing" if attribute is None else "not a non-empty string"
            return Verdict(Reason.NOT_CLOUDEVENT, f"attribute '{name}' is {problem}")

    data = value.get("data")
    time = value.get("time")
    return StorageEvent(
        id=value["id"],
        type=value["type"],
        source=value["source"],
        subject=value["subject"],
        time=time if isinstance(time, str) else None,
        data=data if isinstance(data, Mapping) else {},
        envelope=value,
    )


def _base64_detail(body: str | bytes, error: Exception) -> str:
    head = body.lstrip()[:1]
    if head in ("{", "[", b"{", b"["):
        return (
            "the body is plain JSON; the service reads base64-encoded CloudEvents "
            "(Event Grid's storage queue destination encodes them)"
        )
    return f"not strict base64 ({error})"


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null"


def _short(value: object, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."
