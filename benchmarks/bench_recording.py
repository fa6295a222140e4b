"""Recording and replay costs.

Prints `name: value unit` lines:
  write_per_notification_p50_ms, _p99_ms, _mean_ms   SessionWriter.notification(), commit policy included,
                                                      one notification per session second (a strap's rate)
  write_per_notification_ecg_rate_mean_ms            the same with 10 notifications per second (HR + ECG + ACC)
  commit_ms_p50                                       one commit (WAL, synchronous=NORMAL)
  session_24h_mb                                      size of a 24 h HR session
  replay_24h_s, replay_24h_x_realtime                 a 24 h session (real nsr2db beats, 106,459) replayed as
                                                      fast as possible into the live decoder
  replay_24h_with_metrics_s, _x_realtime              the same into decoder + full metric pipeline
Goals: write <= 0.2 ms per notification including commits; replay >= 10,000x realtime.
Run: python benchmarks/bench_recording.py
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from somafeedback.clock import MAX_SPEED, SessionEventLoop
from somafeedback.devices.events import Notification
from somafeedback.devices.gatt_uuids import HEART_RATE_MEASUREMENT
from somafeedback.devices.heart_rate import encode_measurement
from somafeedback.devices.replay import ReplaySource
from somafeedback.interop.importer import import_file
from somafeedback.live.analysis import LiveAnalysis
from somafeedback.sessions.file import SessionWriter, read_session

RECORD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "rr" / "nsr001_rr_secs.txt"


class SteppedClock:
    """Session time advanced by hand (what the BLE loop's clock would read)."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def now_ns(self) -> int:
        return round(self.t * 1e9)

    def wall_time(self) -> float:
        return 1.7e9 + self.t


def write_costs(folder: Path, per_second: int, seconds: int) -> tuple[np.ndarray, int]:
    clock = SteppedClock()
    writer = SessionWriter(folder / f"write{per_second}.session.sqlite", clock, {"client": None})
    payload = encode_measurement(66, [912], contact=True)
    costs = np.empty(per_second * seconds)
    k = 0
    for second in range(seconds):
        for j in range(per_second):
            clock.t = second + j / per_second
            note = Notification("strap1", HEART_RATE_MEASUREMENT, k + 1, clock.now_ns(), clock.wall_time(), payload)
            start = time.perf_counter_ns()
            writer.notification(note)
            costs[k] = time.perf_counter_ns() - start
            k += 1
    writer.close()
    return costs / 1e6, (folder / f"write{per_second}.session.sqlite").stat().st_size


def commit_cost(folder: Path) -> float:
    clock = SteppedClock()
    writer = SessionWriter(folder / "commit.session.sqlite", clock, {})
    costs = []
    for k in range(200):
        writer.notification(Notification("s", HEART_RATE_MEASUREMENT, k, k, 0.0, b"\x10\x42\x00\x04"))
        start = time.perf_counter_ns()
        writer.commit()
        costs.append(time.perf_counter_ns() - start)
    writer.close()
    return float(np.median(costs)) / 1e6


def replay_time(path: Path, metrics: bool) -> tuple[float, float]:
    session = read_session(path)
    analysis = LiveAnalysis(metrics=metrics)

    class Sink:
        def notification(self, notification: Notification) -> None:
            analysis.on_notification(notification)

        def event(self, event: object) -> None:
            analysis.on_event(event)  # type: ignore[arg-type]

    async def main() -> None:
        await ReplaySource(session.timeline, Sink(), speed=math.inf).run()

    start = time.perf_counter()
    with asyncio.Runner(loop_factory=lambda: SessionEventLoop(MAX_SPEED)) as runner:
        runner.run(main())
    return time.perf_counter() - start, session.duration_s


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        costs, size = write_costs(folder, per_second=1, seconds=3600)
        print(f"write_per_notification_p50_ms: {np.percentile(costs, 50):.4f} ms")
        print(f"write_per_notification_p99_ms: {np.percentile(costs, 99):.4f} ms")
        print(f"write_per_notification_mean_ms: {costs.mean():.4f} ms")
        ecg_costs, _ = write_costs(folder, per_second=10, seconds=600)
        print(f"write_per_notification_ecg_rate_mean_ms: {ecg_costs.mean():.4f} ms")
        print(f"commit_ms_p50: {commit_cost(folder):.3f} ms")
        print(f"session_1h_hr_mb: {size / 1e6:.2f} MB")
        session = import_file(RECORD, folder)  # 24 h of real beats as a session
        print(f"session_24h_mb: {session.stat().st_size / 1e6:.1f} MB")
        took, duration = replay_time(session, metrics=False)
        print(f"replay_24h_s: {took:.2f} s")
        print(f"replay_24h_x_realtime: {duration / took:.0f} x")
        took, duration = replay_time(session, metrics=True)
        print(f"replay_24h_with_metrics_s: {took:.2f} s")
        print(f"replay_24h_with_metrics_x_realtime: {duration / took:.0f} x")


if __name__ == "__main__":
    main()
