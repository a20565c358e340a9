"""`dicomidx setup` and its steps: queue, roles, events, service."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated

import typer

from dicomidx.cli import options
from dicomidx.cli.console import OutputFormat, confirm, note
from dicomidx.cli.provisioning import (
    ArmEndpoint,
    Cloud,
    DicomIdentity,
    Scope,
    TopicIdentity,
    connect,
    render,
)
from dicomidx.cloud.clouds import CloudName
from dicomidx.provision.desired import RoleScope

STEP_HELP = {
    "queue": "Create the event queue and <queue>-poison through ARM (works without shared keys).",
    "roles": "Grant the queue and blob data roles to the DICOM service's and system topic's "
    "identities.",
    "events": "Reuse or create the account's system topic; create or update the event "
    "subscription with the recommended filter.",
    "service": "Set storageEventQueueName on the DICOM service (full PUT at 2025-04-01-preview).",
}
STEPS = tuple(STEP_HELP)
# The names each step needs beyond subscription, resource group and storage account.
STEP_NEEDS = {
    "queue": (),
    "roles": ("workspace", "dicom_service"),
    "events": ("workspace", "dicom_service", "file_system"),
    "service": ("workspace", "dicom_service", "file_system"),
}

DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Show the plan and change nothing (no write call).")
]
Yes = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Apply without asking (only `setup` with no step asks)."),
]

setup_app = typer.Typer(
    invoke_without_command=True,
    no_args_is_help=False,
    rich_markup_mode=None,
    help="Provision storage indexing: queue, roles, events, service (all four when no step "
    "is named, after one plan).",
)


def run_steps(
    steps: Sequence[str],
    *,
    dry_run: bool,
    yes: bool,
    output: OutputFormat,
    scope: RoleScope,
    dicom_identity: str | None,
    topic_identity: str | None,
    cloud: CloudName,
    arm_endpoint: str | None,
    config: options.Config,
    **names: str | None,
) -> int:
    """Plan the steps, show the plan, ask when needed, then apply."""
    from dicomidx.cloud import provisioning
    from dicomidx.cloud.roles import RoleOptions

    settings = options.settings_from(config, **names)
    needs = {name for step in steps for name in STEP_NEEDS[step]}
    settings.require("subscription", "resource_group", "storage_account", *sorted(needs))
    role_options = RoleOptions(scope, dicom_identity, topic_identity)
    session = connect(settings, cloud, arm_endpoint)

    planned = provisioning.plan(session, steps, role_options)
    render(planned, output, status=False, extra={"dryRun": dry_run})
    if not planned.writes or dry_run:
        note("dry run: nothing was changed" if planned.writes else "nothing to change")
        return 0
    # A single step is a building block for scripts and never asks; `setup` asks.
    if not confirm("apply this plan", yes=yes or len(steps) == 1):
        return 0

    provisioning.apply(session, steps, role_options)
    note("setup complete; check it with `dicomidx status`")
    return 0


def _command(steps: Sequence[str], *, asks: bool) -> Callable[..., int]:
    def command(
        ctx: typer.Context,
        dry_run: DryRun = False,
        yes: Yes = False,
        output: options.Output = OutputFormat.TABLE,
        scope: Scope = RoleScope.QUEUE,
        dicom_identity: DicomIdentity = None,
        topic_identity: TopicIdentity = None,
        cloud: Cloud = CloudName.PUBLIC,
        arm_endpoint: ArmEndpoint = None,
        subscription: options.Subscription = None,
        resource_group: options.ResourceGroup = None,
        workspace: options.Workspace = None,
        dicom_service: options.DicomService = None,
        storage_account: options.StorageAccount = None,
        file_system: options.FileSystem = None,
        queue: options.Queue = None,
        config: options.Config = None,
    ) -> int:
        if ctx.invoked_subcommand is not None:
            return 0
        return run_steps(
            steps,
            dry_run=dry_run,
            yes=yes or not asks,
            output=output,
            scope=scope,
            dicom_identity=dicom_identity,
            topic_identity=topic_identity,
            cloud=cloud,
            arm_endpoint=arm_endpoint,
            config=config,
            subscription=subscription,
            resource_group=resource_group,
            workspace=workspace,
            dicom_service=dicom_service,
            storage_account=storage_account,
            file_system=file_system,
            queue=queue,
        )

    return command


setup_app.callback()(_command(STEPS, asks=True))
for _step, _help in STEP_HELP.items():
    setup_app.command(_step, help=_help)(_command((_step,), asks=False))
