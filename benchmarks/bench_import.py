"""Import benchmark: time and peak memory of importing large RR files, and how fast absurd ones are refused.

Each case runs ``somafeedback import`` in a fresh subprocess and reads its peak resident memory
(``ru_maxrss`` of the child). Files are made here with a fixed seed:

* ``plain_max``: one RR in ms per line, as many lines as an RR file may have (``MAX_LINES``);
* ``hrv_logger_week``: an HRV Logger CSV (Unix-ms timestamp, rr, since start), a week at 60 bpm;
* ``one_line``: 12.5 M values on one line (refused: one beat per line);
* ``too_big``: a file over ``MAX_FILE_BYTES`` (refused before it is read);
* ``mixed_units``: seconds and milliseconds in one column (refused, naming the lines).

Prints ``name: seconds s, peak MiB, exit code`` lines.
Run: python benchmarks/bench_import.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from somafeedback.interop.rr_files._text import MAX_FILE_BYTES, MAX_LINES

BEATS_PER_WEEK = 7 * 24 * 3600  # at 60 bpm
ONE_LINE_VALUES = 12_500_000


def _rr(n: int, seed: int = 1) -> np.ndarray:
    return np.round(800 + 50 * np.random.default_rng(seed).standard_normal(n)).astype(np.int64)


def make_files(folder: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    rr = _rr(MAX_LINES)
    files["plain_max"] = folder / "plain_max.txt"
    files["plain_max"].write_text("\n".join(map(str, rr.tolist())) + "\n")
    week = rr[:BEATS_PER_WEEK]
    since = np.cumsum(week)
    stamps = 1742229480012 + since
    files["hrv_logger_week"] = folder / "hrv_logger_week.csv"
    files["hrv_logger_week"].write_text("timestamp,rr,since_start\n" + "\n".join(
        f"{t},{r},{s}" for t, r, s in zip(stamps.tolist(), week.tolist(), since.tolist(), strict=True)) + "\n")
    files["one_line"] = folder / "one_line.txt"
    with open(files["one_line"], "w") as out:
        chunk = " ".join(map(str, _rr(100_000).tolist()))
        for _ in range(ONE_LINE_VALUES // 100_000):
            out.write(chunk + " ")
        out.write("\n")
    files["too_big"] = folder / "too_big.txt"
    with open(files["too_big"], "w") as out:
        line = "812\n" * 2**18
        while out.tell() <= MAX_FILE_BYTES:
            out.write(line)
    mixed = rr[:10_000].astype(str)
    mixed[5000:] = [f"{v / 1000:.3f}" for v in rr[5000:10_000].tolist()]
    files["mixed_units"] = folder / "mixed_units.txt"
    files["mixed_units"].write_text("\n".join(mixed.tolist()) + "\n")
    return files


_MEASURE = ("import json, resource, subprocess, sys; done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "print(json.dumps([resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.returncode, done.stderr]))")


def run_import(path: Path, library: Path) -> tuple[float, float, int, str]:
    """(seconds, peak MiB of the import process alone, exit code, last stderr line)."""
    import json

    start = time.perf_counter()
    measured = subprocess.run([sys.executable, "-c", _MEASURE, sys.executable, "-m", "somafeedback.cli", "import", str(path),
                               "--recordings", str(library)], capture_output=True, text=True, check=True)
    took = time.perf_counter() - start
    peak_kib, code, stderr = json.loads(measured.stdout)
    return took, peak_kib / 1024, code, (stderr.strip().splitlines() or [""])[-1]


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        files = make_files(Path(folder))
        for name, path in files.items():
            took, peak, code, said = run_import(path, Path(folder) / "library")
            size = path.stat().st_size / 2**20
            print(f"{name}: {took:.1f} s, peak {peak:.0f} MiB, exit {code} ({size:.0f} MiB file) {said[:160]}")


if __name__ == "__main__":
    main()
