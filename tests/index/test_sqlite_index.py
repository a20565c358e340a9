"""The SQLite index: ordering by sequencer, tombstones, idempotency, one path per instance."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from dicomidx.errors import UserError
from dicomidx.index import Change, Failure, Instance, InstanceQuery, SqliteIndex
from dicomidx.index.store import compare_sequencers


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteIndex]:
    index = SqliteIndex(tmp_path / "index.sqlite")
    yield index
    index.close()


def instance(path: str, sequencer: str | None, uid: str = "1.2.3", **more: str) -> Instance:
    return Instance(
        path=path,
        study_uid="1.2",
        series_uid="1.2.1",
        sop_instance_uid=uid,
        sequencer=sequencer,
        etag=more.pop("etag", "0x1"),
        **more,
    )


def test_sequencers_of_equal_length_compare_as_strings_and_others_as_hex_numbers() -> None:
    assert (
        compare_sequencers("0000000000000000000000000000000a", "00000000000000000000000000000009")
        == 1
    )
    assert compare_sequencers("ff", "0100") == -1
    assert compare_sequencers("00ab", "ab") == 0
    assert compare_sequencers("z", "xy") == 1  # not hex: plain string order


def test_the_same_created_event_twice_is_recorded_once(store: SqliteIndex) -> None:
    assert store.put_instance(instance("a.dcm", "01")) is Change.INDEXED
    assert store.put_instance(instance("a.dcm", "01")) is Change.DUPLICATE
    assert len(store.instances()) == 1


def test_a_newer_created_event_replaces_the_instance_and_an_older_one_changes_nothing(
    store: SqliteIndex,
) -> None:
    store.put_instance(instance("a.dcm", "02", uid="1.2.3"))
    assert store.put_instance(instance("a.dcm", "03", uid="1.2.4")) is Change.INDEXED
    assert store.put_instance(instance("a.dcm", "01", uid="1.2.5")) is Change.STALE
    [kept] = store.instances()
    assert kept.sop_instance_uid == "1.2.4"


def test_a_delete_leaves_a_tombstone_that_an_older_created_event_cannot_revive(
    store: SqliteIndex,
) -> None:
    store.put_instance(instance("a.dcm", "01"))
    assert store.delete_instance("a.dcm", sequencer="03", event_id="d") is Change.REMOVED
    assert store.put_instance(instance("a.dcm", "02")) is Change.STALE
    assert store.delete_instance("a.dcm", sequencer="03", event_id="d") is Change.DUPLICATE
    assert store.instances() == []
    assert store.sequencer_at("a.dcm") == ("03", False)


def test_a_delete_before_any_create_keeps_a_tombstone_for_the_late_create(
    store: SqliteIndex,
) -> None:
    assert store.delete_instance("a.dcm", sequencer="05", event_id="d") is Change.TOMBSTONED
    assert store.put_instance(instance("a.dcm", "04")) is Change.STALE
    assert store.put_instance(instance("a.dcm", "06")) is Change.INDEXED


def test_a_delete_older_than_the_indexed_version_changes_nothing(store: SqliteIndex) -> None:
    store.put_instance(instance("a.dcm", "05"))
    assert store.delete_instance("a.dcm", sequencer="04", event_id="d") is Change.STALE
    assert len(store.instances()) == 1


def test_without_sequencers_the_same_etag_is_a_duplicate(store: SqliteIndex) -> None:
    assert store.put_instance(instance("a.dcm", None, etag="0x1")) is Change.INDEXED
    assert store.put_instance(instance("a.dcm", None, etag="0x1")) is Change.DUPLICATE
    assert store.put_instance(instance("a.dcm", None, etag="0x2")) is Change.INDEXED


def test_a_second_path_with_the_same_sop_instance_uid_is_refused_naming_the_first(
    store: SqliteIndex,
) -> None:
    store.put_instance(instance("first.dcm", "01", uid="9.9"))

    with pytest.raises(UserError, match=r"first\.dcm") as refused:
        store.put_instance(instance("second.dcm", "02", uid="9.9"))

    assert refused.value.code == "instance-exists"
    assert [i.path for i in store.instances()] == ["first.dcm"]


def test_a_deleted_instance_may_appear_again_at_another_path(store: SqliteIndex) -> None:
    store.put_instance(instance("first.dcm", "01", uid="9.9"))
    store.delete_instance("first.dcm", sequencer="02", event_id="d")

    assert store.put_instance(instance("moved.dcm", "03", uid="9.9")) is Change.INDEXED


def test_queries_filter_by_study_patient_modality_and_study_date_range(
    store: SqliteIndex,
) -> None:
    store.put_instance(instance("a", "1", uid="1", modality="CT", study_date="20240101"))
    store.put_instance(instance("b", "1", uid="2", modality="MR", study_date="20240201"))
    store.put_instance(instance("c", "1", uid="3", modality="CT", patient_id="P7"))

    def paths(**filters: str) -> list[str]:
        return [i.path for i in store.instances(InstanceQuery(**filters))]

    assert paths(modality="CT") == ["a", "c"]
    assert paths(study_date_from="20240115") == ["b"]
    assert paths(study_date_to="20240115") == ["a"]
    assert paths(patient_id="P7") == ["c"]
    assert paths(study_uid="1.2", series_uid="1.2.1") == ["a", "b", "c"]


def test_a_failure_is_found_by_poison_message_id_body_hash_or_event_id(
    store: SqliteIndex,
) -> None:
    failure = Failure(
        message_id="m1",
        queue="q",
        poison_queue="q-poison",
        body_sha256="abc",
        error_class="User",
        code="not-part10",
        message="no DICM prefix",
        attempts=1,
        failed_at="2026-01-01T00:00:00.000Z",
        event_id="e1",
        path="a.dcm",
    )
    store.record_failure(failure)
    store.record_failure(failure)  # a repeat after a crash updates the same record
    store.mark_poisoned("m1", "p1")

    [recorded] = store.failures()
    assert store.find_failure(poison_message_id="p1") == recorded
    assert store.find_failure(body_sha256="abc") == recorded
    assert store.find_failure(event_id="e1") == recorded
    assert store.find_failure(poison_message_id="other") is None
    assert recorded.poison_message_id == "p1"


_WRITER = textwrap.dedent(
    """
    import sys
    from dicomidx.errors import UserError
    from dicomidx.index import Instance, SqliteIndex

    store = SqliteIndex(sys.argv[1])
    name = sys.argv[2]
    for number in range(200):
        own = Instance(path=f"{name}-{number}.dcm", study_uid="1", series_uid="1",
                       sop_instance_uid=f"{name}.{number}", sequencer=f"{number:04x}")
        store.put_instance(own)
        shared = Instance(path=f"shared-{number % 10}.dcm", study_uid="1", series_uid="1",
                          sop_instance_uid=f"shared.{number % 10}", sequencer=f"{number:04x}")
        store.put_instance(shared)
        if number % 3 == 0:
            store.delete_instance(f"{name}-{number}.dcm", sequencer=f"{number + 1:04x}",
                                  event_id=None)
    store.close()
    """
)


def test_two_processes_write_one_index_at_once_without_losing_or_refusing_a_change(
    tmp_path: Path,
) -> None:
    index = tmp_path / "shared.sqlite"
    SqliteIndex(index).close()

    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, str(index), name]) for name in "ab"]

    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    store = SqliteIndex(index)
    paths = {i.path for i in store.instances()}
    store.close()
    own = {f"{name}-{n}.dcm" for name in "ab" for n in range(200) if n % 3}
    assert paths == own | {f"shared-{n}.dcm" for n in range(10)}


def test_a_resolved_failure_is_kept_but_no_longer_found(store: SqliteIndex) -> None:
    store.record_failure(
        Failure(
            message_id="m1", queue="q", poison_queue="q-poison", body_sha256="abc",
            error_class="User", code="not-part10", message="no DICM prefix", attempts=1,
            failed_at="2026-01-01T00:00:00.000Z", event_id="e1",
        )
    )  # fmt: skip
    [recorded] = store.failures()
    assert recorded.id is not None

    store.resolve_failure(recorded.id, "replayed")

    assert store.failures() == []
    assert store.find_failure(body_sha256="abc") is None
    [kept] = store.failures(resolved=True)
    assert (kept.resolution, kept.code) == ("replayed", "not-part10")
    assert kept.resolved_at is not None


def test_an_index_of_schema_1_gains_the_resolution_columns(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE failures (id INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL"
        " UNIQUE, poison_message_id TEXT, queue TEXT NOT NULL, poison_queue TEXT NOT NULL,"
        " body_sha256 TEXT NOT NULL, event_id TEXT, event_type TEXT, path TEXT, error_class"
        " TEXT NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL, attempts INTEGER NOT NULL,"
        " failed_at TEXT NOT NULL);"
        "INSERT INTO failures (message_id, queue, poison_queue, body_sha256, error_class, code,"
        " message, attempts, failed_at) VALUES ('m', 'q', 'q-poison', 'h', 'User',"
        " 'missing-uid', 'x', 1, '2026-01-01T00:00:00.000Z');"
        "PRAGMA user_version = 1;"
    )
    old.close()

    upgraded = SqliteIndex(path)
    try:
        [failure] = upgraded.failures()
        assert (failure.code, failure.resolution) == ("missing-uid", None)
    finally:
        upgraded.close()
