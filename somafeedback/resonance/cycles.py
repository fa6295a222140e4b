"""Breath cycles of one assessment step, as a running breath count ``u(t)`` (breaths since some
origin: ``floor(u)`` numbers the breath, ``u mod 1`` is the phase in it, 0 = start of inhale).

Three sources, in the order :func:`somafeedback.resonance.criteria.measure_step` prefers them:

* :func:`pacer_cycles`: the pacer's cycles (``Pacer.at(t)``: breath_index + cycle_fraction);
* :func:`breathing_cycles`: the measured breathing's phase (chest motion or ECG), unwrapped with
  the measured rate across gaps; a breath with a gap of more than :data:`BREATH_GAP_S` between two
  estimates inside it is left out (its phase there is unknown);
* :func:`oscillation_cycles`: no pacer, no breathing (a step-free span such as a plain RR
  recording): the heart-rate oscillation itself, band-passed around the LF peak
  (± :data:`OSCILLATION_HALF_BAND_HZ`), its analytic phase 0 at each RR maximum (heart-rate
  minimum); one "breath" = one cycle of that oscillation, from one RR maximum to the next.

Each returns :class:`Cycles`: the breath of every beat time (-1 outside a complete breath) and
how many complete breaths lie inside the span.

Thread: any (pure).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from somafeedback.regulation.pacer import Pacer

BREATH_GAP_S: Final = 5.0  # s: a longer gap between breathing estimates leaves the breaths across it out
OSCILLATION_HALF_BAND_HZ: Final = 0.03  # half-width of the band-pass around the LF peak (step-free spans), Hz
MIN_OSCILLATION_HZ: Final = 0.01  # the band-pass never reaches below this, Hz


@dataclass(frozen=True, slots=True)
class Cycles:
    """``breath_of``: for each beat time given, the number of its complete breath (-1: none);
    ``complete``: the numbers of the complete breaths inside the span (ascending)."""

    breath_of: np.ndarray
    complete: tuple[int, ...]


def _assign(u_at_beats: np.ndarray, complete: tuple[int, ...]) -> Cycles:
    breath = np.full(len(u_at_beats), -1, dtype=np.int64)
    known = np.isfinite(u_at_beats)
    breath[known] = np.floor(u_at_beats[known]).astype(np.int64)
    breath[~np.isin(breath, np.asarray(complete, dtype=np.int64))] = -1
    return Cycles(breath, complete)


def pacer_cycles(pacer: Pacer, t0_s: float, t1_s: float, beat_t_s: np.ndarray) -> Cycles:
    """The pacer's complete breaths inside ``[t0_s, t1_s]`` (breath k starts at or after t0 and ends
    at or before t1) and the breath of each beat time."""

    def count(t: float) -> float:
        state = pacer.at(t)
        return state.breath_index + state.cycle_fraction

    first, last = math.ceil(count(t0_s)), math.floor(count(t1_s)) - 1
    u = np.array([count(float(t)) for t in beat_t_s], dtype=np.float64)
    return _assign(u, tuple(range(first, last + 1)))


def unwrap_phase(t_s: np.ndarray, phase: np.ndarray, rate_bpm: np.ndarray | None) -> np.ndarray:
    """Running breath count from wrapped phases (0..1): each step adds the phase advance plus the
    whole breaths the measured rate says fit between the two estimates (plain unwrapping when the
    rate is unknown, as ``np.unwrap``)."""
    u = np.empty(len(phase))
    if len(phase) == 0:
        return u
    u[0] = phase[0]
    for k in range(1, len(phase)):
        frac = (phase[k] - phase[k - 1]) % 1.0  # advance in [0, 1)
        expected = frac
        if rate_bpm is not None and math.isfinite(rate_bpm[k - 1]) and math.isfinite(rate_bpm[k]):
            expected = (rate_bpm[k - 1] + rate_bpm[k]) / 2.0 * (t_s[k] - t_s[k - 1]) / 60.0
        elif frac > 0.5:
            expected = frac - 1.0  # a small step backwards, not almost a whole breath forwards
        u[k] = u[k - 1] + frac + round(expected - frac)
    return u


def breathing_cycles(t_s: np.ndarray, phase: np.ndarray, rate_bpm: np.ndarray | None,
                     t0_s: float, t1_s: float, beat_t_s: np.ndarray) -> tuple[Cycles, np.ndarray]:
    """The measured breathing's complete breaths in the span, the breath of each beat time, and the
    running breath count at each beat time (nan outside the estimates or inside a gap)."""
    inside = (t_s >= t0_s) & (t_s <= t1_s) & np.isfinite(phase)
    te, pe = t_s[inside], phase[inside]
    re = None if rate_bpm is None else rate_bpm[inside]
    u_at = np.full(len(beat_t_s), np.nan)
    if len(te) < 2:
        return _assign(u_at, ()), u_at
    u = unwrap_phase(te, pe, re)
    complete = set(range(math.ceil(u[0]), math.floor(u[-1])))
    covered = (beat_t_s >= te[0]) & (beat_t_s <= te[-1])
    u_at[covered] = np.interp(beat_t_s[covered], te, u)
    for j in np.flatnonzero(np.diff(te) > BREATH_GAP_S):
        complete -= set(range(math.floor(u[j]), math.floor(u[j + 1]) + 1))
        u_at[(beat_t_s > te[j]) & (beat_t_s < te[j + 1])] = np.nan
    return _assign(u_at, tuple(sorted(complete))), u_at


def oscillation_cycles(grid_t_s: np.ndarray, detrended_rr: np.ndarray, peak_hz: float,
                       beat_t_s: np.ndarray) -> Cycles:
    """Cycles of the RR oscillation at ``peak_hz`` (see the module text) on the evenly resampled,
    detrended tachogram ``detrended_rr`` sampled at ``grid_t_s``."""
    n = len(detrended_rr)
    if n < 4 or not math.isfinite(peak_hz):
        return _assign(np.full(len(beat_t_s), np.nan), ())
    fs = 1.0 / float(grid_t_s[1] - grid_t_s[0])
    freqs = np.fft.fftfreq(n, 1.0 / fs)
    low = max(peak_hz - OSCILLATION_HALF_BAND_HZ, MIN_OSCILLATION_HZ)
    gain = np.where((freqs >= low) & (freqs <= peak_hz + OSCILLATION_HALF_BAND_HZ), 2.0, 0.0)
    analytic = np.fft.ifft(np.fft.fft(detrended_rr) * gain)  # positive band only: x + i H(x)
    u = np.maximum.accumulate(np.unwrap(np.angle(analytic)) / (2.0 * math.pi))  # never runs backwards
    complete = tuple(range(math.ceil(u[0]), math.floor(u[-1])))
    return _assign(np.interp(beat_t_s, grid_t_s, u, left=np.nan, right=np.nan), complete)


def lung_fundamental_rad(inhale_share: float) -> float:
    """Phase (rad) of the fundamental of the lung volume over one breath (0 = start of inhale): a
    cosine-eased rise for ``inhale_share`` of the breath, a cosine-eased fall for the rest (the
    pacer's drawn shape), written as ``cos(2 pi u - phi)``; ``phi / 2 pi`` is where it peaks."""
    u = (np.arange(2000) + 0.5) / 2000.0
    s = inhale_share
    level = np.where(u < s, (1.0 - np.cos(np.pi * u / s)) / 2.0, (1.0 + np.cos(np.pi * (u - s) / (1.0 - s))) / 2.0)
    return math.atan2(float(np.mean(level * np.sin(2 * np.pi * u))), float(np.mean(level * np.cos(2 * np.pi * u))))
