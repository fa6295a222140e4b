"""Breathing seen in the heart rhythm: breathing rate from the RSA peak and the peak-to-trough RSA swing.

Both take one window of accepted beats (``t_s`` in s, ``rr_ms`` in ms, as in
:mod:`.tachogram`), resample it at :data:`BREATHING_FS_HZ` and look for the breath-linked
oscillation: :func:`breathing_rate` as the dominant spectral peak, :func:`rsa_peak_to_trough`
as the swing of each breath cycle. Units: rates in breaths per minute, frequencies in Hz, RR
in ms.

Thread: any (pure).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from .tachogram import (
    GRID_EPS,
    MIN_BEATS,
    checked_beats,
    detrend_linear,
    highest_peak,
    integrate,
    is_flat,
    need_span,
    periodogram,
    resample_checked,
    resample_tachogram,
    symmetric_hann,
)

__all__ = ["BREATHING_FS_HZ", "BreathingEstimate", "breathing_measures", "breathing_rate", "rsa_peak_to_trough"]

BREATHING_FS_HZ: Final = 4.0  # resampling rate of breathing_rate and rsa_peak_to_trough
BREATHING_BAND_HZ: Final = (0.05, 0.5)  # breathing_rate's default search band (3-30 breaths/min)
MIN_BREATH_S: Final = 2.0  # rsa_peak_to_trough's default shortest breath, s
P2T_SMOOTH_SAMPLES: Final = 3  # moving-average length for finding breath cycles (0.75 s at 4 Hz)
P2T_MIN_SWING_FRACTION: Final = 0.3  # swings below this share of the median swing are not breaths
_SMOOTHING_KERNEL: Final = np.full(P2T_SMOOTH_SAMPLES, 1.0 / P2T_SMOOTH_SAMPLES)  # the centred moving average


@dataclass(frozen=True, slots=True)
class BreathingEstimate:
    """Breathing rate estimated from the RSA peak of the tachogram spectrum.

    * ``rate_bpm``  breaths per minute (= 60 * ``peak_hz``);
    * ``peak_hz``   frequency of the dominant tachogram peak, Hz;
    * ``peak_fraction`` share of the band's power inside the peak (see
      :func:`breathing_rate`), in [0, 1]: use it as a validity flag. Measured on 64 s
      windows: > 0.95 for a clean sinusoidal rhythm, 0.79 / 0.89 (10th percentile /
      median) on real slow breathing, 0.28 / 0.39 (median / 90th percentile) on white
      tachograms (the highest of many noise peaks; it falls as 1/T for longer windows).

    All three are ``nan`` when every RR is identical (no variability).

    Thread: any (immutable).
    """

    rate_bpm: float
    peak_hz: float
    peak_fraction: float



# ----------------------------------------------------------------------------------------
# breathing rate from the RSA peak
# ----------------------------------------------------------------------------------------
def breathing_rate(
    t_s: np.ndarray,
    rr_ms: np.ndarray,
    band_hz: tuple[float, float] = BREATHING_BAND_HZ,
    tachogram: tuple[np.ndarray, np.ndarray] | None = None,
) -> BreathingEstimate:
    """Breathing rate (breaths/min) from the dominant RSA peak of the tachogram spectrum.

    Respiratory sinus arrhythmia makes RR oscillate at the breathing frequency, so the
    highest tachogram peak in ``band_hz`` [0.05-0.5 Hz = 3-30 breaths/min] estimates it
    (research/hrv.md section 5, "Breathing rate from RR"):

    1. the whole window resampled at 4 Hz (cubic spline), least-squares line removed;
    2. Hann-tapered periodogram, zero-padded to at least 4096 points (bins <= 0.001 Hz =
       0.06 breaths/min);
    3. the highest local maximum of the PSD in the band (the highest bin if there is
       none), refined by a parabola through the log-PSD of it and its two neighbours
       (sub-bin accuracy); rate = 60 * peak_hz;
    4. ``peak_fraction`` = PSD integral over peak_hz +- 2/T (the Hann main lobe of a pure
       sinusoid, T = analysed duration) divided by the integral over the band.

    The band's upper edge is lowered to the beat-sampling Nyquist frequency,
    1 / (2 * mean RR): RSA faster than half the heart rate cannot be sampled by the beats.
    Limits: RR only, no respiration signal. It fails when RSA is weak (exercise, old age,
    strong sympathetic drive), when another rhythm (Mayer waves about 0.1 Hz) dominates,
    and for irregular breathing; check ``peak_fraction``. Frequency resolution is about
    1/T: use >= 60 s. Needs two cycles of the band's lower edge (40 s by default).

    ``tachogram``: the 4 Hz cubic resampling of the same beats (``resample_tachogram(t_s,
    rr_ms, BREATHING_FS_HZ)``), when the caller already has it (the pipeline shares one
    between this and :func:`rsa_peak_to_trough`).

    Thread: any (pure).
    """
    what = "breathing_rate"
    lo, hi = float(band_hz[0]), float(band_hz[1])
    fs = BREATHING_FS_HZ
    if not 0.0 < lo < hi <= fs / 2.0:
        raise ValueError(f"band_hz must be (low, high) with 0 < low < high <= {fs / 2} Hz, not {band_hz!r}")
    t, rr = checked_beats(t_s, rr_ms, what, MIN_BEATS["cubic"])
    return _rate_of_checked(t, rr, lo, hi, tachogram)


def _rate_of_checked(t: np.ndarray, rr: np.ndarray, lo: float, hi: float,
                     tachogram: tuple[np.ndarray, np.ndarray] | None) -> BreathingEstimate:
    """:func:`breathing_rate` of beats that :func:`checked_beats` has passed, band (lo, hi) Hz checked."""
    what = "breathing_rate"
    fs = BREATHING_FS_HZ
    span = need_span(t, 2.0 / lo, what, f"two cycles of the band's lower edge {lo} Hz")
    hi = min(hi, 1000.0 / (2.0 * float(rr.mean())))  # beat-sampling Nyquist, Hz
    if hi <= lo:
        raise ValueError(f"{what}: the heart rate is too low to sample breathing above {lo} Hz")
    if is_flat(rr):
        return BreathingEstimate(math.nan, math.nan, math.nan)
    grid, x = tachogram if tachogram is not None else resample_tachogram(t, rr, fs, "cubic")
    x = detrend_linear(x)
    nfft = max(4096, 1 << int(math.ceil(math.log2(len(x)))))
    freqs, psd = periodogram(x, fs, symmetric_hann(len(x)), nfft)
    df = fs / nfft
    band_power = integrate(freqs, psd, lo, hi)
    k = highest_peak(psd, int(math.ceil(lo / df - GRID_EPS)), int(math.floor(hi / df + GRID_EPS)))
    peak_hz = float(freqs[k])
    if (psd[k - 1:k + 2] > 0.0).all():
        a, b, c = np.log(psd[k - 1:k + 2])
        denominator = a - 2.0 * b + c
        if denominator < 0.0:  # a proper maximum: move to the vertex of the parabola
            peak_hz += float(0.5 * (a - c) / denominator * df)
    half = 2.0 / span
    fraction = integrate(freqs, psd, max(lo, peak_hz - half), min(hi, peak_hz + half)) / band_power
    return BreathingEstimate(60.0 * peak_hz, peak_hz, min(fraction, 1.0))


# ----------------------------------------------------------------------------------------
# peak-to-trough RSA
# ----------------------------------------------------------------------------------------
def rsa_peak_to_trough(
    t_s: np.ndarray,
    rr_ms: np.ndarray,
    min_breath_s: float = MIN_BREATH_S,
    tachogram: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Peak-to-trough RSA amplitude of each breath in the window, ms (oldest first).

    RR-only peak-to-trough (the heart-period analogue of Lehrer & Vaschillo's HR max - HR
    min per breath, Lehrer et al. 2000, Appl Psychophysiol Biofeedback 25:177; Grossman
    1990's P2T needs a respiration signal, which we do not have):

    1. resample the tachogram at 4 Hz (cubic spline through the accepted beats);
    2. light smoothing for finding the breath cycles only: a centred 3-sample (0.75 s)
       moving average, which removes beat-to-beat jitter (e.g. 1/128 s or 1 ms
       quantisation) and keeps 80 % of a 0.5 Hz (30 breaths/min) oscillation;
    3. alternating local maxima and minima of the smoothed curve, pruned: while two
       neighbouring extrema are closer than ``min_breath_s / 2`` (a swing shorter than half
       the shortest breath) or a swing is smaller than 30 % of the window's median swing
       (a wiggle within a slow breath, not a breath), the neighbouring max/min pair forming
       the smallest such swing is dropped;
    4. a breath cycle runs from one RR maximum to the next (expiration ends near the RR
       maximum, inspiration shortens RR); its amplitude = max - min of the measured RR of
       the beats inside the cycle (the spline only locates cycles: it can overshoot).

    Limits: without a respiration signal a "breath" is any RR oscillation longer than
    ``min_breath_s``: Mayer waves, posture changes or ectopic-beat remnants also count, and
    a breath with no RR swing is missed. Use it with a visible breathing rhythm
    (:func:`breathing_rate` with a high ``peak_fraction``). Returns an empty array when the
    window holds no complete cycle. Needs 4 beats spanning at least ``min_breath_s``.

    ``tachogram``: as for :func:`breathing_rate`.

    Thread: any (pure).
    """
    what = "rsa_peak_to_trough"
    if not (math.isfinite(min_breath_s) and min_breath_s > 0):
        raise ValueError(f"min_breath_s must be a positive number of seconds, not {min_breath_s!r}")
    t, rr = checked_beats(t_s, rr_ms, what, MIN_BEATS["cubic"])
    return _swings_of_checked(t, rr, min_breath_s, tachogram)


