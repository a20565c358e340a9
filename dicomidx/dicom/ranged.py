"""File-like views over a blob fetched by ranged reads, for pydicom to parse a header from.

pydicom parses with many small reads and a few short seeks back. `RangedBlob` serves them from
one cached window of the blob that grows by fetches of doubling size, so a header costs a few
round trips. When pydicom skips a large value, the window restarts past it instead of fetching
the bytes in between. `InflatedStream` does the same for a deflated dataset, inflating only as
far as it is read.
"""

from __future__ import annotations

import io
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable

RangeReader = Callable[[int, int], bytes]
"""`read(offset, length)`: the blob's bytes there; fewer only at the end, none past it."""

FIRST_FETCH = 64 * 1024
LARGEST_FETCH = 8 * 1024 * 1024
_INFLATE_STEP = 64 * 1024


class ParseStream(ABC):
    """The file-like protocol pydicom reads through (read, seek, tell) over `bytes_at`.

    pydicom accepts a short read of a value without complaint, so the stream watches for it:
    `ran_past_end` turns true when a read comes up short anywhere but at one clean stop exactly
    at the end, which is how a header cut off in the middle shows itself.
    """

    def __init__(self) -> None:
        self._position = 0
        self._stopped_at_end = False
        self.ran_past_end = False

    @abstractmethod
    def bytes_at(self, position: int, length: int) -> bytes:
        """Up to `length` bytes from `position`, without moving the read position."""

    @abstractmethod
    def end(self) -> int | None:
        """Where the bytes end, once known."""

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._position
        elif whence != io.SEEK_SET:
            raise io.UnsupportedOperation("seek from the end")
        if offset < 0:
            raise ValueError(f"seek to negative position {offset}")

        self._position = offset
        return offset

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            raise io.UnsupportedOperation("read without a size")

        data = self.bytes_at(self._position, size)
        if len(data) < size:
            self._note_short_read(len(data))
        self._position += len(data)
        return data

    def _note_short_read(self, received: int) -> None:
        clean_stop = received == 0 and self._position == self.end()
        if clean_stop and not self._stopped_at_end:
            self._stopped_at_end = True
        else:
            self.ran_past_end = True


class RangedBlob(ParseStream):
    """A blob read through a RangeReader, fetched lazily into a window that grows geometrically.

    An exception raised by the reader is kept in `reader_error` before it propagates: pydicom
    turns some exceptions into its own, and the caller must get the reader's back unchanged.
    """

    def __init__(self, read: RangeReader, *, size: int | None = None) -> None:
        super().__init__()
        self._read = read
        self._size = size
        self._window = b""
        self._window_start = 0
        self._next_fetch = FIRST_FETCH
        self.bytes_fetched = 0
        self.reader_error: BaseException | None = None

    def end(self) -> int | None:
        return self._size

    def bytes_at(self, position: int, length: int) -> bytes:
        window_end = self._window_start + len(self._window)
        if position < self._window_start or position > window_end + self._next_fetch:
            self._window_start, self._window = position, b""

        self._fill(position + length)
        start = position - self._window_start
        return self._window[start : start + length]

    def raise_reader_error(self) -> None:
        """Raise the reader's own exception again, if it raised one."""
        if self.reader_error is not None:
            raise self.reader_error

    def _fill(self, end: int) -> None:
        """Extend the window to `end`, or to the end of the blob if that comes first."""
        window_end = self._window_start + len(self._window)
        while window_end < end and (self._size is None or window_end < self._size):
            length = max(end - window_end, self._next_fetch)
            if self._size is not None:
                length = min(length, self._size - window_end)

            chunk = self._fetch(window_end, length)
            self._window += chunk
            self._next_fetch = min(2 * self._next_fetch, LARGEST_FETCH)

            if len(chunk) < length:
                self._size = window_end + len(chunk)
            window_end += len(chunk)

    def _fetch(self, offset: int, length: int) -> bytes:
        if self.reader_error is not None:  # pydicom went on after a failed read
            raise self.reader_error
        try:
            chunk = bytes(self._read(offset, length))
        except BaseException as error:
            self.reader_error = error
            raise

        self.bytes_fetched += len(chunk)
        return chunk[:length]


class InflatedStream(ParseStream):
    """A Deflated Explicit VR Little Endian dataset, inflated from `start` as far as it is read.

    Keeps every inflated byte: only the header is read, so that stays small.
    """

    def __init__(self, compressed: RangedBlob, *, start: int) -> None:
        super().__init__()
        self._compressed = compressed
        self._next_input = start
        self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        self._inflated = b""
        self._exhausted = False

    def end(self) -> int | None:
        return len(self._inflated) if self._exhausted else None

    def bytes_at(self, position: int, length: int) -> bytes:
        while len(self._inflated) < position + length and not self._exhausted:
            self._inflate(position + length - len(self._inflated))
        return self._inflated[position : position + length]

    def _inflate(self, wanted: int) -> None:
        compressed = self._inflater.unconsumed_tail
        if not compressed:
            compressed = self._compressed.bytes_at(self._next_input, _INFLATE_STEP)
            self._next_input += len(compressed)

        # A cap on the output: a few kilobytes of deflated zeros can inflate to gigabytes.
        self._inflated += self._inflater.decompress(compressed, max(wanted, _INFLATE_STEP))
        if self._inflater.eof or not compressed:
            self._exhausted = True
