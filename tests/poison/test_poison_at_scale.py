"""The poison tools where it is hard: a replay killed mid-way, and a queue of 2,000 messages."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dicomidx.cli.app import run
from dicomidx.events.fabricate import encode_message
from tests.poison.test_poison_on_azurite import bodies, cli
from tests.storage_bed import StorageBed

pytestmark = [pytest.mark.azurite, pytest.mark.slow]


def fill_poison(bed: StorageBed, count: int) -> list[str]:
    """`count` distinct delete events straight on the poison queue, as the service leaves them."""
    made = [encode_message(bed.deleted(f"gone/{number}.dcm")) for number in range(count)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(bed.poison.send_message, made))
    return made


def test_a_replay_killed_after_its_first_send_loses_nothing_and_a_rerun_converges(
    bed: StorageBed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = fill_poison(bed, 150)
    hold = 4
    command = [sys.executable, "-m", "dicomidx", *cli(bed, "replay", "--yes")]
    command += ["--visibility-timeout", str(hold)]
    with (tmp_path / "replay.err").open("w") as errors:
        replay = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        while bed.queued() == 0 and replay.poll() is None:
            time.sleep(0.005)
        replay.send_signal(signal.SIGKILL)
        replay.wait()

    time.sleep(hold + 1)  # what the killed replay held is visible again
    main = bodies(bed, bed.queue, give_back=True)
    poison = bodies(bed, bed.poison, give_back=True)
    assert replay.returncode == -signal.SIGKILL
    assert set(main) | set(poison) == set(made)
    assert 0 < len(main) < len(made)
    with capsys.disabled():
        print(f"\nkilled after {len(main)} sends; {len(set(main) & set(poison))} on both queues")

    assert run(cli(bed, "replay", "--yes", "--output", "json")) == 0
    summary = json.loads(capsys.readouterr().out)
    assert bed.queued(bed.poison) == 0
    assert set(bodies(bed, bed.queue)) == set(made)
    assert summary["replayed"] == len(poison)


def test_a_poison_queue_of_2000_messages_is_inspected_whole_and_left_all_visible(
    bed: StorageBed, capsys: pytest.CaptureFixture[str]
) -> None:
    made = fill_poison(bed, 2000)

    assert run(cli(bed, "inspect", "--output", "json")) == 0

    messages = json.loads(capsys.readouterr().out)
    assert len(messages) == 2000
    assert len({message["message_id"] for message in messages}) == 2000
    assert {message["dequeue_count"] for message in messages} == {0}
    assert {message["reason"] for message in messages} == {"unrecorded"}
    # Every message is visible at once: a plain receive of the whole queue gets each one.
    assert bodies(bed, bed.poison) == Counter(made)
