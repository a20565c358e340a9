"""Setup and status against the fake ARM, through the real azure-mgmt clients."""

from __future__ import annotations

import pytest

from dicomidx.cloud.arm import ArmSession
from dicomidx.cloud.provisioning import STEPS, apply, plan, status
from dicomidx.cloud.roles import RoleOptions
from dicomidx.errors import AzureServiceError
from dicomidx.events.filter import recommended_filter
from dicomidx.events.template import arm_guid
from dicomidx.provision.desired import RoleScope
from dicomidx.provision.plan import Action, State
from dicomidx.settings import Settings
from tests.fake_arm import FakeArm, principal_for

DEFAULTS = RoleOptions()
QUEUE_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
SENDER = "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a"


def role_definition(settings: Settings, guid: str) -> str:
    return (
        f"/subscriptions/{settings.subscription}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{guid}"
    )


def assignment_puts(arm: FakeArm) -> dict[str, dict[str, object]]:
    """Each role assignment PUT that ARM accepted, by its path."""
    return {
        r.path: r.body["properties"]
        for r in arm.requests
        if r.method == "PUT" and "/roleAssignments/" in r.path and r.status == 201
    }


def test_a_first_setup_creates_every_piece_with_the_recommended_bodies(
    session: ArmSession, arm: FakeArm, settings: Settings
) -> None:
    apply(session, STEPS, DEFAULTS)

    for name in ("storage-events", "storage-events-poison"):
        assert arm.bodies("PUT", f"/queues/{name}") == [{"properties": {"metadata": {}}}]

    topic_id = f"{settings.resource_group_id}/providers/Microsoft.EventGrid/systemTopics/"
    topic_id += "contosoimaging-events"
    assert arm.bodies("PUT", "/systemTopics/contosoimaging-events")[0] == {
        "location": "westus3",
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "source": settings.storage_account_id,
            "topicType": "Microsoft.Storage.StorageAccounts",
        },
    }

    [subscription] = arm.bodies("PUT", "/eventSubscriptions/dicom-contosows-dicomsvc")
    properties = subscription["properties"]
    assert properties["filter"] == recommended_filter(settings).to_arm()
    assert properties["eventDeliverySchema"] == "CloudEventSchemaV1_0"
    assert properties["retryPolicy"] == {
        "maxDeliveryAttempts": 30,
        "eventTimeToLiveInMinutes": 1440,
    }
    assert properties["deliveryWithResourceIdentity"] == {
        "identity": {"type": "SystemAssigned"},
        "destination": {
            "endpointType": "StorageQueue",
            "properties": {
                "resourceId": settings.storage_account_id,
                "queueName": "storage-events",
                "queueMessageTimeToLiveInSeconds": 604800,
            },
        },
    }

    dicom_principal = principal_for(settings.dicom_service_id)
    topic_principal = principal_for(topic_id)
    expected = {
        (settings.queue_id("storage-events"), QUEUE_CONTRIBUTOR, dicom_principal),
        (settings.queue_id("storage-events-poison"), QUEUE_CONTRIBUTOR, dicom_principal),
        (settings.storage_account_id, BLOB_CONTRIBUTOR, dicom_principal),
        (settings.queue_id("storage-events"), SENDER, topic_principal),
    }
    found = set()
    for path, body in assignment_puts(arm).items():
        scope, name = path.split("/providers/Microsoft.Authorization/roleAssignments/")
        role = role_definition(settings, str(body["roleDefinitionId"]).rsplit("/", 1)[-1])
        assert body["roleDefinitionId"] == role
        assert body["principalType"] == "ServicePrincipal"
        # Named as templates/ name them: the topic's by its id, the others by principal.
        seed = topic_id if body["principalId"] == topic_principal else body["principalId"]
        assert name == arm_guid(scope, role, str(seed))
        found.add((scope, str(role).rsplit("/", 1)[-1], body["principalId"]))
    assert found == expected


def test_the_dicom_service_is_put_back_whole_with_only_the_queue_name_added(
    session: ArmSession, arm: FakeArm, settings: Settings
) -> None:
    apply(session, ["service"], DEFAULTS)

    [put] = [r for r in arm.writes() if "/dicomservices/" in r.path]
    assert put.query["api-version"] == "2025-04-01-preview"
    body = put.body
    assert body["location"] == "westus3"
    assert body["tags"] == {"owner": "imaging-team"}
    assert body["etag"] == '"00000000-0000-0000-0000-000000000001"'
    assert body["identity"] == {"type": "SystemAssigned"}
    assert body["properties"]["corsConfiguration"]["origins"] == ["https://viewer.example"]
    assert body["properties"]["publicNetworkAccess"] == "Enabled"
    assert body["properties"]["storageConfiguration"] == {
        "storageResourceId": settings.storage_account_id,
        "fileSystemName": "imaging",
        "storageIndexingConfiguration": {"storageEventQueueName": "storage-events"},
    }
    for read_only in ("id", "name", "type", "systemData"):
        assert read_only not in body
    for read_only in ("provisioningState", "serviceUrl", "authenticationConfiguration"):
        assert read_only not in body["properties"]

    polls = [r for r in arm.requests if r.path.startswith("/operations/")]
    assert len(polls) == 2
    assert arm.get(settings.dicom_service_id)["properties"]["provisioningState"] == "Succeeded"


