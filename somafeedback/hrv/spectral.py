"""Spectral heart-rate-variability measures from accepted beats (numpy/scipy only).

Every function takes one window of ACCEPTED beats:

* ``t_s``   beat times in seconds (the cumulative RR sum, never BLE arrival times), strictly
  increasing;
* ``rr_ms`` the RR interval ending at each beat, in ms.

Rejected beats are simply absent: the interpolating spline bridges them, which is how
flagged beats are "interpolated" for spectra (research/hrv.md section 6: interpolate
flagged beats before resampling). Pass windows with at most a few % of beats removed;
the caller (the live pipeline) judges that share.

Pipeline shared by the spectral functions (research/hrv.md sections 1.2 and 4):

1. tachogram (t_s, rr_ms) -> evenly resampled RR(t) in ms with a spline through the beats
   (:func:`resample_tachogram`; 4 Hz cubic by default, as Kubios: Tarvainen et al. 2014,
   "Kubios HRV - heart rate variability analysis software", Comput Methods Programs Biomed
   113:210);
2. mean (or linear-trend) removal;
3. a power spectral density in ms^2/Hz (one-sided, so that integrating it over 0..fs/2
   gives the variance of the resampled series, in ms^2);
4. integration of the PSD over frequency bands, or a spectral peak search.

Units: times in s, frequencies in Hz, RR in ms, PSD in ms^2/Hz, band powers in ms^2,
rates in breaths per minute.

Cost: nothing is precomputed at import time, and scipy.signal (about a second to import)
is imported on first use. (Importing scipy.signal itself takes about
0.5 s, once). Measured per call on a 5-min window (460 beats, 2-core Xeon VM, median):
band_powers 0.45 ms, coherence 0.25 ms, breathing_rate 0.35 ms, rsa_peak_to_trough
0.5 ms; resampling is about a third of that.

Thread: any (pure). No neurokit2, pandas, Qt or BLE here; neurokit2 and pyhrv are only
test-time references (tests/test_spectral.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
def _scipy_signal():  # type: ignore[no-untyped-def]
    """scipy.signal, imported on first use: its import costs about a second, kept off start-up."""
    import scipy.signal

    return scipy.signal

__all__ = [
    "BandPowers",
    "BreathingEstimate",
    "Coherence",
    "SpectralSettings",
    "band_powers",
    "breathing_rate",
    "coherence",
    "resample_tachogram",
    "rsa_peak_to_trough",
]

INTERPOLATIONS: Final = ("cubic", "quadratic", "linear")
_MIN_BEATS: Final = {"linear": 2, "quadratic": 3, "cubic": 4}  # points a spline of that degree needs
_GRID_EPS: Final = 1e-9  # tolerance (in samples) when flooring a duration onto the sample grid

# Coherence ratio, McCraty, Atkinson, Tomasino & Bradley 2009, "The Coherent Heart",
# Integral Review 5(2):10-115 (appendix), and the HeartMath knowledge-base article
# "How is Coherence determined by HeartMath programs?" (64 s, resampled every 500 ms).
COHERENCE_FS_HZ: Final = 2.0  # resampling rate: one sample every 500 ms
COHERENCE_SEARCH_HZ: Final = (0.04, 0.26)  # band searched for the highest peak
COHERENCE_PEAK_WIDTH_HZ: Final = 0.030  # width of the peak window centred on that peak
COHERENCE_TOTAL_HZ: Final = (0.0033, 0.4)  # band of the total power
COHERENCE_DF_HZ: Final = 0.001  # PSD grid spacing after zero-padding (makes 0.030 Hz = 30 bins)

BREATHING_FS_HZ: Final = 4.0  # resampling rate of breathing_rate and rsa_peak_to_trough
P2T_SMOOTH_SAMPLES: Final = 3  # moving-average length for finding breath cycles (0.75 s at 4 Hz)
P2T_MIN_SWING_FRACTION: Final = 0.3  # swings below this share of the median swing are not breaths


# ----------------------------------------------------------------------------------------
# settings and results
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SpectralSettings:
    """How :func:`band_powers` estimates LF and HF power (Kubios conventions by default).

    * ``resample_hz``   even resampling rate of the tachogram, Hz (Kubios: 4 Hz);
    * ``interpolation`` "cubic" (scipy ``CubicSpline``, not-a-knot; Kubios, pyhrv),
      "quadratic" (quadratic interpolating B-spline, ``make_interp_spline(k=2)``, exactly what
      neurokit2's ``signal_interpolate`` default uses) or "linear" (acts as a low-pass:
      lowers HF by 13-33 %, research/hrv.md section 4);
    * ``segment_s``     Welch segment length, s (Kubios: 256 s); the whole window is one
      segment when it is shorter than this;
    * ``overlap``       Welch overlap as a fraction of the segment (Kubios: 0.5);
    * ``window``        taper applied to each segment, any ``scipy.signal.get_window`` name
      ("hann", "hamming", "boxcar", ...);
    * ``lf_band`` / ``hf_band``  (low, high) band edges, Hz (Task Force 1996, Circulation
      93:1043: LF 0.04-0.15 Hz, HF 0.15-0.40 Hz); each band's power is the PSD integral
      over exactly [low, high] (see :func:`band_powers`, step 5).

    The settings are checked on construction (``ValueError`` when inconsistent).

    Thread: any (immutable).
    """

    resample_hz: float = 4.0
    interpolation: str = "cubic"
    segment_s: float = 256.0
    overlap: float = 0.5
    window: str = "hann"
    lf_band: tuple[float, float] = (0.04, 0.15)
    hf_band: tuple[float, float] = (0.15, 0.40)

    def __post_init__(self) -> None:
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, not {self.interpolation!r}")
        if not (math.isfinite(self.resample_hz) and self.resample_hz > 0):
            raise ValueError(f"resample_hz must be a positive number of Hz, not {self.resample_hz!r}")
        if not 0.0 <= self.overlap < 1.0:
            raise ValueError(f"overlap must be a fraction in [0, 1), not {self.overlap!r}")
        for name, band in (("lf_band", self.lf_band), ("hf_band", self.hf_band)):
            if len(band) != 2 or not 0.0 < band[0] < band[1]:
                raise ValueError(f"{name} must be (low, high) with 0 < low < high Hz, not {band!r}")
        if self.hf_band[1] > self.resample_hz / 2.0 or self.lf_band[1] > self.resample_hz / 2.0:
            raise ValueError(
                f"resample_hz={self.resample_hz} Hz cannot represent bands up to "
                f"{max(self.lf_band[1], self.hf_band[1])} Hz (Nyquist = resample_hz / 2)"
            )
        if self.segment_s < self.min_segment_s:
            raise ValueError(
                f"segment_s={self.segment_s} s is too short: a Welch segment must hold two cycles of the "
                f"lowest band edge, {self.min_segment_s:.0f} s"
            )
        _scipy_signal().get_window(self.window, 8)  # raises ValueError for an unknown window name

    @property
    def min_segment_s(self) -> float:
        """Shortest usable segment (and window), s: two cycles of the lowest band edge.

        2 / 0.04 Hz = 50 s with the default bands. This is the "two cycles" rule that
        neurokit2 applies as ``min_frequency = 4 / T`` with its T/2 segments (hrv.md 1.2).
        """
        return 2.0 / min(self.lf_band[0], self.hf_band[0])


@dataclass(frozen=True, slots=True)
class BandPowers:
    """LF and HF power of one window.

    * ``lf_ms2``, ``hf_ms2`` absolute band powers, ms^2;
    * ``lf_hf``  LF / HF, dimensionless (``inf`` if HF is exactly 0 while LF is not, ``nan``
      when both are 0, i.e. a perfectly constant tachogram);
    * ``window_s`` duration actually analysed, s (from the first to the last resampled
      sample that entered the Welch segments);
    * ``n_beats`` accepted beats inside that analysed span.

    Thread: any (immutable).
    """

    lf_ms2: float
    hf_ms2: float
    lf_hf: float
    window_s: float
    n_beats: int


@dataclass(frozen=True, slots=True)
class Coherence:
    """Coherence ratio (McCraty 2009) of the last window: CR = PP / (TP - PP).

    * ``ratio``  dimensionless, >= 0 (this is the published research ratio, NOT the
      proprietary HeartMath emWave / Inner Balance 0-16 score);
    * ``peak_hz`` frequency of the highest PSD peak in 0.04-0.26 Hz, Hz;
    * ``peak_fraction`` PP / TP, in [0, 1].

    All three are ``nan`` when every RR is identical (no variability: TP = 0).

    Thread: any (immutable).
    """

    ratio: float
    peak_hz: float
    peak_fraction: float


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
# input checks and resampling
# ----------------------------------------------------------------------------------------
def _beats(t_s: np.ndarray, rr_ms: np.ndarray, what: str, min_beats: int) -> tuple[np.ndarray, np.ndarray]:
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


def _need_span(t: np.ndarray, need_s: float, what: str, why: str) -> float:
    span = float(t[-1] - t[0])
    if span < need_s:
        raise ValueError(f"{what} needs at least {need_s:.1f} s of beats ({why}); got {span:.1f} s")
    return span


def _interpolant(t: np.ndarray, rr: np.ndarray, interpolation: str):
    """Callable RR(t) through every beat (first beat to last beat; no extrapolation used)."""
    from scipy.interpolate import CubicSpline, make_interp_spline  # imported on first use, like scipy.signal

    if interpolation == "cubic":
        return CubicSpline(t, rr)  # not-a-knot end conditions
    if interpolation == "quadratic":
        return make_interp_spline(t, rr, k=2)  # as scipy interp1d(kind="quadratic") / neurokit2
    if interpolation == "linear":
        return lambda x: np.interp(x, t, rr)
    raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, not {interpolation!r}")


def _grid_count(span_s: float, fs: float) -> int:
    """Samples of a grid with spacing 1/fs from one end of ``span_s`` without passing the other."""
    return int(math.floor(span_s * fs + _GRID_EPS)) + 1


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
    t, rr = _beats(t_s, rr_ms, "resample_tachogram", _MIN_BEATS[interpolation])
    n = _grid_count(float(t[-1] - t[0]), fs)
    grid = t[0] + np.arange(n) / fs
    return grid, np.asarray(_interpolant(t, rr, interpolation)(grid), dtype=np.float64)


def _resample_last(t: np.ndarray, rr: np.ndarray, fs: float, window_s: float, interpolation: str) -> np.ndarray:
    """RR(t) on the grid ``t[-1] - k / fs`` covering the last ``window_s`` s (or all beats)."""
    n = min(int(round(window_s * fs)), _grid_count(float(t[-1] - t[0]), fs))
    grid = t[-1] - np.arange(n - 1, -1, -1) / fs
    return np.asarray(_interpolant(t, rr, interpolation)(grid), dtype=np.float64)


def _is_flat(rr: np.ndarray) -> bool:
    """Every RR identical: no variability, so every ratio below is undefined."""
    return bool(rr.max() == rr.min())


def _highest_peak(psd: np.ndarray, first: int, last: int) -> int:
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


def _detrend_linear(x: np.ndarray) -> np.ndarray:
    """x minus its least-squares straight line (removes the mean and a linear drift)."""
    k = np.arange(len(x), dtype=np.float64) - (len(x) - 1) / 2.0
    return x - x.mean() - k * (np.dot(k, x) / np.dot(k, k))


def _periodogram(x: np.ndarray, fs: float, window: np.ndarray, nfft: int) -> tuple[np.ndarray, np.ndarray]:
    """One-sided PSD (ms^2/Hz) of a tapered, zero-padded segment; sum(P) * fs / nfft = power."""
    spectrum = np.fft.rfft(x * window, n=nfft)
    psd = (spectrum.real**2 + spectrum.imag**2) / (fs * np.dot(window, window))
    psd[1:] *= 2.0
    if nfft % 2 == 0:
        psd[-1] /= 2.0  # the Nyquist bin is not mirrored
    return np.fft.rfftfreq(nfft, 1.0 / fs), psd


# ----------------------------------------------------------------------------------------
# LF / HF band powers
# ----------------------------------------------------------------------------------------
def band_powers(t_s: np.ndarray, rr_ms: np.ndarray, settings: SpectralSettings | None = None) -> BandPowers:
    """LF and HF power (ms^2) of the window by Welch's method (Kubios conventions by default).

    Steps (defaults in brackets; Task Force 1996; Tarvainen et al. 2014):

    1. resample the tachogram evenly [4 Hz, cubic spline] (:func:`resample_tachogram`):
       N samples over the window;
    2. Welch segments of ``nperseg = floor(segment_s * fs)`` samples [256 s = 1024], or one
       segment of all N samples when the window is shorter; ``noverlap = floor(overlap *
       nperseg)`` [50 %], step = nperseg - noverlap. The segments are aligned to the NEWEST
       sample: the ``(N - nperseg) mod step`` oldest samples that do not fill a whole step
       are left out (scipy's welch drops the newest ones instead; in a live window the
       newest data matter most). E.g. a 300 s window with 256 s segments analyses its last
       256 s. Within a segment the taper weights the middle: with one Hann segment the
       newest (and oldest) ~10 % of the window count little, so a change shows fully in
       LF/HF only once it is well inside the window;
    3. remove the mean of the analysed samples (no other detrending; Kubios' optional
       smoothness-priors detrend is not applied);
    4. ``scipy.signal.welch`` with the ``window`` taper [Hann], ``nfft = 2 * nperseg``
       (zero-padding x2, as neurokit2), density scaling, segment PSDs averaged by mean,
       no per-segment detrending: PSD in ms^2/Hz on a grid of ``df = fs / nfft`` Hz;
    5. band power = integral of the PSD over [low, high], the PSD read as linear between
       bins: the trapezoid rule over the bins strictly inside the band plus the two band
       edges themselves, whose PSD values are linearly interpolated from the two nearest
       bins. No bin is counted twice: LF + HF is exactly the integral over 0.04-0.40 Hz,
       whatever the grid. (neurokit2 applies the trapezoid to the bins with
       ``low <= f < high`` only, so the strips between each edge and its nearest inner bin,
       up to one bin width each, are lost: on real 2-5 min windows that lowered LF by a
       median 2.5-5 %, up to 18 %, against the full integral of the same PSD. pyhrv sums
       ``P * df`` over ``low <= f <= high`` on a 4096-point grid.)

    Needs at least ``settings.min_segment_s`` of beats (50 s with default bands: two cycles
    of 0.04 Hz) and 4 beats; raises ValueError otherwise. Use >= 2 min for LF and about
    5 min for LF/HF (Task Force 1996; neurokit2 docstring).

    Thread: any (pure).
    """
    settings = settings if settings is not None else SpectralSettings()
    spectrum = power_spectrum(t_s, rr_ms, settings, "band_powers")
    freqs, psd, rr, t = spectrum.freqs_hz, spectrum.psd_ms2_hz, spectrum.rr_ms, spectrum.t_s
    if _is_flat(rr):
        lf = hf = 0.0  # a constant tachogram: exactly no power (not float round-off)
    else:
        lf = _integrate(freqs, psd, *settings.lf_band)
        hf = _integrate(freqs, psd, *settings.hf_band)
    if hf > 0.0:
        ratio = lf / hf
    else:
        ratio = math.inf if lf > 0.0 else math.nan
    return BandPowers(lf, hf, ratio, spectrum.window_s, int(np.count_nonzero(t >= spectrum.start_s)))


@dataclass(frozen=True, slots=True)
class PowerSpectrum:
    """The Welch PSD of a window, as :func:`band_powers` integrates it (steps 1-4 there).

    * ``freqs_hz`` / ``psd_ms2_hz``: the one-sided PSD in ms^2/Hz on a grid of fs / nfft Hz;
    * ``start_s`` / ``window_s``: the analysed span (the newest whole Welch steps of the window);
    * ``t_s`` / ``rr_ms``: the beats given (checked, in order).

    Thread: any (immutable).
    """

    freqs_hz: np.ndarray
    psd_ms2_hz: np.ndarray
    start_s: float
    window_s: float
    t_s: np.ndarray
    rr_ms: np.ndarray


def power_spectrum(t_s: np.ndarray, rr_ms: np.ndarray, settings: SpectralSettings | None = None,
                   what: str = "power_spectrum") -> PowerSpectrum:
    """The Welch PSD of the beats under ``settings`` (steps 1-4 of :func:`band_powers`).

    Raises ValueError with fewer beats than the interpolation needs or a span shorter than
    ``settings.min_segment_s``. Thread: any (pure).
    """
    settings = settings if settings is not None else SpectralSettings()
    t, rr = _beats(t_s, rr_ms, what, _MIN_BEATS[settings.interpolation])
    need = settings.min_segment_s
    _need_span(t, need, what, f"two cycles of the lowest band edge {min(settings.lf_band[0], settings.hf_band[0])} Hz")
    fs = settings.resample_hz
    grid, x = resample_tachogram(t, rr, fs, settings.interpolation)
    n = len(x)
    nperseg = min(n, int(math.floor(settings.segment_s * fs + _GRID_EPS)))
    noverlap = int(math.floor(settings.overlap * nperseg))
    step = nperseg - noverlap
    first = (n - nperseg) % step
    x = x[first:] - x[first:].mean()
    freqs, psd = _scipy_signal().welch(
        x, fs=fs, window=settings.window, nperseg=nperseg, noverlap=noverlap, nfft=2 * nperseg,
        detrend=False, return_onesided=True, scaling="density", average="mean",
    )
    start = float(grid[first])
    return PowerSpectrum(freqs, psd, start, float(grid[-1] - start), t, rr)


def _integrate(freqs: np.ndarray, psd: np.ndarray, low: float, high: float) -> float:
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


# ----------------------------------------------------------------------------------------
# coherence ratio
# ----------------------------------------------------------------------------------------
def coherence(t_s: np.ndarray, rr_ms: np.ndarray, window_s: float = 64.0) -> Coherence:
    """Coherence ratio (McCraty 2009) of the last ``window_s`` seconds of beats.

    Published research algorithm (McCraty, Atkinson, Tomasino & Bradley 2009, "The
    Coherent Heart", Integral Review 5(2), appendix; HeartMath KB "How is Coherence
    determined by HeartMath programs?"), as summarised in research/hrv.md section 5:

    1. the last ``window_s`` = 64 s of the tachogram, resampled every 500 ms (2 Hz, cubic
       spline) = 128 samples, on a grid ending at the newest beat. If the beats span less
       than ``window_s`` (a caller's "last 64 s" rarely starts exactly on a beat), the whole
       span is used, down to 50 s (two cycles of 0.04 Hz); shorter raises ValueError;
    2. a least-squares straight line is removed (mean and slow drift, which would
       otherwise leak into the low bins);
    3. periodogram with NO taper (boxcar), zero-padded to a 0.001 Hz grid (2000 points at
       2 Hz; zero-padding interpolates the spectrum, it adds no resolution). The taper is
       not specified by the sources; boxcar is chosen because the 0.030 Hz peak window
       matches its main lobe (2 / 64 s = 0.031 Hz between the first nulls). A Hann taper
       doubles the main lobe, so a pure sinusoid would leave a third of its power outside
       the peak window and CR could not exceed about 2-3;
    4. peak = the highest local maximum of the PSD in 0.04-0.26 Hz (inclusive; the highest
       bin if there is none; HeartMath's help pages say 0.04-0.24 Hz);
    5. peak power PP = integral over the 0.030 Hz window centred on that bin (peak +- 15
       bins); total power TP = integral over 0.0033-0.4 Hz; both by the trapezoid rule with
       linearly interpolated band edges, as in :func:`band_powers`;
    6. CR = PP / (TP - PP). It is not squared (some HeartMath texts square it).

    This is the research ratio, never the proprietary HeartMath 0-16 "coherence score".

    Thread: any (pure).
    """
    what = "coherence"
    min_window_s = 2.0 / COHERENCE_SEARCH_HZ[0]
    if not (math.isfinite(window_s) and window_s >= min_window_s):
        raise ValueError(f"coherence window_s must be at least {min_window_s:.0f} s (two cycles of 0.04 Hz), not {window_s!r}")
    t, rr = _beats(t_s, rr_ms, what, _MIN_BEATS["cubic"])
    _need_span(t, min_window_s, what, f"it analyses the last {window_s:g} s; two cycles of 0.04 Hz at the least")
    if _is_flat(rr):
        return Coherence(math.nan, math.nan, math.nan)
    fs = COHERENCE_FS_HZ
    x = _detrend_linear(_resample_last(t, rr, fs, window_s, "cubic"))
    bins_per_hz = 1.0 / COHERENCE_DF_HZ
    nfft = int(round(fs * bins_per_hz))  # 2000 points -> 0.001 Hz bins
    while nfft < len(x):  # windows longer than 1000 s: keep an integer number of bins per 0.001 Hz
        nfft *= 2
    freqs, psd = _periodogram(x, fs, np.ones(len(x)), nfft)
    df = fs / nfft

    def bin_of(f_hz: float) -> int:
        return int(round(f_hz / df))

    peak = _highest_peak(psd, bin_of(COHERENCE_SEARCH_HZ[0]), bin_of(COHERENCE_SEARCH_HZ[1]))
    half = bin_of(COHERENCE_PEAK_WIDTH_HZ / 2.0)
    pp = float(np.trapezoid(psd[peak - half:peak + half + 1], dx=df))  # edges fall on bins
    tp = _integrate(freqs, psd, *COHERENCE_TOTAL_HZ)
    rest = tp - pp
    ratio = pp / rest if rest > 0.0 else math.inf
    return Coherence(ratio, float(freqs[peak]), pp / tp)


# ----------------------------------------------------------------------------------------
# breathing rate from the RSA peak
# ----------------------------------------------------------------------------------------
def breathing_rate(
    t_s: np.ndarray,
    rr_ms: np.ndarray,
    band_hz: tuple[float, float] = (0.05, 0.5),
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
    t, rr = _beats(t_s, rr_ms, what, _MIN_BEATS["cubic"])
    span = _need_span(t, 2.0 / lo, what, f"two cycles of the band's lower edge {lo} Hz")
    hi = min(hi, 1000.0 / (2.0 * float(np.mean(rr))))  # beat-sampling Nyquist, Hz
    if hi <= lo:
        raise ValueError(f"{what}: the heart rate is too low to sample breathing above {lo} Hz")
    if _is_flat(rr):
        return BreathingEstimate(math.nan, math.nan, math.nan)
    grid, x = tachogram if tachogram is not None else resample_tachogram(t, rr, fs, "cubic")
    x = _detrend_linear(x)
    nfft = max(4096, 1 << int(math.ceil(math.log2(len(x)))))
    freqs, psd = _periodogram(x, fs, np.hanning(len(x)), nfft)
    df = fs / nfft
    band_power = _integrate(freqs, psd, lo, hi)
    k = _highest_peak(psd, int(math.ceil(lo / df - _GRID_EPS)), int(math.floor(hi / df + _GRID_EPS)))
    peak_hz = float(freqs[k])
    if np.all(psd[k - 1:k + 2] > 0.0):
        a, b, c = np.log(psd[k - 1:k + 2])
        denominator = a - 2.0 * b + c
        if denominator < 0.0:  # a proper maximum: move to the vertex of the parabola
            peak_hz += float(0.5 * (a - c) / denominator * df)
    half = 2.0 / span
    fraction = _integrate(freqs, psd, max(lo, peak_hz - half), min(hi, peak_hz + half)) / band_power
    return BreathingEstimate(60.0 * peak_hz, peak_hz, min(fraction, 1.0))


# ----------------------------------------------------------------------------------------
# peak-to-trough RSA
# ----------------------------------------------------------------------------------------
def rsa_peak_to_trough(
    t_s: np.ndarray,
    rr_ms: np.ndarray,
    min_breath_s: float = 2.0,
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
    t, rr = _beats(t_s, rr_ms, what, _MIN_BEATS["cubic"])
    _need_span(t, min_breath_s, what, "at least one breath of min_breath_s")
    fs = BREATHING_FS_HZ
    grid, x = tachogram if tachogram is not None else resample_tachogram(t, rr, fs, "cubic")
    pad = P2T_SMOOTH_SAMPLES // 2
    smooth = np.convolve(np.pad(x, pad, mode="edge"), np.full(P2T_SMOOTH_SAMPLES, 1.0 / P2T_SMOOTH_SAMPLES), mode="valid")
    extrema = _alternating_extrema(smooth, min_gap=max(1, int(round(min_breath_s / 2.0 * fs))))
    if len(extrema) < 3:
        return np.empty(0)
    first_is_max = smooth[extrema[0]] > smooth[extrema[1]]
    peaks = extrema[0 if first_is_max else 1::2]
    bounds = np.searchsorted(t, grid[peaks])  # first beat at or after each cycle boundary
    swings = [
        float(np.ptp(rr[start:end + 1]))
        for start, end in zip(bounds[:-1], np.minimum(bounds[1:], len(rr) - 1), strict=True)
        if end > start
    ]
    return np.array(swings)


def _alternating_extrema(y: np.ndarray, min_gap: int) -> list[int]:
    """Indices of alternating maxima/minima of y after pruning too-short and too-small swings.

    Neighbouring max/min pairs are dropped (which keeps the sequence alternating), smallest
    swings first, while two extrema are closer than ``min_gap`` samples or a swing is below
    ``P2T_MIN_SWING_FRACTION`` of the median swing.
    """
    d = np.sign(np.diff(y))
    nonzero = np.flatnonzero(d)
    if len(nonzero) == 0:
        return []
    # a flat stretch takes the slope before it (the first slope at the start), so a plateau
    # yields one extremum, not two
    last = np.maximum.accumulate(np.where(d != 0, np.arange(len(d)), -1))
    d = d[np.where(last >= 0, last, nonzero[0])]
    turns = np.flatnonzero(d[1:] != d[:-1]) + 1
    while len(turns) >= 3:
        swings = np.abs(np.diff(y[turns]))
        small = (np.diff(turns) < min_gap) | (swings < P2T_MIN_SWING_FRACTION * np.median(swings))
        if not small.any():
            break
        # drop, at once, every flagged swing that is a local minimum of swing size (never two
        # neighbours, so the dropped pairs are disjoint); else the smallest flagged swing
        before = np.concatenate(([np.inf], swings[:-1]))
        after = np.concatenate((swings[1:], [np.inf]))
        drop = np.flatnonzero(small & (swings <= before) & (swings < after))
        if len(drop) == 0:
            drop = np.flatnonzero(small)[[np.argmin(swings[small])]]
        turns = np.delete(turns, np.concatenate((drop, drop + 1)))
    return turns.tolist()
