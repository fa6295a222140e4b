"""What a session report and a progress report show, as plain data (no Qt, no HTML).

:func:`session_content` reads one recorded session and runs its timeline through
:class:`~somafeedback.live.analysis.LiveAnalysis`, the path the app uses live and in
replay, so every number is what the app showed: beats (ECG-timed on a Polar H10, the
strap's RR otherwise), their live artifact verdicts and every 60-s / 64-s window with its
validity. From those beats and windows it builds:

* the **figures** (:class:`Figure`): recorded time, beats measured, mean heart rate,
  RMSSD and ln RMSSD (median of the valid 60-s windows, and the whole-session value),
  SDNN and pNN50, LF and HF power and LF/HF when computable, breathing rate (heart-rate rhythm and, on an H10, chest
  movement), coherence, the share of beats set aside as artifacts. Whole-session values are
  :func:`somafeedback.hrv.whole_record.summarize` of the measured beats with their live verdicts
  and gap-free segments: for a strap without raw ECG they equal ``somafeedback analyze``;
- the **time in each state** (from the recorded ``state`` events) and the **cue counts**;
* the **series** to plot (:class:`ReportSeries`), the metric sets themselves (for the
  app's own plots), a few **raw excerpts** (ECG and breathing movement) of an H10 session;
* the **notes and markers** with their times, and the **cue decisions**;
* the **baseline** the states were judged against (:class:`BaselineInfo`: heart rate, RMSSD,
  their spread, window and validity);
* the **phases** (:func:`somafeedback.sessions.segments.phase_segments`: baseline / practice / recovery,
  or the whole session as one stretch when none is marked), each measured by
  :func:`somafeedback.sessions.segments.segment_stats` (HR, RMSSD, SDNN, pNN50, LF, HF, LF/HF,
  breathing rate, artifact share, validity and notes; conventions in :data:`PHASE_TEXT`);
* the **pendulation swings** (:mod:`somafeedback.regulation.pendulation`): each rise of HR30 above the usual
  range with its peak and recovery time, from the same metric sets against the recorded baselines;
* the **exercises practised** (home script, cues approved or shown), for the client version
  (:mod:`somafeedback.reports.client`).

Every time is in seconds since the session start: the live session's start when the manifest
records it (``session_origin_host_ns``, so a time reads as it did in the live window), else the
recording's start. ``deidentify=True`` uses the export's
de-identification (:mod:`somafeedback.interop.export._deidentify` through the export
:class:`~somafeedback.interop.export._context.Context`): no client or practitioner name, note texts
replaced by ``[note]``, names scrubbed from every other text, no strap names, and the
session placed at 2000-01-01 00:00 UTC.

:func:`progress_content` describes one client's sessions week by week (ISO weeks, Monday
to Sunday, local time, no missing weeks in between): sessions and minutes recorded, home
practice (from :func:`~somafeedback.reports.practice_history.weekly_trend`), the resting ln RMSSD
(median of each session's :func:`~somafeedback.reports.practice_history.resting_ln_rmssd`), the
time in band among the judged states, and the cues suggested, approved and the home
script's pauses into grounding.

Both take ``progress(fraction)`` (:mod:`somafeedback.progress`), called with 0.0 first and 1.0
at the end (at most about 100 calls); if it raises (:class:`~somafeedback.progress.Cancelled`,
Ctrl-C), the exception propagates and nothing is kept.

Thread: any (pure reads; each call opens and closes its own files), so the app can build the
content on a worker thread and draw the figures on the GUI thread.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import numpy as np

from somafeedback import __version__
from somafeedback.hrv.whole_record import summarize
from somafeedback.signals.chest_motion import BreathingEstimate
from somafeedback.devices.events import Beat, ContactChange, EcgChunk, GapEvent, Notification, TimelineEvent
from somafeedback.interop.export._context import Context, make_context
from somafeedback.sessions.library import filter_sessions, list_sessions
from somafeedback.live.analysis import LiveAnalysis
from somafeedback.hrv.pipeline import BeatMetrics, BreathingMetrics, CoherenceMetrics, FrequencyDomain
from somafeedback.regulation.pendulation import TEXT as PENDULATION_TEXT
from somafeedback.regulation.pendulation import Swing, bands_of, swings_from_beats
from .practice_history import resting_ln_rmssd, weekly_trend
from somafeedback.progress import Progress, ProgressCallback
from somafeedback.signals.raw_signals import BreathingTrace
from somafeedback.sessions.review_notes import is_undone_marker, undone_markers
from somafeedback.sessions.segments import Segment, SegmentStats, phase_segments, segment_stats
from somafeedback.sessions.file import Session, SessionFileError, read_session

CLIENT_STRAP: Final = "strap1"  # the strap the regulation model follows (else the first strap with data)
WINDOW_S: Final = 60.0  # s, the time-domain window of the live pipeline
RAW_EXCERPTS: Final = 2  # raw excerpts of an H10 session (ending at the middle and at the end)
RAW_KEEP_S: Final = 170.0  # s of raw items kept before each excerpt's end (the app's breathing ring holds ~160 s)
JUDGED_STATES: Final = ("in band", "rising", "above band", "settling", "quiet drop — check in?")  # time in band is a share of these
IN_BAND: Final = "in band"
PRACTITIONER_ACTIONS: Final = ("suggested", "approved", "snoozed", "dismissed", "expired", "delivered")
DECISIONS: Final = ("approved", "snoozed", "dismissed", "expired")
HOME_MODE: Final = "home"
BASELINE_MAX_ARTIFACT_PCT: Final = 5.0  # a calibration baseline is kept only with at most this share of artifacts
WHOLE_SESSION: Final = "whole session"  # the one row of the phase table when the session marks no phases
PHASE_TEXT: Final = (
    "Each phase (from the phase marks, or a measured baseline's window followed by practice) is one stretch of "
    "beats: accepted beats only, successive differences only between adjacent accepted beats of one gap-free part, "
    "and one Welch spectrum of the stretch's accepted beats (default spectral settings: 4 Hz cubic resampling, 256-s "
    "Hann segments) for LF (0.04–0.15 Hz), HF (0.15–0.40 Hz), LF/HF and the breathing rate (the spectrum's peak in "
    "0.1–0.5 Hz). Not valid: more than 5 % of the stretch's beats set aside as artifacts.")

MEASURED_TEXT: Final = (
    "What was measured: heart rate (bpm) and beat-to-beat (RR) intervals from a chest strap, timed by R peaks in "
    "the raw ECG where a Polar H10 streamed it; RMSSD and ln RMSSD over 60-s windows, each window valid only when "
    "full, without a gap and with at most 5 % of its beats set aside as artifacts; breathing rate from the "
    "heart-rate rhythm (64-s windows) and, on a Polar H10, from the chest's movement; over the whole session and "
    "per phase SDNN (ms), pNN50 (%), LF and HF power (ms²) and LF/HF; the coherence ratio (64 s). States describe heart rate and its variability against this client's own usual range.")
NOT_MEDICAL_TEXT: Final = (
    "somafeedback is a wellness and practice tool, not a medical device. This report describes what was "
    "recorded; it is not a medical assessment and says nothing about health or illness.")
PROGRESS_MEASURED_TEXT: Final = (
    "Week by week (ISO weeks, Monday to Sunday): the sessions and minutes recorded, home practice, the resting "
    "ln RMSSD (each session's resting measurement, or its first valid 60-s window; the weekly median), the time "
    "in the usual range as a share of the time the state model judged, and the cues suggested and approved. "
    "A trend over weeks describes what was recorded; values vary from day to day for many ordinary reasons.")
DEIDENTIFIED_TEXT: Final = ("De-identified: no names, note texts replaced by [note], and the session placed at "
                            "2000-01-01 00:00 UTC (times within the session are kept).")


class ReportError(ValueError):
    """A report that cannot be made; the message names the file or folder and the problem."""


# -- data ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    """One line of the summary table."""

    key: str  # stable id (tests, renderers)
    label: str
    value: float | None  # the main number (None: not available)
    text: str  # value with its unit, "--" when not available
    detail: str  # window, validity, how it was computed


@dataclass(frozen=True)
class StateInterval:
    start_s: float
    end_s: float
    state: str


@dataclass(frozen=True)
class TimedText:
    """A marker or a note at a time."""

    t_s: float
    kind: str  # marker | note | review (a review note written afterwards)
    text: str
    author: str | None = None


@dataclass(frozen=True)
class CueDecision:
    """One practitioner suggestion and what became of it, or one step of a home script."""

    t_s: float  # when it was suggested (or the script step happened)
    cue_id: int | None
    kind: str  # grounding | containment | pendulation | script
    exercise: str | None
    text: str
    outcome: str  # approved | snoozed | dismissed | expired | open | script-step | script-paused | ...
    outcome_s: float | None
    delivered: bool = False


@dataclass(frozen=True)
class RawExcerpt:
    """Raw items of an H10 session up to ``end_s`` (ECG chunks, ECG beats, breathing trace and estimates)."""

    end_s: float
    items: tuple[object, ...]


@dataclass(frozen=True)
class ReportSeries:
    """The session's series, in seconds since its start (NaN-free; validity kept beside the values)."""

    beat_t_s: np.ndarray
    rr_ms: np.ndarray
    flagged: np.ndarray  # bool per beat
    hr_t_s: np.ndarray
    hr_bpm: np.ndarray  # HR of the 60-s window, where usable
    rmssd_t_s: np.ndarray
    rmssd_ms: np.ndarray
    rmssd_valid: np.ndarray  # bool: the 60-s window was valid
    breathing_t_s: np.ndarray
    breathing_bpm: np.ndarray  # from the heart-rate rhythm, valid 64-s windows only
    chest_breathing_t_s: np.ndarray
    chest_breathing_bpm: np.ndarray  # from chest movement (or the ECG), valid estimates only
    coherence_t_s: np.ndarray
    coherence_ratio: np.ndarray  # valid 64-s windows only
    states: tuple[StateInterval, ...]
    gaps: tuple[tuple[float, float], ...]  # no data from the strap (link lost)
    contact_lost: tuple[tuple[float, float], ...]  # the strap reported no skin contact
    marker_times: tuple[float, ...]
    note_times: tuple[float, ...]
    cue_times: tuple[float, ...]