def test_a_second_setup_makes_no_write_call(session: ArmSession, arm: FakeArm) -> None:
    apply(session, STEPS, DEFAULTS)
    writes = len(arm.writes())

    again = apply(session, STEPS, DEFAULTS)

    assert len(arm.writes()) == writes
    assert {r.action for r in again.resources} == {Action.UNCHANGED}


def test_planning_makes_no_write_call_and_lists_every_resource(
    session: ArmSession, arm: FakeArm
) -> None:
    planned = plan(session, STEPS, DEFAULTS)

    assert arm.writes() == []
    assert [(r.step, r.kind, r.action) for r in planned.resources] == [
        ("queue", "queue", Action.CREATE),
        ("queue", "queue", Action.CREATE),
        ("roles", "role assignment", Action.CREATE),
        ("roles", "role assignment", Action.CREATE),
        ("roles", "role assignment", Action.CREATE),
        ("events", "system topic", Action.CREATE),
        ("events", "role assignment", Action.CREATE),
        ("events", "event subscription", Action.CREATE),
        ("service", "DICOM service", Action.UPDATE),
    ]
    [service] = [r for r in planned.resources if r.step == "service"]
    assert [c.path for c in service.changes] == [
        "properties.storageConfiguration.storageIndexingConfiguration.storageEventQueueName"
    ]


def test_a_setup_that_failed_midway_completes_on_the_next_run(
    session: ArmSession, arm: FakeArm
) -> None:
    arm.fail_write = 3

    with pytest.raises(AzureServiceError, match="InjectedFailure"):
        apply(session, STEPS, DEFAULTS)
    apply(session, STEPS, DEFAULTS)

    assert not plan(session, STEPS, DEFAULTS).writes


def test_throttling_with_retry_after_is_waited_out(session: ArmSession, arm: FakeArm) -> None:
    arm.throttle = 2

    apply(session, ["queue"], DEFAULTS)

    assert [r.status for r in arm.requests[:2]] == [429, 429]
    assert len(arm.bodies("PUT", "/queues/storage-events")) == 1
    assert len(arm.bodies("PUT", "/queues/storage-events-poison")) == 1


def test_an_existing_grant_under_another_name_counts_as_done(
    session: ArmSession, arm: FakeArm, settings: Settings
) -> None:
    principal = principal_for(settings.dicom_service_id)
    scope = settings.queue_id("storage-events")
    arm.add(
        f"{scope}/providers/Microsoft.Authorization/roleAssignments/made-by-a-template",
        {
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "scope": scope,
                "roleDefinitionId": role_definition(settings, QUEUE_CONTRIBUTOR),
                "principalId": principal,
            },
        },
    )
    arm.stale_lists = 1  # ARM's listing has not caught up, so setup tries to create it

    apply(session, ["queue", "roles"], DEFAULTS)

    conflicts = [r for r in arm.requests if r.status == 409]
    assert len(conflicts) == 1
    assert not plan(session, ["roles"], DEFAULTS).writes


def test_new_role_assignments_are_waited_for_until_they_read_back(
    session: ArmSession, arm: FakeArm
) -> None:
    arm.replication_reads = 2

    apply(session, ["queue", "roles"], DEFAULTS)

    not_yet = [r for r in arm.requests if r.status == 404 and "/roleAssignments/" in r.path]
    assert len(not_yet) == 3 * 2


def test_the_subscription_waits_until_the_topic_identity_may_send(
    session: ArmSession, arm: FakeArm
) -> None:
    arm.effect_refusals = 2

    apply(session, STEPS, DEFAULTS)

    subscription_puts = [
        r.status
        for r in arm.requests
        if r.path.endswith("dicomsvc") and "/eventSubscriptions/" in r.path and r.method == "PUT"
    ]
    assert subscription_puts == [403, 403, 201]


def test_account_scope_grants_the_queue_roles_on_the_account(
    session: ArmSession, arm: FakeArm, settings: Settings
) -> None:
    apply(session, STEPS, RoleOptions(scope=RoleScope.ACCOUNT))

    scopes = {path.split("/providers/Microsoft.Authorization/")[0] for path in assignment_puts(arm)}
    assert scopes == {settings.storage_account_id}
    assert len(assignment_puts(arm)) == 3


def test_status_reports_missing_pieces_then_present_after_setup(
    session: ArmSession, arm: FakeArm
) -> None:
    before = status(session, DEFAULTS)
    apply(session, STEPS, DEFAULTS)
    after = status(session, DEFAULTS)

    assert State.MISSING in {r.state for r in before.resources}
    assert {r.state for r in after.resources} == {State.PRESENT}


def test_status_shows_the_difference_of_a_drifted_subscription(
    session: ArmSession, arm: FakeArm, settings: Settings
) -> None:
    apply(session, STEPS, DEFAULTS)
    topic_id = f"{settings.resource_group_id}/providers/Microsoft.EventGrid/systemTopics/"
    stored = arm.get(f"{topic_id}contosoimaging-events/eventSubscriptions/dicom-contosows-dicomsvc")
    assert stored is not None
    stored["properties"]["filter"]["subjectEndsWith"] = ".DCM"
    writes = len(arm.writes())

    found = status(session, DEFAULTS)

    [drifted] = [r for r in found.resources if r.state is State.DRIFTED]
    assert drifted.kind == "event subscription"
    [change] = drifted.changes
    assert (change.path, change.current, change.desired) == (
        "properties.filter.subjectEndsWith",
        ".DCM",
        ".dcm",
    )
    assert len(arm.writes()) == writes
