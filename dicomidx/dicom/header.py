"""Read what the index needs from a DICOM Part 10 header through ranged reads, never the pixels.

The blob is parsed from its start by pydicom over a `RangedBlob`, which fetches a window that
grows as pydicom reads on. Parsing stops at the first Pixel Data element (also Float and
Double Float Pixel Data), and pydicom seeks past the value of every element not asked for
rather than reading it, so a 200 MB multi-frame file costs one 64 KiB read.

Values are decoded here from their raw bytes rather than by pydicom's converters, which
validate and log a bad value together with the value itself: patient data must stay out of
logs. For the same reason no message raised here carries a value from the header.

pydicom is imported inside the functions: the CLI imports this package's callers eagerly, and
importing pydicom would slow down `dicomidx --help`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from dicomidx.dicom.ranged import InflatedStream, ParseStream, RangedBlob, RangeReader
from dicomidx.errors import UserError

if TYPE_CHECKING:
    from pydicom.dataelem import RawDataElement
    from pydicom.dataset import Dataset

__all__ = ["InstanceHeader", "RangeReader", "read_header"]

_PREAMBLE_LENGTH = 128
_PREFIX = b"DICM"
_FILE_META_GROUP = b"\x02\x00"  # group 0002, little endian, as every file meta element starts
_DATASET_START = _PREAMBLE_LENGTH + len(_PREFIX)

# Far above any conformant value of the attributes read (PN allows 3 x 64 characters).
_LONGEST_VALUE = 64 * 1024

_PIXEL_DATA_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
_TAGS = {
    "MediaStorageSOPClassUID": 0x00020002,
    "TransferSyntaxUID": 0x00020010,
    "SOPClassUID": 0x00080016,
    "SOPInstanceUID": 0x00080018,
    "StudyDate": 0x00080020,
    "StudyTime": 0x00080030,
    "AccessionNumber": 0x00080050,
    "Modality": 0x00080060,
    "ReferringPhysicianName": 0x00080090,
    "StudyDescription": 0x00081030,
    "PatientName": 0x00100010,
    "PatientID": 0x00100020,
    "PatientBirthDate": 0x00100030,
    "StudyInstanceUID": 0x0020000D,
    "SeriesInstanceUID": 0x0020000E,
}
_PERSON_NAMES = frozenset({"PatientName", "ReferringPhysicianName"})


@dataclass(frozen=True, slots=True)
class InstanceHeader:
    """The identifiers and QIDO-RS search attributes of one instance.

    The search attributes are patient data: never log them, never put them in a message.
    """

    study_uid: str
    series_uid: str
    sop_instance_uid: str
    sop_class_uid: str | None
    transfer_syntax_uid: str | None
    patient_id: str | None
    patient_name: str | None
    patient_birth_date: str | None
    study_date: str | None
    study_time: str | None
    accession_number: str | None
    modality: str | None
    study_description: str | None
    referring_physician_name: str | None
    bytes_read: int
    """How many bytes of the blob were fetched in total."""


def read_header(read: RangeReader, *, size: int | None = None) -> InstanceHeader:
    """Read the header of the Part 10 file behind `read`, up to its pixel data.

    Pass `size` when it is known: every read then stays within the blob. Without it a read may
    reach past the end, and `read` must then return what there is (possibly nothing).

    Raises UserError `not-part10`, `invalid-dicom` or `missing-uid`; whatever `read` raises
    comes out unchanged.
    """
    blob = RangedBlob(read, size=size)
    _require_part10(blob)

    file_meta, dataset = _parse_or_reject(blob)

    values = _Values(dataset)
    meta = _Values(file_meta)
    return InstanceHeader(
        study_uid=values.required("StudyInstanceUID"),
        series_uid=values.required("SeriesInstanceUID"),
        sop_instance_uid=values.required("SOPInstanceUID"),
        sop_class_uid=values.text("SOPClassUID") or meta.text("MediaStorageSOPClassUID"),
        transfer_syntax_uid=meta.text("TransferSyntaxUID"),
        patient_id=values.text("PatientID"),
        patient_name=values.text("PatientName"),
        patient_birth_date=values.text("PatientBirthDate"),
        study_date=values.text("StudyDate"),
        study_time=values.text("StudyTime"),
        accession_number=values.text("AccessionNumber"),
        modality=values.text("Modality"),
        study_description=values.text("StudyDescription"),
        referring_physician_name=values.text("ReferringPhysicianName"),
        bytes_read=blob.bytes_fetched,
    )


def _require_part10(blob: RangedBlob) -> None:
    """A 128-byte preamble, the `DICM` prefix, then a file meta group element."""
    start = blob.bytes_at(0, _DATASET_START + len(_FILE_META_GROUP))
    if len(start) < _DATASET_START:
        raise UserError(
            "not-part10",
            f"the file is {len(start)} bytes long, shorter than the 128-byte preamble and "
            "the DICM prefix",
        )
    if start[_PREAMBLE_LENGTH:_DATASET_START] != _PREFIX:
        raise UserError("not-part10", "no DICM prefix after the 128-byte preamble")
    if start[_DATASET_START:] != _FILE_META_GROUP:
        raise UserError("not-part10", "no file meta group (0002,xxxx) after the DICM prefix")


def _parse_or_reject(blob: RangedBlob) -> tuple[Dataset, Dataset]:
    """The file meta group and the dataset; a failure of `read` itself comes out unchanged."""
    parse = _HeaderParse(blob)
    failure: Exception | None = None
    try:
        file_meta, dataset = parse.run()
    except Exception as error:  # pydicom reports malformed input with many exception types
        failure = error

    blob.raise_reader_error()
    if parse.cut_off():
        message = f"the header is cut off: the file ends at byte {blob.end()}"
        raise UserError("invalid-dicom", message) from failure
    if failure is not None:
        message = f"the header cannot be parsed ({_type_name(failure)})"
        raise UserError("invalid-dicom", message) from failure
    return file_meta, dataset


class _HeaderParse:
    """One pass of pydicom over the blob, up to the pixel data, and how far it got."""

    def __init__(self, blob: RangedBlob) -> None:
        self._blob = blob
        self._stream: ParseStream = blob
        self._stop = _PixelDataStop()

    def run(self) -> tuple[Dataset, Dataset]:
        from pydicom.filereader import read_dataset
        from pydicom.uid import DeflatedExplicitVRLittleEndian

        self._blob.seek(_DATASET_START)
        file_meta = read_dataset(
            cast(BinaryIO, self._blob),
            is_implicit_VR=False,
            is_little_endian=True,
            stop_when=_outside_file_meta,
        )
        transfer_syntax = _Values(file_meta).text("TransferSyntaxUID")

        if transfer_syntax == DeflatedExplicitVRLittleEndian:
            self._stream = InflatedStream(self._blob, start=self._blob.tell())
        implicit_vr, little_endian = _encoding(transfer_syntax, self._stream)

        dataset = read_dataset(
            cast(BinaryIO, self._stream),
            implicit_vr,
            little_endian,
            stop_when=self._stop,
            defer_size=_LONGEST_VALUE,
            specific_tags=list(_TAGS.values()),
        )
        return file_meta, dataset

    def cut_off(self) -> bool:
        """Whether the file ended inside the header, short of the pixel data."""
        ran_past_end = self._blob.ran_past_end or self._stream.ran_past_end
        return ran_past_end and not self._stop.reached


def _outside_file_meta(tag: int, vr: str | None, length: int) -> bool:
    return tag >> 16 != 0x0002


class _PixelDataStop:
    """pydicom's `stop_when`: stop at the pixel data, and remember having got there."""

    def __init__(self) -> None:
        self.reached = False

    def __call__(self, tag: int, vr: str | None, length: int) -> bool:
        self.reached = tag in _PIXEL_DATA_TAGS
        return self.reached


