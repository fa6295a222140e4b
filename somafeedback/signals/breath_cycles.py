"""Breath cycles in a breathing trace: the template breath, the zig-zag detector, breaths with their swing and shape.

Array functions on a breathing trace already filtered to the breathing band (the chest
accelerometer's in :mod:`.chest_motion`; the template breath also serves the ECG-derived
respiration in :mod:`.ecg_respiration`). A breath runs from one start of inhale (a trough)
to the next; it never spans a movement or a gap (a change of segment). Units: times in s,
the trace in its own unit (mG for the accelerometer).

Thread: any (pure).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

__all__ = ["Breaths", "breath_shape", "centred_average", "find_breaths", "moving_average_gain", "zigzag"]

TEMPLATE_INHALE_SHARE: Final = 0.4  # share of a breath spent breathing in, in the template breath (40:60)


def breath_shape(n: int = 256, inhale_share: float = TEMPLATE_INHALE_SHARE) -> np.ndarray:
    """Lung volume 0..1 at ``n`` even steps of one breath from the start of inhale (half-cosines in and out)."""
    fraction = np.arange(n) / n
    return np.where(
        fraction < inhale_share,
        (1.0 - np.cos(np.pi * fraction / inhale_share)) / 2.0,
        (1.0 + np.cos(np.pi * (fraction - inhale_share) / (1.0 - inhale_share))) / 2.0,
    )


TEMPLATE: Final = breath_shape()  # lung volume 0..1 over one template breath
TEMPLATE_SPECTRUM: Final = np.fft.rfft(TEMPLATE)


def zigzag(y: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Confirmed (minima, maxima) indices of ``y``: alternating extrema with swings above ``threshold``.

    An extremum is confirmed once ``y`` has moved ``threshold`` away from it; the newest,
    unconfirmed one is not returned. Only turning points are visited, so the Python loop
    runs a few times per breath.
    """
    if len(y) < 3:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    d = np.sign(np.diff(y))
    points = np.concatenate(([0], np.flatnonzero(d[1:] != d[:-1]) + 1, [len(y) - 1])).tolist()
    values = y[points].tolist()
    minima: list[int] = []
    maxima: list[int] = []
    lo = hi = 0  # positions in points of the running minimum and maximum
    direction = 0  # +1 rising (looking for a maximum), -1 falling, 0 not decided
    for k in range(1, len(points)):
        v = values[k]
        if direction >= 0 and v > values[hi]:
            hi = k
        if direction <= 0 and v < values[lo]:
            lo = k
        if direction >= 0 and v < values[hi] - threshold:
            if direction == 1 or hi > lo:
                maxima.append(points[hi])
            direction, lo = -1, k
        elif direction <= 0 and v > values[lo] + threshold:
            if direction == -1 or lo > hi:
                minima.append(points[lo])
            direction, hi = 1, k
    return np.asarray(minima, dtype=np.intp), np.asarray(maxima, dtype=np.intp)


@dataclass(frozen=True, slots=True)
class Breaths:
    """Complete breaths (start of inhale to the next start of inhale), oldest first."""

    start_t: np.ndarray  # s
    end_t: np.ndarray  # s
    swing_mg: np.ndarray  # peak minus the mean of the two troughs, mG (before gain correction)
    shape: np.ndarray  # log(fall / rise time), 25-75 % of the swing: > 0 when inhale is faster (0 if not asked)
    last_start_t: float  # newest confirmed start of inhale in the newest segment (nan if none), s


def moving_average_gain(width: int, f_over_fs: float) -> float:
    """Gain of a ``width``-sample moving average at frequency ``f_over_fs`` (cycles per sample)."""
    if width == 1 or f_over_fs <= 0.0:
        return 1.0
    return abs(math.sin(math.pi * f_over_fs * width) / (width * math.sin(math.pi * f_over_fs)))


def centred_average(y: np.ndarray, width: int) -> np.ndarray:
    """Moving average of odd ``width`` centred on each sample, narrowing at both ends (no padding)."""
    n = len(y)
    if width == 1 or n == 0:
        return y
    c = np.concatenate(([0.0], np.cumsum(y)))
    i = np.arange(n)
    lo = np.maximum(i - width // 2, 0)
    hi = np.minimum(i + width // 2 + 1, n)
    return (c[hi] - c[lo]) / (hi - lo)


def find_breaths(t: np.ndarray, y: np.ndarray, seg: np.ndarray, still: np.ndarray, threshold: float,
                  width: int, shape_after_t: float) -> Breaths:
    """Breaths within each segment of still samples (a breath never spans a movement or a gap).

    Each segment is smoothed by a centred ``width``-sample moving average first. The shape
    is measured only for the breaths ending after ``shape_after_t``.
    """
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    swings: list[np.ndarray] = []
    shapes: list[np.ndarray] = []
    last_start = math.nan
    bounds = np.flatnonzero(np.diff(seg)) + 1
    for lo, hi in zip([0, *bounds.tolist()], [*bounds.tolist(), len(seg)], strict=True):
        last_start = math.nan  # kept from the newest segment only
        idx = lo + np.flatnonzero(still[lo:hi])
        ys = centred_average(y[idx], width)
        minima, maxima = zigzag(ys, threshold)
        if len(minima):
            last_start = float(t[idx[minima[-1]]])
        if len(minima) < 2 or len(maxima) == 0:
            continue
        # zig-zag extrema alternate: the first maximum after each minimum lies before the next one
        after = np.searchsorted(maxima, minima[:-1])
        ok = after < len(maxima)
        first, second = minima[:-1][ok], minima[1:][ok]
        top = maxima[after[ok]]
        starts.append(t[idx[first]])
        ends.append(t[idx[second]])
        swings.append(ys[top] - 0.5 * (ys[first] + ys[second]))
        ts = t[idx]
        shapes.append(np.array([
            _shape(ts, ys, a, p, b) if ts[b] > shape_after_t else 0.0
            for a, p, b in zip(first.tolist(), top.tolist(), second.tolist(), strict=True)
        ]))
    if not starts:
        return Breaths(np.empty(0), np.empty(0), np.empty(0), np.empty(0), last_start)
    cat = np.concatenate
    return Breaths(cat(starts), cat(ends), cat(swings), cat(shapes), last_start)


def _crossing(t: np.ndarray, y: np.ndarray, lo: int, hi: int, level: float) -> float:
    """Interpolated time where y, monotonic enough on [lo, hi], first passes ``level`` (either way)."""
    part = y[lo: hi + 1]
    beyond = part >= level if part[-1] >= part[0] else part <= level
    j = int(np.argmax(beyond))
    if j == 0:
        return float(t[lo])
    y0, y1 = part[j - 1], part[j]
    return float(t[lo + j - 1] + (t[lo + j] - t[lo + j - 1]) * (level - y0) / (y1 - y0))


def _shape(t: np.ndarray, y: np.ndarray, trough: int, peak: int, next_trough: int) -> float:
    """log(fall time / rise time) of one breath, each timed from 25 % to 75 % of its own swing."""
    up, down = y[peak] - y[trough], y[peak] - y[next_trough]
    rise = _crossing(t, y, trough, peak, y[trough] + 0.75 * up) - _crossing(t, y, trough, peak, y[trough] + 0.25 * up)
    fall = (_crossing(t, y, peak, next_trough, y[next_trough] + 0.25 * down)
            - _crossing(t, y, peak, next_trough, y[next_trough] + 0.75 * down))
    return math.log(fall / rise) if rise > 0.0 and fall > 0.0 else 0.0
