"""Opt-in Lab Streaming Layer (LSL) outlets: live heart, ECG, motion, metrics and events.

:class:`LslOutlets` is a :class:`~somafeedback.devices.events.StrapSink`. It runs its own
:class:`~somafeedback.live.analysis.LiveAnalysis` on what it receives (like the stream
printer) and publishes, per strap, one LSL stream per kind of data, created when that kind
first appears:

=========  ===========================================  =========  ==========================
kind       channels (unit)                              rate       one sample per
=========  ===========================================  =========  ==========================
HR         hr (bpm) = 60000 / RR                        irregular  beat that fed the metrics
RR         rr (ms), flagged (0/1)                       irregular  beat that fed the metrics
ECG        ECG (microvolts)                             130 Hz     raw ECG sample (Polar H10)
ACC        x, y, z (mG)                                 25 Hz      acceleration sample (H10)
Metrics    hr_bpm ... time_valid (see METRICS_CHANNELS) irregular  metric set (BeatMetrics)
Breathing  rate_bpm, phase, amplitude_mg, valid, ...    irregular  BreathingEstimate
Markers    one JSON string (all straps)                 irregular  event (link, gap, marker...)
Synchrony  r, lag_s, z, above_chance, ... (one a pair)  irregular  synchrony window (5 s apart)
=========  ===========================================  =========  ==========================

*Beats.* HR and RR carry exactly the beats that fed the metric pipeline: the strap's RR
intervals, or, while a Polar H10's ECG streams, the beats timed by R peaks in that ECG (the
strap's own RR then only cross-check them and are not sent twice). ``flagged`` is the
pipeline's artifact flag.

*Metrics.* A value is NaN whenever its window is not valid (filling, refilling after a gap,
too many artifacts, not computed yet), never a number that looks usable; ``time_valid``
says whether RMSSD, ln RMSSD, SDNN and pNN50 are valid. What is measured is heart rate
variability from a chest strap for wellness use, not a medical measurement.

*Markers.* Each sample is a compact JSON object ``{"kind": ..., "strap": ..., ...data}``:
links, gaps, strap info (without its Bluetooth address), skin contact, malformed packets
and every timeline event (markers, notes, cues, state, baseline, pmd_*). The data keys
"kind" and "strap" of an event, if any, are renamed "data_kind" and "data_strap".

*Synchrony.* One stream per pair of people, named by its straps (``somafeedback strap2-strap1
Synchrony``: A the practitioner's strap, B the other person's; ``desc/somafeedback`` has ``a_strap``,
``b_strap``, every setting and convention). One sample per window of heart-rate cross-correlation,
stamped at the window's start: the signed peak r, its lag (s; positive = B followed A), Fisher z,
r at zero lag, above_chance (1/0, NaN before a chance level is known), the session-so-far effect
size against chance and share of windows above it, the window's end, and its confounds (1/0).
NaN where a person's beats did not cover the window. Measured physiology, never a judgement of
either person or of the relationship.

*Timestamps.* Samples carry session times (seconds, from the data itself: beat times,
per-sample ECG/ACC times, event times). They are mapped to LSL time (``pylsl.local_clock()``)
with one fixed offset, chosen when the first outlet is created: ``lsl_time = session_t +
offset``, offset = ``local_clock()`` minus the session time of that first item, or the value
``clock_offset()`` returns then, when the caller gives it (e.g. a live strap whose session
clock already is the host's monotonic clock). So LSL times keep the session's spacing: a
simulated strap or a replay running at a speed other than 1 produces timestamps spread
over the session's duration, not over the wall-clock time it took (at ``--speed max`` they
run ahead of ``local_clock()``); a replay seek makes them jump. Recorders should not apply
LSL's dejitter to such streams. The offset is in every stream's description
(``desc/somafeedback/session_time_offset_s``) to map LSL times back to the session file.
LSL reserves the timestamps 0.0 ("now") and -1.0 ("deduced"); a sample landing exactly
there is moved to the next representable double.

*Robustness.* pylsl is imported when an instance is created, never at module import:
with LSL off nothing of LSL is loaded and no socket is opened. An exception raised by the
LSL library never breaks streaming: it is logged once per kind of stream and streaming
goes on (an outlet that could not be created stays off). :meth:`LslOutlets.close`
destroys every outlet, and with them their sockets. Note that LSL streams are visible,
unencrypted, to anyone on the local network.

Observed with liblsl 1.18 (Linux, default config): each outlet listens on TCP (IPv4 and
IPv6) and binds a UDP service port per family, all in 16572-16604 and past that range on
random ports, plus 7 multicast responder sockets on the shared UDP port 16571 (11 sockets
per outlet). Samples pushed before an inlet connects are not delivered to it, whatever
the outlet's buffer (see ``on_outlet_created``).

Thread: the loop that feeds it (the BLE or replay loop); synchronous, one call per item.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Final

import numpy as np

from somafeedback import __version__
from somafeedback.signals.chest_motion import BreathingEstimate
from somafeedback.devices.events import (
    AccChunk,
    ContactChange,
    EcgChunk,
    GapEvent,
    LinkEvent,
    MalformedPacket,
    Notification,
    SourceEvent,
    StrapInfo,
)
from .analysis import LiveAnalysis, Output
from somafeedback.hrv.conventions import LIVE as LIVE_CONVENTIONS
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.synchrony import confounds
from somafeedback.synchrony.pair_window import PairWindow
from somafeedback.synchrony.settings import SynchronySettings, conventions

log = logging.getLogger(__name__)

IRREGULAR: Final = 0.0  # LSL nominal rate of an irregular stream, Hz
MAX_BUFFERED_S: Final = 360  # an outlet keeps this much data for a slow inlet, s (x100 samples if irregular)
MANUFACTURER: Final = "somafeedback"
MARKERS_MODEL: Final = "somafeedback session events"
HEART_RATE_MODEL: Final = "Bluetooth heart rate strap"  # until the strap names itself
PMD_MODEL: Final = "Polar H10"  # raw ECG and acceleration come only from a Polar H10
NOTICE: Final = "wellness tool, not a medical device"
_LSL_RESERVED_TIMES: Final = (0.0, -1.0)  # LSL: 0.0 = "stamp with now", -1.0 = "deduce from the previous sample"

HR: Final = "HR"
RR: Final = "RR"
ECG: Final = "ECG"
ACC: Final = "ACC"
METRICS: Final = "Metrics"
BREATHING: Final = "Breathing"
MARKERS: Final = "Markers"
SYNCHRONY: Final = "Synchrony"
SYNCHRONY_MODEL: Final = "somafeedback synchrony of two heart rates"


@dataclass(frozen=True, slots=True)
class Channel:
    """One channel of a stream, as written to ``desc/channels/channel``."""

    label: str
    unit: str
    type: str


@dataclass(frozen=True, slots=True)
class _Spec:
    """What a kind of stream looks like (the rate of ECG and ACC comes from the data)."""

    type: str
    channels: tuple[Channel, ...]
    string: bool  # cf_string (else float32 for raw signals, double64 for the rest)
    raw: bool  # a raw signal at a nominal rate (float32)
    measured: str  # what the samples are, for people reading the file


HR_CHANNELS: Final = (Channel("hr", "bpm", "HR"),)
RR_CHANNELS: Final = (Channel("rr", "ms", "RR"), Channel("flagged", "none", "Flag"))
ECG_CHANNELS: Final = (Channel("ECG", "microvolts", "ECG"),)
ACC_CHANNELS: Final = (Channel("x", "mG", "ACC"), Channel("y", "mG", "ACC"), Channel("z", "mG", "ACC"))
METRICS_CHANNELS: Final = (
    Channel("hr_bpm", "bpm", "HR"),
    Channel("rmssd_ms", "ms", "HRV"),
    Channel("ln_rmssd", "ln(ms)", "HRV"),
    Channel("sdnn_ms", "ms", "HRV"),
    Channel("pnn50_pct", "percent", "HRV"),
    Channel("breathing_rate_bpm", "breaths/min", "Resp"),
    Channel("coherence_ratio", "none", "HRV"),
    Channel("lf_ms2", "ms^2", "HRV"),
    Channel("hf_ms2", "ms^2", "HRV"),
    Channel("time_valid", "none", "Flag"),
)
BREATHING_CHANNELS: Final = (
    Channel("rate_bpm", "breaths/min", "Resp"),
    Channel("phase", "cycles", "Resp"),  # 0..1 within the breath, 0 = start of inhale
    Channel("amplitude_mg", "mG", "Resp"),
    Channel("valid", "none", "Flag"),
    Channel("moving", "none", "Flag"),
    Channel("from_chest_motion", "none", "Flag"),  # 1: chest accelerometer, 0: ECG (amplitude NaN)
)
MARKERS_CHANNELS: Final = (Channel("event", "none", "Marker"),)
SYNCHRONY_CHANNELS: Final = (
    Channel("r", "none", "Synchrony"),  # signed peak Pearson r over the lags
    Channel("lag_s", "s", "Synchrony"),  # > 0: B followed A
    Channel("z", "none", "Synchrony"),  # Fisher z of r
    Channel("r_at_zero_lag", "none", "Synchrony"),
    Channel("above_chance", "none", "Flag"),  # 1/0, NaN before a chance level is known
    Channel("effect_size", "none", "Synchrony"),  # the session so far against the surrogates
    Channel("share_above_chance", "none", "Synchrony"),
    Channel("window_end_s", "s", "Time"),  # session time; the sample's timestamp is the window's start
    *(Channel(name.replace(" ", "_"), "none", "Flag") for name in confounds.ALL),
)

SPECS: Final[Mapping[str, _Spec]] = {
    HR: _Spec("HR", HR_CHANNELS, False, False,
              "heart rate of each beat, 60000 / RR, from the strap's RR or the R peaks of its raw ECG"),
    RR: _Spec("RR", RR_CHANNELS, False, False,
              "RR interval of each beat that fed the metrics; flagged = judged an artifact"),
    ECG: _Spec("ECG", ECG_CHANNELS, False, True, "raw single-lead chest ECG as the strap sent it"),
    ACC: _Spec("ACC", ACC_CHANNELS, False, True, "raw chest acceleration in the strap's axes"),
    METRICS: _Spec("Metrics", METRICS_CHANNELS, False, False,
                   "windowed heart rate variability after each beat; NaN where the window is not valid"),
    BREATHING: _Spec("Breathing", BREATHING_CHANNELS, False, False,
                     "breathing estimated from chest motion (or the ECG); NaN where not valid"),
    MARKERS: _Spec("Markers", MARKERS_CHANNELS, True, False,
                   "session events as JSON: link, gap, strap, contact, malformed, marker, note, cue, state, ..."),
    SYNCHRONY: _Spec("Synchrony", SYNCHRONY_CHANNELS, False, False,
                     "windowed cross-correlation of two people's heart rates (A the practitioner, B the other): "
                     "one sample per window; NaN where a person's beats did not cover it"),
}


@dataclass(frozen=True, slots=True)
class LslStream:
    """One outlet as announced to :attr:`LslOutlets.on_outlet_created`."""

    strap_id: str | None  # None for the session's Markers stream
    kind: str  # HR, RR, ECG, ACC, Metrics, Breathing or Markers
    name: str
    source_id: str


class LslUnavailable(RuntimeError):
    """pylsl or its liblsl cannot be loaded."""


def _import_pylsl() -> ModuleType:
    try:
        pylsl = importlib.import_module("pylsl")
        pylsl.library_version()
    except Exception as error:  # ImportError, or RuntimeError/OSError when liblsl cannot be loaded
        raise LslUnavailable(f"Lab Streaming Layer unavailable: {error}") from error
    return pylsl


def lsl_available() -> bool:
    """pylsl can be imported and its liblsl loads (this loads them; it opens no socket)."""
    try:
        _import_pylsl()
    except LslUnavailable:
        return False
    return True


def _number(value: float | bool | None, valid: bool = True) -> float:
    return float(value) if valid and value is not None else math.nan


def metrics_sample(m: BeatMetrics) -> list[float]:
    """The Metrics channels of one metric set (NaN where not valid)."""
    time = m.time
    tv = time.validity.valid
    f, b, c = m.frequency, m.breathing, m.coherence
    return [
        _number(time.hr_bpm, time.hr_valid),
        _number(time.rmssd_ms, tv), _number(time.ln_rmssd, tv), _number(time.sdnn_ms, tv), _number(time.pnn50_pct, tv),
        _number(b.rate_bpm, b.validity.valid) if b else math.nan,
        _number(c.ratio, c.validity.valid) if c else math.nan,
        _number(f.lf_ms2, f.validity.valid) if f else math.nan,
        _number(f.hf_ms2, f.validity.valid) if f else math.nan,
        1.0 if tv else 0.0,
    ]


def breathing_sample(e: BreathingEstimate) -> list[float]:
    """The Breathing channels of one estimate (NaN where not valid)."""
    return [
        _number(e.rate_bpm, e.valid), _number(e.phase, e.valid),
        _number(e.amplitude_mg, e.valid and e.source == "acc"),
        1.0 if e.valid else 0.0, 1.0 if e.moving else 0.0, 1.0 if e.source == "acc" else 0.0,
    ]


def _json_safe(value: Any) -> Any:
    """Strict JSON: non-finite floats become null, anything unknown its text."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def synchrony_sample(item: PairWindow) -> list[float]:
    """The Synchrony channels of one window (NaN where there is no value)."""
    w = item.window
    flag = math.nan if w.above_chance is None else float(w.above_chance)
    return [_number(w.r), _number(w.lag_s), _number(w.z), _number(w.r_at_zero_lag), flag,
            _number(item.effect_size), _number(item.share_above_chance), w.end_s,
            *(1.0 if name in w.confounds else 0.0 for name in confounds.ALL)]


