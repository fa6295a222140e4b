"""The measures of one assessment step (:func:`measure_step`) and of a whole recording scored as one
step-free span (:func:`score_span`), exactly as :data:`somafeedback.resonance.result.CONVENTIONS` says.

* beats: only those ending inside the scored span ``[t0_s, t1_s]``; flagged beats (the project's
  artifact rule, :mod:`somafeedback.hrv.artifacts`) are left out of every measure, and for the
  spectrum the cubic spline through the accepted beats bridges them, as in :mod:`somafeedback.hrv.spectral`
  (research/hrv.md §6: interpolate flagged beats before resampling);
* peak-to-trough heart rate: instantaneous HR = 60000 / RR at each accepted beat's end time; per
  complete breath (:mod:`.cycles`: the pacer's, else the measured breathing's, else the HR
  oscillation's at the LF peak) max - min over its beats (two or more), the mean over the breaths;
* LF: RR tachogram resampled at 4 Hz (cubic spline), linear detrend, Hann window, periodogram
  zero-padded to bins of at most :data:`SPECTRUM_BIN_HZ`; LF power = its integral over
  0.04-0.15 Hz (ms²); the LF peak = the highest local maximum there (its frequency and its PSD
  value, ms²/Hz); ``spectral_peaks`` = local maxima there at >= ``PEAK_SHARE`` of the highest;
* HR-breath phase: least-squares fit of HR = a + b t + c cos 2πu + d sin 2πu over the accepted beats
  (u = the measured breathing's running breath count at each beat), minus the phase of the lung
  volume's fundamental for a breath of ``inhale_share`` (:func:`.cycles.lung_fundamental_rad`), so
  that a heart rate peaking exactly when lung volume peaks gives 0; + = HR leads. nan without a
  breathing signal;
* following: ``following_share`` over the valid estimates; ``following`` = share >=
  :data:`FOLLOWING_MIN_SHARE` when at least one estimate was valid (``following_checked``).

Not assessable (``reason`` in words, checked in this order): scored span under ``MIN_SCORED_S``
(45 s, e.g. a skipped step); more than :data:`MAX_FLAGGED_SHARE` of the beats flagged; fewer than
:data:`MIN_ACCEPTED_BEATS` accepted beats; breathing checked and not following the pacer; fewer
than :data:`MIN_BREATHS` complete breaths. A step with no breathing signal at all stays assessable
(``following_checked`` False): the pacer's cycles stand in for breaths and the phase is nan.

numpy / scipy only (scipy imported on first use, via :mod:`somafeedback.hrv.tachogram`).
Thread: any (pure).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Final

import numpy as np

from somafeedback.hrv.artifacts import flag_artifacts
from somafeedback.hrv.tachogram import (
    detrend_linear,
    highest_peak,
    integrate,
    is_flat,
    periodogram,
    resample_tachogram,
    taper,
)

from .cycles import Cycles, breathing_cycles, lung_fundamental_rad, oscillation_cycles, pacer_cycles
from somafeedback.regulation.assessment_protocol import DEFAULT_INHALE_SHARE, MIN_SCORED_S
from .result import LF_BAND_HZ, PEAK_SHARE, RESAMPLE_HZ, StepMeasures
from .step_data import StepData

__all__ = ["FOLLOWING_MIN_SHARE", "MAX_FLAGGED_SHARE", "MIN_ACCEPTED_BEATS", "MIN_BREATHS", "LfSpectrum",
           "lf_spectrum", "measure_step", "score_span"]

FOLLOWING_MIN_SHARE: Final = 0.6  # share of valid following estimates saying "following" for the step to count
MAX_FLAGGED_SHARE: Final = 0.20  # above this share of flagged beats the signal is too rough to assess
MIN_ACCEPTED_BEATS: Final = 20  # accepted beats a step needs (45 s at 27 beats/min)
MIN_BREATHS: Final = 3  # complete breaths a step needs
MIN_BEATS_PER_BREATH: Final = 2  # a breath's peak-to-trough needs this many accepted beats in it
SPECTRUM_BIN_HZ: Final = 0.001  # zero-padding: PSD bins at most this far apart, Hz
MIN_PHASE_BEATS: Final = 8  # accepted beats with a breathing phase needed for the HR-breath phase


@dataclass(frozen=True, slots=True)
class LfSpectrum:
    """The LF measures and what the step-free cycles need: the detrended 4 Hz tachogram."""

    power_ms2: float
    peak_hz: float
    peak_ms2_per_hz: float
    peaks: int
    grid_t_s: np.ndarray
    detrended_ms: np.ndarray


def lf_spectrum(beat_t_s: np.ndarray, rr_ms: np.ndarray) -> LfSpectrum | None:
    """LF power, peak and peak count of accepted beats (None: fewer than 4 beats, or every RR equal)."""
    if len(beat_t_s) < 4 or is_flat(np.asarray(rr_ms, dtype=np.float64)):
        return None
    grid, rr = resample_tachogram(beat_t_s, rr_ms, RESAMPLE_HZ, "cubic")
    x = detrend_linear(rr)
    nfft = max(len(x), 1 << math.ceil(math.log2(RESAMPLE_HZ / SPECTRUM_BIN_HZ)))
    freqs, psd = periodogram(x, RESAMPLE_HZ, taper("hann", len(x)), nfft)
    low, high = LF_BAND_HZ
    first, last = int(np.searchsorted(freqs, low)), int(np.searchsorted(freqs, high, side="right")) - 1
    peak = highest_peak(psd, first, last)
    a, b = max(first, 1), min(last, len(psd) - 2)
    middle = psd[a:b + 1]
    local = middle[(middle >= psd[a - 1:b]) & (middle > psd[a + 1:b + 2])]
    peaks = int(np.count_nonzero(local >= PEAK_SHARE * local.max())) if len(local) else 0
    return LfSpectrum(integrate(freqs, psd, low, high), float(freqs[peak]), float(psd[peak]), peaks, grid, x)


def _peak_trough(hr: np.ndarray, cycles: Cycles) -> tuple[float, int]:
    """Mean of max - min heart rate over the complete breaths holding enough beats, and their number."""
    swings = []
    for k in cycles.complete:
        values = hr[cycles.breath_of == k]
        if len(values) >= MIN_BEATS_PER_BREATH:
            swings.append(float(values.max() - values.min()))
    return (float(np.mean(swings)) if swings else math.nan), len(swings)


def _hr_breath_phase(beat_t_s: np.ndarray, hr: np.ndarray, u: np.ndarray, inhale_share: float) -> float:
    """Degrees in (-180, 180], + = heart rate leads lung volume; nan when the breathing covers too little."""
    known = np.isfinite(u)
    if np.count_nonzero(known) < MIN_PHASE_BEATS or np.ptp(u[known]) < 1.0:
        return math.nan
    t, y, angle = beat_t_s[known], hr[known], 2.0 * math.pi * u[known]
    design = np.column_stack((np.ones(len(t)), t - t.mean(), np.cos(angle), np.sin(angle)))
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    if not np.hypot(coef[2], coef[3]) > 0.0:
        return math.nan
    hr_rad = math.atan2(coef[3], coef[2])  # HR ~ cos(2πu - hr_rad): peaks at u = hr_rad / 2π
    lead = math.degrees(lung_fundamental_rad(inhale_share) - hr_rad)
    return 180.0 - (180.0 - lead) % 360.0  # wrapped into (-180, 180]


def _reason(m: StepMeasures, accepted: int) -> str:
    if m.scored_s < MIN_SCORED_S:
        return f"too short: {max(m.scored_s, 0.0):.0f} s measured, at least {MIN_SCORED_S:.0f} s needed"
    if m.beats and m.flagged_share > MAX_FLAGGED_SHARE:
        return f"signal too rough: {100.0 * m.flagged_share:.0f} % of beats flagged"
    if accepted < MIN_ACCEPTED_BEATS:
        return f"too few beats: {accepted} usable, at least {MIN_ACCEPTED_BEATS} needed"
    if m.following_checked and not m.following:
        return "breathing did not follow the pacer"
    if m.breaths < MIN_BREATHS:
        return f"too few breaths: {m.breaths} complete, at least {MIN_BREATHS} needed"
    return ""


def _breathing(data: StepData, beat_t_s: np.ndarray) -> tuple[Cycles, np.ndarray] | None:
    """The measured breathing's cycles and running breath count at the beats (None: no breathing signal)."""
    if data.breath_t_s is None or data.breath_phase is None:
        return None
    times = np.asarray(data.breath_t_s, dtype=np.float64)
    if np.count_nonzero((times >= data.t0_s) & (times <= data.t1_s)) < 2:
        return None  # no breathing measured in the span: as if there were no breathing signal
    rate = None if data.breath_rate_bpm is None else np.asarray(data.breath_rate_bpm, dtype=np.float64)
    return breathing_cycles(times, np.asarray(data.breath_phase, dtype=np.float64),
                            rate, data.t0_s, data.t1_s, beat_t_s)


