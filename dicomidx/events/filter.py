"""An Event Grid event-subscription filter, evaluated the way Event Grid evaluates it.

Semantics follow the Event Grid event-filtering article (reference section 3):
- subject filters are plain prefix and suffix matches, case-insensitive unless
  `isSubjectCaseSensitive` is true;
- every advanced-filter string comparison is case-insensitive;
- the values of one filter are ORed, separate filters are ANDed; a negated operator matches
  only when no value matches;
- a missing key fails every operator except NumberNotIn, StringNotIn (and, by the same
  reasoning, NumberNotInRange), which match, and IsNullOrUndefined, which matches;
- with `enableAdvancedFilteringOnArrays` an array value matches a positive operator when any
  element does, and a negated one when no element does.

Where the article is silent, the choices are documented in the README: keys are looked up
exactly and then case-insensitively, `null` counts as missing, a value of the wrong type never
equals a filter value, and an array without array filtering satisfies no comparison.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dicomidx.events.model import BLOB_CREATED, BLOB_DELETED, StorageEvent
from dicomidx.events.outcome import Reason, Verdict
from dicomidx.settings import Settings

MAX_ADVANCED_FILTERS = 25
MAX_ADVANCED_VALUES = 25
MAX_VALUE_LENGTH = 512

_MISSING: Any = object()

# Operators that take one `value`; every other comparison takes a list of `values`.
SINGLE_VALUE_OPERATORS = frozenset(
    {
        "NumberGreaterThan",
        "NumberGreaterThanOrEquals",
        "NumberLessThan",
        "NumberLessThanOrEquals",
        "BoolEquals",
    }
)
NO_VALUE_OPERATORS = frozenset({"IsNullOrUndefined", "IsNotNull"})
NEGATED_OPERATORS = frozenset(
    {
        "NumberNotIn",
        "NumberNotInRange",
        "StringNotContains",
        "StringNotBeginsWith",
        "StringNotEndsWith",
        "StringNotIn",
    }
)
# A missing key matches these (the article lists the two NotIn operators).
MATCH_WHEN_MISSING = frozenset({"NumberNotIn", "StringNotIn", "NumberNotInRange"})


def _number(item: object) -> float | None:
    if isinstance(item, bool) or not isinstance(item, int | float):
        return None
    return float(item)


def _string(item: object) -> str | None:
    if isinstance(item, str):
        return item.lower()
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int | float):
        return str(item).lower()
    return None


def _number_test(compare: Callable[[float, float], bool]) -> Callable[[object, Any], bool]:
    def test(item: object, value: Any) -> bool:
        number = _number(item)
        return number is not None and compare(number, value)

    return test


def _string_test(compare: Callable[[str, str], bool]) -> Callable[[object, Any], bool]:
    def test(item: object, value: Any) -> bool:
        text = _string(item)
        return text is not None and compare(text, value)

    return test


def _in_range(item: object, bounds: Any) -> bool:
    number = _number(item)
    return number is not None and bounds[0] <= number <= bounds[1]


def _bool_equals(item: object, value: Any) -> bool:
    return isinstance(item, bool) and item is value


# Whether one event value satisfies one filter value; negation is applied by the caller.
_TESTS: dict[str, Callable[[object, Any], bool]] = {
    "NumberIn": _number_test(lambda a, b: a == b),
    "NumberNotIn": _number_test(lambda a, b: a == b),
    "NumberLessThan": _number_test(lambda a, b: a < b),
    "NumberGreaterThan": _number_test(lambda a, b: a > b),
    "NumberLessThanOrEquals": _number_test(lambda a, b: a <= b),
    "NumberGreaterThanOrEquals": _number_test(lambda a, b: a >= b),
    "NumberInRange": _in_range,
    "NumberNotInRange": _in_range,
    "BoolEquals": _bool_equals,
    "StringContains": _string_test(lambda a, b: b in a),
    "StringNotContains": _string_test(lambda a, b: b in a),
    "StringBeginsWith": _string_test(lambda a, b: a.startswith(b)),
    "StringNotBeginsWith": _string_test(lambda a, b: a.startswith(b)),
    "StringEndsWith": _string_test(lambda a, b: a.endswith(b)),
    "StringNotEndsWith": _string_test(lambda a, b: a.endswith(b)),
    "StringIn": _string_test(lambda a, b: a == b),
    "StringNotIn": _string_test(lambda a, b: a == b),
}
OPERATORS = frozenset(_TESTS) | NO_VALUE_OPERATORS


@dataclass(frozen=True)
class AdvancedFilter:
    """One advanced filter: `key`, `operator_type` and its filter values."""

    operator_type: str
    key: str
    values: tuple[Any, ...] = ()
    # Filter values in the form the tests compare (lower-case strings, floats, bools), and
    # the key split once: both are used for every event.
    _compiled: tuple[Any, ...] = field(default=(), init=False, repr=False, compare=False)
    _key_parts: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        compiled = tuple(_compile_value(self.operator_type, value) for value in self.values)
        object.__setattr__(self, "_compiled", compiled)
        object.__setattr__(self, "_key_parts", tuple(self.key.split(".")))

    def matches(self, envelope: Mapping[str, Any], *, on_arrays: bool) -> bool:
        value = _lookup_parts(envelope, self._key_parts)
        if self.operator_type == "IsNullOrUndefined":
            return value is _MISSING or value is None
        if self.operator_type == "IsNotNull":
            return value is not _MISSING and value is not None
        if value is _MISSING or value is None:
            return self.operator_type in MATCH_WHEN_MISSING

        if isinstance(value, list):
            if not on_arrays:
                return False
            items: Sequence[object] = value
        else:
            items = (value,)

        test, negated = _TESTS[self.operator_type], self.operator_type in NEGATED_OPERATORS
        for item in items:
            for wanted in self._compiled:
                if test(item, wanted):
                    return not negated
        return negated

    def describe(self) -> str:
        if self.operator_type in NO_VALUE_OPERATORS:
            return f"{self.key} {self.operator_type}"
        if self.operator_type in SINGLE_VALUE_OPERATORS:
            return f"{self.key} {self.operator_type} {_json(self.values[0])}"
        return f"{self.key} {self.operator_type} {_json(list(self.values))}"

    def to_arm(self) -> dict[str, Any]:
        body: dict[str, Any] = {"key": self.key, "operatorType": self.operator_type}
        if self.operator_type in SINGLE_VALUE_OPERATORS:
            body["value"] = self.values[0]
        elif self.operator_type not in NO_VALUE_OPERATORS:
            body["values"] = [list(v) if isinstance(v, tuple) else v for v in self.values]
        return body


@dataclass(frozen=True)
class EventFilter:
    """An event subscription's `filter`, in Event Grid's terms."""

    included_event_types: tuple[str, ...] | None = None
    subject_begins_with: str = ""
    subject_ends_with: str = ""
    is_subject_case_sensitive: bool = False
    advanced_filters: tuple[AdvancedFilter, ...] = ()
    enable_advanced_filtering_on_arrays: bool = False
    _types_folded: frozenset[str] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.included_event_types is not None:
            # As given and in lower case: the exact spelling is found without lower().
            types = self.included_event_types
            folded = frozenset(types) | frozenset(t.lower() for t in types)
            object.__setattr__(self, "_types_folded", folded)

    def check(self, event: StorageEvent) -> Verdict | None:
        """None when Event Grid would deliver the event, else why it would not."""
        folded = self._types_folded
        if folded is not None and event.type not in folded and event.type.lower() not in folded:
            return Verdict(
                Reason.EVENT_TYPE,
                f"type {event.type!r} is not among includedEventTypes "
                f"{_json(list(self.included_event_types or ()))}",
                event,
            )

        subject, begins, ends = event.subject, self.subject_begins_with, self.subject_ends_with
        if not self.is_subject_case_sensitive:
            subject, begins, ends = subject.lower(), begins.lower(), ends.lower()
        if not subject.startswith(begins):
            return Verdict(
                Reason.SUBJECT_PREFIX,
                f"subject does not begin with {self.subject_begins_with!r}{self._case_note()}",
                event,
            )
        if not subject.endswith(ends):
            return Verdict(
                Reason.SUBJECT_SUFFIX,
                f"subject does not end with {self.subject_ends_with!r}{self._case_note()}",
                event,
            )

        on_arrays = self.enable_advanced_filtering_on_arrays
        for advanced in self.advanced_filters:
            if not advanced.matches(event.envelope, on_arrays=on_arrays):
                missing = lookup(event.envelope, advanced.key) is _MISSING
                why = "the event has no such key" if missing else "the value does not satisfy it"
                return Verdict(Reason.ADVANCED_FILTER, f"{advanced.describe()}: {why}", event)
        return None

    def warnings(self) -> list[str]:
        """Ways this filter drops events silently, for people to decide on."""
        found = []
        for advanced in self.advanced_filters:
            if advanced.key.lower() == "data.clientrequestid" and (
                advanced.operator_type not in MATCH_WHEN_MISSING | NO_VALUE_OPERATORS
            ):
                found.append(
                    f"advanced filter '{advanced.describe()}' drops every event without "
                    "data.clientRequestId: SFTP uploads and deletes, and some DeleteBlob "
                    "events, never reach the queue"
                )
        if self.subject_ends_with:
            if self.is_subject_case_sensitive:
                found.append(
                    f"subjectEndsWith {self.subject_ends_with!r} is case-sensitive: files "
                    f"ending in {self.subject_ends_with.upper()!r} and files without that "
                    "extension are never indexed"
                )
            else:
                found.append(
                    f"subjectEndsWith {self.subject_ends_with!r}: files without that "
                    "extension are never indexed"
                )
        return found

    def to_arm(self) -> dict[str, Any]:
        """The filter as an event subscription's `properties.filter` (camelCase)."""
        body: dict[str, Any] = {}
        if self.included_event_types is not None:
            body["includedEventTypes"] = list(self.included_event_types)
        if self.subject_begins_with:
            body["subjectBeginsWith"] = self.subject_begins_with
        if self.subject_ends_with:
            body["subjectEndsWith"] = self.subject_ends_with
        body["isSubjectCaseSensitive"] = self.is_subject_case_sensitive
        if self.advanced_filters:
            body["advancedFilters"] = [f.to_arm() for f in self.advanced_filters]
        body["enableAdvancedFilteringOnArrays"] = self.enable_advanced_filtering_on_arrays
        return body

    def _case_note(self) -> str:
        return " (case-sensitive)" if self.is_subject_case_sensitive else ""


