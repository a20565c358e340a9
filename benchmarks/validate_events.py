"""validate-events throughput against bare json.loads, and what `dicomidx --help` costs.

Prints figures; asserts nothing. Goals (issue 2): validate-events at least a third of the rate
of bare json.loads over the same JSON Lines file; `dicomidx --help` under 0.3 s more than a
bare Python start.

    .venv/bin/python benchmarks/validate_events.py [--events 100000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.events.corpus import BASE, CREATED, DELETED, SELF_TAG, cloud_event

NAMES = ["--workspace", "contosows", "--dicom-service", "dicomsvc", "--file-system", "imaging"]


def write_events(path: Path, count: int) -> None:
    """A realistic mix: mostly accepted creates, with deletes, self-writes and strays."""
    shapes = [
        lambda n: cloud_event(f"{BASE}study{n % 97}/series/{n}.dcm"),
        lambda n: cloud_event(
            f"{BASE}study{n % 97}/series/{n}.dcm", type=DELETED, api="DeleteBlob"
        ),
        lambda n: cloud_event(f"{BASE}{n}.dcm", client_request_id=f"{SELF_TAG}{n}"),
        lambda n: cloud_event(f"uploads/{n}.dcm"),
        lambda n: cloud_event(f"{BASE}{n}.dcm", type=CREATED, api="CreateFile", content_length=0),
    ]
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            event = shapes[0 if n % 10 < 6 else n % 5](n)
            event["id"] = f"evt-{n}"
            out.write(json.dumps(event) + "\n")


BARE = """
import json, sys
with open(sys.argv[1], encoding="utf-8") as lines:
    for line in lines:
        json.loads(line)
"""


def bare_json_rate(path: Path, count: int) -> float:
    """json.loads over every line, in a fresh process like the command's."""
    return count / best_seconds([sys.executable, "-c", BARE, str(path)])


def core_rate(path: Path) -> float:
    from dicomidx.events.filter import recommended_filter
    from dicomidx.events.inputs import read_inputs
    from dicomidx.events.rules import decide
    from dicomidx.settings import Settings

    settings = Settings(workspace="contosows", dicom_service="dicomsvc", file_system="imaging")
    event_filter = recommended_filter(settings)
    start = time.perf_counter()
    count = sum(
        1 for located in read_inputs([str(path)]) if decide(located.item, settings, event_filter)
    )
    return count / (time.perf_counter() - start)


def command_rate(path: Path, count: int) -> float:
    argv = [sys.executable, "-m", "dicomidx", "validate-events", str(path), *NAMES, "-o", "json"]
    return count / best_seconds(argv)


def best_seconds(argv: list[str], runs: int = 3) -> float:
    """The fastest of a few runs: the least disturbed by whatever else the machine does."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return min(times)


def startup_seconds(argv: list[str], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.jsonl"
        write_events(path, args.events)
        size = path.stat().st_size

        bare = bare_json_rate(path, args.events)
        core = core_rate(path)
        command = command_rate(path, args.events)

    python = startup_seconds([sys.executable, "-c", "pass"])
    help_ = startup_seconds([sys.executable, "-m", "dicomidx", "--help"])

    print(f"validate-events on {args.events:,} events ({size / 2**20:.1f} MiB JSON Lines)")
    print(f"  bare json.loads, in its own process  {bare:>9,.0f} events/s")
    print(
        f"  dicomidx validate-events -o json     {command:>9,.0f} events/s"
        f"  ({command / bare:.2f} of bare; goal 0.33)"
    )
    print(f"  in process: decode, filter, rules    {core:>9,.0f} events/s")
    print(
        f"dicomidx --help: {help_:.3f} s; bare python: {python:.3f} s; "
        f"added {help_ - python:.3f} s (goal < 0.3 s)"
    )


if __name__ == "__main__":
    main()
