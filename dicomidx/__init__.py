"""dicomidx: provision and operate storage indexing for the Azure DICOM service."""

__version__ = "0.1.0.dev0"
