"""A fake ARM with a storage account and a DICOM service, and a session pointed at it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from dicomidx.cloud.arm import ArmSession, WaitPolicy
from dicomidx.settings import Settings
from tests.fake_arm import SETTINGS, TOKEN, FakeArm, seeded_arm


class StaticCredential:
    """A credential that always has a token, and counts the scopes it was asked for."""

    def __init__(self) -> None:
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken(TOKEN, int(time.time()) + 3600)


@pytest.fixture
def settings() -> Settings:
    return SETTINGS


@pytest.fixture
def arm(settings: Settings) -> Iterator[FakeArm]:
    fake = seeded_arm(settings)
    yield fake
    fake.stop()


@pytest.fixture
def session(arm: FakeArm, settings: Settings) -> ArmSession:
    return ArmSession(
        settings,
        endpoint=arm.url,
        credential=StaticCredential(),
        wait=WaitPolicy(first_delay=0.01, max_delay=0.05, timeout=5),
    )
