"""One strap's PMD notifications in, timed ECG and acceleration chunks out (live and replay).

The settings of each stream come from the ``pmd_started`` events that
:class:`~.pmd_control.PmdControl` reports (and a recording keeps), so a replay decodes with
exactly what the strap confirmed. Each frame's device stamp (its last sample) feeds a
:class:`~.device_clock.DeviceClockMap`; every sample gets a host session time from it.
Consecutive frames are spaced by their own stamps (Polar's rule); when frames were lost
in between, the nominal rate is used instead and the chunk is marked not contiguous.

No strap input escapes this layer: every PMD data notification gives either its samples (one
chunk) or one :class:`~.events.MalformedPacket` saying why its samples were set aside (the
bytes stay in the record):

* bytes that do not follow the frame layout, a measurement that was not started or that the
  app does not use, settings the app cannot use (a sample rate outside
  ``MIN_RATE_HZ``..``MAX_RATE_HZ``, a factor or resolution that is no number), values no body
  produces: a :class:`~.events.MalformedPacket`;
* a device stamp that breaks with the strap's clock: a :class:`~.events.ClockReset` (a kind of
  malformed packet). That is a stamp of 2**63 ns or more (beyond any clock), one that does not
  come after the previous frame's of the same measurement (backwards, repeated), or one more
  than ``RESET_JUMP_S`` away from where the clock map places it. One stray stamp costs one
  frame and leaves the clock map as it was. When the next frame agrees with the jump (its
  arrival minus its stamp within ``RESET_JUMP_S`` of the set-aside frame's), the strap's clock
  really was reset: the map starts afresh from that frame, which keeps its data.

Thread: any; synchronous and stateful, one instance per strap, fed in arrival order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from .device_clock import RESET_JUMP_S, DeviceClockMap
from .events import AccChunk, ClockReset, EcgChunk, GapEvent, MalformedPacket, Notification, TimelineEvent
from .gatt_uuids import POLAR_PMD_DATA
from .pmd_frames import INT64_MAX, decode_data_frame, decode_frame_as_float, sample_times_ns
from .pmd_types import MEASUREMENT_TYPE_MASK, MeasurementType, PmdFormatError, as_bytes

PmdItem = EcgChunk | AccChunk | MalformedPacket  # a ClockReset is a MalformedPacket

CONTIGUOUS_TOLERANCE: Final = 0.5  # a frame's stamp spacing may differ from n/rate by this share and still follow on
ECG_DEFAULT_RATE_HZ: Final = 130.0  # the H10's only ECG rate, used when a frame arrives before its settings
MIN_RATE_HZ: Final = 10.0  # slowest sample rate the ECG and chest-motion filters can use, Hz
MAX_RATE_HZ: Final = 2000.0  # fastest sample rate accepted, Hz (Polar straps offer at most a few hundred)
MAX_RESOLUTION_BITS: Final = 32  # widest RESOLUTION setting a compressed frame can use, bits
MAX_SAMPLE_MAGNITUDE: Final = 1e9  # |µV| or |mG| beyond this is no body signal (a kV, a million g): set aside
TIME_SLACK_S: Final = 1.0  # s a sample may lie outside its frame's plausible window (arrival) before it is set aside
NS_PER_S: Final = 1_000_000_000  # nanoseconds per second
SET_ASIDE: Final = "raw data frame set aside"  # how every reason a PMD frame gives no data begins
UNREADABLE: Final = "it could not be read"  # the reason given by the last line of defence (a case no check foresaw)
USED_MEASUREMENTS: Final = frozenset({MeasurementType.ECG, MeasurementType.ACC})  # what the app turns into chunks


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """What decoding and timing a stream's frames need, checked."""

    rate_hz: float  # nominal sample rate, Hz
    factor: float  # the FACTOR setting (compressed frames are multiplied by it)
    resolution_bits: int | None  # the RESOLUTION setting (None: the codec's default)


def stream_settings(data: Mapping[str, Any]) -> StreamSettings | str:
    """The checked settings of a ``pmd_started`` event's data, or what makes them unusable (in words)."""
    rate = _number(data.get("sample_rate"))
    if data.get("sample_rate") is None:
        rate = ECG_DEFAULT_RATE_HZ
    if rate is None or not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        return f"a sample rate of {data.get('sample_rate')!r} Hz (usable: {MIN_RATE_HZ:g} to {MAX_RATE_HZ:g} Hz)"
    factor = _number(data.get("factor")) if data.get("factor") is not None else 1.0
    if factor is None or not math.isfinite(factor):
        return f"a scale factor of {data.get('factor')!r}"
    factor = factor or 1.0  # 0 means "none given", as the strap's answer does
    resolution = data.get("resolution")
    if resolution is not None and (isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer))
                                   or not 1 <= resolution <= MAX_RESOLUTION_BITS):
        return f"a resolution of {resolution!r} bits (usable: 1 to {MAX_RESOLUTION_BITS})"
    return StreamSettings(rate, factor, None if resolution is None else int(resolution))