@dataclass(frozen=True)
class BaselineInfo:
    """The baseline the session's states were judged against (measured in calibration, or from earlier sessions)."""

    source: str  # calibration | history | ...
    hr_ref_bpm: float | None
    sd_hr_bpm: float | None  # SD of the 10-s heart-rate means
    ln_rmssd_ref: float | None  # ln(ms)
    sd_ln: float | None
    window_s: float | None
    artifact_pct: float | None
    set_at_s: float | None  # when it was set, session seconds (None: from the manifest)

    @property
    def rmssd_ref_ms(self) -> float | None:
        return math.exp(self.ln_rmssd_ref) if self.ln_rmssd_ref is not None else None

    @property
    def valid(self) -> bool:
        """Measured over a window with at most :data:`BASELINE_MAX_ARTIFACT_PCT` of artifacts."""
        return (self.hr_ref_bpm is not None and self.ln_rmssd_ref is not None and self.artifact_pct is not None
                and self.artifact_pct <= BASELINE_MAX_ARTIFACT_PCT and (self.window_s or 0.0) > 0.0)

    def rows(self) -> tuple[tuple[str, str, str], ...]:
        """(measure, value, how it was made) lines for the report."""
        how = {"calibration": "measured at the start of this session (calibration)",
               "history": "rolling median of this client's last stored session baselines"}.get(self.source, self.source)
        window = _number(self.window_s, ".0f", "s")
        when = f", set at {clock(self.set_at_s)}" if self.set_at_s is not None else ""
        return (
            ("Source", how + when, "the client's usual range is the reference ± the spread below"),
            ("Heart rate", _number(self.hr_ref_bpm, ".1f", "bpm"),
             f"mean over the {window} window; spread (SD of 10-s means) {_number(self.sd_hr_bpm, '.1f', 'bpm')}"),
            ("RMSSD", f"{_number(self.rmssd_ref_ms, '.1f', 'ms')} (ln {_number(self.ln_rmssd_ref, '.2f')})",
             f"median of the valid 60-s windows in the {window} window; spread (SD of ln RMSSD) "
             f"{_number(self.sd_ln, '.2f')}"),
            ("Window", window, "the time the baseline was measured over"),
            ("Validity", ("valid" if self.valid else "not valid") + f", {_number(self.artifact_pct, '.1f', '%')} artifacts",
             f"valid with at most {BASELINE_MAX_ARTIFACT_PCT:.0f} % of the window's beats set aside as artifacts"),
        )