def marker_json(kind: str, strap_id: str | None, data: Mapping[str, Any]) -> str:
    """One Markers sample: ``{"kind": ..., "strap": ..., ...data}``, compact, strict JSON."""
    record: dict[str, Any] = {"kind": kind, "strap": strap_id}
    for key, value in data.items():
        record[f"data_{key}" if key in ("kind", "strap") else key] = value
    return json.dumps(_json_safe(record), separators=(",", ":"), allow_nan=False)


def event_marker(event: SourceEvent) -> tuple[float, str]:
    """(session time in s, JSON) of an event for the Markers stream."""
    if isinstance(event, LinkEvent):
        data = {"state": str(event.state), "attempt": event.attempt, "detail": event.detail}
        return event.host_ns / 1e9, marker_json("link", event.strap_id, data)
    if isinstance(event, GapEvent):
        data = {"start_s": event.start_ns / 1e9, "end_s": event.end_ns / 1e9, "duration_s": event.duration_s}
        return event.end_ns / 1e9, marker_json("gap", event.strap_id, data)
    if isinstance(event, StrapInfo):  # the Bluetooth address stays in the session file
        data = {"name": event.name, "battery_percent": event.battery_percent, "body_location": event.body_location}
        return event.host_ns / 1e9, marker_json("strap", event.strap_id, data)
    return event.host_ns / 1e9, marker_json(event.kind, event.strap_id, event.data)  # a TimelineEvent


