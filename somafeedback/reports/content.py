"""What a session report shows, as plain data (no Qt, no HTML).

:func:`session_content` reads one recorded session and runs its timeline through
:class:`~somafeedback.live.analysis.LiveAnalysis`, the path the app uses live and in
replay, so every number is what the app showed: beats (ECG-timed on a Polar H10, the
strap's RR otherwise), their live artifact verdicts and every 60-s / 64-s window with its
validity. From those beats and windows it builds:

* the **figures** (:class:`~.figure_data.Figure`): recorded time, beats measured, mean heart rate,
  RMSSD and ln RMSSD (median of the valid 60-s windows, and the whole-session value),
  SDNN and pNN50, LF and HF power and LF/HF when computable, breathing rate (heart-rate rhythm and, on an H10, chest
  movement), coherence, the share of beats set aside as artifacts. Whole-session values are
  :func:`somafeedback.hrv.whole_record.summarize` of the measured beats with their live verdicts
  and gap-free segments: for a strap without raw ECG they equal ``somafeedback analyze``;
- the **time in each state** (from the recorded ``state`` events) and the **cue counts**;
* the **series** to plot (:class:`~.figure_data.ReportSeries`), the metric sets themselves (for the
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
* the **breathing-rate assessment** when one was recorded (:mod:`.resonance`: the recorded result and
  each step's heart rate over its scored span);
* the **exercises practised** (home script, cues approved or shown), for the client version
  (:mod:`somafeedback.reports.client`).

Every time is in seconds since the session start: the live session's start when the manifest
records it (``session_origin_host_ns``, so a time reads as it did in the live window), else the
recording's start. ``deidentify=True`` uses the export's
de-identification (:mod:`somafeedback.interop.export._deidentify` through the export
:class:`~somafeedback.interop.export._context.Context`): no client or practitioner name, note texts
replaced by ``[note]``, names scrubbed from every other text, no strap names, and the
session placed at 2000-01-01 00:00 UTC.

:func:`~somafeedback.reports.progress_content.progress_content` (the progress report, one client's
weeks) lives in :mod:`.progress_content`. The parts of a session report: the pass of the live
analysis over the client strap in :mod:`somafeedback.live.strap_pass`, the figures and series in
:mod:`.figure_data`, what both reports share (time in each state, cue counts, formatting) in
:mod:`.common`; this module assembles the sections.

Both reports take ``progress(fraction)`` (:mod:`somafeedback.progress`), called with 0.0 first and 1.0
at the end (at most about 100 calls); if it raises (:class:`~somafeedback.progress.Cancelled`,
Ctrl-C), the exception propagates and nothing is kept.

Thread: any (pure reads; each call opens and closes its own files), so the app can build the
content on a worker thread and draw the figures on the GUI thread.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import numpy as np

from somafeedback import __version__
from somafeedback.devices.events import GapEvent, TimelineEvent
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.interop.export._context import Context, make_context
from somafeedback.progress import Progress, ProgressCallback
from somafeedback.regulation.pendulation import TEXT as PENDULATION_TEXT
from somafeedback.regulation.pendulation import Swing, bands_of, swings_from_beats
from somafeedback.sessions.file import Session, read_session
from somafeedback.sessions.review_notes import is_undone_marker, undone_markers
from somafeedback.hrv.conventions import DEFAULT_FOR_RECORDS, DESCRIPTIONS, conventions
from somafeedback.hrv.spectral import SpectralSettings
from somafeedback.sessions.span import report_span
from somafeedback.live.stored_pass import stored_pass
from somafeedback.live.strap_pass import (
    RAW_EXCERPTS, AnalysisFactory, analyze_strap, client_strap_of, new_live_analysis, shift_metrics,
)
from somafeedback.sessions.segments import Segment, SegmentStats, phase_segments, segment_stats

from .common import (
    NOT_MEDICAL_TEXT,
    ReportError,
    TimedText,
    clock,
    cue_counts,
    number,
    state_intervals,
    state_seconds,
)
from .figure_data import Figure, ReportSeries, beat_source, report_series, summary_figures
from .progress_content import PROGRESS_MEASURED_TEXT
from .relationship import Relationship, session_relationship
from .resonance import ResonanceRecord, session_resonance

DECISIONS: Final = ("approved", "snoozed", "dismissed", "expired")
BASELINE_MAX_ARTIFACT_PCT: Final = 5.0  # a calibration baseline is kept only with at most this share of artifacts
WHOLE_SESSION: Final = "whole session"  # the one row of the phase table when the session marks no phases
PHASE_TEXT: Final = (
    "Each phase (from the phase marks, or a measured baseline's window followed by practice) is one stretch of "
    "beats: accepted beats only, successive differences only between adjacent accepted beats of one gap-free part, "
    "and one Welch spectrum of the stretch's accepted beats ({conventions}) for LF (0.04–0.15 Hz), HF (0.15–0.40 Hz), "
    "LF/HF and the breathing rate (the spectrum's peak in 0.1–0.5 Hz). Not valid: more than 5 % of the stretch's "
    "beats set aside as artifacts.")

MEASURED_TEXT: Final = (
    "What was measured: heart rate (bpm) and beat-to-beat (RR) intervals from a chest strap, timed by R peaks in "
    "the raw ECG where a Polar H10 streamed it; RMSSD and ln RMSSD over 60-s windows, each window valid only when "
    "full, without a gap and with at most 5 % of its beats set aside as artifacts; breathing rate from the "
    "heart-rate rhythm (64-s windows) and, on a Polar H10, from the chest's movement; over the whole session and "
    "per phase SDNN (ms), pNN50 (%), LF and HF power (ms²) and LF/HF; the coherence ratio (64 s). States describe heart rate and its variability against this client's own usual range.")
DEIDENTIFIED_TEXT: Final = ("De-identified: no names, note texts replaced by [note], and the session placed at "
                            "2000-01-01 00:00 UTC (times within the session are kept).")


# -- data ------------------------------------------------------------------------------------------
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
        window = number(self.window_s, ".0f", "s")
        when = f", set at {clock(self.set_at_s)}" if self.set_at_s is not None else ""
        return (
            ("Source", how + when, "the client's usual range is the reference ± the spread below"),
            ("Heart rate", number(self.hr_ref_bpm, ".1f", "bpm"),
             f"mean over the {window} window; spread (SD of 10-s means) {number(self.sd_hr_bpm, '.1f', 'bpm')}"),
            ("RMSSD", f"{number(self.rmssd_ref_ms, '.1f', 'ms')} (ln {number(self.ln_rmssd_ref, '.2f')})",
             f"median of the valid 60-s windows in the {window} window; spread (SD of ln RMSSD) "
             f"{number(self.sd_ln, '.2f')}"),
            ("Window", window, "the time the baseline was measured over"),
            ("Validity", ("valid" if self.valid else "not valid") + f", {number(self.artifact_pct, '.1f', '%')} artifacts",
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
    relationship: Relationship | None = None  # practitioner's and client's straps: synchrony (.relationship)
    resonance: ResonanceRecord | None = None  # a breathing-rate assessment: its result, each step's HR (.resonance)
    pendulation_text: str = PENDULATION_TEXT
    phase_text: str = PHASE_TEXT.format(conventions=DESCRIPTIONS[DEFAULT_FOR_RECORDS])
    conventions: str = DEFAULT_FOR_RECORDS  # the frequency-domain convention set of the summary and the phases
    app_version: str = __version__
    measured_text: str = MEASURED_TEXT
    not_medical_text: str = NOT_MEDICAL_TEXT

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)

    @property
    def has_raw(self) -> bool:
        return bool(self.raw_excerpts)


# -- small helpers -----------------------------------------------------------------------------------
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
def _phases(events: list[TimelineEvent], start_ns: int, start_s: float, duration_s: float, beats: list[BeatMetrics],
            segments: list[int], settings: SpectralSettings, nonlinear: bool = False) -> tuple[SegmentStats, ...]:
    """Statistics of each phase (:func:`~somafeedback.sessions.segments.phase_segments`), or of the whole session without phases."""
    t = np.array([m.t_s for m in beats], dtype=float)
    rr = np.array([m.rr_ms for m in beats], dtype=float)
    flagged = np.array([m.flagged for m in beats], dtype=bool)
    parts = np.array(segments, dtype=int) if len(segments) == len(beats) else None
    end_s = start_s + duration_s
    stretches = phase_segments(events, start_ns, end_s) or [Segment(WHOLE_SESSION, start_s, end_s)]
    return tuple(segment_stats(stretch, t, rr, flagged, parts, settings, nonlinear) for stretch in stretches)


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
                    progress: ProgressCallback | None = None,
                    new_analysis: AnalysisFactory = new_live_analysis,
                    conventions_name: str = DEFAULT_FOR_RECORDS, nonlinear: bool = False,
                    raw_ahead: bool = False, use_stored: bool = True) -> SessionReportContent:
    """Everything the report of one recorded session shows (see the module docstring); the whole-session
    and per-phase frequency values under the convention set ``conventions_name`` (default ``kubios``);
    ``nonlinear``: each phase also gets neurokit2's nonlinear indices (DFA, sample entropy; a few seconds more).

    One pass of the live analysis (:func:`~somafeedback.live.strap_pass.analyze_strap`, its analysis made by
    ``new_analysis``) feeds every section and figure; ``use_stored``: the pass a cleanly ended recording stored is
    used instead when it was made exactly as this one would be (:mod:`somafeedback.live.stored_pass`);
    ``raw_ahead``: its chest motion is computed by another process meanwhile (:mod:`somafeedback.live.raw_ahead`:
    the same content; for a command line that may fork).

    Raises :class:`~somafeedback.sessions.file.SessionFileError` for a file that cannot be
    read, :class:`ReportError` for a session without heartbeats.
    """
    reporter = Progress(progress)
    reporter.start()
    session = session if isinstance(session, Session) else read_session(Path(session))
    span = report_span(session)  # times count from the live session's start when the recording knows it
    ctx = replace(make_context(session, deidentify), start_ns=span.start_ns)
    strap = client_strap_of(session)
    if strap is None:
        raise ReportError(f"{session.path}: the session holds no heart data to report (no strap sent anything)")
    origin_s, duration_s, start_s = span.origin_s, span.duration_s, span.start_s
    reporter.set_total(len(session.timeline))
    found = stored_pass(session, strap, span) if use_stored else None
    if found is None:
        found = analyze_strap(session, strap, origin_s, duration_s, reporter, start_s, new_analysis, raw_ahead)
    metrics = tuple(shift_metrics(m, origin_s) for m in found.metrics)
    beats = [m for m in metrics if m.rr_ms is not None]
    if not beats:
        raise ReportError(f"{session.path}: the session holds no heartbeats to report")
    events = [e for e in session.timeline if isinstance(e, TimelineEvent)]
    intervals = state_intervals(events, ctx.start_ns, start_s + duration_s)
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
    settings = conventions(conventions_name)
    phases = _phases(events, ctx.start_ns, start_s, duration_s, beats, found.segments, settings, nonlinear)
    bands = bands_of(events, ctx.start_ns, baseline if isinstance(baseline, dict) else None)
    swings = swings_from_beats([(m.t_s, m.rr_ms, m.flagged) for m in metrics], bands, start_s + duration_s) \
        if bands else []
    problems = list(session.problems)
    if session.ended_unexpectedly:
        problems.append("the recording ended unexpectedly (it was not closed)")
    if found.raw_set_aside:
        frames = "1 raw data frame was" if found.raw_set_aside == 1 else f"{found.raw_set_aside} raw data frames were"
        problems.append(f"{frames} set aside (their bytes could not be read or their time stamps broke with the strap's "
                        "clock); the ECG and breathing leave them out")
    started, started_text = _started(ctx)
    content = SessionReportContent(
        path=session.path, stem=ctx.stem, session_id=session.session_id, deidentified=deidentify,
        client=ctx.client, practitioner=ctx.practitioner,
        mode=str(session.manifest["mode"]) if session.manifest.get("mode") else None,
        tags=tuple(str(t) for t in manifest.get("tags") or ()), straps=_strap_names(ctx),
        started=started, started_text=started_text, duration_s=duration_s, beat_source=beat_source(found),
        figures=summary_figures(found, beats, duration_s, found.chest, settings),
        state_seconds=state_seconds(intervals), cue_counts=cue_counts(events),
        series=report_series(beats, found.chest, origin_s, intervals, gaps, tuple(found.contact_lost), tuple(markers),
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
        phase_text=PHASE_TEXT.format(conventions=DESCRIPTIONS[settings.name]), conventions=settings.name,
        relationship=session_relationship(session.timeline, ctx.start_ns),
        resonance=session_resonance(events, np.array([m.t_s for m in beats]), np.array([m.rr_ms for m in beats]),
                                    np.array([m.flagged for m in beats], dtype=bool), origin_s),
    )
    reporter.finish()
    return content


def report_texts() -> tuple[str, ...]:
    """Every fixed sentence of the reports (for wording checks)."""
    return (MEASURED_TEXT, NOT_MEDICAL_TEXT, PROGRESS_MEASURED_TEXT, DEIDENTIFIED_TEXT,
            PHASE_TEXT.format(conventions=DESCRIPTIONS[DEFAULT_FOR_RECORDS]), PENDULATION_TEXT)


__all__ = [
    "BaselineInfo", "CueDecision", "RawExcerpt", "RestRow", "SessionReportContent", "report_texts", "session_content",
]
