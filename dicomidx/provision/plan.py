"""What setup would do to each resource, and what status found: the pure plan model.

A plan compares the desired body of a resource (ARM's camelCase JSON) with the body ARM
returned. Only the properties dicomidx sets are compared; everything else on the live resource
is somebody else's and stays as it is. Resource ids compare case-insensitively, as ARM does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"


class State(StrEnum):
    PRESENT = "present"
    MISSING = "missing"
    DRIFTED = "drifted"


_STATE_OF = {Action.CREATE: State.MISSING, Action.UPDATE: State.DRIFTED}


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class Change:
    """One property that differs: where, what ARM has, what dicomidx wants."""

    path: str
    current: Any
    desired: Any

    def to_json(self) -> dict[str, Any]:
        current = None if self.current is ABSENT else self.current
        return {"property": self.path, "current": current, "desired": self.desired}


@dataclass(frozen=True)
class ResourcePlan:
    """One resource of one step, and what setup does to it."""

    step: str
    kind: str
    name: str
    resource_id: str
    action: Action
    changes: tuple[Change, ...] = ()
    note: str = ""
    # What applying needs (a body, an assignment); never rendered.
    payload: Any = field(default=None, compare=False, repr=False)

    @property
    def state(self) -> State:
        return _STATE_OF.get(self.action, State.PRESENT)

    @property
    def writes(self) -> bool:
        return self.action is not Action.UNCHANGED

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "kind": self.kind,
            "name": self.name,
            "id": self.resource_id,
            "action": self.action.value,
            "state": self.state.value,
            "changes": [change.to_json() for change in self.changes],
            "note": self.note,
        }


@dataclass(frozen=True)
class StepPlan:
    """The resources of one step, and the warnings found while reading them."""

    step: str
    resources: tuple[ResourcePlan, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def writes(self) -> bool:
        return any(resource.writes for resource in self.resources)


@dataclass(frozen=True)
class Plan:
    steps: tuple[StepPlan, ...]

    @property
    def resources(self) -> list[ResourcePlan]:
        return [resource for step in self.steps for resource in step.resources]

    @property
    def warnings(self) -> list[str]:
        return [text for step in self.steps for text in step.warnings]

    @property
    def writes(self) -> bool:
        return any(step.writes for step in self.steps)

    def to_json(self) -> dict[str, Any]:
        return {
            "resources": [resource.to_json() for resource in self.resources],
            "warnings": self.warnings,
        }


def plan_resource(
    step: str,
    kind: str,
    name: str,
    resource_id: str,
    *,
    current: Mapping[str, Any] | None,
    desired: Mapping[str, Any],
    note: str = "",
    payload: Any = None,
) -> ResourcePlan:
    """Create when ARM has nothing, update when a desired property differs, else unchanged."""
    if current is None:
        changes = tuple(diff(ABSENT, desired))
        action = Action.CREATE
    else:
        changes = tuple(diff(current, desired))
        action = Action.UPDATE if changes else Action.UNCHANGED
    body = desired if payload is None else payload
    return ResourcePlan(step, kind, name, resource_id, action, changes, note, body)


def diff(current: Any, desired: Any, path: str = "") -> Iterable[Change]:
    """The desired leaves that the current body lacks or holds with another value."""
    if isinstance(desired, Mapping) and desired:
        for key, value in desired.items():
            child = current.get(key, ABSENT) if isinstance(current, Mapping) else ABSENT
            yield from diff(child, value, f"{path}.{key}" if path else key)
        return

    if not same(current, desired, key=path.rsplit(".", 1)[-1]):
        yield Change(path, current, desired)


def same(current: Any, desired: Any, *, key: str = "") -> bool:
    """Equal for ARM: ids without regard to case; extra keys on the live side ignored."""
    if isinstance(desired, Mapping):
        return isinstance(current, Mapping) and all(
            same(current.get(k, ABSENT), v, key=k) for k, v in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(current, list)
            and len(current) == len(desired)
            and all(same(c, d, key=key) for c, d in zip(current, desired, strict=True))
        )
    if isinstance(desired, str) and isinstance(current, str) and _is_id(key):
        return current.casefold() == desired.casefold()
    return bool(current == desired) and type(current) is type(desired)


def _is_id(key: str) -> bool:
    return key.endswith("Id") or key in ("source", "scope")
