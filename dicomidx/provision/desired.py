"""The resources storage indexing needs, as the ARM bodies setup sends (reference section 2).

The same definition as templates/storage-indexing.json and templates/dicom-service.json; a
test evaluates the templates and compares. Role assignment names are ARM's
guid(scope, role definition, principal), so a template deployment and setup name the DICOM
identity's assignments alike, and a re-run PUTs the same names.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dicomidx.events.filter import recommended_filter
from dicomidx.events.template import arm_guid
from dicomidx.settings import Settings

QUEUE_API_VERSION = "2024-01-01"
ROLE_API_VERSION = "2022-04-01"
EVENT_GRID_API_VERSION = "2025-02-15"
DICOM_API_VERSION = "2025-04-01-preview"

STORAGE_TOPIC_TYPE = "Microsoft.Storage.StorageAccounts"
DELIVERY_SCHEMA = "CloudEventSchemaV1_0"
QUEUE_MESSAGE_TTL_SECONDS = 604800
MAX_DELIVERY_ATTEMPTS = 30
EVENT_TTL_MINUTES = 1440


class Role(StrEnum):
    """Built-in role definition GUIDs (reference section 6)."""

    BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
    QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
    QUEUE_DATA_MESSAGE_SENDER = "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a"

    @property
    def label(self) -> str:
        return _ROLE_TITLES[self]


_ROLE_TITLES = {
    Role.BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor",
    Role.QUEUE_DATA_CONTRIBUTOR: "Storage Queue Data Contributor",
    Role.QUEUE_DATA_MESSAGE_SENDER: "Storage Queue Data Message Sender",
}


class RoleScope(StrEnum):
    QUEUE = "queue"
    ACCOUNT = "account"


@dataclass(frozen=True)
class Assignment:
    """One role for one principal on one scope, under its deterministic name."""

    role: Role
    scope: str
    principal_id: str
    holder: str
    subscription: str
    # What the name is derived from besides scope and role: the principal, or for the system
    # topic's assignment the topic's id, as templates/ must (a principal id is not known when
    # an ARM deployment starts). Equal names keep a template deployment after setup from 409s.
    name_seed: str | None = None

    @property
    def role_definition_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/providers/Microsoft.Authorization/"
            f"roleDefinitions/{self.role.value}"
        )

    @property
    def name(self) -> str:
        return arm_guid(self.scope, self.role_definition_id, self.name_seed or self.principal_id)

    @property
    def scope_label(self) -> str:
        """`queue <name>` or `account <name>`, for people reading a plan."""
        kind = "queue" if "/queueServices/" in self.scope else "account"
        return f"{kind} {self.scope.rsplit('/', 1)[-1]}"

    @property
    def resource_id(self) -> str:
        return f"{self.scope}/providers/Microsoft.Authorization/roleAssignments/{self.name}"

    def body(self) -> dict[str, Any]:
        return {
            "properties": {
                "roleDefinitionId": self.role_definition_id,
                "principalId": self.principal_id,
                "principalType": "ServicePrincipal",
            }
        }


def queue_names(settings: Settings) -> tuple[str, str]:
    return settings.queue, settings.poison_queue


def queue_body() -> dict[str, Any]:
    return {"properties": {"metadata": {}}}


def dicom_assignments(
    settings: Settings, principal_id: str, *, scope: RoleScope = RoleScope.QUEUE
) -> list[Assignment]:
    """Queue Data Contributor on both queues (or the account), Blob Data Contributor."""
    account = settings.storage_account_id
    subscription = str(settings.subscription)
    queue_scopes = (
        [account]
        if scope is RoleScope.ACCOUNT
        else [settings.queue_id(name) for name in queue_names(settings)]
    )
    holder = "DICOM service identity"
    assignments = [
        Assignment(Role.QUEUE_DATA_CONTRIBUTOR, queue_scope, principal_id, holder, subscription)
        for queue_scope in queue_scopes
    ]
    assignments.append(
        Assignment(Role.BLOB_DATA_CONTRIBUTOR, account, principal_id, holder, subscription)
    )
    return assignments


def system_topic_id(settings: Settings, topic_id: str) -> str:
    """A system topic's id as templates/ spell it, whatever letter case ARM returned."""
    parts = topic_id.split("/")
    group, name = parts[4], parts[-1]
    return (
        f"/subscriptions/{settings.subscription}/resourceGroups/{group}/providers/"
        f"Microsoft.EventGrid/systemTopics/{name}"
    )


def topic_assignment(
    settings: Settings,
    principal_id: str,
    *,
    topic_id: str,
    scope: RoleScope = RoleScope.QUEUE,
) -> Assignment:
    """Queue Data Message Sender for the system topic's identity, on the queue (or account)."""
    target = (
        settings.storage_account_id
        if scope is RoleScope.ACCOUNT
        else settings.queue_id(settings.queue)
    )
    return Assignment(
        Role.QUEUE_DATA_MESSAGE_SENDER,
        target,
        principal_id,
        "system topic identity",
        str(settings.subscription),
        name_seed=system_topic_id(settings, topic_id),
    )


def system_topic_body(
    location: str, identity: dict[str, Any], settings: Settings
) -> dict[str, Any]:
    return {
        "location": location,
        "identity": identity,
        "properties": {"source": settings.storage_account_id, "topicType": STORAGE_TOPIC_TYPE},
    }


def event_subscription_body(settings: Settings, identity: dict[str, Any]) -> dict[str, Any]:
    """The recommended subscription, delivered through the topic's identity."""
    return {
        "properties": {
            "deliveryWithResourceIdentity": {
                "identity": identity,
                "destination": {
                    "endpointType": "StorageQueue",
                    "properties": {
                        "resourceId": settings.storage_account_id,
                        "queueName": settings.queue,
                        "queueMessageTimeToLiveInSeconds": QUEUE_MESSAGE_TTL_SECONDS,
                    },
                },
            },
            "filter": recommended_filter(settings).to_arm(),
            "eventDeliverySchema": DELIVERY_SCHEMA,
            "retryPolicy": {
                "maxDeliveryAttempts": MAX_DELIVERY_ATTEMPTS,
                "eventTimeToLiveInMinutes": EVENT_TTL_MINUTES,
            },
        }
    }


def event_subscription_name(settings: Settings) -> str:
    return f"dicom-{settings.workspace}-{settings.dicom_service}"


def default_system_topic_name(settings: Settings) -> str:
    return f"{settings.storage_account}-events"


def storage_configuration(settings: Settings) -> dict[str, Any]:
    """The DICOM service's `properties.storageConfiguration` with indexing turned on."""
    return {
        "storageResourceId": settings.storage_account_id,
        "fileSystemName": settings.file_system,
        "storageIndexingConfiguration": {"storageEventQueueName": settings.queue},
    }
