"""Turn a queue message body or a JSON value into a StorageEvent, or say exactly why not.

The DICOM service expects base64 text holding a CloudEvents 1.0 JSON object. Decoding is
strict on purpose: lenient base64 turns plain JSON into bytes without raising, which would
hide a subscription that delivers the wrong encoding.
"""

from __future__ import annotations

import binascii
import json
from base64 import b64decode
from typing import Any

import orjson

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


def parse_json(text: str | bytes) -> Any:
    """Parse strict JSON (RFC 8259: no NaN, no lone surrogates), with a Verdict on failure."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        return Verdict(Reason.NOT_JSON, f"{error.msg} at line {error.lineno} column {error.colno}")


def parse_event(value: object) -> StorageEvent | Verdict:
    """Check that a decoded JSON value is a CloudEvents 1.0 event with what the service reads."""
    if not isinstance(value, dict):
        return Verdict(Reason.NOT_CLOUDEVENT, f"a JSON {_json_kind(value)}, not an object")

    version = value.get("specversion")
    if version is None:
        version = value.get("specVersion")
    if version is None:
        if "eventType" in value and "dataVersion" in value:
            return Verdict(Reason.NOT_CLOUDEVENT, _WRONG_SCHEMA_HINT)
        return Verdict(Reason.NOT_CLOUDEVENT, "no 'specversion' attribute")
    if version != "1.0":
        return Verdict(Reason.NOT_CLOUDEVENT, f"specversion {_short(version)} is not '1.0'")

    event_id, event_type = value.get("id"), value.get("type")
    source, subject = value.get("source"), value.get("subject")
    if not (
        type(event_id) is str
        and type(event_type) is str
        and type(source) is str
        and type(subject) is str
        and event_id
        and event_type
        and source
        and subject
    ):
        return Verdict(Reason.NOT_CLOUDEVENT, _missing_attribute(value))

    data = value.get("data")
    time = value.get("time")
    return StorageEvent(
        id=event_id,
        type=event_type,
        source=source,
        subject=subject,
        time=time if type(time) is str else None,
        data=data if isinstance(data, dict) else {},
        envelope=value,
    )


def _missing_attribute(value: dict[str, Any]) -> str:
    for name in _REQUIRED:
        attribute = value.get(name)
        if not isinstance(attribute, str) or not attribute:
            problem = "missing" if attribute is None else "not a non-empty string"
            return f"attribute '{name}' is {problem}"
    return "a required attribute is missing"


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
