"""One strap's PMD notifications in, timed ECG and acceleration chunks out (live and replay).

The settings of each stream come from the ``pmd_started`` events that
:class:`~.pmd_control.PmdControl` reports (and a recording keeps), so a replay decodes with
exactly what the strap confirmed. Each frame's device stamp (its last sample) feeds a
:class:`~.device_clock.DeviceClockMap`; every sample gets a host session time from it.
Consecutive frames are spaced by their own stamps (Polar's rule); when frames were lost
in between, the nominal rate is used instead and the chunk is marked not contiguous.

Thread: any; synchronous and stateful, one instance per strap, fed in arrival order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np

from .device_clock import DeviceClockMap
from .events import AccChunk, EcgChunk, GapEvent, MalformedPacket, Notification, TimelineEvent
from .gatt_uuids import POLAR_PMD_DATA
from .pmd_frames import decode_data_frame, sample_times_ns
from .pmd_types import MeasurementType, PmdFormatError

PmdItem = EcgChunk | AccChunk | MalformedPacket

CONTIGUOUS_TOLERANCE: Final = 0.5  # a frame's stamp spacing may differ from n/rate by this share and still follow on
ECG_DEFAULT_RATE_HZ: Final = 130.0  # the H10's only ECG rate, used when a frame arrives before its settings


class PmdStream:
    """Decodes one strap's PMD data frames into timed chunks."""

    def __init__(self, strap_id: str) -> None:
        self.strap_id = strap_id
        self.clock = DeviceClockMap()
        self.settings: dict[int, Mapping[str, Any]] = {}  # measurement type -> confirmed settings
        self._last_stamp: dict[int, int] = {}  # measurement type -> device stamp of the previous frame

    @property
    def ecg_running(self) -> bool:
        return MeasurementType.ECG in self.settings

    @property
    def acc_running(self) -> bool:
        return MeasurementType.ACC in self.settings

    def event(self, event: TimelineEvent | GapEvent) -> None:
        """Track stream starts and stops; a gap breaks the frame spacing."""
        if isinstance(event, GapEvent):
            self._last_stamp.clear()
            return
        if event.kind == "pmd_started":
            self.settings[int(event.data["type"])] = dict(event.data)
            self._last_stamp.pop(int(event.data["type"]), None)
        elif event.kind == "pmd_stopped":
            self.settings.pop(int(event.data["type"]), None)
            self._last_stamp.pop(int(event.data["type"]), None)

    def link_lost(self) -> None:
        """Every stream ended with the link (a reconnection starts them again)."""
        self.settings.clear()
        self._last_stamp.clear()

    def feed(self, notification: Notification) -> list[PmdItem]:
        if notification.characteristic != POLAR_PMD_DATA:
            return []
        try:
            return self._decode(notification)
        except PmdFormatError as error:
            return [MalformedPacket(self.strap_id, notification.seq, notification.host_ns, notification.payload, str(error))]

    def _decode(self, notification: Notification) -> list[PmdItem]:
        measurement = notification.payload[0] & 0x3F if notification.payload else -1
        settings = self.settings.get(measurement)
        if settings is None and measurement == MeasurementType.ECG:
            settings = {"sample_rate": ECG_DEFAULT_RATE_HZ, "factor": 1.0, "resolution": 14}
        if settings is None:
            raise PmdFormatError(f"a frame of measurement type {measurement} that was not started")
        frame = decode_data_frame(
            notification.payload, factor=float(settings.get("factor") or 1.0), resolution_bits=settings.get("resolution")
        )
        n = len(frame.samples)
        if n == 0:
            return []
        rate = float(settings.get("sample_rate") or ECG_DEFAULT_RATE_HZ)
        previous = self._last_stamp.get(measurement)
        contiguous = previous is not None and abs((frame.timestamp_ns - previous) * rate / 1e9 / n - 1.0) <= CONTIGUOUS_TOLERANCE
        self._last_stamp[measurement] = frame.timestamp_ns
        self.clock.observe(frame.timestamp_ns, notification.host_ns)
        device_ns = sample_times_ns(frame.timestamp_ns, n, rate, previous if contiguous else None)
        t_s = np.asarray(self.clock.to_host_ns(np.asarray(device_ns, dtype=np.int64)), dtype=np.float64) / 1e9
        if measurement == MeasurementType.ECG:
            return [EcgChunk(self.strap_id, notification.seq, t_s, np.asarray(frame.samples, dtype=np.float64), rate, contiguous, notification.host_ns)]
        if measurement == MeasurementType.ACC:
            return [AccChunk(self.strap_id, notification.seq, t_s, np.asarray(frame.samples, dtype=np.float64), rate, contiguous, notification.host_ns)]
        return []