def _baseline_info(data: dict[str, Any] | None, set_at_s: float | None) -> BaselineInfo | None:
    if not isinstance(data, dict):
        return None

    def num(key: str) -> float | None:
        value = data.get(key)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
            else None

    if num("hr_ref") is None and num("ln_ref") is None:
        return None
    return BaselineInfo(str(data.get("source") or "stored"), num("hr_ref"), num("sd_hr"), num("ln_ref"), num("sd_ln"),
                        num("window_s"), num("artifact_pct"), set_at_s)


@dataclass(frozen=True, slots=True)
class RestRow:
    """One movement block and the rest before / after it (a ``rest-comparison`` event), times since the start."""

    start_s: float
    end_s: float
    source: str
    before_hr: float | None
    after_hr: float | None
    before_rmssd: float | None
    after_rmssd: float | None
    note: str  # why a rest could not be compared ("" when both could)


def _rest_rows(events: list[TimelineEvent], ctx: Context) -> tuple[RestRow, ...]:
    rows = []
    for event in events:
        if event.kind != "rest-comparison":
            continue
        d = event.data
        before, after = d.get("before") or {}, d.get("after") or {}

        def num(rest: dict[str, Any], key: str) -> float | None:
            value = rest.get(key)
            return float(value) if rest.get("valid") and isinstance(value, (int, float)) else None

        why = [f"{name}: {rest.get('reason')}" for name, rest in (("before", before), ("after", after))
               if not rest.get("valid")]
        start, end = d.get("block_start_s"), d.get("block_end_s")
        if not isinstance(start, (int, float)) or not isinstance(end, (int, float)):
            continue
        rows.append(RestRow(ctx.rel_s(round(start * 1e9)), ctx.rel_s(round(end * 1e9)), str(d.get("source", "")),
                            num(before, "hr_bpm"), num(after, "hr_bpm"), num(before, "rmssd_ms"),
                            num(after, "rmssd_ms"), "; ".join(why)))
    return tuple(rows)


def _method(manifest: dict[str, Any], events: list[TimelineEvent]) -> str | None:
    event = next((e for e in events if e.kind == "method"), None)
    value = event.data.get("method") if event is not None else manifest.get("method")
    return str(value) if value else None


@dataclass(frozen=True)
class SessionReportContent:
    """Everything a session report shows."""

    path: Path
    stem: str  # output file stem (de-identified when asked)
    session_id: str
    deidentified: bool
    client: str | None
    practitioner: str | None
    mode: str | None
    tags: tuple[str, ...]
    straps: tuple[str, ...]  # strap names (none when de-identified)
    started: dt.datetime | None  # local time (UTC, at 2000-01-01, when de-identified)
    started_text: str
    duration_s: float
    beat_source: str
    figures: tuple[Figure, ...]
    state_seconds: dict[str, float]
    cue_counts: dict[str, int]
    series: ReportSeries
    metrics: tuple[BeatMetrics, ...]  # the client strap's metric sets, times since the start
    raw_excerpts: tuple[RawExcerpt, ...]
    baseline: dict[str, Any] | None
    notes: tuple[TimedText, ...]
    markers: tuple[TimedText, ...]
    cue_decisions: tuple[CueDecision, ...]
    problems: tuple[str, ...]
    start_s: float = 0.0  # session time at the recording's start (0 unless the live session began earlier)
    baseline_info: BaselineInfo | None = None  # the baseline's values, validity and window
    phases: tuple[SegmentStats, ...] = ()  # per phase (segments.phase_segments), or one whole-session row
    exercises: tuple[str, ...] = ()  # ids of the exercises practised (home script, cues approved or shown), in order
    swings: tuple[Swing, ...] = ()  # pendulation swings above the usual range (somafeedback.regulation.pendulation)
    swings_judged: bool = False  # False: no baseline, so no usual range to find swings against
    method: str | None = None  # SE | Focusing | CSE (somafeedback.regulation.methods), when recorded
    rest_comparisons: tuple[RestRow, ...] = ()  # each movement block's rest before and after
    pendulation_text: str = PENDULATION_TEXT
    phase_text: str = PHASE_TEXT
    app_version: str = __version__
    measured_text: str = MEASURED_TEXT
    not_medical_text: str = NOT_MEDICAL_TEXT

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)

    @property
    def has_raw(self) -> bool:
        return bool(self.raw_excerpts)


@dataclass(frozen=True)
class ProgressSession:
    """One session of the client, as the progress report lists it."""

    session_id: str
    path: Path
    started: dt.datetime
    mode: str | None
    minutes: float
    resting_ln_rmssd: float | None
    in_band_min: float
    judged_min: float  # minutes with a judged state (in band, rising, above band, settling, quiet drop)
    cues_suggested: int
    cues_approved: int
    script_pauses: int  # home script paused into grounding
    status: str


