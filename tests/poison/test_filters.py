"""The poison filters: durations and times, globs, classes and types, limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dicomidx.errors import UsageError
from dicomidx.events.fabricate import blob_event, encode_message
from dicomidx.events.model import BLOB_DELETED
from dicomidx.index.store import Failure
from dicomidx.poison.filters import Selection, parse_moment
from dicomidx.poison.messages import FailureLookup, PoisonMessage, describe
from dicomidx.poison.sweep import HeldMessage, auto_hold
from dicomidx.settings import Settings

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SETTINGS = Settings(
    workspace="contosows", dicom_service="dicomsvc", file_system="imaging", queue="events"
)


def poison_message(
    path: str = "AHDS/contosows/dicom/dicomsvc/a.dcm",
    *,
    age: timedelta = timedelta(hours=1),
    failure: Failure | None = None,
    event_type: str | None = None,
    body: str | None = None,
) -> PoisonMessage:
    fields = {"event_type": event_type} if event_type else {}
    event = blob_event(account="acct", container="imaging", path=path, **fields)
    held = HeldMessage(
        message_id=f"m-{path}",
        body=body if body is not None else encode_message(event),
        inserted_on=NOW - age,
        expires_on=None,
        dequeue_count=0,
        pop_receipt="receipt",
        visible_until=0.0,
    )
    failures = FailureLookup([failure] if failure else [], poison_queue="events-poison")
    return describe(held, failures, SETTINGS)


def failure_for(message_id: str, code: str = "not-part10", error_class: str = "User") -> Failure:
    return Failure(
        message_id="original",
        queue="events",
        poison_queue="events-poison",
        body_sha256="0" * 64,
        error_class=error_class,
        code=code,
        message="not a DICOM file",
        attempts=1,
        failed_at="2026-03-01T11:00:00Z",
        poison_message_id=message_id,
    )


@pytest.mark.parametrize(
    ("text", "back"),
    [("90s", 90), ("30m", 1800), ("2h", 7200), ("7d", 604800), ("1w", 604800), ("1h30m", 5400)],
)
def test_a_duration_means_that_long_before_now(text: str, back: int) -> None:
    assert parse_moment(text, NOW, flag="--older-than") == NOW - timedelta(seconds=back)


def test_an_iso_time_without_a_zone_is_utc_and_one_with_a_zone_is_converted() -> None:
    assert parse_moment("2026-01-31T12:00:00", NOW, flag="--x") == datetime(
        2026, 1, 31, 12, tzinfo=UTC
    )
    assert parse_moment("2026-01-31T13:00:00+01:00", NOW, flag="--x") == datetime(
        2026, 1, 31, 12, tzinfo=UTC
    )
    assert parse_moment("2026-01-31T12:00:00Z", NOW, flag="--x") == datetime(
        2026, 1, 31, 12, tzinfo=UTC
    )


def test_a_moment_that_is_neither_a_duration_nor_a_time_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--newer-than 'yesterday' is neither"):
        parse_moment("yesterday", NOW, flag="--newer-than")


def test_older_than_and_newer_than_compare_the_time_a_message_was_poisoned() -> None:
    old, new = poison_message("o", age=timedelta(days=8)), poison_message("n")

    older = Selection.from_flags(older_than="7d", now=NOW)
    newer = Selection.from_flags(newer_than="2h", now=NOW)

    assert older.apply([old, new]) == [old]
    assert newer.apply([old, new]) == [new]


def test_the_path_glob_crosses_folders_and_is_case_sensitive() -> None:
    deep = poison_message("AHDS/contosows/dicom/dicomsvc/study/series/x.dcm")
    upper = poison_message("AHDS/contosows/dicom/dicomsvc/X.DCM")

    assert Selection.from_flags(path="AHDS/*.dcm").apply([deep, upper]) == [deep]


def test_types_match_with_or_without_the_microsoft_storage_prefix_and_ignore_case() -> None:
    created = poison_message("c")
    deleted = poison_message("d", event_type=BLOB_DELETED)

    assert Selection.from_flags(types=["blobdeleted"]).apply([created, deleted]) == [deleted]
    assert Selection.from_flags(types=["Microsoft.Storage.BlobCreated"]).apply(
        [created, deleted]
    ) == [created]


def test_error_class_none_selects_the_messages_without_a_failure_record() -> None:
    recorded = poison_message("r", failure=failure_for("m-r"))
    unrecorded = poison_message("u")

    assert Selection.from_flags(error_classes=["user"]).apply([recorded, unrecorded]) == [recorded]
    assert Selection.from_flags(error_classes=["none"]).apply([recorded, unrecorded]) == [
        unrecorded
    ]


def test_a_recorded_failure_gives_the_reason_and_an_unrecorded_one_is_derived_by_the_rules() -> (
    None
):
    recorded = poison_message(
        "AHDS/contosows/dicom/dicomsvc/r", failure=failure_for("m-AHDS/contosows/dicom/dicomsvc/r")
    )
    outside = poison_message("elsewhere/x.dcm")
    accepted = poison_message()
    garbage = poison_message(body="{not base64")

    assert (recorded.reason, recorded.error_class) == ("not-part10", "User")
    assert (outside.reason, outside.error_class) == ("outside-service-path", None)
    assert accepted.reason == "unrecorded"
    assert "AHDSDicomDiagnosticLogs" in accepted.detail
    assert "OperationName = 'index-storage'" in accepted.detail
    assert (garbage.reason, garbage.event_id, garbage.path) == ("not-base64", None, None)


def test_every_filter_given_must_hold_and_the_limit_keeps_the_first_in_queue_order() -> None:
    messages = [poison_message(f"AHDS/contosows/dicom/dicomsvc/{n}.dcm") for n in range(5)]

    chosen = Selection.from_flags(reasons=["UNRECORDED"], path="*.dcm", limit=2).apply(messages)
    by_id = Selection.from_flags(message_ids=[messages[3].message_id]).apply(messages)

    assert chosen == messages[:2]
    assert by_id == [messages[3]]


def test_the_hold_grows_with_the_queue_and_is_never_under_thirty_seconds() -> None:
    assert auto_hold(0) == 30
    assert auto_hold(2000) > auto_hold(200) >= 30
