"""What setup finds on the resources (topics, identities, providers) and when it refuses."""

from __future__ import annotations

import time
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

from dicomidx.cloud.arm import ArmSession, WaitPolicy
from dicomidx.cloud.provisioning import STEPS, apply, plan, status
from dicomidx.cloud.roles import RoleOptions
from dicomidx.errors import AuthenticationError, AzureServiceError, ConfigurationError, UsageError
from dicomidx.provision.plan import Action, State
from dicomidx.settings import Settings
from tests.fake_arm import FakeArm, principal_for

DEFAULTS = RoleOptions()
SENDER = "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a"


def other_features_topic(arm: FakeArm, settings: Settings, **identity: Any) -> str:
    """A system topic on the account, made by another feature in another resource group."""
    topic_id = (
        f"/subscriptions/{settings.subscription}/resourceGroups/security-rg/providers/"
        "Microsoft.EventGrid/systemTopics/defender-topic"
    )
    arm.add_system_topic(topic_id, source=settings.storage_account_id, identity=identity or None)
    arm.add(
        f"{topic_id}/eventSubscriptions/defender-scan",
        {
            "type": "Microsoft.EventGrid/systemTopics/eventSubscriptions",
            "properties": {"destination": {"endpointType": "WebHook"}},
        },
    )
    return topic_id


def user_identity(settings: Settings, name: str) -> str:
    return (
        f"{settings.resource_group_id}/providers/Microsoft.ManagedIdentity/"
        f"userAssignedIdentities/{name}"
    )


def sender_principals(arm: FakeArm) -> list[str]:
    return [
        r.body["properties"]["principalId"]
        for r in arm.writes()
        if "/roleAssignments/" in r.path
        and r.body["properties"]["roleDefinitionId"].endswith(SENDER)
    ]


def test_the_accounts_topic_owned_by_another_feature_is_reused_and_its_subscriptions_kept(
    session: ArmSession, arm: FakeArm, settings: Settings
) -> None:
    topic_id = other_features_topic(arm, settings, type="SystemAssigned")
    theirs = dict(arm.get(f"{topic_id}/eventSubscriptions/defender-scan") or {})

    apply(session, STEPS, DEFAULTS)

    written = [r.path for r in arm.writes()]
    assert not any(path.endswith("/systemTopics/defender-topic") for path in written)
    assert not any("defender-scan" in path for path in written)
    assert arm.get(f"{topic_id}/eventSubscriptions/defender-scan") == theirs
    assert f"{topic_id}/eventSubscriptions/dicom-contosows-dicomsvc" in written
    assert sender_principals(arm) == [principal_for(topic_id)]


def test_without_subscription_wide_read_the_topic_is_looked_for_in_the_resource_group(
    session: ArmSession, arm: FakeArm, settings: Settings
) -> None:
    topic_id = f"{settings.resource_group_id}/providers/Microsoft.EventGrid/systemTopics/mine"
    arm.add_system_topic(topic_id, source=settings.storage_account_id, identity=None)
    arm.deny.append(("GET", f"/subscriptions/{settings.subscription}/providers/"))  # all of it

    planned = plan(session, ["events"], DEFAULTS)

    [topic] = [r for r in planned.resources if r.kind == "system topic"]
    assert (topic.name, topic.action) == ("mine", Action.UPDATE)
    assert any("could not read whether Microsoft.EventGrid" in w for w in planned.warnings)


def test_a_reused_topic_without_identity_gets_one_before_its_sender_role(
    session: ArmSession, arm: FakeArm, settings: Settings
) -> None:
    topic_id = other_features_topic(arm, settings)

    planned = plan(session, ["events"], DEFAULTS)
    apply(session, STEPS, DEFAULTS)

    [topic] = [r for r in planned.resources if r.kind == "system topic"]
    assert topic.action is Action.UPDATE
    patches = arm.bodies("PATCH", "/systemTopics/defender-topic")
    assert patches == [{"identity": {"type": "SystemAssigned"}}]
    assert sender_principals(arm) == [principal_for(topic_id)]
    assert not plan(session, STEPS, DEFAULTS).writes


def test_a_user_assigned_topic_identity_behind_a_firewall_is_warned_about(
    arm: FakeArm, settings: Settings, session: ArmSession
) -> None:
    arm.add_storage_account(settings.storage_account_id, firewall=True)
    identity = user_identity(settings, "grid")
    options = RoleOptions(topic_identity=identity)

    planned = plan(session, ["events"], options)
    apply(session, STEPS, options)

    assert any("user-assigned identity" in text for text in planned.warnings)
    [subscription] = arm.bodies("PUT", "/eventSubscriptions/dicom-contosows-dicomsvc")
    assert subscription["properties"]["deliveryWithResourceIdentity"]["identity"] == {
        "type": "UserAssigned",
        "userAssignedIdentity": identity,
    }
    assert sender_principals(arm) == [principal_for(identity)]


