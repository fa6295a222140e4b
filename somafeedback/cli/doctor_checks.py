"""The checks ``somafeedback doctor`` runs: Python, the Qt platform, sound, Bluetooth, the
recordings folder, LSL. Each ends ``ok``, ``problem`` (with the next steps) or ``not checked``.

Qt is only ever loaded in a child process (the core never imports it, and a Qt platform plugin
that cannot load aborts the process that loads it). Bluetooth is checked with a short scan on
the system's stack, bounded in time, its failure named by
:func:`~somafeedback.devices.connection_problems.classify_error` and explained by
:func:`~somafeedback.live.connection_help.help_for`.

Thread: the main thread (the Bluetooth check runs its own short asyncio loop).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from somafeedback.devices.connection_problems import NoStrapFound, Problem, classify_error
from somafeedback.live.connection_help import help_for

OK: Final = "ok"
PROBLEM: Final = "problem"
NOT_CHECKED: Final = "not checked"
MIN_PYTHON: Final = (3, 11)
QT_CHECK_S: Final = 30.0  # s a child process may take to start Qt
SCAN_S: Final = 3.0  # s of scanning for straps
BLUETOOTH_CHECK_S: Final = 15.0  # s the whole Bluetooth check may take (a stack that never answers)

# run in a child process: Qt offscreen, QtMultimedia and the sound outputs, as one JSON line
_QT_OFFSCREEN = """
import json, os
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6 import __version__
from PySide6.QtGui import QGuiApplication
app = QGuiApplication([])
out = {"qt": __version__}
try:
    from PySide6.QtMultimedia import QMediaDevices
    out["outputs"] = len(QMediaDevices.audioOutputs())
except Exception as error:
    out["multimedia_error"] = f"{type(error).__name__}: {error}"
print(json.dumps(out))
"""
_XCB_PROBE = """
import json
from somafeedback.ui import platform_check as pc
missing = pc.probe_missing()
family = pc.distribution_family()
print(json.dumps({"missing": missing, "install": pc.install_line(family, missing) if family and missing else None}))
"""
_QT_DEFAULT = "from PySide6.QtGui import QGuiApplication; print(QGuiApplication([]).platformName())"


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one check."""

    name: str
    status: str  # OK, PROBLEM or NOT_CHECKED
    detail: str  # what was found, in words
    next_steps: tuple[str, ...] = ()
    problem: Problem | None = None  # a connection problem (its help: live.connection_help)
    title: str = ""  # the help's title, when there is a connection problem

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "next_steps": list(self.next_steps),
                "problem": None if self.problem is None else self.problem.value, "title": self.title}


def check_python() -> Check:
    version = ".".join(str(part) for part in sys.version_info[:3])
    if sys.version_info[:2] >= MIN_PYTHON:
        return Check("Python", OK, f"Python {version}")
    needed = ".".join(map(str, MIN_PYTHON))
    return Check("Python", PROBLEM, f"Python {version} is older than the {needed} somafeedback needs",
                 (f"Install Python {needed} or newer, or use the standalone app.",))


def _child(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=QT_CHECK_S)


def _last_lines(text: str, count: int = 3) -> str:
    return " ".join(line.strip() for line in text.strip().splitlines()[-count:])


