"""Azurite, the local Blob and Queue emulator, started and stopped for the demo and the tests.

Azurite listens on loopback on ports chosen here, keeps its data in a folder (`location`), and
is started with `--skipApiVersionCheck` because the Python SDKs send an API version newer than
Azurite 3.35 knows. A stopped emulator can be started again on the same ports and folder, so a
test can take storage away from a running worker and give it back.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from dicomidx.errors import ConfigurationError, UnreachableError

AZURITE_ENV = "DICOMIDX_AZURITE"
ACCOUNT = "devstoreaccount1"
# Azurite's published development key: public, the same for every installation.
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
HOST = "127.0.0.1"
_REPO_AZURITE = Path(".azurite") / "node_modules" / ".bin" / "azurite"

logger = logging.getLogger(__name__)


def find_azurite() -> Path:
    """The azurite launcher: `$DICOMIDX_AZURITE`, else `.azurite/` of this repository or cwd."""
    configured = os.environ.get(AZURITE_ENV)
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise ConfigurationError(f"{AZURITE_ENV} names {configured!r}, which is not a file")
        return path

    repository = Path(__file__).resolve().parent.parent
    for base in (repository, Path.cwd()):
        candidate = base / _REPO_AZURITE
        if candidate.is_file():
            return candidate
    raise ConfigurationError(
        "Azurite is not installed",
        hint=f"run `make test` or `make demo` once (they install it), or set {AZURITE_ENV}",
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class Azurite:
    """One Azurite process. Use as a context manager, or call `start` and `stop`."""

    def __init__(self, *, location: Path | None = None, launcher: Path | None = None) -> None:
        self.launcher = launcher
        self._own_location = location is None
        self.location = location or Path(tempfile.mkdtemp(prefix="dicomidx-azurite-"))
        self.blob_port = free_port()
        self.queue_port = free_port()
        self.table_port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def blob_endpoint(self) -> str:
        return f"http://{HOST}:{self.blob_port}/{ACCOUNT}"

    @property
    def queue_endpoint(self) -> str:
        return f"http://{HOST}:{self.queue_port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob_endpoint};QueueEndpoint={self.queue_endpoint};"
        )

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, *, timeout: float = 30.0) -> None:
        """Start (or start again, on the same ports and folder) and wait until it answers."""
        if self.running:
            return

        launcher = self.launcher or find_azurite()
        self.location.mkdir(parents=True, exist_ok=True)
        command = [
            str(launcher),
            "--silent",
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--loose",
            "--location",
            str(self.location),
            "--blobHost",
            HOST,
            "--blobPort",
            str(self.blob_port),
            "--queueHost",
            HOST,
            "--queuePort",
            str(self.queue_port),
            "--tableHost",
            HOST,
            "--tablePort",
            str(self.table_port),
        ]
        log = (self.location / "azurite.log").open("ab")
        self._process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        log.close()
        self._wait_until_listening(timeout)
        logger.debug(
            "Azurite listening: blob port %d, queue port %d", self.blob_port, self.queue_port
        )

    def stop(self, *, timeout: float = 15.0) -> None:
        """Stop cleanly (SIGTERM, so Azurite saves its metadata), killing it if it hangs."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return

        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def close(self) -> None:
        """Stop, and remove the data folder when this object created it."""
        self.stop()
        if self._own_location:
            shutil.rmtree(self.location, ignore_errors=True)

    def __enter__(self) -> Azurite:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def _wait_until_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = {self.blob_port, self.queue_port}
        while pending:
            if self._process is not None and self._process.poll() is not None:
                log = (self.location / "azurite.log").read_text(errors="replace")[-2000:]
                raise UnreachableError(f"Azurite exited at start-up:\n{log}")
            if time.monotonic() > deadline:
                self.stop()
                raise UnreachableError(f"Azurite did not listen within {timeout:.0f} s")

            pending = {port for port in pending if not _answers(port)}
            if pending:
                time.sleep(0.05)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False