@dataclass(frozen=True)
class ProgressWeek:
    """One ISO week of the client's sessions."""

    year: int
    week: int
    start: dt.date  # the Monday
    sessions: int
    minutes: float  # every session recorded
    practices: int  # home practices (weekly_trend)
    practice_minutes: float
    resting_ln_rmssd: float | None  # median of the week's resting readings
    resting_readings: int
    in_band_min: float
    judged_min: float
    cues_suggested: int
    cues_approved: int
    script_pauses: int

    @property
    def label(self) -> str:
        return f"{self.start.day} {self.start.strftime('%b')}"

    @property
    def in_band_pct(self) -> float | None:
        return 100.0 * self.in_band_min / self.judged_min if self.judged_min > 0 else None


@dataclass(frozen=True)
class ProgressContent:
    """Everything a progress report shows."""

    client: str
    library: Path
    weeks: tuple[ProgressWeek, ...]
    sessions: tuple[ProgressSession, ...]
    problems: tuple[str, ...] = ()
    app_version: str = __version__
    measured_text: str = PROGRESS_MEASURED_TEXT
    not_medical_text: str = NOT_MEDICAL_TEXT


# -- small helpers -----------------------------------------------------------------------------------
def clock(t_s: float) -> str:
    """Seconds as ``mm:ss`` (``h:mm:ss`` past an hour)."""
    t = max(0, int(round(t_s)))
    return f"{t // 3600}:{t // 60 % 60:02d}:{t % 60:02d}" if t >= 3600 else f"{t // 60:02d}:{t % 60:02d}"


def _number(value: float | None, spec: str, unit: str = "") -> str:
    if value is None or not math.isfinite(value):
        return "--"
    return f"{value:{spec}}{(' ' + unit) if unit else ''}"


def _median(values: Iterable[float]) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(statistics.median(finite)) if finite else None


def _client_strap(session: Session) -> str | None:
    straps: list[str] = []
    for item in session.timeline:
        if isinstance(item, Notification) and item.strap_id not in straps:
            straps.append(item.strap_id)
    if not straps:
        return None
    return CLIENT_STRAP if CLIENT_STRAP in straps else straps[0]


def _shift_metrics(m: BeatMetrics, origin_s: float) -> BeatMetrics:
    """``m`` with every time moved to seconds since the session start."""
    def moved(part: FrequencyDomain | BreathingMetrics | CoherenceMetrics | None) -> Any:
        return None if part is None else replace(part, computed_at_s=part.computed_at_s - origin_s)

    return replace(m, t_s=m.t_s - origin_s, frequency=moved(m.frequency), breathing=moved(m.breathing),
                   coherence=moved(m.coherence))


def _shift_raw(item: object, origin_s: float) -> object:
    """A raw item with its times moved to seconds since the session start."""
    if isinstance(item, (EcgChunk, BreathingTrace, Beat, BreathingEstimate)):
        return replace(item, t_s=item.t_s - origin_s)
    return item


def _raw_end_s(item: object) -> float | None:
    if isinstance(item, (EcgChunk, BreathingTrace)):
        return float(item.t_s[-1]) if len(item.t_s) else None
    if isinstance(item, BreathingEstimate) or (isinstance(item, Beat) and item.source == "ecg"):
        return float(item.t_s)
    return None


def _intervals(events: Iterable[TimelineEvent], start_ns: int, end_s: float) -> tuple[StateInterval, ...]:
    """The recorded states as (from, to, state) stretches, in seconds since ``start_ns``; the last runs to ``end_s``."""
    states = sorted((e for e in events if e.kind == "state" and e.data.get("state")), key=lambda e: e.host_ns)
    out = []
    for event, following in zip(states, [*states[1:], None]):
        start = (event.host_ns - start_ns) / 1e9
        stop = (following.host_ns - start_ns) / 1e9 if following is not None else max(end_s, start)
        out.append(StateInterval(start, stop, str(event.data["state"])))
    return tuple(out)


def state_seconds(intervals: Iterable[StateInterval]) -> dict[str, float]:
    """Seconds per state, in the order the states first appear."""
    seconds: dict[str, float] = {}
    for interval in intervals:
        seconds[interval.state] = seconds.get(interval.state, 0.0) + max(0.0, interval.end_s - interval.start_s)
    return seconds


def cue_counts(events: Iterable[TimelineEvent]) -> dict[str, int]:
    """Cue steps per action: the practitioner's (suggested, approved, ...) and the home script's (script-step, ...)."""
    counts = {action: 0 for action in PRACTITIONER_ACTIONS}
    for event in events:
        action = str(event.data.get("action") or "") if event.kind == "cue" else ""
        if action:
            counts[action] = counts.get(action, 0) + 1
    return counts


def _cue_decisions(events: list[TimelineEvent], ctx: Context) -> tuple[CueDecision, ...]:
    rows: list[CueDecision] = []
    by_id: dict[int, int] = {}  # cue id -> row index
    for event in sorted((e for e in events if e.kind == "cue"), key=lambda e: e.host_ns):
        data = ctx.event_details(event)
        t = ctx.rel_s(event.host_ns)
        action = str(data.get("action", ""))
        kind = str(data.get("kind") or "")
        exercise = data.get("exercise")
        text = str(data.get("text") or "")
        cue_id = data.get("cue_id") if isinstance(data.get("cue_id"), int) else None
        if kind == "script" or cue_id is None:
            rows.append(CueDecision(t, cue_id, kind or "script", exercise, text, action, t))
            continue
        if action == "suggested" or cue_id not in by_id:
            by_id[cue_id] = len(rows)
            outcome = "open" if action == "suggested" else action
            rows.append(CueDecision(t, cue_id, kind, exercise, text, outcome, None if action == "suggested" else t))
            continue
        row = rows[by_id[cue_id]]
        if action == "delivered":
            rows[by_id[cue_id]] = replace(row, delivered=True)
        elif action in DECISIONS:
            rows[by_id[cue_id]] = replace(row, outcome=action, outcome_s=t)
    return tuple(rows)


