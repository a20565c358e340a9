"""How each message ended, and the counts `run --drain` prints."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum


class Disposition(StrEnum):
    """Where one delivery of a message ended. Exactly one per delivery."""

    INDEXED = "indexed"  # the instance is in the index; the message is deleted
    REMOVED = "removed"  # the instance left the index; the message is deleted
    SKIPPED = "skipped"  # nothing to do (the reason says why); the message is deleted
    RETRIED = "retried"  # a Server error; the message comes back later
    POISONED = "poisoned"  # moved to <queue>-poison with its failure recorded


# Reasons for SKIPPED besides the acceptance rules' (`dicomidx.events.outcome.Reason`).
BLOB_GONE = "blob-gone"  # a Created whose file no longer exists
STALE = "stale"  # a newer event for the path was recorded before
DUPLICATE = "duplicate"  # this very event was recorded before
NOT_INDEXED = "not-indexed"  # a Deleted of a path with nothing indexed (a tombstone is kept)


@dataclass(frozen=True, slots=True)
class Result:
    disposition: Disposition
    reason: str = ""  # the skip reason, or the failure code
    detail: str = ""


@dataclass
class Summary:
    """Counts of one run; safe to update from several threads."""

    indexed: int = 0
    removed: int = 0
    retried: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    poisoned: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, result: Result) -> None:
        with self._lock:
            if result.disposition is Disposition.INDEXED:
                self.indexed += 1
            elif result.disposition is Disposition.REMOVED:
                self.removed += 1
            elif result.disposition is Disposition.RETRIED:
                self.retried += 1
            elif result.disposition is Disposition.SKIPPED:
                self.skipped[result.reason] += 1
            else:
                self.poisoned[result.reason] += 1

    @property
    def messages(self) -> int:
        """Deliveries handled; a retried message counts once per delivery."""
        counted = self.indexed + self.removed + self.retried
        return counted + self.skipped.total() + self.poisoned.total()

    def as_json(self) -> dict[str, object]:
        return {
            "messages": self.messages,
            "indexed": self.indexed,
            "removed": self.removed,
            "skipped": dict(sorted(self.skipped.items())),
            "retried": self.retried,
            "poisoned": dict(sorted(self.poisoned.items())),
        }
