"""Queue and Blob data-plane clients of the storage account, and ranged reads of a blob.

A connection string (Azurite, or an account with keys) wins; otherwise the account's public
endpoints are used with `DefaultAzureCredential`. The Azure SDK is imported when a client is
first made, so that `dicomidx --help` stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dicomidx.cloud.clouds import CLOUDS, Cloud, CloudName
from dicomidx.errors import (
    AuthenticationError,
    AzureServiceError,
    ConfigurationError,
    PermissionDeniedError,
    UnreachableError,
)

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient, ContainerClient
    from azure.storage.queue import QueueClient

CONNECTION_STRING_ENV = "AZURE_STORAGE_CONNECTION_STRING"

# The SDK's default (15 s, then 3x) suits one-off calls; the worker has its own retries through
# the queue, so a failing read should give up within seconds and let the message come back.
_CLIENT_OPTIONS: dict[str, Any] = {
    "retry_total": 2,
    "initial_backoff": 0.2,
    "increment_base": 1.2,
    "random_jitter_range": 0.2,
    "connection_timeout": 10,
    "read_timeout": 60,
}
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


@dataclass(frozen=True)
class StorageAccess:
    """How to reach the account: a connection string, or an account name and Entra ID."""

    connection_string: str | None = None
    account: str | None = None
    cloud: Cloud = CLOUDS[CloudName.PUBLIC]

    def __post_init__(self) -> None:
        if not self.connection_string and not self.account:
            raise ConfigurationError(
                "no way to reach the storage account",
                hint=f"pass --connection-string (or set {CONNECTION_STRING_ENV}) or "
                "--storage-account (or DICOMIDX_STORAGE_ACCOUNT) to sign in with Entra ID",
            )

    def __repr__(self) -> str:  # never show the connection string, it may hold a key
        return f"StorageAccess(account={self.account!r}, connection_string=<hidden>)"

    def describe(self) -> str:
        """Where the data lives, without secrets: safe for logs."""
        if self.connection_string:
            endpoint = _connection_value(self.connection_string, "QueueEndpoint")
            name = _connection_value(self.connection_string, "AccountName")
            return f"account {name or '?'} ({endpoint or 'public endpoints'}, connection string)"
        return f"account {self.account} (Entra ID, {self.cloud.name.value} cloud)"

    def queue_client(self, queue: str) -> QueueClient:
        from azure.storage.queue import QueueClient

        if self.connection_string:
            with _malformed_connection_string():
                return QueueClient.from_connection_string(
                    self.connection_string, queue, **_CLIENT_OPTIONS
                )
        return QueueClient(
            f"https://{self.account}.queue.{self.cloud.storage_suffix}",
            queue,
            credential=_credential(self.cloud),
            **_CLIENT_OPTIONS,
        )

    def container_client(self, file_system: str) -> ContainerClient:
        from azure.storage.blob import ContainerClient

        if self.connection_string:
            with _malformed_connection_string():
                return ContainerClient.from_connection_string(
                    self.connection_string, file_system, **_CLIENT_OPTIONS
                )
        return ContainerClient(
            f"https://{self.account}.blob.{self.cloud.storage_suffix}",
            file_system,
            credential=_credential(self.cloud),
            **_CLIENT_OPTIONS,
        )


@contextmanager
def _malformed_connection_string() -> Iterator[None]:
    # The SDK's ValueError may quote the string, and with it the key: say it in our words.
    try:
        yield
    except ValueError:
        raise ConfigurationError(
            "the storage connection string is malformed",
            hint="it reads like DefaultEndpointsProtocol=https;AccountName=<account>;"
            "AccountKey=<key>;EndpointSuffix=core.windows.net (from the portal's Access keys)",
        ) from None


_credentials: dict[str, Any] = {}


def _credential(cloud: Cloud) -> Any:
    """One DefaultAzureCredential per cloud and process: it caches tokens."""
    if cloud.authority not in _credentials:
        from azure.identity import DefaultAzureCredential

        _credentials[cloud.authority] = DefaultAzureCredential(authority=cloud.authority)
    return _credentials[cloud.authority]


def error_code(error: BaseException) -> str | None:
    """The storage error code (`BlobNotFound`, `AuthorizationFailure`...) of an SDK error."""
    code = getattr(error, "error_code", None)
    return None if code is None else str(getattr(code, "value", code))


def _connection_value(connection_string: str, key: str) -> str | None:
    for part in connection_string.split(";"):
        name, _, value = part.partition("=")
        if name.strip().lower() == key.lower():
            return value.strip()
    return None


class BlobRangeReader:
    """`read(offset, length) -> bytes` over one blob, pinned to the version first read.

    The first read learns the blob's size and ETag; later reads send `If-Match`, so a blob
    replaced halfway through raises `ResourceModifiedError` instead of mixing two versions.
    Reads past the end return fewer bytes, or none.
    """

    def __init__(self, blob: BlobClient) -> None:
        self._blob = blob
        self.size: int | None = None
        self.etag: str | None = None  # without quotes, as events carry it
        self._if_match: str | None = None
        self.bytes_read = 0
        self.requests = 0

    def __call__(self, offset: int, length: int) -> bytes:
        if self.size is not None:
            length = min(length, self.size - offset)
        if length <= 0:
            return b""

        from azure.core import MatchConditions
        from azure.core.exceptions import HttpResponseError

        pinned: dict[str, Any] = {}
        if self._if_match is not None:
            pinned = {"etag": self._if_match, "match_condition": MatchConditions.IfNotModified}
        self.requests += 1
        try:
            downloader = self._blob.download_blob(
                offset=offset, length=length, max_concurrency=1, **pinned
            )
            data: bytes = downloader.readall()
        except HttpResponseError as error:
            if error.status_code == 416:  # the range starts at or past the end
                self.size = self.size if self.size is not None else offset
                return b""
            raise

        self._learn(downloader.properties)
        self.bytes_read += len(data)
        return data

    def _learn(self, properties: Any) -> None:
        if self._if_match is None and properties.etag:
            self._if_match = str(properties.etag)
            self.etag = self._if_match.strip('"')
        match = _CONTENT_RANGE.fullmatch(str(properties.content_range or ""))
        if match and match.group(3) != "*":
            self.size = int(match.group(3))


@contextmanager
def storage_errors(what: str, *, denied_hint: str | None = None) -> Iterator[None]:
    """Turn Azure SDK errors of a data-plane call about `what` into the package's errors.

    The one translation for commands that talk to the storage account (the worker at start,
    the poison tools throughout), so that the same failure gets the same exit code.
    """
    from azure.core.exceptions import (
        AzureError,
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
    )

    try:
        yield
    except ResourceNotFoundError as error:
        raise ConfigurationError(f"{what} does not exist ({error_code(error)})") from error
    except (ClientAuthenticationError, HttpResponseError) as error:
        status = getattr(error, "status_code", None)
        if status == 403:
            raise PermissionDeniedError(
                f"{what}: access denied ({error_code(error)})",
                status=403,
                code=error_code(error),
                hint=denied_hint,
            ) from error
        if isinstance(error, ClientAuthenticationError):
            raise AuthenticationError(f"cannot sign in to reach {what}") from error
        raise AzureServiceError(
            f"{what}: HTTP {status}", status=status, code=error_code(error)
        ) from error
    except AzureError as error:
        raise UnreachableError(f"cannot reach {what} ({type(error).__name__})") from error
