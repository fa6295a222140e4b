"""Keeps one strap connected and streaming: connect, subscribe, watch, reconnect.

One :class:`StrapSupervisor` per strap; several run side by side on one asyncio loop (a
client and a practitioner can each wear one). It hands every raw notification and every
connection event to a :class:`~.events.StrapSink`:

* states ``connecting -> streaming``; on link loss (or a stream that stalls)
  ``lost -> reconnecting -> streaming`` with capped exponential backoff between failed
  attempts, re-subscribing after every reconnect (notifications never survive a
  disconnect); ``stopped`` at the end;
* a :class:`~.events.GapEvent` (start, end) for every loss once streaming resumes;
* a :class:`~.events.StrapInfo` (name, battery, body location) after every connection;
* on a strap with the Polar PMD service (H10), raw ECG and chest acceleration as well
  (:class:`~.pmd_control.PmdControl`: started after every connection, stopped before every
  disconnect; data frames and control indications are delivered as notifications too);
* a ``connection-problem`` :class:`~.events.TimelineEvent` when a failure has a name
  (:mod:`.connection_problems`): an attempt that failed (no adapter, Bluetooth off, no
  permission, no strap found, a connect that hangs past ``connect_timeout_s`` +
  :data:`CONNECT_GRACE_S`), links that end at about the same age again and again
  (:class:`~.connection_problems.DropPattern`), or the H10 refusing raw streams. The latest
  is kept in :attr:`StrapSupervisor.problem`.

Thread: the BLE loop. ``stop()`` must be called on that loop (from another thread:
``loop.call_soon_threadsafe(supervisor.stop)``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError

from somafeedback.clock import Clock
from .ble_stack import BleStack
from .connection_problems import ConnectHung, DropPattern, Problem, StrapNotFound, classify_error, pmd_refused, problem_event
from .events import GapEvent, LinkEvent, LinkState, Notification, StrapInfo, StrapSink, TimelineEvent
from .gatt_uuids import (
    BATTERY_LEVEL,
    BODY_SENSOR_LOCATION,
    HEART_RATE_MEASUREMENT,
    POLAR_PMD_CONTROL_POINT,
    POLAR_PMD_DATA,
    POLAR_PMD_SERVICE,
)
from .heart_rate import decode_battery_level, decode_body_sensor_location
from .pmd_control import CONTROL_ERRORS, DEFAULT_STREAMS, PmdControl, PmdStreamRequest
from .scan import find_strap

log = logging.getLogger(__name__)

DISCONNECT_TIMEOUT_S: Final = 5.0  # s allowed for a clean unsubscribe + disconnect on stop
CONNECT_GRACE_S: Final = 5.0  # s beyond bleak's own connect timeout before an attempt counts as hung
ONCE_PER_SUPERVISOR: Final = (Problem.REPEATED_DROPS, Problem.PMD_REFUSED)  # reported once, not per attempt
CONNECTION_ERRORS: Final = (BleakError, OSError, TimeoutError)  # what a failed attempt may raise


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """How hard a supervisor tries (all times in session seconds)."""

    first_delay_s: float = 0.5  # wait after the first failed attempt
    max_delay_s: float = 15.0  # cap of the doubling wait between failed attempts
    scan_timeout_s: float = 10.0  # how long one attempt looks for the strap
    connect_timeout_s: float = 20.0
    stall_timeout_s: float = 10.0  # connected but silent this long: treat the link as lost
    max_attempts: int | None = None  # consecutive failed attempts before giving up; None: never

    def delay_s(self, failures: int) -> float:
        return min(self.max_delay_s, self.first_delay_s * 2 ** max(0, failures - 1))


class StrapSupervisor:
    """Streams one strap's Heart Rate notifications into a sink, surviving link loss."""

    def __init__(
        self,
        stack: BleStack,
        sink: StrapSink,
        clock: Clock,
        *,
        strap_id: str,
        address: str | None = None,
        policy: ReconnectPolicy = ReconnectPolicy(),
        pmd_streams: Sequence[PmdStreamRequest] = DEFAULT_STREAMS,
    ) -> None:
        self.stack = stack
        self.pmd_streams = tuple(pmd_streams)  # raw streams wanted from a PMD strap; () for none
        self.sink = sink
        self.strap_id = strap_id
        self.address = address
        self.policy = policy
        self.state: LinkState | None = None
        self.reconnects = 0  # successful reconnections after a loss
        self._now_ns = clock.now_ns
        self._wall_time = clock.wall_time
        self._seq = 0
        self._last_data_ns = 0
        self._stop_requested = False
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()  # ends a search under way
        self._sink_failures: dict[str, int] = {}  # exception type -> count
        self.problem: Problem | None = None  # the latest problem reported (None: none, or a failure since cured)
        self._drops = DropPattern()
        self._reported: set[Problem] = set()

    # -- control ----------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the supervisor to unsubscribe, disconnect and finish."""
        self._stop_requested = True
        self._wake.set()
        self._stopping.set()  # a search may take seconds: end it now

    async def run(self) -> None:
        """Connect and stream until :meth:`stop` (or until the policy gives up)."""
        failures = 0
        lost_at_ns: int | None = None
        ever_streamed = False
        try:
            while not self._stop_requested:
                first = not ever_streamed and failures == 0
                self._set_state(LinkState.CONNECTING if first else LinkState.RECONNECTING, attempt=failures)
                try:
                    outcome = await self._stream_once(lost_at_ns)
                except CONNECTION_ERRORS as error:
                    failures += 1
                    detail = f"attempt {failures} failed: {type(error).__name__}: {error}".rstrip(": ")
                    log.info("%s: %s", self.strap_id, detail)
                    problem = classify_error(error)
                    if problem is not None:
                        self._problem(problem, detail)
                    if self.policy.max_attempts is not None and failures >= self.policy.max_attempts:
                        self._set_state(LinkState.STOPPED, attempt=failures, detail=f"gave up; {detail}")
                        return
                    self._set_state(LinkState.RECONNECTING, attempt=failures, detail=detail)
                    await self._sleep(self.policy.delay_s(failures))
                    continue
                if outcome is None:  # asked to stop before a connection was made
                    break
                if lost_at_ns is not None:
                    self.reconnects += 1
                ever_streamed, failures, lost_at_ns = True, 0, None
                if outcome != "stopped":
                    lost_at_ns = self._now_ns()
                    self._set_state(LinkState.LOST, detail=outcome)
        finally:
            if lost_at_ns is not None:  # stopped while the link was down: that gap ends here
                self._deliver(self.sink.event, GapEvent(self.strap_id, lost_at_ns, self._now_ns()))
            if self.state is not LinkState.STOPPED:
                self._set_state(LinkState.STOPPED)

    # -- one connection -----------------------------------------------------------------
    async def _stream_once(self, lost_at_ns: int | None) -> str | None:
        """Find, connect, subscribe and stream; why streaming ended (None: stopped before connecting)."""
        device = await find_strap(self.stack, self.address, self.policy.scan_timeout_s, self._stopping)
        if self._stop_requested:
            return None
        if device is None:
            target = self.address or "any heart-rate strap"
            raise StrapNotFound(f"{target} not found within {self.policy.scan_timeout_s:g} s")
        client = self.stack.client(device, lambda _client: self._wake.set(), self.policy.connect_timeout_s)
        try:  # some platforms' connect can hang past bleak's own timeout (Windows: OpenHRV#15, #29)
            async with asyncio.timeout(self.policy.connect_timeout_s + CONNECT_GRACE_S):
                await client.connect()
        except TimeoutError as error:
            raise ConnectHung(f"connecting to {device.name or device.address} did not finish within "
                              f"{self.policy.connect_timeout_s:g} s") from error
        pmd: PmdControl | None = None
        try:
            await client.start_notify(HEART_RATE_MEASUREMENT, self._on_measurement)
            self._last_data_ns = self._now_ns()
            self._deliver(self.sink.event, await self._read_info(client, device))
            self._set_state(LinkState.STREAMING)
            if lost_at_ns is not None:
                self._deliver(self.sink.event, GapEvent(self.strap_id, lost_at_ns, self._now_ns()))
            if self.pmd_streams and client.services.get_service(POLAR_PMD_SERVICE) is not None:
                pmd = PmdControl(client, self.strap_id, self._report_pmd,
                                 lambda data: self._receive(POLAR_PMD_DATA, data),
                                 lambda data: self._receive(POLAR_PMD_CONTROL_POINT, data))
                await self._start_pmd(pmd)
            return await self._watch(client)
        finally:
            await self._close(client, pmd)

    async def _start_pmd(self, pmd: PmdControl) -> None:
        """Start the raw streams; a failure is reported and the heart-rate stream goes on."""
        try:
            await pmd.start(self.pmd_streams)
        except CONTROL_ERRORS as error:
            self._report("pmd_error", {"measurement": None, "status": None,
                                       "text": f"raw ECG/motion could not be started: {type(error).__name__}: {error}"})

    async def _watch(self, client: BleakClient) -> str:
        stall_ns = int(self.policy.stall_timeout_s * 1e9)
        while True:
            self._wake.clear()
            if self._stop_requested:
                return "stopped"
            if not client.is_connected:
                return "link lost"
            silent_ns = self._now_ns() - self._last_data_ns
            if silent_ns >= stall_ns:
                return f"no data for {silent_ns / 1e9:.0f} s"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), (stall_ns - silent_ns) / 1e9)

    async def _close(self, client: BleakClient, pmd: PmdControl | None) -> None:
        if not client.is_connected:
            if pmd is not None:
                await pmd.stop()  # reports the streams ended with the link
            return
        with contextlib.suppress(*CONNECTION_ERRORS):
            async with asyncio.timeout(DISCONNECT_TIMEOUT_S):
                if pmd is not None:
                    await pmd.stop()  # stop sampling before the link goes
                with contextlib.suppress(*CONNECTION_ERRORS):
                    await client.stop_notify(HEART_RATE_MEASUREMENT)
                await client.disconnect()

    async def _read_info(self, client: BleakClient, device: BLEDevice) -> StrapInfo:
        battery = location = None
        with contextlib.suppress(*CONNECTION_ERRORS, ValueError):
            battery = decode_battery_level(await client.read_gatt_char(BATTERY_LEVEL))
        with contextlib.suppress(*CONNECTION_ERRORS, ValueError):
            location = decode_body_sensor_location(await client.read_gatt_char(BODY_SENSOR_LOCATION)).label
        return StrapInfo(self.strap_id, device.name or "", device.address, self._now_ns(), battery, location)

    def _on_measurement(self, characteristic: BleakGATTCharacteristic, data: bytearray) -> None:
        self._receive(HEART_RATE_MEASUREMENT, bytes(data))

    def _receive(self, characteristic: str, data: bytes) -> None:
        """Hand one notification or indication downstream, stamped and numbered."""
        self._seq += 1
        self._last_data_ns = self._now_ns()
        notification = Notification(self.strap_id, characteristic, self._seq, self._last_data_ns, self._wall_time(), data)
        self._deliver(self.sink.notification, notification)

    def _report(self, kind: str, details: dict[str, Any]) -> None:
        self._deliver(self.sink.event, TimelineEvent(kind, self._now_ns(), self._wall_time(), details, self.strap_id))

    def _report_pmd(self, kind: str, details: dict[str, Any]) -> None:
        """A PMD event to the sink; a refused stream is also reported as PMD_REFUSED."""
        self._report(kind, details)
        if kind == "pmd_error" and pmd_refused(details):
            self._problem(Problem.PMD_REFUSED, str(details.get("text", "")))

    def _problem(self, problem: Problem, detail: str) -> None:
        """Report ``problem`` once: a failure until streaming resumes, drops and PMD once per supervisor."""
        self.problem = problem
        if problem in self._reported:
            return
        self._reported.add(problem)
        self._deliver(self.sink.event, problem_event(self.strap_id, problem, detail, self._now_ns(), self._wall_time()))

    def _deliver(self, handler: Callable[[Any], None], item: object) -> None:
        """Hand ``item`` to the sink; a failing sink is reported, never allowed to break the link."""
        try:
            handler(item)
        except Exception as error:  # noqa: BLE001 - the BLE stack must outlive any consumer bug
            kind = type(error).__name__
            if kind not in self._sink_failures:
                log.exception("%s: the consumer of strap data failed (%s); streaming goes on", self.strap_id, kind)
            self._sink_failures[kind] = self._sink_failures.get(kind, 0) + 1

    # -- helpers ------------------------------------------------------------------------
    def _set_state(self, state: LinkState, attempt: int = 0, detail: str = "") -> None:
        self.state = state
        event = LinkEvent(self.strap_id, state, self._now_ns(), self._wall_time(), attempt, detail)
        self._deliver(self.sink.event, event)
        if state is LinkState.STREAMING:  # a failure is cured; a later one is reported again
            self._reported &= set(ONCE_PER_SUPERVISOR)
            if self.problem not in ONCE_PER_SUPERVISOR:
                self.problem = None
        if self._drops.feed(event) is Problem.REPEATED_DROPS:
            self._problem(Problem.REPEATED_DROPS, f"the link ended after about {self._drops.interval_s:.0f} s, "
                                                  f"{len(self._drops.ages_s)} times so far")

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake early when asked to stop."""
        if self._stop_requested:
            return
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
