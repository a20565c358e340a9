"""The names storage indexing is built from, where they come from, and what follows from them.

Each name comes from a command-line flag, else a `DICOMIDX_*` environment variable, else a
`dicomidx.toml` file (the current folder's, or the one `--config` names). Every value is
checked against Azure's naming rule for that kind of resource, and every derived name (subject
prefix, service path, self-write tag, poison queue, resource ids) is computed here and nowhere
else.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path

from dicomidx.errors import ConfigurationError

DEFAULT_QUEUE = "storage-events"
DEFAULT_INDEX = "dicomidx-index.sqlite"
CONFIG_FILE_NAME = "dicomidx.toml"
POISON_SUFFIX = "-poison"
DICOM_HOST_SUFFIX = "dicom.azurehealthcareapis.com"


@dataclass(frozen=True)
class NameRule:
    pattern: re.Pattern[str]
    text: str


def _rule(pattern: str, text: str) -> NameRule:
    return NameRule(re.compile(pattern), text)


# Azure's naming rules, quoted in errors so that nobody has to look them up.
_RULES: dict[str, NameRule] = {
    "subscription": _rule(
        r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}",
        "a subscription id is a GUID such as 00000000-0000-0000-0000-000000000000",
    ),
    "resource_group": _rule(
        r"[-\w.()]{0,89}[-\w()]",
        "1 to 90 characters: letters, digits, '_', '-', '.', '(' and ')'; it must not end with '.'",
    ),
    "workspace": _rule(
        r"[a-z0-9]{3,24}",
        "3 to 24 characters: lowercase letters and digits",
    ),
    "dicom_service": _rule(
        r"[a-z0-9](?:[a-z0-9-]{1,22})[a-z0-9]",
        "3 to 24 characters: lowercase letters, digits and '-', "
        "beginning and ending with a letter or digit",
    ),
    "storage_account": _rule(
        r"[a-z0-9]{3,24}",
        "3 to 24 characters: lowercase letters and digits",
    ),
    "file_system": _rule(
        r"(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]",
        "3 to 63 characters: lowercase letters, digits and '-', beginning and ending with a "
        "letter or digit, no '--'",
    ),
    # The poison queue appends "-poison" (7 characters) and must itself stay within 63.
    "queue": _rule(
        r"(?!.*--)[a-z0-9][a-z0-9-]{1,54}[a-z0-9]",
        "3 to 56 characters (so that '<queue>-poison' stays within Azure's 63): lowercase "
        "letters, digits and '-', beginning and ending with a letter or digit, no '--'",
    ),
}

ENV_VARS: dict[str, str] = {
    "subscription": "DICOMIDX_SUBSCRIPTION",
    "resource_group": "DICOMIDX_RESOURCE_GROUP",
    "workspace": "DICOMIDX_WORKSPACE",
    "dicom_service": "DICOMIDX_DICOM_SERVICE",
    "storage_account": "DICOMIDX_STORAGE_ACCOUNT",
    "file_system": "DICOMIDX_FILE_SYSTEM",
    "queue": "DICOMIDX_QUEUE",
    "index": "DICOMIDX_INDEX",
}

FLAGS: dict[str, str] = {name: "--" + name.replace("_", "-") for name in ENV_VARS}


@dataclass(frozen=True)
class Settings:
    """The configured names. Any may be missing; `require` says which a command needs."""

    subscription: str | None = None
    resource_group: str | None = None
    workspace: str | None = None
    dicom_service: str | None = None
    storage_account: str | None = None
    file_system: str | None = None
    queue: str = DEFAULT_QUEUE
    index: str = DEFAULT_INDEX

    def require(self, *names: str) -> None:
        """Raise one error that lists every missing name and how to set it."""
        missing = [name for name in names if not getattr(self, name)]
        if not missing:
            return

        how = ", ".join(f"{FLAGS[name]} or {ENV_VARS[name]}" for name in missing)
        raise ConfigurationError(
            f"missing setting{'s' if len(missing) > 1 else ''}: {', '.join(missing)}",
            hint=f"set {how}, or add them to {CONFIG_FILE_NAME}",
        )

    # Derived names. Each requires what it is built from; the hot ones are computed once,
    # since the worker and validate-events consult them for every event.

    @cached_property
    def service_path(self) -> str:
        """The folder of the file system the DICOM service owns: `AHDS/<ws>/dicom/<svc>/`."""
        self.require("workspace", "dicom_service")
        return f"AHDS/{self.workspace}/dicom/{self.dicom_service}/"

    @cached_property
    def subject_prefix(self) -> str:
        """The event subject every file under the service path begins with."""
        self.require("file_system")
        return f"/blobServices/default/containers/{self.file_system}/blobs/{self.service_path}"

    @cached_property
    def service_host(self) -> str:
        self.require("workspace", "dicom_service")
        return f"{self.workspace}-{self.dicom_service}.{DICOM_HOST_SUFFIX}"

    @property
    def service_url(self) -> str:
        return f"https://{self.service_host}"

    @cached_property
    def self_write_tag_prefix(self) -> str:
        """How the client request id of the DICOM service's own writes begins."""
        return f"tag:{self.service_host},"

    @cached_property
    def self_write_tag_folded(self) -> str:
        """The tag in lower case: the service compares it in any letter case."""
        return self.self_write_tag_prefix.lower()

    @property
    def poison_queue(self) -> str:
        return f"{self.queue}{POISON_SUFFIX}"

    @property
    def resource_group_id(self) -> str:
        self.require("subscription", "resource_group")
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"

    @property
    def storage_account_id(self) -> str:
        self.require("storage_account")
        return (
            f"{self.resource_group_id}/providers/Microsoft.Storage/storageAccounts/"
            f"{self.storage_account}"
        )

    @property
    def workspace_id(self) -> str:
        self.require("workspace")
        return (
            f"{self.resource_group_id}/providers/Microsoft.HealthcareApis/workspaces/"
            f"{self.workspace}"
        )

    @property
    def dicom_service_id(self) -> str:
        self.require("dicom_service")
        return f"{self.workspace_id}/dicomservices/{self.dicom_service}"

    def queue_id(self, queue: str) -> str:
        return f"{self.storage_account_id}/queueServices/default/queues/{queue}"


