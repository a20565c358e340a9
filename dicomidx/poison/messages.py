"""What is known about one poison message: its event, and why it failed.

The worker records each failure in the index before it poisons a message; a record is found
by the poison message id, else by the SHA-256 of the body, else by the event id. The managed
DICOM service records nothing where dicomidx can read it: for its messages the event is
decoded and the acceptance rules are run again, and the reason itself is in its logs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dicomidx.events.decode import decode_message
from dicomidx.events.model import StorageEvent
from dicomidx.events.outcome import Outcome, Verdict
from dicomidx.events.rules import accept
from dicomidx.index.store import Failure
from dicomidx.poison.sweep import HeldMessage
from dicomidx.settings import Settings

# The reason of a message the worker did not record and the rules would accept.
UNRECORDED = "unrecorded"
SERVICE_LOGS = (
    "no failure record; the DICOM service logs the reason in AHDSDicomDiagnosticLogs "
    "where OperationName = 'index-storage'"
)
_RULE_SETTINGS = ("workspace", "dicom_service", "file_system")


@dataclass(frozen=True)
class PoisonMessage:
    """One poison message as the poison tools show, filter and move it."""

    held: HeldMessage
    body_sha256: str
    event: StorageEvent | None
    reason: str
    detail: str
    failure: Failure | None = None

    @property
    def message_id(self) -> str:
        return self.held.message_id

    @property
    def event_id(self) -> str | None:
        return self.event.id if self.event else None

    @property
    def type(self) -> str | None:
        return self.event.type if self.event else None

    @property
    def path(self) -> str | None:
        return self.event.path if self.event else None

    @property
    def error_class(self) -> str | None:
        return self.failure.error_class if self.failure else None

    @property
    def inserted_on(self) -> datetime | None:
        return self.held.inserted_on

    @property
    def twin_key(self) -> str:
        """Messages with the same key carry the same event: replayed once per run."""
        return f"event:{self.event_id}" if self.event_id else f"body:{self.body_sha256}"

    def as_json(self) -> dict[str, Any]:
        failure = self.failure
        return {
            "message_id": self.message_id,
            "event_id": self.event_id,
            "type": self.type,
            "path": self.path,
            "event_time": self.event.time if self.event else None,
            "error_class": self.error_class,
            "reason": self.reason,
            "detail": self.detail,
            "recorded": failure is not None,
            "code": failure.code if failure else None,
            "attempts": failure.attempts if failure else None,
            "failed_at": failure.failed_at if failure else None,
            "inserted_on": _iso(self.held.inserted_on),
            "expires_on": _iso(self.held.expires_on),
            "dequeue_count": self.held.dequeue_count,
            "body_sha256": self.body_sha256,
        }


class FailureLookup:
    """The worker's failure records for one poison queue, by each key they are matched on."""

    def __init__(self, failures: Iterable[Failure], *, poison_queue: str) -> None:
        self._by_key: dict[tuple[str, str], Failure] = {}
        # Oldest first, so that the newest record of a key wins.
        for failure in failures:
            if failure.poison_queue != poison_queue:
                continue
            for key in ("poison_message_id", "body_sha256", "event_id"):
                value = getattr(failure, key)
                if value:
                    self._by_key[key, value] = failure

    def find(self, message_id: str, body_sha256: str, event_id: str | None) -> Failure | None:
        return (
            self._by_key.get(("poison_message_id", message_id))
            or self._by_key.get(("body_sha256", body_sha256))
            or (self._by_key.get(("event_id", event_id)) if event_id else None)
        )


def describe(held: HeldMessage, failures: FailureLookup, settings: Settings) -> PoisonMessage:
    """Decode a held message and say why it is poison, from its record or from the rules."""
    body_sha256 = hashlib.sha256(held.body.encode("utf-8")).hexdigest()
    decoded = decode_message(held.body)
    event = decoded if isinstance(decoded, StorageEvent) else None

    failure = failures.find(held.message_id, body_sha256, event.id if event else None)
    if failure is not None:
        return PoisonMessage(held, body_sha256, event, failure.code, failure.message, failure)

    if isinstance(decoded, Verdict):
        return PoisonMessage(held, body_sha256, None, decoded.reason, decoded.detail)
    if not all(getattr(settings, name) for name in _RULE_SETTINGS):
        return PoisonMessage(held, body_sha256, event, UNRECORDED, SERVICE_LOGS)

    verdict = accept(decoded, settings)
    if verdict.outcome is Outcome.ACCEPTED:
        return PoisonMessage(held, body_sha256, event, UNRECORDED, SERVICE_LOGS)
    return PoisonMessage(held, body_sha256, event, verdict.reason, verdict.detail)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None
