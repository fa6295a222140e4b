"""ECG-derived respiration (EDR) from R-peak amplitudes: the breathing fallback without the accelerometer.

Breathing modulates the QRS amplitude: the heart moves and the chest's impedance changes as
the lungs fill. From the R peaks of the last ``window_s`` (60 s):

1. premature beats (RR interval ``MAX_RR_JUMP`` shorter than the window's median RR: their
   QRS often has another shape) and amplitudes more than ``MAX_AMPLITUDE_MADS`` median
   absolute deviations from the median are dropped;
2. the amplitudes are resampled at ``RESAMPLE_HZ`` (4 Hz, linear interpolation between
   beats, nothing extrapolated), their linear trend removed, and band-passed over
   ``BAND_HZ`` (0.05-0.7 Hz; 2nd-order Butterworth run forwards and backwards, so without
   delay: the whole window is at hand);
3. the rate is the highest peak of the Hann-windowed, zero-padded spectrum inside
   ``BAND_HZ``, refined by a parabola through the peak bin, and never above
   ``MAX_HR_FRACTION`` of the heart rate (beats sample the modulation: above half the heart
   rate it aliases). The peak's share of the band's power (within ``PEAK_HALF_WIDTH_HZ`` of
   it) must reach ``MIN_PEAK_SHARE`` ("no clear breathing rhythm" otherwise);
4. the phase comes from a least-squares sinusoid (plus a linear trend) at that rate, fitted
   to the last ``PHASE_FIT_PERIODS`` breaths of the resampled amplitude *before* the
   band-pass (a forward-backward filter is distorted near the window's end), and
   extrapolated to ``now_s``. The fit at one frequency is itself a narrow band-pass, and
   it has no delay to correct. The trough of that sinusoid is taken to lie where the
   fundamental of a 40:60 breath has its trough (0.05 breath before the start of inhale),
   as :class:`somafeedback.signals.chest_motion.ChestMotion` assumes the same breath shape.

Sign convention: the R amplitude is taken to *fall* during inhale (``INHALE_AMPLITUDE_SIGN``
= -1), as commonly reported for chest leads (heart descending, more air between heart and
electrodes). It depends on the lead and the electrode placement, so the ECG phase is
approximate and can be off by half a breath for some wearers; the rate does not depend on it.

Only the amplitude modulation is used, not the RR intervals: the breathing rate from RR
(respiratory sinus arrhythmia) is already :func:`somafeedback.hrv.rsa.breathing_rate`, and
an amplitude EDR is an independent second reading (it also works when RSA is small). The
two can disagree: on MIT-BIH record 100 the RR intervals oscillate at a steady 10/min
(neurokit2's ``ecg_rsp``, an RSA EDR, reads that) while the R amplitude oscillates at
16-20/min (tests/test_ecg_respiration.py); with no respiration reference, which one is the
breathing there is open.

Measured: synthetic R peaks (10 % amplitude modulation, 15 µV noise, 6-25 breaths/min)
give the rate within 0.15 breath/min (0.45 with 3 % breath-to-breath variation) and a phase
bias under 0.01 breath; pure amplitude noise passes ``MIN_PEAK_SHARE`` in ~2 % of windows.

Cost: about 0.7 ms per :meth:`EcgRespiration.estimate` (60 s window; call it about once a
second); :meth:`EcgRespiration.push_peak` is O(1).

Other reasons when not valid: "warming up" (the beats span less than ``MIN_COVERAGE`` of
the window), "too few beats", "no recent beats" (none for ``MAX_BEAT_GAP_S``).

Thread: any, one at a time (synchronous, no clock of its own). scipy.signal is not imported:
the band-pass design and ``sosfiltfilt`` come from :mod:`.scipy_cores` (its table and scipy's
compiled ``sosfilt`` core), loaded by the first estimate that band-passes.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Final

import numpy as np

from .breath_cycles import breath_shape
from .chest_motion import BreathingEstimate
from .scipy_cores import butter_sos, sosfiltfilt

__all__ = ["EcgRespiration"]

RESAMPLE_HZ: Final = 4.0  # resampling rate of the amplitude series, Hz
BAND_HZ: Final = (0.05, 0.7)  # breathing band searched, Hz (3-42 breaths/min)
MAX_HR_FRACTION: Final = 0.45  # breathing above this share of the heart rate is not searched
PEAK_HALF_WIDTH_HZ: Final = 0.03  # half-width of the spectral peak's share, Hz
MIN_PEAK_SHARE: Final = 0.5  # peak share below this: no clear breathing rhythm (pure noise passes ~2 % of windows)
FFT_SIZE: Final = 4096  # zero-padded spectrum length, samples (0.001 Hz bins at 4 Hz)
MAX_RR_JUMP: Final = 0.3  # RR shorter than the window's median RR by this share: premature beat dropped
MAX_AMPLITUDE_MADS: Final = 5.0  # amplitude further than this many MADs from the median: dropped
MIN_COVERAGE: Final = 0.9  # the beats must span this share of the window
MIN_BEATS_PER_MINUTE: Final = 25.0  # fewer kept beats than this per window minute: too few beats
MAX_BEAT_GAP_S: Final = 3.0  # no beat for this long before now: no current estimate, s
PHASE_FIT_PERIODS: Final = 1.5  # the phase sinusoid is fitted to this many recent breaths
INHALE_AMPLITUDE_SIGN: Final = -1.0  # R amplitude falls during inhale (chest-lead convention)
_FIRST_HARMONIC: Final = complex(np.fft.rfft(breath_shape())[1])
# where the fundamental of a 40:60 breath has its trough, in breaths after the start of inhale (~ -0.05)
_FUNDAMENTAL_TROUGH: Final = (
    (math.pi - math.atan2(_FIRST_HARMONIC.imag, _FIRST_HARMONIC.real)) / (2.0 * math.pi) + 0.5
) % 1.0 - 0.5
_MIN_RR_S: Final = 0.25  # RR below this is not a heartbeat, s
_MAX_RR_S: Final = 2.5  # peaks kept before the window: one long RR, s


def _invalid(t_s: float, reason: str) -> BreathingEstimate:
    return BreathingEstimate(t_s, math.nan, math.nan, math.nan, False, reason, False, "ecg")


class EcgRespiration:
    """Breathing rate and phase from the R-peak amplitudes of the last ``window_s`` seconds."""

    def __init__(self, window_s: float = 60.0) -> None:
        if not window_s >= 20.0:
            raise ValueError(f"window_s must be at least 20 s, got {window_s!r}")
        self.window_s = float(window_s)
        self._peaks: deque[tuple[float, float]] = deque()
        self._hann = np.empty(0)
        self._band: np.ndarray | None = None  # band-pass sections, designed on first use

    def reset(self) -> None:
        """Forget every peak (after a gap in the stream)."""
        self._peaks.clear()

    def push_peak(self, t_s: float, amplitude_uv: float) -> None:
        """Add an R peak at ``t_s`` (s, increasing) with its amplitude (µV); a backwards time resets."""
        if not (math.isfinite(t_s) and math.isfinite(amplitude_uv)):
            return
        if self._peaks and t_s <= self._peaks[-1][0]:
            self.reset()
        self._peaks.append((float(t_s), float(amplitude_uv)))
        while self._peaks[0][0] < t_s - self.window_s - _MAX_RR_S:
            self._peaks.popleft()

    def estimate(self, now_s: float) -> BreathingEstimate | None:
        """Breathing over the window ending at ``now_s``; None when it holds no peak at all."""
        start = now_s - self.window_s
        beats = np.array([p for p in self._peaks if start < p[0] <= now_s]).reshape(-1, 2)
        if len(beats) == 0:
            return None
        t, amp = beats[:, 0], beats[:, 1]
        if now_s - t[-1] > MAX_BEAT_GAP_S:
            return _invalid(now_s, "no recent beats")
        if t[-1] - t[0] < MIN_COVERAGE * self.window_s:
            return _invalid(now_s, "warming up")
        t, amp = _clean(t, amp)
        if len(t) < MIN_BEATS_PER_MINUTE * self.window_s / 60.0:
            return _invalid(now_s, "too few beats")
        grid = np.arange(t[0], t[-1], 1.0 / RESAMPLE_HZ)
        x = np.interp(grid, t, amp)
        x = x - np.polyval(np.polyfit(grid - grid[0], x, 1), grid - grid[0])
        hr_hz = (len(t) - 1) / float(t[-1] - t[0])
        banded = self._band_pass(x)
        rate_hz, share = self._spectral_peak(banded, min(BAND_HZ[1], MAX_HR_FRACTION * hr_hz))
        if not share >= MIN_PEAK_SHARE:
            return _invalid(now_s, "no clear breathing rhythm")
        phase = _phase(grid, x, rate_hz, now_s)
        return BreathingEstimate(now_s, 60.0 * rate_hz, phase, math.nan, True, "", False, "ecg")

    def _band_pass(self, x: np.ndarray) -> np.ndarray:
        """``x`` band-passed over BAND_HZ forwards and backwards (no delay)."""
        if self._band is None:
            self._band = butter_sos(2, BAND_HZ, "bandpass", RESAMPLE_HZ)
        return sosfiltfilt(self._band, x)

    def _spectral_peak(self, x: np.ndarray, top_hz: float) -> tuple[float, float]:
        """(frequency of the highest peak in [BAND_HZ[0], top_hz], its share of that band's power)."""
        if len(self._hann) != len(x):
            self._hann = np.hanning(len(x))
        size = max(FFT_SIZE, 1 << (len(x) - 1).bit_length())
        power = np.abs(np.fft.rfft(x * self._hann, size)) ** 2
        df = RESAMPLE_HZ / size
        first, last = int(math.ceil(BAND_HZ[0] / df)), int(top_hz / df)
        if last <= first + 2:
            return math.nan, 0.0
        band = power[first: last + 1]
        k = int(np.argmax(band))
        total = float(band.sum())
        if total <= 0.0:
            return math.nan, 0.0
        half = int(round(PEAK_HALF_WIDTH_HZ / df))
        share = float(band[max(0, k - half): k + half + 1].sum()) / total
        offset = 0.0
        if 0 < k < len(band) - 1:  # parabola through the peak bin and its neighbours (log power)
            a, b, c = np.log(band[k - 1: k + 2] + 1e-300)
            denominator = a - 2.0 * b + c
            offset = 0.5 * (a - c) / denominator if denominator < 0.0 else 0.0
        return (first + k + offset) * df, share


def _clean(t: np.ndarray, amp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop premature beats and amplitude outliers."""
    if len(t) < 2:
        return t, amp
    rr = np.diff(t, prepend=np.nan)
    median_rr = float(np.median(rr[1:]))
    rr[0] = median_rr  # the first beat's own RR lies before the window: taken as usual
    keep = (rr >= (1.0 - MAX_RR_JUMP) * median_rr) & (rr >= _MIN_RR_S)  # premature beats go, beats after a pause stay
    median_amp = float(np.median(amp[keep])) if keep.any() else 0.0
    mad = float(np.median(np.abs(amp[keep] - median_amp))) if keep.any() else 0.0
    if mad > 0.0:
        keep &= np.abs(amp - median_amp) <= MAX_AMPLITUDE_MADS * 1.4826 * mad
    return t[keep], amp[keep]


def _phase(grid: np.ndarray, x: np.ndarray, rate_hz: float, now_s: float) -> float:
    """Breath phase at ``now_s`` (0 = start of inhale) from a sinusoid fitted to the last breaths."""
    recent = grid >= grid[-1] - PHASE_FIT_PERIODS / rate_hz
    tr = grid[recent] - grid[-1]
    w = 2.0 * math.pi * rate_hz
    design = np.column_stack((np.cos(w * tr), np.sin(w * tr), np.ones_like(tr), tr))
    (a, b, _, _), *_ = np.linalg.lstsq(design, x[recent], rcond=None)
    # lung volume ~ sign * (a cos + b sin) = R cos(theta - phi0); inhale starts at its trough
    phi0 = math.atan2(INHALE_AMPLITUDE_SIGN * b, INHALE_AMPLITUDE_SIGN * a)
    theta = w * (now_s - grid[-1]) - phi0
    return ((theta - math.pi) / (2.0 * math.pi) + _FUNDAMENTAL_TROUGH) % 1.0
