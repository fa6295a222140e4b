"""Corrupt inputs: truncated and garbled session files and import files, through the commands users run.

A library holds two good sessions (imported from real RR records). Damaged copies of a session
file (truncated at several points, garbled blocks, a destroyed header, empty, random bytes, a
text file) are put beside them and opened with `sessions`, `analyze`, `replay` and `export`;
damaged import files (truncated, garbled, binary, empty, absurd values) go through `import`.
Each run must end with exit status 0 (what could be read was recovered, and it says so) or 2
with one clear line on stderr — never a traceback — and must leave every other file of the
library byte for byte as it was.

Prints `name: value` lines:
  runs, recovered, clear_errors, crashes (goal 0), unclear_errors (goal 0: several lines or a
  traceback), good_sessions_listed (goal 2), damaged_sessions_listed_as_damaged,
  library_untouched (goal True)
Run: python benchmarks/bench_corrupt.py
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from somafeedback.cli.main import main as cli
from somafeedback.interop.importer import import_file

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "rr"
GOOD_IMPORTS = ("polar_h10_slow_breathing_ibi.csv", "irurzun_000_ms.txt")


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def damaged_sessions(good: bytes, rng: np.random.Generator) -> dict[str, bytes]:
    size = len(good)
    garbled = bytearray(good)
    for start in rng.integers(4096, size - 1024, 6):
        garbled[int(start):int(start) + 512] = rng.bytes(512)
    header = bytearray(good)
    header[:100] = rng.bytes(100)
    return {
        "truncated-10": good[: size // 10], "truncated-50": good[: size // 2], "truncated-90": good[: size * 9 // 10],
        "truncated-odd": good[: size // 3 + 17], "garbled-blocks": bytes(garbled), "header-destroyed": bytes(header),
        "empty": b"", "random": rng.bytes(50_000), "text": b"this is not a session\n" * 100,
    }


def damaged_imports(source: bytes, rng: np.random.Generator) -> dict[str, bytes]:
    lines = source.splitlines(keepends=True)
    return {
        "truncated-mid-line.txt": b"".join(lines[:200]) + lines[200][: len(lines[200]) // 2],
        "garbled.txt": bytes(b if rng.random() > 0.05 else int(rng.integers(0, 256)) for b in source[:20_000]),
        "binary.txt": rng.bytes(20_000),
        "empty.txt": b"",
        "absurd.txt": b"\n".join([b"800", b"1e308", b"-5", b"nan", b"900"] * 50),
        "one-value.txt": b"812\n",
    }


def run_cli(args: list[str]) -> tuple[int | None, str]:
    """(exit status, stderr); None as status when the command raised (a crash)."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            status = cli(args)
        except SystemExit as stop:
            status = stop.code if isinstance(stop.code, int) else 2
        except Exception as error:  # noqa: BLE001 - what the harness counts
            err.write(f"CRASH {type(error).__name__}: {error}")
            status = None
    return status, err.getvalue()


def corrupt_sweep(work: Path, seed: int = 3) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    library = work / "library"
    for name in GOOD_IMPORTS:
        import_file(DATA / name, library, client="Client K")
    good = sorted(library.glob("*.session.sqlite"))
    source = max(good, key=lambda p: p.stat().st_size)  # the 21 h record: many pages to damage
    damaged = work / "damaged"
    damaged.mkdir()
    for name, data in damaged_sessions(source.read_bytes(), rng).items():
        (damaged / f"{name}.session.sqlite").write_bytes(data)
    shutil.copytree(damaged, library, dirs_exist_ok=True)  # the damaged files sit in the library too
    before = {name: digest for name, digest in _digest(library).items() if name in {p.name for p in good}}
    results: list[tuple[str, int | None, str]] = []

    def record(label: str, args: list[str]) -> None:
        status, err = run_cli(args)
        results.append((label, status, err))

    record("sessions", ["sessions", "--recordings", str(library), "--json"])
    for path in sorted(damaged.glob("*.session.sqlite")):
        out = work / "exports" / path.stem
        record(f"analyze {path.name}", ["analyze", str(path)])
        record(f"replay {path.name}", ["replay", str(path), "--speed", "max", "--recordings", str(library)])
        record(f"export {path.name}", ["export", str(path), "--format", "kubios", "--out", str(out)])
    imports = work / "imports"
    imports.mkdir()
    for name, data in damaged_imports((DATA / "irurzun_000_ms.txt").read_bytes(), rng).items():
        (imports / name).write_bytes(data)
        record(f"import {name}", ["import", str(imports / name), "--recordings", str(library)])
    listed = io.StringIO()
    with contextlib.redirect_stdout(listed), contextlib.redirect_stderr(io.StringIO()):
        cli(["sessions", "--recordings", str(library), "--json"])
    rows = [json.loads(line) for line in listed.getvalue().splitlines()]
    after = {name: digest for name, digest in _digest(library).items() if name in before}
    crashes = [r for r in results if r[1] is None or "Traceback" in r[2]]
    unclear = [r for r in results if r[1] not in (None, 0) and len([line for line in r[2].splitlines() if line.strip()]) != 1]
    return {
        "runs": len(results),
        "recovered": sum(1 for r in results if r[1] == 0),
        "clear_errors": sum(1 for r in results if r[1] == 2 and r not in unclear),
        "crashes": len(crashes),
        "unclear_errors": len(unclear),
        "good_sessions_listed": sum(1 for row in rows if row["status"] == "complete" and row["client"] == "Client K"),
        "damaged_sessions_listed_as_damaged": sum(1 for row in rows if row["status"] == "damaged"),
        "library_untouched": after == before and len(after) == len(good),
        "details": results,
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        figures = corrupt_sweep(Path(folder))
    for label, status, err in figures.pop("details"):
        print(f"  {label}: exit {status}  {err!r}", file=sys.stderr)
    for name, value in figures.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
