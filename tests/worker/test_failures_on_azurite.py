"""Storage that refuses or fails: User errors are poisoned at once, Server errors retried first.

The queue is Azurite's; the blob endpoint is a small local HTTP server that answers every
read with one status, as a storage account would when a role is missing or it is failing.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dicomidx.cloud.data_plane import StorageAccess
from dicomidx.emulator import ACCOUNT, ACCOUNT_KEY
from tests.storage_bed import StorageBed

pytestmark = [
    pytest.mark.azurite,
    # The SDK leaves the socket of a failed download to the garbage collector.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


class FailingBlobServer(ThreadingHTTPServer):
    status = 500
    error_code = "InternalError"
    reads = 0

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up are expected here


class _Answer(BaseHTTPRequestHandler):
    server: FailingBlobServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if "restype=container" in self.path:  # the worker's start-up check passes
            self._reply(200, "")
            return
        self.server.reads += 1
        self._reply(self.server.status, self.server.error_code)

    do_HEAD = do_GET

    def _reply(self, status: int, error_code: str) -> None:
        body = (
            f"<?xml version='1.0'?><Error><Code>{error_code}</Code>"
            "<Message>refused by the test</Message></Error>"
        ).encode()
        self.send_response(status)
        self.send_header("x-ms-error-code", error_code)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body) if error_code else 0))
        self.end_headers()
        if error_code and self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def failing_blobs() -> Iterator[FailingBlobServer]:
    server = FailingBlobServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    gc.collect()  # the leaked sockets warn here, where they are filtered, not in a later test


def access_through(bed: StorageBed, server: FailingBlobServer) -> StorageAccess:
    port = server.server_address[1]
    return StorageAccess(
        connection_string=(
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
            f"QueueEndpoint={bed.azurite.queue_endpoint};"
        )
    )


def test_a_server_error_is_retried_until_the_max_dequeue_count_and_then_poisoned(
    bed: StorageBed, failing_blobs: FailingBlobServer
) -> None:
    [body] = bed.send([bed.event("failing.dcm")])

    summary = bed.run(access=access_through(bed, failing_blobs))

    assert summary.as_json()["retried"] == 2
    assert summary.as_json()["poisoned"] == {"server-error": 1}
    assert bed.queued() == 0
    assert bed.poison_bodies() == [body]
    [failure] = bed.index().failures()
    assert (failure.error_class, failure.code, failure.attempts) == ("Server", "server-error", 3)
    assert "HTTP 500" in failure.message


def test_access_denied_by_storage_is_a_user_error_poisoned_at_the_first_attempt(
    bed: StorageBed, failing_blobs: FailingBlobServer
) -> None:
    failing_blobs.status, failing_blobs.error_code = 403, "AuthorizationPermissionMismatch"
    [body] = bed.send([bed.event("forbidden.dcm")])

    summary = bed.run(access=access_through(bed, failing_blobs))

    assert summary.as_json()["poisoned"] == {"storage-access-denied": 1}
    assert summary.as_json()["retried"] == 0
    assert bed.poison_bodies() == [body]
    [failure] = bed.index().failures()
    assert (failure.error_class, failure.attempts) == ("User", 1)
    assert "AuthorizationPermissionMismatch" in failure.message
