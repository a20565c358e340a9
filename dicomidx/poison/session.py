"""One run of a poison command: read the whole poison queue, then replay or purge a selection.

Replay sends a message's original body to the main queue and only then deletes its poison
copy: an interruption between the two leaves the message on both queues (the worker's
idempotency absorbs the repeat), never on neither. Messages carrying the same event (the same
event id, or for undecodable bodies the same bytes) are sent once per run; their twins are
deleted only after that one send succeeded. Whatever the run still holds when it ends, by
success, error or interrupt, is made visible again at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dicomidx.cloud.data_plane import storage_errors
from dicomidx.index.store import IndexStore
from dicomidx.poison.messages import FailureLookup, PoisonMessage, describe
from dicomidx.poison.sweep import DENIED_HINT, HeldMessage, QueueSweep
from dicomidx.settings import Settings

if TYPE_CHECKING:
    from azure.storage.queue import QueueClient

    from dicomidx.cloud.data_plane import StorageAccess


@dataclass(frozen=True)
class Group:
    """Messages carrying one event: `first` is sent, `twins` are deleted after it."""

    first: PoisonMessage
    twins: tuple[PoisonMessage, ...] = ()

    @property
    def messages(self) -> tuple[PoisonMessage, ...]:
        return (self.first, *self.twins)


@dataclass
class Counts:
    """What a replay or purge did so far; the progress bar and the summary show it."""

    matched: int = 0
    replayed: int = 0
    deduplicated: int = 0
    purged: int = 0
    duplicated: int = 0  # sent, but the poison copy was taken by another reader meanwhile
    skipped: int = 0  # taken by another reader before it could be moved
    done: int = 0  # messages handled, whatever the outcome
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def as_json(self) -> dict[str, Any]:
        moved = self.replayed + self.purged
        return {
            "matched": self.matched,
            "replayed": self.replayed,
            "deduplicated": self.deduplicated,
            "purged": self.purged,
            "duplicated": self.duplicated,
            "skipped": self.skipped,
            "seconds": round(self.elapsed, 3),
            "messages_per_second": round(moved / self.elapsed, 1) if self.elapsed else None,
        }


Progress = Callable[[Counts], None]


def group_twins(messages: Iterable[PoisonMessage]) -> list[Group]:
    """Group messages by the event they carry, in queue order of each group's first."""
    groups: dict[str, list[PoisonMessage]] = {}
    for message in messages:
        groups.setdefault(message.twin_key, []).append(message)
    return [Group(members[0], tuple(members[1:])) for members in groups.values()]


class Pacer:
    """At most `rate` calls of `wait` return per second (none when rate is None)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1 / rate if rate else 0.0
        self.next_at = time.monotonic()

    def wait(self) -> None:
        if not self.interval:
            return
        delay = self.next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self.next_at = max(self.next_at, time.monotonic() - self.interval) + self.interval


class PoisonSession:
    """The poison queue of one run, its failure records, and what the run holds."""

    def __init__(
        self, settings: Settings, poison: QueueClient, store: IndexStore | None, hold: int | None
    ) -> None:
        self.settings = settings
        self.sweep = QueueSweep(poison, hold=hold)
        self.store = store
        failures = store.failures() if store is not None else []
        self.failures = FailureLookup(failures, poison_queue=settings.poison_queue)
        self.held: dict[str, HeldMessage] = {}

    def main_queue(self, access: StorageAccess) -> QueueClient:
        """The queue replays go to, checked to exist before anything moves."""
        queue = access.queue_client(self.settings.queue)
        with storage_errors(f"queue {self.settings.queue!r}", denied_hint=DENIED_HINT):
            queue.get_queue_properties()
        return queue

    def read(self) -> list[PoisonMessage]:
        """Every message of the poison queue, described; all held until released."""
        messages = self.sweep.read_all()
        self.held.update((message.message_id, message) for message in messages)
        return [describe(message, self.failures, self.settings) for message in messages]

    def release(self, keep: Iterable[PoisonMessage] = ()) -> None:
        """Make every held message visible again, except those to `keep` for now."""
        kept = {message.message_id for message in keep}
        released = [held for key, held in self.held.items() if key not in kept]
        self.sweep.release(released)
        self.held = {key: held for key, held in self.held.items() if key in kept}

    def replay(
        self, queue: QueueClient, groups: list[Group], *, rate: float | None, progress: Progress
    ) -> Counts:
        """Send each group's first body to `queue`, then delete the group from the poison queue."""
        counts = Counts(matched=sum(len(group.messages) for group in groups))
        pacer = Pacer(rate)
        for group in groups:
            if not self.sweep.renew_if_due(group.first.held):
                counts.skipped += 1
            else:
                pacer.wait()
                with storage_errors(f"queue {queue.queue_name!r}", denied_hint=DENIED_HINT):
                    queue.send_message(group.first.held.body)
                counts.replayed += 1
                if not self._delete(group.first, resolution="replayed"):
                    counts.duplicated += 1
                counts.deduplicated += sum(
                    self._delete(twin, resolution="replayed") for twin in group.twins
                )
            counts.done += len(group.messages)
            progress(counts)
        return counts

    def purge(self, messages: list[PoisonMessage], *, progress: Progress) -> Counts:
        """Delete messages from the poison queue."""
        counts = Counts(matched=len(messages))
        for message in messages:
            if self._delete(message, resolution="purged"):
                counts.purged += 1
            else:
                counts.skipped += 1
            counts.done += 1
            progress(counts)
        return counts

    def close(self) -> None:
        self.release()

    def _delete(self, message: PoisonMessage, *, resolution: str) -> bool:
        deleted = self.sweep.delete(message.held)
        self.held.pop(message.message_id, None)

        # The record is history now: it must not explain a later poison message with the
        # same body (the event may fail again, elsewhere, for another reason).
        failure = message.failure
        if self.store is not None and failure is not None and failure.id is not None:
            self.store.resolve_failure(failure.id, resolution)
        return deleted


@contextmanager
def poison_session(
    settings: Settings, poison: QueueClient, store: IndexStore | None, *, hold: int | None = None
) -> Iterator[PoisonSession]:
    """A session that gives back every message it still holds when it ends, however it ends."""
    session = PoisonSession(settings, poison, store, hold)
    try:
        yield session
    finally:
        session.close()
