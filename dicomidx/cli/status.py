"""`dicomidx status`: each piece of storage indexing present, missing or drifted. Read-only."""

from __future__ import annotations

from dicomidx.cli import options
from dicomidx.cli.console import OutputFormat, note
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
from dicomidx.errors import CheckFailedError
from dicomidx.provision.desired import RoleScope
from dicomidx.provision.plan import State


def status(
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
    """Check the queues, roles, system topic, event subscription and DICOM service.

    Makes no write call. Exits 8 when anything is missing or drifted.
    """
    from dicomidx.cloud import provisioning
    from dicomidx.cloud.roles import RoleOptions

    settings = options.settings_from(
        config,
        subscription=subscription,
        resource_group=resource_group,
        workspace=workspace,
        dicom_service=dicom_service,
        storage_account=storage_account,
        file_system=file_system,
        queue=queue,
    )
    settings.require(
        "subscription",
        "resource_group",
        "storage_account",
        "workspace",
        "dicom_service",
        "file_system",
    )
    session = connect(settings, cloud, arm_endpoint)

    found = provisioning.status(session, RoleOptions(scope, dicom_identity, topic_identity))
    wrong = [r for r in found.resources if r.state is not State.PRESENT]
    render(found, output, status=True, extra={"ok": not wrong})

    if wrong:
        counts = {state: sum(r.state is state for r in wrong) for state in State}
        raise CheckFailedError(
            f"{counts[State.MISSING]} missing and {counts[State.DRIFTED]} drifted of "
            f"{len(found.resources)} resources",
            hint="`dicomidx setup --dry-run` shows what setup would change",
        )
    note(f"all {len(found.resources)} resources present")
    return 0
