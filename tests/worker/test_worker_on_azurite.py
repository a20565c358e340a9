"""The worker against Azurite: every kind of event ends where it should, counted exactly."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest

from dicomidx.emulator import Azurite
from dicomidx.events.fabricate import encode_message, next_sequencer
from tests import dicom_files
from tests.storage_bed import StorageBed

pytestmark = pytest.mark.azurite


def counts(summary: object) -> dict[str, object]:
    data = summary.as_json()  # type: ignore[attr-defined]
    return {key: value for key, value in data.items() if value not in (0, {})}


def test_valid_files_are_indexed_with_their_attributes_and_leave_the_queue(
    bed: StorageBed,
) -> None:
    names = ("CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "JPEG2000.dcm", "image_dfl.dcm")
    events, sizes = [], {}
    for name in names:
        content = dicom_files.valid_instance(name)  # fresh UIDs: the length varies by a byte or two
        sizes[name] = len(content)
        events.append(bed.event(f"studies/{name}", etag=bed.put(f"studies/{name}", content)))
    bed.send(events)

    summary = bed.run()

    assert counts(summary) == {"messages": 5, "indexed": 5}
    assert bed.queued() == 0
    assert bed.queued(bed.poison) == 0
    store = bed.index()
    ct = next(i for i in store.instances() if i.path.endswith("CT_small.dcm"))
    store.close()
    assert (ct.modality, ct.patient_id, ct.study_date) == ("CT", "1CT1", "20040119")
    assert ct.sequencer == events[0]["data"]["sequencer"]
    assert ct.event_id == events[0]["id"]
    assert ct.size == sizes["CT_small.dcm"]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (dicom_files.not_dicom(), "not-part10"),
        (dicom_files.without_preamble(), "not-part10"),
        (dicom_files.truncated_header(), "invalid-dicom"),
        (dicom_files.without_sop_instance_uid(), "missing-uid"),
    ],
    ids=["not-dicom", "no-preamble", "truncated", "no-sop-instance-uid"],
)
def test_a_broken_file_is_poisoned_at_once_with_its_body_unchanged_and_its_failure_recorded(
    bed: StorageBed, content: bytes, code: str
) -> None:
    bed.put("broken.dcm", content)
    [body] = bed.send([bed.event("broken.dcm")])

    summary = bed.run()

    assert counts(summary) == {"messages": 1, "poisoned": {code: 1}}
    assert bed.queued() == 0
    assert bed.poison_bodies() == [body]
    store = bed.index()
    [failure] = store.failures()
    assert store.instances() == []
    assert store.find_failure(body_sha256=hashlib.sha256(body.encode()).hexdigest()) == failure
    store.close()
    assert (failure.error_class, failure.code, failure.attempts) == ("User", code, 1)
    assert failure.path == bed.path("broken.dcm")
    assert failure.poison_message_id
    assert failure.queue == bed.settings.queue
    assert failure.poison_queue == bed.settings.poison_queue


def test_a_second_path_with_an_indexed_sop_instance_uid_is_poisoned_naming_the_first(
    bed: StorageBed,
) -> None:
    content = dicom_files.valid_instance()
    bed.put("first.dcm", content)
    bed.send([bed.event("first.dcm")])
    bed.run()
    bed.put("copy.dcm", content)
    bed.send([bed.event("copy.dcm")])

    summary = bed.run()

    assert counts(summary) == {"messages": 1, "poisoned": {"instance-exists": 1}}
    assert bed.indexed_paths() == {bed.path("first.dcm")}
    [failure] = bed.index().failures()
    assert bed.path("first.dcm") in failure.message


def test_deletes_remove_what_is_indexed_and_keep_a_tombstone_for_paths_never_indexed(
    bed: StorageBed,
) -> None:
    bed.put("kept.dcm", dicom_files.valid_instance())
    bed.put("removed.dcm", dicom_files.valid_instance())
    bed.send([bed.event("kept.dcm"), bed.event("removed.dcm")])
    bed.run()
    bed.send([bed.deleted("removed.dcm"), bed.deleted("never-indexed.dcm")])

    summary = bed.run()

    assert counts(summary) == {"messages": 2, "removed": 1, "skipped": {"not-indexed": 1}}
    assert bed.indexed_paths() == {bed.path("kept.dcm")}


def test_a_created_event_older_than_a_processed_delete_changes_nothing(bed: StorageBed) -> None:
    bed.put("late.dcm", dicom_files.valid_instance())
    created_first, deleted_later = next_sequencer(), next_sequencer()
    bed.send([bed.deleted("late.dcm", sequencer=deleted_later)])
    bed.run()
    bed.send([bed.event("late.dcm", sequencer=created_first)])

    summary = bed.run()

    assert counts(summary) == {"messages": 1, "skipped": {"stale": 1}}
    assert bed.indexed_paths() == set()


def test_a_delete_older_than_the_indexed_version_changes_nothing(bed: StorageBed) -> None:
    bed.put("replaced.dcm", dicom_files.valid_instance())
    deleted_first, created_later = next_sequencer(), next_sequencer()
    bed.send([bed.event("replaced.dcm", sequencer=created_later)])
    bed.run()
    bed.send([bed.deleted("replaced.dcm", sequencer=deleted_first)])

    summary = bed.run()

    assert counts(summary) == {"messages": 1, "skipped": {"stale": 1}}
    assert bed.indexed_paths() == {bed.path("replaced.dcm")}


def test_a_duplicate_delivery_is_indexed_once_and_skipped_once(bed: StorageBed) -> None:
    bed.put("twice.dcm", dicom_files.valid_instance())
    event = bed.event("twice.dcm")
    bed.send([event])
    bed.run()
    bed.send([event])

    summary = bed.run()

    assert counts(summary) == {"messages": 1, "skipped": {"duplicate": 1}}
    assert bed.indexed_paths() == {bed.path("twice.dcm")}


def test_the_services_own_writes_and_paths_outside_it_are_skipped(bed: StorageBed) -> None:
    bed.put("own.dcm", dicom_files.valid_instance())
    tag = bed.settings.self_write_tag_prefix
    outside = bed.event("x.dcm")
    outside["subject"] = outside["subject"].replace("/dicomsvc/", "/othersvc/")
    bed.send([bed.event("own.dcm", client_request_id=f"{tag}42"), outside, "not base64!"])

    summary = bed.run()

    assert counts(summary) == {
        "messages": 3,
        "skipped": {"not-base64": 1, "outside-service-path": 1, "self-write": 1},
    }
    assert bed.indexed_paths() == set()
    assert bed.queued() == 0


def test_an_empty_create_file_is_skipped_and_its_flush_with_close_is_indexed(
    bed: StorageBed,
) -> None:
    bed.put("lake.dcm", b"")
    created = bed.event("lake.dcm", api="CreateFile", content_length=0)
    content = dicom_files.valid_instance()
    bed.put("lake.dcm", content)
    flushed = bed.event("lake.dcm", api="FlushWithClose", content_length=len(content))
    bed.send([created, flushed])

    summary = bed.run()

    assert counts(summary) == {"messages": 2, "indexed": 1, "skipped": {"uncommitted": 1}}


def test_a_created_event_for_a_file_already_gone_is_skipped_as_blob_gone(bed: StorageBed) -> None:
    bed.send([bed.event("gone.dcm")])

    summary = bed.run()

    assert counts(summary) == {"messages": 1, "skipped": {"blob-gone": 1}}


@pytest.mark.slow
def test_a_200_mb_multiframe_file_is_indexed_reading_under_one_mib(
    bed: StorageBed, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    large = dicom_files.write_large_multiframe(tmp_path / "large.dcm")
    assert large.stat().st_size >= 200 * dicom_files.MIB
    bed.put("large.dcm", large)
    bed.send([bed.event("large.dcm", content_length=large.stat().st_size)])

    with caplog.at_level(logging.DEBUG, logger="dicomidx.worker"):
        summary = bed.run()

    assert counts(summary) == {"messages": 1, "indexed": 1}
    [done] = [r for r in caplog.records if r.getMessage().startswith("index-storage completed")]
    assert 0 < done.bytes_read < dicom_files.MIB  # type: ignore[attr-defined]
    [instance] = bed.index().instances()
    assert instance.size == large.stat().st_size


def test_every_record_of_a_message_carries_its_identifiers_and_no_patient_data(
    bed: StorageBed, caplog: pytest.LogCaptureFixture
) -> None:
    bed.put("ct.dcm", dicom_files.valid_instance())
    [body] = bed.send([bed.event("ct.dcm", event_id="event-1")])

    with caplog.at_level(logging.DEBUG, logger="dicomidx"):
        bed.run()

    records = [r for r in caplog.records if getattr(r, "message_id", None)]
    assert {r.log_type for r in records} == {"audit", "diagnostic"}  # type: ignore[attr-defined]
    for record in records:
        assert record.operation == "index-storage"  # type: ignore[attr-defined]
        assert record.event_id == "event-1"  # type: ignore[attr-defined]
        assert record.path == bed.path("ct.dcm")  # type: ignore[attr-defined]
        assert record.correlation_id  # type: ignore[attr-defined]
    text = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    for patient_value in ("1CT1", "CompressedSamples", "AccountKey", encode_message({})):
        assert patient_value not in text
    assert body not in text


def test_a_worker_without_its_queue_fails_at_start_with_a_configuration_error(
    azurite: Azurite, tmp_path: Path
) -> None:
    from dicomidx.errors import ConfigurationError

    bed = StorageBed.create(azurite, tmp_path)
    bed.queue.delete_queue()

    with pytest.raises(ConfigurationError, match="does not exist"):
        bed.run()
