"""What Azure holds now, read once per run: the storage account, its system topic, the DICOM
service, the Event Grid provider, and the identities found on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import HttpResponseError

from dicomidx.cloud.arm import ArmSession, arm_errors, raw_json, read_or_none
from dicomidx.errors import ConfigurationError, UsageError
from dicomidx.provision.desired import DICOM_API_VERSION

PROVIDER_API_VERSION = "2021-04-01"
SYSTEM = "system"


@dataclass(frozen=True)
class Identity:
    """A managed identity a resource can act as: system-assigned, or one user-assigned."""

    choice: str  # "system", or the user-assigned identity's resource id
    principal_id: str | None

    @property
    def is_user_assigned(self) -> bool:
        return self.choice != SYSTEM

    def delivery(self) -> dict[str, Any]:
        """The `identity` of an event subscription delivering as this identity."""
        if self.is_user_assigned:
            return {"type": "UserAssigned", "userAssignedIdentity": self.choice}
        return {"type": "SystemAssigned"}

    def resource_identity(self) -> dict[str, Any]:
        """The `identity` block of a new resource that holds only this identity."""
        if self.is_user_assigned:
            return {"type": "UserAssigned", "userAssignedIdentities": {self.choice: {}}}
        return {"type": "SystemAssigned"}


def identities(resource: dict[str, Any] | None) -> list[Identity]:
    """Every identity on a resource, system-assigned first."""
    block = (resource or {}).get("identity") or {}
    kinds = str(block.get("type") or "").replace(" ", "").lower().split(",")
    found = []
    if "systemassigned" in kinds:
        found.append(Identity(SYSTEM, block.get("principalId")))
    for resource_id, details in (block.get("userAssignedIdentities") or {}).items():
        found.append(Identity(resource_id, (details or {}).get("principalId")))
    return found


def choose_identity(
    found: list[Identity], choice: str | None, *, owner: str, flag: str
) -> Identity | None:
    """The identity the operator chose, the only one there is, or None when there is none."""
    if choice:
        for identity in found:
            if identity.choice.lower() == choice.lower() or (
                identity.is_user_assigned and identity.choice.rsplit("/", 1)[-1] == choice
            ):
                return identity
        raise UsageError(
            f"{flag} {choice!r}: the {owner} has no such identity",
            hint=f"the {owner} has: {_describe(found)}",
        )
    if len(found) > 1:
        raise UsageError(
            f"the {owner} has several identities: {_describe(found)}",
            hint=f"choose one with {flag} system or {flag} <user-assigned identity id>",
        )
    return found[0] if found else None


def _describe(found: list[Identity]) -> str:
    return ", ".join(identity.choice for identity in found) or "no managed identity"


class Facts:
    """Cached reads of the resources setup and status look at."""

    def __init__(self, session: ArmSession) -> None:
        self.session = session
        self._cache: dict[str, Any] = {}

    def forget(self) -> None:
        self._cache.clear()

    def _cached(self, key: str, read: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = read()
        return self._cache[key]

    def account(self) -> dict[str, Any]:
        session = self.session
        settings = session.settings

        def read() -> Any:
            with arm_errors(
                f"reading storage account {settings.storage_account}",
                needs=f"Reader on {settings.storage_account_id}",
            ):
                found = read_or_none(
                    lambda: session.storage.storage_accounts.get_properties(
                        session.resource_group,
                        str(settings.storage_account),
                        cls=raw_json,
                        **session.call_options,
                    )
                )
            if found is None:
                raise ConfigurationError(
                    f"storage account {settings.storage_account} not found in resource group "
                    f"{settings.resource_group}",
                    hint="check --storage-account, --resource-group and --subscription",
                )
            return found

        return dict(self._cached("account", read))

    def topic(self) -> dict[str, Any] | None:
        """The storage account's system topic (there is at most one), wherever it lives.

        Without read access to the whole subscription, only the account's resource group is
        searched.
        """
        session = self.session
        account_id = session.settings.storage_account_id.lower()
        topics = session.eventgrid.system_topics

        def read() -> Any:
            with arm_errors(
                "listing Event Grid system topics",
                needs=f"Reader on resource group {session.resource_group}",
            ):
                try:
                    found = list(topics.list_by_subscription(**session.call_options))
                except HttpResponseError as error:
                    if error.status_code != 403:
                        raise
                    found = list(
                        topics.list_by_resource_group(
                            session.resource_group, **session.call_options
                        )
                    )
                for topic in found:
                    if str(topic.source or "").lower() == account_id:
                        group = str(topic.id).split("/")[4]
                        return topics.get(group, topic.name, cls=raw_json, **session.call_options)
            return None

        topic = self._cached("topic", read)
        return dict(topic) if topic is not None else None

    def dicom_service(self) -> dict[str, Any]:
        session = self.session
        settings = session.settings

        def read() -> Any:
            with arm_errors(
                f"reading DICOM service {settings.workspace}/{settings.dicom_service}",
                needs=f"Reader on {settings.dicom_service_id}",
            ):
                found = read_or_none(
                    lambda: (
                        session.send(
                            "GET", settings.dicom_service_id, api_version=DICOM_API_VERSION
                        ).body
                    )
                )
            if found is None:
                raise ConfigurationError(
                    f"DICOM service {settings.dicom_service} not found in workspace "
                    f"{settings.workspace}",
                    hint="check --workspace, --dicom-service and --resource-group",
                )
            return found

        return dict(self._cached("service", read))

    def provider_registered(self, namespace: str) -> bool | None:
        """Whether the subscription has the provider registered; None when not allowed to read."""
        session = self.session

        def read() -> Any:
            with arm_errors(f"reading the {namespace} resource provider"):
                try:
                    return session.send(
                        "GET",
                        f"/subscriptions/{session.subscription}/providers/{namespace}",
                        api_version=PROVIDER_API_VERSION,
                    ).body
                except HttpResponseError as error:
                    if error.status_code == 403:
                        return None
                    raise

        provider = self._cached(f"provider:{namespace}", read)
        if provider is None:
            return None
        return str(provider.get("registrationState", "")).lower() == "registered"
