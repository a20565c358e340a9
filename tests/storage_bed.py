"""A storage account on Azurite for one test: its own file system, queue and poison queue."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from azure.storage.blob import ContainerClient
from azure.storage.queue import QueueClient

from dicomidx.cloud.data_plane import StorageAccess
from dicomidx.emulator import ACCOUNT, Azurite
from dicomidx.events.fabricate import blob_event, encode_message
from dicomidx.events.model import BLOB_DELETED
from dicomidx.index import SqliteIndex
from dicomidx.settings import Settings
from dicomidx.worker.delivery import RetryPolicy
from dicomidx.worker.loop import LoopOptions
from dicomidx.worker.runner import run_worker
from dicomidx.worker.summary import Summary

WORKSPACE, SERVICE = "contosows", "dicomsvc"
FAST_LOOP = LoopOptions(concurrency=4, visibility_timeout=10, min_poll_interval=0.05, drain=True)
FAST_RETRIES = RetryPolicy(max_dequeue_count=3, retry_delay=1, max_retry_delay=1)


@dataclass
class StorageBed:
    azurite: Azurite
    index_path: Path
    settings: Settings
    queue: QueueClient = field(init=False)
    poison: QueueClient = field(init=False)
    files: ContainerClient = field(init=False)

    def __post_init__(self) -> None:
        self.queue = self.access.queue_client(self.settings.queue)
        self.poison = self.access.queue_client(self.settings.poison_queue)
        self.files = self.access.container_client(str(self.settings.file_system))

    @classmethod
    def create(cls, azurite: Azurite, folder: Path) -> StorageBed:
        suffix = uuid.uuid4().hex[:12]
        settings = Settings(
            workspace=WORKSPACE,
            dicom_service=SERVICE,
            file_system=f"fs-{suffix}",
            queue=f"events-{suffix}",
            index=str(folder / "index.sqlite"),
        )
        bed = cls(azurite, folder / "index.sqlite", settings)
        bed.queue.create_queue()
        bed.poison.create_queue()
        bed.files.create_container()
        return bed

    def close(self) -> None:
        for client in (self.queue, self.poison, self.files):
            client.close()

    @property
    def access(self) -> StorageAccess:
        return StorageAccess(connection_string=self.azurite.connection_string)

    def path(self, name: str) -> str:
        return f"{self.settings.service_path}{name}"

    def put(self, name: str, content: bytes | Path) -> str:
        """Upload a file under the service path; its ETag (without quotes)."""
        blob = self.files.get_blob_client(self.path(name))
        if isinstance(content, Path):
            with content.open("rb") as stream:
                result = blob.upload_blob(stream, overwrite=True, max_concurrency=2)
        else:
            result = blob.upload_blob(content, overwrite=True)
        return str(result["etag"]).strip('"')

    def event(self, name: str, **fields: Any) -> dict[str, Any]:
        """The event Event Grid would deliver for a file under the service path."""
        return blob_event(
            account=ACCOUNT,
            container=str(self.settings.file_system),
            path=self.path(name),
            **fields,
        )

    def deleted(self, name: str, **fields: Any) -> dict[str, Any]:
        return self.event(name, event_type=BLOB_DELETED, **fields)

    def send(self, events: Iterable[dict[str, Any] | str]) -> list[str]:
        """Enqueue events (or raw bodies); the bodies sent, in order."""
        bodies = [e if isinstance(e, str) else encode_message(e) for e in events]
        for body in bodies:
            self.queue.send_message(body)
        return bodies

    def run(
        self,
        *,
        options: LoopOptions = FAST_LOOP,
        policy: RetryPolicy = FAST_RETRIES,
        access: StorageAccess | None = None,
    ) -> Summary:
        store = SqliteIndex(self.index_path)
        try:
            return run_worker(
                self.settings,
                access or self.access,
                store,
                options=options,
                policy=policy,
                stop=threading.Event(),
            )
        finally:
            store.close()

    def index(self) -> SqliteIndex:
        return SqliteIndex(self.index_path)

    def indexed_paths(self) -> set[str]:
        store = self.index()
        try:
            return {instance.path for instance in store.instances()}
        finally:
            store.close()

    def queued(self, queue: QueueClient | None = None) -> int:
        count = (queue or self.queue).get_queue_properties().approximate_message_count
        return int(count or 0)

    def poison_bodies(self) -> list[str]:
        """Every poison message body (made invisible for a minute while read)."""
        bodies: list[str] = []
        while True:
            page = list(self.poison.receive_messages(max_messages=32, visibility_timeout=60))
            if not page:
                return bodies
            bodies.extend(str(message.content) for message in page)
