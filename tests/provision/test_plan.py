"""The plan model: what counts as a difference, and how a plan reads as JSON."""

from __future__ import annotations

from dicomidx.cloud.clouds import CLOUDS, CloudName
from dicomidx.provision.plan import ABSENT, Action, State, diff, plan_resource

ACCOUNT = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct"


def test_a_missing_resource_is_created_with_every_desired_property_as_a_change() -> None:
    planned = plan_resource("queue", "queue", "q", "id", current=None, desired={"a": {"b": 1}})

    assert planned.action is Action.CREATE
    assert planned.state is State.MISSING
    assert planned.to_json()["changes"] == [{"property": "a.b", "current": None, "desired": 1}]


def test_properties_dicomidx_does_not_set_are_not_differences() -> None:
    current = {"properties": {"metadata": {}, "approximateMessageCount": 3}, "etag": "x"}

    assert list(diff(current, {"properties": {"metadata": {}}})) == []


def test_resource_ids_compare_without_regard_to_case_and_other_strings_with_it() -> None:
    current = {"resourceId": ACCOUNT.lower(), "queueName": "Storage-Events"}
    desired = {"resourceId": ACCOUNT, "queueName": "storage-events"}

    [change] = diff(current, desired)

    assert (change.path, change.current, change.desired) == (
        "queueName",
        "Storage-Events",
        "storage-events",
    )


def test_a_list_that_differs_is_one_change_with_both_lists() -> None:
    current = {"includedEventTypes": ["Microsoft.Storage.BlobCreated"]}
    desired = {
        "includedEventTypes": ["Microsoft.Storage.BlobCreated", "Microsoft.Storage.BlobDeleted"]
    }

    [change] = diff(current, desired)

    assert change.current == current["includedEventTypes"]
    assert change.desired == desired["includedEventTypes"]


def test_a_number_is_not_equal_to_its_text_or_a_boolean() -> None:
    assert len(list(diff({"ttl": "604800", "flag": 1}, {"ttl": 604800, "flag": True}))) == 2


def test_an_absent_property_is_reported_as_null() -> None:
    [change] = diff({}, {"storageEventQueueName": "storage-events"})

    assert change.current is ABSENT
    assert change.to_json()["current"] is None


def test_an_unchanged_resource_is_present_and_writes_nothing() -> None:
    planned = plan_resource("queue", "queue", "q", "id", current={"a": 1}, desired={"a": 1})

    assert (planned.action, planned.state, planned.writes) == (
        Action.UNCHANGED,
        State.PRESENT,
        False,
    )


def test_each_cloud_asks_for_a_token_for_its_own_resource_manager() -> None:
    assert CLOUDS[CloudName.PUBLIC].token_scope == "https://management.azure.com/.default"
    assert CLOUDS[CloudName.CHINA].authority == "login.chinacloudapi.cn"
    assert CLOUDS[CloudName.USGOV].arm_endpoint == "https://management.usgovcloudapi.net"
