"""`setup roles`: the data roles of the DICOM service's identity and the system topic's.

An assignment counts as present when the principal holds the role on the scope or on any scope
above it (so Microsoft's account-wide assignments satisfy the queue-scoped default). New
assignments get ARM's guid(scope, role definition, principal) as their name; a 409
`RoleAssignmentExists` (the same grant under another name) counts as done.
"""

from __future__ import annotations

from dataclasses import dataclass

from azure.core.exceptions import HttpResponseError

from dicomidx.cloud.arm import ArmSession, arm_errors, error_code, json_body, wait_until
from dicomidx.cloud.facts import Facts, Identity, choose_identity, identities
from dicomidx.errors import ConfigurationError
from dicomidx.provision.desired import (
    Assignment,
    RoleScope,
    dicom_assignments,
    topic_assignment,
)
from dicomidx.provision.plan import ABSENT, Action, Change, ResourcePlan, StepPlan

STEP = "roles"
EXISTS = "RoleAssignmentExists"


@dataclass(frozen=True)
class RoleOptions:
    scope: RoleScope = RoleScope.QUEUE
    dicom_identity: str | None = None
    topic_identity: str | None = None


def dicom_identity(facts: Facts, options: RoleOptions) -> Identity:
    found = identities(facts.dicom_service())
    chosen = choose_identity(
        found, options.dicom_identity, owner="DICOM service", flag="--dicom-identity"
    )
    if chosen is None or not chosen.principal_id:
        raise ConfigurationError(
            "the DICOM service has no managed identity to grant storage roles to",
            hint="turn on its system-assigned identity, or assign a user-assigned one",
        )
    return chosen


def topic_identity(facts: Facts, options: RoleOptions) -> Identity | None:
    """The system topic's identity, or None while there is no topic or it has none."""
    topic = facts.topic()
    if topic is None:
        return None
    chosen = choose_identity(
        identities(topic), options.topic_identity, owner="system topic", flag="--topic-identity"
    )
    return chosen if chosen is not None and chosen.principal_id else None


def plan_roles(session: ArmSession, facts: Facts, options: RoleOptions) -> StepPlan:
    settings = session.settings
    dicom = dicom_identity(facts, options)
    wanted = dicom_assignments(settings, str(dicom.principal_id), scope=options.scope)

    warnings = []
    topic = topic_identity(facts, options)
    topic_resource = facts.topic()
    if topic is not None and topic_resource is not None:
        wanted.append(
            topic_assignment(
                settings,
                str(topic.principal_id),
                topic_id=str(topic_resource["id"]),
                scope=options.scope,
            )
        )
    else:
        warnings.append(
            "the system topic or its identity does not exist yet: `setup events` grants "
            "Storage Queue Data Message Sender once it has created them"
        )
    resources = tuple(plan_assignment(session, assignment) for assignment in wanted)
    return StepPlan(STEP, resources, tuple(warnings))


def plan_assignment(session: ArmSession, assignment: Assignment) -> ResourcePlan:
    covering = _covering_scope(session, assignment)
    kind = "role assignment"
    name = f"{assignment.role.label} for the {assignment.holder} on {assignment.scope_label}"
    if covering is not None:
        note = "" if covering.lower() == assignment.scope.lower() else f"granted at {covering}"
        return ResourcePlan(
            STEP,
            kind,
            name,
            assignment.resource_id,
            Action.UNCHANGED,
            note=note,
            payload=assignment,
        )

    changes = (
        Change("scope", ABSENT, assignment.scope),
        Change("properties.roleDefinitionId", ABSENT, assignment.role_definition_id),
        Change("properties.principalId", ABSENT, assignment.principal_id),
    )
    return ResourcePlan(
        STEP, kind, name, assignment.resource_id, Action.CREATE, changes, payload=assignment
    )


def apply_roles(session: ArmSession, plan: StepPlan) -> None:
    created = [r.payload for r in plan.resources if r.writes and ensure_assignment(session, r)]
    if created:
        wait_until_visible(session, created)


def ensure_assignment(session: ArmSession, resource: ResourcePlan) -> bool:
    """Create one assignment; True when it is new, False when ARM already had the grant."""
    assignment: Assignment = resource.payload
    with arm_errors(f"granting {resource.name}", needs=_needs(assignment)):
        try:
            _create(session, assignment)
        except HttpResponseError as error:
            if error_code(error) != EXISTS:
                raise
            session.progress.done(f"{resource.name}: already granted under another name")
            return False
    session.progress.done(f"{resource.name}: created on {assignment.scope}")
    return True


def wait_until_visible(session: ArmSession, assignments: list[Assignment]) -> None:
    """Read each new assignment back until ARM serves it (replication takes a while)."""
    pending = list(assignments)

    def all_visible() -> bool:
        pending[:] = [a for a in pending if not _visible(session, a)]
        return not pending

    if not wait_until(
        all_visible,
        what="the new role assignments are in effect",
        policy=session.wait,
        progress=session.progress,
    ):
        session.progress.done(
            "role assignments are not readable yet; they can take up to 30 minutes to apply"
        )


def _create(session: ArmSession, assignment: Assignment) -> None:
    session.authorization.role_assignments.create(
        assignment.scope, assignment.name, json_body(assignment.body()), **session.call_options
    )


def _visible(session: ArmSession, assignment: Assignment) -> bool:
    try:
        session.authorization.role_assignments.get(
            assignment.scope, assignment.name, **session.call_options
        )
    except HttpResponseError as error:
        if error.status_code in (403, 404):
            return False
        with arm_errors(f"reading role assignment {assignment.name}"):
            raise
    return True


def _covering_scope(session: ArmSession, assignment: Assignment) -> str | None:
    """The scope of an existing grant of this role to this principal that reaches the scope."""
    role = assignment.role.value
    target = assignment.scope.lower()
    with arm_errors(
        f"listing role assignments on {assignment.scope}",
        needs=f"Reader on {assignment.scope}",
    ):
        found = list(
            session.authorization.role_assignments.list_for_scope(
                assignment.scope,
                filter=f"principalId eq '{assignment.principal_id}'",
                **session.call_options,
            )
        )
    for existing in found:
        scope = str(existing.scope).lower()
        same_role = str(existing.role_definition_id).lower().endswith(role)
        if same_role and (target == scope or target.startswith(scope.rstrip("/") + "/")):
            return str(existing.scope)
    return None


def _needs(assignment: Assignment) -> str:
    return (
        "Role Based Access Control Administrator, User Access Administrator or Owner "
        f"(Microsoft.Authorization/roleAssignments/write) on {assignment.scope}"
    )
