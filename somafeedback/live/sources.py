"""Runs live strap sources: real straps over the OS's Bluetooth, or simulated ones.

The one place that chooses between the system Bluetooth stack and the simulated radio;
everything after that choice (scanning, supervisors, sinks) is the same code.

Thread: the BLE loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from pathlib import Path
from typing import TYPE_CHECKING, Any

from somafeedback.clock import Clock, LoopClock
from somafeedback.devices.ble_stack import OS_STACK, BleStack
from somafeedback.devices.connection_problems import NoStrapFound  # defined beside its classification; imported from here too
from somafeedback.devices.events import Notification, SourceEvent, StrapSink
from somafeedback.devices.scan import FoundStrap, scan_for_straps
from somafeedback.devices.fleet import StrapFleet
from somafeedback.devices.pacer_view import PacerView
from somafeedback.devices.supervisor import CONNECTION_ERRORS, ReconnectPolicy, StrapSupervisor
from somafeedback.sessions.file import COMMIT_INTERVAL_S, SessionWriter, new_session_path
from .stored_pass import finisher
from .sinks import WRITE_ERRORS, FanOut, GuardedRecorder, write_failure_text

if TYPE_CHECKING:
    from somafeedback.devices.simulator.scenario import Scenario

SIMULATOR_HINT = "To try somafeedback without a strap, use the built-in simulated strap: somafeedback stream --simulate"


@dataclass(frozen=True, slots=True)
class StrapSource:
    """Which straps to stream: simulated (``simulate`` = scenario) or real (``addresses``)."""

    simulate: str | None = None  # scenario name or path; None for real straps
    addresses: tuple[str, ...] = ()  # real straps; empty: the first one found
    simulated_straps: int = 1
    seed: int | None = None
    scan_timeout_s: float = 10.0
    simulated_model: str = "h10"  # "h10": a Polar H10 with raw ECG and motion; "hr": a plain heart-rate strap
    # simulated straps that only advertise nearby (a scan finds them; nothing connects to them by
    # itself): the demo's "second person", e.g. the practitioner's own strap; plain heart-rate straps, settled ("calm").
    nearby_simulated_straps: int = 0
    # one person of a dyad scenario ("client" or "practitioner"): only that person's strap, on the dyad's time
    # (a remote session: each computer simulates its own person; see devices/simulator/dyad.py)
    person: str | None = None

    def simulated_people(self) -> int:
        """How many simulated straps connect: two for a dyad scenario (client, practitioner), else ``simulated_straps``."""
        if self.simulate is None:
            return 0
        from somafeedback.devices.simulator.dyad import is_dyad

        if self.person is not None:
            return 1
        return 2 if is_dyad(self.simulate) else self.simulated_straps


NEARBY_SCENARIO = "calm"


@asynccontextmanager
async def open_stack(
    source: StrapSource, dyad_clock: Clock | None = None, *, pacer_view: PacerView | None = None
) -> AsyncIterator[tuple[BleStack, list[str | None]]]:
    """The BLE stack to use and the strap addresses to supervise (None: first found).

    ``dyad_clock``: what a dyad person's strap (``source.person``) reads as the dyad's time (default: the
    loop's clock, the session clock that stamps its items). ``pacer_view``: the pacer on the screen, in
    seconds of that clock, given to every simulated strap that connects (a scenario with ``[follow_pacer]``
    breathes with it; others, and real straps, ignore it)."""
    if source.simulate is None:
        yield OS_STACK, list(source.addresses) or [None]
        return
    from somafeedback.devices.simulator.radio import SimulatedRadio  # bumble loads only when simulating

    from somafeedback.devices.simulator.dyad import is_dyad, load_dyad, person_index

    # a dyad scenario: strap1 the client, strap2 the practitioner, their heart rates coupled as it says
    people: tuple[Scenario | str, ...] = load_dyad(source.simulate).people() if is_dyad(source.simulate) else (source.simulate,) * source.simulated_straps
    numbers = list(range(len(people)))
    if source.person is not None:  # one person of the dyad (its seed as in the whole dyad), on the dyad's time
        numbers = [person_index(source.simulate, source.person)]
    clock = dyad_clock or LoopClock(asyncio.get_running_loop())
    async with SimulatedRadio() as radio:
        addresses: list[str | None] = []
        for number in numbers:
            seed = None if source.seed is None else source.seed + number
            strap = await radio.add_strap(people[number], seed=seed, h10=source.simulated_model == "h10",
                                          session_s=0.0 if source.person is None else clock.now(),
                                          pacer_view=pacer_view, session_clock=clock)
            addresses.append(strap.address)
        for number in range(source.nearby_simulated_straps):
            seed = None if source.seed is None else source.seed + len(people) + number
            await radio.add_strap(NEARBY_SCENARIO, seed=seed)  # a plain heart-rate strap: cheap to run
        yield radio.stack, addresses


async def scan(stack: BleStack, timeout_s: float) -> list[FoundStrap]:
    """Scan, turning 'no Bluetooth here' into :class:`NoStrapFound`."""
    try:
        return await scan_for_straps(stack, timeout_s)
    except CONNECTION_ERRORS as error:
        raise NoStrapFound(
            f"No strap found: this machine has no usable Bluetooth adapter or Bluetooth service "
            f"({type(error).__name__}: {error}).\n{SIMULATOR_HINT}"
        ) from error


async def stream_straps(
    source: StrapSource, sink: StrapSink, duration_s: float | None, *, pacer_view: PacerView | None = None
) -> list[StrapSupervisor]:
    """Stream every requested strap into ``sink`` for ``duration_s`` session seconds.

    None: a simulated source runs to the end of its scenario, a real strap until cancelled.
    ``pacer_view``: see :func:`open_stack`.
    """
    clock = LoopClock(asyncio.get_running_loop())
    policy = ReconnectPolicy(scan_timeout_s=source.scan_timeout_s)
    if duration_s is None and source.simulate is not None:
        from somafeedback.devices.simulator.scenario import load_scenario

        duration_s = load_scenario(source.simulate).duration_s
    async with open_stack(source, pacer_view=pacer_view) as (stack, addresses):
        if addresses == [None]:
            found = await scan(stack, min(source.scan_timeout_s, 5.0))
            if not found:
                raise NoStrapFound(f"No heart-rate strap found nearby (is it worn and awake?).\n{SIMULATOR_HINT}")
            addresses = [found[0].address]
        if duration_s is not None:  # what arrives after the session's end (a busy loop stops late) is not part of it
            sink = SessionEnd(sink, round(duration_s * 1e9))
        fleet = StrapFleet(stack, sink, clock, policy)
        for number, address in enumerate(addresses, start=1):
            fleet.connect(address, f"strap{number}")
        try:
            await fleet.wait(None if duration_s is None else max(0.0, duration_s - clock.now()))
        finally:
            await fleet.close()
        return list(fleet.supervisors.values())


class SessionEnd:
    """A sink that passes on what the straps send until ``end_ns`` of session time, and only their
    events after it (the link stopping): ``--duration`` counts session time, however late a busy
    loop gets round to stopping the straps. Thread: the BLE loop's."""

    def __init__(self, sink: StrapSink, end_ns: int) -> None:
        self.sink = sink
        self.end_ns = end_ns

    def notification(self, notification: Notification) -> None:
        if notification.host_ns <= self.end_ns:
            self.sink.notification(notification)

    def event(self, event: SourceEvent) -> None:
        self.sink.event(event)


async def keep_committed(writer: SessionWriter | GuardedRecorder) -> None:
    """Commit pending rows within a second even when nothing new arrives."""
    while True:
        await asyncio.sleep(COMMIT_INTERVAL_S / 4)
        writer.commit_if_due()


class RecordingFailed(RuntimeError):
    """The recording stopped because the session file could not be written (a full disk, a removed
    stick). The message says so in words; ``path`` keeps what was recorded until then, readable."""

    def __init__(self, path: Path, stopped_at_s: float | None, error: BaseException) -> None:
        self.path = path
        if stopped_at_s is None:
            super().__init__(f"the recording could not start: {write_failure_text(error)} (writing {path}); "
                             "free some space (or reconnect the disk) and try again.")
            return
        super().__init__(f"the recording stopped after {stopped_at_s:.0f} s: {write_failure_text(error)}. "
                         f"What was recorded until then is kept in {path} and can be read; "
                         "free some space (or reconnect the disk) before recording again.")


async def record_straps(
    source: StrapSource,
    sink: StrapSink,
    duration_s: float | None,
    library: Path,
    manifest: dict[str, Any],
    on_writer: Callable[[GuardedRecorder], None] | None = None,
    *,
    pacer_view: PacerView | None = None,
) -> SessionWriter:
    """Stream like :func:`stream_straps` while recording everything into a new session file.

    ``on_writer`` sees the (guarded) writer before streaming starts (to record more, e.g. states
    and cues). ``pacer_view``: see :func:`open_stack`. A write that fails stops the recording: :class:`RecordingFailed`. A cancel (Ctrl-C,
    or a stop signal whose cancel message says which) closes the file with that reason.
    """
    clock = LoopClock(asyncio.get_running_loop())
    path = new_session_path(library, clock.wall_time(), manifest.get("client"))
    try:
        writer = SessionWriter(path, clock, manifest)
    except WRITE_ERRORS as error:
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        raise RecordingFailed(path, None, error) from error
    task = asyncio.current_task()
    assert task is not None
    started_s = clock.now()
    failed_at: list[float] = []
    streaming = [True]

    def stop_recording(_error: BaseException) -> None:
        failed_at.append(clock.now() - started_s)
        if streaming:  # a failure while closing has nothing left to stop
            task.cancel("the session file could not be written")

    guard = GuardedRecorder(writer, stop_recording)
    if on_writer is not None:
        on_writer(guard)
    committer = asyncio.create_task(keep_committed(guard))
    end_reason = "interrupted"
    try:
        await stream_straps(source, FanOut(guard, sink), duration_s, pacer_view=pacer_view)
        end_reason = "duration reached" if duration_s is not None or source.simulate else "stopped"
    except NoStrapFound:
        committer.cancel()
        guard.close("no strap found")
        path.unlink(missing_ok=True)  # nothing was recorded: leave no empty session behind
        raise
    except asyncio.CancelledError as cancelled:
        if guard.failure is not None:
            task.uncancel()
            raise RecordingFailed(path, failed_at[0], guard.failure) from None
        if cancelled.args and isinstance(cancelled.args[0], str):
            end_reason = cancelled.args[0]  # e.g. which stop signal ended it
        raise
    finally:
        streaming.clear()
        committer.cancel()
        guard.close(end_reason, finisher(end_reason))
    if guard.failure is not None:  # failed while the stream was ending by itself
        raise RecordingFailed(path, failed_at[0], guard.failure)
    return writer
