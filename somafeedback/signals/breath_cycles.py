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
    d = np.sign(y[1:] - y[:-1])  # np.diff(y)
    turns = (d[1:] != d[:-1]).nonzero()[0] + 1
    points = [0, *turns.tolist(), len(y) - 1]  # the ends and every turning point
    values = [y.item(0), *y[turns].tolist(), y.item(-1)]
    minima: list[int] = []
    maxima: list[int] = []
    lo = hi = 0  # positions in points of the running minimum and maximum
    lo_v = hi_v = values[0]  # their values
    direction = 0  # +1 rising (looking for a maximum), -1 falling, 0 not decided
    for k in range(1, len(points)):
        v = values[k]
        if direction >= 0 and v > hi_v:
            hi, hi_v = k, v
        if direction <= 0 and v < lo_v:
            lo, lo_v = k, v
        if direction >= 0 and v < hi_v - threshold:
            if direction == 1 or hi > lo:
                maxima.append(points[hi])
            direction, lo, lo_v = -1, k, v
        elif direction <= 0 and v > lo_v + threshold:
            if direction == -1 or lo > hi:
                minima.append(points[lo])
            direction, hi, hi_v = 1, k, v
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
    c = np.empty(n + 1)  # c[k] = sum of y[:k], added in order (np.cumsum)
    c[0] = 0.0
    np.add.accumulate(y, out=c[1:])
    half = width // 2
    if n <= 2 * half:  # shorter than the average: every sample is near an end
        i = np.arange(n)
        lo = np.maximum(i - half, 0)
        hi = np.minimum(i + half + 1, n)
        return (c[hi] - c[lo]) / (hi - lo)
    # the same sums (c[hi] - c[lo]) / (hi - lo) as above, by slices: the full width in the middle,
    # and at each end the half + 1 ... 2 half samples there are (c[0] is 0: c[hi] - c[0] is c[hi])
    out = np.empty(n)
    middle = out[half: n - half]
    np.subtract(c[width:], c[: n + 1 - width], out=middle)
    np.divide(middle, width, out=middle)
    counts = np.arange(half + 1, width, dtype=np.float64)  # half + 1 ... 2 half
    out[:half] = c[half + 1: width] / counts
    out[n - half:] = (c[n] - c[n - 2 * half: n - half]) / counts[::-1]
    return out


def find_breaths(t: np.ndarray, y: np.ndarray, seg: np.ndarray, still: np.ndarray, threshold: float,
                  width: int, shape_after_t: float) -> Breaths:
    """Breaths within each segment of still samples (a breath never spans a movement or a gap).

    ``seg`` is each sample's segment number (never decreasing), ``still`` whether it is kept.
    Each segment is smoothed by a centred ``width``-sample moving average first. The shape
    is measured only for the breaths ending after ``shape_after_t``.
    """
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    swings: list[np.ndarray] = []
    shapes: list[np.ndarray] = []
    last_start = math.nan
    # segment numbers never decrease: one segment when the first and the last are equal
    bounds = np.flatnonzero(np.diff(seg)) + 1 if len(seg) and seg[0] != seg[-1] else np.empty(0, dtype=np.intp)
    for lo, hi in zip([0, *bounds.tolist()], [*bounds.tolist(), len(seg)], strict=True):
        last_start = math.nan  # kept from the newest segment only
        keep = still[lo:hi]
        if keep.all():  # no movement inside: views, not copies (the same values)
            ts, ys = t[lo:hi], centred_average(y[lo:hi], width)
        else:
            ts, ys = t[lo:hi][keep], centred_average(y[lo:hi][keep], width)
        minima, maxima = zigzag(ys, threshold)
        if len(minima):
            last_start = float(ts[minima[-1]])
        if len(minima) < 2 or len(maxima) == 0:
            continue
        # zig-zag extrema alternate: the first maximum after each minimum lies before the next one
        after = maxima.searchsorted(minima[:-1])
        ok = after < len(maxima)
        first, second = minima[:-1][ok], minima[1:][ok]
        top = maxima[after[ok]]
        end_t = ts[second]
        starts.append(ts[first])
        ends.append(end_t)
        swings.append(ys[top] - 0.5 * (ys[first] + ys[second]))
        shape = np.zeros(len(first))  # measured only for the breaths ending after shape_after_t
        for k in (end_t > shape_after_t).nonzero()[0].tolist():
            shape[k] = _shape(ts, ys, int(first[k]), int(top[k]), int(second[k]))
        shapes.append(shape)
    if not starts:
        return Breaths(np.empty(0), np.empty(0), np.empty(0), np.empty(0), last_start)
    if len(starts) == 1:  # one segment (the usual case): its arrays are already fresh ones
        return Breaths(starts[0], ends[0], swings[0], shapes[0], last_start)
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
