"""templates/ and the recommended filter are one definition."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dicomidx.errors import InputError
from dicomidx.events.decode import decode_message, parse_event
from dicomidx.events.filter import recommended_filter
from dicomidx.events.filter_json import filter_from_json
from dicomidx.events.rules import decide
from dicomidx.events.template import TemplateContext, arm_guid, evaluate, filter_from_template
from tests.events.corpus import CASES, SETTINGS, UNFILTERED

TEMPLATES = Path(__file__).parents[2] / "templates"


def _template() -> dict[str, Any]:
    return json.loads((TEMPLATES / "storage-indexing.json").read_text())


def _parameters() -> dict[str, Any]:
    return {
        "parameters": {
            "storageAccountName": {"value": "contosoimaging"},
            "fileSystemName": {"value": SETTINGS.file_system},
            "workspaceName": {"value": SETTINGS.workspace},
            "dicomServiceName": {"value": SETTINGS.dicom_service},
            "dicomServicePrincipalId": {"value": "11111111-1111-1111-1111-111111111111"},
        }
    }


def test_the_template_filter_equals_the_recommended_filter() -> None:
    from_template = filter_from_json(filter_from_template(_template(), _parameters()))
    assert from_template == recommended_filter(SETTINGS)


def test_the_template_filter_and_the_recommended_filter_decide_every_event_alike() -> None:
    from_template = filter_from_json(filter_from_template(_template(), _parameters()))
    recommended = recommended_filter(SETTINGS)

    for case in CASES + UNFILTERED:
        item = decode_message(case.event) if case.messages else parse_event(case.event)
        assert decide(item, SETTINGS, from_template) == decide(item, SETTINGS, recommended)


def test_the_example_parameters_file_fills_every_required_parameter() -> None:
    example = json.loads((TEMPLATES / "storage-indexing.parameters.example.json").read_text())
    assert filter_from_template(_template(), example)["subjectEndsWith"] == ".dcm"


def test_a_missing_parameter_is_named() -> None:
    with pytest.raises(InputError, match=r"fileSystemName.*no value"):
        filter_from_template(_template(), {"parameters": {}})


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("[concat('a', 'b', 'c')]", "abc"),
        ("[format('{0}-{1}', 'x', 2)]", "x-2"),
        ("[toLower('AbC')]", "abc"),
        ("[resourceGroup().location]", "westus3"),
        ("[subscription().subscriptionId]", "00000000-0000-0000-0000-000000000000"),
        ("[[literal]", "[literal]"),
        ("[concat('it''s')]", "it's"),
        (
            "[resourceId('Microsoft.Storage/storageAccounts/queueServices/queues', 'a', 'default',"
            " 'q')]",
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/resource-group/"
            "providers/Microsoft.Storage/storageAccounts/a/queueServices/default/queues/q",
        ),
    ],
)
def test_template_expressions_evaluate_like_arm(expression: str, expected: str) -> None:
    assert evaluate(expression, TemplateContext()) == expected


def test_an_unsupported_template_function_is_named() -> None:
    with pytest.raises(InputError, match=r"uniqueString\(\) is not supported"):
        evaluate("[uniqueString('a')]", TemplateContext())


def test_arm_guid_is_deterministic_and_depends_on_every_part() -> None:
    assert arm_guid("a", "b") == arm_guid("a", "b")
    assert arm_guid("a", "b") != arm_guid("a", "c")
