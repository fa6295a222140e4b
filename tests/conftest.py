"""Shared fixtures."""

from __future__ import annotations

import functools
import gc
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

# Qt runs headless in the tests (CI has no display); set before any QApplication exists.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never read or write the real user's settings or session library.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="somafeedback-config-")
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="somafeedback-data-")

import pytest
from session_helpers import REPO, SHARED_DATA


INSTALL_SOURCES = ("pyproject.toml", "README.md", "somafeedback", "devices", "ui")  # what the wheel is built from


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package installed without its dependencies into a fresh folder (they are in the venv), once
    per test run: import-linter, the cycle check, the entry points and mypy read this real install.

    Built from a copy of the sources: pip builds in the source tree, and setuptools' build/lib
    there keeps modules that were moved or deleted since, which mypy would then read.
    """
    source = tmp_path_factory.mktemp("source")
    for name in INSTALL_SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, source / name)
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(source)],
        check=True, capture_output=True, text=True,
    )
    return target



@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the checkout (CI has it there); fail loudly if it is missing."""
    assert SHARED_DATA.is_dir(), f"real test data expected at {SHARED_DATA} (../shared/data beside the checkout)"
    return SHARED_DATA


# CI runs are reproducible: hypothesis explores the same examples every time there.
from hypothesis import settings  # noqa: E402

# Started in the background by a non-interactive shell (nohup, `cmd &`), the suite inherits SIGINT
# *ignored*, and so would every child it starts: Python then never raises KeyboardInterrupt and the
# Ctrl-C tests fail for the harness's sake. A handled SIGINT here is reset to the default in each child
# on exec, as in a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


QT_TEST_SIGNS = ("PySide6", "somafeedback.ui", "qtbot")  # a test module that builds Qt objects names one


@functools.cache
def _module_builds_qt_objects(path: Path) -> bool:
    return any(sign in path.read_text(encoding="utf-8") for sign in QT_TEST_SIGNS)


@pytest.fixture
def relay(tmp_path: Path):
    """A real nats-server on 127.0.0.1 (free port, JetStream, its store in tmp_path), stopped afterwards:
    the relay of the remote-session tests."""
    from somafeedback.remote.relay import LocalRelay, RelayConfig

    server = LocalRelay(RelayConfig(store=tmp_path / "store"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def threads():
    """Real-time asyncio loops on their own threads (a practitioner's, a client's): ``threads()`` starts one;
    all are stopped at the end."""
    from somafeedback.remote.loop_thread import LoopThread

    started: list[LoopThread] = []

    def start() -> LoopThread:
        started.append(LoopThread())
        return started[-1]

    yield start
    for thread in started:
        thread.stop()


@pytest.fixture(autouse=True)
def _qt_garbage_collected_on_the_main_thread(request: pytest.FixtureRequest):
    """After each Qt test, collect its cyclic garbage here, on the main thread.

    A closed window otherwise lingers until Python's cyclic GC finds it, and that may happen on
    an engine thread of a later test: Shiboken then hands the Qt deletion to the main thread
    while the engine thread holds the GIL, a lock-order deadlock (seen once as a hang in CI).
    A full collection costs ~0.16 s with this suite's heap, so tests that never build a Qt
    object skip it.
    """
    yield
    if _module_builds_qt_objects(Path(request.node.path)):
        gc.collect()


BUNDLE_TEST_VARIABLE = "SOMAFEEDBACK_BUNDLE_TEST"  # =1: run the tests marked `bundle` (they build the app)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``bundle`` build the app with PyInstaller (minutes): skipped in the ordinary run,
    run with ``-m bundle`` or SOMAFEEDBACK_BUNDLE_TEST=1 (CI's release job; docs/install.md)."""
    if os.environ.get(BUNDLE_TEST_VARIABLE) == "1" or "bundle" in (config.getoption("markexpr", "") or ""):
        return
    skip = pytest.mark.skip(reason=f"builds the app bundle: run with -m bundle or {BUNDLE_TEST_VARIABLE}=1")
    for item in items:
        if item.get_closest_marker("bundle") is not None:
            item.add_marker(skip)
