"""Blob storage events as Event Grid would deliver them to a queue, for Azurite.

Azurite has no Event Grid: the demo, the tests and the benchmarks write each file and then
enqueue the CloudEvent Event Grid would have sent, base64-encoded as its queue destination
does. Fields follow reference section 4.
"""

from __future__ import annotations

import itertools
import json
import uuid
from base64 import b64encode
from typing import Any

from dicomidx.events.model import BLOB_CREATED, blob_subject

_SEQUENCE = itertools.count(1)


def next_sequencer() -> str:
    """A 32-hex-digit sequencer, larger than every one this process made before."""
    return f"{next(_SEQUENCE):032x}"


def blob_event(
    *,
    account: str,
    container: str,
    path: str,
    event_type: str = BLOB_CREATED,
    api: str | None = None,
    content_length: int | None = None,
    etag: str | None = None,
    sequencer: str | None = None,
    client_request_id: str | None = "",
    event_id: str | None = None,
) -> dict[str, Any]:
    """One CloudEvents 1.0 storage event. `client_request_id=""` makes a random one."""
    created = event_type == BLOB_CREATED
    data: dict[str, Any] = {
        "api": api or ("PutBlob" if created else "DeleteBlob"),
        "requestId": str(uuid.uuid4()),
        "contentType": "application/dicom",
        "blobType": "BlockBlob",
        "url": f"https://{account}.blob.core.windows.net/{container}/{path}",
        "sequencer": sequencer or next_sequencer(),
        "storageDiagnostics": {"batchId": str(uuid.uuid4())},
    }
    if created:
        data["contentLength"] = content_length if content_length is not None else 0
        data["eTag"] = etag or "0x8DC0000000000000"
    if client_request_id is not None:
        data["clientRequestId"] = client_request_id or str(uuid.uuid4())

    return {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "type": event_type,
        "source": (
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/demo/providers/"
            f"Microsoft.Storage/storageAccounts/{account}"
        ),
        "subject": blob_subject(container, path),
        "time": "2026-01-01T00:00:00.0000000Z",
        "data": data,
    }


def encode_message(event: dict[str, Any]) -> str:
    """The queue message body Event Grid writes: base64 of the JSON."""
    return b64encode(json.dumps(event).encode("utf-8")).decode("ascii")