def _type_name(error: Exception) -> str:
    module, name = type(error).__module__, type(error).__qualname__
    return name if module == "builtins" else f"{module}.{name}"


def _encoding(transfer_syntax: str | None, stream: ParseStream) -> tuple[bool, bool]:
    """(implicit VR, little endian) of the dataset, as the transfer syntax says (PS3.5 A)."""
    from pydicom.uid import ExplicitVRBigEndian, ImplicitVRLittleEndian

    if transfer_syntax == ImplicitVRLittleEndian:
        return True, True
    if transfer_syntax == ExplicitVRBigEndian:
        return False, False
    if transfer_syntax is not None:
        return False, True

    # No transfer syntax: guess from the first element's VR field, as pydicom does.
    start = stream.tell()
    first_element = stream.read(6)
    stream.seek(start)
    vr = first_element[4:6]
    return not (len(vr) == 2 and vr.isalpha() and vr.isupper()), True


class _Values:
    """The attributes of a dataset as text, decoded from their raw bytes."""

    def __init__(self, dataset: Dataset) -> None:
        self._dataset = dataset
        encodings = dataset.original_character_set
        self._encodings: Sequence[str] = [encodings] if isinstance(encodings, str) else encodings

    def required(self, keyword: str) -> str:
        value = self.text(keyword)
        if value is None:
            raise UserError("missing-uid", f"{keyword} is missing or empty")
        return value

    def text(self, keyword: str) -> str | None:
        """The value with its padding removed; None when absent or empty."""
        # Nothing here converts an element, so each stays the RawDataElement pydicom read.
        element = cast(
            "RawDataElement | None", self._dataset.get_item(_TAGS[keyword], keep_deferred=True)
        )
        if element is None:
            return None
        if element.value is None and element.length > 0:
            raise UserError(
                "invalid-dicom",
                f"{keyword} is {element.length} bytes long, more than {_LONGEST_VALUE} allowed",
            )

        text = self._decode(keyword, element.value).strip(" \0")
        if keyword in _PERSON_NAMES:
            text = text.rstrip("=")  # empty trailing component groups (PS3.5 6.2.1.1)
        return text or None

    def _decode(self, keyword: str, value: Any) -> str:
        from pydicom.charset import decode_bytes
        from pydicom.valuerep import PN_DELIMS, TEXT_VR_DELIMS

        if not isinstance(value, bytes):
            return "" if value is None else str(value)

        # Escape sequences switch character sets; delimiters switch back (PS3.5 6.1.2.5.3),
        # and in a person name so do the component separators `^` and `=`.
        delimiters = TEXT_VR_DELIMS
        if keyword in _PERSON_NAMES:
            delimiters = TEXT_VR_DELIMS | PN_DELIMS | {ord("=")}
        return decode_bytes(value, self._encodings, delimiters)
