"""Library benchmark: how fast the reading commands start, and what reading a long session costs.

Every figure runs the installed ``somafeedback`` console script in a fresh subprocess, as a
practitioner would:

* ``analyze_startup_ratio``: ``somafeedback analyze`` of a 4-beat RR file against
  ``python -c "import numpy"`` (median of 7 runs each, after one warm-up run of each);
* ``report_1h_html_s`` / ``report_1h_pdf_s``: ``somafeedback report`` of a 1-hour simulated
  Polar H10 session (ECG, chest motion and RR), wall seconds including start-up; the recording
  ended cleanly, so it holds the report's pass (``somafeedback/live/stored_pass.py``);
* ``report_1h_html_unstored_s``: the same report of a copy without that stored pass (what an
  interrupted recording, a recording made by another version or ended by a stop signal costs);
* ``stored_pass_1h_s``: what storing the pass adds to the close of that 1-hour recording
  (:func:`~somafeedback.live.stored_pass.store_pass` over the session read back, in this process);
* ``edf_export_peak_mib_1h``: peak resident memory of ``somafeedback export --format edf`` of
  that session; ``edf_export_peak_mib_24h_h10``: the same for a 24-hour simulated Polar H10
  session (ECG, chest motion and RR; recorded once per cache folder, 6 to 20 minutes);
  ``edf_export_peak_mib_24h_imported_rr``: the same for a 24-hour session imported from a real
  RR record (``../shared/data/rr/nsr001_rr_secs.txt``, RR only, no ECG);
* ``replay_1h_speed_x``: ``somafeedback replay --speed max`` of the 1-hour session, as a
  multiple of real time (3600 s / wall seconds, start-up included).

Report and replay figures are the median of 3 runs after a warm-up run.

The sessions are made here in a temporary folder (``--cache DIR`` keeps and reuses them):
the 1-hour one with ``somafeedback record --simulate calm --speed max --duration 3600``, the
24-hour one likewise with ``--duration 86400``.
Goals (issue #22): start-up <= 3x, report <= 2 s (HTML) and <= 3 s (PDF), EDF export
<= 150 MiB at 1 h and 24 h, replay >= 2000x real time.

Prints ``name: value unit`` lines (and the sessions it used on stderr).
Run: python benchmarks/bench_library.py [--cache DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parents[1]
RR_24H: Final = REPO.parent / "shared" / "data" / "rr" / "nsr001_rr_secs.txt"
SOMAFEEDBACK: Final = Path(sys.executable).parent / "somafeedback"  # the venv's console script
SESSION_SUFFIX: Final = ".session.sqlite"
STARTUP_RUNS: Final = 7
HOUR_S: Final = 3600.0
DAY_S: Final = 86400.0
FOUR_BEATS: Final = "1000\n1010\n990\n1005\n"
TIMED_RUNS: Final = 3  # report and replay: median of these, after one warm-up run
# Reports draw with Qt, without a display. Compiled bytecode is cached as on a user's machine
# (pip and the app bundle ship it); a PYTHONDONTWRITEBYTECODE in the calling shell would make
# every run recompile the app's ~300 modules and measure that instead.
ENV: Final = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, "QT_QPA_PLATFORM": "offscreen"}

# A parent that runs one command and reports the child's peak resident memory (ru_maxrss, KiB on Linux).
_MEASURE: Final = ("import json, resource, subprocess, sys; "
                   "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True); "
                   "print(json.dumps([resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.returncode, done.stderr]))")


def _run(*argv: str | Path) -> float:
    """Wall seconds of one command (output discarded); raises with its stderr when it fails."""
    start = time.perf_counter()
    done = subprocess.run([str(a) for a in argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed ({done.returncode}): {done.stderr.strip()}")
    return took


def _median_s(argv: list[str | Path], runs: int = STARTUP_RUNS) -> float:
    """Median wall seconds of ``runs`` runs after a warm-up; "{run}" in an argument becomes the run's number."""
    def one(k: int) -> float:
        return _run(*(str(a).replace("{run}", str(k)) for a in argv))

    one(0)  # warm-up: compiled modules cached, files in the page cache
    return statistics.median(one(k) for k in range(1, runs + 1))


def _peak_mib(*argv: str | Path) -> float:
    """Peak resident memory (MiB) of the command's process alone."""
    measured = subprocess.run([sys.executable, "-c", _MEASURE, *map(str, argv)], capture_output=True, text=True,
                              check=True, env=ENV)
    peak_kib, code, stderr = json.loads(measured.stdout)
    if code != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed ({code}): {stderr.strip()}")
    return float(peak_kib) / 1024


def _only_session(folder: Path) -> Path:
    found = sorted(folder.glob(f"*{SESSION_SUFFIX}"))
    if len(found) != 1:
        raise RuntimeError(f"expected one session in {folder}, found {len(found)}")
    return found[0]


