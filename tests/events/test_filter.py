"""Event Grid's filter semantics, operator by operator (reference section 3)."""

from __future__ import annotations

from typing import Any

import pytest

from dicomidx.errors import InputError
from dicomidx.events.decode import parse_event
from dicomidx.events.filter import AdvancedFilter, EventFilter
from dicomidx.events.filter_json import filter_from_json
from dicomidx.events.model import StorageEvent
from tests.events.corpus import cloud_event


def _event(**data: Any) -> StorageEvent:
    event = parse_event(cloud_event(**data))
    assert isinstance(event, StorageEvent)
    return event


def _passes(operator: str, values: tuple[Any, ...], *, on_arrays: bool = True, **data: Any) -> bool:
    flt = EventFilter(
        advanced_filters=(AdvancedFilter(operator, "data.probe", values),),
        enable_advanced_filtering_on_arrays=on_arrays,
    )
    return flt.check(_event(**data)) is None


# Missing key: not matched for every operator but NumberNotIn and StringNotIn.
@pytest.mark.parametrize(
    ("operator", "values", "delivered"),
    [
        ("NumberGreaterThan", (1,), False),
        ("NumberGreaterThanOrEquals", (1,), False),
        ("NumberLessThan", (1,), False),
        ("NumberLessThanOrEquals", (1,), False),
        ("NumberIn", (1, 2), False),
        ("NumberNotIn", (1, 2), True),
        ("NumberInRange", ((0, 9),), False),
        ("NumberNotInRange", ((0, 9),), True),
        ("BoolEquals", (True,), False),
        ("StringContains", ("a",), False),
        ("StringNotContains", ("a",), False),
        ("StringBeginsWith", ("a",), False),
        ("StringNotBeginsWith", ("a",), False),
        ("StringEndsWith", ("a",), False),
        ("StringNotEndsWith", ("a",), False),
        ("StringIn", ("a",), False),
        ("StringNotIn", ("a",), True),
        ("IsNullOrUndefined", (), True),
        ("IsNotNull", (), False),
    ],
)
def test_a_missing_key_follows_the_documented_rule_for_each_operator(
    operator: str, values: tuple[Any, ...], delivered: bool
) -> None:
    assert _passes(operator, values) is delivered


@pytest.mark.parametrize(
    ("operator", "values", "probe", "delivered"),
    [
        ("StringContains", ("ABC",), "xxabcxx", True),
        ("StringBeginsWith", ("TAG:",), "tag:x", True),
        ("StringEndsWith", (".DCM",), "a.dcm", True),
        ("StringIn", ("Foo", "Bar"), "bar", True),
        ("StringNotIn", ("Foo", "Bar"), "BAR", False),
        ("StringNotIn", ("Foo", "Bar"), "baz", True),
        ("StringNotBeginsWith", ("TAG:",), "Tag:x", False),
        ("StringNotContains", ("a", "b"), "xbx", False),
        ("StringNotContains", ("a", "b"), "xyz", True),
        ("StringNotEndsWith", ("z",), "abc", True),
    ],
)
def test_string_comparisons_ignore_case_and_or_their_values(
    operator: str, values: tuple[str, ...], probe: str, delivered: bool
) -> None:
    assert _passes(operator, values, probe=probe) is delivered


@pytest.mark.parametrize(
    ("operator", "values", "probe", "delivered"),
    [
        ("NumberGreaterThan", (5,), 6, True),
        ("NumberGreaterThan", (5,), 5, False),
        ("NumberGreaterThanOrEquals", (5,), 5, True),
        ("NumberLessThan", (5,), 4.5, True),
        ("NumberLessThanOrEquals", (5,), 6, False),
        ("NumberIn", (1, 2, 3), 2, True),
        ("NumberIn", (1, 2, 3), 4, False),
        ("NumberNotIn", (1, 2, 3), 4, True),
        ("NumberNotIn", (1, 2, 3), 2, False),
        ("NumberInRange", ((0, 1), (5, 9)), 7, True),
        ("NumberInRange", ((0, 1), (5, 9)), 3, False),
        ("NumberNotInRange", ((0, 1), (5, 9)), 3, True),
        ("NumberGreaterThan", (5,), "6", False),  # a string is not a number
        ("BoolEquals", (True,), True, True),
        ("BoolEquals", (True,), "true", False),
        ("BoolEquals", (False,), False, True),
    ],
)
def test_number_and_bool_operators_compare_only_values_of_their_type(
    operator: str, values: tuple[Any, ...], probe: Any, delivered: bool
) -> None:
    assert _passes(operator, values, probe=probe) is delivered


def test_null_counts_as_missing_except_for_the_null_operators() -> None:
    assert _passes("IsNullOrUndefined", (), probe=None)
    assert not _passes("IsNotNull", (), probe=None)
    assert not _passes("StringIn", ("x",), probe=None)
    assert _passes("StringNotIn", ("x",), probe=None)


def test_array_values_match_a_positive_operator_when_any_element_does() -> None:
    assert _passes("StringIn", ("b",), probe=["a", "B"])
    assert not _passes("StringIn", ("z",), probe=["a", "b"])
    assert _passes("NumberGreaterThan", (5,), probe=[1, 9])


