"""A simulated chest strap: a bumble GATT peripheral that streams the physiology model.

It serves what a real Heart Rate strap serves: Heart Rate (0x2A37 notify, 0x2A38 read,
0x2A39 write), Battery (0x2A19 read/notify) and Device Information, advertises the Heart
Rate service, and once a second notifies every subscribed central with the RR intervals of
the beats that completed since the last notification, as real straps do. Transport faults
from the scenario (contact loss, link drop, malformed packets, not answering connection
requests) are applied here; beat
faults (ectopic, missed, extra) come from the model. Everything it actually delivered is
kept in :attr:`SimulatedStrap.sent`, the ground truth for tests.

Thread: the radio's asyncio loop; all timing is the loop's session time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from bumble import gatt, hci
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device

from somafeedback.clock import Clock

from ..heart_rate import BodySensorLocation, encode_battery_level, encode_measurement
from ..pacer_view import PacerView
from .physiology import HeartModel, SimBeat
from .polar_h10 import SimulatedPmd
from .scenario import Fault, Scenario

log = logging.getLogger(__name__)

NOTIFY_PERIOD_S: Final = 1.0  # seconds between Heart Rate notifications
NOTIFY_JITTER_S: Final = 0.03  # +/- seconds of connection-event jitter on each notification
HR_AVERAGE_BEATS: Final = 4  # beats in the strap's own HR estimate (the bpm field)
MAX_RR_PER_NOTIFICATION: Final = 9  # fits a 20-byte payload with uint8 HR and no energy field
BEAT_LOOKAHEAD_S: Final = 2.5  # s the model runs ahead of the clock (the ECG of a beat starts before it ends)

# Notifications a real strap would never send; each decodes to a HeartRateFormatError.
MALFORMED_PAYLOADS: Final = (
    bytes([0x01, 0x48]),  # flags say uint16 HR, only one HR byte follows
    bytes([0x10, 0x48, 0x20]),  # RR present, one odd trailing byte
    bytes([0x08, 0x48, 0x05]),  # energy expended present, truncated
)


@dataclass(frozen=True, slots=True)
class SentNotification:
    """One Heart Rate notification that reached a subscribed central (ground truth)."""

    t_s: float  # session time it was sent
    address: str  # the central it went to
    payload: bytes
    rr_1024: tuple[int, ...]  # RR ticks it carried (empty for malformed or no-contact packets)
    malformed: bool = False


class SimulatedStrap:
    """A heart-rate strap on the simulated radio (create it with ``SimulatedRadio.add_strap``)."""

    def __init__(
        self,
        device: Device,
        scenario: Scenario,
        seed: int | None = None,
        battery_percent: int = 87,
        *,
        h10: bool = False,
        compressed_acc: bool = True,
        max_mtu: int | None = None,
        pacer_view: PacerView | None = None,
        session_clock: Clock | None = None,
    ):
        self.device = device
        self.scenario = scenario
        self.model = HeartModel(scenario, seed=seed)
        self._pacer_view = pacer_view  # handed to the model at start, with the offset of the session clock
        self._session_clock = session_clock
        self.generated: list[SimBeat] = []
        self._ahead: list[SimBeat] = []  # beats the model produced that have not completed yet
        self.pmd: SimulatedPmd | None = None
        if h10:
            self.pmd = SimulatedPmd(device, self.session_time, self._run_model_until, self.model.seed,
                                    compressed_acc=compressed_acc, **({} if max_mtu is None else {"max_mtu": max_mtu}))
            for fault in scenario.transport_faults():
                if fault.kind == "movement":  # known in advance: the motion is rendered ahead of the clock
                    self.pmd.add_movement(fault.at_s, fault.duration_s)
        elif max_mtu is not None:
            device.gatt_server.max_mtu = max_mtu
        self.sent: list[SentNotification] = []
        # connection-event jitter: its own stream, so it never perturbs the heart's
        self._rng = np.random.default_rng([self.model.seed, 0x5EED])
        self._pending: list[SimBeat] = []  # completed beats not yet notified
        self._contact_until = -1.0
        self._link_down_until = -1.0
        self._subscribed: set[Connection] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._chores: set[asyncio.Task[None]] = set()  # short HCI work (advertise, disconnect): let it finish
        self._timers: set[asyncio.Task[None]] = set()  # waits until a link drop ends: cancel on stop
        self._origin = 0.0

        self._measurement = gatt.Characteristic(
            "2A37", gatt.Characteristic.Properties.NOTIFY, gatt.Characteristic.READABLE, b""
        )
        self._measurement.on("subscription", self._on_subscription)
        location = gatt.Characteristic(
            "2A38", gatt.Characteristic.Properties.READ, gatt.Characteristic.READABLE,
            bytes([BodySensorLocation.CHEST]),
        )
        control_point = gatt.Characteristic(
            "2A39", gatt.Characteristic.Properties.WRITE, gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(write=lambda connection, value: None),
        )
        self._battery = gatt.Characteristic(
            "2A19", gatt.Characteristic.Properties.READ | gatt.Characteristic.Properties.NOTIFY,
            gatt.Characteristic.READABLE, encode_battery_level(battery_percent),
        )
        device_info = [
            gatt.Characteristic(uuid, gatt.Characteristic.Properties.READ, gatt.Characteristic.READABLE, text.encode())
            for uuid, text in (("2A29", "somafeedback"), ("2A24", "Simulated H10" if h10 else "Simulated HR strap"),
                               ("2A26", "1.0"))
        ]
        device.add_services([
            gatt.Service("180D", [self._measurement, location, control_point]),
            gatt.Service("180F", [self._battery]),
            gatt.Service("180A", device_info),
            *([self.pmd.service] if self.pmd is not None else []),
        ])
        device.advertising_data = bytes(AdvertisingData([
            (AdvertisingData.FLAGS, bytes([0x06])),  # LE general discoverable, BR/EDR not supported
            (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, bytes(UUID("180D")) + bytes(UUID("180F"))),
            (AdvertisingData.COMPLETE_LOCAL_NAME, device.name.encode()),
        ]))
        device.on("connection", self._on_connection)

    @property
    def address(self) -> str:
        return self.device.random_address.to_string(False)

    @property
    def name(self) -> str:
        return self.device.name

    def sent_rr_1024(self) -> list[int]:
        """Every RR tick value delivered to a central, in order."""
        return [rr for notification in self.sent for rr in notification.rr_1024]

    # -- lifecycle --------------------------------------------------------------------
    async def start(self, session_s: float = 0.0) -> None:
        """Power on, advertise, and start the beat clock, whose session time is ``session_s`` now (default 0;
        a dyad person joining a session already running reads the dyad's time: the beats before it are
        never sent, as a strap sends nothing before a central subscribes). A pacer view given at creation
        is read on ``session_clock`` (default: the loop's time, the clock a LoopClock reads)."""
        loop = asyncio.get_running_loop()
        self._origin = loop.time() - session_s
        if self._pacer_view is not None:  # the view reads session-clock seconds: the model's time + this offset
            clock_now = loop.time() if self._session_clock is None else self._session_clock.now()
            self.model.follow_pacer(self._pacer_view, clock_now - session_s)
        await self.device.power_on()
        await self._advertise()
        self._tasks.append(loop.create_task(self._notify_loop(), name=f"strap {self.name}"))

    async def stop(self) -> None:
        """Stop the beat clock; in-flight HCI commands complete (cancelling them upsets bumble)."""
        for task in (*self._tasks, *self._timers):
            task.cancel()
        for task in (*self._tasks, *self._timers):
            try:
                await task
            except asyncio.CancelledError:
                pass
        await asyncio.gather(*self._chores, return_exceptions=True)
        self._tasks.clear()
        if self.pmd is not None:
            await self.pmd.stop()

    def session_time(self) -> float:
        return asyncio.get_running_loop().time() - self._origin

    # -- fault injection (also driven by the scenario's transport faults) ---------------
    def lose_contact(self, duration_s: float) -> None:
        """The electrodes lose skin contact for ``duration_s``: no RR, contact bit cleared, no ECG."""
        self._contact_until = max(self._contact_until, self.session_time() + duration_s)
        if self.pmd is not None:
            self.pmd.contact = False

    def answers_connections(self) -> bool:
        """False while an ``unresponsive`` fault runs: a connection request to the strap goes unanswered."""
        now = self.session_time()
        return not any(f.kind == "unresponsive" and f.at_s <= now < f.at_s + f.duration_s
                       for f in self.scenario.transport_faults())

    def drop_link(self, duration_s: float) -> None:
        """The strap goes out of range: the link times out and it is unreachable for a while."""
        self._link_down_until = max(self._link_down_until, self.session_time() + duration_s)
        for connection in list(self.device.connections.values()):
            self._spawn(connection.disconnect(hci.HCI_CONNECTION_TIMEOUT_ERROR))  # a supervision timeout
        self._spawn(self._readvertise_after(duration_s), self._timers)

    async def send_malformed(self, count: int) -> None:
        for k in range(count):
            await self._notify(MALFORMED_PAYLOADS[k % len(MALFORMED_PAYLOADS)], (), malformed=True)

    # -- GATT events --------------------------------------------------------------------
    def _on_connection(self, connection: Connection) -> None:
        connection.on("disconnection", lambda reason: self._on_disconnection(connection))

    def _on_disconnection(self, connection: Connection) -> None:
        self._subscribed.discard(connection)
        if self.session_time() >= self._link_down_until:
            self._spawn(self._advertise())

    def _on_subscription(self, connection: Connection, notify_enabled: bool, indicate_enabled: bool) -> None:
        if notify_enabled:
            self._subscribed.add(connection)
        else:
            self._subscribed.discard(connection)

    def _spawn(self, work: Coroutine[Any, Any, None], into: set[asyncio.Task[None]] | None = None) -> None:
        tasks = self._chores if into is None else into
        task = asyncio.get_running_loop().create_task(work)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _advertise(self) -> None:
        if not self.device.is_advertising:
            await self.device.start_advertising(auto_restart=False, advertising_interval_min=100.0,
                                                advertising_interval_max=100.0)

    async def _readvertise_after(self, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        if not self.device.connections:
            await self._advertise()

    # -- the notification clock -----------------------------------------------------------
    async def _notify_loop(self) -> None:
        loop = asyncio.get_running_loop()
        faults = list(self.scenario.transport_faults())
        tick = max(0, int(self.session_time() // NOTIFY_PERIOD_S))  # a strap started late does not replay its past
        while True:
            tick += 1
            jitter = float(self._rng.uniform(-NOTIFY_JITTER_S, NOTIFY_JITTER_S))
            await asyncio.sleep(max(0.0, self._origin + tick * NOTIFY_PERIOD_S + jitter - loop.time()))
            now = self.session_time()
            while faults and faults[0].at_s <= now:
                await self._apply(faults.pop(0))
            if self.pmd is not None:
                self.pmd.contact = now >= self._contact_until
            beats = self.beats_until(now)
            self.generated.extend(beats)
            await self._notify_beats(beats, now)

    def beats_until(self, t_s: float) -> list[SimBeat]:
        """The model's beats completing by ``t_s``; the model itself runs ahead for the ECG."""
        self._run_model_until(t_s + BEAT_LOOKAHEAD_S)
        done = 0
        while done < len(self._ahead) and self._ahead[done].t_end_s <= t_s:
            done += 1
        beats, self._ahead = self._ahead[:done], self._ahead[done:]
        return beats

    def _run_model_until(self, t_s: float) -> None:
        ahead = self.model.beats_until(t_s)
        if self.pmd is not None:
            for beat in ahead:
                self.pmd.add_beat(beat)
        self._ahead.extend(ahead)

    async def _apply(self, fault: Fault) -> None:
        log.info("simulated strap %s: %s at %.1f s", self.name, fault.kind, fault.at_s)
        if fault.kind == "contact_loss":
            self.lose_contact(fault.duration_s)
        elif fault.kind == "link_drop":
            self.drop_link(fault.duration_s)
        elif fault.kind == "malformed":
            await self.send_malformed(fault.count)
        elif fault.kind == "unresponsive":  # it keeps advertising; its link, if any, times out
            for connection in list(self.device.connections.values()):
                self._spawn(connection.disconnect(hci.HCI_CONNECTION_TIMEOUT_ERROR))
        elif fault.kind == "pmd_stop" and self.pmd is not None:
            await self.pmd.stop_from_device()

    async def _notify_beats(self, beats: list[SimBeat], now: float) -> None:
        if now < self._contact_until:
            self._pending.clear()  # beats during contact loss are never detected
            await self._notify(encode_measurement(0, (), contact=False), ())
            return
        if not self._subscribed:
            self._pending.clear()  # a strap does not buffer RR for a central that is not there
            return
        self._pending.extend(beats)
        recent = self.generated[-HR_AVERAGE_BEATS:]
        bpm = round(60 * 1024 * len(recent) / sum(b.rr_1024 for b in recent)) if recent else 0
        while True:
            batch = tuple(b.rr_1024 for b in self._pending[:MAX_RR_PER_NOTIFICATION])
            del self._pending[:MAX_RR_PER_NOTIFICATION]
            await self._notify(encode_measurement(bpm, batch, contact=True), batch)
            if not self._pending:
                return

    async def _notify(self, payload: bytes, rr_1024: tuple[int, ...], malformed: bool = False) -> None:
        now = self.session_time()
        for connection in list(self._subscribed):
            await self.device.notify_subscriber(connection, self._measurement, payload)
            self.sent.append(SentNotification(now, connection.peer_address.to_string(False), payload, rr_1024, malformed))
