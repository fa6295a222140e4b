"""Realtime R-peak detection on raw ECG chunks (Polar H10: 130 Hz, µV, frames of any length).

A causal, incremental version of neurokit2's default ECG path (``ecg_clean`` method
"neurokit" + ``ecg_peaks`` method "neurokit", neurokit2 0.2.13), validated against it in
tests/test_ecg_peaks.py:

1. clean: 0.5 Hz high-pass Butterworth, order 5 (``sosfilt`` with carried state; neurokit2
   runs it forward and backward), then neurokit2's "powerline" smoothing, a boxcar of
   ``int(fs / 50)`` samples run forward and backward, i.e. its centred triangular kernel
   ([1, 2, 1] / 4 at 130 Hz);
2. the absolute central-difference gradient, smoothed by a centred 0.1 s boxcar;
3. a sample belongs to a QRS complex when the smoothed gradient exceeds 1.5 x its 0.75 s
   boxcar average (and an absolute floor, so that a flat or near-flat signal gives nothing);
   neurokit2 centres that average, we let it see only ``AVG_LOOKAHEAD_S`` ahead, which bounds
   the latency;
4. a QRS shorter than 0.4 x the mean length of the recent ones is ignored (neurokit2 uses the
   mean over the whole record); the R peak is its most prominent local maximum of the
   cleaned signal, kept if it lies more than 0.3 s after the previous R peak;
5. the R peak is refined to sub-sample precision by a parabola through its three samples,
   so RR intervals are not quantised to 1 / fs (7.7 ms at 130 Hz).

Every stage after the high-pass works on integers (the high-pass output quantised to
1/16 µV), so running sums are exact and the peaks do not depend on how the samples were
split into chunks: any chunking gives identical ``RPeak`` values.

Latency: a peak is confirmed ``latency_samples`` after it: 56 samples (0.43 s) for a normal
QRS at 130 Hz, never more than ``max_latency_samples`` (72 at 130 Hz, 0.55 s: the threshold's
0.3 s look-ahead, 8 samples of filter delay and a QRS of at most ``MAX_QRS_S``, a longer one
being closed early). ``push`` returns a peak at the end of the call that delivers its
confirming sample; with 73-sample frames that is the peak's own frame or the next one. A
shorter look-ahead would cut the latency but lose agreement with neurokit2 on noisy,
PVC-rich ECG (0.1 s: 97 % instead of 99 % of its peaks on MIT-BIH 208).

Input hygiene: NaN / inf samples repeat the last finite sample, and samples are clipped to
+-``CLIP_UV``, so saturated or garbage data never raises nor produces NaN.

Cost: about 35 µs per 73-sample frame (about 0.2 s of CPU per hour of 130 Hz ECG). Per-call
overhead dominates frames this short, so the hot path calls scipy's compiled cores of
``sosfilt`` and ``find_peaks`` directly (the public functions validate their arguments on every
call: 30 µs and 17 µs), with the same arrays and so the same results, and falls back to the
public functions on a scipy without them; tests/test_ecg_peaks.py compares the two paths.

Thread: any; synchronous, one instance per ECG stream (not thread-safe). scipy.signal is not
imported (the cores and the 130 Hz design come from :mod:`.scipy_cores`), neurokit2 only by
:func:`reference_peaks`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np

from somafeedback.signals.scipy_cores import butter_sos, extension, sosfilt_zi

HIGHPASS_HZ: Final = 0.5  # neurokit2 ecg_clean's high-pass cut-off, Hz
HIGHPASS_ORDER: Final = 5  # its Butterworth order
POWERLINE_HZ: Final = 50.0  # neurokit2's default powerline frequency, Hz (sets the smoothing width)
SMOOTH_S: Final = 0.1  # gradient smoothing boxcar, s
AVG_S: Final = 0.75  # threshold averaging boxcar, s
AVG_LOOKAHEAD_S: Final = 0.3  # how far the threshold average looks ahead, s (neurokit2: AVG_S / 2)
THRESHOLD_NUM: Final = 3  # QRS when smoothed gradient > THRESHOLD_NUM / THRESHOLD_DEN x average
THRESHOLD_DEN: Final = 2  # (1.5, neurokit2's gradthreshweight)
MIN_QRS_WEIGHT: Final = 0.4  # a QRS shorter than this x the recent mean length is ignored
QRS_HISTORY: Final = 64  # QRS lengths in that recent mean
MAX_QRS_S: Final = 0.2  # a QRS still open after this long is closed (bounds the latency), s
MIN_RR_S: Final = 0.3  # minimum delay between two R peaks, s (neurokit2's mindelay)
SLOPE_FLOOR_UV_PER_S: Final = 1500.0  # smoothed |gradient| below this is never a QRS, µV/s
BASELINE_FROM_S: Final = 0.2  # local baseline: median of the cleaned ECG from this long before the R peak, s
BASELINE_TO_S: Final = 0.08  # ... to this long before it, s
CLIP_UV: Final = 100_000.0  # input clipped to +- this, µV (ECG is a few mV)
QUANTUM_PER_UV: Final = 16  # high-pass output quantised to 1/16 µV


@dataclass(frozen=True, slots=True)
class RPeak:
    """One detected R peak."""

    index: float  # sample index since the detector's start or last reset, sub-sample
    amplitude_uv: float  # R amplitude above the local baseline (cleaned ECG), µV
    latency_samples: int  # samples after the peak up to the one whose arrival confirmed it


class _Tail:
    """The last ``size`` values of an integer stream, zeros before its start."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.values = np.zeros(size, dtype=np.int64)

    def extend(self, new: np.ndarray) -> np.ndarray:
        """The tail followed by ``new``; keeps the last ``size`` values of that."""
        joined = np.concatenate((self.values, new))
        if self.size:
            self.values = joined[-self.size:]
        return joined


