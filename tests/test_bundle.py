"""The one-folder app bundle (issue #20): scripts/build_app.py builds it with PyInstaller from
packaging/somafeedback.spec, and scripts/smoke_bundle.py runs it without the build's environment
(offscreen: the app on the simulated strap, the review of the sample session, the commands).

Marked ``bundle`` (a build takes minutes): skipped in the ordinary run; ``pytest -m bundle`` or
SOMAFEEDBACK_BUNDLE_TEST=1 runs it (the release job; docs/install.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from session_helpers import REPO

sys.path.insert(0, str(REPO / "scripts"))
from smoke_bundle import find_program, smoke  # noqa: E402

pytestmark = [pytest.mark.bundle, pytest.mark.timeout(3600)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the bundle's automatic check runs on Linux")
def test_the_built_bundle_runs_the_app_and_the_commands_without_the_build_environment(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    build = subprocess.run([sys.executable, str(REPO / "scripts" / "build_app.py"), "--dist", str(dist),
                            "--work", str(REPO / "build" / "pyinstaller-test")], capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    assert "bundle size:" in build.stdout
    program = find_program(dist)
    assert (program.parent / "_internal" / "nats-server").is_file()  # the local relay's binary travels along
    failed = [f"{outcome.name}: {outcome.detail}" for outcome in smoke(program) if not outcome.passed]
    assert failed == []
