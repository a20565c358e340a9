"""Storage events and queue message bodies, each with the outcome the documentation implies.

Every expectation here comes from the documented semantics (reference sections 1 to 4), not
from running dicomidx: the recommended filter is Microsoft's template filter, and the service
accepts only base64 CloudEvents about committed files under its own path that it did not write.
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from typing import Any

from dicomidx.settings import Settings

SETTINGS = Settings(workspace="contosows", dicom_service="dicomsvc", file_system="imaging")
SOURCE = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/imaging-rg/providers/"
    "Microsoft.Storage/storageAccounts/contosoimaging"
)
BASE = "AHDS/contosows/dicom/dicomsvc/"
CREATED = "Microsoft.Storage.BlobCreated"
DELETED = "Microsoft.Storage.BlobDeleted"
SELF_TAG = "tag:contosows-dicomsvc.dicom.azurehealthcareapis.com,"


def cloud_event(
    path: str = BASE + "study/series/instance.dcm",
    *,
    type: str = CREATED,
    api: str = "PutBlob",
    container: str = "imaging",
    client_request_id: str | None = "6d79dbfb-0e37-4fc4-981f-442c9ca89b14",
    content_length: int | None = 524288,
    host: str = "blob",
    **data: Any,
) -> dict[str, Any]:
    """A BlobCreated/BlobDeleted CloudEvent shaped like the documented samples."""
    body: dict[str, Any] = {
        "api": api,
        "requestId": "9b2c4f1e-201e-0045-7e3c-3d8f4a000000",
        "eTag": '"0x8DC0123456789AB"',
        "contentType": "application/dicom",
        "blobType": "BlockBlob",
        "url": f"https://contosoimaging.{host}.core.windows.net/{container}/{path}",
        "sequencer": "00000000000000000000000000016C8A0000000000a1b2c3",
        "storageDiagnostics": {"batchId": "b68529f3-68cd-4744-baa4-3c0498ec19f0"},
    }
    if client_request_id is not None:
        body["clientRequestId"] = client_request_id
    if content_length is not None:
        body["contentLength"] = content_length
    body.update(data)
    return {
        "specversion": "1.0",
        "id": "831e1650-001e-001b-66ab-eeb76e069631",
        "type": type,
        "source": SOURCE,
        "subject": f"/blobServices/default/containers/{container}/blobs/{path}",
        "time": "2026-11-30T10:00:00.1234567Z",
        "data": body,
    }


def event_grid_schema() -> dict[str, Any]:
    event = cloud_event()
    return {
        "topic": event["source"],
        "subject": event["subject"],
        "eventType": event["type"],
        "id": event["id"],
        "data": event["data"],
        "dataVersion": "",
        "metadataVersion": "1",
        "eventTime": event["time"],
    }


def encode(value: Any) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


def without(event: dict[str, Any], *keys: str) -> dict[str, Any]:
    event = copy.deepcopy(event)
    for key in keys:
        event.pop(key, None)
    return event


@dataclass(frozen=True)
class Case:
    name: str
    event: Any  # a JSON value (event mode) or a message body (str, message mode)
    outcome: str
    reason: str
    messages: bool = False


DL = {"api": "FlushWithClose", "host": "dfs"}

CASES: list[Case] = [
    # Accepted: blob, Data Lake and SFTP APIs that commit content.
    Case("PutBlob under the service path", cloud_event(), "accepted", "index"),
    Case("PutBlockList", cloud_event(api="PutBlockList"), "accepted", "index"),
    Case("CopyBlob", cloud_event(api="CopyBlob"), "accepted", "index"),
    Case("Data Lake FlushWithClose", cloud_event(**DL), "accepted", "index"),
    Case(
        "a partition folder under the service path",
        cloud_event(BASE + "Microsoft.Default/study/instance.dcm"),
        "accepted",
        "index",
    ),
    Case(
        "DeleteBlob with a client request id",
        cloud_event(type=DELETED, api="DeleteBlob"),
        "accepted",
        "remove",
    ),
    Case(
        "Data Lake DeleteFile",
        cloud_event(type=DELETED, api="DeleteFile", host="dfs"),
        "accepted",
        "remove",
    ),
    Case(
        "a specVersion spelled in camel case",
        {**without(cloud_event(), "specversion"), "specVersion": "1.0"},
        "accepted",
        "index",
    ),
    # Missing data.clientRequestId: StringNotBeginsWith does not match a missing key.
    Case(
        "SFTP commit without a client request id",
        cloud_event(api="SftpCommit", client_request_id=None),
        "filtered",
        "advanced-filter",
    ),
    Case(
        "SFTP remove without a client request id",
        cloud_event(type=DELETED, api="SftpRemove", client_request_id=None),
        "filtered",
        "advanced-filter",
    ),
    Case(
        "DeleteBlob without a client request id",
        cloud_event(type=DELETED, api="DeleteBlob", client_request_id=None),
        "filtered",
        "advanced-filter",
    ),
    # The service's own writes, in any letter case: every advanced-filter comparison is
    # case-insensitive, so Event Grid drops them all.
    Case(
        "a self-write",
        cloud_event(client_request_id=SELF_TAG + "abc"),
        "filtered",
        "advanced-filter",
    ),
    Case(
        "a self-write in upper case",
        cloud_event(client_request_id=SELF_TAG.upper() + "ABC"),
        "filtered",
        "advanced-filter",
    ),
    Case(
        "a self-write in mixed case",
        cloud_event(client_request_id="Tag:ContosoWS-DicomSvc.DICOM.azurehealthcareapis.com,x"),
        "filtered",
        "advanced-filter",
    ),
    Case(
        "another service's tag is not a self-write",
        cloud_event(client_request_id="tag:contosows-othersvc.dicom.azurehealthcareapis.com,x"),
        "accepted",
        "index",
    ),
    # Subject filters: prefix and case-sensitive suffix.
    Case("another container", cloud_event(container="archive"), "filtered", "subject-prefix"),
    Case(
        "a sibling container name imaging2",
        cloud_event(container="imaging2"),
        "filtered",
        "subject-prefix",
    ),
    Case(
        "another DICOM service in the same workspace",
        cloud_event("AHDS/contosows/dicom/dicomsvc2/instance.dcm"),
        "filtered",
        "subject-prefix",
    ),
    Case(
        "another workspace",
        cloud_event("AHDS/otherws/dicom/dicomsvc/instance.dcm"),
        "filtered",
        "subject-prefix",
    ),
    Case("a file outside AHDS", cloud_event("uploads/instance.dcm"), "filtered", "subject-prefix"),
    Case(
        "the service path in another letter case",
        cloud_event("ahds/contosows/dicom/dicomsvc/instance.dcm"),
        "filtered",
        "subject-prefix",
    ),
    Case("upper-case .DCM", cloud_event(BASE + "instance.DCM"), "filtered", "subject-suffix"),
    Case("an extensionless file", cloud_event(BASE + "instance"), "filtered", "subject-suffix"),
    Case(
        "a health-check file",
        cloud_event(BASE + "healthCheck/health.txt"),
        "filtered",
        "subject-suffix",
    ),
    # Event types outside the filter: rename, directory and tier events.
    Case(
        "a rename",
        cloud_event(
            type="Microsoft.Storage.BlobRenamed", api="RenameFile", destinationUrl="https://x"
        ),
        "filtered",
        "event-type",
    ),
    Case(
        "a directory created",
        cloud_event(
            BASE + "study.dcm", type="Microsoft.Storage.DirectoryCreated", api="CreateDirectory"
        ),
        "filtered",
        "event-type",
    ),
    Case(
        "a directory deleted recursively",
        cloud_event(
            BASE + "study.dcm",
            type="Microsoft.Storage.DirectoryDeleted",
            api="DeleteDirectory",
            recursive="true",
        ),
        "filtered",
        "event-type",
    ),
    Case(
        "a tier change",
        cloud_event(type="Microsoft.Storage.BlobTierChanged", api="SetBlobTier"),
        "filtered",
        "event-type",
    ),
    # Uncommitted: Data Lake and SFTP create an empty file before the content arrives.
    Case(
        "a 0-byte Data Lake CreateFile",
        cloud_event(api="CreateFile", content_length=0, host="dfs"),
        "ignored",
        "uncommitted",
    ),
    Case(
        "an SFTP create with a client request id",
        cloud_event(api="SftpCreate", content_length=0),
        "ignored",
        "uncommitted",
    ),
    # Event Grid-schema and malformed input.
    Case("an Event Grid schema event", event_grid_schema(), "invalid", "not-cloudevent"),
    Case("specversion 0.3", {**cloud_event(), "specversion": "0.3"}, "invalid", "not-cloudevent"),
    Case("no subject", without(cloud_event(), "subject"), "invalid", "not-cloudevent"),
    Case("no id", without(cloud_event(), "id"), "invalid", "not-cloudevent"),
    Case("a JSON array", [cloud_event()], "invalid", "not-cloudevent"),
    Case("a JSON string", "hello", "invalid", "not-cloudevent"),
    # Queue message bodies as the worker receives them.
    Case("a base64 CloudEvent body", encode(cloud_event()), "accepted", "index", True),
    Case("a plain JSON body", json.dumps(cloud_event()), "invalid", "not-base64", True),
    Case("a body that is not base64", "not base64!", "invalid", "not-base64", True),
    Case(
        "base64 of text that is not JSON",
        base64.b64encode(b"hello world").decode(),
        "invalid",
        "not-json",
        True,
    ),
    Case(
        "base64 of truncated JSON",
        base64.b64encode(json.dumps(cloud_event()).encode()[:-5]).decode(),
        "invalid",
        "not-json",
        True,
    ),
    Case(
        "base64 of bytes that are not UTF-8",
        base64.b64encode(b"\xff\xfe{}").decode(),
        "invalid",
        "not-json",
        True,
    ),
    Case(
        "a base64 Event Grid schema body",
        encode(event_grid_schema()),
        "invalid",
        "not-cloudevent",
        True,
    ),
    Case(
        "a base64 DeleteFile without a client request id",
        encode(cloud_event(type=DELETED, api="DeleteFile", client_request_id=None)),
        "filtered",
        "advanced-filter",
        True,
    ),
]

# With no subscription filter (`{}`), everything is delivered and the service's own rules
# decide, in their documented order.
UNFILTERED: list[Case] = [
    Case(
        "a rename reaches the service",
        cloud_event(type="Microsoft.Storage.BlobRenamed", api="RenameFile"),
        "ignored",
        "unsupported-type",
    ),
    Case(
        "a tier change reaches the service",
        cloud_event(type="Microsoft.Storage.BlobTierChanged"),
        "ignored",
        "unsupported-type",
    ),
    Case("another container", cloud_event(container="archive"), "ignored", "other-file-system"),
    Case(
        "a sibling container imaging2",
        cloud_event(container="imaging2"),
        "ignored",
        "other-file-system",
    ),
    Case(
        "a subject that names no blob",
        {**cloud_event(), "subject": "/something/else"},
        "ignored",
        "other-file-system",
    ),
    Case("a file outside AHDS", cloud_event("uploads/x.dcm"), "ignored", "outside-service-path"),
    Case(
        "a sibling service dicomsvc2",
        cloud_event("AHDS/contosows/dicom/dicomsvc2/x.dcm"),
        "ignored",
        "outside-service-path",
    ),
    Case(
        "the service folder itself",
        cloud_event("AHDS/contosows/dicom/dicomsvc"),
        "ignored",
        "outside-service-path",
    ),
    Case(
        "a self-write in upper case",
        cloud_event(client_request_id=SELF_TAG.upper() + "1"),
        "ignored",
        "self-write",
    ),
    Case(
        "a self-write delete",
        cloud_event(type=DELETED, api="DeleteBlob", client_request_id=SELF_TAG + "2"),
        "ignored",
        "self-write",
    ),
    Case(
        "a 0-byte CreateFile",
        cloud_event(api="CreateFile", content_length=0),
        "ignored",
        "uncommitted",
    ),
    Case(
        "an SFTP create without a request id",
        cloud_event(api="SftpCreate", content_length=0, client_request_id=None),
        "ignored",
        "uncommitted",
    ),
    Case(
        "an SFTP commit without a request id",
        cloud_event(api="SftpCommit", client_request_id=None),
        "accepted",
        "index",
    ),
    Case("upper-case .DCM", cloud_event(BASE + "x.DCM"), "accepted", "index"),
    Case("an extensionless file", cloud_event(BASE + "x"), "accepted", "index"),
    Case(
        "a CreateFile that already has content",
        cloud_event(api="CreateFile", content_length=10),
        "accepted",
        "index",
    ),
    Case(
        "SFTP remove without a request id",
        cloud_event(type=DELETED, api="SftpRemove", client_request_id=None),
        "accepted",
        "remove",
    ),
]
