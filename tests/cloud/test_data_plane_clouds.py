"""The storage data plane in each Azure cloud: endpoints and sign-in authority."""

from __future__ import annotations

import pytest

from dicomidx.cloud.clouds import CLOUDS, CloudName
from dicomidx.cloud.data_plane import StorageAccess


@pytest.mark.parametrize(
    ("cloud", "queue_url", "blob_url"),
    [
        (
            CloudName.PUBLIC,
            "https://contosoimaging.queue.core.windows.net/storage-events",
            "https://contosoimaging.blob.core.windows.net/imaging",
        ),
        (
            CloudName.CHINA,
            "https://contosoimaging.queue.core.chinacloudapi.cn/storage-events",
            "https://contosoimaging.blob.core.chinacloudapi.cn/imaging",
        ),
        (
            CloudName.USGOV,
            "https://contosoimaging.queue.core.usgovcloudapi.net/storage-events",
            "https://contosoimaging.blob.core.usgovcloudapi.net/imaging",
        ),
    ],
)
def test_an_account_signed_in_with_entra_id_is_reached_at_its_clouds_endpoints(
    cloud: CloudName, queue_url: str, blob_url: str
) -> None:
    access = StorageAccess(account="contosoimaging", cloud=CLOUDS[cloud])

    queue = access.queue_client("storage-events")
    files = access.container_client("imaging")

    assert queue.url == queue_url
    assert files.url == blob_url
    assert f"{cloud.value} cloud" in access.describe()


def test_the_connection_string_is_never_shown() -> None:
    access = StorageAccess(connection_string="AccountName=a;AccountKey=c2VjcmV0")
    assert "c2VjcmV0" not in repr(access)
    assert "c2VjcmV0" not in access.describe()