def _started(ctx: Context) -> tuple[dt.datetime | None, str]:
    """The session start as shown: local time, or 2000-01-01 UTC when de-identified."""
    if ctx.deidentify:
        when = dt.datetime.fromtimestamp(ctx.start_wall, tz=dt.timezone.utc)
        return when, when.strftime("%Y-%m-%d %H:%M UTC (de-identified)")
    wall = ctx.session.manifest.get("started_wall")
    if not isinstance(wall, (int, float)) or isinstance(wall, bool):
        return None, "unknown"
    when = dt.datetime.fromtimestamp(float(wall)).astimezone()
    return when, when.strftime("%Y-%m-%d %H:%M %Z").strip()


def _strap_names(ctx: Context) -> tuple[str, ...]:
    if ctx.deidentify:
        return ()
    names = []
    for device in ctx.session.manifest.get("devices") or []:
        if isinstance(device, dict) and device.get("name"):
            names.append(str(device["name"]))
    return tuple(names)


# -- one session -------------------------------------------------------------------------------------
@dataclass
class _Pass:
    """What one pass of the live analysis over the client strap collected."""

    metrics: list[BeatMetrics] = field(default_factory=list)
    segments: list[int] = field(default_factory=list)  # gap-free segment of each measured beat
    ecg_beats: int = 0
    strap_beats: int = 0
    chest: list[BreathingEstimate] = field(default_factory=list)
    contact_lost: list[tuple[float, float]] = field(default_factory=list)
    excerpts: list[list[object]] = field(default_factory=list)
    has_raw: bool = False


def _analyse(session: Session, strap: str, origin_s: float, duration_s: float, progress: Progress,
             start_s: float = 0.0) -> _Pass:
    analysis = LiveAnalysis(metrics=True)
    found = _Pass()
    ends = [start_s + duration_s * (k + 1) / RAW_EXCERPTS for k in range(RAW_EXCERPTS)]
    found.excerpts = [[] for _ in ends]
    pending: dict[tuple[float, float], tuple[int, str]] = {}  # (t_s, rr_ms) of a decoded beat -> (segment, source)
    segment_ids: dict[tuple[int, int], int] = {}
    breaks = 0  # gap snapshots seen (each starts fresh windows)
    lost_at: float | None = None
    for item in session.timeline:
        produced = analysis.on_notification(item) if isinstance(item, Notification) else analysis.on_event(item)
        progress.advance()
        for strap_id, output in produced:
            if strap_id != strap:
                continue
            if isinstance(output, Beat):
                pending[(output.t_s, output.rr_ms)] = (output.segment, output.source)
            elif isinstance(output, BeatMetrics):
                if output.rr_ms is None:
                    breaks += 1
                    found.metrics.append(output)
                    continue
                segment, source = pending.pop((output.t_s, output.rr_ms), (-1, "strap"))
                found.segments.append(segment_ids.setdefault((breaks, segment), len(segment_ids)))
                found.metrics.append(output)
                if source == "ecg":
                    found.ecg_beats += 1
                else:
                    found.strap_beats += 1
            elif isinstance(output, ContactChange):
                t = output.host_ns / 1e9 - origin_s
                if output.contact is False and lost_at is None:
                    lost_at = t
                elif output.contact is not False and lost_at is not None:
                    found.contact_lost.append((lost_at, t))
                    lost_at = None
            if isinstance(output, BreathingEstimate):
                found.chest.append(output)
            end = _raw_end_s(output)
            if end is not None:
                found.has_raw = True
                end -= origin_s
                for k, excerpt_end in enumerate(ends):
                    last = k == len(ends) - 1  # the last excerpt takes everything up to the end of the data
                    if excerpt_end - RAW_KEEP_S < end and (last or end <= excerpt_end):
                        found.excerpts[k].append(_shift_raw(output, origin_s))
        if len(pending) > 4096:  # strap beats that the ECG replaced are never measured: forget the oldest
            for key in list(pending)[:2048]:
                del pending[key]
    if lost_at is not None:
        found.contact_lost.append((lost_at, start_s + duration_s))
    return found


