"""Settings: where each name comes from, Azure's naming rules, and the derived names."""

from __future__ import annotations

from pathlib import Path

import pytest

from dicomidx.errors import ConfigurationError
from dicomidx.settings import Settings, load_settings


def test_flags_win_over_environment_which_wins_over_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "dicomidx.toml").write_text(
        'workspace = "fromfile"\nqueue = "filequeue"\nfile_system = "files"\n'
    )
    settings = load_settings(
        {"workspace": "fromflag"},
        environ={"DICOMIDX_WORKSPACE": "fromenv", "DICOMIDX_QUEUE": "envqueue"},
        cwd=tmp_path,
    )
    assert (settings.workspace, settings.queue, settings.file_system) == (
        "fromflag",
        "envqueue",
        "files",
    )


def test_defaults_apply_when_nothing_is_set(tmp_path: Path) -> None:
    settings = load_settings({}, environ={}, cwd=tmp_path)
    assert settings.queue == "storage-events"
    assert settings.poison_queue == "storage-events-poison"


def test_a_config_file_may_hold_a_dicomidx_table(tmp_path: Path) -> None:
    config = tmp_path / "shared.toml"
    config.write_text('[dicomidx]\nstorage_account = "contosoimaging"\n')
    assert load_settings({}, config=config, environ={}).storage_account == "contosoimaging"


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("workspace", "Contoso", "lowercase letters and digits"),
        ("workspace", "ws", "3 to 24"),
        ("storage_account", "contoso-imaging", "lowercase letters and digits"),
        ("file_system", "imaging--raw", "no '--'"),
        ("file_system", "-imaging", "beginning and ending"),
        ("queue", "q" * 57, "3 to 56"),
        ("subscription", "not-a-guid", "GUID"),
        ("resource_group", "rg.", "must not end with '.'"),
        ("dicom_service", "svc-", "beginning and ending"),
    ],
)
def test_a_name_that_breaks_azures_rule_quotes_the_rule_and_its_source(
    name: str, value: str, rule: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigurationError, match=rule) as raised:
        load_settings({}, environ={f"DICOMIDX_{name.upper()}": value}, cwd=tmp_path)
    assert f"DICOMIDX_{name.upper()}" in raised.value.message


def test_an_unknown_config_key_is_an_error_listing_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "dicomidx.toml").write_text('workspce = "typo"\n')
    with pytest.raises(ConfigurationError, match="unknown key workspce") as raised:
        load_settings({}, environ={}, cwd=tmp_path)
    assert raised.value.hint is not None
    assert "workspace" in raised.value.hint


def test_a_named_config_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings({}, config=tmp_path / "missing.toml", environ={})


def test_derived_names_come_from_one_place() -> None:
    settings = Settings(
        subscription="00000000-0000-0000-0000-000000000001",
        resource_group="imaging-rg",
        workspace="contosows",
        dicom_service="dicomsvc",
        storage_account="contosoimaging",
        file_system="imaging",
    )
    assert settings.service_path == "AHDS/contosows/dicom/dicomsvc/"
    assert settings.subject_prefix == (
        "/blobServices/default/containers/imaging/blobs/AHDS/contosows/dicom/dicomsvc/"
    )
    assert settings.self_write_tag_prefix == (
        "tag:contosows-dicomsvc.dicom.azurehealthcareapis.com,"
    )
    assert settings.service_url == "https://contosows-dicomsvc.dicom.azurehealthcareapis.com"
    assert settings.queue_id("storage-events").endswith(
        "/storageAccounts/contosoimaging/queueServices/default/queues/storage-events"
    )


def test_a_missing_setting_names_its_flag_and_variable() -> None:
    with pytest.raises(ConfigurationError, match="missing settings: workspace, file_system") as e:
        Settings().require("workspace", "file_system")
    assert e.value.hint is not None
    assert "--workspace or DICOMIDX_WORKSPACE" in e.value.hint
