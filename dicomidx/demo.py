"""The whole flow on a laptop: Azurite, sample files, the events Event Grid would send, a drain.

Files go under `AHDS/contosows/dicom/dicomsvc/` of file system `imaging`: pydicom's bundled
samples (read with `download=False`, never fetched), and files that must fail. Each file's
event passes through the recommended Event Grid filter first; only what it delivers is
enqueued. Then the worker drains the queue into the index.
"""

from __future__ import annotations

import io
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dicomidx.emulator import ACCOUNT, Azurite
from dicomidx.events.decode import parse_event
from dicomidx.events.fabricate import blob_event, encode_message
from dicomidx.events.filter import recommended_filter
from dicomidx.events.model import BLOB_DELETED, StorageEvent
from dicomidx.index.store import Failure, IndexStore, Instance
from dicomidx.settings import Settings
from dicomidx.worker.summary import Summary

DEMO_SETTINGS = Settings(
    workspace="contosows", dicom_service="dicomsvc", file_system="imaging", queue="storage-events"
)
SAMPLES = (
    "CT_small.dcm",
    "MR_small.dcm",
    "rtplan.dcm",
    "rtdose.dcm",
    "JPEG2000.dcm",
    "image_dfl.dcm",
    "waveform_ecg.dcm",
    "ExplVR_BigEnd.dcm",
    "test-SR.dcm",
)


@dataclass
class DemoReport:
    enqueued: int = 0
    filtered: Counter[str] = field(default_factory=Counter)
    summary: Summary = field(default_factory=Summary)
    instances: list[Instance] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    poison_messages: int = 0


@dataclass(frozen=True)
class _Write:
    path: str
    content: bytes | None  # None: no upload (a delete, or a second delivery)
    event: dict[str, Any]


def run_demo(store: IndexStore, *, progress: Callable[[str], None] = print) -> DemoReport:
    """Start Azurite, write and announce the files, drain the queue, stop Azurite."""
    from dicomidx.cloud.data_plane import StorageAccess
    from dicomidx.worker.delivery import RetryPolicy
    from dicomidx.worker.loop import LoopOptions
    from dicomidx.worker.runner import run_worker

    settings, report = DEMO_SETTINGS, DemoReport()
    with Azurite() as azurite:
        progress(f"Azurite is listening on 127.0.0.1 (blob port {azurite.blob_port})")
        access = StorageAccess(connection_string=azurite.connection_string)
        queue = access.queue_client(settings.queue)
        poison = access.queue_client(settings.poison_queue)
        files = access.container_client(str(settings.file_system))
        for created in (queue.create_queue, poison.create_queue, files.create_container):
            created()

        event_filter = recommended_filter(settings)
        for write in demo_writes(settings):
            if write.content is not None:
                files.upload_blob(write.path, write.content, overwrite=True)
            event = parse_event(write.event)
            assert isinstance(event, StorageEvent)
            verdict = event_filter.check(event)
            if verdict is not None:
                report.filtered[verdict.reason.value] += 1
                continue
            queue.send_message(encode_message(write.event))
            report.enqueued += 1
        progress(
            f"wrote the files; enqueued {report.enqueued} events, Event Grid's filter "
            f"dropped {report.filtered.total()}; draining the queue"
        )

        report.summary = run_worker(
            settings,
            access,
            store,
            options=LoopOptions(concurrency=4, visibility_timeout=30, drain=True),
            policy=RetryPolicy(retry_delay=1, max_retry_delay=5),
            stop=threading.Event(),
        )
        report.poison_messages = poison.get_queue_properties().approximate_message_count or 0
    report.instances = store.instances()
    report.failures = store.failures()
    return report


def demo_writes(settings: Settings) -> list[_Write]:
    """The files and events of the demo, in the order they happen."""
    root, writes = settings.service_path, []

    def add(path: str, content: bytes | None, **event: Any) -> dict[str, Any]:
        event.setdefault("content_length", len(content) if content is not None else None)
        body = blob_event(account=ACCOUNT, container=str(settings.file_system), path=path, **event)
        writes.append(_Write(path, content, body))
        return body

    ct = _sample("CT_small.dcm")
    for name in SAMPLES:
        add(f"{root}studies/{name.lower()}", _sample(name))
    twice = add(f"{root}Microsoft.Default/partitioned/sc.dcm", _sample("SC_rgb_gdcm_KY.dcm"))
    writes.append(_Write(writes[-1].path, None, twice))  # Event Grid delivers it twice

    add(f"{root}failing/not-dicom.dcm", b"this is a text file, not DICOM\n")
    add(f"{root}failing/truncated.dcm", ct[:1000])
    add(f"{root}failing/no-sop-instance-uid.dcm", _without_sop_instance_uid(ct))
    add(f"{root}failing/copy-of-ct-small.dcm", ct)

    add(f"{root}uploads/lake.dcm", b"", api="CreateFile")
    add(f"{root}uploads/lake.dcm", _sample("693_J2KI.dcm"), api="FlushWithClose")
    add(f"{root}studies/rtplan.dcm", None, event_type=BLOB_DELETED)
    add(f"{root}healthCheck/probe.txt", b"ok")
    add(
        f"{root}studies/written-by-the-service.dcm",
        None,
        client_request_id=f"{settings.self_write_tag_prefix}1234",
    )
    add(f"elsewhere/{root}ct.dcm", None)
    return writes


def _sample(name: str) -> bytes:
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name, download=False)
    if path is None:
        raise FileNotFoundError(f"pydicom's sample {name} is not bundled")
    with open(str(path), "rb") as sample:
        return sample.read()


def _without_sop_instance_uid(content: bytes) -> bytes:
    from pydicom import dcmread

    dataset = dcmread(io.BytesIO(content))
    del dataset.SOPInstanceUID
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
