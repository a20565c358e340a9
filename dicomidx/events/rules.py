"""The DICOM service's acceptance rules (reference section 1), and the whole decision.

An event that Event Grid delivers is processed only when all of these hold, checked in this
order: it is a CloudEvent (decoding), its type is BlobCreated or BlobDeleted, it names the
configured file system, its path lies under `AHDS/<ws>/dicom/<svc>/` (any partition folder
below that), it is not the service's own write, and a created file has content.
"""

from __future__ import annotations

from dicomidx.events.filter import EventFilter
from dicomidx.events.model import BLOB_CREATED, SUPPORTED_TYPES, StorageEvent, split_subject
from dicomidx.events.outcome import Reason, Verdict
from dicomidx.settings import Settings

# Data Lake and SFTP create an empty file first and commit content later (FlushWithClose,
# SftpCommit); the first event names a file that holds nothing yet.
UNCOMMITTED_APIS = frozenset({"CreateFile", "SftpCreate"})


def accept(event: StorageEvent, settings: Settings) -> Verdict:
    """Apply the acceptance rules to a delivered event: an `ignored` or `accepted` verdict."""
    if event.type not in SUPPORTED_TYPES:
        return Verdict(
            Reason.UNSUPPORTED_TYPE,
            f"type {event.type!r}; the service processes only {' and '.join(SUPPORTED_TYPES)}",
            event,
        )

    parts = split_subject(event.subject)
    if parts is None:
        return Verdict(
            Reason.OTHER_FILE_SYSTEM,
            "the subject does not name a blob (/blobServices/default/containers/<fs>/blobs/...)",
            event,
        )
    container, path = parts
    if container != settings.file_system:
        return Verdict(
            Reason.OTHER_FILE_SYSTEM,
            f"file system {container!r}, the service uses {settings.file_system!r}",
            event,
        )

    service_path = settings.service_path
    if not path.startswith(service_path) or len(path) == len(service_path):
        return Verdict(
            Reason.OUTSIDE_SERVICE_PATH, f"the path is not under {service_path!r}", event
        )

    request_id = event.client_request_id
    tag = settings.self_write_tag_folded
    if request_id is not None and request_id[: len(tag)].lower() == tag:
        return Verdict(
            Reason.SELF_WRITE,
            "data.clientRequestId carries the DICOM service's own tag: the service wrote it",
            event,
        )

    api = event.api
    if event.type == BLOB_CREATED:
        if api in UNCOMMITTED_APIS and not event.content_length:
            return Verdict(
                Reason.UNCOMMITTED,
                f"{api} with no content: the file is not committed yet; its "
                "FlushWithClose or SftpCommit event follows",
                event,
            )
        return Verdict(Reason.INDEX, f"index the file ({api or 'unknown api'})", event)
    return Verdict(Reason.REMOVE, f"remove the file from the index ({api or 'unknown api'})", event)


def decide(
    item: StorageEvent | Verdict, settings: Settings, event_filter: EventFilter | None
) -> Verdict:
    """The whole decision for one decoded item: invalid, filtered, ignored or accepted."""
    if isinstance(item, Verdict):
        return item

    if event_filter is not None:
        filtered = event_filter.check(item)
        if filtered is not None:
            return filtered
    return accept(item, settings)
