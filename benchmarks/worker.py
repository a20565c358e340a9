"""The worker's events/s beside a raw drain of an identical queue, and its cost on a 200 MB file.

Prints figures; asserts nothing. Goals (issue 3): the worker at 0.8 or more of the raw drain's
rate, on the same Azurite in the same run; under 1 MiB read and under 200 MB resident for the
large file. The raw drain does only what any worker must: receive (32 at a time), one ranged
read of 64 KiB per message, delete; with the same number of threads as the worker.

    .venv/bin/python -m benchmarks.worker [--events 500] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dicomidx.cloud.data_plane import StorageAccess
from dicomidx.emulator import ACCOUNT, Azurite
from dicomidx.events.fabricate import blob_event, encode_message
from dicomidx.index import SqliteIndex
from dicomidx.settings import Settings
from dicomidx.worker.delivery import RetryPolicy
from dicomidx.worker.loop import LoopOptions
from dicomidx.worker.runner import run_worker
from tests import dicom_files

FIRST_READ = 64 * 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch, Azurite() as azurite:
        folder = Path(scratch)
        access = StorageAccess(connection_string=azurite.connection_string)
        settings = Settings(
            workspace="contosows", dicom_service="dicomsvc", file_system="imaging", queue="worker"
        )
        files = access.container_client("imaging")
        files.create_container()
        bodies = upload_files(files, settings, arguments.events)

        raw_queue = fill_queue(access, "raw", bodies)
        worker_queue = fill_queue(access, "worker", bodies)

        started = time.perf_counter()
        raw_drain(raw_queue, files, settings, arguments.concurrency)
        raw_seconds = time.perf_counter() - started

        store = SqliteIndex(folder / "index.sqlite")
        started = time.perf_counter()
        summary = run_worker(
            settings,
            access,
            store,
            options=LoopOptions(concurrency=arguments.concurrency, drain=True),
            policy=RetryPolicy(),
            stop=threading.Event(),
        )
        worker_seconds = time.perf_counter() - started
        store.close()
        assert worker_queue.get_queue_properties().approximate_message_count == 0

        count = arguments.events
        raw_rate, worker_rate = count / raw_seconds, count / worker_seconds
        print(f"events                 {count} (concurrency {arguments.concurrency})")
        print(f"raw drain              {raw_rate:8.1f} events/s  ({raw_seconds:.2f} s)")
        print(f"dicomidx worker        {worker_rate:8.1f} events/s  ({worker_seconds:.2f} s)")
        print(f"ratio worker/raw       {worker_rate / raw_rate:8.2f}   (goal >= 0.8)")
        print(f"worker summary         {json.dumps(summary.as_json())}")
        large_file(azurite, folder)
    return 0


def upload_files(files: object, settings: Settings, count: int) -> list[str]:
    """`count` small files with their own UIDs; the base64 event of each."""
    bodies = []
    for number in range(count):
        path = f"{settings.service_path}bench/{number:05d}.dcm"
        files.upload_blob(path, dicom_files.valid_instance("rtplan.dcm"))  # type: ignore[attr-defined]
        event = blob_event(account=ACCOUNT, container="imaging", path=path)
        bodies.append(encode_message(event))
    return bodies


def fill_queue(access: StorageAccess, name: str, bodies: list[str]) -> object:
    queue = access.queue_client(name)
    queue.create_queue()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(queue.send_message, bodies))
    return queue


def raw_drain(queue: object, files: object, settings: Settings, concurrency: int) -> None:
    """Receive, one ranged read, delete: the least a worker must do per message."""
    from dicomidx.events.decode import decode_message

    def handle(message: object) -> None:
        event = decode_message(message.content)  # type: ignore[attr-defined]
        blob = files.get_blob_client(event.path)  # type: ignore[attr-defined, union-attr]
        blob.download_blob(offset=0, length=FIRST_READ).readall()
        queue.delete_message(message)  # type: ignore[attr-defined]

    with ThreadPoolExecutor(concurrency) as pool:
        while True:
            pages = queue.receive_messages(  # type: ignore[attr-defined]
                messages_per_page=32, max_messages=32, visibility_timeout=60
            ).by_page()
            batch = list(next(pages, []))
            if not batch:
                return
            list(pool.map(handle, batch))


def large_file(azurite: Azurite, folder: Path) -> None:
    """A 200 MB multi-frame file indexed by a real `dicomidx run`: bytes read, peak RSS."""
    access = StorageAccess(connection_string=azurite.connection_string)
    settings = Settings(
        workspace="contosows", dicom_service="dicomsvc", file_system="imaging", queue="large"
    )
    queue = access.queue_client("large")
    queue.create_queue()
    path = f"{settings.service_path}large/multiframe.dcm"
    large = dicom_files.write_large_multiframe(folder / "large.dcm")
    with large.open("rb") as stream:
        access.container_client("imaging").upload_blob(path, stream, max_concurrency=2)
    queue.send_message(encode_message(blob_event(account=ACCOUNT, container="imaging", path=path)))

    environment = {
        **os.environ,
        "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "DICOMIDX_WORKSPACE": "contosows",
        "DICOMIDX_DICOM_SERVICE": "dicomsvc",
        "DICOMIDX_FILE_SYSTEM": "imaging",
        "DICOMIDX_QUEUE": "large",
        "DICOMIDX_INDEX": str(folder / "large.sqlite"),
    }
    completed = subprocess.run(
        [sys.executable, "-m", "dicomidx", "run", "--drain", "--log-format", "json"],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = [
        json.loads(line)
        for line in completed.stderr.splitlines()
        if '"index-storage completed' in line
    ]
    print(f"large file             {large.stat().st_size / 2**20:.0f} MiB, {done[0]['outcome']}")
    print(f"bytes read             {done[0]['bytes_read']} (goal < 1 MiB)")
    print(f"peak RSS of dicomidx   {peak_kib / 1024:.0f} MB (goal < 200 MB)")


if __name__ == "__main__":
    sys.exit(main())
