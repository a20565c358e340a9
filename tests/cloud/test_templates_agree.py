"""templates/ and `setup` deploy the same definition: what setup PUTs equals the templates'
resources evaluated for the same names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dicomidx.cloud.arm import ArmSession
from dicomidx.cloud.provisioning import STEPS, apply
from dicomidx.cloud.roles import RoleOptions
from dicomidx.events.template import TemplateContext, evaluate, template_context
from dicomidx.settings import Settings
from tests.fake_arm import FakeArm, principal_for

TEMPLATES = Path(__file__).parents[2] / "templates"
ROLE_ASSIGNMENTS = "microsoft.authorization/roleassignments"


def evaluated(name: str, settings: Settings, **parameters: Any) -> list[dict[str, Any]]:
    """The template's resources evaluated; `reference()` stays as written, no dependsOn."""
    template = json.loads((TEMPLATES / name).read_text(encoding="utf-8"))
    context = template_context(
        template,
        {"parameters": {key: {"value": value} for key, value in parameters.items()}},
        context=TemplateContext(
            subscription_id=str(settings.subscription),
            resource_group=str(settings.resource_group),
            location="westus3",
        ),
    )

    def value(item: Any) -> Any:
        if isinstance(item, str) and "reference(" in item:
            return item
        if isinstance(item, dict):
            return {key: value(inner) for key, inner in item.items() if key != "dependsOn"}
        return evaluate(item, context)

    return [value(resource) for resource in template["resources"]]


def of_type(resources: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["type"].lower() == kind.lower()]


@pytest.fixture
def deployed(session: ArmSession, arm: FakeArm) -> FakeArm:
    apply(session, STEPS, RoleOptions())
    return arm


@pytest.fixture
def template(settings: Settings) -> list[dict[str, Any]]:
    return evaluated(
        "storage-indexing.json",
        settings,
        storageAccountName=settings.storage_account,
        fileSystemName=settings.file_system,
        workspaceName=settings.workspace,
        dicomServiceName=settings.dicom_service,
        dicomServicePrincipalId=principal_for(settings.dicom_service_id),
    )


def test_the_queues_are_the_templates_queues(
    deployed: FakeArm, template: list[dict[str, Any]], settings: Settings
) -> None:
    for queue in of_type(template, "Microsoft.Storage/storageAccounts/queueServices/queues"):
        name = queue["name"].rsplit("/", 1)[-1]
        assert deployed.bodies("PUT", f"/queues/{name}") == [{"properties": queue["properties"]}]
        assert queue["apiVersion"] == "2024-01-01"


def test_the_role_assignments_have_the_templates_names_roles_and_scopes(
    deployed: FakeArm, template: list[dict[str, Any]], settings: Settings
) -> None:
    group = settings.resource_group_id
    put = {
        r.path: r.body["properties"]
        for r in deployed.requests
        if r.method == "PUT" and "/roleAssignments/" in r.path and r.status == 201
    }
    by_scope_and_role = {
        (path.split("/providers/Microsoft.Authorization/")[0], body["roleDefinitionId"]): (
            path.rsplit("/", 1)[-1],
            body,
        )
        for path, body in put.items()
    }

    expected = of_type(template, ROLE_ASSIGNMENTS)
    assert len(expected) == len(put) == 4
    for assignment in expected:
        scope = f"{group}/providers/{assignment['scope']}"
        properties = assignment["properties"]
        name, body = by_scope_and_role[(scope, properties["roleDefinitionId"])]
        assert name == assignment["name"]  # so a template deployment after setup never 409s
        assert body["principalType"] == properties["principalType"]
        if "reference(" not in properties["principalId"]:  # the DICOM service's identity
            assert body["principalId"] == properties["principalId"]


def test_the_topic_and_subscription_are_the_templates(
    deployed: FakeArm, template: list[dict[str, Any]], settings: Settings
) -> None:
    [topic] = of_type(template, "Microsoft.EventGrid/systemTopics")
    [subscription] = of_type(template, "Microsoft.EventGrid/systemTopics/eventSubscriptions")
    topic_name, subscription_name = subscription["name"].split("/")

    [topic_put] = deployed.bodies("PUT", f"/systemTopics/{topic['name']}")
    [subscription_put] = deployed.bodies("PUT", f"/eventSubscriptions/{subscription_name}")

    assert topic_name == topic["name"]
    assert topic_put == {k: topic[k] for k in ("location", "identity", "properties")}
    assert subscription_put["properties"] == subscription["properties"]
    assert subscription["apiVersion"] == topic["apiVersion"] == "2025-02-15"


def test_the_dicom_service_gets_the_templates_storage_configuration(
    deployed: FakeArm, settings: Settings
) -> None:
    [service] = evaluated(
        "dicom-service.json",
        settings,
        workspaceName=settings.workspace,
        dicomServiceName=settings.dicom_service,
        storageAccountName=settings.storage_account,
        fileSystemName=settings.file_system,
    )

    [put] = deployed.bodies("PUT", f"/dicomservices/{settings.dicom_service}")
    storage = service["properties"]["storageConfiguration"]
    assert put["properties"]["storageConfiguration"] == storage
    assert service["apiVersion"] == "2025-04-01-preview"
