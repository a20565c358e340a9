"""Put a worker together from settings: clients, the index, the handler and the loop."""

from __future__ import annotations

import logging
import threading

from dicomidx.cloud.data_plane import StorageAccess, storage_errors
from dicomidx.index.store import IndexStore
from dicomidx.settings import Settings
from dicomidx.worker.delivery import RetryPolicy, Settler
from dicomidx.worker.handler import Handler
from dicomidx.worker.logs import worker_fields
from dicomidx.worker.loop import LoopOptions, Worker
from dicomidx.worker.summary import Summary

logger = logging.getLogger(__name__)


def run_worker(
    settings: Settings,
    access: StorageAccess,
    store: IndexStore,
    *,
    options: LoopOptions,
    policy: RetryPolicy,
    stop: threading.Event | None = None,
) -> Summary:
    """Check that the queue and the file system exist, then run the loop until it ends."""
    settings.require("workspace", "dicom_service", "file_system")
    queue = access.queue_client(settings.queue)
    poison = access.queue_client(settings.poison_queue)
    files = access.container_client(str(settings.file_system))

    where = access.describe()
    # Fail at start, with a clear error, rather than poison every message later.
    with storage_errors(f"queue {settings.queue!r} in {where}"):
        queue.get_queue_properties()
    with storage_errors(f"file system {settings.file_system!r} in {where}"):
        files.get_container_properties()
    logger.info(
        "indexing %s from queue %s into %s",
        settings.file_system,
        settings.queue,
        getattr(store, "path", "the index"),
        extra=worker_fields(),
    )

    handler = Handler(settings, store, files)
    settler = Settler(queue, poison, store, policy)
    try:
        return Worker(queue, handler, settler, options, stop=stop).run()
    finally:
        for client in (queue, poison, files):
            client.close()