def _figures(found: _Pass, beats: list[BeatMetrics], duration_s: float, chest: list[BreathingEstimate]) -> tuple[Figure, ...]:
    rr = np.array([m.rr_ms for m in beats], dtype=float)
    t = np.array([m.t_s for m in beats], dtype=float)
    flagged = np.array([m.flagged for m in beats], dtype=bool)
    summary = summarize(rr, t, np.array(found.segments, dtype=int), flagged)
    corrected = summary["corrected"]
    windows = [m for m in beats if m.time.validity.valid and m.time.validity.window_s >= WINDOW_S - 1e-6
               and m.time.rmssd_ms is not None and m.time.ln_rmssd is not None]
    rmssd_windows = _median(m.time.rmssd_ms for m in windows)
    ln_windows = _median(m.time.ln_rmssd for m in windows)
    share = 100.0 * len(windows) / len(beats) if beats else 0.0
    rmssd_all = corrected["rmssd_ms"]
    ln_all = math.log(rmssd_all) if rmssd_all is not None and rmssd_all > 0 else None
    breathing = {m.breathing.computed_at_s: m.breathing.rate_bpm for m in beats
                 if m.breathing is not None and m.breathing.validity.valid and m.breathing.rate_bpm is not None}
    coherence = {m.coherence.computed_at_s: m.coherence.ratio for m in beats
                 if m.coherence is not None and m.coherence.validity.valid and m.coherence.ratio is not None}
    chest_valid = [e for e in chest if e.valid and math.isfinite(e.rate_bpm)]
    sources = {e.source for e in chest_valid}
    breathing_hr = _median(breathing.values())
    coherence_median = _median(coherence.values())
    chest_median = _median(e.rate_bpm for e in chest_valid)
    spectrum_how = ("Welch spectrum of the accepted beats (4 Hz cubic resampling, 256-s Hann segments), mean of the "
                    "5-min segments usable for it (no gap, at most 5 % artifacts)")
    no_spectrum = "not computable: no stretch of at least 2 min without a gap and with few enough artifacts"
    figures = [
        Figure("duration", "Recorded time", duration_s, clock(duration_s) + (" (h:mm:ss)" if duration_s >= 3600 else " (mm:ss)"),
               "from the start to the end of the recording"),
        Figure("beats", "Beats measured", float(len(beats)), str(len(beats)),
               _beat_source(found)),
        Figure("mean_hr", "Mean heart rate", corrected["mean_hr_bpm"], _number(corrected["mean_hr_bpm"], ".1f", "bpm"),
               "whole session, beats not set aside as artifacts"),
        Figure("rmssd_windows", "RMSSD, 60-s windows", rmssd_windows,
               f"{_number(rmssd_windows, '.1f', 'ms')} (ln {_number(ln_windows, '.2f')})",
               f"median over the beats whose 60-s window was valid ({share:.0f} % of beats)"
               if windows else "no 60-s window was valid"),
        Figure("rmssd_session", "RMSSD, whole session", rmssd_all,
               f"{_number(rmssd_all, '.1f', 'ms')} (ln {_number(ln_all, '.2f')})",
               "successive differences of adjacent accepted beats, never across a gap"),
        Figure("sdnn", "SDNN, whole session", corrected["sdnn_ms"], _number(corrected["sdnn_ms"], ".1f", "ms"),
               "standard deviation (n − 1) of the accepted beats' RR intervals; grows with the recording's length"),
        Figure("pnn50", "pNN50, whole session", corrected["pnn50_pct"], _number(corrected["pnn50_pct"], ".1f", "%"),
               "share of successive differences of adjacent accepted beats over 50 ms (of the differences, not of "
               "the beats), never across a gap"),
        Figure("lf", "LF power (0.04–0.15 Hz)", corrected["lf_ms2"], _number(corrected["lf_ms2"], ".0f", "ms²"),
               f"{spectrum_how}" if corrected["lf_ms2"] is not None else no_spectrum),
        Figure("hf", "HF power (0.15–0.40 Hz)", corrected["hf_ms2"], _number(corrected["hf_ms2"], ".0f", "ms²"),
               spectrum_how if corrected["hf_ms2"] is not None else no_spectrum),
        Figure("lf_hf", "LF/HF", corrected["lf_hf"], _number(corrected["lf_hf"], ".2f"),
               "mean LF over mean HF of the same segments; describes the spectrum's shape (read with care under "
               "about 5 min)" if corrected["lf_hf"] is not None else no_spectrum),
        Figure("breathing_hr", "Breathing rate from the heart-rate rhythm", breathing_hr,
               _number(breathing_hr, ".1f", "breaths/min"),
               f"median of {len(breathing)} valid 64-s windows" if breathing else "no valid 64-s window"),
    ]
    if chest:
        what = "chest movement" if "acc" in sources or not sources else "the ECG"
        figures.append(Figure("breathing_chest", f"Breathing rate from {what}", chest_median,
                              _number(chest_median, ".1f", "breaths/min"),
                              f"median of {len(chest_valid)} valid estimates (about one a second)"
                              if chest_valid else "no valid estimate"))
    figures += [
        Figure("coherence", "Coherence ratio (McCraty)", coherence_median, _number(coherence_median, ".2f"),
               f"median of {len(coherence)} valid 64-s windows" if coherence else "no valid 64-s window"),
        Figure("artifacts", "Beats set aside as artifacts", summary["artifact_pct"],
               _number(summary["artifact_pct"], ".1f", "%"),
               "the live artifact rule (and, with ECG, disagreement with the strap's RR); excluded from every measure"),
    ]
    return tuple(figures)


def _beat_source(found: _Pass) -> str:
    if found.ecg_beats and found.strap_beats:
        return (f"{found.ecg_beats} timed by R peaks in the ECG, {found.strap_beats} from the strap's RR "
                "(while no ECG streamed)")
    if found.ecg_beats:
        return "timed by R peaks in the strap's raw ECG"
    return "from the strap's RR intervals"


def _series(beats: list[BeatMetrics], chest: list[BreathingEstimate], origin_s: float, intervals: tuple[StateInterval, ...],
            gaps: tuple[tuple[float, float], ...], contact_lost: tuple[tuple[float, float], ...],
            markers: tuple[TimedText, ...], notes: tuple[TimedText, ...], cues: tuple[float, ...]) -> ReportSeries:
    def arr(values: Iterable[float]) -> np.ndarray:
        return np.array(list(values), dtype=float)

    hr = [m for m in beats if m.time.hr_valid and m.time.hr_bpm is not None]
    rmssd = [m for m in beats if m.time.rmssd_ms is not None]
    breathing = {m.breathing.computed_at_s: m.breathing.rate_bpm for m in beats
                 if m.breathing is not None and m.breathing.validity.valid and m.breathing.rate_bpm is not None}
    coherence = {m.coherence.computed_at_s: m.coherence.ratio for m in beats
                 if m.coherence is not None and m.coherence.validity.valid and m.coherence.ratio is not None}
    chest_valid = [e for e in chest if e.valid and math.isfinite(e.rate_bpm)]
    return ReportSeries(
        beat_t_s=arr(m.t_s for m in beats), rr_ms=arr(m.rr_ms for m in beats),
        flagged=np.array([m.flagged for m in beats], dtype=bool),
        hr_t_s=arr(m.t_s for m in hr), hr_bpm=arr(m.time.hr_bpm for m in hr),
        rmssd_t_s=arr(m.t_s for m in rmssd), rmssd_ms=arr(m.time.rmssd_ms for m in rmssd),
        rmssd_valid=np.array([m.time.validity.valid for m in rmssd], dtype=bool),
        breathing_t_s=arr(breathing), breathing_bpm=arr(breathing.values()),
        chest_breathing_t_s=arr(e.t_s - origin_s for e in chest_valid), chest_breathing_bpm=arr(e.rate_bpm for e in chest_valid),
        coherence_t_s=arr(coherence), coherence_ratio=arr(coherence.values()),
        states=intervals, gaps=gaps, contact_lost=contact_lost,
        marker_times=tuple(m.t_s for m in markers), note_times=tuple(n.t_s for n in notes), cue_times=cues,
    )


