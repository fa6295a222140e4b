"""Long run: an 8 h accelerated session with raw ECG and acceleration, recorded and analysed live.

A simulated Polar H10 (calm scenario, continuing past its 10 minutes) streams through bumble ->
bleak -> the supervisor into a SessionWriter and the live analysis (ECG beats, metrics,
breathing), as the app runs them, at max speed.

Prints `name: value` lines:
  session_h, peak_rss_mb (goal <= 250), recording_mb, recording_mb_per_h (goal <= 30),
  notifications, ecg_beats, wall_s, rss_after_1h_mb (growth check)
Run: python benchmarks/bench_longrun.py [HOURS]   (default 8)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from somafeedback.clock import MAX_SPEED, LoopClock, run_in_session_time
from somafeedback.devices.events import Beat, Notification, SourceEvent
from somafeedback.devices.simulator.radio import SimulatedRadio
from somafeedback.devices.supervisor import StrapSupervisor
from somafeedback.live.analysis import LiveAnalysis
from somafeedback.sessions.file import SessionWriter
from somafeedback.live.sinks import FanOut


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def rss_mb() -> float:
    """Resident memory now (Linux /proc), MB."""
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not getrusage's ru_maxrss: Linux carries that
    over from the parent across fork and exec, so a child started by a big process reports the parent's."""
    return _status_mb("VmHWM")


class Consumer:
    """The live analysis, keeping only counts (as the app keeps only what it draws)."""

    def __init__(self) -> None:
        self.analysis = LiveAnalysis(metrics=True)
        self.notifications = 0
        self.ecg_beats = 0

    def notification(self, notification: Notification) -> None:
        self.notifications += 1
        for _, item in self.analysis.on_notification(notification):
            if isinstance(item, Beat) and item.source == "ecg":
                self.ecg_beats += 1

    def event(self, event: SourceEvent) -> None:
        self.analysis.on_event(event)


def long_run(hours: float, folder: Path) -> dict[str, Any]:
    consumer = Consumer()
    samples: dict[str, float] = {}

    async def main() -> None:
        loop = asyncio.get_running_loop()
        clock = LoopClock(loop)
        writer = SessionWriter(folder / "long.session.sqlite", clock, {"client": "Long", "mode": "recording"})
        committer_stop = asyncio.Event()

        async def commit() -> None:
            while not committer_stop.is_set():
                await asyncio.sleep(0.125)
                writer.commit_if_due()

        async def watch() -> None:
            await asyncio.sleep(3600.0)
            samples["rss_after_1h_mb"] = rss_mb()

        async with SimulatedRadio() as radio:
            strap = await radio.add_strap("calm", seed=8, h10=True)
            supervisor = StrapSupervisor(radio.stack, FanOut(writer, consumer), clock, strap_id="strap1",
                                         address=strap.address)
            tasks = [asyncio.create_task(supervisor.run()), asyncio.create_task(commit()), asyncio.create_task(watch())]
            await asyncio.sleep(hours * 3600.0)
            supervisor.stop()
            await tasks[0]
            committer_stop.set()
            await tasks[1]
            tasks[2].cancel()
        writer.close("duration reached")
        samples["bytes"] = sum(p.stat().st_size for p in folder.glob("long.session.sqlite*"))

    started = time.perf_counter()
    run_in_session_time(main, MAX_SPEED)
    wall = time.perf_counter() - started
    peak = peak_rss_mb()
    mb = samples["bytes"] / 1e6
    return {"session_h": hours, "peak_rss_mb": round(peak, 1), "rss_after_1h_mb": round(samples.get("rss_after_1h_mb", 0.0), 1),
            "recording_mb": round(mb, 1), "recording_mb_per_h": round(mb / hours, 2),
            "notifications": consumer.notifications, "ecg_beats": consumer.ecg_beats, "wall_s": round(wall, 1)}


def main() -> None:
    hours = float(sys.argv[1]) if len(sys.argv) > 1 else 8.0
    with tempfile.TemporaryDirectory() as folder:
        for name, value in long_run(hours, Path(folder)).items():
            print(f"{name}: {value}")


if __name__ == "__main__":
    main()
