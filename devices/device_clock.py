"""Maps a sensor's own clock onto the host's session clock, tracking drift.

A Polar H10 stamps every PMD frame with its own clock (ns since 2000-01-01, the stamp of
the frame's last sample). The host knows only when each frame *arrived*. Arrival is the
sample time plus a latency that is never negative and is often close to its minimum
(buffering, connection events, radio retries only ever add delay), so

    offset_i = arrival_host_ns_i - device_ns_i

has a *lower envelope* that is the true clock offset plus the minimum latency. The two
crystals differ by tens of ppm (a 30 ppm difference is 0.1 s an hour), so the envelope is a
slowly sloping line rather than a constant. :class:`DeviceClockMap` keeps the minimum
offset of every block of ``BLOCK_S`` seconds of device time, fits a line through the
recent block minima, and maps device times with it. Until a few blocks exist it uses the
plain minimum so far (no slope).

The map is causal and cheap (one comparison per frame; a tiny fit once per block). A jump
of the offset by more than ``RESET_JUMP_S`` (the sensor rebooted, its clock was set)
starts it afresh. A caller that wants to judge a stamp first (a stray stamp should not throw
away ten minutes of drift fit) asks :meth:`DeviceClockMap.jump_ns` before observing and calls
:meth:`DeviceClockMap.restart` itself, as :class:`~.pmd_stream.PmdStream` does.

Thread: any; synchronous, one instance per sensor stream.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Final

import numpy as np

BLOCK_S: Final = 10.0  # s of device time per envelope block
MAX_BLOCKS: Final = 60  # blocks kept for the drift fit (10 min)
MIN_BLOCKS_FOR_SLOPE: Final = 3  # blocks needed before the slope is fitted
RESET_JUMP_S: Final = 2.0  # s: an offset jump this large means the device clock was reset
MAX_DRIFT: Final = 500e-6  # |slope| accepted from the fit (500 ppm); beyond that the fit is ignored


class DeviceClockMap:
    """Device-clock nanoseconds to host session nanoseconds."""

    def __init__(self) -> None:
        self._blocks: deque[tuple[int, int]] = deque(maxlen=MAX_BLOCKS)  # (device_ns, min offset_ns) of closed blocks
        self._block_start_ns: int | None = None
        self._block_min: tuple[int, int] | None = None  # (device_ns, offset_ns) of the open block
        self._base_ns = 0  # the first offset (exact int); the fit works on offsets relative to it
        self._intercept_ns = 0.0  # offset - base at _origin_ns (small: float-exact)
        self._slope = 0.0  # d(offset)/d(device time), dimensionless
        self._origin_ns = 0
        self.observations = 0
        self.resets = 0

    @property
    def drift_ppm(self) -> float:
        """How much faster the host clock runs than the device's, in parts per million."""
        return self._slope * 1e6

    @property
    def ready(self) -> bool:
        return self.observations > 0

    def jump_ns(self, device_ns: int, arrival_host_ns: int) -> float | None:
        """How far (ns) a frame arriving at ``arrival_host_ns`` lies from where the map puts its
        stamp ``device_ns`` (positive: it arrived later); None before the first observation."""
        if not self.observations:
            return None
        return arrival_host_ns - device_ns - self._base_ns - self._predicted_offset(device_ns)

    def observe(self, device_ns: int, arrival_host_ns: int) -> None:
        """Learn from one frame: its device stamp and when it arrived on the host clock."""
        jump = self.jump_ns(device_ns, arrival_host_ns)
        if jump is not None and abs(jump) > RESET_JUMP_S * 1e9:
            self.restart()
        if not self.observations:
            self._block_start_ns = self._origin_ns = device_ns
            self._base_ns = arrival_host_ns - device_ns
            self._intercept_ns = 0.0
        offset = arrival_host_ns - device_ns - self._base_ns
        self.observations += 1
        if self._block_start_ns is not None and device_ns - self._block_start_ns >= BLOCK_S * 1e9:
            if self._block_min is not None:
                self._blocks.append(self._block_min)
            self._block_start_ns, self._block_min = device_ns, None
            self._fit()
        if self._block_min is None or offset < self._block_min[1]:
            self._block_min = (device_ns, offset)
        # The mapping never puts a sample after its own arrival (latency >= 0).
        if offset < self._predicted_offset(device_ns):
            self._intercept_ns -= self._predicted_offset(device_ns) - offset

    def to_host_ns(self, device_ns: int | np.ndarray) -> np.ndarray | int:
        """Host session time of a device time (an int, or an int64 array)."""
        if isinstance(device_ns, np.ndarray):
            offsets = self._intercept_ns + self._slope * (device_ns - self._origin_ns).astype(np.float64)
            return device_ns + self._base_ns + np.floor(offsets).astype(np.int64)
        return device_ns + self._base_ns + math.floor(self._predicted_offset(device_ns))

    def to_host_s(self, device_ns: np.ndarray) -> np.ndarray:
        """Host session seconds (float64) of an int64 array of device times: exactly
        ``to_host_ns(device_ns) / 1e9``, with fewer temporary arrays (the per-frame path)."""
        offsets = (device_ns - self._origin_ns).astype(np.float64)
        offsets *= self._slope
        offsets += self._intercept_ns
        host_ns = device_ns + self._base_ns
        host_ns += np.floor(offsets, out=offsets).astype(np.int64)
        return host_ns / 1e9

    def _predicted_offset(self, device_ns: int) -> float:
        return self._intercept_ns + self._slope * (device_ns - self._origin_ns)

    def _fit(self) -> None:
        points = list(self._blocks)
        if self._block_min is not None:
            points.append(self._block_min)
        if not points:
            return
        device = np.array([p[0] - self._origin_ns for p in points], dtype=np.float64)
        offset = np.array([p[1] for p in points], dtype=np.float64)
        slope = 0.0
        if len(points) >= MIN_BLOCKS_FOR_SLOPE and np.ptp(device) > 0:
            slope = float(np.polyfit(device, offset, 1)[0])
            if abs(slope) > MAX_DRIFT:
                slope = 0.0
        # the lower envelope: the line with that slope under every block minimum
        self._slope = slope
        self._intercept_ns = float(np.min(offset - slope * device))

    def restart(self) -> None:
        """Forget everything: the next observation starts the map afresh (counted in ``resets``)."""
        self._blocks.clear()
        self._block_start_ns = None
        self._block_min = None
        self._intercept_ns = 0.0
        self._slope = 0.0
        self.observations = 0
        self.resets += 1
