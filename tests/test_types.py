"""Type checking: mypy over the installed package, with the repository's [tool.mypy] configuration.

devices/ and ui/ only become somafeedback.devices and somafeedback.ui when installed (pyproject's
package-dir mapping), so mypy reads a normal (non-editable) install in a temporary folder, like
tests/test_packaging.py does for import-linter (the `installed` fixture of conftest.py). ``check_untyped_defs`` makes it read every
function body, annotated or not. On an idle 2-core machine: ~3 s to install, ~7 s for mypy from a
cold cache (each run starts cold, in the test's temporary folder).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from session_helpers import REPO

MYPY_TIMEOUT_S = 240  # a cold run takes ~7 s idle, ~25 s on a loaded 2-core box


def _mypy(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m mypy`` run from ``folder`` (first on its search path) with the repository's configuration."""
    cache = folder.parent / f"{folder.name}-mypy-cache"
    env = {key: value for key, value in os.environ.items() if key not in ("MYPYPATH", "PYTHONPATH")}
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml"), "--cache-dir", str(cache), *args],
        cwd=folder, env=env, capture_output=True, text=True, timeout=MYPY_TIMEOUT_S,
    )


def test_mypy_finds_no_errors_in_the_installed_package(installed: Path) -> None:
    result = _mypy(installed, "-p", "somafeedback")
    assert result.returncode == 0, f"mypy found errors:\n{result.stdout}{result.stderr}"
    # the installed tree was read, devices/ and ui/ included (not the checkout through the editable install)
    assert "Success: no issues found" in result.stdout
    checked = int(result.stdout.rsplit(" in ", 1)[1].split()[0])
    assert checked >= len(list((installed / "somafeedback").rglob("*.py")))


def test_the_configuration_reads_untyped_functions(tmp_path: Path) -> None:
    """The check can fail: with the repository's configuration (check_untyped_defs), a wrong call in a
    function without annotations is an error, which mypy's defaults would pass over."""
    package = tmp_path / "probe"
    package.mkdir()
    (package / "__init__.py").write_text("def reading():\n    return len(3)\n")
    result = _mypy(tmp_path, "-p", "probe")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[arg-type]" in result.stdout
