"""Kill test: SIGKILL a recording at random moments; every session must open and lose at most ~1 s.

Each round starts `somafeedback record --simulate --json --beats` (a simulated Polar H10, ECG and
acceleration included) at 10x session speed (the test suite: ``--speed max``, a virtual clock, so the
figures do not depend on how busy the computer is), waits for its first beat and then a random 1-6 s
of wall time, and kills the process with SIGKILL (no chance to clean up). The printer writes each beat *after* the recorder
has taken its notification, so the arrival of the last beat printed bounds what the process had
received; the loss is that arrival time minus the last notification the session file still holds
(a lower bound of what was received and lost: frames after the last printed beat are not seen).

Prints `name: value` lines:
  kills, sessions_open (goal: all), max_loss_s (goal <= 1 s), median_loss_s, notifications_kept_min
Run: python benchmarks/bench_kill.py [N]   (default 50)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from somafeedback.sessions.file import SessionFileError, read_session

SPEED = "10"  # session seconds per wall second ("max": a virtual clock, as fast as the computer goes)
FIRST_BEAT_TIMEOUT_S = 120.0  # s of wall time a starting recorder may take to print its first beat


def one_kill(library: Path, wait_s: float, speed: str = SPEED) -> tuple[bool, float, int]:
    """(the session opened, data lost in session seconds, notifications kept)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "somafeedback.cli", "record", "--simulate", "calm", "--speed", speed,
         "--recordings", str(library), "--json", "--beats"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    last_seen: list[float] = []
    first_beat = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            record = json.loads(line)
            if record.get("type") == "beat":
                last_seen.append(float(record["arrival_s"]))
                first_beat.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    first_beat.wait(FIRST_BEAT_TIMEOUT_S)  # a slow start is not part of the kill's random moment
    time.sleep(wait_s)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    reader.join(timeout=5)
    assert process.stdout is not None
    process.stdout.close()
    files = sorted(library.glob("*.session.sqlite"))
    if not files:
        return not last_seen, 0.0, 0  # killed before anything was received: nothing to lose
    try:
        session = read_session(files[-1])
    except SessionFileError:
        return False, float("inf"), 0
    notifications = session.notifications
    kept_s = max((n.host_ns for n in notifications), default=0) / 1e9
    loss = max(0.0, (max(last_seen) if last_seen else 0.0) - kept_s)
    return True, loss, len(notifications)


def run(kills: int, seed: int = 9, speed: str = SPEED) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    opened, losses, kept = 0, [], []
    for _ in range(kills):
        with tempfile.TemporaryDirectory() as folder:
            ok, loss, count = one_kill(Path(folder), float(rng.uniform(1.0, 6.0)), speed)
        opened += ok
        losses.append(loss)
        kept.append(count)
    return {"kills": kills, "sessions_open": opened, "max_loss_s": max(losses), "median_loss_s": float(np.median(losses)),
            "notifications_kept_min": min(kept)}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    for name, value in run(n).items():
        print(f"{name}: {value:.3f}" if isinstance(value, float) else f"{name}: {value}")


if __name__ == "__main__":
    main()
