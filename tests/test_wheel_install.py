"""The wheel, installed NON-editable into a fresh virtual environment (issue #20): it carries every
file of the three source trees (modules, exercise scripts, scenarios, words.txt), and its
``somafeedback`` program, run from outside the source tree with a clean environment, opens the app
offscreen on the simulated strap, reviews the sample session and runs the commands
(scripts/smoke_bundle.py's checks), and every command answers --help.

One environment for the module (the install of the dependencies dominates: ~1-2 min from pip's
cache; CI reaches PyPI when the cache is cold).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from session_helpers import REPO

sys.path.insert(0, str(REPO / "scripts"))
from build_app import copy_sources, venv_python  # noqa: E402
from smoke_bundle import clean_environment, smoke  # noqa: E402

PACKAGE_DIRS = {"somafeedback": "somafeedback", "devices": "somafeedback/devices", "ui": "somafeedback/ui"}
INSTALL_TIMEOUT_S = 1200  # s: the first install downloads PySide6, scipy... when pip's cache is cold


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip wheel`` of a copy of the sources (the project alone, no dependencies)."""
    source = copy_sources(tmp_path_factory.mktemp("source"))
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(source)],
                   check=True, capture_output=True, text=True, timeout=600)
    (built,) = dist.glob("somafeedback-*.whl")
    return built


@pytest.fixture(scope="module")
def installed_program(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``somafeedback`` program of a fresh venv where the wheel was installed (not editable)."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    result = subprocess.run([str(venv_python(venv)), "-m", "pip", "install", "--quiet", str(wheel)],
                            capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    assert result.returncode == 0, result.stderr[-3000:]
    return venv_python(venv).parent / ("somafeedback.exe" if sys.platform == "win32" else "somafeedback")


def test_the_wheel_carries_every_file_of_the_three_source_trees(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = set()
    for tree, installed_as in PACKAGE_DIRS.items():
        for path in (REPO / tree).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                expected.add(f"{installed_as}/{path.relative_to(REPO / tree).as_posix()}")
    assert {name for name in expected if name.endswith((".toml", ".txt"))} >= {
        "somafeedback/remote/words.txt", "somafeedback/devices/simulator/scenarios/calm.toml"}
    assert expected - names == set()


def test_the_installed_program_runs_the_app_and_the_commands_without_the_source_tree(installed_program: Path,
                                                                                    tmp_path: Path) -> None:
    where = subprocess.run([str(installed_program.parent / "python"), "-c",
                            "import somafeedback.devices, somafeedback.ui; print(somafeedback.ui.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=clean_environment(tmp_path), timeout=60)
    assert Path(where.stdout.strip()).is_relative_to(installed_program.parent.parent), where.stderr
    failed = [f"{outcome.name}: {outcome.detail}" for outcome in smoke(installed_program) if not outcome.passed]
    assert failed == []


def test_every_command_of_the_installed_program_answers_help(installed_program: Path, tmp_path: Path) -> None:
    from somafeedback.ui.launcher import _commands_parser, _subcommands

    commands = [name for name, _ in _subcommands(_commands_parser())]
    assert len(commands) >= 15 and "remote" in commands
    env = clean_environment(tmp_path)
    for command in [[name] for name in commands] + [["remote", "host"], ["remote", "join"], ["sessions", "verify"]]:
        result = subprocess.run([str(installed_program), *command, "--help"], capture_output=True, text=True,
                                env=env, cwd=tmp_path, timeout=120)
        assert result.returncode == 0 and result.stdout.startswith("usage: somafeedback"), (command, result.stderr[-2000:])
