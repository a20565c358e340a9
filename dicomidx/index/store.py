"""What an index store keeps and promises, whatever database holds it.

An index maps a path of the file system to the DICOM instance stored there. Every change is
ordered per path by the event's `sequencer`: an event older than what is recorded for that
path changes nothing, a delete included, because a delete leaves a tombstone. The same event
twice changes nothing. One SOP Instance UID is indexed at one path only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from dicomidx.errors import UsageError

# The attributes kept per instance: the UIDs, then what QIDO-RS searches on.
UIDS = ("study_uid", "series_uid", "sop_instance_uid")
ATTRIBUTES = (
    *UIDS,
    "sop_class_uid",
    "transfer_syntax_uid",
    "patient_id",
    "patient_name",
    "patient_birth_date",
    "study_date",
    "study_time",
    "accession_number",
    "modality",
    "study_description",
    "referring_physician_name",
)
_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")


class Change(StrEnum):
    """What recording one event did to the index."""

    INDEXED = "indexed"  # the instance at the path is new or replaced
    REMOVED = "removed"  # the instance at the path was removed; a tombstone stays
    TOMBSTONED = "not-indexed"  # a delete of a path with nothing indexed; a tombstone stays
    DUPLICATE = "duplicate"  # this event (same sequencer) was recorded before
    STALE = "stale"  # a newer event for the path was recorded before


@dataclass(frozen=True, slots=True)
class Instance:
    """One indexed file: where it is, which version, and its attributes."""

    path: str
    study_uid: str
    series_uid: str
    sop_instance_uid: str
    sop_class_uid: str | None = None
    transfer_syntax_uid: str | None = None
    patient_id: str | None = None
    patient_name: str | None = None
    patient_birth_date: str | None = None
    study_date: str | None = None
    study_time: str | None = None
    accession_number: str | None = None
    modality: str | None = None
    study_description: str | None = None
    referring_physician_name: str | None = None
    etag: str | None = None
    size: int | None = None
    sequencer: str | None = None
    event_id: str | None = None
    indexed_at: str = ""

    def as_json(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class InstanceQuery:
    """Filters of `index query`; all given ones must hold. Dates are YYYYMMDD."""

    study_uid: str | None = None
    series_uid: str | None = None
    patient_id: str | None = None
    modality: str | None = None
    study_date_from: str | None = None
    study_date_to: str | None = None
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    """Why one queue message was poisoned: what the poison tools show and filter on.

    `body_sha256` is the SHA-256 of the message body as received (and sent to the poison
    queue), so a poison message finds its record even without `poison_message_id`.
    """

    message_id: str
    queue: str
    poison_queue: str
    body_sha256: str
    error_class: str
    code: str
    message: str
    attempts: int
    failed_at: str
    event_id: str | None = None
    event_type: str | None = None
    path: str | None = None
    poison_message_id: str | None = None
    # Set when the poison tools replayed or purged the poison message ("replayed", "purged"):
    # the record is history then, and no longer explains a message on the poison queue.
    resolved_at: str | None = None
    resolution: str | None = None
    id: int | None = field(default=None, compare=False)

    def as_json(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}


class IndexStore(Protocol):
    """The index as the worker and the commands use it. SQLite implements it today."""

    def sequencer_at(self, path: str) -> tuple[str | None, bool] | None:
        """The recorded (sequencer, is_live) for a path, or None when nothing is recorded."""
        ...

    def put_instance(self, instance: Instance) -> Change:
        """Record a created file. Raises UserError `instance-exists` for a second path."""
        ...

    def delete_instance(self, path: str, *, sequencer: str | None, event_id: str | None) -> Change:
        """Record a deleted file, keeping a tombstone."""
        ...

    def instances(self, query: InstanceQuery | None = None) -> list[Instance]: ...

    def record_failure(self, failure: Failure) -> None:
        """Record (or update, for the same message id) a failure, durably, before poisoning."""
        ...

    def mark_poisoned(self, message_id: str, poison_message_id: str) -> None: ...

    def failures(self, *, limit: int | None = None, resolved: bool = False) -> list[Failure]:
        """Failures oldest first; those already replayed or purged only with `resolved`."""
        ...

    def resolve_failure(self, failure_id: int, resolution: str) -> None:
        """Mark a failure as dealt with, once its poison message is replayed or purged."""
        ...

    def find_failure(
        self,
        *,
        poison_message_id: str | None = None,
        body_sha256: str | None = None,
        event_id: str | None = None,
    ) -> Failure | None:
        """The newest unresolved failure matching the first given key (in this order)."""
        ...

    def close(self) -> None: ...


def compare_sequencers(first: str, second: str) -> int:
    """-1, 0 or 1. Same length: as strings (Azure's rule); else as hex numbers when they are."""
    if len(first) != len(second):
        try:
            a, b = int(first, 16), int(second, 16)
        except ValueError:
            pass
        else:
            return (a > b) - (a < b)
    return (first > second) - (first < second)


def is_newer(sequencer: str | None, recorded: str | None) -> bool | None:
    """Whether an event is newer than what is recorded; None when either has no sequencer."""
    if sequencer is None or recorded is None:
        return None
    return compare_sequencers(sequencer, recorded) > 0


def normalize_date(text: str, *, flag: str) -> str:
    """YYYYMMDD or YYYY-MM-DD to DICOM's YYYYMMDD."""
    match = _DATE.fullmatch(text.strip())
    if match is None:
        raise UsageError(f"{flag} {text!r} is not a date", hint="write YYYY-MM-DD or YYYYMMDD")
    return "".join(match.groups())


def attribute_values(instance: Instance) -> Sequence[str | None]:
    return [getattr(instance, name) for name in ATTRIBUTES]
