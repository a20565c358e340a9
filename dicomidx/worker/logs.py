"""The worker's log records: audit at start and completion, diagnostic for details and errors.

Every record of one delivery carries the same identifiers, as the DICOM service's
`AHDSDicomAuditLogs` and `AHDSDicomDiagnosticLogs` do: `operation=index-storage`, a correlation
id, the message id, and, once the body is decoded, the event id and path. The CLI's formatters
read the names in `FIELDS`. Patient attributes and secrets never reach a record: callers pass
codes, reasons, paths and identifiers only.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

OPERATION = "index-storage"
AUDIT = "audit"
DIAGNOSTIC = "diagnostic"

# Attributes a worker record may carry, in the order formatters show them.
FIELDS = (
    "operation",
    "log_type",
    "correlation_id",
    "message_id",
    "event_id",
    "path",
    "event_type",
    "dequeue_count",
    "outcome",
    "reason",
    "error_class",
    "code",
    "bytes_read",
    "duration_ms",
    # records about the run
    "queue",
    "messages",
    "indexed",
    "removed",
    "skipped",
    "retried",
    "poisoned",
)

logger = logging.getLogger(__name__)


@dataclass
class MessageLog:
    """The identifiers of one delivery, and the calls that log with them."""

    message_id: str
    dequeue_count: int = 0
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    event_id: str | None = None
    path: str | None = None
    event_type: str | None = None
    bytes_read: int | None = None

    def fields(self, log_type: str, **more: Any) -> dict[str, Any]:
        return {
            "operation": OPERATION,
            "log_type": log_type,
            "correlation_id": self.correlation_id,
            "message_id": self.message_id,
            "event_id": self.event_id,
            "path": self.path,
            "event_type": self.event_type,
            "dequeue_count": self.dequeue_count,
            "bytes_read": self.bytes_read,
            **more,
        }

    def audit(self, message: str, *args: object, **more: Any) -> None:
        logger.info(message, *args, extra=self.fields(AUDIT, **more))

    def diagnostic(
        self, level: int, message: str, *args: object, exc_info: bool = False, **more: Any
    ) -> None:
        logger.log(level, message, *args, exc_info=exc_info, extra=self.fields(DIAGNOSTIC, **more))


def worker_fields(**more: Any) -> dict[str, Any]:
    """For records about the run rather than one message."""
    return {"operation": OPERATION, "log_type": DIAGNOSTIC, **more}
