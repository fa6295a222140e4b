"""A normal (non-editable) install: layout, package data, and the import contracts.

import-linter reads the installed package tree, so the contracts are checked on a real
install in a temporary folder: this also proves that devices/ and ui/ land inside the
somafeedback namespace and that no generic top-level module is installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from session_helpers import REPO


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(REPO)],
        check=True, capture_output=True, text=True,
    )
    return target


def test_devices_and_ui_install_inside_the_package(installed: Path) -> None:
    top_level = sorted(p.name for p in installed.iterdir() if p.name != "bin" and not p.name.endswith((".dist-info", ".egg-info")))
    assert top_level == ["somafeedback"], "only the somafeedback package may land in site-packages"
    package = installed / "somafeedback"
    assert (package / "devices" / "heart_rate.py").is_file()
    assert (package / "ui" / "__init__.py").is_file()
    shipped = {p.stem for p in (package / "devices" / "simulator" / "scenarios").glob("*.toml")}
    assert {"calm", "activation", "sustained-activation", "slow-breathing", "artifacts", "dropout"} <= shipped
    scripts = {p.name for p in (package / "exercise_scripts").glob("*.toml")}
    assert scripts == {p.name for p in (REPO / "somafeedback" / "exercise_scripts").glob("*.toml")} and len(scripts) >= 10


def test_import_contracts_hold_on_the_installed_tree(installed: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(installed)}
    lint = Path(sys.executable).with_name("lint-imports")
    # lint-imports puts its working directory first on sys.path: run it from the install.
    result = subprocess.run(
        [str(lint), "--no-cache", "--config", str(REPO / "pyproject.toml")],
        cwd=installed, env=env, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_core_module_is_named_in_the_contracts() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    by_id = {contract["id"]: contract for contract in config}
    core = {
        f"somafeedback.{p.stem if p.suffix == '.py' else p.name}"
        for p in (REPO / "somafeedback").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())
    }
    assert core, "no core modules found"
    assert core <= set(by_id["ble-only-in-devices"]["source_modules"])
    assert core <= set(by_id["qt-only-in-ui"]["source_modules"])
    layered = {f"somafeedback.{name.strip()}" for layer in by_id["one-way-data-flow"]["layers"] for name in layer.split("|")}
    assert core <= layered
