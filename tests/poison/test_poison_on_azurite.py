"""The poison commands against Azurite, on poison made by the real worker and by hand.

The worker poisons broken files (with failure records in the index); the managed DICOM
service's poison is imitated by putting bodies straight on `<queue>-poison` (no record).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from dicomidx.events.fabricate import encode_message
from tests import dicom_files
from tests.storage_bed import StorageBed

pytestmark = pytest.mark.azurite


def cli(bed: StorageBed, *args: str) -> list[str]:
    """The command line of a poison command on the test bed's account, queue and index."""
    settings = bed.settings
    return [
        "poison",
        *args,
        "--connection-string", bed.azurite.connection_string,
        "--queue", settings.queue,
        "--workspace", str(settings.workspace),
        "--dicom-service", str(settings.dicom_service),
        "--file-system", str(settings.file_system),
        "--index", str(bed.index_path),
    ]  # fmt: skip


def run_json(bed: StorageBed, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    from dicomidx.cli.app import run

    code = run(cli(bed, *args, "--output", "json"))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def bodies(bed: StorageBed, queue: Any, *, give_back: bool = False) -> Counter[str]:
    """Every body on a queue: each held a minute while read, so that none is read twice,
    and made visible again at the end when `give_back`."""
    found: Counter[str] = Counter()
    held: list[Any] = []
    while True:
        page = list(queue.receive_messages(max_messages=32, visibility_timeout=60))
        if not page:
            break
        found.update(str(message.content) for message in page)
        held.extend(page)
    for message in held if give_back else ():
        queue.update_message(message, visibility_timeout=0)
    return found


def peeked(queue: Any) -> Counter[str]:
    """The bodies on a small queue (32 at most), leaving every message visible."""
    return Counter(str(message.content) for message in queue.peek_messages(max_messages=32))


def poison_bed(bed: StorageBed) -> dict[str, str]:
    """Worker poison (with records) and service poison (raw); the body of each, by name."""
    made: dict[str, str] = {}
    for name, content in (
        ("good.dcm", dicom_files.valid_instance()),
        ("not-dicom.dcm", dicom_files.not_dicom()),
        ("truncated.dcm", dicom_files.truncated_header()),
        ("no-uid.dcm", dicom_files.without_sop_instance_uid()),
        ("fixed-later.dcm", dicom_files.not_dicom()),
    ):
        bed.put(name, content)
        [made[name]] = bed.send([bed.event(name)])
    bed.run()

    # Fixed after it failed: a replay now indexes it.
    bed.put("fixed-later.dcm", dicom_files.valid_instance("MR_small.dcm"))
    bed.put("service.dcm", dicom_files.valid_instance("rtplan.dcm"))
    outside_event = bed.event("x")
    outside_event["subject"] = outside_event["subject"].replace("/AHDS/", "/elsewhere/")
    raw = {
        "service.dcm": encode_message(bed.event("service.dcm")),
        "service-deleted": encode_message(bed.deleted("gone.dcm")),
        "outside": encode_message(outside_event),
        "garbage": "this is not base64!",
    }
    for body in raw.values():
        bed.poison.send_message(body)
    return {**made, **raw}


def test_inspect_shows_every_message_with_its_record_or_what_the_rules_derive(
    bed: StorageBed, capsys: pytest.CaptureFixture[str]
) -> None:
    poison_bed(bed)

    messages = run_json(bed, capsys, "inspect")

    assert len(messages) == 8
    shown = {(m["path"] or "").rpartition("/")[2] or m["reason"]: m for m in messages}
    assert {name: (m["reason"], m["error_class"], m["recorded"]) for name, m in shown.items()} == {
        "not-dicom.dcm": ("not-part10", "User", True),
        "truncated.dcm": ("invalid-dicom", "User", True),
        "no-uid.dcm": ("missing-uid", "User", True),
        "fixed-later.dcm": ("not-part10", "User", True),
        "service.dcm": ("unrecorded", None, False),
        "gone.dcm": ("unrecorded", None, False),
        "x": ("outside-service-path", None, False),
        "not-base64": ("not-base64", None, False),
    }
    first = shown["not-dicom.dcm"]
    assert set(first) >= {"message_id", "event_id", "type", "path", "error_class", "reason"}
    assert (first["attempts"], first["dequeue_count"], first["type"]) == (
        1, 0, "Microsoft.Storage.BlobCreated",
    )  # fmt: skip
    assert "AHDSDicomDiagnosticLogs" in shown["service.dcm"]["detail"]
    assert bed.queued(bed.poison) == 8
    assert len(bodies(bed, bed.poison)) == 8


def test_the_table_groups_messages_by_reason_with_counts(
    bed: StorageBed, capsys: pytest.CaptureFixture[str]
) -> None:
    from dicomidx.cli.app import run

    poison_bed(bed)

    code = run(cli(bed, "inspect"))

    out, err = capsys.readouterr()
    assert code == 0
    assert "8 messages in " + bed.settings.poison_queue in out
    assert "not-part10 (User): 2" in out
    assert "unrecorded (no failure record): 2" in out
    assert "OperationName = 'index-storage'" in err


@pytest.mark.parametrize(
    ("flags", "expected", "indexed"),
    [
        (("--reason", "not-part10"), {"not-dicom.dcm", "fixed-later.dcm"}, {"fixed-later.dcm"}),
        (
            ("--error-class", "none"),
            {"service.dcm", "service-deleted", "outside", "garbage"},
            {"service.dcm"},
        ),
        (("--type", "BlobDeleted"), {"service-deleted"}, set()),
        (("--path", "*/fixed-*.dcm"), {"fixed-later.dcm"}, {"fixed-later.dcm"}),
        (("--reason", "unrecorded", "--limit", "1"), {"service.dcm"}, {"service.dcm"}),
    ],
    ids=["reason", "error-class", "type", "path-glob", "limit"],
)
def test_replay_by_a_filter_moves_exactly_the_matching_messages_and_the_worker_indexes_them(
    bed: StorageBed,
    capsys: pytest.CaptureFixture[str],
    flags: tuple[str, ...],
    expected: set[str],
    indexed: set[str],
) -> None:
    made = poison_bed(bed)
    poisoned = {body for name, body in made.items() if name != "good.dcm"}
    moved = {made[name] for name in expected}

    summary = run_json(bed, capsys, "replay", *flags, "--yes")

    assert summary["replayed"] == len(expected)
    assert summary["dry_run"] is False
    assert peeked(bed.queue) == Counter(moved)
    assert peeked(bed.poison) == Counter(poisoned - moved)

    worker = bed.run()

    assert worker.indexed == len(indexed)
    assert bed.indexed_paths() == {bed.path(name) for name in {"good.dcm", *indexed}}


def test_replay_by_message_id_and_by_time_moves_exactly_those_and_the_worker_indexes_them(
    bed: StorageBed, capsys: pytest.CaptureFixture[str]
) -> None:
    made = poison_bed(bed)
    time.sleep(1.1)
    cut = datetime.now(UTC).isoformat()
    time.sleep(1.1)
    late = encode_message(bed.event("late.dcm"))
    bed.put("late.dcm", dicom_files.valid_instance("MR_small.dcm"))
    bed.poison.send_message(late)
    listed = run_json(bed, capsys, "inspect", "--path", "*/fixed-later.dcm")

    by_id = run_json(bed, capsys, "replay", "--message-id", listed[0]["message_id"], "--yes")
    newer = run_json(bed, capsys, "replay", "--newer-than", cut, "--yes")
    older = run_json(bed, capsys, "replay", "--older-than", cut, "--dry-run")

    assert (by_id["replayed"], newer["replayed"], older["replayed"]) == (1, 1, 7)
    assert peeked(bed.queue) == Counter([made["fixed-later.dcm"], late])
    assert sum(peeked(bed.poison).values()) == 7

    worker = bed.run()

    assert worker.indexed == 2
    assert bed.indexed_paths() >= {bed.path("fixed-later.dcm"), bed.path("late.dcm")}


def test_dry_run_changes_nothing_on_either_queue(
    bed: StorageBed, capsys: pytest.CaptureFixture[str]
) -> None:
    made = poison_bed(bed)
    before = Counter(v for k, v in made.items() if k != "good.dcm")

    for command in ("replay", "purge"):
        summary = run_json(bed, capsys, command, "--dry-run")
        assert summary["dry_run"] is True
        assert summary["matched"] == 8

    assert peeked(bed.poison) == before
    assert bed.queued() == 0


def test_replay_without_yes_and_without_a_terminal_refuses_and_gives_every_message_back(
    bed: StorageBed, capsys: pytest.CaptureFixture[str]
) -> None:
    from dicomidx.cli.app import run

    poison_bed(bed)

    code = run(cli(bed, "replay", "--reason", "not-part10"))

    assert code == 2
    assert "standard input is not a terminal" in capsys.readouterr().err
    assert len(bodies(bed, bed.poison)) == 8
    assert bed.queued() == 0


def test_identical_events_are_replayed_once_and_their_twins_deleted(
    bed: StorageBed, capsys: pytest.CaptureFixture[str]
) -> None:
    bed.put("twin.dcm", dicom_files.valid_instance())
    body = encode_message(bed.event("twin.dcm"))
    for _ in range(3):
        bed.poison.send_message(body)

    summary = run_json(bed, capsys, "replay", "--yes")

    assert (summary["replayed"], summary["deduplicated"]) == (1, 2)
    assert bodies(bed, bed.queue) == Counter([body])
    assert bed.queued(bed.poison) == 0


def test_purge_deletes_exactly_the_matching_messages(
    bed: StorageBed, capsys: pytest.CaptureFixture[str]
) -> None:
    made = poison_bed(bed)

    summary = run_json(
        bed, capsys, "purge", "--reason", "not-base64", "--reason", "outside-service-path", "--yes"
    )

    assert (summary["matched"], summary["purged"]) == (2, 2)
    left = set(bodies(bed, bed.poison))
    assert made["garbage"] not in left
    assert made["outside"] not in left
    assert len(left) == 6


def test_a_replayed_failure_record_no_longer_explains_a_later_poison_message(
    bed: StorageBed, capsys: pytest.CaptureFixture[str]
) -> None:
    made = poison_bed(bed)
    run_json(bed, capsys, "replay", "--reason", "not-part10", "--yes")

    # The managed service poisons the same body again; the worker's old record is history.
    bed.poison.send_message(made["not-dicom.dcm"])
    [again] = [
        m for m in run_json(bed, capsys, "inspect") if m["path"] == bed.path("not-dicom.dcm")
    ]

    assert again["error_class"] is None
    assert again["reason"] != "not-part10"
    resolved = [f for f in bed.index().failures(resolved=True) if f.resolution]
    assert {f.path for f in resolved} == {bed.path("not-dicom.dcm"), bed.path("fixed-later.dcm")}
    assert {f.resolution for f in resolved} == {"replayed"}


def test_purged_failure_records_are_kept_as_history(
    bed: StorageBed, capsys: pytest.CaptureFixture[str]
) -> None:
    poison_bed(bed)
    run_json(bed, capsys, "purge", "--error-class", "User", "--yes")

    store = bed.index()
    assert store.failures() == []
    assert {f.resolution for f in store.failures(resolved=True)} == {"purged"}