def _window_sums(joined: np.ndarray, width: int) -> np.ndarray:
    """Sums of each ``width`` consecutive values ending at each of the last len - width + 1 values (exact)."""
    cs = np.add.accumulate(joined)  # np.cumsum without its wrapper
    out = cs[width - 1:].copy()
    out[1:] -= cs[:-width]
    return out


def _sosfilt_core() -> Callable[[np.ndarray, np.ndarray, np.ndarray], None] | None:
    """scipy's compiled sosfilt (``sos``, ``x`` (1, n), ``zi`` (1, sections, 2), filtering in place), or None."""
    try:
        return extension("_sosfilt")._sosfilt  # private: checked, with a fallback
    except (ImportError, AttributeError):
        return None


def _peak_finding_cores() -> tuple[Callable[..., tuple[np.ndarray, ...]], Callable[..., tuple[np.ndarray, ...]]] | None:
    """scipy's compiled local-maxima and prominence routines behind ``find_peaks``, or None."""
    try:
        utils = extension("_peak_finding_utils")  # private: checked, with a fallback
        return utils._local_maxima_1d, utils._peak_prominences
    except (ImportError, AttributeError):
        return None


class EcgPeakDetector:
    """Streaming R-peak detector: ``push`` chunks in arrival order, get the R peaks they confirm."""

    def __init__(self, fs_hz: float = 130.0) -> None:
        self.fs_hz = float(fs_hz)
        fs = self.fs_hz
        self._sosfilt_core = _sosfilt_core()
        self._peak_cores = _peak_finding_cores()
        self._sos = np.ascontiguousarray(butter_sos(HIGHPASS_ORDER, HIGHPASS_HZ, "highpass", fs), dtype=np.float64)
        self._zi_unit = sosfilt_zi(self._sos)
        width = int(fs / POWERLINE_HZ) if fs >= 100 else 2
        self._kernel = np.convolve(np.ones(width, dtype=np.int64), np.ones(width, dtype=np.int64))  # triangular
        self._half = width - 1  # the cleaned signal lags the input by this many samples
        self._clean_scale = QUANTUM_PER_UV * width * width  # cleaned integers per µV
        self._smooth = max(1, int(np.rint(SMOOTH_S * fs)))
        self._avg = max(1, int(np.rint(AVG_S * fs)))
        self._lookahead = min(int(np.rint(AVG_LOOKAHEAD_S * fs)), self._avg - 1)
        # a smoothed gradient sample s[m] is known this many samples after input sample m
        self._s_delay = self._half + 1 + self._smooth // 2
        # integer floor on the smoothed gradient sum (the sum over one boxcar of 2 x gradient)
        self._floor = int(np.rint(2 * self._smooth * self._clean_scale * SLOPE_FLOOR_UV_PER_S / fs))
        self._max_qrs = max(2, int(np.rint(MAX_QRS_S * fs)))
        self._min_rr = int(np.rint(MIN_RR_S * fs))
        self._baseline = (int(np.rint(BASELINE_FROM_S * fs)), max(1, int(np.rint(BASELINE_TO_S * fs))))
        # cleaned history kept between calls: enough for the peak search and baseline of any
        # region still to be decided (with a few samples' margin)
        self._keep = self.max_latency_samples + self._baseline[0] + 8
        self.reset()

    # -- public ---------------------------------------------------------------------------
    @property
    def samples_seen(self) -> int:
        """Samples pushed since the start or the last ``reset()``."""
        return self._n

    @property
    def max_latency_samples(self) -> int:
        """The most samples after a peak needed to confirm it (72 at 130 Hz)."""
        return self._max_qrs - 1 + self._s_delay + self._lookahead

    def reset(self) -> None:
        """Start afresh (after a gap): the next chunk is sample 0 of a new stretch."""
        self._n = 0
        self._zi: np.ndarray | None = None  # high-pass state, (1, sections, 2) as the compiled core takes it
        self._last_x = 0.0
        self._y = _Tail(len(self._kernel) - 1)
        self._c = _Tail(2)
        self._a = _Tail(self._smooth - 1)
        self._s = _Tail(max(self._avg - 1, self._lookahead))
        self._history = np.zeros(0, dtype=np.int64)  # cleaned signal (integers)
        self._history_start = -self._half  # its first sample's index
        self._in_qrs = True  # like neurokit2, a QRS already under way at the start is not one
        self._begin = 0  # the open QRS region's begin (the last sample before it)
        self._open = False  # a QRS region is open and will give a peak candidate
        self._lengths: deque[int] = deque(maxlen=QRS_HISTORY)
        self._last_peak = -(10**9)

    def push(self, samples: np.ndarray) -> list[RPeak]:
        """Feed the next chunk (µV, contiguous with the previous one); the R peaks it confirms."""
        x = self._sanitise(np.asarray(samples, dtype=np.float64).ravel())
        n = x.size
        if n == 0:
            return []
        yq = self._highpass_quantised(x)
        n0 = self._n
        self._n += n
        # cleaned signal, centred kernel: stream position t holds c[t - half] (integers: exact)
        c = np.correlate(self._y.extend(yq), self._kernel, "valid")
        self._history = np.concatenate((self._history, c))
        # 2 x |gradient|: position t holds |c[t-half] - c[t-half-2]| = a[t - half - 1]
        cj = self._c.extend(c)
        a = np.abs(cj[2:] - cj[:-2])
        # smoothed-gradient sums, centred boxcar: position t holds s[t - s_delay]
        s = _window_sums(self._a.extend(a), self._smooth)
        sj = self._s.extend(s)
        total = _window_sums(sj[len(sj) - n - self._avg + 1:], self._avg)
        # QRS membership of s[m], m = t - s_delay - lookahead, against the average of
        # s[m - avg + 1 + lookahead .. m + lookahead] (neurokit2: a centred window)
        la = self._lookahead
        current = sj[len(sj) - n - la:len(sj) - la]
        if n0 + 1 >= self._avg:  # window values since the start: a full window from here on
            count: int | np.ndarray = self._avg
        else:
            count = np.minimum(np.arange(n0 + 1, n0 + n + 1, dtype=np.int64), self._avg)
        qrs = (THRESHOLD_DEN * count * current > THRESHOLD_NUM * total) & (current > self._floor)
        peaks = self._walk(qrs, n0 - self._s_delay - la)
        drop = self._history.size - self._keep
        if drop > 0:
            self._history = self._history[drop:]
            self._history_start += drop
        return peaks

    # -- internals ------------------------------------------------------------------------
    def _sanitise(self, x: np.ndarray) -> np.ndarray:
        """Non-finite samples repeat the last finite one; everything clipped to +-CLIP_UV (a new array)."""
        finite = np.isfinite(x)
        if not finite.all():
            positions = np.where(finite, np.arange(x.size), -1)
            np.maximum.accumulate(positions, out=positions)
            x = np.where(positions >= 0, x[np.maximum(positions, 0)], self._last_x)
        x = np.maximum(x, -CLIP_UV)  # np.clip without its wrapper (no NaN left here): a new array ...
        np.minimum(x, CLIP_UV, out=x)  # ... then in place
        if x.size:
            self._last_x = float(x[-1])
        return x

    def _highpass_quantised(self, x: np.ndarray) -> np.ndarray:
        """The high-passed chunk (filter state carried), quantised to 1/QUANTUM_PER_UV µV integers; ``x`` is overwritten."""
        if self._zi is None:  # steady state for the first sample: no start-up step
            self._zi = (self._zi_unit * x[0]).reshape(1, -1, 2)
        if self._sosfilt_core is not None:
            y = x.reshape(1, -1)
            self._sosfilt_core(self._sos, y, self._zi)  # what scipy.signal.sosfilt runs, in place
        else:  # a scipy without the core: its public function
            import scipy.signal  # noqa: PLC0415

            y, zi = scipy.signal.sosfilt(self._sos, x, zi=self._zi[0])
            self._zi = zi.reshape(1, -1, 2)
        flat = y.ravel()  # this call's own samples: scaled and rounded in place
        flat *= QUANTUM_PER_UV
        return np.rint(flat, out=flat).astype(np.int64)

    def _most_prominent_peak(self, data: np.ndarray) -> int | None:
        """Index of the most prominent local maximum of ``data`` (as ``find_peaks``), None without one."""
        if self._peak_cores is None:  # a scipy without the cores: its public function
            import scipy.signal  # noqa: PLC0415

            local_max, props = scipy.signal.find_peaks(data, prominence=(None, None))
            prominences = props["prominences"]
        else:
            local_maxima_1d, peak_prominences = self._peak_cores
            values = data.astype(np.float64)  # find_peaks' own conversion
            local_max = local_maxima_1d(values)[0]
            prominences = peak_prominences(values, local_max, -1)[0]  # wlen -1: the whole data
        if local_max.size == 0:
            return None
        return int(local_max[prominences.argmax()])

    def _walk(self, qrs: np.ndarray, m0: int) -> list[RPeak]:
        """Follow the QRS membership of samples m0, m0 + 1, ...; close regions into peaks."""
        peaks: list[RPeak] = []
        state = self._in_qrs
        flips = ((qrs[1:] != qrs[:-1]).nonzero()[0] + 1).tolist()  # where membership changes
        if qrs[0] != state:
            flips.insert(0, 0)
        for pos in [*flips, qrs.size]:
            m = m0 + pos  # the first sample after a run of ``state`` values
            if state and self._open and self._begin + self._max_qrs < m:
                cap = self._begin + self._max_qrs  # still a QRS this long after its start: close it
                self._close(cap, cap, peaks)
            if pos == qrs.size:
                break
            if state:
                if self._open:
                    self._close(m - 1, m, peaks)
            else:
                self._begin, self._open = m - 1, True  # neurokit2's begin: the last sample before
            state = not state
        self._in_qrs = state
        return peaks

    def _close(self, end: int, decided: int, peaks: list[RPeak]) -> None:
        """The QRS region (``_begin``, ``end``] ended; membership of ``decided`` told so."""
        self._open = False
        begin = self._begin
        length = end - begin
        self._lengths.append(length)
        if length < MIN_QRS_WEIGHT * sum(self._lengths) / len(self._lengths):
            return
        h0 = self._history_start
        data = self._history[max(begin - h0, 0):end - h0]
        if data.size < 3:
            return
        found = self._most_prominent_peak(data)
        if found is None:
            return
        k = found + max(begin - h0, 0)
        p = k + h0
        if p < 1 or p - self._last_peak <= self._min_rr:
            return  # (a peak on the first sample cannot be told from a slope)
        self._last_peak = p
        before, middle, after = (float(v) for v in self._history[k - 1:k + 2].tolist())
        curvature = before - 2.0 * middle + after
        shift = 0.0 if curvature >= 0.0 else min(0.5, max(-0.5, 0.5 * (before - after) / curvature))
        top = middle - 0.25 * (before - after) * shift
        lo, hi = max(k - self._baseline[0], 0), max(k - self._baseline[1], 0)
        base = _median_of_ints(self._history[lo:hi].tolist()) if hi > lo else 0.0
        latency = decided + self._s_delay + self._lookahead - p
        peaks.append(RPeak(p + shift, (top - base) / self._clean_scale, latency))


