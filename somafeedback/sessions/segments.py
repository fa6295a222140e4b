"""Statistics of a stretch of a session, and the session's phases (baseline / practice / recovery).

A reviewer selects a stretch of a recorded session (or takes one of its phases) and reads its
statistics side by side with another stretch: HR, RMSSD, SDNN, pNN50, LF, HF, LF/HF, breathing
rate, artifact share, the Poincaré descriptors SD1/SD2 and the power spectrum. Every number
travels with how it was made (:attr:`SegmentStats.conventions`, ``valid`` and ``notes``).

Conventions (the same as ``analyze``'s "corrected" values, docs/metrics.md):

* beats are those of the live artifact rule's verdicts; flagged beats are left out;
* successive differences (RMSSD, pNN50, SD1) only between adjacent accepted beats of one
  gap-free segment;
* LF/HF from the Welch PSD of the accepted beats (:func:`somafeedback.hrv.spectral.power_spectrum`,
  under a named convention set: ``kubios`` unless the caller names another, docs/metrics.md
  section 5), only for a stretch with no gap inside and at least
  ``SpectralSettings.min_segment_s`` of beats; LF needs >= 2 min to mean much, LF/HF ~5 min;
* the breathing rate is the RSA peak of the same PSD in 0.1-0.5 Hz (6-30 /min);
* ``valid`` is False when more than 5 % of the stretch's beats were flagged (metrics.md §3).

Phases come from ``phase`` events on the timeline (marked live, or added in review as review
notes carrying a ``phase``); without any, a measured baseline's window is the baseline phase
and the rest is practice.

Thread: any (pure).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from somafeedback.devices.events import TimelineEvent
from somafeedback.hrv.conventions import DEFAULT_FOR_RECORDS, conventions
from somafeedback.hrv.spectral import PowerSpectrum, SpectralSettings, power_spectrum
from somafeedback.hrv.time_domain import NN50_MS

PHASES: Final = ("baseline", "practice", "recovery")
MAX_ARTIFACT_PCT: Final = 5.0  # more flagged beats than this: the stretch's HRV is not valid
BREATHING_BAND_HZ: Final = (0.1, 0.5)  # 6-30 breaths/min
CONVENTIONS: Final = "segment: accepted beats, gap-free successive differences, Welch PSD ({name} conventions)"


@dataclass(frozen=True, slots=True)
class Segment:
    """A named stretch of a session, in session seconds."""

    label: str
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class SegmentStats:
    """What a stretch of beats measured; None where a value cannot be had (see ``notes``)."""

    segment: Segment
    n_beats: int
    n_accepted: int
    artifact_pct: float
    valid: bool
    mean_hr_bpm: float | None
    rmssd_ms: float | None
    sdnn_ms: float | None
    pnn50_pct: float | None
    lf_ms2: float | None
    hf_ms2: float | None
    lf_hf: float | None
    breathing_bpm: float | None
    sd1_ms: float | None
    sd2_ms: float | None
    spectrum: PowerSpectrum | None
    poincare: tuple[np.ndarray, np.ndarray]  # (RR_n, RR_n+1) of accepted adjacent pairs, ms
    notes: tuple[str, ...] = field(default=())
    conventions: str = CONVENTIONS.format(name=DEFAULT_FOR_RECORDS)
    nonlinear: dict[str, float | None] | None = None  # neurokit2's indices (hrv/nonlinear.py), when asked for

    @property
    def sd1_sd2(self) -> float | None:
        if self.sd1_ms is None or not self.sd2_ms:
            return None
        return self.sd1_ms / self.sd2_ms


def segment_stats(segment: Segment, t_s: np.ndarray, rr_ms: np.ndarray, flagged: np.ndarray,
                  gap_segments: np.ndarray | None = None, settings: SpectralSettings | None = None,
                  nonlinear: bool = False) -> SegmentStats:
    """The statistics of the beats whose time falls in ``segment`` (session seconds); ``settings``: the
    frequency-domain convention set (default ``kubios``); ``nonlinear``: also neurokit2's nonlinear
    indices of the stretch's accepted beats (slow: imports neurokit2; only for a valid, gap-free stretch).

    ``t_s``/``rr_ms``/``flagged`` are one strap's beats (e.g. :class:`~somafeedback.sessions.beats.StrapBeats`
    moved to session seconds); ``gap_segments`` numbers each beat's gap-free segment.
    """
    settings = settings if settings is not None else conventions(DEFAULT_FOR_RECORDS)
    t_s, rr_ms = np.asarray(t_s, dtype=float), np.asarray(rr_ms, dtype=float)
    flagged = np.asarray(flagged, dtype=bool)
    gap_segments = np.zeros(len(t_s), dtype=int) if gap_segments is None else np.asarray(gap_segments)
    inside = (t_s >= segment.start_s) & (t_s <= segment.end_s)
    t, rr, bad, part = t_s[inside], rr_ms[inside], flagged[inside], gap_segments[inside]
    notes: list[str] = []
    n = len(rr)
    accepted = ~bad
    artifact_pct = float(100.0 * bad.mean()) if n else 0.0
    valid = n >= 2 and artifact_pct <= MAX_ARTIFACT_PCT
    if n and not valid and n >= 2:
        notes.append(f"{artifact_pct:.1f} % of beats flagged (over {MAX_ARTIFACT_PCT:.0f} %): HRV not valid here")
    if n < 2:
        notes.append("fewer than two beats in this stretch")
    pairs = accepted[1:] & accepted[:-1] & (part[1:] == part[:-1])
    first, second = rr[:-1][pairs], rr[1:][pairs]
    diffs = second - first
    good = rr[accepted]
    mean_hr = float(np.mean(60000.0 / good)) if len(good) else None
    sdnn = float(np.std(good, ddof=1)) if len(good) > 1 else None
    rmssd = float(np.sqrt(np.mean(diffs**2))) if len(diffs) else None
    pnn50 = float(100.0 * np.mean(np.abs(diffs) > NN50_MS)) if len(diffs) else None
    sd1 = sd2 = None
    if len(diffs) > 1:
        sd1 = float(np.std(diffs, ddof=1) / math.sqrt(2.0))
        sd2 = float(np.std(first + second, ddof=1) / math.sqrt(2.0))
    spectrum = lf = hf = ratio = breathing = None
    if len(set(part.tolist())) > 1:
        notes.append("a gap lies inside this stretch: no spectrum across it")
    elif len(good) >= 4:
        try:
            spectrum = power_spectrum(t[accepted], good, settings)
        except ValueError:
            need = settings.min_segment_s
            notes.append(f"too short for a spectrum (needs at least {need:.0f} s of beats)")
    if spectrum is not None:
        from somafeedback.hrv.spectral import band_powers

        powers = band_powers(t[accepted], good, settings)
        lf, hf = powers.lf_ms2, powers.hf_ms2
        ratio = powers.lf_hf if math.isfinite(powers.lf_hf) else None
        breathing = _rsa_peak_bpm(spectrum)
        if segment.duration_s < 120.0:
            notes.append("under 2 min: LF means little here")
        elif segment.duration_s < 270.0:
            notes.append("under ~5 min: read LF/HF with care")
    indices = None
    if nonlinear and valid and len(set(part.tolist())) <= 1:
        from somafeedback.hrv.nonlinear import segment_indices  # neurokit2: imported only when asked for

        indices = segment_indices(good, t[accepted])
    return SegmentStats(segment, n, int(accepted.sum()), artifact_pct, valid, mean_hr, rmssd, sdnn, pnn50,
                        lf, hf, ratio, breathing, sd1, sd2, spectrum, (first, second), tuple(notes),
                        CONVENTIONS.format(name=settings.name), indices)


def _rsa_peak_bpm(spectrum: PowerSpectrum) -> float | None:
    low, high = BREATHING_BAND_HZ
    band = (spectrum.freqs_hz >= low) & (spectrum.freqs_hz <= high)
    if not band.any() or not np.any(spectrum.psd_ms2_hz[band] > 0):
        return None
    peak = spectrum.freqs_hz[band][int(np.argmax(spectrum.psd_ms2_hz[band]))]
    return float(60.0 * peak)


def phase_segments(events: Iterable[TimelineEvent], origin_ns: int, end_s: float) -> list[Segment]:
    """The session's phases in session seconds (since ``origin_ns``), in order.

    A phase starts at a ``phase`` event (or a review note) whose data names one of
    :data:`PHASES` (``{"phase": "practice"}``) and lasts until the next one or the end. Without
    any, a measured (calibration) baseline gives the baseline phase (its window, ending when the
    baseline was set) followed by practice to the end; with neither, no phases.
    """
    rel = lambda ns: (ns - origin_ns) / 1e9  # noqa: E731
    ordered = sorted(events, key=lambda e: e.host_ns)
    marks = [(rel(e.host_ns), str(e.data["phase"])) for e in ordered
             if e.kind in ("phase", "review") and e.data.get("phase") in PHASES]
    if marks:
        bounds = [*(t for t, _ in marks[1:]), max(end_s, marks[-1][0])]
        return [Segment(label, max(0.0, t), stop) for (t, label), stop in zip(marks, bounds, strict=True) if stop > t]
    for event in ordered:
        if event.kind == "baseline" and event.data.get("source") == "calibration":
            set_at = rel(event.host_ns)
            window = float(event.data.get("window_s") or 0.0)
            phases = [Segment("baseline", max(0.0, set_at - window), set_at)]
            if end_s > set_at:
                phases.append(Segment("practice", set_at, end_s))
            return phases
    return []


# ----------------------------------------------------------------------------------------
# the whole session, for the review window (additions; the functions above are unchanged)
# ----------------------------------------------------------------------------------------
TREND_WINDOW_S: Final = 60.0  # RMSSD and breathing over the whole session: the live 60 s window
BREATH_STEP_S: Final = 10.0  # one breathing estimate every this many seconds


@dataclass(frozen=True)
class SessionBeatSeries:
    """One strap's recorded beats in session seconds (since the session's 00:00)."""

    t_s: np.ndarray
    rr_ms: np.ndarray
    flagged: np.ndarray  # the live artifact rule's verdict per beat
    gap_segments: np.ndarray  # the gap-free segment of each beat
    strap_id: str | None


def session_beat_series(timeline: Iterable[object], origin_ns: int, strap_id: str | None = None) -> SessionBeatSeries:
    """The beats of ``strap_id`` (else the first strap) as live measures them (the session's one beat series,
    :func:`~.beat_series.session_beats`: ECG R-peak beats while an H10's ECG streamed), moved to seconds since ``origin_ns``."""
    from .beat_series import session_beats

    straps = {strap: record for strap, record in session_beats(timeline).items() if record.beats}  # type: ignore[arg-type]
    chosen = straps.get(strap_id) if strap_id is not None else None
    if chosen is None and straps:
        chosen = next(iter(straps.values()))
    if chosen is None or not chosen.beats:
        empty = np.zeros(0)
        return SessionBeatSeries(empty, empty, np.zeros(0, dtype=bool), np.zeros(0, dtype=int), None)
    return SessionBeatSeries(chosen.t_s - origin_ns / 1e9, chosen.rr_ms, np.array(chosen.flagged, dtype=bool),
                             chosen.segments, chosen.strap_id)


@dataclass(frozen=True)
class SessionTrends:
    """HR, RMSSD and breathing rate over a whole session (NaN where a value is not valid)."""

    t_s: np.ndarray  # beat times, session seconds
    hr_bpm: np.ndarray  # per beat: 60000 / RR of accepted beats (NaN for flagged beats)
    rmssd_ms: np.ndarray  # per beat: RMSSD of the last TREND_WINDOW_S (NaN when that window is not valid)
    breath_t_s: np.ndarray  # times of the breathing estimates
    breath_bpm: np.ndarray  # RSA peak of the last TREND_WINDOW_S of accepted beats, breaths/min (NaN: none)
    window_s: float = TREND_WINDOW_S


def session_trends(beats: SessionBeatSeries, window_s: float = TREND_WINDOW_S,
                   breath_step_s: float = BREATH_STEP_S) -> SessionTrends:
    """The whole session's trends, computed once from the recorded beats (as the live window computes them)."""
    from somafeedback.hrv.rsa import breathing_rate
    from somafeedback.hrv.time_domain import SlidingTimeDomain

    t, rr, bad, part = beats.t_s, beats.rr_ms, beats.flagged, beats.gap_segments
    hr = np.where(bad, np.nan, 60000.0 / np.where(rr > 0, rr, np.nan)) if len(rr) else np.zeros(0)
    rmssd = np.full(len(t), np.nan)
    window = SlidingTimeDomain(window_s)
    for i in range(len(t)):
        if i and part[i] != part[i - 1]:
            window.gap(float(t[i]))
        window.push(float(t[i]), float(rr[i]), not bool(bad[i]))
        metrics = window.metrics(float(t[i]))
        if metrics.validity.valid and metrics.rmssd_ms is not None:
            rmssd[i] = metrics.rmssd_ms
    breath_t: list[float] = []
    breath: list[float] = []
    if len(t):
        stop = float(t[-1])
        at = float(t[0]) + window_s
        while at <= stop + 1e-9:
            inside = (t > at - window_s) & (t <= at) & ~bad
            value = math.nan
            if inside.sum() >= 8 and len(set(part[inside].tolist())) == 1:
                try:
                    value = float(breathing_rate(t[inside], rr[inside]).rate_bpm)
                except ValueError:
                    value = math.nan
            breath_t.append(at)
            breath.append(value)
            at += breath_step_s
    return SessionTrends(t, hr, rmssd, np.array(breath_t), np.array(breath), window_s)


def phase_mark_of(event: TimelineEvent) -> str | None:
    """The phase a ``phase`` event or a review note marking one starts (None: it marks none)."""
    phase = event.data.get("phase")
    marked_in_review = event.kind == "note" and event.data.get("review") is True
    if phase in PHASES and (event.kind in ("phase", "review") or marked_in_review):
        return str(phase)
    return None


def session_phases(events: Iterable[TimelineEvent], origin_ns: int, end_s: float) -> list[Segment]:
    """:func:`phase_segments`, with phases marked afterwards (review notes carrying a ``phase``) counted as marks."""
    marks = [TimelineEvent("phase", e.host_ns, e.wall_time, dict(e.data), e.strap_id)
             if e.kind == "note" and phase_mark_of(e) is not None else e for e in events]
    return phase_segments(marks, origin_ns, end_s)
