"""`setup queue`: the event queue and its poison twin, through the management plane.

ARM creates queues even when the account disables shared-key access, and needs no queue data
role for the operator (reference section 2).
"""

from __future__ import annotations

from functools import partial

from dicomidx.cloud.arm import ArmSession, arm_errors, json_body, raw_json, read_or_none
from dicomidx.cloud.facts import Facts
from dicomidx.provision.desired import queue_body, queue_names
from dicomidx.provision.plan import ResourcePlan, StepPlan, plan_resource

STEP = "queue"


def plan_queues(session: ArmSession, facts: Facts) -> StepPlan:
    settings = session.settings
    facts.account()  # a missing account is a configuration error, said once, here

    resources = []
    for name in queue_names(settings):
        with arm_errors(f"reading queue {name}", needs=_needs(session)):
            current = read_or_none(partial(_read_queue, session, name))
        resources.append(
            plan_resource(
                STEP, "queue", name, settings.queue_id(name), current=current, desired=queue_body()
            )
        )
    return StepPlan(STEP, tuple(resources))


def _read_queue(session: ArmSession, name: str) -> object:
    return session.storage.queue.get(
        session.resource_group,
        str(session.settings.storage_account),
        name,
        cls=raw_json,
        **session.call_options,
    )


def apply_queues(session: ArmSession, plan: StepPlan) -> None:
    for resource in plan.resources:
        if resource.writes:
            _create_queue(session, resource)


def _create_queue(session: ArmSession, resource: ResourcePlan) -> None:
    with arm_errors(f"creating queue {resource.name}", needs=_needs(session)):
        session.storage.queue.create(
            session.resource_group,
            str(session.settings.storage_account),
            resource.name,
            json_body(resource.payload),
            **session.call_options,
        )
    session.progress.done(f"queue {resource.name}: {resource.action.value}d")


def _needs(session: ArmSession) -> str:
    return f"Storage Account Contributor (or Contributor) on {session.settings.storage_account_id}"
