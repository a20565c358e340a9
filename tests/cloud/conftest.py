"""A fake ARM with a storage account and a DICOM service, and a session pointed at it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from dicomidx.cloud.arm import ArmSession, WaitPolicy
from dicomidx.settings import Settings
from tests.fake_arm import TOKEN, FakeArm

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"


class StaticCredential:
    """A credential that always has a token, and counts the scopes it was asked for."""

    def __init__(self) -> None:
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken(TOKEN, int(time.time()) + 3600)


@pytest.fixture
def settings() -> Settings:
    return Settings(
        subscription=SUBSCRIPTION,
        resource_group="imaging-rg",
        workspace="contosows",
        dicom_service="dicomsvc",
        storage_account="contosoimaging",
        file_system="imaging",
    )


@pytest.fixture
def arm(settings: Settings) -> Iterator[FakeArm]:
    fake = FakeArm(SUBSCRIPTION).start()
    fake.add_storage_account(settings.storage_account_id)
    fake.add_dicom_service(settings.dicom_service_id, account_id=settings.storage_account_id)
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
