"""The session report's figure data: the summary table of measures and the series to plot.

:func:`summary_figures` turns the client strap's metric sets (from :mod:`somafeedback.live.strap_pass`) into
the table's lines (:class:`Figure`: value, text with unit, how it was computed);
:func:`report_series` gathers the series the report plots (:class:`ReportSeries`). Times in
seconds since the session start; RR and RMSSD in ms, rates in bpm or breaths/min.

Thread: any (pure).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.hrv.spectral import SpectralSettings
from somafeedback.hrv.whole_record import summarize
from somafeedback.signals.chest_motion import BreathingEstimate
from somafeedback.sessions.beats import beat_source_text

from .common import WINDOW_S, StateInterval, TimedText, clock, median, number
from somafeedback.live.strap_pass import StrapPass


@dataclass(frozen=True)
class Figure:
    """One line of the summary table."""

    key: str  # stable id (tests, renderers)
    label: str
    value: float | None  # the main number (None: not available)
    text: str  # value with its unit, "--" when not available
    detail: str  # window, validity, how it was computed


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


def summary_figures(found: StrapPass, beats: list[BeatMetrics], duration_s: float, chest: list[BreathingEstimate],
                    settings: SpectralSettings | None = None) -> tuple[Figure, ...]:
    """The summary table: one :class:`Figure` per measure, whole session and 60-s / 64-s windows;
    whole-session frequency values under ``settings`` (default: the ``kubios`` set)."""
    rr = np.array([m.rr_ms for m in beats], dtype=float)
    t = np.array([m.t_s for m in beats], dtype=float)
    flagged = np.array([m.flagged for m in beats], dtype=bool)
    summary = summarize(rr, t, np.array(found.segments, dtype=int), flagged, settings=settings)
    corrected = summary["corrected"]
    windows = [m for m in beats if m.time.validity.valid and m.time.validity.window_s >= WINDOW_S - 1e-6
               and m.time.rmssd_ms is not None and m.time.ln_rmssd is not None]
    rmssd_windows = median(m.time.rmssd_ms for m in windows)
    ln_windows = median(m.time.ln_rmssd for m in windows)
    share = 100.0 * len(windows) / len(beats) if beats else 0.0
    rmssd_all = corrected["rmssd_ms"]
    ln_all = math.log(rmssd_all) if rmssd_all is not None and rmssd_all > 0 else None
    breathing = {m.breathing.computed_at_s: m.breathing.rate_bpm for m in beats
                 if m.breathing is not None and m.breathing.validity.valid and m.breathing.rate_bpm is not None}
    coherence = {m.coherence.computed_at_s: m.coherence.ratio for m in beats
                 if m.coherence is not None and m.coherence.validity.valid and m.coherence.ratio is not None}
    chest_valid = [e for e in chest if e.valid and math.isfinite(e.rate_bpm)]
    sources = {e.source for e in chest_valid}
    breathing_hr = median(breathing.values())
    coherence_median = median(coherence.values())
    chest_median = median(e.rate_bpm for e in chest_valid)
    spectrum_how = ("Welch spectrum of the accepted beats (4 Hz cubic resampling, 256-s Hann segments), mean of the "
                    "5-min segments usable for it (no gap, at most 5 % artifacts)")
    no_spectrum = "not computable: no stretch of at least 2 min without a gap and with few enough artifacts"
    figures = [
        Figure("duration", "Recorded time", duration_s, clock(duration_s) + (" (h:mm:ss)" if duration_s >= 3600 else " (mm:ss)"),
               "from the start to the end of the recording"),
        Figure("beats", "Beats measured", float(len(beats)), str(len(beats)),
               beat_source(found)),
        Figure("mean_hr", "Mean heart rate", corrected["mean_hr_bpm"], number(corrected["mean_hr_bpm"], ".1f", "bpm"),
               "whole session, beats not set aside as artifacts"),
        Figure("rmssd_windows", "RMSSD, 60-s windows", rmssd_windows,
               f"{number(rmssd_windows, '.1f', 'ms')} (ln {number(ln_windows, '.2f')})",
               f"median over the beats whose 60-s window was valid ({share:.0f} % of beats)"
               if windows else "no 60-s window was valid"),
        Figure("rmssd_session", "RMSSD, whole session", rmssd_all,
               f"{number(rmssd_all, '.1f', 'ms')} (ln {number(ln_all, '.2f')})",
               "successive differences of adjacent accepted beats, never across a gap"),
        Figure("sdnn", "SDNN, whole session", corrected["sdnn_ms"], number(corrected["sdnn_ms"], ".1f", "ms"),
               "standard deviation (n − 1) of the accepted beats' RR intervals; grows with the recording's length"),
        Figure("pnn50", "pNN50, whole session", corrected["pnn50_pct"], number(corrected["pnn50_pct"], ".1f", "%"),
               "share of successive differences of adjacent accepted beats over 50 ms (of the differences, not of "
               "the beats), never across a gap"),
        Figure("lf", "LF power (0.04–0.15 Hz)", corrected["lf_ms2"], number(corrected["lf_ms2"], ".0f", "ms²"),
               f"{spectrum_how}" if corrected["lf_ms2"] is not None else no_spectrum),
        Figure("hf", "HF power (0.15–0.40 Hz)", corrected["hf_ms2"], number(corrected["hf_ms2"], ".0f", "ms²"),
               spectrum_how if corrected["hf_ms2"] is not None else no_spectrum),
        Figure("lf_hf", "LF/HF", corrected["lf_hf"], number(corrected["lf_hf"], ".2f"),
               "mean LF over mean HF of the same segments; describes the spectrum's shape (read with care under "
               "about 5 min)" if corrected["lf_hf"] is not None else no_spectrum),
        Figure("breathing_hr", "Breathing rate from the heart-rate rhythm", breathing_hr,
               number(breathing_hr, ".1f", "breaths/min"),
               f"median of {len(breathing)} valid 64-s windows" if breathing else "no valid 64-s window"),
    ]
    if chest:
        what = "chest movement" if "acc" in sources or not sources else "the ECG"
        figures.append(Figure("breathing_chest", f"Breathing rate from {what}", chest_median,
                              number(chest_median, ".1f", "breaths/min"),
                              f"median of {len(chest_valid)} valid estimates (about one a second)"
                              if chest_valid else "no valid estimate"))
    figures += [
        Figure("coherence", "Coherence ratio (McCraty)", coherence_median, number(coherence_median, ".2f"),
               f"median of {len(coherence)} valid 64-s windows" if coherence else "no valid 64-s window"),
        Figure("artifacts", "Beats set aside as artifacts", summary["artifact_pct"],
               number(summary["artifact_pct"], ".1f", "%"),
               "the live artifact rule (and, with ECG, disagreement with the strap's RR); excluded from every measure"),
    ]
    return tuple(figures)


def beat_source(found: StrapPass) -> str:
    """Where the beats were timed: the session's one beat source (as analyze and the exports say it), in words."""
    said = beat_source_text(found.ecg_beats, found.strap_beats)
    if found.ecg_beats and found.strap_beats:
        return f"{said}: timed by R peaks in the ECG, from the strap's RR while no ECG streamed"
    if found.ecg_beats:
        return f"{said}: timed by R peaks in the strap's raw ECG"
    return f"{said}: from the strap's RR intervals"


def report_series(beats: list[BeatMetrics], chest: list[BreathingEstimate], origin_s: float, intervals: tuple[StateInterval, ...],
            gaps: tuple[tuple[float, float], ...], contact_lost: tuple[tuple[float, float], ...],
            markers: tuple[TimedText, ...], notes: tuple[TimedText, ...], cues: tuple[float, ...]) -> ReportSeries:
    """The series the report plots, in seconds since the session start (valid values only, or validity beside)."""
    def arr(values: Iterable[float | None]) -> np.ndarray:
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