def missing_libraries(env: dict[str, str]) -> tuple[list[str], str | None]:
    """The system libraries Qt's xcb plugin needs that this system lacks, and the line that installs them.

    Runs ``ui.platform_check`` (the app's own check before it opens; no Qt loaded) in a child
    process, as the command line never imports the UI. ([], None) when it cannot tell."""
    try:
        result = _child(_XCB_PROBE, env)
        found = json.loads(result.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return [], None
    return list(found["missing"]), found["install"]


@dataclass(slots=True)
class QtFindings:
    """What the Qt child processes found (the sound check reads the same run)."""

    checks: list[Check] = field(default_factory=list)
    outputs: int | None = None
    multimedia_error: str | None = None


def check_qt() -> QtFindings:
    """Qt starts offscreen; the platform this desktop would use starts too (its missing libraries if not)."""
    findings = QtFindings()
    env = dict(os.environ)
    try:
        offscreen = _child(_QT_OFFSCREEN, env)
    except (OSError, subprocess.SubprocessError) as error:
        findings.checks.append(Check("Qt", NOT_CHECKED, f"the check could not run: {error}"))
        return findings
    if offscreen.returncode != 0 or not offscreen.stdout.strip():
        findings.checks.append(Check("Qt", PROBLEM, f"Qt (PySide6) did not start: {_last_lines(offscreen.stderr)}",
                                     ("Reinstall somafeedback (its PySide6 may be incomplete).",)))
        return findings
    found = json.loads(offscreen.stdout.strip().splitlines()[-1])
    findings.outputs, findings.multimedia_error = found.get("outputs"), found.get("multimedia_error")
    wanted = env.get("QT_QPA_PLATFORM", "")
    if wanted.startswith("offscreen"):
        findings.checks.append(Check("Qt platform", OK, f"Qt {found['qt']} starts offscreen (QT_QPA_PLATFORM=offscreen)"))
        return findings
    linux = sys.platform.startswith("linux")
    missing, install = missing_libraries(env) if linux else ([], None)
    libraries = (f"Install the system libraries Qt needs to open windows: {', '.join(missing)}"
                 + (f" ({install})." if install else "."),) if missing else ()
    if linux and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        findings.checks.append(Check(
            "Qt platform", PROBLEM, f"Qt {found['qt']} works, but there is no display here (DISPLAY and WAYLAND_DISPLAY "
            "are not set): the app's window cannot open in this session",
            ("Run somafeedback from a desktop session, or headless with QT_QPA_PLATFORM=offscreen.", *libraries)))
        return findings
    try:
        native = _child(_QT_DEFAULT, env)
    except (OSError, subprocess.SubprocessError) as error:
        findings.checks.append(Check("Qt platform", NOT_CHECKED, f"the check could not run: {error}"))
        return findings
    if native.returncode == 0:
        findings.checks.append(Check("Qt platform", OK, f"Qt {found['qt']} opens windows here ({native.stdout.strip()})"))
        return findings
    detail = f"Qt {found['qt']} cannot open a window here: {_last_lines(native.stderr)}"
    findings.checks.append(Check("Qt platform", PROBLEM, detail, libraries or (
        "Reinstall somafeedback; if that does not help, run it with QT_DEBUG_PLUGINS=1 to see which library Qt lacks.",)))
    return findings


def check_audio(qt: QtFindings) -> Check:
    """QtMultimedia loads and the system offers a sound output (for the home practice's chimes)."""
    if qt.multimedia_error is not None:
        return Check("Sound", PROBLEM, f"Qt's sound module did not load: {qt.multimedia_error}",
                     ("Install the system's PulseAudio client library (on Debian/Ubuntu: sudo apt install libpulse0); "
                      "everything else works without sound.",))
    if qt.outputs is None:
        return Check("Sound", NOT_CHECKED, "Qt did not start, so sound could not be checked")
    if qt.outputs == 0:
        return Check("Sound", PROBLEM, "no sound output device was found",
                     ("Connect speakers or headphones, or check the system's sound settings; "
                      "everything else works without sound.",))
    return Check("Sound", OK, f"{qt.outputs} sound output(s)")


def check_bluetooth() -> Check:
    """A short scan on the system's Bluetooth: works (and the straps it saw), or the problem named."""
    import asyncio

    from somafeedback.devices.ble_stack import OS_STACK
    from somafeedback.live.sources import scan

    async def scan_bounded() -> list[str]:
        found = await asyncio.wait_for(scan(OS_STACK, SCAN_S), BLUETOOTH_CHECK_S)
        return [f"{strap.name or strap.address} ({strap.rssi} dBm)" for strap in found]

    try:
        straps = asyncio.run(scan_bounded())
    except TimeoutError:
        return Check("Bluetooth", NOT_CHECKED, f"the system's Bluetooth did not answer within {BLUETOOTH_CHECK_S:g} s")
    except Exception as error:  # noqa: BLE001 - any failure of the system's stack is reported, never a traceback
        problem = classify_error(error)
        cause = error.__cause__ if isinstance(error, NoStrapFound) and error.__cause__ else error
        said = f"{type(cause).__name__}: {cause}".rstrip(": ")
        if problem is None:
            return Check("Bluetooth", PROBLEM, f"the Bluetooth scan failed ({said})",
                         ("Switch Bluetooth off and on, and run somafeedback doctor again.",))
        help_text = help_for(problem)
        return Check("Bluetooth", PROBLEM, f"{help_text.cause} (the system said: {said})", help_text.next_steps,
                     problem, help_text.title)
    seen = f"; straps seen: {', '.join(straps)}" if straps else "; no strap seen (a strap shows up while it is worn)"
    return Check("Bluetooth", OK, f"the Bluetooth adapter works{seen}")


def check_recordings(folder: Path) -> Check:
    """The recordings folder exists (or can be made), is writable, and is private to this account (0700, files 0600)."""
    from somafeedback.sessions.private import FILE_MODE, FOLDER_MODE, is_private

    name = "Recordings folder"
    if not folder.exists():
        parent = next((p for p in folder.parents if p.exists()), None)
        if parent is not None and os.access(parent, os.W_OK | os.X_OK):
            return Check(name, OK, f"{folder} will be made (private to your account) at the first recording")
        return Check(name, PROBLEM, f"{folder} does not exist and cannot be made here",
                     ("Choose a recordings folder you can write to (the app's settings, or --recordings DIR).",))
    if not folder.is_dir():
        return Check(name, PROBLEM, f"{folder} is a file, not a folder",
                     ("Move the file away or choose another recordings folder.",))
    if not os.access(folder, os.W_OK | os.X_OK):
        return Check(name, PROBLEM, f"{folder} cannot be written by your account",
                     ("Choose a recordings folder you can write to (the app's settings, or --recordings DIR).",))
    open_files = [p.name for p in sorted(folder.iterdir()) if p.is_file() and not is_private(p)]
    if not is_private(folder) or open_files:
        shown = f" ({len(open_files)} file(s) readable by others, e.g. {open_files[0]})" if open_files else ""
        return Check(name, PROBLEM, f"{folder} can be read by other accounts on this computer{shown}",
                     (f"Make it private: chmod {FOLDER_MODE:o} on the folder and {FILE_MODE:o} on its files "
                      "(somafeedback makes its own library folder private when it next records).",))
    return Check(name, OK, f"{folder} (private to your account)")


def check_lsl() -> Check:
    """pylsl imports and its liblsl loads (opens no socket)."""
    from somafeedback.live.lsl_outlets import lsl_available

    if lsl_available():
        version = importlib.import_module("pylsl").library_version()  # loaded by the check above
        return Check("LSL", OK, f"Lab Streaming Layer available (liblsl {version})")
    return Check("LSL", PROBLEM, "Lab Streaming Layer (pylsl and its liblsl) could not be loaded; only --lsl needs it",
                 ("Reinstall somafeedback, or install liblsl for your system; everything else works without it.",))


def run_checks(recordings: Path) -> list[Check]:
    """Every check, in the order they are printed."""
    qt = check_qt()
    return [check_python(), *qt.checks, check_audio(qt), check_bluetooth(), check_recordings(recordings), check_lsl()]
