"""Properties of the whole decision: one result per input, always from the vocabulary."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dicomidx.events.decode import decode_message, parse_event
from dicomidx.events.filter import EventFilter, recommended_filter
from dicomidx.events.outcome import OUTCOME_OF
from dicomidx.events.rules import decide
from tests.events.corpus import SETTINGS, cloud_event

_paths = st.text(alphabet=st.characters(codec="utf-8"), max_size=40).map(
    lambda tail: "AHDS/contosows/dicom/dicomsvc/" + tail
) | st.text(max_size=60)

_data = st.fixed_dictionaries(
    {},
    optional={
        "api": st.sampled_from(["PutBlob", "CreateFile", "SftpCreate", "FlushWithClose", ""]),
        "clientRequestId": st.none() | st.text(max_size=80),
        "contentLength": st.none() | st.integers(min_value=-1, max_value=10**12) | st.text(),
    },
)


@given(
    path=_paths,
    type=st.sampled_from(
        ["Microsoft.Storage.BlobCreated", "Microsoft.Storage.BlobDeleted", "x", ""]
    ),
    data=_data,
    container=st.sampled_from(["imaging", "imaging2", "other"]),
    filtered=st.booleans(),
)
def test_every_event_gets_exactly_one_verdict_from_the_vocabulary(
    path: str, type: str, data: dict[str, Any], container: str, filtered: bool
) -> None:
    event = cloud_event(path, container=container, client_request_id=None, content_length=None)
    event["type"] = type
    event["data"].update(data)
    event_filter = recommended_filter(SETTINGS) if filtered else EventFilter()

    verdict = decide(parse_event(json.loads(json.dumps(event))), SETTINGS, event_filter)

    assert verdict.reason in OUTCOME_OF
    assert verdict.outcome is OUTCOME_OF[verdict.reason]


@given(st.lists(st.binary(max_size=200), max_size=30))
def test_a_batch_of_random_bodies_gets_one_verdict_each_in_order(bodies: list[bytes]) -> None:
    verdicts = [decide(decode_message(b), SETTINGS, EventFilter()) for b in bodies]
    assert len(verdicts) == len(bodies)