def _swings_of_checked(t: np.ndarray, rr: np.ndarray, min_breath_s: float,
                       tachogram: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """:func:`rsa_peak_to_trough` of beats that :func:`checked_beats` has passed, ``min_breath_s`` checked."""
    what = "rsa_peak_to_trough"
    need_span(t, min_breath_s, what, "at least one breath of min_breath_s")
    fs = BREATHING_FS_HZ
    grid, x = tachogram if tachogram is not None else resample_tachogram(t, rr, fs, "cubic")
    pad = P2T_SMOOTH_SAMPLES // 2
    padded = np.concatenate((np.full(pad, x[0]), x, np.full(pad, x[-1])))  # np.pad(mode="edge"), without its overhead
    smooth = np.convolve(padded, _SMOOTHING_KERNEL, mode="valid")
    extrema = _alternating_extrema(smooth, min_gap=max(1, int(round(min_breath_s / 2.0 * fs))))
    if len(extrema) < 3:
        return np.empty(0)
    first_is_max = smooth[extrema[0]] > smooth[extrema[1]]
    peaks = extrema[0 if first_is_max else 1::2]
    bounds = np.searchsorted(t, grid[peaks]).tolist()  # first beat at or after each cycle boundary
    values = rr.tolist()  # a handful of beats per cycle: plain max / min beat np.ptp's per-call cost
    swings = [
        max(values[start:end + 1]) - min(values[start:end + 1])
        for start, end in zip(bounds[:-1], (min(b, len(values) - 1) for b in bounds[1:]), strict=True)
        if end > start
    ]
    return np.array(swings)


# ----------------------------------------------------------------------------------------
# both, as the live pipeline asks for them
# ----------------------------------------------------------------------------------------
def breathing_measures(t_s: np.ndarray, rr_ms: np.ndarray) -> tuple[BreathingEstimate, np.ndarray]:
    """(``breathing_rate(t_s, rr_ms)``, ``rsa_peak_to_trough(t_s, rr_ms)``) with default settings.

    The same values, and the same ValueError (first ``resample_tachogram``'s, then each
    measure's) as resampling once and passing ``tachogram`` to both; the beats are checked
    once instead of three times. Thread: any (pure).
    """
    t, rr = checked_beats(t_s, rr_ms, "resample_tachogram", MIN_BEATS["cubic"])
    tachogram = resample_checked(t, rr, BREATHING_FS_HZ, "cubic")
    lo, hi = BREATHING_BAND_HZ
    return _rate_of_checked(t, rr, lo, hi, tachogram), _swings_of_checked(t, rr, MIN_BREATH_S, tachogram)


def _alternating_extrema(y: np.ndarray, min_gap: int) -> list[int]:
    """Indices of alternating maxima/minima of y after pruning too-short and too-small swings.

    Neighbouring max/min pairs are dropped (which keeps the sequence alternating), smallest
    swings first, while two extrema are closer than ``min_gap`` samples or a swing is below
    ``P2T_MIN_SWING_FRACTION`` of the median swing.
    """
    # (1-D x.nonzero()[0] is np.flatnonzero(x); the methods skip the wrappers, this runs every 5 s)
    d = np.sign(y[1:] - y[:-1])  # np.diff(y)
    n_sloped = np.count_nonzero(d)
    if n_sloped == 0:
        return []
    # a flat stretch takes the slope before it (the first slope at the start), so a plateau
    # yields one extremum, not two
    if n_sloped < len(d):  # (a smooth tachogram rarely has one)
        last = np.maximum.accumulate(np.where(d != 0, np.arange(len(d)), -1))
        d = d[np.where(last >= 0, last, d.nonzero()[0][0])]
    turns = (d[1:] != d[:-1]).nonzero()[0] + 1
    while len(turns) >= 3:
        at_turns = y[turns]
        swings = np.abs(at_turns[1:] - at_turns[:-1])
        small = ((turns[1:] - turns[:-1]) < min_gap) | (swings < P2T_MIN_SWING_FRACTION * _median(swings))
        if not small.any():
            break
        # drop, at once, every flagged swing that is a local minimum of swing size (never two
        # neighbours, so the dropped pairs are disjoint); else the smallest flagged swing
        local_minimum = small.copy()  # small & (swings <= the one before) & (swings < the one after)
        local_minimum[1:] &= swings[1:] <= swings[:-1]
        local_minimum[:-1] &= swings[:-1] < swings[1:]
        drop = local_minimum.nonzero()[0]
        if len(drop) == 0:
            drop = small.nonzero()[0][[np.argmin(swings[small])]]
        keep = np.ones(len(turns), dtype=bool)  # np.delete(turns, [*drop, *(drop + 1)])
        keep[drop] = False
        keep[drop + 1] = False
        turns = turns[keep]
    return turns.tolist()


def _median(values: np.ndarray) -> float:
    """np.median of a short 1-D array (same value: the middle one, or the mean of the middle two)."""
    ordered = np.sort(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (float(ordered[middle - 1]) + float(ordered[middle])) / 2.0