def _number(value: object) -> float | None:
    """A real number as a float (None for anything else: text, bool, None)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    try:
        return float(value)
    except OverflowError:  # an int beyond any float
        return None


def _measurement_of(data: object) -> int | None:
    """The measurement type a ``pmd_*`` event names (None: it names none this version can read)."""
    mtype = data.get("type") if isinstance(data, Mapping) else None
    if isinstance(mtype, bool) or not isinstance(mtype, (int, np.integer)) or not 0 <= mtype <= MEASUREMENT_TYPE_MASK:
        return None
    return int(mtype)


def duration_words(seconds: float) -> str:
    """A length of time for people: "0.4 s", "12 min", "3 h", "40 days", "292 years"."""
    s = abs(seconds)
    if not math.isfinite(s):
        return "an unknown time"
    for limit, unit, size in ((120.0, "s", 1.0), (7200.0, "min", 60.0), (172800.0, "h", 3600.0), (730 * 86400.0, "days", 86400.0)):
        if s < limit:
            return f"{s / size:.1f} {unit}" if unit == "s" else f"{s / size:.0f} {unit}"
    return f"{s / (365.25 * 86400):.0f} years"


class PmdStream:
    """Decodes one strap's PMD data frames into timed chunks."""

    def __init__(self, strap_id: str) -> None:
        self.strap_id = strap_id
        self.clock = DeviceClockMap()
        self.settings: dict[int, Mapping[str, Any]] = {}  # measurement type -> confirmed settings (as recorded)
        self._checked: dict[int, StreamSettings | str] = {}  # measurement type -> usable settings, or why not
        self._last_stamp: dict[int, int] = {}  # measurement type -> device stamp of the previous frame used
        self._pending: tuple[int, int, int] | None = None  # (measurement, stamp, arrival - stamp) of a frame set aside for a jump

    @property
    def ecg_running(self) -> bool:
        return MeasurementType.ECG in self.settings

    @property
    def acc_running(self) -> bool:
        return MeasurementType.ACC in self.settings

    def event(self, event: TimelineEvent | GapEvent) -> None:
        """Track stream starts and stops; a gap breaks the frame spacing. Events naming no
        measurement this version can read are ignored."""
        if isinstance(event, GapEvent):
            self._last_stamp.clear()
            self._pending = None
            return
        if event.kind not in ("pmd_started", "pmd_stopped"):
            return
        mtype = _measurement_of(event.data)
        if mtype is None:
            return
        self._last_stamp.pop(mtype, None)
        if event.kind == "pmd_started":
            self.settings[mtype] = dict(event.data)
            self._checked[mtype] = stream_settings(event.data)
        else:
            self.settings.pop(mtype, None)
            self._checked.pop(mtype, None)

    def link_lost(self) -> None:
        """Every stream ended with the link (a reconnection starts them again)."""
        self.settings.clear()
        self._checked.clear()
        self._last_stamp.clear()
        self._pending = None

    def feed(self, notification: Notification) -> list[PmdItem]:
        """One data notification's chunk, or the one malformed packet (or clock reset) that sets it aside."""
        if notification.characteristic != POLAR_PMD_DATA:
            return []
        try:
            return [self._decode(notification)]
        except PmdFormatError as error:
            return [self._malformed(notification, str(error))]
        except (ValueError, TypeError, IndexError, ArithmeticError) as error:  # a case the checks missed: still set aside
            return [self._malformed(notification, f"{UNREADABLE} ({type(error).__name__}: {error})")]

    def _malformed(self, notification: Notification, reason: str) -> MalformedPacket:
        error = f"{SET_ASIDE}: {reason}"
        return MalformedPacket(self.strap_id, notification.seq, notification.host_ns, notification.payload, error)

    def _settings_for(self, measurement: int) -> StreamSettings:
        checked = self._checked.get(measurement)
        if checked is None and measurement == MeasurementType.ECG:
            checked = StreamSettings(ECG_DEFAULT_RATE_HZ, 1.0, 14)  # the H10's, before its start answer was heard
        if checked is None:
            raise PmdFormatError(f"raw {_name(measurement)} data that was not started")
        if isinstance(checked, str):
            name = _name(measurement)
            raise PmdFormatError(f"raw {name} data with settings this app cannot use: {checked}")
        return checked

    def _decode(self, notification: Notification) -> PmdItem:
        payload = notification.payload
        if len(payload) < 1:
            decode_data_frame(payload)  # raises: the frame is too short to name its measurement
        measurement = payload[0] & MEASUREMENT_TYPE_MASK
        settings = self._settings_for(measurement)
        raw = payload if type(payload) is bytes else as_bytes(payload)
        frame = decode_frame_as_float(raw, settings.factor, settings.resolution_bits)
        if measurement not in USED_MEASUREMENTS:
            raise PmdFormatError(f"raw {_name(measurement)} data, a measurement this app does not use")
        samples = frame.samples  # float64
        n = len(samples)
        # Raw frames hold at least one sample of at most 24 bits (|value| < 2**23 < MAX_SAMPLE_MAGNITUDE):
        # only compressed frames (scaled, accumulated) can hold values no body produces.
        if frame.compressed and (n == 0 or not float(np.abs(samples).max()) <= MAX_SAMPLE_MAGNITUDE):  # NaN fails too
            raise PmdFormatError(f"raw {_name(measurement)} values that no body produces")
        reset = self._judge_stamp(notification, measurement, frame.timestamp_ns)
        if reset is not None:
            return reset
        stamp, rate = frame.timestamp_ns, settings.rate_hz
        previous = self._last_stamp.get(measurement)
        contiguous = previous is not None and abs((stamp - previous) * rate / NS_PER_S / n - 1.0) <= CONTIGUOUS_TOLERANCE
        self._last_stamp[measurement] = stamp
        self.clock.observe(stamp, notification.host_ns)
        device_ns = sample_times_ns(stamp, n, rate, previous if contiguous else None)
        t_s = self.clock.to_host_s(device_ns)
        if not self._placed(t_s, notification.host_ns / 1e9, n / rate):
            return self._clock_reset(notification, stamp, math.nan,
                                     "the strap's clock stamp could not be placed on the session's clock")
        if measurement == MeasurementType.ECG:
            return EcgChunk(self.strap_id, notification.seq, t_s, samples, rate, contiguous, notification.host_ns)
        return AccChunk(self.strap_id, notification.seq, t_s, samples, rate, contiguous, notification.host_ns)

    def _judge_stamp(self, notification: Notification, measurement: int, stamp: int) -> ClockReset | None:
        """None when the stamp can be used (restarting the clock map when it confirms a reset);
        else the clock reset that sets the frame aside."""
        if stamp > INT64_MAX:
            return self._clock_reset(notification, stamp, math.nan, "the strap stamped it with a time beyond any its clock can hold")
        arrival = notification.host_ns
        jump = self.clock.jump_ns(stamp, arrival)
        previous = self._last_stamp.get(measurement)
        agrees = jump is None or abs(jump) <= RESET_JUMP_S * NS_PER_S
        follows = previous is None or stamp > previous
        if agrees and follows:
            self._pending = None
            return None
        pending = self._pending
        if pending is not None and abs(arrival - stamp - pending[2]) <= RESET_JUMP_S * NS_PER_S and (
            pending[0] != measurement or stamp > pending[1]
        ):  # this frame agrees with the one set aside: the strap's clock really was reset
            self.clock.restart()
            self._last_stamp.clear()
            self._pending = None
            return None
        self._pending = (measurement, stamp, arrival - stamp)
        jump_s = math.nan if jump is None else jump / NS_PER_S
        if not agrees:
            way = "back" if jump is not None and jump > 0 else "ahead"
            what = f"the strap's clock jumped {way} by {duration_words(jump_s)}"
        elif previous is not None and stamp == previous:
            what = "the strap stamped it with the same time as the frame before"
        else:
            what = f"the strap's clock ran backwards by {duration_words(((previous or 0) - stamp) / NS_PER_S)}"
        return self._clock_reset(notification, stamp, jump_s, what)

    def _clock_reset(self, notification: Notification, stamp: int, jump_s: float, what: str) -> ClockReset:
        error = f"{SET_ASIDE}: {what}"
        return ClockReset(self.strap_id, notification.seq, notification.host_ns, notification.payload, error, stamp, jump_s)

    @staticmethod
    def _placed(t_s: np.ndarray, arrival_s: float, span_s: float) -> bool:
        """Sample times in order, where the frame can have been measured (before its arrival,
        after the clock map's tolerance and the frame's own span). They are always numbers
        (int64 ns / 1e9)."""
        if len(t_s) > 1 and (t_s[1:] < t_s[:-1]).any():
            return False
        earliest = arrival_s - RESET_JUMP_S - (1.0 + CONTIGUOUS_TOLERANCE) * span_s - TIME_SLACK_S
        return bool(t_s[0] >= earliest and t_s[-1] <= arrival_s + TIME_SLACK_S)


def _name(measurement: int) -> str:
    try:
        return MeasurementType(measurement).name
    except ValueError:
        return f"type {measurement}"
