"""The reading commands import only what they use: no scipy.signal for a 4-beat ``analyze``, and
no simulator, BLE stack, Qt, neurokit2, EDF or LSL library for ``analyze``, ``sessions``,
``export`` (text formats) or ``replay``; no PDF layout for an HTML report. A structural check (which modules a fresh process
holds after the command ran), not a timing one: start-up time follows from it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from session_helpers import REPO

from somafeedback.cli.options import DEFAULT_SCENARIO
from somafeedback.cli.reading_commands import SESSION_SUFFIX
from somafeedback.hrv.spectral import PLAIN_WINDOWS, SpectralSettings

SAMPLE = REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite"
COMMAND_TIMEOUT_S = 120.0  # generous: each command takes about a second
NEVER_FOR_READING = ("bumble", "bleak", "PySide6", "pyqtgraph", "neurokit2", "pylsl", "pyedflib",
                     "somafeedback.devices.simulator", "somafeedback.ui.app")

# Runs the command as the console script does (the launcher, with the report commands added),
# or as `python -m somafeedback.cli` does, then prints the modules the process holds.
_RUN = """
import contextlib, io, json, sys
entry, argv = sys.argv[1], sys.argv[2:]
if entry == "launcher":
    from somafeedback.ui.launcher import main
else:
    from somafeedback.cli.main import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(argv)
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _modules_after(entry: str, *argv: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", _RUN, entry, *argv], capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0, done.stderr
    return set(result["modules"])


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(name for name in names if name in modules or any(m.startswith(name + ".") for m in modules))


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("library")
    shutil.copy2(SAMPLE, folder / SAMPLE.name)
    (folder / "four_beats.txt").write_text("1000\n1010\n990\n1005\n")
    return folder


@pytest.mark.parametrize("entry", ["launcher", "cli"])
def test_analyze_of_a_four_beat_file_imports_no_scipy_signal_ble_qt_or_simulator(library: Path, entry: str) -> None:
    modules = _modules_after(entry, "analyze", str(library / "four_beats.txt"))
    assert "somafeedback.hrv.whole_record" in modules  # the command did run its analysis
    # no spectrum, no session code (and so no asyncio, no ECG or motion decoders) for an RR file
    assert _loaded(modules, ("scipy.signal", "asyncio", "somafeedback.sessions.file", "somafeedback.signals",
                             *NEVER_FOR_READING)) == []


@pytest.mark.parametrize("argv", [
    ("sessions",),
    ("export", SAMPLE.name, "--format", "kubios", "--out", "OUT/sample.txt"),
    ("replay", SAMPLE.name, "--speed", "max"),
    ("analyze", SAMPLE.name),
], ids=["sessions", "export-kubios", "replay", "analyze-session"])
def test_reading_commands_import_no_ble_qt_simulator_or_optional_libraries(library: Path, argv: tuple[str, ...],
                                                                          tmp_path: Path) -> None:
    args = [a.replace("OUT", str(tmp_path)) for a in argv]
    args = [str(library / a) if a == SAMPLE.name else a for a in args]
    modules = _modules_after("launcher", *args, "--recordings", str(library))
    assert "somafeedback.cli.main" in modules
    assert _loaded(modules, NEVER_FOR_READING) == []


NO_SCIPY_SIGNAL = ("scipy.signal", "scipy.stats")  # 0.6 s of start-up; the analyses use scipy_cores instead


@pytest.fixture(scope="module")
def h10_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two minutes of a simulated H10 (ECG, chest acceleration, HR): every streaming analysis runs on it."""
    from recording_helpers import record_simulated

    return record_simulated(tmp_path_factory.mktemp("h10") / "h10.session.sqlite", "calm", 120.0, h10=True)


@pytest.mark.parametrize("argv", [
    ("replay", "SESSION", "--speed", "max"),
    ("report", "SESSION", "--format", "html", "--out", "OUT/report.html"),
    ("analyze", "SESSION"),
], ids=["replay", "report-html", "analyze"])
@pytest.mark.parametrize("which", ["sample", "h10"])
def test_reading_a_session_imports_no_scipy_signal(library: Path, h10_session: Path, argv: tuple[str, ...],
                                                   which: str, tmp_path: Path) -> None:
    session = library / SAMPLE.name if which == "sample" else h10_session
    args = [str(session) if a == "SESSION" else a.replace("OUT", str(tmp_path)) for a in argv]
    modules = _modules_after("launcher", *args)
    assert "somafeedback.signals.scipy_cores" in modules or which == "sample"  # the H10's analyses did run
    assert sorted(m for m in modules if m in NO_SCIPY_SIGNAL or m.startswith(("scipy.signal.", "scipy.stats."))) == []


def test_an_html_report_loads_no_pdf_layout_and_a_pdf_report_does(library: Path, tmp_path: Path) -> None:
    session = str(library / SAMPLE.name)
    html = _modules_after("launcher", "report", session, "--format", "html", "--out", str(tmp_path / "r.html"))
    assert "somafeedback.ui.report.figures" in html and (tmp_path / "r.html").is_file()  # the report was drawn
    assert "somafeedback.ui.report.pdf" not in html
    pdf = _modules_after("launcher", "report", session, "--format", "pdf", "--out", str(tmp_path / "r.pdf"))
    assert "somafeedback.ui.report.pdf" in pdf and (tmp_path / "r.pdf").is_file()


def test_names_the_cli_keeps_to_start_fast_are_the_owners_own() -> None:
    from somafeedback.devices.simulator.scenario import DEFAULT_SCENARIO as SIMULATOR_DEFAULT
    from somafeedback.sessions.file import SUFFIX

    assert DEFAULT_SCENARIO == SIMULATOR_DEFAULT
    assert SESSION_SUFFIX == SUFFIX


def test_windows_accepted_without_scipy_are_scipys_own_names() -> None:
    from scipy.signal import get_window

    for name in sorted(PLAIN_WINDOWS):
        assert len(get_window(name, 8)) == 8, name
        assert SpectralSettings(window=name).window == name
    with pytest.raises(ValueError):
        SpectralSettings(window="no-such-window")
