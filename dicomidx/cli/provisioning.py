"""What `setup` and `status` share: the cloud options, the session, progress and the plan table.

Nothing here imports the Azure SDK at import time; `connect` does, when a command runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from dicomidx.cli import options
from dicomidx.cli.console import OutputFormat, print_json, stderr, stdout, warn
from dicomidx.cloud.clouds import CloudName
from dicomidx.provision.desired import RoleScope
from dicomidx.provision.plan import Plan
from dicomidx.settings import Settings

if TYPE_CHECKING:
    from dicomidx.cloud.arm import ArmSession

_AZURE = "Azure"

Cloud = options.Cloud
ArmEndpoint = Annotated[
    str | None,
    typer.Option(
        "--arm-endpoint",
        envvar="DICOMIDX_ARM_ENDPOINT",
        help="Another ARM endpoint (an emulator; plain http only on loopback) "
        "[env: DICOMIDX_ARM_ENDPOINT].",
        rich_help_panel=_AZURE,
        show_envvar=False,
    ),
]
Scope = Annotated[
    RoleScope,
    typer.Option(
        "--scope",
        help="Where the queue roles apply: the two queues (least privilege) or the whole "
        "account (as Microsoft's template).",
    ),
]
DicomIdentity = Annotated[
    str | None,
    typer.Option(
        "--dicom-identity",
        help="The DICOM service's identity to grant roles to, when it has several: 'system' "
        "or a user-assigned identity's resource id or name.",
    ),
]
TopicIdentity = Annotated[
    str | None,
    typer.Option(
        "--topic-identity",
        help="The system topic's identity to deliver with: 'system' (the default for a new "
        "topic) or a user-assigned identity's resource id.",
    ),
]


class RichProgress:
    """Provisioning progress on stderr: a line per change, a spinner while waiting."""

    def done(self, text: str) -> None:
        stderr.print(Text.assemble(("✓ ", "green"), text))

    @contextmanager
    def waiting(self, text: str) -> Iterator[Callable[[str], None]]:
        with stderr.status(Text(text)) as status:
            yield lambda message: status.update(Text(message))


def connect(settings: Settings, cloud: CloudName, endpoint: str | None) -> ArmSession:
    """A session for the configured subscription; the SDK is imported only now."""
    from dicomidx.cloud.arm import ArmSession

    return ArmSession(settings, cloud=cloud, endpoint=endpoint, progress=RichProgress())


def render(plan: Plan, output: OutputFormat, *, status: bool, extra: dict[str, Any]) -> None:
    """The plan (or the state found) on stdout; warnings on stderr."""
    for text in plan.warnings:
        warn(text)
    if output is OutputFormat.JSON:
        print_json({**plan.to_json(), **extra})
        return

    table = Table(show_lines=True)
    for column in ("step", "resource", "name", "state" if status else "action", "changes"):
        table.add_column(column, overflow="fold")
    for resource in plan.resources:
        verdict = resource.state.value if status else resource.action.value
        changes = "\n".join(
            f"{c.path}: {_short(c.to_json()['current'])} → {_short(c.desired)}"
            for c in resource.changes
        )
        if resource.note:
            changes = f"{changes}\n({resource.note})" if changes else f"({resource.note})"
        cells = (resource.step, resource.kind, resource.name, verdict, changes)
        table.add_row(*(Text(str(cell)) for cell in cells))
    stdout.print(table)


def _short(value: Any) -> str:
    """A value as JSON would say it (`true`, `["a"]`), strings bare, nothing for absent."""
    if value is None:
        return "-"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
