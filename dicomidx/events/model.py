"""The storage event as the DICOM service sees it: a CloudEvent about one blob."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

BLOB_CREATED = "Microsoft.Storage.BlobCreated"
BLOB_DELETED = "Microsoft.Storage.BlobDeleted"
SUPPORTED_TYPES = (BLOB_CREATED, BLOB_DELETED)

_SUBJECT_HEAD = "/blobServices/default/containers/"
_SUBJECT_BLOBS = "/blobs/"


class StorageEvent(NamedTuple):
    """One CloudEvents 1.0 event. `envelope` is the whole decoded object, for filter keys.

    Immutable like a frozen dataclass, and much cheaper to build: validate-events and the
    worker make one per message.
    """

    id: str
    type: str
    source: str
    subject: str
    time: str | None
    data: Mapping[str, Any]
    envelope: Mapping[str, Any]

    @property
    def container(self) -> str | None:
        """The file system the subject names, or None when it is not a blob subject."""
        parts = split_subject(self.subject)
        return parts[0] if parts else None

    @property
    def path(self) -> str | None:
        """The blob path inside the file system, or None when it is not a blob subject."""
        parts = split_subject(self.subject)
        return parts[1] if parts else None

    @property
    def api(self) -> str | None:
        return _text(self.data.get("api"))

    @property
    def client_request_id(self) -> str | None:
        return _text(self.data.get("clientRequestId"))

    @property
    def sequencer(self) -> str | None:
        return _text(self.data.get("sequencer"))

    @property
    def etag(self) -> str | None:
        """The blob's ETag without the quotes some events wrap it in."""
        value = _text(self.data.get("eTag"))
        return value.strip('"') if value else value

    @property
    def content_length(self) -> int | None:
        value = self.data.get("contentLength")
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return int(value)

    @property
    def url(self) -> str | None:
        return _text(self.data.get("url"))


def split_subject(subject: str) -> tuple[str, str] | None:
    """`/blobServices/default/containers/<fs>/blobs/<path>` into (fs, path)."""
    if not subject.startswith(_SUBJECT_HEAD):
        return None

    rest = subject[len(_SUBJECT_HEAD) :]
    container, sep, path = rest.partition(_SUBJECT_BLOBS)
    if not sep or not container or "/" in container or not path:
        return None
    return container, path


def blob_subject(container: str, path: str) -> str:
    return f"{_SUBJECT_HEAD}{container}{_SUBJECT_BLOBS}{path}"


def _text(value: object) -> str | None:
    return value if type(value) is str else None