def measure_step(data: StepData) -> StepMeasures:
    """Every measure of one step over its scored span, and whether it can be assessed (see the module text)."""
    t = np.asarray(data.beat_t_s, dtype=np.float64)
    rr = np.asarray(data.rr_ms, dtype=np.float64)
    flagged = np.asarray(data.flagged, dtype=bool)
    inside = (t >= data.t0_s) & (t <= data.t1_s)
    t, rr, flagged = t[inside], rr[inside], flagged[inside]
    ok = ~flagged & np.isfinite(rr) & (rr > 0)
    ta, rra = t[ok], rr[ok]
    hr = 60000.0 / rra
    spectrum = lf_spectrum(ta, rra)

    phase = math.nan
    breathing = _breathing(data, ta)
    if breathing is not None:
        phase = _hr_breath_phase(ta, hr, breathing[1], data.inhale_share)
    if data.pacer is not None:
        cycles = pacer_cycles(data.pacer, data.t0_s, data.t1_s, ta)
    elif breathing is not None:
        cycles = breathing[0]
    elif spectrum is not None:
        cycles = oscillation_cycles(spectrum.grid_t_s, spectrum.detrended_ms, spectrum.peak_hz, ta)
    else:
        cycles = Cycles(np.full(len(ta), -1, dtype=np.int64), ())
    peak_trough, breaths = _peak_trough(hr, cycles)

    valid = [following for _, is_valid, following in data.following if is_valid]
    share = sum(valid) / len(valid) if valid else math.nan
    m = StepMeasures(
        index=data.index, step=data.step, rate_bpm=float(data.rate_bpm), t0_s=float(data.t0_s), t1_s=float(data.t1_s),
        beats=int(len(t)), flagged_share=float(np.mean(flagged)) if len(t) else math.nan, breaths=breaths,
        peak_trough_hr_bpm=peak_trough,
        lf_power_ms2=spectrum.power_ms2 if spectrum else math.nan,
        lf_peak_hz=spectrum.peak_hz if spectrum else math.nan,
        lf_peak_amplitude_ms2_per_hz=spectrum.peak_ms2_per_hz if spectrum else math.nan,
        spectral_peaks=spectrum.peaks if spectrum else None,
        hr_breath_phase_deg=phase, breathing_source=data.breath_source if breathing is not None else "",
        following_share=share, following_checked=bool(valid),
        following=(share >= FOLLOWING_MIN_SHARE) if valid else None,
    )
    reason = _reason(m, int(len(ta)))
    return replace(m, assessable=not reason, reason=reason)


