"""The tachogram steps every spectral measure shares: checked beats, spline resampling, the periodogram.

Input of every function: one window of ACCEPTED beats, ``t_s`` (beat times in s, the
cumulative RR sum, strictly increasing) and ``rr_ms`` (the RR interval ending at each beat, ms).
Rejected beats are simply absent: the interpolating spline bridges them (research/hrv.md
section 6). :func:`resample_tachogram` is the public step (4 Hz cubic by default, as Kubios:
Tarvainen et al. 2014, Comput Methods Programs Biomed 113:210); the others serve
:mod:`.spectral` (band powers, coherence) and :mod:`.rsa` (breathing rate, RSA swing).

Units: times in s, frequencies in Hz, RR in ms, PSD in ms^2/Hz. scipy.linalg is never imported
(the spline's LAPACK solve comes from :mod:`somafeedback.scipy_extensions`); scipy.signal (0.6 s)
only for a taper other than boxcar, Hann or Hamming (:func:`taper` computes those three as scipy does).

Speed: the live pipeline runs these steps about 2000 times an hour on 70-1200-sample
series, where the per-call cost of scipy's public wrappers (input checks, class set-up)
exceeded the arithmetic. So the cubic spline (:func:`cubic_spline`) and Welch's PSD
(:func:`welch`) are written out here with the same arithmetic as scipy's, tapers and
frequency grids are cached per length, and a few numpy wrappers are replaced by the
array methods doing the same work. tests/test_spectral.py compares each with the
library routine on real beats.

Thread: any (pure).
"""

from __future__ import annotations

import functools
import math
from typing import Final

import numpy as np


def scipy_signal():
    """scipy.signal, imported on first use: its import costs about a second, kept off start-up."""
    import scipy.signal

    return scipy.signal


INTERPOLATIONS: Final = ("cubic", "quadratic", "linear")
MIN_BEATS: Final = {"linear": 2, "quadratic": 3, "cubic": 4}  # points a spline of that degree needs
COSINE_WINDOW_ALPHA: Final = {"hann": 0.5, "hamming": 0.54}  # scipy's general_hamming alpha of each taper
GRID_EPS: Final = 1e-9  # tolerance (in samples) when flooring a duration onto the sample grid


def checked_beats(t_s: np.ndarray, rr_ms: np.ndarray, what: str, min_beats: int) -> tuple[np.ndarray, np.ndarray]:
    """Validated float64 copies of the beat arrays (ValueError with a clear message)."""
    t = np.asarray(t_s, dtype=np.float64)
    rr = np.asarray(rr_ms, dtype=np.float64)
    if t.ndim != 1 or rr.ndim != 1 or t.shape != rr.shape:
        raise ValueError(f"{what}: t_s and rr_ms must be 1-D arrays of equal length (got shapes {t.shape} and {rr.shape})")
    if len(t) < min_beats:
        raise ValueError(f"{what} needs at least {min_beats} accepted beats, got {len(t)}")
    # (array methods rather than np.all / np.any / np.diff: these run a few times per beat)
    if not (np.isfinite(t).all() and np.isfinite(rr).all()):
        raise ValueError(f"{what}: t_s and rr_ms must be finite (remove rejected beats instead of passing NaN)")
    if (rr <= 0.0).any():
        raise ValueError(f"{what}: rr_ms must be positive")
    if (t[1:] <= t[:-1]).any():  # for finite t the same as diff(t) <= 0
        raise ValueError(f"{what}: t_s must be strictly increasing")
    return t, rr


def need_span(t: np.ndarray, need_s: float, what: str, why: str) -> float:
    span = float(t[-1] - t[0])
    if span < need_s:
        raise ValueError(f"{what} needs at least {need_s:.1f} s of beats ({why}); got {span:.1f} s")
    return span


def interpolant(t: np.ndarray, rr: np.ndarray, interpolation: str):
    """Callable RR(t) through every beat (first beat to last beat; no extrapolation used)."""
    if interpolation == "cubic":
        return lambda x: cubic_spline(t, rr, x)  # scipy CubicSpline, not-a-knot (see there)
    from scipy.interpolate import make_interp_spline  # imported on first use, like scipy.signal

    if interpolation == "quadratic":
        return make_interp_spline(t, rr, k=2)  # as scipy interp1d(kind="quadratic") / neurokit2
    if interpolation == "linear":
        return lambda x: np.interp(x, t, rr)
    raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, not {interpolation!r}")


