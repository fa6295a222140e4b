"""``somafeedback doctor`` on this machine (no Bluetooth adapter), its JSON and exit status, and
the recordings-folder check on real folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from somafeedback.cli.doctor_checks import NOT_CHECKED, OK, PROBLEM, check_recordings
from somafeedback.live.connection_help import help_for
from somafeedback.devices.connection_problems import Problem


def _doctor(*args: str, recordings: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")  # the app's window is checked offscreen here
    return subprocess.run([sys.executable, "-m", "somafeedback.cli", "doctor", "--recordings", str(recordings), *args],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def no_adapter(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict]:
    """doctor in text and in JSON on this machine (it has no Bluetooth adapter)."""
    folder = tmp_path_factory.mktemp("recordings")
    folder.chmod(0o700)
    text = _doctor(recordings=folder)
    as_json = _doctor("--json", recordings=folder)
    assert as_json.returncode == 1, as_json.stderr
    return text, json.loads(as_json.stdout)


def test_doctor_says_clearly_there_is_no_bluetooth_adapter_and_exits_1(no_adapter) -> None:
    text, _ = no_adapter
    assert text.returncode == 1 and text.stderr == ""
    bluetooth = next(line for line in text.stdout.splitlines() if "Bluetooth:" in line)
    assert bluetooth.split()[0] == PROBLEM and "No Bluetooth found on this computer" in bluetooth
    assert help_for(Problem.NO_ADAPTER).cause in text.stdout.replace("\n" + " " * 15, " ")
    assert "Traceback" not in text.stdout
    assert "problem" in text.stdout.splitlines()[-1]


def test_doctor_json_lists_every_check_with_its_status(no_adapter) -> None:
    _, found = no_adapter
    checks = {check["name"]: check for check in found["checks"]}
    assert set(checks) == {"Python", "Qt platform", "Sound", "Bluetooth", "Recordings folder", "LSL"}
    assert found["ok"] is False and all(c["status"] in (OK, PROBLEM, NOT_CHECKED) for c in checks.values())
    assert checks["Bluetooth"]["problem"] == "no-adapter" and checks["Bluetooth"]["next_steps"]
    assert checks["Python"]["status"] == OK and checks["Recordings folder"]["status"] == OK
    assert checks["Qt platform"]["status"] == OK  # offscreen, as asked
    assert all(c["next_steps"] for c in checks.values() if c["status"] == PROBLEM)


def test_doctor_usage_error_exits_2(tmp_path: Path) -> None:
    result = _doctor("--no-such-option", recordings=tmp_path)
    assert result.returncode == 2 and "unrecognized arguments" in result.stderr


def test_the_recordings_check_wants_a_private_folder_and_private_files(tmp_path: Path) -> None:
    folder = tmp_path / "sessions"
    assert check_recordings(folder).status == OK  # will be made at the first recording
    folder.mkdir(mode=0o700)
    folder.chmod(0o755)
    opened = check_recordings(folder)
    assert opened.status == PROBLEM and "other accounts" in opened.detail and opened.next_steps
    folder.chmod(0o700)
    session = folder / "a.somafb"
    session.write_bytes(b"")
    session.chmod(0o644)
    assert check_recordings(folder).status == PROBLEM
    session.chmod(0o600)
    assert check_recordings(folder).status == OK
    assert check_recordings(session).status == PROBLEM  # a file is no folder