def score_span(beat_t_s: np.ndarray, rr_ms: np.ndarray, flagged: np.ndarray | None = None,
               rate_bpm: float | None = None, t0_s: float | None = None, t1_s: float | None = None,
               inhale_share: float = DEFAULT_INHALE_SHARE, index: int = 0, step: int = 0) -> StepMeasures:
    """A whole recording (or any span of it) measured as one step-free span: no pacer, no breathing;
    breaths are the cycles of the HR oscillation at its LF peak. ``beat_t_s``: beat end times rebuilt
    from the RR sum (never arrival times); ``flagged`` None: the project's artifact rule judges the
    beats (:func:`somafeedback.hrv.artifacts.flag_artifacts`); ``rate_bpm`` None: the LF peak in
    breaths/min (rounded to 0.01). Span default: first to last beat."""
    t = np.asarray(beat_t_s, dtype=np.float64)
    rr = np.asarray(rr_ms, dtype=np.float64)
    if t.shape != rr.shape or t.ndim != 1:
        raise ValueError("beat times and RR intervals must be two lists of the same length")
    marks = flag_artifacts(rr) if flagged is None else np.asarray(flagged, dtype=bool)
    lo = float(t[0]) if t0_s is None and len(t) else (0.0 if t0_s is None else float(t0_s))
    hi = float(t[-1]) if t1_s is None and len(t) else (0.0 if t1_s is None else float(t1_s))
    data = StepData(rate_bpm=math.nan if rate_bpm is None else float(rate_bpm), inhale_share=inhale_share,
                    t0_s=lo, t1_s=hi, beat_t_s=t, rr_ms=rr, flagged=marks, index=index, step=step)
    measures = measure_step(data)
    if rate_bpm is None and math.isfinite(measures.lf_peak_hz):
        measures = replace(measures, rate_bpm=round(60.0 * measures.lf_peak_hz, 2))
    return measures
