"""What happens to an event, and why: the public vocabulary of validate-events and the worker.

Scripts match on these strings, so they never change meaning once released.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from dicomidx.events.model import StorageEvent


class Outcome(StrEnum):
    INVALID = "invalid"  # not an event the service can read at all
    FILTERED = "filtered"  # Event Grid would not deliver it
    IGNORED = "ignored"  # delivered, and the service skips it
    ACCEPTED = "accepted"  # the service indexes or removes the file


class Reason(StrEnum):
    # invalid
    NOT_JSON = "not-json"
    NOT_BASE64 = "not-base64"
    NOT_CLOUDEVENT = "not-cloudevent"
    # filtered
    EVENT_TYPE = "event-type"
    SUBJECT_PREFIX = "subject-prefix"
    SUBJECT_SUFFIX = "subject-suffix"
    ADVANCED_FILTER = "advanced-filter"
    # ignored
    UNSUPPORTED_TYPE = "unsupported-type"
    OTHER_FILE_SYSTEM = "other-file-system"
    OUTSIDE_SERVICE_PATH = "outside-service-path"
    SELF_WRITE = "self-write"
    UNCOMMITTED = "uncommitted"
    # accepted
    INDEX = "index"
    REMOVE = "remove"


OUTCOME_OF: dict[Reason, Outcome] = {
    **dict.fromkeys((Reason.NOT_JSON, Reason.NOT_BASE64, Reason.NOT_CLOUDEVENT), Outcome.INVALID),
    **dict.fromkeys(
        (
            Reason.EVENT_TYPE,
            Reason.SUBJECT_PREFIX,
            Reason.SUBJECT_SUFFIX,
            Reason.ADVANCED_FILTER,
        ),
        Outcome.FILTERED,
    ),
    **dict.fromkeys(
        (
            Reason.UNSUPPORTED_TYPE,
            Reason.OTHER_FILE_SYSTEM,
            Reason.OUTSIDE_SERVICE_PATH,
            Reason.SELF_WRITE,
            Reason.UNCOMMITTED,
        ),
        Outcome.IGNORED,
    ),
    Reason.INDEX: Outcome.ACCEPTED,
    Reason.REMOVE: Outcome.ACCEPTED,
}


class Verdict(NamedTuple):
    """One decision: the reason, a human detail, and the event when there was one.

    A NamedTuple rather than a frozen dataclass: validate-events makes one per event, and
    tuple construction is several times cheaper.
    """

    reason: Reason
    detail: str = ""
    event: StorageEvent | None = None

    @property
    def outcome(self) -> Outcome:
        return OUTCOME_OF[self.reason]