class LslOutlets:
    """Publishes every strap's beats, raw signals, metrics and events as LSL streams."""

    def __init__(self, session_name: str = "somafeedback", clock_offset: Callable[[], float] | None = None) -> None:
        self._lsl = _import_pylsl()  # raises LslUnavailable
        self.session_name = session_name
        self._clock_offset = clock_offset
        self.analysis = LiveAnalysis(metrics=True)
        self.offset_s: float | None = None  # lsl_time - session time, fixed by the first outlet
        self.pushed: dict[str, int] = {}  # samples pushed per source_id
        # called when an outlet exists, before its first sample (e.g. to connect an inlet); its errors propagate
        self.on_outlet_created: Callable[[LslStream], None] | None = None
        self._outlets: dict[tuple[str | None, str], Any] = {}  # (strap, kind) -> StreamOutlet, or None if it failed
        self._models: dict[str, str] = {}  # strap -> the name it gave (StrapInfo)
        self._failed: set[str] = set()  # kinds whose failure was logged
        self._synchrony: dict[str, tuple[PairWindow, SynchronySettings]] = {}  # pair label -> its first window
        self.closed = False

    # -- StrapSink ----------------------------------------------------------------------
    def notification(self, notification: Notification) -> None:
        if not self.closed:
            self.notification_analyzed(self.analysis.on_notification(notification))

    def event(self, event: SourceEvent) -> None:
        if not self.closed:
            self.event_analyzed(event, self.analysis.on_event(event))

    # -- fed by a caller that already runs the analysis (the app's engine) ------------------
    def notification_analyzed(self, outputs: Sequence[tuple[str, Output]]) -> None:
        """What a LiveAnalysis made of one notification."""
        if self.closed:
            return
        for strap_id, output in outputs:
            self._output(strap_id, output)

    def event_analyzed(self, event: SourceEvent, outputs: Sequence[tuple[str, Output]]) -> None:
        """An event, and what a LiveAnalysis made of it."""
        if self.closed:
            return
        if isinstance(event, StrapInfo) and event.name:
            self._models[event.strap_id] = event.name
        t_s, text = event_marker(event)
        self._push(None, MARKERS, t_s, [text])
        for strap_id, metrics in outputs:
            self._output(strap_id, metrics)

    def synchrony(self, item: PairWindow, settings: SynchronySettings) -> None:
        """One synchrony window of a pair (made by the engine's synchrony stage, with these settings)."""
        if self.closed:
            return
        label = f"{item.a_strap}-{item.b_strap}"
        self._synchrony.setdefault(label, (item, settings))
        self._push(label, SYNCHRONY, item.window.start_s, synchrony_sample(item))

    def close(self) -> None:
        """Destroy every outlet (inlets see the streams end; their sockets close). Idempotent."""
        self.closed = True
        self._outlets.clear()  # pylsl destroys an outlet when its last reference goes (only we hold them)

    # -- what goes where ------------------------------------------------------------------
    def _output(self, strap_id: str, item: Output) -> None:
        if isinstance(item, BeatMetrics):
            if item.rr_ms is not None:  # a beat (else a gap)
                hr = 60000.0 / item.rr_ms if item.rr_ms > 0 else math.nan
                self._push(strap_id, HR, item.t_s, [hr])
                self._push(strap_id, RR, item.t_s, [item.rr_ms, 1.0 if item.flagged else 0.0])
            self._push(strap_id, METRICS, item.t_s, metrics_sample(item))
        elif isinstance(item, EcgChunk):
            self._push_chunk(strap_id, ECG, item.t_s, item.uv.reshape(-1, 1), item.fs_hz)
        elif isinstance(item, AccChunk):
            self._push_chunk(strap_id, ACC, item.t_s, item.mg, item.fs_hz)
        elif isinstance(item, BreathingEstimate):
            self._push(strap_id, BREATHING, item.t_s, breathing_sample(item))
        elif isinstance(item, ContactChange):
            text = marker_json("contact", item.strap_id, {"contact": item.contact})
            self._push(None, MARKERS, item.host_ns / 1e9, [text])
        elif isinstance(item, MalformedPacket):
            data = {"seq": item.seq, "error": item.error}
            self._push(None, MARKERS, item.host_ns / 1e9, [marker_json("malformed", item.strap_id, data)])
        # Beats are sent from their metric set (only those that fed the metrics); BreathingTrace is for drawing

    # -- LSL ----------------------------------------------------------------------------------
    def _push(self, strap_id: str | None, kind: str, t_s: float, sample: list[Any]) -> None:
        outlet = self._outlet(strap_id, kind, t_s, IRREGULAR)
        if outlet is None:
            return
        try:
            outlet.push_sample(sample, self._lsl_time(t_s))
        except Exception:
            self._failure(kind, "push a sample to")
            return
        self._count(strap_id, kind, 1)

    def _push_chunk(self, strap_id: str, kind: str, t_s: np.ndarray, values: np.ndarray, fs_hz: float) -> None:
        if len(t_s) == 0:
            return
        outlet = self._outlet(strap_id, kind, float(t_s[-1]), fs_hz)
        if outlet is None:
            return
        try:
            outlet.push_chunk(values, [self._lsl_time(float(t)) for t in t_s])
        except Exception:
            self._failure(kind, "push a chunk to")
            return
        self._count(strap_id, kind, len(t_s))

    def _lsl_time(self, t_s: float) -> float:
        assert self.offset_s is not None
        stamp = t_s + self.offset_s
        return math.nextafter(stamp, math.inf) if stamp in _LSL_RESERVED_TIMES else stamp

    def _outlet(self, strap_id: str | None, kind: str, t_s: float, rate_hz: float) -> Any:
        key = (strap_id, kind)
        if key in self._outlets:
            return self._outlets[key]
        self._outlets[key] = None  # stays off if creating it fails
        try:
            if self.offset_s is None:
                self.offset_s = float(self._clock_offset() if self._clock_offset is not None
                                      else self._lsl.local_clock() - t_s)
            info = self._stream_info(strap_id, kind, rate_hz)
            self._outlets[key] = self._lsl.StreamOutlet(info, 0, MAX_BUFFERED_S)
        except Exception:
            self._failure(kind, "create")
            return None
        if self.on_outlet_created is not None:
            self.on_outlet_created(LslStream(strap_id, kind, self.stream_name(strap_id, kind),
                                             self.source_id(strap_id, kind)))
        return self._outlets[key]

    def _count(self, strap_id: str | None, kind: str, n: int) -> None:
        source_id = self.source_id(strap_id, kind)
        self.pushed[source_id] = self.pushed.get(source_id, 0) + n

    def _failure(self, kind: str, what: str) -> None:
        if kind not in self._failed:
            self._failed.add(kind)
            log.warning("LSL: could not %s the %s stream; it goes on without (logged once)", what, kind, exc_info=True)

    # -- metadata -------------------------------------------------------------------------------
    @staticmethod
    def stream_name(strap_id: str | None, kind: str) -> str:
        return f"somafeedback {kind}" if strap_id is None else f"somafeedback {strap_id} {kind}"

    def source_id(self, strap_id: str | None, kind: str) -> str:
        """Stable across runs for a session name, strap and kind (LabRecorder reconnects by it)."""
        parts = ["somafeedback", self.session_name] + ([strap_id] if strap_id is not None else []) + [kind]
        return "-".join(parts)

    def _model(self, strap_id: str | None, kind: str) -> str:
        if strap_id is None:
            return MARKERS_MODEL
        if kind == SYNCHRONY:
            return SYNCHRONY_MODEL
        return self._models.get(strap_id, PMD_MODEL if SPECS[kind].raw else HEART_RATE_MODEL)

    def _stream_info(self, strap_id: str | None, kind: str, rate_hz: float) -> Any:
        lsl = self._lsl
        spec = SPECS[kind]
        fmt = lsl.cf_string if spec.string else lsl.cf_float32 if spec.raw else lsl.cf_double64
        info = lsl.StreamInfo(self.stream_name(strap_id, kind), spec.type, len(spec.channels),
                              rate_hz if spec.raw else IRREGULAR, fmt, self.source_id(strap_id, kind))
        desc = info.desc()
        channels = desc.append_child("channels")
        for channel in spec.channels:
            node = channels.append_child("channel")
            node.append_child_value("label", channel.label)
            node.append_child_value("unit", channel.unit)
            node.append_child_value("type", channel.type)
        acquisition = desc.append_child("acquisition")
        acquisition.append_child_value("manufacturer", MANUFACTURER)
        acquisition.append_child_value("model", self._model(strap_id, kind))
        ours = desc.append_child("somafeedback")
        ours.append_child_value("version", __version__)
        ours.append_child_value("session", self.session_name)
        if strap_id is not None and kind != SYNCHRONY:
            ours.append_child_value("strap", strap_id)
        ours.append_child_value("measured", spec.measured)
        if kind == "Metrics":  # LF/HF travel with how they were made (docs/metrics.md, section 5)
            ours.append_child_value("frequency_conventions", LIVE_CONVENTIONS.name)
        if kind == SYNCHRONY and strap_id in self._synchrony:  # the pair, settings and conventions (docs/metrics.md §9)
            first, settings = self._synchrony[strap_id]
            ours.append_child_value("a_strap", first.a_strap)
            ours.append_child_value("b_strap", first.b_strap)
            ours.append_child_value("timestamp_is", "the window's start; it covers [t, t + window_s)")
            node = ours.append_child("settings")
            for key, value in settings.as_dict().items():
                node.append_child_value(key, repr(value))
            node = ours.append_child("conventions")
            for key, value in conventions().items():
                node.append_child_value(key, value)
        ours.append_child_value("session_time_offset_s", repr(self.offset_s))
        ours.append_child_value("timestamps", "lsl_time = session time + session_time_offset_s")
        ours.append_child_value("notice", NOTICE)
        return info
