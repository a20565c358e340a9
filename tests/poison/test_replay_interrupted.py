"""A replay stopped exactly between a send and its delete loses nothing, and a re-run converges.

A proxy in front of Azurite's queue endpoint holds the replay's first DELETE on the poison
queue, so the send before it has landed and the delete never will; then the real
`dicomidx poison replay` process is killed there.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from dicomidx.cli.app import run
from dicomidx.emulator import ACCOUNT
from dicomidx.events.fabricate import encode_message
from tests import dicom_files
from tests.held_proxy import HeldProxy
from tests.poison.test_poison_on_azurite import bodies, cli
from tests.storage_bed import StorageBed

pytestmark = pytest.mark.azurite

HOLD = 3  # seconds the killed replay keeps its messages hidden


def test_a_replay_killed_between_a_send_and_its_delete_leaves_the_message_on_both_queues(
    bed: StorageBed, tmp_path: Path
) -> None:
    names = [f"study/{number}.dcm" for number in range(5)]
    made = [encode_message(bed.event(name)) for name in names]
    for name, body in zip(names, made, strict=True):
        bed.put(name, dicom_files.valid_instance())
        bed.poison.send_message(body)  # as the managed service leaves them: no record

    delete = re.compile(
        rb"^DELETE /" + re.escape(f"{ACCOUNT}/{bed.settings.poison_queue}/messages/".encode())
    )
    with HeldProxy(bed.azurite.queue_port, delete) as proxy:
        through_proxy = bed.azurite.connection_string.replace(
            f":{bed.azurite.queue_port}/", f":{proxy.port}/"
        )
        command = [sys.executable, "-m", "dicomidx", *cli(bed, "replay", "--yes")]
        command[command.index("--connection-string") + 1] = through_proxy
        replay = subprocess.Popen(
            [*command, "--visibility-timeout", str(HOLD)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert proxy.holding.wait(timeout=60), "the replay never reached its first delete"
        finally:
            replay.send_signal(signal.SIGKILL)
            replay.wait()

    time.sleep(HOLD + 1)  # what the killed replay held is visible again
    main = bodies(bed, bed.queue, give_back=True)
    poison = bodies(bed, bed.poison, give_back=True)
    assert len(main) == 1  # sent, and its poison copy was never deleted
    assert set(main) <= set(poison)
    assert set(poison) == set(made)

    assert run(cli(bed, "replay", "--yes")) == 0
    assert bed.queued(bed.poison) == 0
    assert bodies(bed, bed.queue, give_back=True) == Counter(made) + Counter(main)

    summary = bed.run()
    assert summary.indexed == len(names)  # the duplicate changes nothing
    assert summary.skipped == Counter({"duplicate": 1})
    assert bed.indexed_paths() == {bed.path(name) for name in names}
