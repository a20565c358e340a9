"""Fixtures shared by every test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dicomidx.emulator import Azurite
from tests.storage_bed import StorageBed


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's shell must not change results: clear AZURE_* and DICOMIDX_* variables."""
    for name in list(os.environ):
        if name.startswith(("AZURE_", "DICOMIDX_")):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """One Azurite for the test session, on free loopback ports and a temporary folder."""
    with Azurite() as emulator:
        yield emulator


@pytest.fixture
def bed(azurite: Azurite, tmp_path: Path) -> Iterator[StorageBed]:
    """A file system, a queue and its poison queue of the test's own, and an index file."""
    storage = StorageBed.create(azurite, tmp_path)
    yield storage
    storage.close()
