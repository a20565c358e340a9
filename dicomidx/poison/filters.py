"""Which poison messages a command acts on: the filters every poison command shares.

Every filter given must hold. Text filters ignore case. `--path` is a shell glob over the
whole path (`*` also crosses `/`). `--older-than` and `--newer-than` compare the time a
message was put on the poison queue with a moment: a duration back from now (`90s`, `30m`,
`2h`, `7d`, `1w`, or several, `1h30m`) or an ISO 8601 time (`2026-01-31T12:00:00Z`; without a
zone, UTC).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase

from dicomidx.errors import UsageError
from dicomidx.poison.messages import PoisonMessage

NO_CLASS = "none"  # --error-class value of messages without a failure record
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(?:\d+[smhdw])+")
_PART = re.compile(r"(\d+)([smhdw])")
_TYPE_PREFIX = "microsoft.storage."


@dataclass(frozen=True)
class Selection:
    """The filters of one command; `limit` keeps the first matching messages in queue order."""

    reasons: frozenset[str] = frozenset()
    error_classes: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    path: str | None = None
    older_than: datetime | None = None
    newer_than: datetime | None = None
    message_ids: frozenset[str] = field(default=frozenset())
    limit: int | None = None

    @classmethod
    def from_flags(
        cls,
        *,
        reasons: Sequence[str] = (),
        error_classes: Sequence[str] = (),
        types: Sequence[str] = (),
        path: str | None = None,
        older_than: str | None = None,
        newer_than: str | None = None,
        message_ids: Sequence[str] = (),
        limit: int | None = None,
        now: datetime | None = None,
    ) -> Selection:
        now = now or datetime.now(UTC)
        return cls(
            reasons=frozenset(reason.lower() for reason in reasons),
            error_classes=frozenset(name.lower() for name in error_classes),
            types=frozenset(_short_type(name) for name in types),
            path=path,
            older_than=parse_moment(older_than, now, flag="--older-than"),
            newer_than=parse_moment(newer_than, now, flag="--newer-than"),
            message_ids=frozenset(message_ids),
            limit=limit,
        )

    def apply(self, messages: Iterable[PoisonMessage]) -> list[PoisonMessage]:
        chosen = [message for message in messages if self.matches(message)]
        return chosen if self.limit is None else chosen[: self.limit]

    def matches(self, message: PoisonMessage) -> bool:
        if self.message_ids and message.message_id not in self.message_ids:
            return False
        if self.reasons and message.reason.lower() not in self.reasons:
            return False
        if self.error_classes and (message.error_class or NO_CLASS).lower() not in (
            self.error_classes
        ):
            return False
        if self.types and _short_type(message.type or "") not in self.types:
            return False
        if self.path is not None and not fnmatchcase(message.path or "", self.path):
            return False
        return self._in_time(message.inserted_on)

    def _in_time(self, inserted_on: datetime | None) -> bool:
        if self.older_than is None and self.newer_than is None:
            return True
        if inserted_on is None:
            return False
        if self.older_than is not None and inserted_on >= self.older_than:
            return False
        return self.newer_than is None or inserted_on > self.newer_than


def parse_moment(text: str | None, now: datetime, *, flag: str) -> datetime | None:
    """A duration back from `now` (`30m`, `2h`, `7d`, `1h30m`) or an ISO 8601 time, in UTC."""
    if text is None:
        return None

    value = text.strip().lower()
    if _DURATION.fullmatch(value):
        seconds = sum(int(amount) * _UNITS[unit] for amount, unit in _PART.findall(value))
        return now - timedelta(seconds=seconds)

    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise UsageError(
            f"{flag} {text!r} is neither a duration nor a time",
            hint="write a duration such as 30m, 2h, 7d or 1h30m, or an ISO 8601 time such as "
            "2026-01-31T12:00:00Z",
        ) from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _short_type(name: str) -> str:
    """`Microsoft.Storage.BlobCreated` and `BlobCreated` alike, ignoring case."""
    lowered = name.lower()
    return lowered[len(_TYPE_PREFIX) :] if lowered.startswith(_TYPE_PREFIX) else lowered