def recommended_filter(settings: Settings) -> EventFilter:
    """Microsoft's template filter for the configured names (reference section 2)."""
    return EventFilter(
        included_event_types=(BLOB_CREATED, BLOB_DELETED),
        subject_begins_with=settings.subject_prefix,
        subject_ends_with=".dcm",
        is_subject_case_sensitive=True,
        advanced_filters=(
            AdvancedFilter(
                "StringNotBeginsWith", "data.clientRequestId", (settings.self_write_tag_prefix,)
            ),
        ),
        enable_advanced_filtering_on_arrays=True,
    )


def lookup(envelope: Mapping[str, Any], key: str) -> Any:
    """The value at a dotted key (`data.clientRequestId`), or _MISSING."""
    return _lookup_parts(envelope, key.split("."))


def _lookup_parts(envelope: Mapping[str, Any], parts: Sequence[str]) -> Any:
    node: Any = envelope
    for part in parts:
        if not isinstance(node, dict):
            return _MISSING
        if part in node:
            node = node[part]
            continue
        folded = part.lower()
        for name, value in node.items():
            if name.lower() == folded:
                node = value
                break
        else:
            return _MISSING
    return node


def _compile_value(operator: str, value: Any) -> Any:
    if operator.startswith("String"):
        return str(value).lower()
    if operator.endswith("Range"):
        return (float(value[0]), float(value[1]))
    if operator.startswith("Number"):
        return float(value)
    return value


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)
