"""`setup service`: turn on storage indexing in the DICOM service's storage configuration.

The SDK (api 2024-03-31) has no `storageIndexingConfiguration` and drops it when reading, and
the PATCH body takes only tags and identity. So the service is read raw at 2025-04-01-preview,
the one property is set, and the whole resource is PUT back with every writable property kept;
the long-running operation is followed through `Azure-AsyncOperation` to its end.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from dicomidx.cloud.arm import ArmSession, arm_errors
from dicomidx.cloud.facts import Facts
from dicomidx.errors import AzureServiceError, ConfigurationError
from dicomidx.provision.desired import DICOM_API_VERSION, storage_configuration
from dicomidx.provision.plan import ResourcePlan, StepPlan, plan_resource, same

STEP = "service"
READ_ONLY_TOP = ("id", "name", "type", "systemData")
READ_ONLY_PROPERTIES = (
    "provisioningState",
    "serviceUrl",
    "privateEndpointConnections",
    "eventState",
    "authenticationConfiguration",  # authority and audiences are both read-only
)
_TERMINAL = ("succeeded", "failed", "canceled", "cancelled")


def plan_service(session: ArmSession, facts: Facts, *, refuse: bool = True) -> StepPlan:
    """The service with indexing on; `refuse` raises when its storage is not ours to index."""
    settings = session.settings
    settings.require("workspace", "dicom_service", "file_system")
    service = facts.dicom_service()
    if refuse:
        check_storage(service, session)

    desired = {"properties": {"storageConfiguration": storage_configuration(settings)}}
    resource = plan_resource(
        STEP,
        "DICOM service",
        f"{settings.workspace}/{settings.dicom_service}",
        settings.dicom_service_id,
        current=service,
        desired=desired,
        payload=put_body(service, settings.queue),
    )
    return StepPlan(STEP, (resource,))


def check_storage(service: dict[str, Any], session: ArmSession) -> None:
    """Refuse a service without data lake storage, or whose storage is another one."""
    settings = session.settings
    storage = (service.get("properties") or {}).get("storageConfiguration") or {}
    if not storage.get("storageResourceId") or not storage.get("fileSystemName"):
        raise ConfigurationError(
            f"DICOM service {settings.dicom_service} has no data lake storage: storage "
            "indexing needs a service created with an ADLS Gen2 file system",
            hint="create the service with storageConfiguration (storageResourceId, "
            "fileSystemName); it cannot be added later",
        )
    if not same(storage["storageResourceId"], settings.storage_account_id, key="resourceId"):
        raise ConfigurationError(
            f"DICOM service {settings.dicom_service} stores its files in "
            f"{storage['storageResourceId']}, not in storage account {settings.storage_account}",
            hint="set --storage-account (and --resource-group) to the service's account",
        )
    if storage["fileSystemName"] != settings.file_system:
        raise ConfigurationError(
            f"DICOM service {settings.dicom_service} uses file system "
            f"{storage['fileSystemName']!r}, not {settings.file_system!r}",
            hint="set --file-system to the service's file system",
        )


def put_body(service: dict[str, Any], queue: str) -> dict[str, Any]:
    """The live resource with indexing on and the read-only properties left out."""
    body = {k: copy.deepcopy(v) for k, v in service.items() if k not in READ_ONLY_TOP}
    properties = body.setdefault("properties", {})
    for name in READ_ONLY_PROPERTIES:
        properties.pop(name, None)

    storage = properties.setdefault("storageConfiguration", {})
    storage["storageIndexingConfiguration"] = {"storageEventQueueName": queue}

    identity = body.get("identity")
    if isinstance(identity, dict):
        identity.pop("principalId", None)
        identity.pop("tenantId", None)
        assigned = identity.get("userAssignedIdentities")
        if isinstance(assigned, dict):
            identity["userAssignedIdentities"] = {key: {} for key in assigned}
    return body


def apply_service(session: ArmSession, plan: StepPlan) -> str:
    """PUT the service and follow the operation; the outcome is its final status."""
    resource = plan.resources[0]
    if not resource.writes:
        return "unchanged"

    settings = session.settings
    needs = f"DICOM service contributor rights (Contributor) on {settings.dicom_service_id}"
    with arm_errors(f"updating DICOM service {resource.name}", needs=needs):
        response = session.send(
            "PUT", resource.resource_id, api_version=DICOM_API_VERSION, body=resource.payload
        )
        status = _follow(session, response.headers, resource)
    session.progress.done(f"DICOM service {resource.name}: update {status.lower()}")
    return status


def _follow(session: ArmSession, headers: Any, resource: ResourcePlan) -> str:
    operation = headers.get("Azure-AsyncOperation")
    if not operation:
        return "Succeeded"

    with session.progress.waiting(f"waiting for the update of {resource.name}") as update:
        while True:
            answer = session.send("GET", operation)
            status = str(answer.body.get("status", ""))
            if status.lower() in _TERMINAL:
                break
            update(f"DICOM service {resource.name}: {status or 'in progress'}")
            time.sleep(_retry_after(answer.headers))

    if status.lower() != "succeeded":
        error = answer.body.get("error") or {}
        raise AzureServiceError(
            f"updating DICOM service {resource.name}: the operation ended {status}"
            + (f" ({error.get('code')}: {error.get('message')})" if error else ""),
            code=error.get("code"),
        )
    return status


def _retry_after(headers: Any) -> float:
    try:
        return max(float(headers.get("Retry-After", 5)), 0.0)
    except ValueError:
        return 5.0
