"""The one exception tree of dicomidx, and the exit code each branch maps to.

    DicomidxError                 base; never raised itself
    ├── UsageError                a flag or argument is wrong            exit 2
    ├── ConfigurationError        a setting is missing or breaks a rule  exit 3
    ├── InputError                an input file cannot be read           exit 4
    ├── AuthenticationError       no usable Azure credential             exit 5
    ├── AzureServiceError         Azure answered with an error           exit 6
    │   └── PermissionDeniedError the caller lacks a role                exit 6
    ├── UnreachableError          a service could not be reached         exit 7
    ├── CheckFailedError          a check ran and found a difference     exit 8
    └── IndexingError             one message could not be indexed (worker; never exits)
        ├── UserError             the file or the access to it: poisoned at once
        └── ServerError           anything unexpected: retried, then poisoned

The CLI boundary (`dicomidx.cli.app`) is the only place that turns these into exit codes.
Messages never carry secrets or patient data: they name settings, resources and paths.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of every dicomidx command; listed in `--help` and the README."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    CONFIGURATION = 3
    INPUT = 4
    AUTHENTICATION = 5
    AZURE = 6
    UNREACHABLE = 7
    CHECK_FAILED = 8
    INTERRUPTED = 130


class DicomidxError(Exception):
    """Base of every error dicomidx raises on purpose."""

    exit_code = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(DicomidxError):
    exit_code = ExitCode.USAGE


class ConfigurationError(DicomidxError):
    exit_code = ExitCode.CONFIGURATION


class InputError(DicomidxError):
    exit_code = ExitCode.INPUT


class AuthenticationError(DicomidxError):
    exit_code = ExitCode.AUTHENTICATION


class AzureServiceError(DicomidxError):
    exit_code = ExitCode.AZURE

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code


class PermissionDeniedError(AzureServiceError):
    pass


class UnreachableError(DicomidxError):
    exit_code = ExitCode.UNREACHABLE


class CheckFailedError(DicomidxError):
    exit_code = ExitCode.CHECK_FAILED


class IndexingError(DicomidxError):
    """Why one queue message could not be indexed, with a stable `code` (README lists them).

    `error_class` is the DICOM service's: "User" errors are not retried, "Server" errors are.
    """

    error_class = "Server"

    def __init__(self, code: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code


class UserError(IndexingError):
    """not-part10, invalid-dicom, missing-uid, instance-exists, storage-access-denied."""

    error_class = "User"


class ServerError(IndexingError):
    """server-error: timeouts, 5xx, anything unexpected."""

    error_class = "Server"
