"""Link-drop soak: a long accelerated session full of faults, through the real BLE path, recording on.

A generated scenario for a simulated Polar H10 (HR + raw ECG + acceleration) holds ``drops``
link drops of 2-40 s, contact losses, bursts of ectopic/missed/extra beats and malformed
packets, spread over the session. The strap streams through bumble -> bleak -> the supervisor
into a SessionWriter and the live analysis at max speed.

Prints `name: value` lines:
  session_s, drops_injected, reconnects (goal = drops), crashes (goal 0: supervisor errors and
  failures of any consumer), hr_sent / hr_received, pmd_frames_sent / pmd_frames_received,
  notifications_received / notifications_recorded (goal: equal), gap_events (goal = drops),
  metrics_valid (how many were), metrics_valid_across_a_gap (goal 0), wall_s
Run: python benchmarks/bench_soak.py [DROPS]   (default 100)
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from somafeedback.clock import MAX_SPEED, LoopClock, run_in_session_time
from somafeedback.devices.events import GapEvent, Notification, SourceEvent
from somafeedback.devices.gatt_uuids import HEART_RATE_MEASUREMENT, POLAR_PMD_DATA
from somafeedback.devices.simulator.radio import SimulatedRadio
from somafeedback.devices.supervisor import StrapSupervisor
from somafeedback.live.analysis import LiveAnalysis
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.sessions.file import SessionWriter, read_session
from somafeedback.live.sinks import FanOut

DROP_S = (2.0, 40.0)  # link drop lengths, s
SPACING_S = 90.0  # mean session time between two drops, s


def scenario_text(drops: int, seed: int) -> tuple[str, float]:
    """A TOML scenario with the faults, and its duration."""
    rng = np.random.default_rng(seed)
    duration = 120.0 + drops * SPACING_S
    lines = [f'name = "soak"\nduration = {duration:.0f}\nseed = {seed}\n[[phase]]\nat = 0\nstate = "settled"\n']
    starts = np.sort(rng.uniform(60.0, duration - 60.0, drops))
    previous_end = 0.0
    for at in starts:
        at = max(at, previous_end + 45.0)  # time to reconnect before the next drop
        length = float(rng.uniform(*DROP_S))
        if at + length > duration - 20.0:
            break
        lines.append(f'[[fault]]\nkind = "link_drop"\nat = {at:.1f}\nduration = {length:.1f}\n')
        previous_end = at + length
        extra = float(rng.uniform(previous_end + 5.0, previous_end + 30.0))
        kind = str(rng.choice(["contact_loss", "malformed", "ectopic", "missed", "extra"]))
        if extra + 15.0 < duration - 20.0:
            if kind == "contact_loss":
                lines.append(f'[[fault]]\nkind = "contact_loss"\nat = {extra:.1f}\nduration = {rng.uniform(3, 12):.1f}\n')
            elif kind == "malformed":
                lines.append(f'[[fault]]\nkind = "malformed"\nat = {extra:.1f}\ncount = {int(rng.integers(1, 4))}\n')
            else:
                lines.append(f'[[fault]]\nkind = "{kind}"\nat = {extra:.1f}\nduration = 10\ncount = {int(rng.integers(2, 5))}\n')
    return "".join(lines), duration


class Counting(LiveAnalysis):
    """The live analysis, counting what arrives (a consumer like the app's)."""

    def __init__(self) -> None:
        super().__init__(metrics=True)
        self.received: dict[str, int] = {}
        self.gaps: list[GapEvent] = []
        self.snapshots: list[BeatMetrics] = []  # (not `metrics`: LiveAnalysis uses that name)

    def notification(self, notification: Notification) -> None:
        self.received[notification.characteristic] = self.received.get(notification.characteristic, 0) + 1
        self.snapshots.extend(o for _, o in self.on_notification(notification) if isinstance(o, BeatMetrics))

    def event(self, event: SourceEvent) -> None:
        if isinstance(event, GapEvent):
            self.gaps.append(event)
        self.snapshots.extend(o for _, o in self.on_event(event) if isinstance(o, BeatMetrics))


def valid_across_a_gap(metrics: list[BeatMetrics], gaps: list[GapEvent], window_s: float = 60.0) -> int:
    """Metric sets marked valid whose 60-s window contains part of a gap."""
    spans = [(g.start_ns / 1e9, g.end_ns / 1e9) for g in gaps]
    return sum(1 for m in metrics if m.time.validity.valid
               and any(start < m.t_s and end > m.t_s - window_s for start, end in spans))


def soak(drops: int, seed: int = 11, folder: Path | None = None) -> dict[str, Any]:
    text, duration = scenario_text(drops, seed)
    work = Path(folder or tempfile.mkdtemp())
    scenario = work / "soak.toml"
    scenario.write_text(text)
    injected = text.count('kind = "link_drop"')
    analysis = Counting()
    crashes: list[str] = []
    state: dict[str, Any] = {}

    class CrashCounter(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.exc_info:
                crashes.append(record.getMessage())

    handler = CrashCounter(level=logging.ERROR)
    logging.getLogger("somafeedback").addHandler(handler)

    async def main() -> None:
        clock = LoopClock(asyncio.get_running_loop())
        writer = SessionWriter(work / "soak.session.sqlite", clock, {"client": "Soak", "mode": "recording"})
        async with SimulatedRadio() as radio:
            strap = await radio.add_strap(scenario, seed=seed, h10=True)
            supervisor = StrapSupervisor(radio.stack, FanOut(writer, analysis), clock, strap_id="strap1",
                                         address=strap.address)
            task = asyncio.create_task(supervisor.run())
            await asyncio.sleep(duration)
            supervisor.stop()
            try:
                await task
            except Exception as error:  # noqa: BLE001 - what the soak counts
                crashes.append(f"supervisor: {type(error).__name__}: {error}")
            state.update(strap=strap, supervisor=supervisor)
        writer.close("duration reached")
        state["path"] = writer.path

    started = time.perf_counter()
    run_in_session_time(main, MAX_SPEED)
    wall = time.perf_counter() - started
    logging.getLogger("somafeedback").removeHandler(handler)
    strap, supervisor = state["strap"], state["supervisor"]
    recorded = read_session(state["path"]).notifications
    hr_sent = sum(1 for n in strap.sent)
    pmd_sent = len(strap.pmd.frames_sent)
    return {
        "session_s": duration,
        "drops_injected": injected,
        "reconnects": supervisor.reconnects,
        "crashes": len(crashes),
        "hr_sent": hr_sent,
        "hr_received": analysis.received.get(HEART_RATE_MEASUREMENT, 0),
        "pmd_frames_sent": pmd_sent,
        "pmd_frames_received": analysis.received.get(POLAR_PMD_DATA, 0),
        "notifications_received": sum(analysis.received.values()),
        "notifications_recorded": len(recorded),
        "gap_events": len(analysis.gaps),
        "metrics_valid": sum(1 for m in analysis.snapshots if m.time.validity.valid),
        "metrics_valid_across_a_gap": valid_across_a_gap(analysis.snapshots, analysis.gaps),
        "wall_s": round(wall, 1),
    }


def main() -> None:
    drops = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    for name, value in soak(drops).items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