def load_settings(
    flags: Mapping[str, str | None] | None = None,
    *,
    config: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Merge flags over environment over config file, and check every value."""
    flags = flags or {}
    environ = os.environ if environ is None else environ
    file_values = _read_config(config, cwd=cwd or Path.cwd())

    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    for field in fields(Settings):
        name = field.name
        for source, value in (
            (FLAGS[name], flags.get(name)),
            (ENV_VARS[name], environ.get(ENV_VARS[name])),
            (f"{CONFIG_FILE_NAME} key '{name}'", file_values.get(name)),
        ):
            if value not in (None, ""):
                values[name] = str(value)
                sources[name] = source
                break

    for name, value in values.items():
        check_name(name, value, source=sources[name])
    return Settings(**values)


def check_name(kind: str, value: str, *, source: str | None = None) -> None:
    """Raise ConfigurationError, quoting Azure's rule, when `value` breaks it."""
    rule = _RULES.get(kind)
    if rule is None or rule.pattern.fullmatch(value):
        return

    origin = f" (from {source})" if source else ""
    raise ConfigurationError(f"{kind} {value!r}{origin} is not a valid name: {rule.text}")


def _read_config(config: Path | None, *, cwd: Path) -> dict[str, object]:
    path = config if config is not None else cwd / CONFIG_FILE_NAME
    if config is None and not path.is_file():
        return {}

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ConfigurationError(f"config file {str(path)!r} does not exist") from error
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigurationError(f"cannot read config file {str(path)!r}: {error}") from error

    # A [dicomidx] table is accepted too, so the settings can share a file with other tools.
    table = data.get("dicomidx", data)
    if not isinstance(table, dict):
        raise ConfigurationError(f"config file {str(path)!r}: [dicomidx] must be a table")

    unknown = sorted(set(table) - set(ENV_VARS))
    if unknown:
        raise ConfigurationError(
            f"config file {str(path)!r} has unknown key{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown)}",
            hint=f"known keys: {', '.join(ENV_VARS)}",
        )
    return dict(table)
