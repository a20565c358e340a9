"""The receive loop: batches of up to 32, a pool of threads, visibility renewal and backoff.

Threads suit the work: each message costs a few HTTP round trips and a few milliseconds of
parsing, so the threads mostly wait on the network while the sync SDK, which holds one
connection pool per client, is shared safely. The main thread alone receives, renews and
counts; the pool threads handle and settle messages. Pool threads are daemons, so a stuck read
cannot keep a stopping process alive after its messages were released.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from azure.core.exceptions import AzureError

from dicomidx.errors import IndexingError, ServerError
from dicomidx.worker.delivery import Delivery, Settler
from dicomidx.worker.handler import Handler
from dicomidx.worker.logs import worker_fields
from dicomidx.worker.summary import Disposition, Result, Summary

if TYPE_CHECKING:
    from azure.storage.queue import QueueClient

MAX_BATCH = 32
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoopOptions:
    concurrency: int = 8
    visibility_timeout: float = 60.0
    min_poll_interval: float = 0.1
    max_poll_interval: float = 30.0
    drain: bool = False
    shutdown_grace: float = 30.0


class PollBackoff:
    """Waits between receives that find nothing: doubling from min to max, reset by work."""

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, max(high, low)
        self.current = low

    def next(self) -> float:
        wait, self.current = self.current, min(self.current * 2, self.high)
        return wait

    def reset(self) -> None:
        self.current = self.low


class Worker:
    def __init__(
        self,
        queue_client: QueueClient,
        handler: Handler,
        settler: Settler,
        options: LoopOptions,
        *,
        stop: threading.Event | None = None,
    ) -> None:
        self.queue = queue_client
        self.handler = handler
        self.settler = settler
        self.options = options
        self.stop = stop or threading.Event()
        self.summary = Summary()
        self._in_flight: dict[str, Delivery] = {}
        self._jobs: queue.Queue[Delivery] = queue.Queue()
        self._done: queue.Queue[Delivery] = queue.Queue()
        self._queue_down = False
        high = min(options.max_poll_interval, 2.0) if options.drain else options.max_poll_interval
        self._backoff = PollBackoff(options.min_poll_interval, high)

    def run(self) -> Summary:
        """Receive and handle until stopped (or, with drain, until the queue is empty)."""
        for number in range(self.options.concurrency):
            threading.Thread(target=self._work, name=f"dicomidx-{number}", daemon=True).start()
        logger.info("worker started", extra=worker_fields(queue=self.queue.queue_name))

        next_poll = 0.0
        while not self.stop.is_set():
            self._renew_due()
            room = self._room()
            if room and time.monotonic() >= next_poll:
                received = self._receive(room)
                if received:
                    self._backoff.reset()
                    continue
                if received is not None and self.options.drain and self._drained():
                    break
                next_poll = time.monotonic() + self._backoff.next()

            # Sleep until a message finishes, or the next poll is due when there is room.
            wait = min(next_poll - time.monotonic(), 0.5) if room else 0.5
            self._collect(wait=max(wait, 0.005))

        self._finish()
        logger.info("worker stopped", extra=worker_fields(**self.summary.as_json()))
        return self.summary

    def _room(self) -> int:
        """How many to receive now: keep up to a batch waiting beside the busy threads.

        Receiving only as many as there are idle threads would cost a round trip per handful
        of messages; a waiting batch is renewed like the rest, and released at shutdown.
        """
        if self._jobs.qsize() >= self.options.concurrency:
            return 0
        return max(0, self.options.concurrency + MAX_BATCH - len(self._in_flight))

    def _receive(self, room: int) -> list[Delivery] | None:
        """Up to `room` messages (one request), or None when the queue cannot be reached."""
        timeout = self.options.visibility_timeout
        try:
            pages = self.queue.receive_messages(
                messages_per_page=min(room, MAX_BATCH),
                max_messages=min(room, MAX_BATCH),
                visibility_timeout=int(timeout),
            ).by_page()
            messages = list(next(pages, []))
        except AzureError as error:
            self._note_queue(error)
            return None
        self._note_queue(None)

        deliveries = [Delivery.received(message, timeout) for message in messages]
        for delivery in deliveries:
            self._in_flight[delivery.message_id] = delivery
            self._jobs.put(delivery)
        return deliveries

    def _drained(self) -> bool:
        """Nothing in flight and nothing left in the queue, invisible messages included."""
        if self._in_flight:
            return False
        try:
            return self.queue.get_queue_properties().approximate_message_count == 0
        except AzureError as error:
            self._note_queue(error)
            return False

    def _note_queue(self, error: AzureError | None) -> None:
        if error is None and self._queue_down:
            logger.info("the queue answers again", extra=worker_fields())
        elif error is not None and not self._queue_down:
            logger.warning(
                "the queue cannot be reached (%s); trying again with backoff",
                type(error).__name__,
                extra=worker_fields(),
            )
        self._queue_down = error is not None

    def _work(self) -> None:
        while True:
            delivery = self._jobs.get()
            started = time.monotonic()
            result = self._handle(delivery)
            self.summary.add(result)
            delivery.log.audit(
                "index-storage completed: %s%s",
                result.disposition.value,
                f" ({result.reason})" if result.reason else "",
                outcome=result.disposition.value,
                reason=result.reason or None,
                duration_ms=round((time.monotonic() - started) * 1000),
            )
            self._done.put(delivery)

    def _handle(self, delivery: Delivery) -> Result:
        log = delivery.log
        try:
            decoded = self.handler.decode(delivery.body, log)
            log.audit("index-storage started")
            result = self.handler.handle(decoded, log)
        except IndexingError as error:
            failure: IndexingError = error
        except Exception as error:
            log.diagnostic(logging.ERROR, "unexpected failure", exc_info=True)
            failure = ServerError("server-error", f"unexpected {type(error).__name__}")
        else:
            log.diagnostic(
                logging.INFO, "%s: %s", result.reason or result.disposition, result.detail
            )
            return self.settler.succeed(delivery, result)

        result = self.settler.fail(delivery, failure)
        level = logging.WARNING if result.disposition is Disposition.POISONED else logging.INFO
        log.diagnostic(
            level,
            "%s %s error %s: %s",
            result.disposition.value,
            failure.error_class,
            failure.code,
            result.detail,
            error_class=failure.error_class,
            code=failure.code,
        )
        return result

    def _collect(self, *, wait: float) -> None:
        """Forget finished deliveries; wait up to `wait` seconds for the first one."""
        try:
            delivery = self._done.get(timeout=wait) if wait > 0 else self._done.get_nowait()
            while True:
                self._in_flight.pop(delivery.message_id, None)
                delivery = self._done.get_nowait()
        except queue.Empty:
            return

    def _renew_due(self) -> None:
        timeout = self.options.visibility_timeout
        soon = time.monotonic() + timeout / 2
        for delivery in list(self._in_flight.values()):
            if delivery.visible_until < soon and not delivery.settled:
                self.settler.renew(delivery, timeout)

    def _finish(self) -> None:
        """Release messages not yet started; let the others finish within the grace period."""
        while True:
            try:
                waiting = self._jobs.get_nowait()
            except queue.Empty:
                break
            self.settler.release(waiting)
            self._in_flight.pop(waiting.message_id, None)

        deadline = time.monotonic() + self.options.shutdown_grace
        while self._in_flight and time.monotonic() < deadline:
            self._renew_due()
            self._collect(wait=0.2)
        for delivery in list(self._in_flight.values()):
            delivery.log.diagnostic(logging.INFO, "released unfinished at shutdown")
            self.settler.release(delivery)
