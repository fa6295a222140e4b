"""Recording simulated sessions through the real BLE path (shared by several test modules)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from session_helpers import run_in_session_time

from somafeedback.clock import MAX_SPEED, LoopClock, SessionEventLoop
from somafeedback.devices.events import Notification, SourceEvent, StrapSink, TimelineEvent
from somafeedback.devices.simulator.radio import SimulatedRadio
from somafeedback.devices.supervisor import StrapSupervisor
from somafeedback.live.analysis import LiveAnalysis, Output
from somafeedback.sessions.file import Finisher, SessionWriter
from somafeedback.live.sinks import FanOut


class AnalysisCollector:
    """A sink keeping every output of LiveAnalysis (beats, contact changes, metric sets) in order."""

    def __init__(self) -> None:
        self.analysis = LiveAnalysis(metrics=True)
        self.outputs: list[tuple[str, Output]] = []

    def notification(self, notification: Notification) -> None:
        self.outputs.extend(self.analysis.on_notification(notification))

    def event(self, event: SourceEvent) -> None:
        self.outputs.extend(self.analysis.on_event(event))


def record_simulated(
    path: Path,
    scenario: str,
    duration_s: float,
    also: StrapSink | None = None,
    markers: list[tuple[float, str, dict[str, Any]]] = (),
    manifest: dict[str, Any] | None = None,
    seed: int = 1,
    h10: bool = False,
    on_writer: Callable[[SessionWriter], None] | None = None,
    finish: Finisher | None = None,
) -> Path:
    """Simulated strap -> bumble -> bleak -> supervisor -> SessionWriter (and ``also``), at max speed.

    ``markers``: (session time, kind, data) timeline events added while recording.
    ``on_writer``: called with the writer once it is open (e.g. to make a regulation loop record its events).
    ``finish``: what the close stores (e.g. the report's pass, as a recording by the app does).
    """

    async def main() -> None:
        clock = LoopClock(asyncio.get_running_loop())
        writer = SessionWriter(path, clock, manifest or {"client": "Client A", "mode": "recording"})
        if on_writer is not None:
            on_writer(writer)
        sink: StrapSink = FanOut(writer, also) if also is not None else writer
        async with SimulatedRadio() as radio:
            strap = await radio.add_strap(scenario, seed=seed, h10=h10)
            supervisor = StrapSupervisor(radio.stack, sink, clock, strap_id="strap1", address=strap.address)
            task = asyncio.create_task(supervisor.run())
            for at_s, kind, data in sorted(markers, key=lambda m: m[0]):
                await asyncio.sleep(max(0.0, at_s - clock.now()))
                sink.event(TimelineEvent(kind, clock.now_ns(), clock.wall_time(), data))
            await asyncio.sleep(max(0.0, duration_s - clock.now()))
            supervisor.stop()
            await task
        writer.close("duration reached", finish=finish)

    run_in_session_time(main)
    return path


def run(main: Callable[[], Coroutine[Any, Any, Any]], speed: float) -> Any:
    return run_in_session_time(main, speed)


def record_straps(path: Path, straps: Sequence[tuple[str, int | None, bool]], manifest: dict[str, Any],
                  events: Sequence[tuple[float, str, dict]], duration_s: float, wall_origin: float,
                  finish: Finisher | None = None) -> Path:
    """Several simulated straps (scenario, seed, H10?) -> bumble -> bleak -> one supervisor each ->
    one SessionWriter, with ``events`` written at their session times, for ``duration_s`` at max speed,
    the session clock starting at the wall time ``wall_origin``; ``finish``: what the close stores."""

    async def main() -> None:
        async with SimulatedRadio() as radio:
            added = [await radio.add_strap(name, seed=seed, h10=h10) for name, seed, h10 in straps]
            clock = LoopClock(asyncio.get_running_loop())
            writer = SessionWriter(path, clock, manifest)
            supervisors = [StrapSupervisor(radio.stack, writer, clock, strap_id=f"strap{k}", address=s.address)
                           for k, s in enumerate(added, start=1)]
            tasks = [asyncio.create_task(s.run()) for s in supervisors]
            for at, kind, data in events:
                await asyncio.sleep(at - clock.now())
                writer.event(TimelineEvent(kind, clock.now_ns(), clock.wall_time(), data))
            await asyncio.sleep(duration_s - clock.now())
            for supervisor in supervisors:
                supervisor.stop()
            await asyncio.gather(*tasks)
            writer.close(finish=finish)

    with asyncio.Runner(loop_factory=lambda: SessionEventLoop(MAX_SPEED, wall_origin=wall_origin)) as runner:
        runner.run(main())
    return path
