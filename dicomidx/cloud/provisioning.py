"""The four setup steps in order: plan them, apply them, or report their state.

Each step reads what Azure holds, compares it with what storage indexing needs, and writes
only what differs. Applying plans each step again just before it runs, so an earlier step's
result (a new topic, a new identity) is seen, and a run that stopped midway resumes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dicomidx.cloud.arm import ArmSession
from dicomidx.cloud.events import apply_events, plan_events
from dicomidx.cloud.facts import Facts
from dicomidx.cloud.queues import apply_queues, plan_queues
from dicomidx.cloud.roles import RoleOptions, apply_roles, plan_roles
from dicomidx.cloud.service import apply_service, plan_service
from dicomidx.provision.plan import Plan, StepPlan

STEPS = ("queue", "roles", "events", "service")


def plan_step(
    session: ArmSession, facts: Facts, step: str, options: RoleOptions, *, refuse: bool = True
) -> StepPlan:
    planners: dict[str, Callable[[], StepPlan]] = {
        "queue": lambda: plan_queues(session, facts),
        "roles": lambda: plan_roles(session, facts, options),
        "events": lambda: plan_events(session, facts, options),
        "service": lambda: plan_service(session, facts, refuse=refuse),
    }
    return planners[step]()


def plan(session: ArmSession, steps: Sequence[str], options: RoleOptions) -> Plan:
    """What setup would do, read-only."""
    facts = Facts(session)
    return Plan(tuple(plan_step(session, facts, step, options) for step in steps))


def status(session: ArmSession, options: RoleOptions) -> Plan:
    """Every piece present, missing or drifted; never refuses, never writes."""
    facts = Facts(session)
    return Plan(tuple(plan_step(session, facts, step, options, refuse=False) for step in STEPS))


def apply(session: ArmSession, steps: Sequence[str], options: RoleOptions) -> Plan:
    """Run the steps in order, each planned afresh; returns what each step found to do."""
    facts = Facts(session)
    done = []
    for step in steps:
        facts.forget()
        step_plan = plan_step(session, facts, step, options)
        done.append(step_plan)
        if not step_plan.writes:
            session.progress.done(f"{step}: nothing to change")
            continue

        if step == "queue":
            apply_queues(session, step_plan)
        elif step == "roles":
            apply_roles(session, step_plan)
        elif step == "events":
            apply_events(session, facts, options, step_plan)
        else:
            apply_service(session, step_plan)
    return Plan(tuple(done))
