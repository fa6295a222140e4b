"""The tachogram steps every spectral measure shares: checked beats, spline resampling, the periodogram.

Input of every function: one window of ACCEPTED beats, ``t_s`` (beat times in s, the
cumulative RR sum, strictly increasing) and ``rr_ms`` (the RR interval ending at each beat, ms).
Rejected beats are simply absent: the interpolating spline bridges them (research/hrv.md
section 6). :func:`resample_tachogram` is the public step (4 Hz cubic by default, as Kubios:
Tarvainen et al. 2014, Comput Methods Programs Biomed 113:210); the others serve
:mod:`.spectral` (band powers, coherence) and :mod:`.rsa` (breathing rate, RSA swing).

Units: times in s, frequencies in Hz, RR in ms, PSD in ms^2/Hz. scipy.signal (about a second
to import) is imported on first use.

Thread: any (pure).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np


def scipy_signal():
    """scipy.signal, imported on first use: its import costs about a second, kept off start-up."""
    import scipy.signal

    return scipy.signal


INTERPOLATIONS: Final = ("cubic", "quadratic", "linear")
MIN_BEATS: Final = {"linear": 2, "quadratic": 3, "cubic": 4}  # points a spline of that degree needs
GRID_EPS: Final = 1e-9  # tolerance (in samples) when flooring a duration onto the sample grid


def checked_beats(t_s: np.ndarray, rr_ms: np.ndarray, what: str, min_beats: int) -> tuple[np.ndarray, np.ndarray]:
    """Validated float64 copies of the beat arrays (ValueError with a clear message)."""
    t = np.asarray(t_s, dtype=np.float64)
    rr = np.asarray(rr_ms, dtype=np.float64)
    if t.ndim != 1 or rr.ndim != 1 or t.shape != rr.shape:
        raise ValueError(f"{what}: t_s and rr_ms must be 1-D arrays of equal length (got shapes {t.shape} and {rr.shape})")
    if len(t) < min_beats:
        raise ValueError(f"{what} needs at least {min_beats} accepted beats, got {len(t)}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(rr))):
        raise ValueError(f"{what}: t_s and rr_ms must be finite (remove rejected beats instead of passing NaN)")
    if np.any(rr <= 0.0):
        raise ValueError(f"{what}: rr_ms must be positive")
    if np.any(np.diff(t) <= 0.0):
        raise ValueError(f"{what}: t_s must be strictly increasing")
    return t, rr


def need_span(t: np.ndarray, need_s: float, what: str, why: str) -> float:
    span = float(t[-1] - t[0])
    if span < need_s:
        raise ValueError(f"{what} needs at least {need_s:.1f} s of beats ({why}); got {span:.1f} s")
    return span


def interpolant(t: np.ndarray, rr: np.ndarray, interpolation: str):
    """Callable RR(t) through every beat (first beat to last beat; no extrapolation used)."""
    from scipy.interpolate import CubicSpline, make_interp_spline  # imported on first use, like scipy.signal

    if interpolation == "cubic":
        return CubicSpline(t, rr)  # not-a-knot end conditions
    if interpolation == "quadratic":
        return make_interp_spline(t, rr, k=2)  # as scipy interp1d(kind="quadratic") / neurokit2
    if interpolation == "linear":
        return lambda x: np.interp(x, t, rr)
    raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, not {interpolation!r}")


def grid_count(span_s: float, fs: float) -> int:
    """Samples of a grid with spacing 1/fs from one end of ``span_s`` without passing the other."""
    return int(math.floor(span_s * fs + GRID_EPS)) + 1


def resample_tachogram(
    t_s: np.ndarray, rr_ms: np.ndarray, fs: float = 4.0, interpolation: str = "cubic"
) -> tuple[np.ndarray, np.ndarray]:
    """Evenly resample the tachogram: returns (times in s, RR in ms).

    The grid is ``t_s[0] + k / fs`` for k = 0, 1, ... up to the last beat (inclusive when it
    falls on the grid), so every sample lies between two beats: nothing is extrapolated.
    The spline passes through every beat; a removed (rejected) beat is bridged smoothly by
    its neighbours. ``interpolation`` is "cubic" (``scipy.interpolate.CubicSpline``,
    not-a-knot), "quadratic" (``make_interp_spline(k=2)``, neurokit2's default) or
    "linear". Needs 4 / 3 / 2 beats respectively.

    Thread: any (pure).
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, not {interpolation!r}")
    if not (math.isfinite(fs) and fs > 0):
        raise ValueError(f"fs must be a positive number of Hz, not {fs!r}")
    t, rr = checked_beats(t_s, rr_ms, "resample_tachogram", MIN_BEATS[interpolation])
    n = grid_count(float(t[-1] - t[0]), fs)
    grid = t[0] + np.arange(n) / fs
    return grid, np.asarray(interpolant(t, rr, interpolation)(grid), dtype=np.float64)


def resample_last(t: np.ndarray, rr: np.ndarray, fs: float, window_s: float, interpolation: str) -> np.ndarray:
    """RR(t) on the grid ``t[-1] - k / fs`` covering the last ``window_s`` s (or all beats)."""
    n = min(int(round(window_s * fs)), grid_count(float(t[-1] - t[0]), fs))
    grid = t[-1] - np.arange(n - 1, -1, -1) / fs
    return np.asarray(interpolant(t, rr, interpolation)(grid), dtype=np.float64)


def is_flat(rr: np.ndarray) -> bool:
    """Every RR identical: no variability, so every ratio below is undefined."""
    return bool(rr.max() == rr.min())


def highest_peak(psd: np.ndarray, first: int, last: int) -> int:
    """Index of the highest local maximum of ``psd`` among bins first..last (inclusive).

    A local maximum is at least as high as its left neighbour and higher than its right one
    (neighbours outside the range count, so a spectrum still rising at the band edge has
    no peak there). Falls back to the highest bin when the range holds no local maximum.
    """
    k = np.arange(max(first, 1), min(last, len(psd) - 2) + 1)
    local = k[(psd[k] >= psd[k - 1]) & (psd[k] > psd[k + 1])]
    if len(local) == 0:
        return first + int(np.argmax(psd[first:last + 1]))
    return int(local[np.argmax(psd[local])])


def detrend_linear(x: np.ndarray) -> np.ndarray:
    """x minus its least-squares straight line (removes the mean and a linear drift)."""
    k = np.arange(len(x), dtype=np.float64) - (len(x) - 1) / 2.0
    return x - x.mean() - k * (np.dot(k, x) / np.dot(k, k))


def periodogram(x: np.ndarray, fs: float, window: np.ndarray, nfft: int) -> tuple[np.ndarray, np.ndarray]:
    """One-sided PSD (ms^2/Hz) of a tapered, zero-padded segment; sum(P) * fs / nfft = power."""
    spectrum = np.fft.rfft(x * window, n=nfft)
    psd = (spectrum.real**2 + spectrum.imag**2) / (fs * np.dot(window, window))
    psd[1:] *= 2.0
    if nfft % 2 == 0:
        psd[-1] /= 2.0  # the Nyquist bin is not mirrored
    return np.fft.rfftfreq(nfft, 1.0 / fs), psd


def integrate(freqs: np.ndarray, psd: np.ndarray, low: float, high: float) -> float:
    """Integral of the PSD over [low, high] (ms^2), the PSD read as linear between bins.

    Exact trapezoid on the bins strictly inside the band plus the two band edges, whose
    PSD values are linearly interpolated from the neighbouring bins; ``freqs`` is
    increasing and must cover [low, high].
    """
    inside = np.flatnonzero((freqs > low) & (freqs < high))
    x = np.empty(len(inside) + 2)
    y = np.empty(len(inside) + 2)
    x[0], x[-1] = low, high
    x[1:-1] = freqs[inside]
    y[0], y[-1] = np.interp((low, high), freqs, psd)
    y[1:-1] = psd[inside]
    return float(np.trapezoid(y, x))