def test_every_plan_warns_that_events_without_client_request_id_are_dropped(
    session: ArmSession,
) -> None:
    planned = plan(session, ["events"], DEFAULTS)

    assert any("without data.clientRequestId" in text for text in planned.warnings)


def test_an_unregistered_event_grid_provider_is_warned_about_then_registered(
    session: ArmSession, arm: FakeArm
) -> None:
    arm.providers["microsoft.eventgrid"] = "NotRegistered"

    planned = plan(session, ["events"], DEFAULTS)
    apply(session, ["events"], DEFAULTS)

    assert any("not registered" in text for text in planned.warnings)
    registered = [r for r in arm.writes() if r.path.endswith("/register")]
    assert len(registered) == 1


def test_a_service_without_data_lake_storage_is_refused(
    session: ArmSession, arm: FakeArm, settings: Settings
) -> None:
    arm.add_dicom_service(settings.dicom_service_id, account_id=None)

    with pytest.raises(ConfigurationError, match="has no data lake storage"):
        plan(session, ["service"], DEFAULTS)


def test_a_service_on_another_account_is_refused_by_setup_and_drifted_in_status(
    session: ArmSession, arm: FakeArm, settings: Settings
) -> None:
    other = settings.storage_account_id.replace("contosoimaging", "elsewhere")
    arm.add_dicom_service(settings.dicom_service_id, account_id=other)

    with pytest.raises(ConfigurationError, match="not in storage account contosoimaging"):
        apply(session, ["service"], DEFAULTS)
    found = status(session, DEFAULTS)

    [service] = [r for r in found.resources if r.step == "service"]
    assert service.state is State.DRIFTED
    assert "properties.storageConfiguration.storageResourceId" in [c.path for c in service.changes]
    assert arm.writes() == []


def test_a_service_on_another_file_system_is_refused(
    session: ArmSession, arm: FakeArm, settings: Settings
) -> None:
    arm.add_dicom_service(
        settings.dicom_service_id, account_id=settings.storage_account_id, file_system="other"
    )

    with pytest.raises(ConfigurationError, match="uses file system 'other'"):
        plan(session, ["service"], DEFAULTS)


def test_a_failed_service_update_reports_the_operations_outcome(
    session: ArmSession, arm: FakeArm
) -> None:
    arm.service_outcome = "Failed"

    with pytest.raises(AzureServiceError, match=r"ended Failed \(ServiceUpdateFailed"):
        apply(session, ["service"], DEFAULTS)


def test_a_service_with_several_identities_needs_a_choice(
    session: ArmSession, arm: FakeArm, settings: Settings
) -> None:
    user = user_identity(settings, "dicom-id")
    arm.add_dicom_service(
        settings.dicom_service_id,
        account_id=settings.storage_account_id,
        identity={"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": {user: {}}},
    )

    with pytest.raises(UsageError, match="several identities"):
        plan(session, ["roles"], DEFAULTS)
    apply(session, ["queue", "roles"], RoleOptions(dicom_identity="dicom-id"))

    principals = {
        r.body["properties"]["principalId"]
        for r in arm.writes()
        if r.body and "roleDefinitionId" in r.body.get("properties", {})
    }
    assert principals == {principal_for(user)}


def test_a_service_without_identity_cannot_be_granted_roles(
    session: ArmSession, arm: FakeArm, settings: Settings
) -> None:
    arm.add_dicom_service(
        settings.dicom_service_id, account_id=settings.storage_account_id, identity={"type": "None"}
    )

    with pytest.raises(ConfigurationError, match="no managed identity"):
        plan(session, ["roles"], DEFAULTS)


class SignedOut:
    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token")


def test_without_a_sign_in_the_error_says_how_to_sign_in(arm: FakeArm, settings: Settings) -> None:
    session = ArmSession(settings, endpoint=arm.url, credential=SignedOut(), wait=WaitPolicy())

    with pytest.raises(AuthenticationError, match="not signed in") as raised:
        plan(session, ["queue"], DEFAULTS)

    assert raised.value.hint is not None
    assert "az login" in raised.value.hint


def test_a_role_that_never_reads_back_is_reported_not_waited_on_forever(
    arm: FakeArm, settings: Settings
) -> None:
    class Token:
        def get_token(self, *scopes: str, **_: Any) -> AccessToken:
            return AccessToken("fake-arm-token", int(time.time()) + 3600)

    session = ArmSession(
        settings,
        endpoint=arm.url,
        credential=Token(),
        wait=WaitPolicy(first_delay=0.01, max_delay=0.02, timeout=0.1),
    )
    arm.replication_reads = 1000

    apply(session, ["queue", "roles"], DEFAULTS)

    assert not plan(session, ["roles"], DEFAULTS).writes
