"""Fixtures shared by every test."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's shell must not change results: clear AZURE_* and DICOMIDX_* variables."""
    for name in list(os.environ):
        if name.startswith(("AZURE_", "DICOMIDX_")):
            monkeypatch.delenv(name)
