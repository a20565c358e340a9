"""Decoding queue message bodies and JSON values into events, or precise reasons."""

from __future__ import annotations

import base64
import json

from hypothesis import given
from hypothesis import strategies as st

from dicomidx.events.decode import decode_message, parse_event
from dicomidx.events.model import StorageEvent
from dicomidx.events.outcome import Reason, Verdict
from tests.events.corpus import cloud_event, encode, event_grid_schema


def test_a_base64_cloudevent_decodes_to_an_event_with_its_blob_fields() -> None:
    event = decode_message(encode(cloud_event(api="FlushWithClose")))
    assert isinstance(event, StorageEvent)
    assert event.container == "imaging"
    assert event.path == "AHDS/contosows/dicom/dicomsvc/study/series/instance.dcm"
    assert event.api == "FlushWithClose"
    assert event.etag == "0x8DC0123456789AB"  # the quotes some events carry are removed
    assert event.content_length == 524288


def test_bytes_bodies_decode_like_text_bodies() -> None:
    assert decode_message(encode(cloud_event()).encode()) == decode_message(encode(cloud_event()))


def test_a_plain_json_body_is_not_base64_with_a_hint() -> None:
    verdict = decode_message(json.dumps(cloud_event()))
    assert isinstance(verdict, Verdict)
    assert verdict.reason is Reason.NOT_BASE64
    assert "plain JSON" in verdict.detail


def test_base64_with_line_breaks_is_not_strict_base64() -> None:
    body = base64.encodebytes(json.dumps(cloud_event()).encode()).decode()
    verdict = decode_message(body)
    assert isinstance(verdict, Verdict)
    assert verdict.reason is Reason.NOT_BASE64


def test_an_event_grid_schema_event_names_the_delivery_schema_to_fix() -> None:
    verdict = parse_event(event_grid_schema())
    assert isinstance(verdict, Verdict)
    assert verdict.reason is Reason.NOT_CLOUDEVENT
    assert "CloudEventSchemaV1_0" in verdict.detail


def test_a_missing_attribute_is_named() -> None:
    verdict = parse_event({**cloud_event(), "source": ""})
    assert isinstance(verdict, Verdict)
    assert verdict.detail == "attribute 'source' is not a non-empty string"


def test_deeply_nested_json_is_not_json_rather_than_a_crash() -> None:
    body = base64.b64encode(b"[" * 100_000 + b"]" * 100_000).decode()
    verdict = decode_message(body)
    assert isinstance(verdict, Verdict)
    assert verdict.reason in (
        Reason.NOT_JSON,
        Reason.NOT_CLOUDEVENT,
    )


def _json_values() -> st.SearchStrategy[object]:
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
    return st.recursive(
        scalars,
        lambda children: st.lists(children) | st.dictionaries(st.text(), children),
        max_leaves=20,
    )


@given(st.binary())
def test_random_bytes_never_crash_the_decoder(body: bytes) -> None:
    result = decode_message(body)
    assert isinstance(result, StorageEvent | Verdict)


@given(st.text())
def test_random_text_never_crashes_the_decoder(body: str) -> None:
    result = decode_message(body)
    assert isinstance(result, StorageEvent | Verdict)


@given(st.binary())
def test_random_bytes_under_base64_are_judged_as_content(payload: bytes) -> None:
    result = decode_message(base64.b64encode(payload))
    assert not (isinstance(result, Verdict) and result.reason is Reason.NOT_BASE64)


@given(_json_values())
def test_random_json_never_crashes_and_gets_one_result(value: object) -> None:
    result = decode_message(base64.b64encode(json.dumps(value).encode()))
    assert isinstance(result, StorageEvent | Verdict)
    if isinstance(result, Verdict):
        assert result.reason in (Reason.NOT_CLOUDEVENT, Reason.NOT_JSON)


@given(st.dictionaries(st.text(), _json_values()), st.sampled_from(["id", "type", "subject"]))
def test_random_envelope_fields_never_crash_the_decoder(
    extra: dict[str, object], name: str
) -> None:
    event = {**cloud_event(), **extra}
    result = parse_event(event)
    assert isinstance(result, StorageEvent | Verdict)