def _median_of_ints(values: list[int]) -> float:
    """``float(np.median(values))`` for a few integers below 2**52 in size (exact either way), without numpy's overhead."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2  # exact sum, one rounding: as numpy's float mean of two


def detect_offline(ecg_uv: np.ndarray, fs_hz: float, frame: int = 73) -> np.ndarray:
    """Run the streaming detector over a whole record in ``frame``-sample chunks: R-peak indices."""
    detector = EcgPeakDetector(fs_hz)
    ecg = np.asarray(ecg_uv, dtype=np.float64)
    found: list[float] = []
    for start in range(0, ecg.size, frame):
        found.extend(peak.index for peak in detector.push(ecg[start:start + frame]))
    return np.asarray(found, dtype=np.float64)


def reference_peaks(ecg_uv: np.ndarray, fs_hz: float) -> np.ndarray:
    """neurokit2's R peaks (``ecg_peaks(ecg_clean(...))``, method "neurokit"): the reference in tests."""
    import neurokit2 as nk  # noqa: PLC0415 - 2-4 s import, never at start-up

    cleaned = nk.ecg_clean(np.asarray(ecg_uv, dtype=np.float64), sampling_rate=fs_hz, method="neurokit")
    _, info = nk.ecg_peaks(cleaned, sampling_rate=fs_hz, method="neurokit")
    return np.asarray(info["ECG_R_Peaks"], dtype=np.int64)
