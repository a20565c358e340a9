"""Put a worker together from settings: clients, the index, the handler and the loop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)

from dicomidx.cloud.data_plane import StorageAccess, error_code
from dicomidx.errors import (
    AuthenticationError,
    AzureServiceError,
    ConfigurationError,
    PermissionDeniedError,
    UnreachableError,
)
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
    _check(queue.get_queue_properties, f"queue {settings.queue!r} in {where}")
    _check(files.get_container_properties, f"file system {settings.file_system!r} in {where}")
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


def _check(call: Callable[[], Any], what: str) -> None:
    """Fail at start, with a clear error, rather than poison every message later."""
    try:
        call()
    except ResourceNotFoundError as error:
        raise ConfigurationError(f"{what} does not exist") from error
    except ClientAuthenticationError as error:
        if isinstance(error, HttpResponseError) and error.status_code == 403:
            raise PermissionDeniedError(f"{what}: access denied ({error_code(error)})") from error
        raise AuthenticationError(f"cannot sign in to reach {what}") from error
    except HttpResponseError as error:
        if error.status_code == 403:
            raise PermissionDeniedError(f"{what}: access denied ({error_code(error)})") from error
        raise AzureServiceError(
            f"{what}: HTTP {error.status_code}", status=error.status_code, code=error_code(error)
        ) from error
    except AzureError as error:
        raise UnreachableError(f"cannot reach {what} ({type(error).__name__})") from error
