"""Options shared by several commands, declared once.

Each setting flag also names its environment variable in `--help`; the values are merged
with the environment and `dicomidx.toml` by `dicomidx.settings.load_settings`, not by click,
so that an error can say which of the three a bad value came from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from dicomidx.cli.console import OutputFormat
from dicomidx.cloud.clouds import CloudName
from dicomidx.settings import ENV_VARS, Settings, load_settings

_NAMES = "Names (flag, else environment, else dicomidx.toml)"


def _setting(name: str, text: str) -> Any:
    flag = "--" + name.replace("_", "-")
    return typer.Option(flag, help=f"{text} [env: {ENV_VARS[name]}]", rich_help_panel=_NAMES)


Subscription = Annotated[str | None, _setting("subscription", "Azure subscription id.")]
ResourceGroup = Annotated[
    str | None, _setting("resource_group", "Resource group of the storage account and service.")
]
Workspace = Annotated[str | None, _setting("workspace", "Health Data Services workspace.")]
DicomService = Annotated[str | None, _setting("dicom_service", "DICOM service name.")]
StorageAccount = Annotated[str | None, _setting("storage_account", "Storage account (HNS).")]
FileSystem = Annotated[
    str | None, _setting("file_system", "ADLS Gen2 file system (container) of the service.")
]
Queue = Annotated[str | None, _setting("queue", "Storage event queue [default: storage-events].")]
Index = Annotated[
    str | None, _setting("index", "Local index (SQLite file) [default: dicomidx-index.sqlite].")
]
Config = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Settings file [default: ./dicomidx.toml when present].",
        rich_help_panel=_NAMES,
        dir_okay=False,
    ),
]
Cloud = Annotated[
    CloudName,
    typer.Option(
        "--cloud",
        help="Azure cloud: sets the endpoints, sign-in authority and token scope.",
        rich_help_panel="Azure",
    ),
]
Output = Annotated[
    OutputFormat,
    typer.Option("--output", "-o", help="table for people, json for scripts."),
]


def settings_from(config: Path | None, **flags: str | None) -> Settings:
    """Build Settings from a command's flags, the environment and the config file."""
    return load_settings(flags, config=config)
