"""What one queue message does to the index, as the DICOM service would do it.

Decode the body and apply the acceptance rules (`dicomidx.events`); a message they set aside is
skipped. A BlobCreated is read through the configured account by file system and path (never
by the event's `url`, which may name the dfs endpoint or another host), header only, by ranged
reads; a BlobDeleted removes the path. The index orders both by sequencer. Problems become an
IndexingError with a stable code; this module never touches the queue.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from dicomidx.cloud.data_plane import BlobRangeReader, error_code
from dicomidx.dicom.header import InstanceHeader, read_header
from dicomidx.errors import IndexingError, ServerError, UserError
from dicomidx.events.decode import decode_message
from dicomidx.events.model import StorageEvent
from dicomidx.events.outcome import Outcome, Reason, Verdict
from dicomidx.events.rules import accept
from dicomidx.index.store import Change, IndexStore, Instance, is_newer
from dicomidx.settings import Settings
from dicomidx.worker.logs import MessageLog
from dicomidx.worker.summary import (
    BLOB_GONE,
    DUPLICATE,
    NOT_INDEXED,
    STALE,
    Disposition,
    Result,
)

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

_SKIPPED_CHANGES = {
    Change.DUPLICATE: DUPLICATE,
    Change.STALE: STALE,
    Change.TOMBSTONED: NOT_INDEXED,
}


class Handler:
    """Turns one message body into a Result, or raises IndexingError. Safe across threads."""

    def __init__(self, settings: Settings, store: IndexStore, files: ContainerClient) -> None:
        settings.require("workspace", "dicom_service", "file_system")
        self.settings = settings
        self.store = store
        self.files = files

    @staticmethod
    def decode(body: str, log: MessageLog) -> StorageEvent | Verdict:
        """Decode a body, and put the event's identifiers on every later log record."""
        decoded = decode_message(body)
        if isinstance(decoded, StorageEvent):
            log.event_id, log.path, log.event_type = decoded.id, decoded.path, decoded.type
        return decoded

    def handle(self, decoded: StorageEvent | Verdict, log: MessageLog) -> Result:
        if not isinstance(decoded, StorageEvent):
            return Result(Disposition.SKIPPED, decoded.reason.value, decoded.detail)

        verdict = accept(decoded, self.settings)
        if verdict.outcome is not Outcome.ACCEPTED:
            return Result(Disposition.SKIPPED, verdict.reason.value, verdict.detail)

        if verdict.reason is Reason.INDEX:
            return self._index(decoded, log)
        return self._remove(decoded)

    def _index(self, event: StorageEvent, log: MessageLog) -> Result:
        path = str(event.path)
        settled = self._already_settled(path, event.sequencer)
        if settled is not None:
            return settled

        reader = BlobRangeReader(self.files.get_blob_client(path))
        try:
            header = read_header(reader)
        except ResourceNotFoundError:
            return Result(Disposition.SKIPPED, BLOB_GONE, "the file no longer exists")
        except (HttpResponseError, ServiceRequestError, ServiceResponseError) as error:
            raise storage_error(error, f"reading {path!r}") from error
        finally:
            log.bytes_read = reader.bytes_read
            log.diagnostic(
                logging.DEBUG,
                "read %d bytes in %d ranged reads",
                reader.bytes_read,
                reader.requests,
            )

        instance = to_instance(header, event, reader)
        change = self.store.put_instance(instance)
        if change is Change.INDEXED:
            detail = f"indexed after reading {reader.bytes_read} of {reader.size} bytes"
            return Result(Disposition.INDEXED, "", detail)
        return Result(Disposition.SKIPPED, _SKIPPED_CHANGES[change], _CHANGE_DETAIL[change])

    def _remove(self, event: StorageEvent) -> Result:
        change = self.store.delete_instance(
            str(event.path), sequencer=event.sequencer, event_id=event.id
        )
        if change is Change.REMOVED:
            return Result(Disposition.REMOVED, "", "removed from the index")
        return Result(Disposition.SKIPPED, _SKIPPED_CHANGES[change], _CHANGE_DETAIL[change])

    def _already_settled(self, path: str, sequencer: str | None) -> Result | None:
        """Skip reading a file when the index already holds this event or a newer one."""
        recorded = self.store.sequencer_at(path)
        if recorded is None or sequencer is None or recorded[0] is None:
            return None
        if sequencer == recorded[0]:
            return Result(Disposition.SKIPPED, DUPLICATE, _CHANGE_DETAIL[Change.DUPLICATE])
        if not is_newer(sequencer, recorded[0]):
            return Result(Disposition.SKIPPED, STALE, _CHANGE_DETAIL[Change.STALE])
        return None


_CHANGE_DETAIL = {
    Change.DUPLICATE: "this event was recorded before",
    Change.STALE: "a newer event for this path was recorded before",
    Change.TOMBSTONED: "nothing was indexed at this path; a tombstone is kept",
}


def to_instance(header: InstanceHeader, event: StorageEvent, reader: BlobRangeReader) -> Instance:
    return Instance(
        path=str(event.path),
        study_uid=header.study_uid,
        series_uid=header.series_uid,
        sop_instance_uid=header.sop_instance_uid,
        sop_class_uid=header.sop_class_uid,
        transfer_syntax_uid=header.transfer_syntax_uid,
        patient_id=header.patient_id,
        patient_name=header.patient_name,
        patient_birth_date=header.patient_birth_date,
        study_date=header.study_date,
        study_time=header.study_time,
        accession_number=header.accession_number,
        modality=header.modality,
        study_description=header.study_description,
        referring_physician_name=header.referring_physician_name,
        etag=reader.etag or event.etag,
        size=reader.size,
        sequencer=event.sequencer,
        event_id=event.id,
    )


def storage_error(error: Exception, doing: str) -> IndexingError:
    """An Azure SDK error as the service's classes: access problems are the User's."""
    if isinstance(error, ResourceModifiedError):
        return ServerError("server-error", f"{doing}: the file changed while it was read")
    if isinstance(error, ClientAuthenticationError) or (
        isinstance(error, HttpResponseError) and error.status_code in (401, 403)
    ):
        status = getattr(error, "status_code", None)
        code = error_code(error) or type(error).__name__
        return UserError(
            "storage-access-denied",
            f"{doing}: access denied ({status or 'no token'} {code})",
            hint="grant the worker's identity Storage Blob Data Reader on the account",
        )
    if isinstance(error, HttpResponseError):
        return ServerError(
            "server-error", f"{doing}: HTTP {error.status_code} {error_code(error) or ''}".strip()
        )
    return ServerError("server-error", f"{doing}: storage unreachable ({type(error).__name__})")