def test_array_values_match_a_negated_operator_only_when_no_element_matches() -> None:
    assert not _passes("StringNotIn", ("b",), probe=["a", "b"])
    assert _passes("StringNotIn", ("z",), probe=["a", "b"])


def test_an_array_satisfies_no_comparison_without_array_filtering() -> None:
    assert not _passes("StringIn", ("a",), probe=["a"], on_arrays=False)
    assert not _passes("StringNotIn", ("z",), probe=["a"], on_arrays=False)
    assert _passes("IsNotNull", (), probe=["a"], on_arrays=False)


def test_separate_filters_are_anded() -> None:
    flt = EventFilter(
        advanced_filters=(
            AdvancedFilter("StringIn", "data.api", ("PutBlob",)),
            AdvancedFilter("NumberGreaterThan", "data.contentLength", (1000,)),
        )
    )
    assert flt.check(_event(api="PutBlob", content_length=2000)) is None
    verdict = flt.check(_event(api="PutBlob", content_length=10))
    assert verdict is not None
    assert "data.contentLength NumberGreaterThan 1000" in verdict.detail


def test_keys_reach_envelope_attributes_and_nested_data() -> None:
    assert _passes_key("type", "StringIn", ("microsoft.storage.blobcreated",))
    assert _passes_key("data.storageDiagnostics.batchId", "StringBeginsWith", ("b68529f3",))
    assert _passes_key("Data.Api", "StringIn", ("putblob",))  # keys fall back to any case


def _passes_key(key: str, operator: str, values: tuple[Any, ...]) -> bool:
    flt = EventFilter(advanced_filters=(AdvancedFilter(operator, key, values),))
    return flt.check(_event()) is None


def test_subject_filters_ignore_case_unless_told_otherwise() -> None:
    event = _event()
    loose = EventFilter(subject_begins_with=event.subject.upper(), subject_ends_with=".DCM")
    strict = EventFilter(subject_ends_with=".DCM", is_subject_case_sensitive=True)
    assert loose.check(event) is None
    verdict = strict.check(event)
    assert verdict is not None
    assert verdict.reason.value == "subject-suffix"


def test_included_event_types_absent_empty_or_all_mean_every_type() -> None:
    event = _event(type="Microsoft.Storage.BlobRenamed")
    for body in (
        {},
        {"includedEventTypes": None},
        {"includedEventTypes": []},
        {"includedEventTypes": ["All"]},
    ):
        assert filter_from_json(body).check(event) is None


@pytest.mark.parametrize(
    "document",
    [
        {"includedEventTypes": ["Microsoft.Storage.BlobDeleted"]},
        {"filter": {"includedEventTypes": ["Microsoft.Storage.BlobDeleted"]}},
        {
            "name": "sub",
            "properties": {"filter": {"includedEventTypes": ["Microsoft.Storage.BlobDeleted"]}},
        },
    ],
)
def test_a_filter_is_read_at_top_level_under_filter_or_under_properties(
    document: dict[str, Any],
) -> None:
    verdict = filter_from_json(document).check(_event())
    assert verdict is not None
    assert verdict.reason.value == "event-type"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"key": "a", "operatorType": "NumberGreaterThan", "values": [1]}, "single 'value'"),
        ({"key": "a", "operatorType": "StringIn", "value": "x"}, "list 'values'"),
        ({"key": "a", "operatorType": "StringFuzzy", "values": ["x"]}, "unknown operatorType"),
        ({"key": "a", "operatorType": "StringIn", "values": [1]}, "must be strings"),
        ({"key": "a", "operatorType": "NumberIn", "values": ["1"]}, "must be numbers"),
        ({"key": "a", "operatorType": "NumberInRange", "values": [[1]]}, "number pairs"),
        ({"key": "a", "operatorType": "BoolEquals", "value": "true"}, "true or false"),
        ({"key": "", "operatorType": "IsNotNull"}, "non-empty string"),
        ({"key": "a", "operatorType": "StringIn", "values": ["x" * 513]}, "512"),
    ],
)
def test_a_filter_event_grid_would_reject_is_an_input_error(
    item: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        filter_from_json({"advancedFilters": [item]})


def test_more_than_25_advanced_filter_values_is_an_input_error() -> None:
    item = {"key": "a", "operatorType": "StringIn", "values": [str(n) for n in range(26)]}
    with pytest.raises(InputError, match="Event Grid allows 25"):
        filter_from_json({"advancedFilters": [item]})


def test_a_filter_survives_a_round_trip_through_its_arm_form() -> None:
    document = {
        "includedEventTypes": ["Microsoft.Storage.BlobCreated"],
        "subjectBeginsWith": "/blobServices/default/containers/x/blobs/",
        "subjectEndsWith": ".dcm",
        "isSubjectCaseSensitive": True,
        "advancedFilters": [
            {"key": "data.api", "operatorType": "StringIn", "values": ["PutBlob"]},
            {"key": "data.contentLength", "operatorType": "NumberGreaterThan", "value": 0},
            {"key": "data.x", "operatorType": "NumberInRange", "values": [[1, 2]]},
            {"key": "data.y", "operatorType": "IsNotNull"},
        ],
        "enableAdvancedFilteringOnArrays": True,
    }
    assert filter_from_json(document).to_arm() == document
