"""`dicomidx setup` and `dicomidx status`: output and exit codes, against the fake ARM.

The commands sign in with the real DefaultAzureCredential, which finds the fake's managed
identity endpoint (IDENTITY_ENDPOINT, as on App Service), and reach ARM at
DICOMIDX_ARM_ENDPOINT.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from dicomidx.cli.app import run
from dicomidx.errors import ExitCode
from tests.fake_arm import IDENTITY_HEADER, SETTINGS, TOKEN, FakeArm, seeded_arm


@pytest.fixture
def arm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeArm]:
    fake = seeded_arm()
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{fake.url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", IDENTITY_HEADER)
    monkeypatch.setenv("DICOMIDX_ARM_ENDPOINT", fake.url)
    for name in ("subscription", "resource_group", "workspace", "dicom_service"):
        monkeypatch.setenv(f"DICOMIDX_{name.upper()}", str(getattr(SETTINGS, name)))
    monkeypatch.setenv("DICOMIDX_STORAGE_ACCOUNT", str(SETTINGS.storage_account))
    monkeypatch.setenv("DICOMIDX_FILE_SYSTEM", str(SETTINGS.file_system))
    yield fake
    fake.stop()


class Terminal(io.StringIO):
    """Standard input that says it is a terminal, with the operator's answers typed in."""

    def isatty(self) -> bool:
        return True


def json_output(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    return dict(json.loads(capsys.readouterr().out))


def test_setup_with_yes_applies_the_plan_and_a_second_run_changes_nothing(
    arm: FakeArm, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["setup", "--yes", "--output", "json"]) == ExitCode.OK
    first = json_output(capsys)
    writes = len(arm.writes())

    assert run(["setup", "--yes", "--output", "json"]) == ExitCode.OK
    second = json_output(capsys)

    assert first["dryRun"] is False
    assert writes > 0
    assert len(arm.writes()) == writes
    assert {r["action"] for r in second["resources"]} == {"unchanged"}  # type: ignore[union-attr,index]


def test_setup_reports_its_progress_on_stderr_and_never_prints_the_token(
    arm: FakeArm, capsys: pytest.CaptureFixture[str]
) -> None:
    run(["setup", "--yes"])

    captured = capsys.readouterr()
    assert "✓ queue storage-events-poison: created" in captured.err
    assert "event subscription dicom-contosows-dicomsvc: created" in captured.err
    assert "DICOM service contosows/dicomsvc: update succeeded" in captured.err
    assert TOKEN not in captured.out + captured.err


def test_setup_asks_on_a_terminal_and_a_no_changes_nothing(
    arm: FakeArm, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))

    code = run(["setup"])

    captured = capsys.readouterr()
    assert code == ExitCode.OK
    assert "Apply this plan?" in captured.err
    assert "cancelled: nothing was changed" in captured.err
    assert arm.writes() == []


def test_setup_refuses_to_ask_without_a_terminal_and_changes_nothing(
    arm: FakeArm, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["setup"])

    assert code == ExitCode.USAGE
    assert "standard input is not a terminal" in capsys.readouterr().err
    assert arm.writes() == []


def test_a_dry_run_prints_each_action_and_makes_no_write_call(
    arm: FakeArm, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["setup", "--dry-run", "--output", "json"])

    assert code == ExitCode.OK
    plan = json_output(capsys)
    assert arm.writes() == []
    assert plan["dryRun"] is True
    resources = plan["resources"]
    assert isinstance(resources, list)
    assert [(r["kind"], r["action"]) for r in resources][:2] == [
        ("queue", "create"),
        ("queue", "create"),
    ]
    service = resources[-1]
    assert service["changes"] == [
        {
            "property": "properties.storageConfiguration.storageIndexingConfiguration."
            "storageEventQueueName",
            "current": None,
            "desired": "storage-events",
        }
    ]


def test_one_step_runs_alone_without_asking(
    arm: FakeArm, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["setup", "queue"])

    assert code == ExitCode.OK
    assert {r.path.rsplit("/", 1)[-1] for r in arm.writes()} == {
        "storage-events",
        "storage-events-poison",
    }
    assert "storage-events-poison" in capsys.readouterr().out


def test_status_exits_8_and_lists_what_is_missing(
    arm: FakeArm, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["status", "--output", "json"])

    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert code == ExitCode.CHECK_FAILED
    assert report["ok"] is False
    assert {r["state"] for r in report["resources"]} == {"missing", "drifted"}
    assert "missing and 1 drifted" in captured.err
    assert arm.writes() == []


def test_status_exits_0_once_setup_has_run(
    arm: FakeArm, capsys: pytest.CaptureFixture[str]
) -> None:
    run(["setup", "--yes"])
    capsys.readouterr()

    code = run(["status"])

    captured = capsys.readouterr()
    assert code == ExitCode.OK
    assert "present" in captured.out
    assert "all 9 resources present" in captured.err


def test_a_sovereign_cloud_asks_for_a_token_for_its_own_resource_manager(
    arm: FakeArm, capsys: pytest.CaptureFixture[str]
) -> None:
    run(["status", "--cloud", "china"])

    assert set(arm.token_resources) == {"https://management.chinacloudapi.cn"}


def test_a_denied_call_names_the_role_and_scope_the_operator_needs(
    arm: FakeArm, capsys: pytest.CaptureFixture[str]
) -> None:
    arm.deny.append(("PUT", "/queueServices/default/queues/"))

    code = run(["setup", "queue"])

    err = capsys.readouterr().err
    assert code == ExitCode.AZURE
    assert "permission denied (AuthorizationFailed)" in err
    assert f"Storage Account Contributor (or Contributor) on {SETTINGS.storage_account_id}" in err


def test_a_subscription_the_account_cannot_see_is_a_configuration_error(
    arm: FakeArm, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DICOMIDX_SUBSCRIPTION", "99999999-1111-2222-3333-444444444444")

    code = run(["status"])

    assert code == ExitCode.CONFIGURATION
    assert "subscription is not visible to the signed-in account" in capsys.readouterr().err


def test_help_does_not_import_the_azure_sdk() -> None:
    probe = (
        "import sys\n"
        "from dicomidx.cli.app import run\n"
        "run(['--help'])\n"
        "run(['setup', '--help'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('azure')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout

    assert out.strip().splitlines()[-1] == "[]"
