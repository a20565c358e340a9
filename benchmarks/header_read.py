"""Reading the header of a 200 MB multi-frame file: bytes fetched, reads, time, peak memory.

Prints figures; asserts nothing. Goals (issue 3): under 1 MiB read, under 200 MB resident.
The file is written to a temporary folder and read through a counting file reader, so the
figures are the header reader's own, without storage latency.

    .venv/bin/python -m benchmarks.header_read [--megabytes 200] [--repeat 20]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

from dicomidx.dicom.header import read_header
from tests.dicom_files import MIB, CountingReader, write_large_multiframe


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports kibibytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200, help="size of the file (MiB)")
    parser.add_argument("--repeat", type=int, default=20, help="timed header reads")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        path = write_large_multiframe(Path(folder) / "large.dcm", min_bytes=options.megabytes * MIB)
        written_in = time.perf_counter() - started
        size = path.stat().st_size
        rss_after_writing = peak_rss_mib()

        first = CountingReader(path)
        started = time.perf_counter()
        header = read_header(first, size=size)
        first_read_in = time.perf_counter() - started

        timings = []
        for _ in range(options.repeat):
            started = time.perf_counter()
            read_header(CountingReader(path), size=size)
            timings.append(time.perf_counter() - started)

    rows = [
        ("file size", f"{size:,} bytes ({size / MIB:.1f} MiB), written in {written_in:.2f} s"),
        ("bytes read", f"{header.bytes_read:,} bytes ({header.bytes_read / size:.4%} of the file)"),
        ("reads", f"{len(first.reads)}: {first.reads}"),
        ("first read", f"{first_read_in * 1000:.2f} ms"),
        (f"median of {options.repeat}", f"{statistics.median(timings) * 1000:.2f} ms"),
        ("peak RSS", f"{peak_rss_mib():.1f} MiB ({rss_after_writing:.1f} MiB after writing)"),
    ]
    for label, figure in rows:
        print(f"{label:<14} {figure}")


if __name__ == "__main__":
    main()
