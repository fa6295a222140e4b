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

from session_helpers import REPO


def test_devices_and_ui_install_inside_the_package(installed: Path) -> None:
    top_level = sorted(p.name for p in installed.iterdir() if p.name != "bin" and not p.name.endswith((".dist-info", ".egg-info")))
    assert top_level == ["somafeedback"], "only the somafeedback package may land in site-packages"
    package = installed / "somafeedback"
    assert (package / "devices" / "heart_rate.py").is_file()
    assert (package / "ui" / "__init__.py").is_file()
    shipped = {p.stem for p in (package / "devices" / "simulator" / "scenarios").glob("*.toml")}
    assert {"calm", "activation", "sustained-activation", "slow-breathing", "artifacts", "dropout"} <= shipped
    scripts = {p.name for p in (package / "regulation" / "exercise_scripts").glob("*.toml")}
    assert scripts == {p.name for p in (REPO / "somafeedback" / "regulation" / "exercise_scripts").glob("*.toml")} and len(scripts) >= 10
    assert (package / "remote" / "words.txt").is_file()  # the pairing code words (package data)


def test_import_contracts_hold_on_the_installed_tree(installed: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(installed)}
    lint = Path(sys.executable).with_name("lint-imports")
    # lint-imports puts its working directory first on sys.path: run it from the install.
    result = subprocess.run(
        [str(lint), "--no-cache", str(REPO / "pyproject.toml")],
        cwd=installed, env=env, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _core_children() -> set[str]:
    """Every module and package directly under somafeedback/ (devices/ and ui/ are separate roots)."""
    return {
        f"somafeedback.{p.stem if p.suffix == '.py' else p.name}"
        for p in (REPO / "somafeedback").iterdir()
        if (p.suffix == ".py" and p.stem not in ("__init__", "__main__")) or (p.is_dir() and (p / "__init__.py").exists())
    }


def test_every_core_package_is_named_in_the_contracts() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    by_id = {contract["id"]: contract for contract in config}
    core = _core_children()
    assert {"somafeedback.hrv", "somafeedback.sessions", "somafeedback.clock"} <= core
    assert core <= set(by_id["ble-only-in-devices"]["source_modules"])
    assert core <= set(by_id["qt-only-in-ui"]["source_modules"])
    layers = by_id["one-way-data-flow"]
    assert layers["exhaustive"] is True  # lint-imports itself then refuses a child without a layer
    layered = {f"somafeedback.{name.strip()}" for layer in layers["layers"] for name in layer.split("|")}
    assert core | {"somafeedback.devices", "somafeedback.ui"} == layered


def test_every_package_folder_is_installed() -> None:
    """A folder with an __init__.py missing from pyproject's list would be left out of the wheel."""
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    roots = {"somafeedback": "somafeedback", "devices": "somafeedback.devices", "ui": "somafeedback.ui"}
    found = set()
    for folder, name in roots.items():
        for init in (REPO / folder).rglob("__init__.py"):
            found.add(".".join([name, *init.parent.relative_to(REPO / folder).parts]))
    data_folders = {"somafeedback.regulation.exercise_scripts", "somafeedback.devices.simulator.scenarios"}
    assert found | data_folders == listed


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), i.e. import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_modules(installed: Path) -> None:
    """Module by module, lazy imports inside functions included: core, devices and ui are acyclic
    (a module's own package __init__ is not counted as importing it)."""
    script = (
        "import grimp, json\n"
        "g = grimp.build_graph('somafeedback')\n"
        "print(json.dumps({m: sorted(g.find_modules_directly_imported_by(m)) for m in g.modules}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=installed, env={**os.environ, "PYTHONPATH": str(installed)},
                            capture_output=True, text=True, check=True)
    import json

    graph = {module: set(imported) for module, imported in json.loads(result.stdout).items()}
    assert len(graph) > 100
    assert _cycles(graph) == []


def test_public_entry_points_work_from_the_installed_tree(installed: Path) -> None:
    """What users and other programs rely on survives the regrouping: the two decoders named in
    the README, the command line's commands (`python -m somafeedback.cli` and the console script's
    `somafeedback.ui.launcher`, which adds report and progress), and the console script's entry point."""
    env = {**os.environ, "PYTHONPATH": str(installed)}
    script = (
        "from somafeedback.devices.heart_rate import decode_measurement\n"
        "from somafeedback.devices.polar_pmd import decode_data_frame\n"
        "m = decode_measurement(bytes([0x10, 60, 0x00, 0x04]))\n"  # flags: RR present; HR 60; RR 1024/1024 s
        "print(m.bpm, list(m.rr_ms))\n"
        "from importlib.metadata import entry_points\n"
        "print([e.value for e in entry_points(group='console_scripts') if e.name == 'somafeedback'])\n"
    )
    decoded = subprocess.run([sys.executable, "-c", script], cwd=installed, env=env, capture_output=True, text=True)
    assert decoded.returncode == 0, decoded.stderr
    assert decoded.stdout.splitlines() == ["60 [1000.0]", "['somafeedback.ui.launcher:main']"]
    cli = subprocess.run([sys.executable, "-m", "somafeedback.cli", "--help"], cwd=installed, env=env,
                         capture_output=True, text=True, timeout=120)
    app = subprocess.run([sys.executable, "-m", "somafeedback.ui.launcher", "--help-commands"], cwd=installed, env=env,
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0 and app.returncode == 0, cli.stderr + app.stderr
    core_commands = ("scan", "stream", "analyze", "record", "replay", "sessions", "import", "export", "session",
                     "exercises", "scenarios")
    for command in core_commands:
        assert f"    {command} " in cli.stdout, command
    for command in (*core_commands, "report", "progress"):  # the console script adds the rendering commands
        assert f"    {command} " in app.stdout, command
