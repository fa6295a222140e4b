"""A shared breathing rhythm seen in both people's beats: the entrainment confound without a known pacer.

Two people breathing in step (with the app's pacer, with any other rhythm, or with each other)
make both heart rates swing together with each breath: entrainment, not spontaneous synchrony.
When only beats exist, the breath is read from each person's RSA (respiratory sinus arrhythmia):

* every ``settings.step_s`` along the recording, over :data:`SPAN_S` centred there, each
  person's breathing rate from the dominant RSA peak of their tachogram
  (:func:`~somafeedback.hrv.rsa.breathing_rate`, accepted beats only), kept when its
  ``peak_fraction`` is at least :data:`MIN_PEAK_FRACTION` (a visible rhythm);
* the two rates agree within :data:`RATE_TOLERANCE_BPM`;
* and the two rhythms are phase-locked: both heart rates band-passed around the mean of the two
  rates (± :data:`BAND_HALF_WIDTH_HZ`), their phase difference (analytic signal) is steady over
  the span: phase-locking value |mean(exp(i dphi))| >= :data:`MIN_LOCKING`.

Each point meeting all three marks ± step / 2 around it; a window overlapping such a span
carries ``shared breathing rhythm``. Live (:func:`shared_breathing_job`, on the engine's worker) the
points come a few at a time as beats arrive, each SPAN_S / 2 after its time. Caveats: RR-only RSA counts any slow swing as a breath
(Mayer waves near 0.1 Hz, posture); weak RSA (activation, age) hides breathing, so a shared
rhythm can go unflagged; rates closer than about one breath per minute cannot be told apart on
64 s. Thread: any (pure).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from somafeedback.hrv.rsa import breathing_rate

from .beats import Beats, heart_rate_over
from .confounds import Span
from .settings import SynchronySettings

SPAN_S: Final = 64.0  # s of beats each breathing estimate reads (as the live breathing rate, metrics.md §6)
MIN_PEAK_FRACTION: Final = 0.5  # a person's RSA peak holds at least this share of the band's power
RATE_TOLERANCE_BPM: Final = 1.0  # breaths/min the two rates may differ by
BAND_HALF_WIDTH_HZ: Final = 0.03  # the band-pass around the common breathing frequency, ± Hz
MIN_LOCKING: Final = 0.8  # phase-locking value of the two breath-band heart rates (0: none, 1: steady)


@dataclass(frozen=True, slots=True)
class BreathingPair:
    """Both people's breathing around ``at_s``: rates (breaths/min, NaN: no visible rhythm) and phase locking."""

    at_s: float
    rate_a_bpm: float
    rate_b_bpm: float
    locking: float | None  # None: the rates disagree or a rhythm is missing (not computed)

    @property
    def shared(self) -> bool:
        return self.locking is not None and self.locking >= MIN_LOCKING


def _rate(beats: Beats, start_s: float, end_s: float) -> float:
    """Breathing rate (breaths/min) from the RSA peak of the accepted beats in [start, end]; NaN when unclear."""
    t = beats.t_s
    part = slice(t.searchsorted(start_s), t.searchsorted(end_s, side="right"))
    keep = ~beats.flagged[part]
    tk, rrk = t[part][keep], beats.rr_ms[part][keep]
    if len(tk) < 8 or tk[-1] - tk[0] < 0.9 * (end_s - start_s):
        return math.nan
    try:
        estimate = breathing_rate(tk, rrk)
    except ValueError:  # too few beats or too short a span
        return math.nan
    return estimate.rate_bpm if estimate.peak_fraction >= MIN_PEAK_FRACTION else math.nan


def _band_phase(x: np.ndarray, fs_hz: float, centre_hz: float) -> np.ndarray:
    """Phase (rad) of ``x`` band-passed to centre ± BAND_HALF_WIDTH_HZ (FFT mask, analytic signal)."""
    spectrum = np.fft.fft(x - x.mean())
    freqs = np.fft.fftfreq(len(x), 1.0 / fs_hz)
    keep = (freqs >= centre_hz - BAND_HALF_WIDTH_HZ) & (freqs <= centre_hz + BAND_HALF_WIDTH_HZ)
    return np.angle(np.fft.ifft(np.where(keep, 2.0 * spectrum, 0.0)))


def breathing_pair(a: Beats, b: Beats, at_s: float, settings: SynchronySettings) -> BreathingPair:
    """Both people's breathing over :data:`SPAN_S` centred on ``at_s``."""
    start, end = at_s - SPAN_S / 2, at_s + SPAN_S / 2
    rate_a, rate_b = _rate(a, start, end), _rate(b, start, end)
    if not abs(rate_a - rate_b) <= RATE_TOLERANCE_BPM:  # NaN compares False: no shared rhythm known
        return BreathingPair(at_s, rate_a, rate_b, None)
    n = int(round(SPAN_S * settings.fs_hz))
    hr_a = heart_rate_over(a, start, n, settings.fs_hz, settings.margin_s, settings.max_bridge_s).hr_bpm
    hr_b = heart_rate_over(b, start, n, settings.fs_hz, settings.margin_s, settings.max_bridge_s).hr_bpm
    if hr_a is None or hr_b is None:
        return BreathingPair(at_s, rate_a, rate_b, None)
    centre_hz = (rate_a + rate_b) / 120.0
    dphi = _band_phase(hr_a, settings.fs_hz, centre_hz) - _band_phase(hr_b, settings.fs_hz, centre_hz)
    edge = n // 8  # the band-pass rings at the span's ends: judge the middle
    return BreathingPair(at_s, rate_a, rate_b, float(abs(np.exp(1j * dphi[edge:n - edge]).mean())))


def shared_breathing_spans(a: Beats, b: Beats, start_s: float, end_s: float,
                           settings: SynchronySettings) -> tuple[Span, ...]:
    """Spans (s) within [start_s, end_s] where both people breathed in one rhythm (merged)."""
    spans: list[Span] = []
    half = settings.step_s / 2
    for at in points_s(start_s, end_s, settings):
        if not breathing_pair(a, b, float(at), settings).shared:
            continue
        lo, hi = float(at) - half, float(at) + half
        if spans and spans[-1][1] >= lo:
            spans[-1] = (spans[-1][0], hi)
        else:
            spans.append((lo, hi))
    return tuple(spans)


def points_s(start_s: float, end_s: float, settings: SynchronySettings) -> np.ndarray:
    """The times (s) a breathing pair is read at: every ``settings.step_s`` from ``start_s`` to ``end_s``."""
    return np.arange(start_s, end_s + 1e-9, settings.step_s)


BeatArrays = tuple[np.ndarray, np.ndarray, np.ndarray]  # beat times (s), RR (ms), flagged: plain, picklable


def shared_breathing_job(a: BeatArrays, b: BeatArrays, start_s: float, end_s: float,
                         settings: SynchronySettings) -> tuple[Span, ...]:
    """:func:`shared_breathing_spans` of plain arrays (what the live stage hands its worker; thread: any)."""
    return shared_breathing_spans(Beats(*a), Beats(*b), start_s, end_s, settings)
