"""Real DICOM files for tests, good and broken, made from pydicom's bundled files.

Every builder returns Part 10 bytes (or writes a Part 10 file) with fresh UIDs, unless it is
asked for given ones or is broken on purpose. Only the files pydicom ships are used
(`download=False`), so nothing here needs the network.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import pydicom
from pydicom.data import get_charset_files, get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

MIB = 1024 * 1024


def bundled_file(name: str) -> Path:
    """The path of one of pydicom's bundled test or character set files."""
    found = get_testdata_file(name, download=False) or next(iter(get_charset_files(name)), None)
    assert found is not None, f"pydicom does not ship {name}"
    return Path(found)


def instance_dataset(
    name: str = "CT_small.dcm",
    *,
    study_uid: str | None = None,
    series_uid: str | None = None,
    sop_instance_uid: str | None = None,
) -> Dataset:
    """A bundled file as a dataset, with the given UIDs or fresh ones."""
    dataset = pydicom.dcmread(bundled_file(name))
    dataset.StudyInstanceUID = study_uid or generate_uid()
    dataset.SeriesInstanceUID = series_uid or generate_uid()
    dataset.SOPInstanceUID = sop_instance_uid or generate_uid()
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    return dataset


def to_part10(dataset: Dataset) -> bytes:
    """The dataset as a Part 10 file: preamble, DICM, file meta, dataset."""
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, dataset, enforce_file_format=True)
    return buffer.getvalue()


def valid_instance(
    name: str = "CT_small.dcm",
    *,
    study_uid: str | None = None,
    series_uid: str | None = None,
    sop_instance_uid: str | None = None,
) -> bytes:
    """A bundled file with the given UIDs or fresh ones."""
    dataset = instance_dataset(
        name, study_uid=study_uid, series_uid=series_uid, sop_instance_uid=sop_instance_uid
    )
    return to_part10(dataset)


def value_offset(data: bytes, keyword: str) -> int:
    """Where the value of a top-level element starts in a Part 10 file."""
    dataset = pydicom.dcmread(io.BytesIO(data), defer_size=0)
    element = dataset.get_item(keyword, keep_deferred=True)
    assert element is not None, f"no {keyword} in the file"
    return int(element.value_tell)


def not_dicom() -> bytes:
    """A text file, like the health check files the DICOM service writes."""
    return b"healthCheck 2025-01-01T00:00:00Z\n" * 8


def png_image() -> bytes:
    """A valid 1 x 1 grey PNG image."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        checksum = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", checksum)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def without_preamble(name: str = "CT_small.dcm") -> bytes:
    """A bare dataset: no preamble, no DICM prefix, no file meta group."""
    dataset = instance_dataset(name)
    dataset.preamble = None
    del dataset.file_meta

    buffer = io.BytesIO()
    dataset.save_as(buffer, implicit_vr=False, little_endian=True)
    return buffer.getvalue()


def truncated_header(name: str = "CT_small.dcm") -> bytes:
    """A file cut off inside the value of Rows, after the UIDs and before the pixel data."""
    data = valid_instance(name)
    return data[: value_offset(data, "Rows") + 1]


def truncated_in_pixel_data(name: str = "CT_small.dcm") -> bytes:
    """A file cut off half way through its pixel data: the header is whole."""
    data = valid_instance(name)
    start = value_offset(data, "PixelData")
    return data[: start + (len(data) - start) // 2]


def without_sop_instance_uid(name: str = "CT_small.dcm") -> bytes:
    dataset = instance_dataset(name)
    del dataset.SOPInstanceUID
    return to_part10(dataset)


def with_empty_study_uid(name: str = "CT_small.dcm") -> bytes:
    dataset = instance_dataset(name)
    dataset.StudyInstanceUID = ""
    return to_part10(dataset)


def with_large_header(name: str = "CT_small.dcm", *, min_header_bytes: int = 256 * 1024) -> bytes:
    """A file whose header is large: a long Referenced Image Sequence of undefined length.

    pydicom must parse every item of it, so reading the header takes several fetches.
    """
    dataset = instance_dataset(name)
    item_count = min_header_bytes // 100 + 1
    dataset.ReferencedImageSequence = Sequence(_image_references(item_count))
    dataset["ReferencedImageSequence"].is_undefined_length = True
    return to_part10(dataset)


def write_large_multiframe(path: Path, *, min_bytes: int = 200 * MIB) -> Path:
    """Write an 8-bit 1024 x 1024 multi-frame image of at least `min_bytes`, streamed to disk.

    The header comes from CT_small.dcm; the frames are zeros, written in chunks after a Pixel
    Data element header whose explicit length matches Rows x Columns x Number of Frames.
    """
    rows = columns = 1024
    frame_count = -(-min_bytes // (rows * columns))
    dataset = instance_dataset("CT_small.dcm")
    _make_multiframe(dataset, rows=rows, columns=columns, frame_count=frame_count)

    with path.open("wb") as file:
        pydicom.dcmwrite(file, dataset, enforce_file_format=True)
        _write_zero_pixel_data(file, rows * columns * frame_count)
    return path


class CountingReader:
    """A RangeReader over bytes or a file that records every read it serves."""

    def __init__(self, source: bytes | Path) -> None:
        self._data = source if isinstance(source, bytes) else None
        self._path = source if isinstance(source, Path) else None
        self.reads: list[tuple[int, int]] = []
        self.bytes_served = 0

    def __call__(self, offset: int, length: int) -> bytes:
        self.reads.append((offset, length))
        if self._data is not None:
            chunk = self._data[offset : offset + length]
        else:
            assert self._path is not None
            with self._path.open("rb") as file:
                file.seek(offset)
                chunk = file.read(length)
        self.bytes_served += len(chunk)
        return chunk


def _image_references(count: int) -> Iterable[Dataset]:
    for _ in range(count):
        item = Dataset()
        item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        item.ReferencedSOPInstanceUID = generate_uid()
        yield item


def _make_multiframe(dataset: Dataset, *, rows: int, columns: int, frame_count: int) -> None:
    del dataset[0x7FE00000:]  # the pixel data, and anything after it

    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.Rows, dataset.Columns = rows, columns
    dataset.NumberOfFrames = frame_count
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = 8, 8, 7
    dataset.PixelRepresentation = 0
    for keyword in ("PixelPaddingValue", "SmallestImagePixelValue", "LargestImagePixelValue"):
        if keyword in dataset:
            delattr(dataset, keyword)


def _write_zero_pixel_data(file: BinaryIO, length: int) -> None:
    """Pixel Data (7FE0,0010), explicit VR OB, then `length` zero bytes (padded to even)."""
    padded = length + length % 2
    file.write(struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, padded))

    zeros = memoryview(bytes(8 * MIB))
    remaining = padded
    while remaining:
        written = file.write(zeros[: min(remaining, len(zeros))])
        remaining -= written
