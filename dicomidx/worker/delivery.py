"""A received message while the worker holds it, and how it leaves: the retry and poison policy.

Every delivery ends one way: deleted after its index change is committed, made visible again
later (a Server error, while attempts remain), or copied byte for byte to `<queue>-poison`
after its failure record is committed, and only then deleted. A crash between two of those
steps can repeat a step, never skip one: the message comes back, and the index absorbs the
repeat.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import AzureError, ResourceNotFoundError

from dicomidx.cloud.data_plane import error_code
from dicomidx.errors import IndexingError
from dicomidx.index.sqlite import now
from dicomidx.index.store import Failure, IndexStore
from dicomidx.worker.logs import MessageLog
from dicomidx.worker.summary import Disposition, Result

if TYPE_CHECKING:
    from azure.storage.queue import QueueClient, QueueMessage

# Poison messages never expire: a failure waits for an operator, however long that takes.
POISON_TIME_TO_LIVE = -1


@dataclass(frozen=True)
class RetryPolicy:
    """Server errors come back after a delay that doubles per attempt, up to a cap."""

    max_dequeue_count: int = 5
    retry_delay: float = 10.0
    max_retry_delay: float = 300.0

    def delay(self, dequeue_count: int) -> int:
        exponent = max(dequeue_count - 1, 0)
        return int(min(self.retry_delay * 2**exponent, self.max_retry_delay))

    def gives_up(self, dequeue_count: int) -> bool:
        return dequeue_count >= self.max_dequeue_count


@dataclass
class Delivery:
    """One received message. `lock` guards the pop receipt, which renewals replace."""

    message_id: str
    body: str
    dequeue_count: int
    pop_receipt: str
    visible_until: float
    log: MessageLog
    settled: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def received(cls, message: QueueMessage, visibility_timeout: float) -> Delivery:
        return cls(
            message_id=message.id,
            body=str(message.content),
            dequeue_count=message.dequeue_count or 0,
            pop_receipt=str(message.pop_receipt),
            visible_until=time.monotonic() + visibility_timeout,
            log=MessageLog(message.id, message.dequeue_count or 0),
        )

    @property
    def body_sha256(self) -> str:
        return hashlib.sha256(self.body.encode("utf-8")).hexdigest()


class Settler:
    """Queue operations on deliveries: delete, retry later, poison, renew, release."""

    def __init__(
        self, queue: QueueClient, poison: QueueClient, store: IndexStore, policy: RetryPolicy
    ) -> None:
        self.queue = queue
        self.poison_queue = poison
        self.store = store
        self.policy = policy

    def succeed(self, delivery: Delivery, result: Result) -> Result:
        self._delete(delivery)
        return result

    def fail(self, delivery: Delivery, error: IndexingError) -> Result:
        """Poison a User error now and a Server error at the last attempt; else retry later."""
        if error.error_class == "User" or self.policy.gives_up(delivery.dequeue_count):
            return self._poison(delivery, error)

        delay = self.policy.delay(delivery.dequeue_count)
        self._update(delivery, delay, settle=True)
        return Result(Disposition.RETRIED, error.code, f"{error.message}; again in {delay} s")

    def renew(self, delivery: Delivery, visibility_timeout: float) -> None:
        """Keep a slow delivery invisible for another `visibility_timeout` seconds."""
        if self._update(delivery, visibility_timeout, settle=False):
            delivery.visible_until = time.monotonic() + visibility_timeout

    def release(self, delivery: Delivery) -> None:
        """Make a delivery visible again at once, for another worker (on shutdown)."""
        self._update(delivery, 0, settle=True)

    def _poison(self, delivery: Delivery, error: IndexingError) -> Result:
        log = delivery.log
        failure = Failure(
            message_id=delivery.message_id,
            queue=self.queue.queue_name,
            poison_queue=self.poison_queue.queue_name,
            body_sha256=delivery.body_sha256,
            error_class=error.error_class,
            code=error.code,
            message=error.message,
            attempts=delivery.dequeue_count,
            failed_at=now(),
            event_id=log.event_id,
            event_type=log.event_type,
            path=log.path,
        )
        self.store.record_failure(failure)

        try:
            sent = self._send_poison(delivery.body)
        except AzureError as send_error:
            log.diagnostic(
                logging.ERROR,
                "cannot copy the message to %s (%s); it stays on the queue and comes back",
                self.poison_queue.queue_name,
                type(send_error).__name__,
            )
            return Result(Disposition.RETRIED, error.code, "the poison copy failed")

        self.store.mark_poisoned(delivery.message_id, sent)
        self._delete(delivery)
        return Result(Disposition.POISONED, error.code, error.message)

    def _send_poison(self, body: str) -> str:
        try:
            sent = self.poison_queue.send_message(body, time_to_live=POISON_TIME_TO_LIVE)
        except ResourceNotFoundError:
            self._create_poison_queue()
            sent = self.poison_queue.send_message(body, time_to_live=POISON_TIME_TO_LIVE)
        return str(sent.id)

    def _create_poison_queue(self) -> None:
        from azure.core.exceptions import ResourceExistsError

        with contextlib.suppress(ResourceExistsError):
            self.poison_queue.create_queue()

    def _delete(self, delivery: Delivery) -> None:
        with delivery.lock:
            delivery.settled = True
            receipt = delivery.pop_receipt
            self._call(delivery, "delete", self.queue.delete_message, delivery.message_id, receipt)

    def _update(self, delivery: Delivery, visibility_timeout: float, *, settle: bool) -> bool:
        with delivery.lock:
            if delivery.settled:
                return False
            delivery.settled = settle
            updated = self._call(
                delivery,
                "update",
                self.queue.update_message,
                delivery.message_id,
                pop_receipt=delivery.pop_receipt,
                visibility_timeout=int(visibility_timeout),
            )
            if updated is None:
                return False
            delivery.pop_receipt = str(updated.pop_receipt)
            return True

    def _call(self, delivery: Delivery, what: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, **kwargs)
        except AzureError as error:
            # The message outlived its visibility and went to another receiver, or the queue
            # cannot be reached: it comes back, and its repeat changes nothing.
            delivery.log.diagnostic(
                logging.WARNING,
                "cannot %s the message (%s); it will be delivered again",
                what,
                error_code(error) or type(error).__name__,
            )
            return None