def _phases(events: list[TimelineEvent], start_ns: int, start_s: float, duration_s: float, beats: list[BeatMetrics],
            segments: list[int]) -> tuple[SegmentStats, ...]:
    """Statistics of each phase (:func:`~somafeedback.sessions.segments.phase_segments`), or of the whole session without phases."""
    t = np.array([m.t_s for m in beats], dtype=float)
    rr = np.array([m.rr_ms for m in beats], dtype=float)
    flagged = np.array([m.flagged for m in beats], dtype=bool)
    parts = np.array(segments, dtype=int) if len(segments) == len(beats) else None
    end_s = start_s + duration_s
    stretches = phase_segments(events, start_ns, end_s) or [Segment(WHOLE_SESSION, start_s, end_s)]
    return tuple(segment_stats(stretch, t, rr, flagged, parts) for stretch in stretches)


def _exercises(manifest: dict[str, Any], events: list[TimelineEvent]) -> tuple[str, ...]:
    """Ids of the exercises practised: the home script, and each cue approved or shown to the client, in order."""
    found: list[str] = []
    if manifest.get("script"):
        found.append(str(manifest["script"]))
    for event in sorted((e for e in events if e.kind == "cue"), key=lambda e: e.host_ns):
        exercise, action = event.data.get("exercise"), str(event.data.get("action", ""))
        practised = action in ("approved", "delivered", "script-step", "script-finished")
        if exercise and practised and str(exercise) not in found:
            found.append(str(exercise))
    return tuple(found)


def session_content(session: Session | str | Path, deidentify: bool = False,
                    progress: ProgressCallback | None = None) -> SessionReportContent:
    """Everything the report of one recorded session shows (see the module docstring).

    Raises :class:`~somafeedback.sessions.file.SessionFileError` for a file that cannot be
    read, :class:`ReportError` for a session without heartbeats.
    """
    reporter = Progress(progress)
    reporter.start()
    session = session if isinstance(session, Session) else read_session(Path(session))
    ctx = make_context(session, deidentify)
    start_s = 0.0  # times count from the live session's start when the recording knows it, as the live log showed them
    session_origin = session.manifest.get("session_origin_host_ns")
    if isinstance(session_origin, int) and not isinstance(session_origin, bool) and session_origin <= ctx.start_ns:
        start_s = (ctx.start_ns - session_origin) / 1e9
        ctx = replace(ctx, start_ns=session_origin)
    strap = _client_strap(session)
    if strap is None:
        raise ReportError(f"{session.path}: the session holds no heart data to report (no strap sent anything)")
    origin_s = ctx.start_ns / 1e9
    duration_s = ctx.duration_s
    reporter.set_total(len(session.timeline))
    found = _analyse(session, strap, origin_s, duration_s, reporter, start_s)
    metrics = tuple(_shift_metrics(m, origin_s) for m in found.metrics)
    beats = [m for m in metrics if m.rr_ms is not None]
    if not beats:
        raise ReportError(f"{session.path}: the session holds no heartbeats to report")
    events = [e for e in session.timeline if isinstance(e, TimelineEvent)]
    intervals = _intervals(events, ctx.start_ns, start_s + duration_s)
    notes, markers = [], []
    undone = undone_markers(events)
    for event in events:
        if event.kind == "note":
            data = ctx.event_details(event)
            review = event.data.get("review") is True
            author = None if deidentify or not data.get("author") else str(data["author"])
            notes.append(TimedText(ctx.rel_s(event.host_ns), "review" if review else "note", str(data.get("text", "")), author))
        elif event.kind == "marker" and not is_undone_marker(event, undone):  # taken back live: not reported
            data = ctx.event_details(event)
            markers.append(TimedText(ctx.rel_s(event.host_ns), "marker", str(data.get("label", ""))))
    notes.sort(key=lambda n: n.t_s)
    gaps = tuple((ctx.rel_s(e.start_ns), ctx.rel_s(e.end_ns)) for e in session.timeline
                 if isinstance(e, GapEvent) and e.strap_id == strap)
    cue_times = tuple(ctx.rel_s(e.host_ns) for e in events if e.kind == "cue" and e.data.get("action") == "suggested")
    manifest = ctx.manifest()  # tags scrubbed when de-identified
    baseline = next((dict(e.data) for e in events if e.kind == "baseline"), None) or session.manifest.get("baseline")
    baseline_event = next((e for e in events if e.kind == "baseline"), None)
    baseline_info = _baseline_info(baseline if isinstance(baseline, dict) else None,
                                   ctx.rel_s(baseline_event.host_ns) if baseline_event is not None else None)
    phases = _phases(events, ctx.start_ns, start_s, duration_s, beats, found.segments)
    bands = bands_of(events, ctx.start_ns, baseline if isinstance(baseline, dict) else None)
    swings = swings_from_beats([(m.t_s, m.rr_ms, m.flagged) for m in metrics], bands, start_s + duration_s) \
        if bands else []
    problems = list(session.problems)
    if session.ended_unexpectedly:
        problems.append("the recording ended unexpectedly (it was not closed)")
    started, started_text = _started(ctx)
    content = SessionReportContent(
        path=session.path, stem=ctx.stem, session_id=session.session_id, deidentified=deidentify,
        client=ctx.client, practitioner=ctx.practitioner,
        mode=str(session.manifest["mode"]) if session.manifest.get("mode") else None,
        tags=tuple(str(t) for t in manifest.get("tags") or ()), straps=_strap_names(ctx),
        started=started, started_text=started_text, duration_s=duration_s, beat_source=_beat_source(found),
        figures=_figures(found, beats, duration_s, found.chest),
        state_seconds=state_seconds(intervals), cue_counts=cue_counts(events),
        series=_series(beats, found.chest, origin_s, intervals, gaps, tuple(found.contact_lost), tuple(markers),
                       tuple(notes), cue_times),
        metrics=metrics,
        raw_excerpts=tuple(RawExcerpt(end, tuple(items)) for end, items in
                           zip([start_s + duration_s * (k + 1) / RAW_EXCERPTS for k in range(RAW_EXCERPTS)], found.excerpts)
                           if items) if found.has_raw else (),
        baseline=dict(baseline) if isinstance(baseline, dict) else None,
        notes=tuple(notes), markers=tuple(markers), cue_decisions=_cue_decisions(events, ctx),
        problems=tuple(problems), start_s=start_s, baseline_info=baseline_info, phases=phases,
        exercises=_exercises(session.manifest, events), swings=tuple(swings), swings_judged=bool(bands),
        method=_method(session.manifest, events), rest_comparisons=_rest_rows(events, ctx),
    )
    reporter.finish()
    return content


