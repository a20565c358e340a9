"""`dicomidx run`, `index list` and `index query` as real processes on Azurite.

One test stops a running worker with SIGTERM and starts it again; another takes Azurite away
from a running worker and gives it back. Both prove every event ended in exactly one place.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dicomidx.emulator import Azurite
from dicomidx.index import SqliteIndex
from tests import dicom_files
from tests.storage_bed import StorageBed

pytestmark = pytest.mark.azurite


def dicomidx(bed: StorageBed, *args: str) -> list[str]:
    return [sys.executable, "-m", "dicomidx", *args]


def environment(bed: StorageBed) -> dict[str, str]:
    settings = bed.settings
    return {
        **os.environ,
        "AZURE_STORAGE_CONNECTION_STRING": bed.azurite.connection_string,
        "DICOMIDX_WORKSPACE": str(settings.workspace),
        "DICOMIDX_DICOM_SERVICE": str(settings.dicom_service),
        "DICOMIDX_FILE_SYSTEM": str(settings.file_system),
        "DICOMIDX_QUEUE": settings.queue,
        "DICOMIDX_INDEX": settings.index,
    }


def start_worker(bed: StorageBed, log: Path, *flags: str) -> subprocess.Popen[str]:
    command = dicomidx(bed, "run", "--log-format", "json", "--output", "json", *flags)
    with log.open("w") as stderr:
        return subprocess.Popen(
            command, env=environment(bed), stdout=subprocess.PIPE, stderr=stderr, text=True
        )


def fill(bed: StorageBed, count: int) -> set[str]:
    """`count` valid files, each with its own instance UID, and their events queued."""
    paths = set()
    for number in range(count):
        name = f"bulk/{number:04d}.dcm"
        bed.put(name, dicom_files.valid_instance("rtplan.dcm"))
        paths.add(bed.path(name))
    bed.send(bed.event(path.removeprefix(bed.settings.service_path)) for path in sorted(paths))
    return paths


def wait_for(condition: Callable[[], bool], *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def indexed_count(bed: StorageBed) -> int:
    if not bed.index_path.exists():
        return 0
    store = SqliteIndex(bed.index_path)
    try:
        return len(store.instances())
    finally:
        store.close()


def finish(worker: subprocess.Popen[str], *, timeout: float = 120) -> dict[str, Any]:
    output, _ = worker.communicate(timeout=timeout)
    assert worker.returncode == 0
    summary: dict[str, Any] = json.loads(output)
    return summary


def test_run_drain_prints_the_counts_and_index_commands_show_the_instances(
    bed: StorageBed, tmp_path: Path
) -> None:
    bed.put("ct.dcm", dicom_files.valid_instance("CT_small.dcm"))
    bed.put("broken.dcm", dicom_files.not_dicom())
    bed.send([bed.event("ct.dcm"), bed.event("broken.dcm"), bed.event("gone.dcm")])

    summary = finish(start_worker(bed, tmp_path / "log.jsonl", "--drain"))

    assert summary == {
        "messages": 3,
        "indexed": 1,
        "removed": 0,
        "skipped": {"blob-gone": 1},
        "retried": 0,
        "poisoned": {"not-part10": 1},
    }
    lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    per_message = [line for line in lines if "message_id" in line]
    assert len(per_message) >= 9  # start, diagnostic and completion for each of three
    assert all(line["operation"] == "index-storage" for line in per_message)
    assert all({"correlation_id", "event_id", "path"} <= set(line) for line in per_message)
    assert "1CT1" not in (tmp_path / "log.jsonl").read_text()

    env = environment(bed)
    listed = subprocess.run(
        dicomidx(bed, "index", "list", "--output", "json"), env=env, capture_output=True
    )
    queried = subprocess.run(
        dicomidx(bed, "index", "query", "--modality", "MR", "--output", "json"),
        env=env,
        capture_output=True,
    )
    dated = subprocess.run(
        dicomidx(bed, "index", "query", "--study-date-from", "2004-01-19", "--output", "json"),
        env=env,
        capture_output=True,
    )

    assert listed.returncode == 0
    [instance] = json.loads(listed.stdout)
    assert instance["path"] == bed.path("ct.dcm")
    assert {"study_uid", "series_uid", "sop_instance_uid", "path"} <= set(instance)
    assert json.loads(queried.stdout) == []
    assert [i["path"] for i in json.loads(dated.stdout)] == [bed.path("ct.dcm")]


def test_index_commands_refuse_an_index_that_does_not_exist(tmp_path: Path) -> None:
    missing = str(tmp_path / "none.sqlite")

    listed = subprocess.run(
        [sys.executable, "-m", "dicomidx", "index", "list", "--index", missing],
        capture_output=True,
        text=True,
    )

    assert listed.returncode == 3
    assert "does not exist" in listed.stderr


@pytest.mark.slow
def test_sigterm_mid_drain_finishes_in_flight_work_and_a_restart_ends_every_event_once(
    bed: StorageBed, tmp_path: Path
) -> None:
    paths = fill(bed, 150)
    worker = start_worker(bed, tmp_path / "first.jsonl", "--concurrency", "2")
    wait_for(lambda: indexed_count(bed) >= 20)

    worker.send_signal(signal.SIGTERM)
    first = finish(worker, timeout=60)
    second = finish(start_worker(bed, tmp_path / "second.jsonl", "--drain"))

    assert 20 <= first["indexed"] < 150
    assert first["indexed"] + second["indexed"] == 150
    assert first["skipped"] == second["skipped"] == {}
    assert first["poisoned"] == second["poisoned"] == {}
    assert bed.indexed_paths() == paths
    assert bed.queued() == 0
    assert bed.queued(bed.poison) == 0


@pytest.mark.slow
def test_a_worker_waits_while_azurite_is_down_and_resumes_without_losing_an_event(
    tmp_path: Path,
) -> None:
    emulator = Azurite(location=tmp_path / "azurite")
    emulator.start()
    bed = StorageBed.create(emulator, tmp_path)
    try:
        paths = fill(bed, 100)
        worker = start_worker(
            bed,
            tmp_path / "log.jsonl",
            "--drain",
            "--concurrency",
            "2",
            "--visibility-timeout",
            "5",
            "--retry-delay",
            "1",
            "--max-retry-delay",
            "2",
            "--max-poll-interval",
            "1",
        )
        wait_for(lambda: indexed_count(bed) >= 10)

        emulator.stop()
        time.sleep(5)
        emulator.start()
        summary = finish(worker)

        assert bed.indexed_paths() == paths
        assert summary["poisoned"] == {}
        assert set(summary["skipped"]) <= {"duplicate"}
        assert bed.queued() == 0
        assert bed.queued(bed.poison) == 0
        assert "ServiceRequestError" in (tmp_path / "log.jsonl").read_text()  # it noticed
    finally:
        bed.close()
        emulator.close()


def test_help_imports_neither_the_azure_sdk_nor_pydicom() -> None:
    probe = (
        "import sys\n"
        "from dicomidx.cli.app import run\n"
        "for argv in (['--help'], ['run', '--help'], ['index', '--help'], ['demo', '--help']):\n"
        "    assert run(argv) == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith(('azure', 'pydicom'))))\n"
    )

    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[-1] == "[]"


@pytest.mark.slow
def test_demo_indexes_the_samples_and_poisons_each_broken_file_with_its_code(
    tmp_path: Path,
) -> None:
    index = tmp_path / "demo.sqlite"

    demo = subprocess.run(
        [sys.executable, "-m", "dicomidx", "demo", "--index", str(index)],
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert demo.returncode == 0, demo.stderr
    store = SqliteIndex(index)
    instances, failures = store.instances(), store.failures()
    store.close()
    assert len(instances) == 10
    assert sorted(f.code for f in failures) == [
        "instance-exists",
        "invalid-dicom",
        "missing-uid",
        "not-part10",
    ]
    assert "4 messages in the poison queue" in demo.stdout