def _simulated_session(cache: Path, name: str, duration_s: float) -> Path:
    """A simulated H10 session of ``duration_s`` (recorded once per cache folder)."""
    folder = cache / name
    if not folder.is_dir() or not list(folder.glob(f"*{SESSION_SUFFIX}")):
        took = _run(SOMAFEEDBACK, "record", "--simulate", "calm", "--speed", "max", "--duration", str(int(duration_s)),
                    "--recordings", folder)
        print(f"recorded {duration_s / HOUR_S:.0f} h simulated H10 in {took:.0f} s", file=sys.stderr)
    return _only_session(folder)


def hour_session(cache: Path) -> Path:
    """A 1-hour simulated H10 session (recorded once per cache folder)."""
    return _simulated_session(cache, "h10_1h", HOUR_S)


def day_h10_session(cache: Path) -> Path:
    """A 24-hour simulated H10 session (recorded once per cache folder)."""
    return _simulated_session(cache, "h10_24h", DAY_S)


def day_session(cache: Path) -> Path:
    """A 24-hour session imported from a real RR record (RR only, no ECG)."""
    folder = cache / "rr_24h"
    if not folder.is_dir() or not list(folder.glob(f"*{SESSION_SUFFIX}")):
        _run(SOMAFEEDBACK, "import", RR_24H, "--recordings", folder)
    return _only_session(folder)


def _without_stored_pass(session: Path, copy: Path) -> Path:
    """A copy of ``session`` without its stored analyses (the report then runs its pass itself)."""
    import shutil
    import sqlite3

    shutil.copyfile(session, copy)
    db = sqlite3.connect(copy)
    try:
        found = db.execute("SELECT count(*) FROM analyses").fetchone()[0]
        if found == 0:
            raise RuntimeError(f"{session} stores no analysis: recorded by an older version? (remove the cache)")
        db.execute("DROP TABLE analyses")
        db.commit()
        db.execute("VACUUM")
    finally:
        db.close()
    return copy


def _store_pass_s(session: Path) -> float:
    """Seconds :func:`store_pass` takes over ``session`` read back (what a clean end adds to the close); median of 3."""
    from somafeedback.live.stored_pass import store_pass
    from somafeedback.sessions.file import read_session

    read = read_session(session)
    took = []
    for _ in range(TIMED_RUNS):
        started = time.perf_counter()
        if not store_pass(read, within_s=None):
            raise RuntimeError(f"{session}: no pass to store")
        took.append(time.perf_counter() - started)
    return statistics.median(took)


def startup_ratio(cache: Path) -> float:
    beats = cache / "four_beats.txt"
    beats.write_text(FOUR_BEATS)
    analyze = _median_s([SOMAFEEDBACK, "analyze", beats])
    numpy = _median_s([sys.executable, "-c", "import numpy"])
    print(f"analyze of 4 beats: median {analyze:.3f} s; python -c 'import numpy': median {numpy:.3f} s", file=sys.stderr)
    return analyze / numpy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cache", type=Path, metavar="DIR", help="keep the sessions made here and reuse them")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_library_") as temporary:
        cache = args.cache or Path(temporary)
        cache.mkdir(parents=True, exist_ok=True)
        out = Path(temporary) / "out"
        out.mkdir()
        print(f"analyze_startup_ratio: {startup_ratio(cache):.2f} x", flush=True)
        hour = hour_session(cache)
        day = day_session(cache)
        print(f"sessions: {hour} (1 h simulated H10); {day} (24 h imported RR, no ECG)", file=sys.stderr)
        for fmt in ("html", "pdf"):
            took = _median_s([SOMAFEEDBACK, "report", hour, "--format", fmt, "--out", out / f"report{{run}}.{fmt}"], TIMED_RUNS)
            print(f"report_1h_{fmt}_s: {took:.2f} s", flush=True)
        unstored = _without_stored_pass(hour, Path(temporary) / f"unstored{SESSION_SUFFIX}")
        took = _median_s([SOMAFEEDBACK, "report", unstored, "--format", "html", "--out", out / "unstored{run}.html"],
                         TIMED_RUNS)
        print(f"report_1h_html_unstored_s: {took:.2f} s", flush=True)
        print(f"stored_pass_1h_s: {_store_pass_s(hour):.2f} s", flush=True)
        print(f"edf_export_peak_mib_1h: {_peak_mib(SOMAFEEDBACK, 'export', hour, '--format', 'edf', '--out', out / 'h.edf'):.0f} MiB",
              flush=True)
        day_h10 = day_h10_session(cache)
        print(f"edf_export_peak_mib_24h_h10: "
              f"{_peak_mib(SOMAFEEDBACK, 'export', day_h10, '--format', 'edf', '--out', out / 'd10.edf'):.0f} MiB",
              flush=True)
        print(f"edf_export_peak_mib_24h_imported_rr: "
              f"{_peak_mib(SOMAFEEDBACK, 'export', day, '--format', 'edf', '--out', out / 'd.edf'):.0f} MiB",
              flush=True)
        took = _median_s([SOMAFEEDBACK, "replay", hour, "--speed", "max"], TIMED_RUNS)
        print(f"replay_1h_speed_x: {HOUR_S / took:.0f} x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
