"""The Azure clouds dicomidx works in: ARM endpoint, sign-in authority, token scope, and the
DNS suffix of storage endpoints.

Pure data, no SDK import, so that `--help` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CloudName(StrEnum):
    PUBLIC = "public"
    CHINA = "china"
    USGOV = "usgov"


@dataclass(frozen=True)
class Cloud:
    name: CloudName
    arm_endpoint: str
    authority: str
    storage_suffix: str

    @property
    def token_scope(self) -> str:
        return f"{self.arm_endpoint}/.default"


CLOUDS = {
    CloudName.PUBLIC: Cloud(
        CloudName.PUBLIC,
        "https://management.azure.com",
        "login.microsoftonline.com",
        "core.windows.net",
    ),
    CloudName.CHINA: Cloud(
        CloudName.CHINA,
        "https://management.chinacloudapi.cn",
        "login.chinacloudapi.cn",
        "core.chinacloudapi.cn",
    ),
    CloudName.USGOV: Cloud(
        CloudName.USGOV,
        "https://management.usgovcloudapi.net",
        "login.microsoftonline.us",
        "core.usgovcloudapi.net",
    ),
}
