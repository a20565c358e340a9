"""Read an event subscription filter from JSON, refusing what Event Grid would refuse.

The JSON is the filter as `az eventgrid system-topic event-subscription show` prints it
(camelCase), or the `filter` of an ARM template after its expressions are evaluated.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from dicomidx.errors import InputError
from dicomidx.events.filter import (
    MAX_ADVANCED_FILTERS,
    MAX_ADVANCED_VALUES,
    MAX_VALUE_LENGTH,
    NO_VALUE_OPERATORS,
    OPERATORS,
    SINGLE_VALUE_OPERATORS,
    AdvancedFilter,
    EventFilter,
)


def filter_from_json(document: object, *, origin: str = "filter") -> EventFilter:
    """Read a filter as `az eventgrid ... event-subscription show` prints it.

    The filter object may stand at the top level, under `filter`, or under
    `properties.filter`. `{}` is a filter that lets everything through.
    """
    if not isinstance(document, dict):
        raise InputError(f"{origin}: a filter must be a JSON object")

    body: Any = document
    if isinstance(document.get("properties"), dict) and "filter" in document["properties"]:
        body = document["properties"]["filter"]
    elif "filter" in document:
        body = document["filter"]
    if body is None:
        return EventFilter()
    if not isinstance(body, dict):
        raise InputError(f"{origin}: 'filter' must be a JSON object")

    types = body.get("includedEventTypes")
    if types is not None:
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise InputError(f"{origin}: includedEventTypes must be a list of strings")
        # An empty list and the old "All" both mean every type.
        types = None if not types or [t.lower() for t in types] == ["all"] else tuple(types)

    advanced = tuple(
        _advanced_from_json(item, origin=f"{origin}: advancedFilters[{i}]")
        for i, item in enumerate(_list(body.get("advancedFilters"), origin))
    )
    _check_limits(advanced, origin=origin)
    return EventFilter(
        included_event_types=types,
        subject_begins_with=_str(body.get("subjectBeginsWith"), "subjectBeginsWith", origin),
        subject_ends_with=_str(body.get("subjectEndsWith"), "subjectEndsWith", origin),
        is_subject_case_sensitive=_bool(
            body.get("isSubjectCaseSensitive"), "isSubjectCaseSensitive", origin
        ),
        advanced_filters=advanced,
        enable_advanced_filtering_on_arrays=_bool(
            body.get("enableAdvancedFilteringOnArrays"), "enableAdvancedFilteringOnArrays", origin
        ),
    )


def _advanced_from_json(item: object, *, origin: str) -> AdvancedFilter:
    if not isinstance(item, dict):
        raise InputError(f"{origin} must be an object")

    operator = item.get("operatorType")
    key = item.get("key")
    if operator not in OPERATORS:
        raise InputError(
            f"{origin}: unknown operatorType {operator!r}",
            hint=f"known operators: {', '.join(sorted(OPERATORS))}",
        )
    if not isinstance(key, str) or not key:
        raise InputError(f"{origin}: 'key' must be a non-empty string")

    if operator in NO_VALUE_OPERATORS:
        values: tuple[Any, ...] = ()
    elif operator in SINGLE_VALUE_OPERATORS:
        if "values" in item or "value" not in item:
            raise InputError(f"{origin}: {operator} takes a single 'value', not 'values'")
        values = (item["value"],)
    else:
        if "value" in item or "values" not in item:
            raise InputError(f"{origin}: {operator} takes a list 'values', not 'value'")
        values = tuple(_list(item["values"], origin))

    for value in values:
        _check_value(operator, value, origin=origin)
    return AdvancedFilter(operator, key, values)


def _check_value(operator: str, value: Any, *, origin: str) -> None:
    if operator.startswith("String"):
        if not isinstance(value, str):
            raise InputError(f"{origin}: {operator} values must be strings, got {_json(value)}")
        if len(value) > MAX_VALUE_LENGTH:
            raise InputError(f"{origin}: a value is longer than {MAX_VALUE_LENGTH} characters")
    elif operator.endswith("Range"):
        if not (
            isinstance(value, list)
            and len(value) == 2
            and all(_number_like(bound) for bound in value)
        ):
            raise InputError(f"{origin}: {operator} values must be [low, high] number pairs")
    elif operator.startswith("Number"):
        if not _number_like(value):
            raise InputError(f"{origin}: {operator} values must be numbers, got {_json(value)}")
    elif operator == "BoolEquals" and not isinstance(value, bool):
        raise InputError(f"{origin}: BoolEquals takes true or false, got {_json(value)}")


def _check_limits(advanced: Iterable[AdvancedFilter], *, origin: str) -> None:
    filters = list(advanced)
    if len(filters) > MAX_ADVANCED_FILTERS:
        raise InputError(
            f"{origin}: {len(filters)} advanced filters; Event Grid allows {MAX_ADVANCED_FILTERS}"
        )
    total = sum(max(len(f.values), 1) for f in filters)
    if total > MAX_ADVANCED_VALUES:
        raise InputError(
            f"{origin}: {total} advanced filter values in all; Event Grid allows "
            f"{MAX_ADVANCED_VALUES}"
        )


def _list(value: object, origin: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"{origin}: expected a list, got {_json(value)}")
    return value


def _str(value: object, name: str, origin: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(f"{origin}: {name} must be a string")
    return value


def _bool(value: object, name: str, origin: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InputError(f"{origin}: {name} must be true or false")
    return value


def _number_like(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)
