"""Soak: random damage to a real recording never gives a traceback or a hang in any reader.

Each case damages a copy of a real session file (1 to 4 random bytes flipped anywhere, or the
file cut short at any byte, or both) and runs every reader on it: ``read_session``, the
library's ``summarize_file``, ``verify_session``, the ``analyze`` analysis of the session
(``session_series`` + the whole-record summary) and the report's stored pass as a report takes
it (``live/stored_pass.stored_pass``: absent, damaged or made otherwise gives None). A reader may end with a
:class:`SessionFileError` (one clear line) or with what it could read; anything else raised is
a traceback, and a case still running after ``--limit`` seconds is a hang.

The recordings: the shipped sample (``recordings/``, format 1, a real Polar H10 RR record) and a
5-minute H10 session recorded here through the simulated strap (format 2: ECG, chest motion,
row checksums, the report's pass stored at its clean end: most of the file's bytes).
``tests/test_session_damage.py`` runs a small sample of the same cases.

    python scripts/soak_damage.py [--cases 1000] [--seed 1] [--limit 60]

Prints ``name: value unit`` lines; tracebacks and hangs are 0 when all is well.
Thread: the main thread (each case runs on a worker thread so a hang can be counted).
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parents[1]
READERS: Final = ("read_session", "summarize_file", "verify_session", "analyze", "stored pass")  # run on each case
SAMPLE: Final = REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite"
MAX_FLIPS: Final = 4
CASE_LIMIT_S: Final = 60.0  # a case still running after this long counts as a hang


@dataclass(frozen=True)
class Damage:
    """Which bytes of a file to flip (position, xor mask) and where to cut it (None: keep its length)."""

    flips: tuple[tuple[int, int], ...] = ()
    cut_at: int | None = None

    def apply(self, data: bytes) -> bytes:
        damaged = bytearray(data)
        for position, mask in self.flips:
            if position < len(damaged):
                damaged[position] ^= mask
        return bytes(damaged if self.cut_at is None else damaged[:self.cut_at])


def random_damage(rng: random.Random, size: int) -> Damage:
    """Flips anywhere, a cut at any byte, or both (each kind about a third of the cases)."""
    kind = rng.randrange(3)
    flips = tuple((rng.randrange(size), rng.randrange(1, 256)) for _ in range(rng.randint(1, MAX_FLIPS))) if kind != 1 else ()
    cut = rng.randrange(size) if kind != 0 else None
    return Damage(flips, cut)


@dataclass
class Outcome:
    """What the readers did with one damaged file."""

    clear_errors: int = 0  # SessionFileError: one clear line
    read: int = 0  # ended with what could be read
    tracebacks: list[str] = field(default_factory=list)


def read_everything(path: Path) -> Outcome:
    """Run every reader on ``path``; tracebacks are collected, never raised."""
    from somafeedback.reports.analysis_summary import print_summary
    from somafeedback.sessions.analysis import session_series
    from somafeedback.sessions.file import SessionFileError, read_session
    from somafeedback.sessions.library import summarize_file
    from somafeedback.sessions.verify import verify_session

    outcome = Outcome()

    def attempt(name: str, reader) -> None:  # type: ignore[no-untyped-def]
        try:
            reader()
            outcome.read += 1
        except SessionFileError:
            outcome.clear_errors += 1
        except Exception:  # noqa: BLE001 - counting them is the point
            outcome.tracebacks.append(f"{name}: {traceback.format_exc(limit=-3)}")

    readers = {"read_session": lambda: read_session(path), "summarize_file": lambda: summarize_file(path),
               "verify_session": lambda: verify_session(path),
               "analyze": lambda: print_summary(session_series(path), out=io.StringIO()),
               "stored pass": lambda: _stored_pass(path)}
    assert tuple(readers) == READERS
    for name, reader in readers.items():
        attempt(name, reader)
    return outcome


def _stored_pass(path: Path) -> object:
    """The report's stored pass as a report takes it (None when absent, damaged or made otherwise)."""
    from somafeedback.live.stored_pass import stored_pass
    from somafeedback.live.strap_pass import client_strap_of
    from somafeedback.sessions.file import read_session
    from somafeedback.sessions.span import report_span

    session = read_session(path)
    strap = client_strap_of(session)
    return None if strap is None else stored_pass(session, strap, report_span(session))


def run_case(source: bytes, damage: Damage, folder: Path, limit_s: float = CASE_LIMIT_S) -> Outcome | None:
    """Write the damaged copy into ``folder`` and read it; None when the readers did not end within ``limit_s``."""
    path = folder / "damaged.session.sqlite"
    path.write_bytes(damage.apply(source))
    result: list[Outcome] = []
    worker = threading.Thread(target=lambda: result.append(read_everything(path)), daemon=True)
    worker.start()
    worker.join(limit_s)
    return result[0] if result else None


def h10_recording(folder: Path, duration_s: float = 300.0) -> Path:
    """A 5-minute H10 session recorded through the simulated strap (the tests' recording helper), ended
    cleanly with the report's pass stored as the app stores it (no time limit)."""
    import functools

    sys.path.insert(0, str(REPO / "tests"))
    from recording_helpers import record_simulated

    from somafeedback.live.stored_pass import store_pass

    return record_simulated(folder / "h10.session.sqlite", "calm", duration_s, h10=True,
                            finish=functools.partial(store_pass, within_s=None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=float, default=CASE_LIMIT_S, help="seconds before a case counts as a hang")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        sources = [SAMPLE.read_bytes(), h10_recording(folder).read_bytes()]
        tracebacks = hangs = clear = read = 0
        slowest = 0.0
        started = time.perf_counter()
        for case in range(args.cases):
            source = sources[case % len(sources)]
            damage = random_damage(rng, len(source))
            case_dir = folder / f"case{case}"
            case_dir.mkdir()
            began = time.perf_counter()
            outcome = run_case(source, damage, case_dir, args.limit)
            slowest = max(slowest, time.perf_counter() - began)
            if outcome is None:
                hangs += 1
                print(f"hang: case {case} {damage}", file=sys.stderr)
            else:
                tracebacks += len(outcome.tracebacks)
                clear += outcome.clear_errors
                read += outcome.read
                for text in outcome.tracebacks:
                    print(f"traceback: case {case} {damage}\n{text}", file=sys.stderr)
            shutil.rmtree(case_dir, ignore_errors=True)
        print(f"cases: {args.cases} files")
        print(f"reader runs: {len(READERS) * args.cases} runs")
        print(f"ended with what could be read: {read} runs")
        print(f"ended with one clear error: {clear} runs")
        print(f"tracebacks: {tracebacks} runs")
        print(f"hangs: {hangs} cases")
        print(f"slowest case: {slowest:.2f} s")
        print(f"total: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
