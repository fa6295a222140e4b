"""Starts and stops Polar PMD streams (raw ECG, chest acceleration) on a connected strap.

The sequence follows Polar's SDK: enable indications on the control point and
notifications on the data characteristic *before* any command; read the features; for each
wanted stream ask for its settings, pick the nearest offered values, start it and wait for
the indication that answers. Every answer is checked and every error status is named. The
strap may also stop a stream on its own (an ``ONLINE_MEASUREMENT_STOPPED`` indication):
that is reported and the stream is started once more. :meth:`PmdControl.stop` stops the
streams before the caller disconnects, so the strap does not keep sampling.

What happens is reported as :class:`~.events.TimelineEvent` records (``pmd_started``,
``pmd_stopped``, ``pmd_error``), which a recording keeps: a replay decodes the data frames
with the very settings the strap confirmed.

Thread: the BLE loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from bleak import BleakClient
from bleak.exc import BleakError

from .gatt_uuids import POLAR_PMD_CONTROL_POINT, POLAR_PMD_DATA
from .pmd_commands import (
    ControlResponse,
    MeasurementStopped,
    ResponseAssembler,
    SettingType,
    decode_features,
    decode_settings,
    describe_status,
    get_settings_request,
    start_request,
    stop_request,
)
from .pmd_types import MeasurementType, PmdFormatError

log = logging.getLogger(__name__)

RESPONSE_TIMEOUT_S: Final = 5.0  # s to wait for the control point's indication
RESTART_DELAY_S: Final = 1.0  # s before restarting a stream the strap stopped on its own
CONTROL_ERRORS: Final = (BleakError, OSError, TimeoutError, PmdFormatError)

MEASUREMENT_NAMES: Final[Mapping[int, str]] = {MeasurementType.ECG: "ecg", MeasurementType.ACC: "acc"}


@dataclass(frozen=True, slots=True)
class PmdStreamRequest:
    """One stream the app wants, with its preferred settings (type -> value)."""

    measurement: MeasurementType
    settings: Mapping[int, int]

    @property
    def name(self) -> str:
        return MEASUREMENT_NAMES.get(self.measurement, self.measurement.name.lower())


# H10: ECG only at 130 Hz / 14 bit; chest acceleration at 25 Hz (plenty for breathing and
# movement, and the least radio traffic), 16 bit, +/-4 g (headroom for movement).
ECG_130HZ: Final = PmdStreamRequest(MeasurementType.ECG, {SettingType.SAMPLE_RATE: 130, SettingType.RESOLUTION: 14})
ACC_25HZ: Final = PmdStreamRequest(
    MeasurementType.ACC, {SettingType.SAMPLE_RATE: 25, SettingType.RESOLUTION: 16, SettingType.RANGE: 4}
)
DEFAULT_STREAMS: Final = (ECG_130HZ, ACC_25HZ)


def choose_settings(wanted: Mapping[int, int], offered: Mapping[int, Sequence[int | float]]) -> dict[int, int]:
    """For each wanted setting, the offered value closest to it (a setting not offered is left out)."""
    chosen: dict[int, int] = {}
    for setting, value in wanted.items():
        options = [int(v) for v in offered.get(int(setting), ())]
        if options:
            chosen[int(setting)] = min(options, key=lambda option: (abs(option - value), option))
    return chosen


@dataclass(slots=True)
class PmdControl:
    """Drives one strap's PMD control point (create one per connection)."""

    client: BleakClient
    strap_id: str
    report: Callable[[str, dict[str, Any]], None]  # (event kind, details) -> the sink, as a TimelineEvent
    on_data: Callable[[bytes], None]  # a data frame, exactly as received
    on_control: Callable[[bytes], None]  # a control point indication, exactly as received
    started: dict[int, dict[str, Any]] = field(default_factory=dict)  # measurement type -> settings in force
    _assembler: ResponseAssembler = field(default_factory=ResponseAssembler)
    _waiting: asyncio.Future[ControlResponse] | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _requests: dict[int, PmdStreamRequest] = field(default_factory=dict)
    _restarts: set[asyncio.Task[None]] = field(default_factory=set)
    _closing: bool = False

    async def start(self, requests: Sequence[PmdStreamRequest] = DEFAULT_STREAMS) -> None:
        """Subscribe, read the features and start every offered stream of ``requests``."""
        await _request_larger_mtu(self.client)
        await self.client.start_notify(POLAR_PMD_CONTROL_POINT, lambda _c, data: self._indication(bytes(data)))
        await self.client.start_notify(POLAR_PMD_DATA, lambda _c, data: self.on_data(bytes(data)))
        features = decode_features(bytes(await self.client.read_gatt_char(POLAR_PMD_CONTROL_POINT)))
        for request in requests:
            if request.measurement not in features:
                self.report("pmd_error", {"measurement": request.name, "status": None,
                                          "text": f"this strap does not offer {request.name.upper()}"})
                continue
            self._requests[request.measurement] = request
            await self._start_one(request)

    async def stop(self) -> None:
        """Stop every running stream (best effort: the link may already be going)."""
        self._closing = True
        for task in self._restarts:
            task.cancel()
        by = "app" if self.client.is_connected else "link"
        for measurement in list(self.started):
            with contextlib.suppress(*CONTROL_ERRORS):
                response = await self._command(stop_request(measurement))
                if not response.ok:
                    log.info("%s: stopping %s: %s", self.strap_id, self._name(measurement), response.error_text)
            self.started.pop(measurement, None)
            self.report("pmd_stopped", {"measurement": self._name(measurement), "type": int(measurement), "by": by})
        for characteristic in (POLAR_PMD_DATA, POLAR_PMD_CONTROL_POINT):
            with contextlib.suppress(*CONTROL_ERRORS):
                await self.client.stop_notify(characteristic)

    # -- one stream -------------------------------------------------------------------
    async def _start_one(self, request: PmdStreamRequest) -> bool:
        name = request.name
        try:
            offered_response = await self._command(get_settings_request(request.measurement))
            if not offered_response.ok:
                self._error(name, offered_response)
                return False
            settings = choose_settings(request.settings, decode_settings(offered_response.params))
            response = await self._command(start_request(request.measurement, settings))
        except CONTROL_ERRORS as error:
            self.report("pmd_error", {"measurement": name, "status": None,
                                      "text": f"{name.upper()} could not be started: {type(error).__name__}: {error}"})
            return False
        if not response.ok:
            self._error(name, response)
            return False
        confirmed = decode_settings(response.params) if response.params else {}
        details = {
            "measurement": name,
            "type": int(request.measurement),
            "sample_rate": settings.get(SettingType.SAMPLE_RATE),
            "resolution": settings.get(SettingType.RESOLUTION),
            "range": settings.get(SettingType.RANGE),
            "factor": float(confirmed[SettingType.FACTOR][0]) if SettingType.FACTOR in confirmed else 1.0,
        }
        self.started[request.measurement] = details
        self.report("pmd_started", details)
        return True

    def _error(self, name: str, response: ControlResponse) -> None:
        self.report("pmd_error", {"measurement": name, "status": int(response.status),
                                  "text": f"{name.upper()}: the strap answered {describe_status(response.status)}"})

    # -- control point ---------------------------------------------------------------------
    async def _command(self, request: bytes) -> ControlResponse:
        """Write one command and wait for its answer (one command at a time)."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            self._waiting = loop.create_future()
            try:
                await self.client.write_gatt_char(POLAR_PMD_CONTROL_POINT, request, response=True)
                async with asyncio.timeout(RESPONSE_TIMEOUT_S):
                    response = await self._waiting
            finally:
                self._waiting = None
            if response.op != request[0]:
                raise PmdFormatError(f"answer to op {response.op} while waiting for op {request[0]}")
            return response

    def _indication(self, data: bytes) -> None:
        self.on_control(data)
        try:
            message = self._assembler.feed(data)
        except PmdFormatError as error:
            log.warning("%s: unreadable PMD control message %s: %s", self.strap_id, data.hex(), error)
            return
        if isinstance(message, MeasurementStopped):
            self._stopped_by_strap(message)
        elif isinstance(message, ControlResponse) and self._waiting is not None and not self._waiting.done():
            self._waiting.set_result(message)

    def _stopped_by_strap(self, message: MeasurementStopped) -> None:
        for measurement in message.types:
            if self.started.pop(measurement, None) is None:
                continue
            self.report("pmd_stopped", {"measurement": self._name(measurement), "type": int(measurement), "by": "strap"})
            request = self._requests.get(measurement)
            if request is not None and not self._closing:
                task = asyncio.get_running_loop().create_task(self._restart(request))
                self._restarts.add(task)
                task.add_done_callback(self._restarts.discard)

    async def _restart(self, request: PmdStreamRequest) -> None:
        await asyncio.sleep(RESTART_DELAY_S)
        if not self._closing and self.client.is_connected:
            await self._start_one(request)

    @staticmethod
    def _name(measurement: int) -> str:
        return MEASUREMENT_NAMES.get(measurement, str(measurement))


async def _request_larger_mtu(client: BleakClient) -> None:
    """Ask for a larger ATT MTU where the platform allows it (BlueZ negotiates on its own but
    reports 23 until asked; bleak has no public call for it). Frames are never assumed to fit."""
    acquire = getattr(getattr(client, "_backend", None), "_acquire_mtu", None)
    if acquire is not None:
        with contextlib.suppress(*CONTROL_ERRORS, AttributeError):
            await acquire()
    log.debug("ATT MTU %s", client.mtu_size)
