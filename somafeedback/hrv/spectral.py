"""Spectral heart-rate-variability measures from accepted beats: Welch LF/HF band powers, the PSD, coherence.

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

Cost: nothing is precomputed at import time, and scipy.signal (about half a second to
import, once) is imported only by a Welch spectrum with a taper other than boxcar, Hann or
Hamming (see :func:`.tachogram.taper`), not by building the settings; coherence, breathing rate and RSA need only scipy.linalg's LAPACK (the spline).
The live pipeline calls these every few beats, so the hot steps skip scipy's public
wrappers where the arithmetic is the same (the spline, Welch; see :mod:`.tachogram`) and
cache tapers and frequency grids. Measured per call on a 5-min window (460 beats, 2-core
Xeon VM shared with other work, median): band_powers 0.2 ms, coherence 0.1 ms,
breathing_rate 0.15 ms, rsa_peak_to_trough 0.24 ms; resampling 0.06 ms of each.

Thread: any (pure). No neurokit2, pandas, Qt or BLE here; neurokit2 and pyhrv are only
test-time references (tests/test_spectral.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from .detrend import KUBIOS_LAMBDA, smoothness_priors
from .tachogram import (
    GRID_EPS,
    INTERPOLATIONS,
    MIN_BEATS,
    checked_beats,
    detrend_linear,
    grid_count,
    highest_peak,
    integrate,
    interpolant,
    is_flat,
    need_span,
    periodogram,
    resample_last,
    resample_tachogram,
    scipy_signal,
    taper,
    welch,
)

__all__ = [
    "BandPowers",
    "Coherence",
    "PowerSpectrum",
    "SpectralSettings",
    "band_powers",
    "coherence",
    "power_spectrum",
]

# Coherence ratio, McCraty, Atkinson, Tomasino & Bradley 2009, "The Coherent Heart",
# Integral Review 5(2):10-115 (appendix), and the HeartMath knowledge-base article
# "How is Coherence determined by HeartMath programs?" (64 s, resampled every 500 ms).
COHERENCE_FS_HZ: Final = 2.0  # resampling rate: one sample every 500 ms
COHERENCE_SEARCH_HZ: Final = (0.04, 0.26)  # band searched for the highest peak
COHERENCE_PEAK_WIDTH_HZ: Final = 0.030  # width of the peak window centred on that peak
COHERENCE_TOTAL_HZ: Final = (0.0033, 0.4)  # band of the total power
COHERENCE_DF_HZ: Final = 0.001  # PSD grid spacing after zero-padding (makes 0.030 Hz = 30 bins)

# Tapers that ``scipy.signal.get_window`` takes by name alone (no parameter): settings naming
# one of them are valid without importing scipy.signal (about half a second), which keeps the
# reading commands' start-up short. Any other name is checked by scipy.signal itself.
SEGMENT_STARTS: Final = ("newest", "start")  # which end of the window the Welch segments are laid from
DETRENDS: Final = ("mean", "linear", "smoothness-priors")
BAND_RULES: Final = ("integral", "bins")

PLAIN_WINDOWS: Final = frozenset({
    "hann", "hamming", "boxcar", "blackman", "blackmanharris", "bartlett", "barthann", "bohman",
    "cosine", "flattop", "nuttall", "parzen", "triang", "tukey", "taylor", "lanczos",
})



# ----------------------------------------------------------------------------------------
# settings and results
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SpectralSettings:
    """How :func:`band_powers` estimates LF and HF power: one named convention set.

    The defaults are the ``live`` set (the beat-by-beat pipeline's: the newest segments of the
    window, mean removal, interpolated band edges); :mod:`somafeedback.hrv.conventions` names
    the ``kubios`` and ``task-force`` sets, and docs/metrics.md tables every one.

    * ``name``          the convention set's name, carried with every value made under it;

    * ``resample_hz``   even resampling rate of the tachogram, Hz (Kubios: 4 Hz);
    * ``interpolation`` "cubic" (scipy ``CubicSpline``'s not-a-knot spline; Kubios, pyhrv),
      "quadratic" (quadratic interpolating B-spline, ``make_interp_spline(k=2)``, exactly what
      neurokit2's ``signal_interpolate`` default uses) or "linear" (acts as a low-pass:
      lowers HF by 13-33 %, research/hrv.md section 4);
    * ``segment_s``     Welch segment length, s (Kubios: 256 s); the whole window is one
      segment when it is shorter than this;
    * ``overlap``       Welch overlap as a fraction of the segment (Kubios: 0.5);
    * ``window``        taper applied to each segment, any ``scipy.signal.get_window`` name
      ("hann", "hamming", "boxcar", ...);
    * ``lf_band`` / ``hf_band``  (low, high) band edges, Hz (Task Force 1996, Circulation
      93:1043: LF 0.04-0.15 Hz, HF 0.15-0.40 Hz);
    * ``segment_start`` which end of the window the Welch segments are laid from: "newest"
      (the live set: the oldest samples that do not fill a whole step are left out) or
      "start" (scipy / MATLAB ``pwelch``, Kubios: the newest ones are left out);
    * ``detrend``       what is removed from the resampled tachogram before the spectrum:
      "mean", "linear" (least-squares line) or "smoothness-priors" (Tarvainen 2002, with
      ``detrend_lambda``; :mod:`.detrend`);
    * ``band_rule``     "integral" (the PSD integral over exactly [low, high], band edges
      interpolated: :func:`band_powers` step 5) or "bins" (the sum of PSD x df over the bins
      with low <= f < high, as Kubios-style tools compute it);
    * ``fft_points_per_hz`` the FFT length as points per Hz of the resampling rate (at least
      the segment length); None: twice the segment (zero padding x2, as neurokit2).

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
    name: str = "live"
    segment_start: str = "newest"
    detrend: str = "mean"
    detrend_lambda: float = KUBIOS_LAMBDA
    band_rule: str = "integral"
    fft_points_per_hz: float | None = None

    def __post_init__(self) -> None:
        for field_name, value, allowed in (("segment_start", self.segment_start, SEGMENT_STARTS),
                                           ("detrend", self.detrend, DETRENDS), ("band_rule", self.band_rule, BAND_RULES)):
            if value not in allowed:
                raise ValueError(f"{field_name} must be one of {allowed}, not {value!r}")
        if not (math.isfinite(self.detrend_lambda) and self.detrend_lambda > 0):
            raise ValueError(f"detrend_lambda must be a positive number, not {self.detrend_lambda!r}")
        if self.fft_points_per_hz is not None and not (math.isfinite(self.fft_points_per_hz) and self.fft_points_per_hz > 0):
            raise ValueError(f"fft_points_per_hz must be a positive number or None, not {self.fft_points_per_hz!r}")
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
        if self.window not in PLAIN_WINDOWS:  # the usual tapers are known without importing scipy.signal
            scipy_signal().get_window(self.window, 8)  # raises ValueError for an unknown window name

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
    if is_flat(rr):
        lf = hf = 0.0  # a constant tachogram: exactly no power (not float round-off)
    else:
        lf = _band_power(freqs, psd, settings.lf_band, settings.band_rule)
        hf = _band_power(freqs, psd, settings.hf_band, settings.band_rule)
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
    t, rr = checked_beats(t_s, rr_ms, what, MIN_BEATS[settings.interpolation])
    need = settings.min_segment_s
    need_span(t, need, what, f"two cycles of the lowest band edge {min(settings.lf_band[0], settings.hf_band[0])} Hz")
    fs = settings.resample_hz
    n = grid_count(float(t[-1] - t[0]), fs)  # samples of the resampled tachogram (resample_tachogram's grid)
    nperseg = min(n, int(math.floor(settings.segment_s * fs + GRID_EPS)))
    noverlap = int(math.floor(settings.overlap * nperseg))
    step = nperseg - noverlap
    if settings.segment_start == "newest":  # only the samples the segments use (the spline is pointwise)
        first, end = (n - nperseg) % step, n
    else:  # the whole window is resampled and detrended; the segments leave out its newest samples
        first, end = 0, n
    grid = t[0] + np.arange(first, end) / fs
    x = _detrended(np.asarray(interpolant(t, rr, settings.interpolation)(grid), dtype=np.float64), settings)
    used = nperseg + (len(x) - nperseg) // step * step  # samples the segments cover, from the first
    nfft = 2 * nperseg if settings.fft_points_per_hz is None else max(nperseg, int(round(settings.fft_points_per_hz * fs)))
    freqs, psd = welch(x[:used], fs, taper(settings.window, nperseg), noverlap, nfft)
    start = float(grid[0])
    grid = grid[:used]
    return PowerSpectrum(freqs, psd, start, float(grid[-1] - start), t, rr)


def _detrended(x: np.ndarray, settings: SpectralSettings) -> np.ndarray:
    """The resampled tachogram without what ``settings.detrend`` removes (step 3 of :func:`band_powers`)."""
    if settings.detrend == "smoothness-priors":
        x = smoothness_priors(x, settings.detrend_lambda)
        return x - x.mean()
    if settings.detrend == "linear":
        return detrend_linear(x)
    return x - x.mean()


def _band_power(freqs: np.ndarray, psd: np.ndarray, band: tuple[float, float], rule: str) -> float:
    """A band's power (ms^2): the interpolated-edge integral, or the bins with low <= f < high times df."""
    if rule == "bins":
        first, end = int(freqs.searchsorted(band[0], side="left")), int(freqs.searchsorted(band[1], side="left"))
        return float(psd[first:end].sum() * (freqs[1] - freqs[0]))
    return integrate(freqs, psd, *band)


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
    t, rr = checked_beats(t_s, rr_ms, what, MIN_BEATS["cubic"])
    need_span(t, min_window_s, what, f"it analyses the last {window_s:g} s; two cycles of 0.04 Hz at the least")
    if is_flat(rr):
        return Coherence(math.nan, math.nan, math.nan)
    fs = COHERENCE_FS_HZ
    x = detrend_linear(resample_last(t, rr, fs, window_s, "cubic"))
    bins_per_hz = 1.0 / COHERENCE_DF_HZ
    nfft = int(round(fs * bins_per_hz))  # 2000 points -> 0.001 Hz bins
    while nfft < len(x):  # windows longer than 1000 s: keep an integer number of bins per 0.001 Hz
        nfft *= 2
    freqs, psd = periodogram(x, fs, taper("boxcar", len(x)), nfft)
    df = fs / nfft

    def bin_of(f_hz: float) -> int:
        return int(round(f_hz / df))

    peak = highest_peak(psd, bin_of(COHERENCE_SEARCH_HZ[0]), bin_of(COHERENCE_SEARCH_HZ[1]))
    half = bin_of(COHERENCE_PEAK_WIDTH_HZ / 2.0)
    pp = float(np.trapezoid(psd[peak - half:peak + half + 1], dx=df))  # edges fall on bins
    tp = integrate(freqs, psd, *COHERENCE_TOTAL_HZ)
    rest = tp - pp
    ratio = pp / rest if rest > 0.0 else math.inf
    return Coherence(ratio, float(freqs[peak]), pp / tp)
