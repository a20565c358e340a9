"""Reading a whole queue, not the 32 messages a peek shows, and giving every message back.

A peek sees at most 32 messages and no receive sees a hidden one, so the sweep receives in
batches of 32 with a visibility timeout (the hold) until a receive comes back empty: every
message of the queue is then in hand, hidden from other readers for at most the hold. Each
message is then released (made visible again at once, by updating its visibility to 0 with
its pop receipt), deleted, or renewed while it waits for its turn.

If a message comes back during the sweep, the hold ran out before the sweep ended: later
receives would go round in circles. The sweep then releases what it holds and starts again
with twice the hold. Each receive adds one to a message's dequeue count; the count a message
had before this process first received it is kept as `dequeue_count`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from dicomidx.cloud.data_plane import storage_errors
from dicomidx.errors import (
    UnreachableError,
)

if TYPE_CHECKING:
    from azure.storage.queue import QueueClient, QueueMessage

BATCH = 32
DENIED_HINT = "reading and moving poison messages needs Storage Queue Data Contributor"
MIN_HOLD = 30
MAX_HOLD = 7 * 24 * 3600
SWEEP_ATTEMPTS = 4
# A generous guess of one receive of 32 (Azurite on 2 cores: 0.07 s at 100 queued, 0.2 s at
# 1,000); the hold is three times the guessed sweep, and doubled whenever it proves short.
_SECONDS_PER_RECEIVE = 0.25
_RELEASE_THREADS = 8
# A message deleted meanwhile, or received by another reader (its pop receipt changed).
_LOST_CODES = frozenset({"MessageNotFound", "PopReceiptMismatch"})


@dataclass
class HeldMessage:
    """A received message while the sweep holds it. The pop receipt changes on renewal."""

    message_id: str
    body: str
    inserted_on: datetime | None
    expires_on: datetime | None
    dequeue_count: int  # before this process received it
    pop_receipt: str
    visible_until: float  # time.monotonic() when the hold ends


class QueueSweep:
    """Receive every message of one queue, then release, renew or delete each."""

    def __init__(self, queue: QueueClient, *, hold: int | None = None) -> None:
        self.queue = queue
        self.hold = hold
        self.receives = 0

    @property
    def name(self) -> str:
        return str(self.queue.queue_name)

    def approximate_count(self) -> int:
        with storage_errors(f"queue {self.name!r}", denied_hint=DENIED_HINT):
            properties = self.queue.get_queue_properties()
        return int(properties.approximate_message_count or 0)

    def read_all(self) -> list[HeldMessage]:
        """Every message of the queue, held; in the order the queue handed them out."""
        hold = self.hold or auto_hold(self.approximate_count())
        first_counts: dict[str, int] = {}
        for _ in range(SWEEP_ATTEMPTS):
            held, complete = self._receive_until_empty(hold, first_counts)
            if complete:
                self.hold = hold
                return held
            self.release(held)
            hold = min(hold * 2, MAX_HOLD)

        raise UnreachableError(
            f"queue {self.name!r} could not be read whole: messages came back before the "
            f"sweep ended, {SWEEP_ATTEMPTS} times",
            hint=f"pass a longer --visibility-timeout (the last try held messages {hold // 2} s)",
        )

    def release(self, messages: Iterable[HeldMessage]) -> int:
        """Make messages visible again at once; how many were released."""
        return sum(self._in_parallel(self._release_one, messages))

    def delete(self, message: HeldMessage) -> bool:
        """Delete a held message; False when it is gone or another reader took it since."""
        with storage_errors(f"queue {self.name!r}", denied_hint=DENIED_HINT):
            try:
                self.queue.delete_message(message.message_id, message.pop_receipt)
            except Exception as error:
                if is_lost(error):
                    return False
                raise
        return True

    def renew_if_due(self, message: HeldMessage) -> bool:
        """Hold a message for another hold when less than a third of its hold is left.

        False when the message is no longer ours (gone, or another reader took it).
        """
        hold = self.hold or MIN_HOLD
        if message.visible_until - time.monotonic() > hold / 3:
            return True

        with storage_errors(f"queue {self.name!r}", denied_hint=DENIED_HINT):
            try:
                updated = self.queue.update_message(
                    message.message_id, pop_receipt=message.pop_receipt, visibility_timeout=hold
                )
            except Exception as error:
                if is_lost(error):
                    return False
                raise
        message.pop_receipt = str(updated.pop_receipt)
        message.visible_until = time.monotonic() + hold
        return True

    def _receive_until_empty(
        self, hold: int, first_counts: dict[str, int]
    ) -> tuple[list[HeldMessage], bool]:
        held: dict[str, HeldMessage] = {}
        while True:
            batch = self._receive(hold)
            if not batch:
                return list(held.values()), True

            came_back = False
            for message in batch:
                came_back = came_back or message.id in held
                count = int(message.dequeue_count or 1)
                first_counts.setdefault(message.id, count - 1)
                held[message.id] = _held(message, first_counts[message.id], hold)
            if came_back:
                return list(held.values()), False

    def _receive(self, hold: int) -> list[QueueMessage]:
        self.receives += 1
        with storage_errors(f"queue {self.name!r}", denied_hint=DENIED_HINT):
            pages = self.queue.receive_messages(
                messages_per_page=BATCH, max_messages=BATCH, visibility_timeout=hold
            ).by_page()
            return list(next(pages, []))

    def _release_one(self, message: HeldMessage) -> bool:
        try:
            self.queue.update_message(
                message.message_id, pop_receipt=message.pop_receipt, visibility_timeout=0
            )
        except Exception as error:
            if is_lost(error):
                return False  # deleted or taken by another reader meanwhile: not ours
            raise
        return True

    def _in_parallel(
        self, call: Callable[[HeldMessage], bool], messages: Iterable[HeldMessage]
    ) -> Iterator[bool]:
        with (
            storage_errors(f"queue {self.name!r}", denied_hint=DENIED_HINT),
            ThreadPoolExecutor(_RELEASE_THREADS, thread_name_prefix="dicomidx-release") as pool,
        ):
            yield from pool.map(call, messages)


def auto_hold(approximate_count: int) -> int:
    """A hold three times as long as a sweep of that many messages is guessed to take."""
    receives = math.ceil(approximate_count / BATCH) + 1
    return max(MIN_HOLD, math.ceil(3 * receives * _SECONDS_PER_RECEIVE))


def is_lost(error: BaseException) -> bool:
    """Whether a message call failed because the message is gone or no longer ours."""
    from dicomidx.cloud.data_plane import error_code

    return error_code(error) in _LOST_CODES


def _held(message: QueueMessage, dequeue_count: int, hold: int) -> HeldMessage:
    return HeldMessage(
        message_id=str(message.id),
        body=str(message.content),
        inserted_on=message.inserted_on,
        expires_on=message.expires_on,
        dequeue_count=dequeue_count,
        pop_receipt=str(message.pop_receipt),
        visible_until=time.monotonic() + hold,
    )