# -- weeks of one client -----------------------------------------------------------------------------
def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _progress_session(path: Path, summary_status: str, started: dt.datetime, mode: str | None,
                      duration_s: float | None) -> ProgressSession | None:
    session = read_session(path)
    if not session.notifications:
        return None  # a start that found no strap: nothing was practised
    events = [e for e in session.timeline if isinstance(e, TimelineEvent)]
    start_ns = session.manifest.get("started_host_ns")
    if not isinstance(start_ns, int):
        start_ns = min(getattr(item, "host_ns", 0) for item in session.timeline)
    end_s = duration_s if duration_s is not None else session.duration_s
    seconds = state_seconds(_intervals(events, start_ns, end_s))
    counts = cue_counts(events)
    return ProgressSession(
        session_id=session.session_id, path=path, started=started, mode=mode, minutes=max(0.0, end_s) / 60.0,
        resting_ln_rmssd=resting_ln_rmssd(path),
        in_band_min=seconds.get(IN_BAND, 0.0) / 60.0,
        judged_min=sum(seconds.get(name, 0.0) for name in JUDGED_STATES) / 60.0,
        cues_suggested=counts.get("suggested", 0), cues_approved=counts.get("approved", 0),
        script_pauses=counts.get("script-paused", 0), status=summary_status,
    )


def progress_content(library_folder: str | Path, client: str, progress: ProgressCallback | None = None) -> ProgressContent:
    """The weekly trend of one client's sessions in ``library_folder`` (client compared ignoring case).

    Raises :class:`ReportError` when the folder does not exist or holds no usable session of the client.
    """
    folder = Path(library_folder)
    reporter = Progress(progress)
    reporter.start()
    if not folder.is_dir():
        raise ReportError(f"{folder}: no such session library folder")
    found = [s for s in filter_sessions(list_sessions(folder), client=client)
             if s.status in ("complete", "ended unexpectedly") and s.started is not None]
    if not found:
        raise ReportError(f"{folder}: no recorded session of client {client!r}")
    reporter.set_total(len(found) + 1)
    sessions: list[ProgressSession] = []
    problems: list[str] = []
    for summary in found:
        assert summary.started is not None
        try:
            row = _progress_session(summary.path, summary.status, summary.started, summary.mode, summary.duration_s)
        except SessionFileError as error:
            problems.append(str(error))
            row = None
        if row is not None:
            sessions.append(row)
        reporter.advance()
    if not sessions:
        raise ReportError(f"{folder}: no session of client {client!r} holds heart data")
    home = {row.start: row for row in weekly_trend(folder, client)}
    reporter.advance()
    mondays = [_monday(s.started.date()) for s in sessions]
    weeks: list[ProgressWeek] = []
    monday, last = min(mondays), max(mondays)
    while monday <= last:
        these = [s for s, m in zip(sessions, mondays) if m == monday]
        readings = [s.resting_ln_rmssd for s in these if s.resting_ln_rmssd is not None]
        year, week, _ = monday.isocalendar()
        practice = home.get(monday)
        weeks.append(ProgressWeek(
            year=year, week=week, start=monday, sessions=len(these), minutes=sum(s.minutes for s in these),
            practices=practice.practices if practice is not None else 0,
            practice_minutes=practice.minutes if practice is not None else 0.0,
            resting_ln_rmssd=_median(readings), resting_readings=len(readings),
            in_band_min=sum(s.in_band_min for s in these), judged_min=sum(s.judged_min for s in these),
            cues_suggested=sum(s.cues_suggested for s in these), cues_approved=sum(s.cues_approved for s in these),
            script_pauses=sum(s.script_pauses for s in these),
        ))
        monday += dt.timedelta(days=7)
    name = next((s.client for s in found if s.client), client) or client
    content = ProgressContent(client=name, library=folder, weeks=tuple(weeks), sessions=tuple(sessions),
                              problems=tuple(problems))
    reporter.finish()
    return content


def report_texts() -> tuple[str, ...]:
    """Every fixed sentence of the reports (for wording checks)."""
    return (MEASURED_TEXT, NOT_MEDICAL_TEXT, PROGRESS_MEASURED_TEXT, DEIDENTIFIED_TEXT, PHASE_TEXT, PENDULATION_TEXT)


__all__ = [
    "BaselineInfo", "CueDecision", "Figure", "ProgressContent", "ProgressSession", "ProgressWeek", "RawExcerpt", "ReportError",
    "ReportSeries", "SessionReportContent", "StateInterval", "TimedText", "clock", "cue_counts", "progress_content",
    "report_texts", "session_content", "state_seconds",
]
