"""The Azure clouds dicomidx can provision in: ARM endpoint, sign-in authority, token scope.

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

    @property
    def token_scope(self) -> str:
        return f"{self.arm_endpoint}/.default"


CLOUDS = {
    CloudName.PUBLIC: Cloud(
        CloudName.PUBLIC, "https://management.azure.com", "login.microsoftonline.com"
    ),
    CloudName.CHINA: Cloud(
        CloudName.CHINA, "https://management.chinacloudapi.cn", "login.chinacloudapi.cn"
    ),
    CloudName.USGOV: Cloud(
        CloudName.USGOV, "https://management.usgovcloudapi.net", "login.microsoftonline.us"
    ),
}
