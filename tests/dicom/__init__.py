"""Tests of dicomidx.dicom."""
