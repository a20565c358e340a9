"""Reading DICOM headers by ranged reads: pydicom's bundled files and broken variants of them."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pydicom
import pytest

from dicomidx.dicom.header import InstanceHeader, read_header
from dicomidx.errors import UserError
from tests import dicom_files
from tests.dicom_files import MIB, CountingReader

KEYWORDS = {
    "study_uid": "StudyInstanceUID",
    "series_uid": "SeriesInstanceUID",
    "sop_instance_uid": "SOPInstanceUID",
    "sop_class_uid": "SOPClassUID",
    "patient_id": "PatientID",
    "patient_name": "PatientName",
    "patient_birth_date": "PatientBirthDate",
    "study_date": "StudyDate",
    "study_time": "StudyTime",
    "accession_number": "AccessionNumber",
    "modality": "Modality",
    "study_description": "StudyDescription",
    "referring_physician_name": "ReferringPhysicianName",
}

TRANSFER_SYNTAXES = [
    "CT_small.dcm",  # explicit VR little endian
    "MR_small_implicit.dcm",  # implicit VR little endian
    "MR_small_bigendian.dcm",  # explicit VR big endian
    "JPEG-lossy.dcm",  # JPEG baseline, encapsulated
    "MR_small_jp2klossless.dcm",  # JPEG 2000
    "MR_small_RLE.dcm",  # RLE lossless
    "image_dfl.dcm",  # deflated explicit VR little endian
    "rtdose.dcm",  # multi-frame (15 frames), implicit VR
    "SC_rgb_rle_2frame.dcm",  # multi-frame, RLE
    "test-SR.dcm",  # structured report: no pixel data
    "waveform_ecg.dcm",  # no pixel data, 290 KB of waveform in a sequence
    "chrH31.dcm",  # Japanese person names with ISO 2022 escape sequences
]


def expected_header(path: Path) -> dict[str, str | None]:
    """What pydicom reads from the whole file, as text without padding."""
    dataset = pydicom.dcmread(path)
    expected = {}
    for field, keyword in KEYWORDS.items():
        value = dataset.get(keyword)
        expected[field] = None if value is None else (str(value).strip(" \0") or None)
    expected["transfer_syntax_uid"] = dataset.file_meta.TransferSyntaxUID
    return expected


def read_bytes(data: bytes, *, size: int | None = None) -> InstanceHeader:
    return read_header(CountingReader(data), size=size)


@pytest.fixture(scope="module")
def large_header() -> bytes:
    """A file with a 256 KiB header; slow enough to build once."""
    return dicom_files.with_large_header()


def test_a_ct_image_gives_its_identifiers_and_search_attributes() -> None:
    data = dicom_files.valid_instance(
        study_uid="1.2.3.4", series_uid="1.2.3.4.5", sop_instance_uid="1.2.3.4.5.6"
    )

    header = read_bytes(data)

    assert (header.study_uid, header.series_uid, header.sop_instance_uid) == (
        "1.2.3.4",
        "1.2.3.4.5",
        "1.2.3.4.5.6",
    )
    assert header.sop_class_uid == "1.2.840.10008.5.1.4.1.1.2"
    assert header.transfer_syntax_uid == "1.2.840.10008.1.2.1"
    assert header.patient_name == "CompressedSamples^CT1"
    assert header.patient_id == "1CT1"
    assert header.modality == "CT"
    assert header.study_date == "20040119"
    assert header.bytes_read == len(data)


@pytest.mark.parametrize("name", TRANSFER_SYNTAXES)
def test_every_transfer_syntax_reads_the_same_as_a_full_pydicom_read(name: str) -> None:
    path = dicom_files.bundled_file(name)
    data = path.read_bytes()

    header = read_bytes(data)

    read = asdict(header)
    assert read.pop("bytes_read") <= len(data)
    assert read == expected_header(path)


def test_a_person_name_with_escape_sequences_is_decoded_in_every_component_group() -> None:
    header = read_bytes(dicom_files.bundled_file("chrH31.dcm").read_bytes())

    assert header.patient_name == "Yamada^Tarou=山田^太郎=やまだ^たろう"


def test_a_200_mb_multiframe_file_is_read_with_under_1_mib_fetched(tmp_path: Path) -> None:
    path = dicom_files.write_large_multiframe(tmp_path / "large.dcm")
    size = path.stat().st_size
    reader = CountingReader(path)

    header = read_header(reader, size=size)

    assert size >= 200 * MIB
    assert header.bytes_read == reader.bytes_served < MIB
    assert len(reader.reads) == 1
    assert header.modality == "CT"


@pytest.mark.parametrize("keyword", ["FloatPixelData", "DoubleFloatPixelData"])
def test_reading_stops_at_float_pixel_data_too(keyword: str) -> None:
    dataset = dicom_files.instance_dataset()
    del dataset.PixelData
    setattr(dataset, keyword, bytes(4 * MIB))
    data = dicom_files.to_part10(dataset)

    header = read_bytes(data)

    assert header.bytes_read < MIB


def test_a_large_value_before_the_pixel_data_is_skipped_without_fetching_it() -> None:
    dataset = dicom_files.instance_dataset()
    block = dataset.private_block(0x0009, "DICOMIDX TEST", create=True)
    block.add_new(0x01, "OB", bytes(8 * MIB))
    data = dicom_files.to_part10(dataset)

    header = read_bytes(data)

    assert header.sop_instance_uid == dataset.SOPInstanceUID
    assert header.bytes_read < MIB


def test_a_large_header_is_fetched_in_a_few_reads_that_double_in_size(large_header: bytes) -> None:
    reader = CountingReader(large_header)

    header = read_header(reader)

    lengths = [length for _, length in reader.reads]
    assert lengths == [64 * 1024, 128 * 1024, 256 * 1024]
    assert [offset for offset, _ in reader.reads] == [0, 64 * 1024, 192 * 1024]
    assert header.sop_instance_uid


@pytest.mark.parametrize(
    "build",
    [
        dicom_files.valid_instance,
        dicom_files.with_large_header,
        dicom_files.truncated_header,
        dicom_files.truncated_in_pixel_data,
        dicom_files.png_image,
    ],
)
def test_with_a_known_size_no_read_reaches_past_the_end(build: Callable[[], bytes]) -> None:
    data = build()
    reader = CountingReader(data)

    with contextlib.suppress(UserError):
        read_header(reader, size=len(data))

    assert all(offset + length <= len(data) for offset, length in reader.reads)


def test_a_file_cut_off_inside_the_pixel_data_is_read() -> None:
    data = dicom_files.truncated_in_pixel_data()

    header = read_bytes(data)

    assert header.sop_instance_uid
    assert read_bytes(dicom_files.bundled_file("MR_truncated.dcm").read_bytes()).modality == "MR"


NOT_PART10 = {
    "text": (dicom_files.not_dicom(), "no DICM prefix"),
    "png": (dicom_files.png_image(), "shorter than the 128-byte preamble"),
    "empty": (b"", "the file is 0 bytes long"),
    "dataset-without-file-meta": (dicom_files.without_preamble(), "no DICM prefix"),
    "bundled-dataset-without-file-meta": (
        dicom_files.bundled_file("no_meta.dcm").read_bytes(),
        "no DICM prefix",
    ),
    "prefix-without-file-meta": (
        bytes(128) + b"DICM" + dicom_files.without_preamble(),
        r"no file meta group \(0002,xxxx\) after the DICM prefix",
    ),
}


@pytest.mark.parametrize(("data", "message"), NOT_PART10.values(), ids=NOT_PART10.keys())
def test_a_file_that_is_not_part10_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(UserError, match=message) as raised:
        read_bytes(data)

    assert raised.value.code == "not-part10"
    assert raised.value.error_class == "User"


def test_an_empty_blob_of_known_size_is_refused_without_a_read() -> None:
    reader = CountingReader(b"")

    with pytest.raises(UserError, match="0 bytes long") as raised:
        read_header(reader, size=0)

    assert raised.value.code == "not-part10"
    assert reader.reads == []


def test_a_file_cut_off_inside_the_header_is_invalid() -> None:
    data = dicom_files.truncated_header()

    with pytest.raises(
        UserError, match=f"the header is cut off: the file ends at byte {len(data)}"
    ) as raised:
        read_bytes(data)

    assert raised.value.code == "invalid-dicom"


CUTS: dict[str, Callable[[bytes], int]] = {
    "in-the-file-meta": lambda data: 200,
    "in-a-sequence": lambda data: len(data) // 3,
    "between-a-tag-and-its-value": lambda data: dicom_files.value_offset(data, "Rows"),
    "inside-a-tag": lambda data: dicom_files.value_offset(data, "Rows") - 3,
}


@pytest.mark.parametrize("cut", CUTS.values(), ids=CUTS.keys())
def test_a_header_cut_off_anywhere_is_invalid(
    large_header: bytes, cut: Callable[[bytes], int]
) -> None:
    data = large_header[: cut(large_header)]

    with pytest.raises(UserError, match=f"cut off: the file ends at byte {len(data)}") as raised:
        read_bytes(data)

    assert raised.value.code == "invalid-dicom"


def test_a_deflated_header_cut_off_is_invalid() -> None:
    data = dicom_files.bundled_file("image_dfl.dcm").read_bytes()[:500]

    with pytest.raises(UserError, match="the file ends at byte 500") as raised:
        read_bytes(data)

    assert raised.value.code == "invalid-dicom"


def test_a_corrupt_deflated_dataset_cannot_be_parsed() -> None:
    data = bytearray(dicom_files.bundled_file("image_dfl.dcm").read_bytes())
    # The file meta group length is the value of its first element, at bytes 140 to 144.
    dataset_start = 144 + int.from_bytes(data[140:144], "little")
    data[dataset_start : dataset_start + 64] = b"\xff" * 64

    with pytest.raises(UserError, match=r"the header cannot be parsed \(zlib.error\)") as raised:
        read_bytes(bytes(data))

    assert raised.value.code == "invalid-dicom"
    assert raised.value.__cause__ is not None


def test_an_attribute_longer_than_any_valid_value_is_invalid() -> None:
    # Only implicit VR has room for it: explicit VR gives a person name a 2-byte length.
    dataset = dicom_files.instance_dataset("MR_small_implicit.dcm")
    with pydicom.config.disable_value_validation():
        dataset.PatientName = "A" * (70 * 1024)
        data = dicom_files.to_part10(dataset)

    with pytest.raises(UserError, match="PatientName is 71680 bytes long") as raised:
        read_bytes(data)

    assert raised.value.code == "invalid-dicom"


def test_a_file_without_sop_instance_uid_names_the_missing_attribute() -> None:
    with pytest.raises(UserError, match=r"^SOPInstanceUID is missing or empty$") as raised:
        read_bytes(dicom_files.without_sop_instance_uid())

    assert raised.value.code == "missing-uid"


def test_a_file_with_an_empty_study_instance_uid_names_the_empty_attribute() -> None:
    with pytest.raises(UserError, match=r"^StudyInstanceUID is missing or empty$") as raised:
        read_bytes(dicom_files.with_empty_study_uid())

    assert raised.value.code == "missing-uid"


def test_a_file_without_series_instance_uid_names_the_missing_attribute() -> None:
    dataset = dicom_files.instance_dataset()
    del dataset.SeriesInstanceUID

    with pytest.raises(UserError, match=r"^SeriesInstanceUID is missing or empty$") as raised:
        read_bytes(dicom_files.to_part10(dataset))

    assert raised.value.code == "missing-uid"


def test_error_messages_carry_no_value_from_the_header() -> None:
    dataset = dicom_files.instance_dataset()
    del dataset.SOPInstanceUID
    without_uid = dicom_files.to_part10(dataset)
    cut_off = without_uid[: dicom_files.value_offset(without_uid, "Rows") + 1]
    values = [dataset.StudyInstanceUID, dataset.SeriesInstanceUID, dataset.PatientID, "CT1"]

    for data in (without_uid, cut_off):
        with pytest.raises(UserError) as raised:
            read_bytes(data)
        assert not any(value in str(raised.value) for value in values)


class StorageUnavailableError(Exception):
    """Stands for an Azure SDK error the worker must classify itself."""


def failing_reader(data: bytes, error: BaseException, *, on_read: int) -> CountingReader:
    class Failing(CountingReader):
        def __call__(self, offset: int, length: int) -> bytes:
            if len(self.reads) + 1 == on_read:
                raise error
            return super().__call__(offset, length)

    return Failing(data)


def test_an_exception_from_the_first_read_comes_out_unchanged() -> None:
    error = StorageUnavailableError("503")
    reader = failing_reader(dicom_files.valid_instance(), error, on_read=1)

    with pytest.raises(StorageUnavailableError) as raised:
        read_header(reader)

    assert raised.value is error


@pytest.mark.parametrize(
    "error",
    [StorageUnavailableError("timed out"), ConnectionResetError("reset"), EOFError("short")],
    ids=["own-error", "os-error", "eof-error"],
)
def test_an_exception_from_a_read_inside_pydicom_comes_out_unchanged(
    large_header: bytes, error: Exception
) -> None:
    # The second read falls inside a long sequence, where pydicom turns an exception raised
    # while reading an item tag into an OSError of its own, and an EOFError into a warning.
    reader = failing_reader(large_header, error, on_read=2)

    with pytest.raises(type(error)) as raised:
        read_header(reader)

    assert raised.value is error
    assert len(reader.reads) == 1, "no read after the one that failed"


def test_importing_the_header_module_does_not_import_pydicom() -> None:
    code = "import sys, dicomidx.dicom.header; sys.exit('pydicom' in sys.modules)"

    result = subprocess.run([sys.executable, "-c", code], check=False)

    assert result.returncode == 0