def cubic_spline(t: np.ndarray, rr: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The not-a-knot cubic spline through (t, rr) at the sorted points ``x``; needs 4 or more beats.

    Exactly ``scipy.interpolate.CubicSpline(t, rr)(x)``, the same arithmetic step by step:
    the tridiagonal system for the slopes at the beats solved by the same LAPACK routine
    (``gtsv``, which ``solve_banded`` calls), the same polynomial coefficients
    (``CubicHermiteSpline``) and the same power-sum evaluation as ``PPoly``
    (c3 + c2 s + c1 s^2 + c0 s^3), so the values agree to the last bit or within round-off.
    Why by hand: the live pipeline builds about 2000 splines an hour on 70-340 beats, where
    CubicSpline's input checks and class set-up made it about three times slower.
    ``t`` strictly increasing (checked by the callers, :func:`checked_beats`); points
    outside [t[0], t[-1]] (grid round-off only) use the end polynomials, as CubicSpline.
    """
    dx = t[1:] - t[:-1]  # np.diff's own arithmetic, without its wrapper
    slope = (rr[1:] - rr[:-1]) / dx
    n = len(t)
    # the banded system of CubicSpline.__init__, row by row: sub-, main and super-diagonal
    lower = np.empty(n - 1)
    diagonal = np.empty(n)
    upper = np.empty(n - 1)
    b = np.empty(n)
    diagonal[1:-1] = 2 * (dx[:-1] + dx[1:])
    upper[1:] = dx[:-1]
    lower[:-1] = dx[1:]
    b[1:-1] = 3 * (dx[1:] * slope[:-1] + dx[:-1] * slope[1:])
    # not-a-knot at both ends (plain floats: the same double arithmetic, less per-operation cost)
    dx0, dx1, dx_2, dx_1 = dx[0].item(), dx[1].item(), dx[-2].item(), dx[-1].item()
    slope0, slope1, slope_2, slope_1 = slope[0].item(), slope[1].item(), slope[-2].item(), slope[-1].item()
    d_start = t[2].item() - t[0].item()
    diagonal[0] = dx1
    upper[0] = d_start
    b[0] = ((dx0 + 2 * d_start) * dx1 * slope0 + dx0 * dx0 * slope1) / d_start
    d_end = t[-1].item() - t[-3].item()
    diagonal[-1] = dx_2
    lower[-1] = d_end
    b[-1] = (dx_1 * dx_1 * slope_2 + (2 * d_end + dx_1) * dx_2 * slope_1) / d_end
    _, _, _, s, info = _gtsv()(lower, diagonal, upper, b, 1, 1, 1, 1)
    if info > 0:  # as scipy's solve_banded (never with strictly increasing, finite beat times)
        raise np.linalg.LinAlgError("singular matrix")
    if info < 0:
        raise ValueError(f"illegal value in {-info}-th argument of internal gtsv")
    # CubicHermiteSpline's coefficients, per interval: c0 s^3 + c1 s^2 + c2 s + c3
    trend = (s[:-1] + s[1:] - 2 * slope) / dx
    c0 = trend / dx
    c1 = (slope - s[:-1]) / dx - trend
    # PPoly's interval of each point, clipped to the first and last interval (the last
    # breakpoint belongs to the last one): the number of inner breakpoints at or before it
    i = t[1:-1].searchsorted(x, side="right")
    h = x - t[i]
    h2 = h * h
    return rr[i] + s[i] * h + c1[i] * h2 + c0[i] * (h2 * h)


@functools.cache
def _gtsv():
    """LAPACK dgtsv (tridiagonal solve) from scipy's compiled ``_flapack``, loaded on first use without
    ``scipy.linalg`` (0.3 s to import; :func:`~somafeedback.scipy_extensions.extension`)."""
    from somafeedback.scipy_extensions import extension

    return extension("_flapack", "linalg").dgtsv


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
    its neighbours. ``interpolation`` is "cubic" (``scipy.interpolate.CubicSpline``'s
    not-a-knot spline, computed by :func:`cubic_spline`), "quadratic" (``make_interp_spline(k=2)``, neurokit2's default) or
    "linear". Needs 4 / 3 / 2 beats respectively.

    Thread: any (pure).
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, not {interpolation!r}")
    if not (math.isfinite(fs) and fs > 0):
        raise ValueError(f"fs must be a positive number of Hz, not {fs!r}")
    t, rr = checked_beats(t_s, rr_ms, "resample_tachogram", MIN_BEATS[interpolation])
    return resample_checked(t, rr, fs, interpolation)


def resample_checked(t: np.ndarray, rr: np.ndarray, fs: float, interpolation: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`resample_tachogram` of beats that :func:`checked_beats` has already passed."""
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
    a, b = max(first, 1), min(last, len(psd) - 2) + 1  # candidate bins a..b-1 (slices, not index arrays)
    middle = psd[a:b]
    local = np.flatnonzero((middle >= psd[a - 1:b - 1]) & (middle > psd[a + 1:b + 1])) + a
    if len(local) == 0:
        return first + int(np.argmax(psd[first:last + 1]))
    return int(local[np.argmax(psd[local])])


def detrend_linear(x: np.ndarray) -> np.ndarray:
    """x minus its least-squares straight line (removes the mean and a linear drift)."""
    k, kk = _centred_ramp(len(x))
    return x - x.mean() - k * (np.dot(k, x) / kk)


@functools.lru_cache(maxsize=64)
def _centred_ramp(n: int) -> tuple[np.ndarray, float]:
    """(k, k . k) for k = 0..n-1 minus its mean: the regressor of :func:`detrend_linear`, cached (read-only)."""
    k = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
    k.flags.writeable = False
    return k, float(np.dot(k, k))


def periodogram(x: np.ndarray, fs: float, window: np.ndarray, nfft: int) -> tuple[np.ndarray, np.ndarray]:
    """One-sided PSD (ms^2/Hz) of a tapered, zero-padded segment; sum(P) * fs / nfft = power."""
    spectrum = np.fft.rfft(x * window, n=nfft)
    psd = (spectrum.real**2 + spectrum.imag**2) / (fs * np.dot(window, window))
    psd[1:] *= 2.0
    if nfft % 2 == 0:
        psd[-1] /= 2.0  # the Nyquist bin is not mirrored
    return _frequencies(nfft, fs).copy(), psd


@functools.lru_cache(maxsize=64)
def taper(name: str, n: int) -> np.ndarray:
    """``scipy.signal.get_window(name, n)`` (periodic, as Welch uses it), cached per name and length.

    Read-only: shared by every caller. A boxcar, Hann or Hamming taper needs no scipy.signal
    (half a second to import): the last two are scipy's generalised cosine sum, step by step.
    """
    if name == "boxcar":
        window = np.ones(n)
    elif name in COSINE_WINDOW_ALPHA and n > 1:
        window = _periodic_cosine_window(COSINE_WINDOW_ALPHA[name], n)
    elif name in COSINE_WINDOW_ALPHA and n == 1:
        window = np.ones(1)  # as scipy's, for a single point
    else:
        window = np.asarray(scipy_signal().get_window(name, n), dtype=np.float64)
    window.flags.writeable = False
    return window


def _periodic_cosine_window(alpha: float, n: int) -> np.ndarray:
    """scipy.signal.windows' ``general_hamming(n, alpha, sym=False)``, step by step: the symmetric
    n + 1 point window alpha + (1 - alpha) cos, its last point dropped (tests/test_spectral.py)."""
    fac = np.linspace(-np.pi, np.pi, n + 1, dtype=np.float64)
    window = np.zeros(n + 1, dtype=np.float64)
    for k, a in enumerate((alpha, 1.0 - alpha)):
        window += a * np.cos(k * fac)
    return window[:-1]


@functools.lru_cache(maxsize=64)
def symmetric_hann(n: int) -> np.ndarray:
    """``np.hanning(n)`` (the symmetric Hann taper), cached per length; read-only."""
    window = np.hanning(n)
    window.flags.writeable = False
    return window


@functools.lru_cache(maxsize=64)
def _frequencies(nfft: int, fs: float) -> np.ndarray:
    """``np.fft.rfftfreq(nfft, 1 / fs)``, Hz, cached (read-only: callers get a copy)."""
    freqs = np.fft.rfftfreq(nfft, 1.0 / fs)
    freqs.flags.writeable = False
    return freqs


def welch(x: np.ndarray, fs: float, window: np.ndarray, noverlap: int, nfft: int) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD (ms^2/Hz, one-sided, density scaling, segment mean, no detrending).

    What ``scipy.signal.welch(x, fs, window, nperseg=len(window), noverlap, nfft,
    detrend=False)`` returns, to round-off, for ``x`` holding a whole number of steps
    (``(len(x) - nperseg) % (nperseg - noverlap) == 0``; :func:`~.spectral.power_spectrum`
    trims it so): the segments start at 0, step, 2 step, ... Computed here with numpy's
    rfft because the scipy wrapper's argument handling cost more than the FFT itself on
    these short series.
    """
    nperseg = len(window)
    if len(x) == nperseg:  # one segment (windows up to 1.5 segments long): no segment view to build
        spectrum = np.fft.rfft(x * window, n=nfft)
        power = spectrum.real**2 + spectrum.imag**2
    else:
        segments = np.lib.stride_tricks.sliding_window_view(x, nperseg)[::nperseg - noverlap]
        spectra = np.fft.rfft(segments * window, n=nfft, axis=-1)
        power = (spectra.real**2 + spectra.imag**2).mean(axis=0)
    psd = power / (fs * np.dot(window, window))
    psd[1:] *= 2.0
    if nfft % 2 == 0:
        psd[-1] /= 2.0  # the Nyquist bin is not mirrored
    return _frequencies(nfft, fs).copy(), psd


def integrate(freqs: np.ndarray, psd: np.ndarray, low: float, high: float) -> float:
    """Integral of the PSD over [low, high] (ms^2), the PSD read as linear between bins.

    Exact trapezoid on the bins strictly inside the band plus the two band edges, whose
    PSD values are linearly interpolated from the neighbouring bins; ``freqs`` is
    increasing and must cover [low, high].
    """
    first = int(freqs.searchsorted(low, side="right"))  # the bins with low < f < high: [first, end)
    end = max(first, int(freqs.searchsorted(high, side="left")))
    x = np.empty(end - first + 2)
    y = np.empty(end - first + 2)
    x[0], x[-1] = low, high
    x[1:-1] = freqs[first:end]
    y[0], y[-1] = np.interp((low, high), freqs, psd)
    y[1:-1] = psd[first:end]
    return trapezoid(y, x)


def trapezoid(y: np.ndarray, x: np.ndarray) -> float:
    """``float(np.trapezoid(y, x))`` for 1-D arrays: the same arithmetic without its wrapper (a few us a call)."""
    return float(np.add.reduce((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))
