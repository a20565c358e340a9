"""`setup events`: the storage account's system topic and the DICOM service's subscription.

An account has at most one system topic, often created by another feature: it is found by
its source and reused, and only given an identity when it has none. Only the subscription
named `dicom-<workspace>-<service>` is written; the topic's other subscriptions stay as they
are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import HttpResponseError

from dicomidx.cloud.arm import (
    ArmSession,
    arm_errors,
    error_code,
    json_body,
    raw_json,
    read_or_none,
    wait_until,
)
from dicomidx.cloud.facts import (
    PROVIDER_API_VERSION,
    SYSTEM,
    Facts,
    Identity,
    choose_identity,
    identities,
)
from dicomidx.cloud.roles import (
    RoleOptions,
    ensure_assignment,
    plan_assignment,
    topic_identity,
    wait_until_visible,
)
from dicomidx.errors import AzureServiceError
from dicomidx.events.filter import recommended_filter
from dicomidx.provision.desired import (
    default_system_topic_name,
    event_subscription_body,
    event_subscription_name,
    system_topic_body,
    topic_assignment,
)
from dicomidx.provision.plan import ABSENT, Action, Change, ResourcePlan, StepPlan, plan_resource

STEP = "events"
PROVIDER = "Microsoft.EventGrid"
# What Event Grid answers while the topic's identity cannot reach the queue yet.
NOT_YET_EFFECTIVE = "AuthorizationPermissionMismatch"
_SENDER_PENDING = "granted once the topic's identity exists"


@dataclass(frozen=True)
class TopicTarget:
    group: str
    name: str
    body: dict[str, Any]


def plan_events(session: ArmSession, facts: Facts, options: RoleOptions) -> StepPlan:
    settings = session.settings
    account = facts.account()
    topic = facts.topic()
    resources: list[ResourcePlan] = []
    if facts.provider_registered(PROVIDER) is False:
        resources.append(_provider_registration(session))

    if topic is None:
        identity = Identity(options.topic_identity or SYSTEM, None)
        resources += _new_topic(session, account, identity, options)
        current_subscription = None
        group, topic_name = session.resource_group, default_system_topic_name(settings)
    else:
        group, topic_name = str(topic["id"]).split("/")[4], str(topic["name"])
        identity, topic_plans = _reused_topic(session, topic, options)
        resources += topic_plans
        current_subscription = _read_subscription(session, group, topic_name)

    desired = event_subscription_body(settings, identity.delivery())
    resources.append(
        plan_resource(
            STEP,
            "event subscription",
            event_subscription_name(settings),
            _subscription_id(session, group, topic_name),
            current=current_subscription,
            desired=desired,
            payload=TopicTarget(group, topic_name, desired),
        )
    )
    warnings = _warnings(facts, account, identity)
    return StepPlan(STEP, tuple(resources), tuple(warnings))


def apply_events(session: ArmSession, facts: Facts, options: RoleOptions, plan: StepPlan) -> None:
    for resource in plan.resources:
        if not resource.writes:
            continue
        if resource.kind == "resource provider":
            _register_provider(session, facts)
        elif resource.kind == "system topic":
            _write_topic(session, resource)
            facts.forget()
        elif resource.kind == "role assignment":
            _grant_sender(session, facts, options)
        else:
            _write_subscription(session, resource)


def _provider_registration(session: ArmSession) -> ResourcePlan:
    return ResourcePlan(
        STEP,
        "resource provider",
        PROVIDER,
        f"/subscriptions/{session.subscription}/providers/{PROVIDER}",
        Action.CREATE,
        (Change("registrationState", "NotRegistered", "Registered"),),
        note="registered for the subscription",
    )


def _register_provider(session: ArmSession, facts: Facts) -> None:
    needs = f"{PROVIDER}/register/action (Contributor) on /subscriptions/{session.subscription}"
    with arm_errors(f"registering the {PROVIDER} resource provider", needs=needs):
        session.send(
            "POST",
            f"/subscriptions/{session.subscription}/providers/{PROVIDER}/register",
            api_version=PROVIDER_API_VERSION,
        )

        def registered() -> bool:
            facts.forget()
            return facts.provider_registered(PROVIDER) is True

        if not wait_until(
            registered,
            what=f"{PROVIDER} is registered",
            policy=session.wait,
            progress=session.progress,
        ):
            raise AzureServiceError(
                f"{PROVIDER} is still registering; run setup again in a few minutes"
            )
    session.progress.done(f"resource provider {PROVIDER}: registered")


def _new_topic(
    session: ArmSession, account: dict[str, Any], identity: Identity, options: RoleOptions
) -> list[ResourcePlan]:
    settings = session.settings
    name = default_system_topic_name(settings)
    desired = system_topic_body(str(account["location"]), identity.resource_identity(), settings)
    topic_id = f"{settings.resource_group_id}/providers/Microsoft.EventGrid/systemTopics/{name}"
    topic = plan_resource(
        STEP,
        "system topic",
        name,
        topic_id,
        current=None,
        desired=desired,
        payload=TopicTarget(session.resource_group, name, desired),
    )
    return [topic, _pending_sender(session, options, topic_id)]


def _reused_topic(
    session: ArmSession, topic: dict[str, Any], options: RoleOptions
) -> tuple[Identity, list[ResourcePlan]]:
    found = identities(topic)
    group, name = str(topic["id"]).split("/")[4], str(topic["name"])
    if found:
        identity = choose_identity(
            found, options.topic_identity, owner="system topic", flag="--topic-identity"
        )
        assert identity is not None
        plan = ResourcePlan(
            STEP, "system topic", name, str(topic["id"]), Action.UNCHANGED, note="reused"
        )
        return identity, [plan]

    identity = Identity(options.topic_identity or SYSTEM, None)
    patch = {"identity": identity.resource_identity()}
    change = Change("identity", topic.get("identity", ABSENT), patch["identity"])
    plan = ResourcePlan(
        STEP,
        "system topic",
        name,
        str(topic["id"]),
        Action.UPDATE,
        (change,),
        note="reused; gets an identity to deliver with",
        payload=TopicTarget(group, name, patch),
    )
    return identity, [plan, _pending_sender(session, options, str(topic["id"]))]


def _pending_sender(session: ArmSession, options: RoleOptions, topic_id: str) -> ResourcePlan:
    """The sender role of a topic identity that does not exist yet: its principal is unknown."""
    sender = topic_assignment(session.settings, "(new)", topic_id=topic_id, scope=options.scope)
    return ResourcePlan(
        STEP,
        "role assignment",
        f"{sender.role.label} for the {sender.holder} on {sender.scope_label}",
        f"{sender.scope}/providers/Microsoft.Authorization/roleAssignments/(new)",
        Action.CREATE,
        (Change("scope", ABSENT, sender.scope),),
        note=_SENDER_PENDING,
    )


def _read_subscription(session: ArmSession, group: str, topic: str) -> Any:
    name = event_subscription_name(session.settings)
    with arm_errors(f"reading event subscription {name}", needs=f"Reader on {group}"):
        return read_or_none(
            lambda: session.eventgrid.system_topic_event_subscriptions.get(
                group, topic, name, cls=raw_json, **session.call_options
            )
        )


def _write_topic(session: ArmSession, resource: ResourcePlan) -> None:
    target: TopicTarget = resource.payload
    topics = session.eventgrid.system_topics
    needs = f"EventGrid Contributor (or Contributor) on resource group {target.group}"
    with arm_errors(f"writing system topic {target.name}", needs=needs):
        if resource.action is Action.CREATE:
            poller = topics.begin_create_or_update(
                target.group, target.name, json_body(target.body), **session.call_options
            )
        else:
            poller = topics.begin_update(
                target.group, target.name, json_body(target.body), **session.call_options
            )
        poller.result()
    session.progress.done(f"system topic {target.name}: {resource.action.value}d")


def _grant_sender(session: ArmSession, facts: Facts, options: RoleOptions) -> None:
    identity = topic_identity(facts, options)
    if identity is None:
        return
    scope = options.scope
    topic = facts.topic()
    assert topic is not None  # an identity was found on it
    assignment = topic_assignment(
        session.settings, str(identity.principal_id), topic_id=str(topic["id"]), scope=scope
    )
    planned = plan_assignment(session, assignment)
    if planned.writes and ensure_assignment(session, planned):
        wait_until_visible(session, [assignment])


def _write_subscription(session: ArmSession, resource: ResourcePlan) -> None:
    """PUT the subscription, waiting while Event Grid says the identity cannot reach the queue."""
    target: TopicTarget = resource.payload
    subscriptions = session.eventgrid.system_topic_event_subscriptions
    needs = f"EventGrid EventSubscription Contributor (or Contributor) on {target.group}"
    refused: list[HttpResponseError] = []

    def accepted() -> bool:
        try:
            subscriptions.begin_create_or_update(
                target.group,
                target.name,
                resource.name,
                json_body(target.body),
                **session.call_options,
            ).result()
        except HttpResponseError as error:
            if error_code(error) != NOT_YET_EFFECTIVE:
                raise
            refused[:] = [error]
            return False
        return True

    with arm_errors(f"writing event subscription {resource.name}", needs=needs):
        if not wait_until(
            accepted,
            what="the topic's identity may send to the queue",
            policy=session.wait,
            progress=session.progress,
        ):
            raise refused[-1]
    session.progress.done(f"event subscription {resource.name}: {resource.action.value}d")


def _warnings(facts: Facts, account: dict[str, Any], identity: Identity) -> list[str]:
    warnings = recommended_filter(facts.session.settings).warnings()
    acl = (account.get("properties") or {}).get("networkAcls") or {}
    if identity.is_user_assigned and str(acl.get("defaultAction", "")).lower() == "deny":
        warnings.append(
            "the storage account has a firewall and the topic delivers with a user-assigned "
            "identity: Event Grid can reach a firewalled queue only with the topic's "
            "system-assigned identity (and trusted services allowed), so events will be dropped"
        )
    registered = facts.provider_registered(PROVIDER)
    if registered is None:
        warnings.append(
            f"could not read whether {PROVIDER} is registered in subscription "
            f"{facts.session.subscription} (that needs Reader on the subscription)"
        )
    elif not registered:
        warnings.append(
            f"the {PROVIDER} resource provider is not registered in subscription "
            f"{facts.session.subscription}: setup registers it, which needs permission for "
            f"{PROVIDER}/register/action (or run: az provider register --namespace {PROVIDER})"
        )
    return warnings


def _subscription_id(session: ArmSession, group: str, topic: str) -> str:
    return (
        f"/subscriptions/{session.subscription}/resourceGroups/{group}/providers/"
        f"Microsoft.EventGrid/systemTopics/{topic}/eventSubscriptions/"
        f"{event_subscription_name(session.settings)}"
    )
