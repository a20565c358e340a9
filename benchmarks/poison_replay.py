"""Replay throughput: `dicomidx poison replay` beside a raw send-and-delete loop, on Azurite.

Both move the same number of identical-sized, distinct messages from a poison queue to its
main queue on one Azurite. The raw loop does only the least a move needs (receive 32, then
send and delete each); replay also reads the whole queue first, decodes and matches every
message, and releases nothing (all match). Figures only, no assertions.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from azure.storage.queue import QueueClient

from dicomidx.cli.app import run
from dicomidx.emulator import ACCOUNT, Azurite
from dicomidx.events.fabricate import blob_event, encode_message
from dicomidx.events.model import BLOB_DELETED

MESSAGES = 1000


def fill(queue: QueueClient, count: int, tag: str) -> None:
    bodies = [
        encode_message(
            blob_event(
                account=ACCOUNT,
                container="imaging",
                path=f"AHDS/ws/dicom/svc/{tag}/{number}.dcm",
                event_type=BLOB_DELETED,
            )
        )
        for number in range(count)
    ]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(queue.send_message, bodies))


def queues(connection_string: str, name: str) -> tuple[QueueClient, QueueClient]:
    main = QueueClient.from_connection_string(connection_string, name)
    poison = QueueClient.from_connection_string(connection_string, f"{name}-poison")
    main.create_queue()
    poison.create_queue()
    return main, poison


def raw_loop(main: QueueClient, poison: QueueClient) -> int:
    moved = 0
    while True:
        pages = poison.receive_messages(
            messages_per_page=32, max_messages=32, visibility_timeout=60
        ).by_page()
        batch = list(next(pages, []))
        if not batch:
            return moved
        for message in batch:
            main.send_message(message.content)
            poison.delete_message(message)
            moved += 1


def main() -> int:
    with Azurite() as azurite:
        connection = azurite.connection_string
        _, replay_poison = queues(connection, "bench-replay")
        raw_main, raw_poison = queues(connection, "bench-raw")
        fill(replay_poison, MESSAGES, "replay")
        fill(raw_poison, MESSAGES, "raw")

        started = time.perf_counter()
        output = io.StringIO()
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(io.StringIO()):
            code = run(
                ["poison", "replay", "--yes", "--output", "json", "--queue", "bench-replay",
                 "--connection-string", connection, "--index", "/nonexistent/index.sqlite"]
            )  # fmt: skip
        replay_seconds = time.perf_counter() - started
        summary = json.loads(output.getvalue())

        started = time.perf_counter()
        raw_moved = raw_loop(raw_main, raw_poison)
        raw_seconds = time.perf_counter() - started

    replay_rate = summary["replayed"] / replay_seconds
    raw_rate = raw_moved / raw_seconds
    print(f"messages per run      {MESSAGES}")
    print(
        f"replay (exit {code})       {summary['replayed']} moved in {replay_seconds:.2f} s, "
        f"{replay_rate:.0f} msgs/s (whole command: read, decode, match, send, delete)"
    )
    print(f"raw send-and-delete   {raw_moved} moved in {raw_seconds:.2f} s, {raw_rate:.0f} msgs/s")
    print(f"ratio replay / raw    {replay_rate / raw_rate:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
