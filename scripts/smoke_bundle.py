"""Smoke test of a built app bundle (or of any installed ``somafeedback`` program), in a clean environment.

    python3 scripts/smoke_bundle.py dist/                 # the bundle scripts/build_app.py made
    python3 scripts/smoke_bundle.py PATH/TO/somafeedback  # a given program (e.g. a wheel install's)

Runs the program with an environment that has none of the build's virtual environment (PATH is the
system's, no PYTHONPATH or VIRTUAL_ENV, a fresh HOME and XDG folders, QT_QPA_PLATFORM=offscreen):
the app on the simulated strap for a few seconds of session time (``--quit-after``) recording a
session, the review window on the sample session, then command-line runs (help, scenarios,
exercises, stream, analyze (with the nonlinear indices), the library, verify, export to EDF, an LSL outlet, the local relay, a PDF report).
Prints one line per check; exit status 0 when all pass, 1 otherwise. Used by tests/test_bundle.py
and tests/test_wheel_install.py, and by CI or a release job after scripts/build_app.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite"
SAMPLE_BEATS = 620  # beats in the sample session (somafeedback analyze)
APP_SECONDS = "20"  # s of session time the app runs on the simulated strap
REVIEW_SECONDS = "3"  # s the review window stays open
TIMEOUT_S = 300  # s one run may take (a cold start of a bundle on a busy 2-core machine)
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class Outcome:
    """One check: its name, whether it passed, and what was seen when it did not."""

    name: str
    passed: bool
    detail: str = ""


def find_program(path: Path) -> Path:
    """The ``somafeedback`` program in a dist/ folder, a bundle folder or a macOS .app, or ``path`` itself."""
    names = ("somafeedback-cli.exe", "somafeedback.exe") if sys.platform == "win32" else ("somafeedback",)
    candidates = [path, *(path / name for name in names), *(path / "somafeedback" / name for name in names),
                  *(path / "somafeedback.app" / "Contents" / "MacOS" / name for name in names)]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise SystemExit(f"smoke_bundle: no somafeedback program in {path} (build it with scripts/build_app.py)")


def clean_environment(home: Path) -> dict[str, str]:
    """An environment with nothing of the build's Python: the system's PATH, a fresh HOME, offscreen Qt."""
    return {"PATH": SYSTEM_PATH, "HOME": str(home), "LANG": "C.UTF-8", "QT_QPA_PLATFORM": "offscreen",
            "XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data"),
            "XDG_CACHE_HOME": str(home / "cache"), "SOMAFEEDBACK_RECORDINGS": str(home / "library")}


def _lines(text: str) -> Iterator[dict[str, object]]:
    for line in text.splitlines():
        if line.startswith("{"):
            yield json.loads(line)


def checks(work: Path) -> list[tuple[str, list[str], Callable[[subprocess.CompletedProcess[str]], str]]]:
    """(name, arguments, judge) per check; a judge returns "" when the run is right, else what is wrong."""
    sample = work / "sample.session.sqlite"
    library = work / "library"

    def ok(_run: subprocess.CompletedProcess[str]) -> str:
        return ""

    def recorded(_run: subprocess.CompletedProcess[str]) -> str:
        sessions = sorted(library.glob("*.session.sqlite"))
        return "" if len(sessions) == 1 else f"expected one recorded session in {library}, found {len(sessions)}"

    def beats(least: int) -> Callable[[subprocess.CompletedProcess[str]], str]:
        def judge(run: subprocess.CompletedProcess[str]) -> str:
            n = sum(1 for event in _lines(run.stdout) if event.get("type") == "beat")
            return "" if n >= least else f"{n} beats, expected at least {least}"
        return judge

    def sample_beats(run: subprocess.CompletedProcess[str]) -> str:
        n = json.loads(run.stdout).get("n_beats")
        return "" if n == SAMPLE_BEATS else f"{n} beats, expected {SAMPLE_BEATS}"

    def nonlinear(run: subprocess.CompletedProcess[str]) -> str:
        return "" if "dfa_alpha1" in run.stdout else "no nonlinear indices in the output"

    def the_app_recorded(run: subprocess.CompletedProcess[str]) -> str:
        found = list(_lines(run.stdout))
        if len(found) != 1:
            return f"expected one session in the library, found {len(found)}"
        duration, status = found[0].get("duration_s"), found[0].get("status")
        least = float(APP_SECONDS) / 2
        good = isinstance(duration, (int, float)) and duration >= least and status == "complete"
        return "" if good else f"the app's session: {duration} s, {status}; expected at least {least} s, complete"

    def contains(text: str) -> Callable[[subprocess.CompletedProcess[str]], str]:
        return lambda run: "" if text in run.stdout + run.stderr else f"no {text!r} in the output"

    def file_made(path: Path) -> Callable[[subprocess.CompletedProcess[str]], str]:
        return lambda _run: "" if path.is_file() and path.stat().st_size > 0 else f"{path.name} not written"

    def relay_url(run: subprocess.CompletedProcess[str]) -> str:
        urls = [event.get("url") for event in _lines(run.stdout) if event.get("type") == "relay"]
        return "" if urls and str(urls[0]).startswith("nats://") else "no relay URL printed"

    return [
        ("app on the simulated strap, recording, quits by itself",
         ["--simulate", "--speed", "max", "--quit-after", APP_SECONDS, "--record"], recorded),
        ("review window on the sample session", ["--replay", str(sample), "--speed", "20", "--quit-after", REVIEW_SECONDS], ok),
        ("--version", ["--version"], contains("somafeedback")),
        ("--help lists the commands", ["--help"], contains("commands")),
        ("scenarios (packaged TOML files)", ["scenarios"], contains("activation")),
        ("exercises (packaged TOML files)", ["exercises"], contains("breathing")),
        ("stream on the simulated H10", ["stream", "--simulate", "--speed", "max", "--duration", "30", "--json"], beats(20)),
        ("analyze the sample session", ["analyze", str(sample), "--json"], sample_beats),
        ("the app's recorded session is in the library, complete", ["sessions", "--json"], the_app_recorded),
        ("verify the recorded session", ["sessions", "verify"], ok),
        ("nonlinear indices (neurokit2)", ["analyze", str(sample), "--json", "--full"], nonlinear),
        ("export the sample to EDF+ (pyedflib)", ["export", str(sample), "--format", "edf", "--out", str(work / "sample.edf")],
         file_made(work / "sample.edf")),
        ("LSL outlets (bundled liblsl)", ["stream", "--simulate", "--speed", "max", "--duration", "5", "--lsl", "--json"], beats(2)),
        ("local relay (nats-server)", ["relay", "--json", "--duration", "1", "--store", str(work / "relay")], relay_url),
        ("PDF report (Qt, offscreen)", ["report", str(sample), "--format", "pdf", "--out", str(work / "report.pdf")],
         file_made(work / "report.pdf")),
    ]


def smoke(program: Path, report: Callable[[Outcome], None] = lambda outcome: None) -> list[Outcome]:
    """Run every check against ``program`` in a fresh folder and clean environment; ``report`` sees each outcome."""
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="somafeedback-smoke-") as folder:
        work = Path(folder)
        shutil.copy2(SAMPLE, work / "sample.session.sqlite")
        env = clean_environment(work)
        for name, arguments, judge in checks(work):
            started = time.monotonic()
            try:
                run = subprocess.run([str(program), *arguments], capture_output=True, text=True, env=env, cwd=work,
                                     timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                outcome = Outcome(name, False, f"no answer within {TIMEOUT_S} s")
            else:
                problem = f"exit status {run.returncode}: {run.stderr.strip()[-1500:]}" if run.returncode else judge(run)
                outcome = Outcome(f"{name} ({time.monotonic() - started:.1f} s)", not problem, problem)
            outcomes.append(outcome)
            report(outcome)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    """Smoke-test the bundle or program named on the command line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    program = find_program(Path(args[0]).absolute())
    print(f"smoke test of {program}")

    def show(outcome: Outcome) -> None:
        print(f"{'ok  ' if outcome.passed else 'FAIL'} {outcome.name}" + (f"\n     {outcome.detail}" if outcome.detail else ""),
              flush=True)

    outcomes = smoke(program, show)
    failed = sum(not outcome.passed for outcome in outcomes)
    print(f"{len(outcomes) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
