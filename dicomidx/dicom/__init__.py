"""DICOM files: reading the header of a Part 10 file through ranged reads."""
