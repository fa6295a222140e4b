"""Breathing and movement from the chest accelerometer (Polar H10 ACC, mG), streamed frame by frame.

Pipeline (every filter causal, its state carried from frame to frame):

1. **Movement.** A 2nd-order Butterworth high-pass at 1 Hz of each axis; the power of its
   vector, averaged over a sliding 0.5 s: an RMS above ``MOVEMENT_RMS_MG`` means the wearer
   is moving (breathing has almost no power above 1 Hz). A band-passed excursion larger
   than any breath (``LARGE_SLOW_MG``: leaning, slumping, a slow shift) counts as movement
   too. ``moving`` lasts while either holds, plus ``MOVEMENT_HOLD_S``.
2. **Breathing band, 0.05-0.7 Hz** (3-42 breaths/min): a 1st-order Butterworth high-pass at
   0.05 Hz (gentle, so slow breaths keep their shape; it removes gravity and posture, the
   static ~1000 mG) then a 2nd-order Butterworth low-pass at 0.7 Hz. The band filter is
   frozen during movement and restarted afterwards in the steady state of the mean
   acceleration of the following second, so a movement leaves no filter transient behind.
3. **Posture.** A 0.2 Hz low-pass gives the gravity direction. Turning more than
   ``POSTURE_CHANGE_DEG`` away from where it pointed when the current posture began is
   movement too. When a movement ends, the mean acceleration of the next second is compared
   with that direction: if it turned more than ``POSTURE_CHANGE_DEG``, this is a new posture
   ("posture changed"), and the projection, the breaths found and the breathing sign reset.
4. **Projection.** At each refresh the band-passed window (``window_s``, still samples only)
   is projected onto its first principal axis (PCA): breathing moves the chest mostly along
   one direction, which depends on posture and strap placement. Inhale is made positive by
   three rules, in order of precedence:

   * *breath shape*: people breathe in faster than they breathe out (inhale about 40 % of a
     relaxed breath; 40:60 at the app's pacer). For each breath, log(fall time / rise time)
     between 25 % and 75 % of its swing is > 0 when inhale is upwards. These are summed
     over the breaths of the current posture, each counted once; when their mean is below
     ``-SIGN_EVIDENCE`` and ``SIGN_T`` standard errors below zero, over at least
     ``SIGN_MIN_BREATHS`` breaths, the trace is flipped;
   * *continuity*: between flips, each new axis is turned to agree with the previous one
     (flipped when their dot product is negative), so the trace keeps its sign;
   * *device prior*, for the first axis of a posture: inhale moves along +z when the axis
     has a z component of at least ``SIGN_PRIOR_MIN_Z`` (Polar H10: z points out of the
     chest, the convention of the every-breath-you-take app; breathing in tilts the front
     of the lower chest upwards).

   When the prior is wrong (strap worn otherwise, lying down) the breath shape corrects it
   after some breaths: measured about 20-60 s at 12-18/min and 10-20 mG, 45-95 s at 6/min,
   longer for breaths of 5 mG. Someone who breathes in more slowly than out, with the prior
   failing, gets a phase off by about half a breath (rate and amplitude are unaffected).
5. **Breaths.** The trace is smoothed by a centred moving average over a sixth of a breath
   (``SMOOTH_FRACTION``, the breath length taken from the window's spectral peak). Its
   alternating minima and maxima, with a hysteresis of ``HYSTERESIS_FRACTION`` of the
   trace's 10-90 % spread (a zig-zag detector), are the starts and ends of inhale. A breath
   counts only when it does not straddle a movement or a gap.

``rate_bpm`` = 60 x (number of breaths) / (their total duration), over the complete breaths
that end inside the window: at least ``MIN_BREATHS`` of them, lasting together at least
``MIN_BREATH_COVERAGE`` of the window (else "too few breaths", e.g. after a movement).
Cycle timing is chosen over a spectral peak because a 30 s window holds only 3 breaths at
6/min: a periodogram resolves 2 breaths/min there (it needs interpolation and leans on a
sinusoidal shape), while cycle times measure the mean period directly, whatever the breath's
shape, and also give the amplitudes and the phase anchor. The hysteresis and the smoothing
keep noise wiggles from counting as breaths.

``phase`` (0..1, 0 = start of inhale) = time since the newest confirmed start of inhale,
divided by the mean period of the last ``PHASE_PERIODS`` breaths, modulo 1 (so it keeps
running while the next start is not confirmed yet). That start is corrected for the delay
that the band filter and the smoothing give the trough of a 40:60 breath at the current
period (computed harmonic by harmonic); other breath shapes leave a few hundredths of a
breath. ``amplitude_mg`` is the median peak-to-trough of the window's breaths, divided by
the gain of the band filter and the smoothing at the breathing rate.

``reason`` when not valid: "movement", "warming up", "settling after movement", "posture
changed", "refilling after a gap", "too few breaths", "no breathing movement" (median
peak-to-trough below ``MIN_AMPLITUDE_MG``), "no recent breath" (no start of inhale for
``STALE_PERIODS`` breaths, e.g. a held breath).

Usage: ``push(t_s, acc_mg)`` with each frame (times in session seconds, acc shape (n, 3)).
It returns a :class:`BreathingEstimate` at most about once per second of signal (and at
once when movement starts or ends), else None. ``trace(seconds)`` gives the recent
breathing trace (mG, inhale upwards, nan during movement) for a plot. Call ``reset()``
after a gap in the stream; a time step above ``GAP_S`` restarts the filters by itself, and
time running backwards resets everything. ``fs_hz`` must be the stream's sampling rate.

Cost, measured on the 2-core dev VM at 25 Hz with frames of 12-50 samples (shared with other
work): ~0.05 ms for a frame without a refresh, ~0.25 ms with one; ~0.16 ms per second of signal
in all (before the speed-up of issue #22, under the same load: 0.11, 0.57 and 0.36 ms).
tests/test_chest_motion.py measures it. Call overhead dominates on such short frames, so the
hot path calls lfilter's and eigh's compiled cores and does numpy's percentile and median by
their own steps (each checked bit for bit against the public function in the tests). The
band's gain at the breathing rate and the trough delay are remembered from the previous
refresh (the rate changes only when a breath ends or leaves the window).

Where the parts are: finding breaths in the trace (step 5, the template breath) is
:mod:`.breath_cycles`; the filters with carried state and the sample buffer are
:mod:`.chest_filters`.

Thread: any, one at a time (synchronous, no clock of its own). scipy.signal is not imported
for the strap's rates (25, 50, 100, 200 Hz): lfilter's core and the designs come from
:mod:`.scipy_cores`; another rate imports it in the constructor for its designs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np

from .breath_cycles import (
    TEMPLATE,
    TEMPLATE_SPECTRUM,
    find_breaths,
    moving_average_gain,
)
from .chest_filters import FilterCascade, SampleBuffer
from .scipy_cores import butter_ba, extension, lfilter_zi

__all__ = ["BreathingEstimate", "ChestMotion"]

BAND_HZ: Final = (0.05, 0.7)  # breathing band, Hz (3-42 breaths/min)
HIGHPASS_ORDER: Final = 1  # Butterworth order of the band's lower edge
LOWPASS_ORDER: Final = 2  # Butterworth order of the band's upper edge
MOVEMENT_HIGHPASS_HZ: Final = 1.0  # movement is acceleration above this, Hz
MOVEMENT_WINDOW_S: Final = 0.5  # the movement power is averaged over this sliding window, s
MOVEMENT_RMS_MG: Final = 25.0  # acceleration RMS above 1 Hz beyond which the wearer is moving, mG
LARGE_SLOW_MG: Final = 80.0  # band-passed excursion beyond any breath: slow movement or posture shift, mG
MOVEMENT_HOLD_S: Final = 2.0  # moving stays set this long after the last movement sample, s
RESTART_MEAN_S: Final = 1.0  # after movement, filters restart at the mean acceleration of this span, s
GRAVITY_LOWPASS_HZ: Final = 0.2  # low-pass giving the gravity (posture) direction, Hz
POSTURE_CHANGE_DEG: Final = 20.0  # gravity turning more than this is a new posture, degrees
GAP_S: Final = 1.0  # a time step longer than this restarts the filters, s
REFRESH_S: Final = 1.0  # the breathing estimate is refreshed at most this often, s of signal
MIN_PCA_S: Final = 5.0  # still signal needed before a breathing direction is sought, s
MIN_SPAN_S: Final = 10.0  # still signal in the window needed for any estimate, s
HYSTERESIS_FRACTION: Final = 0.3  # zig-zag threshold, share of the trace's 10-90 % spread
MIN_HYSTERESIS_MG: Final = 1.5  # zig-zag threshold floor (band-passed 2 mG noise is ~0.5 mG), mG
MIN_AMPLITUDE_MG: Final = 2.0  # median peak-to-trough below this: no breathing movement, mG
MIN_BREATHS: Final = 2  # complete breaths in the window needed for a rate
MIN_BREATH_COVERAGE: Final = 0.5  # ... and together they must last this share of the window
MIN_PERIOD_S: Final = 1.5  # shortest breath counted, s (40 breaths/min)
MAX_PERIOD_S: Final = 20.0  # longest breath counted, s (3 breaths/min)
PHASE_PERIODS: Final = 3  # the phase runs at the mean period of this many recent breaths
STALE_PERIODS: Final = 2.0  # no start of inhale for this many periods: no current phase
SIGN_EVIDENCE: Final = 0.1  # mean log(fall / rise time) below minus this may flip the trace (40:60 gives ~0.37)
SIGN_T: Final = 3.0  # ... when also that mean is this many standard errors below zero
SIGN_MIN_BREATHS: Final = 4  # breaths of evidence needed before the breath shape may flip the trace
SHAPE_CLIP: Final = 1.0  # one breath's log(fall / rise time) is clipped to +-this (outliers)
SMOOTH_FRACTION: Final = 1.0 / 6.0  # breaths are found on the trace smoothed over this share of a breath
SIGN_PRIOR_MIN_Z: Final = 0.3  # z component of the axis above which the +z prior sets the first sign
_KEEP_S: Final = MAX_PERIOD_S + 5.0  # samples kept before the window (its first breath's start), s
_HARMONIC_NUMBERS: Final = np.arange(TEMPLATE.size // 2 + 1)  # 0, 1, ... of the template breath's spectrum


@dataclass(frozen=True, slots=True)
class BreathingEstimate:
    """Breathing at session time ``t_s``, from the chest accelerometer ("acc") or the ECG ("ecg").

    * ``rate_bpm``     breaths per minute over the window;
    * ``phase``        0..1 within the current breath, 0 = start of inhale (causal);
    * ``amplitude_mg`` median peak-to-trough of recent breaths, mG (nan for "ecg");
    * ``valid``        the values can be used; when False they are nan and ``reason`` says
      what was measured instead ("movement", "warming up", "too few breaths", ...);
    * ``moving``       the accelerometer shows movement (always False for "ecg").

    Thread: any (immutable).
    """

    t_s: float
    rate_bpm: float
    phase: float
    amplitude_mg: float
    valid: bool
    reason: str
    moving: bool
    source: str

    def phase_at(self, t_s: float) -> float:
        """The phase extrapolated to ``t_s`` at the estimated rate (nan when not valid)."""
        if not self.valid:
            return math.nan
        return (self.phase + (t_s - self.t_s) * self.rate_bpm / 60.0) % 1.0


def _invalid(t_s: float, reason: str, moving: bool) -> BreathingEstimate:
    return BreathingEstimate(t_s, math.nan, math.nan, math.nan, False, reason, moving, "acc")


def _symmetric_eigen_solver() -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``np.linalg.eigh``, or its compiled core when numpy has it where expected.

    On a 3 x 3 matrix the public function spends 3/4 of its time on checks and error-state
    handling; the core gives the very same eigenvalues and vectors. (The public function
    would also raise LinAlgError if LAPACK did not converge, which does not happen on a
    finite 3 x 3 symmetric matrix.)
    """
    try:
        from numpy.linalg import _umath_linalg
    except ImportError:  # pragma: no cover - another numpy layout
        return np.linalg.eigh
    eigh_lo = _umath_linalg.eigh_lo

    def eigh(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values, vectors = eigh_lo(matrix, signature="d->dd")
        return values, vectors

    return eigh


def _percentiles_10_90(y: np.ndarray) -> tuple[float, float]:
    """``np.percentile(y, [10, 90])`` (linear interpolation) of at least 2 finite values, bit for bit.

    numpy's own steps (virtual index (n - 1) q, its floor, then its ``_lerp``) on a partition
    of the four neighbouring values, without the general machinery that costs 8x more here.
    """
    n = len(y)
    low10, low90 = int(math.floor((n - 1) * 0.1)), int(math.floor((n - 1) * 0.9))  # 10 / 100, 90 / 100 as numpy divides
    part = np.partition(y, sorted({low10, low10 + 1, low90, low90 + 1}))  # these order statistics in place
    values = []
    for q, low in ((0.1, low10), (0.9, low90)):
        gamma = (n - 1) * q - low
        a, b = part.item(low), part.item(low + 1)
        values.append(b - (b - a) * (1.0 - gamma) if gamma >= 0.5 else a + (b - a) * gamma)
    return values[0], values[1]


def _numpy_sum(values: list[float]) -> float:
    """``np.sum`` of the values, bit for bit: numpy adds fewer than 8 values in order, more pairwise."""
    if len(values) < 8:
        total = 0.0
        for value in values:
            total += value
        return total
    return float(np.add.reduce(np.array(values)))


def _median(values: list[float]) -> float:
    """``np.median`` of a few finite values, bit for bit (the middle one, or the mean of the middle two)."""
    ordered = sorted(values)
    half = len(ordered) // 2
    return ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2.0


class ChestMotion:
    """Breathing rate, phase and amplitude, and movement, from chest acceleration frames."""

    def __init__(self, fs_hz: float = 25.0, window_s: float = 30.0) -> None:
        if not (math.isfinite(fs_hz) and fs_hz >= 4.0 * MOVEMENT_HIGHPASS_HZ):
            raise ValueError(f"fs_hz must be at least {4.0 * MOVEMENT_HIGHPASS_HZ:g} Hz, got {fs_hz!r}")
        if not window_s >= 2.0 * MIN_SPAN_S:
            raise ValueError(f"window_s must be at least {2.0 * MIN_SPAN_S:g} s, got {window_s!r}")
        self.fs_hz = float(fs_hz)
        self.window_s = float(window_s)

        def cascade(*designs: tuple[np.ndarray, np.ndarray]) -> FilterCascade:
            # lfilter's compiled core (see FilterCascade)
            return FilterCascade(list(designs), extension("_sigtools")._linear_filter, lfilter_zi)

        self._band = cascade(
            butter_ba(HIGHPASS_ORDER, BAND_HZ[0], "highpass", fs_hz),
            butter_ba(LOWPASS_ORDER, BAND_HZ[1], "lowpass", fs_hz),
        )
        self._highpass = cascade(butter_ba(2, MOVEMENT_HIGHPASS_HZ, "highpass", fs_hz))
        self._gravity = cascade(butter_ba(1, GRAVITY_LOWPASS_HZ, "lowpass", fs_hz))
        width = max(1, int(round(MOVEMENT_WINDOW_S * fs_hz)))
        self._avg_b = np.full(width, 1.0 / width)  # FIR moving average of the movement power
        self._eigh = _symmetric_eigen_solver()
        self._hann: dict[int, np.ndarray] = {}  # Hann windows of the spectral peak, by length
        self._last_delay: tuple[float, int, float] = (math.nan, 0, 0.0)  # (period s, width, trough delay s)
        self._last_gain: tuple[float, float] = (math.nan, 1.0)  # (rate Hz, |band response| there)
        self._cos_posture = math.cos(math.radians(POSTURE_CHANGE_DEG))
        self._restart_n = max(1, int(round(RESTART_MEAN_S * fs_hz)))
        self._buffer = SampleBuffer(int((window_s + _KEEP_S) * fs_hz * 1.25) + 64)
        self.reset()

    # -- state --------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything (after a gap in the stream): the next frame starts afresh."""
        self._last_t = -math.inf
        self._avg_zi = np.zeros(len(self._avg_b) - 1)
        self._moving = False
        self._last_over_t = -math.inf
        self._gravity_ref = np.zeros(3)
        self._gravity_ref_norm = 0.0  # its length, mG
        self._segment = 0
        self._refill_reason = "warming up"
        self._buffer.n = 0
        self._direction: np.ndarray | None = None
        self._clear_evidence()
        self._last_refresh_t = -math.inf

    def _restart_filters(self, acc: np.ndarray) -> np.ndarray:
        """New segment: band and gravity filters steady at the mean of the next second; that mean."""
        x0 = acc[: self._restart_n].mean(axis=0)
        self._band.steady(x0)
        self._gravity.steady(x0)
        self._segment += 1
        return x0

    def _new_posture(self, acc: np.ndarray, reason: str) -> None:
        """Gravity points elsewhere: forget the breaths, the projection and its sign."""
        self._gravity_ref = self._restart_filters(acc)
        self._gravity_ref_norm = float(np.linalg.norm(self._gravity_ref))
        self._buffer.n = 0
        self._direction = None
        self._clear_evidence()
        self._refill_reason = reason

    def _clear_evidence(self) -> None:
        self._evidence_sum = 0.0  # sum of log(fall / rise time) over the breaths counted
        self._evidence_sum2 = 0.0  # sum of their squares
        self._evidence_n = 0
        self._evidence_end_t = -math.inf  # end of the newest breath counted, s

    def _turned(self, gravity: np.ndarray) -> np.ndarray:
        """Per row of ``gravity`` (n, 3): True where it is a new posture."""
        norms = np.sqrt(np.add.reduce(gravity * gravity, axis=1))  # np.linalg.norm(gravity, axis=1), without its checks
        cos = (gravity @ self._gravity_ref) / (norms * self._gravity_ref_norm + 1e-9)
        return cos < self._cos_posture

    # -- feeding ------------------------------------------------------------------------
    def push(self, t_s: np.ndarray, acc_mg: np.ndarray) -> BreathingEstimate | None:
        """Add one frame (times in s, acceleration (n, 3) in mG); an estimate when one was refreshed."""
        t = np.asarray(t_s, dtype=np.float64).reshape(-1)
        acc = np.asarray(acc_mg, dtype=np.float64)
        if acc.ndim != 2 or acc.shape[1] != 3 or acc.shape[0] != len(t):
            raise ValueError(f"acc_mg must have shape (n, 3) matching t_s (got {acc.shape} for {len(t)} times)")
        if not math.isfinite(float(np.add.reduce(t)) + float(np.add.reduce(acc, axis=None))):  # some value is not
            finite = np.isfinite(t) & np.isfinite(acc).all(axis=1)
            t, acc = t[finite], acc[finite]
        if len(t) == 0:
            return None
        if t[0] <= self._last_t:
            self.reset()  # time ran backwards: a new stream
        if self._last_t == -math.inf:
            self._highpass.steady(acc[0])
            self._new_posture(acc, "warming up")
        elif t[0] - self._last_t > GAP_S:
            self._highpass.steady(acc[0])
            self._avg_zi = np.zeros(len(self._avg_b) - 1)
            self._moving = False
            self._restart_filters(acc)
            self._refill_reason = "refilling after a gap"
        was_moving = self._moving
        self._feed(t, acc)
        self._last_t = now = float(t[-1])
        if self._moving != was_moving or now - self._last_refresh_t >= REFRESH_S:
            self._last_refresh_t = now
            return self._estimate(now)
        return None

    def _feed(self, t: np.ndarray, acc: np.ndarray) -> None:
        """Movement flags, filters and buffer for one frame, split where movement starts or ends."""
        hp, self._highpass.state = self._highpass.run(acc)
        power = self._moving_average_power(np.einsum("ij,ij->i", hp, hp))
        shaking = power > MOVEMENT_RMS_MG * MOVEMENT_RMS_MG
        keep_after = float(t[-1]) - self.window_s - _KEEP_S
        n = len(t)
        i = 0
        while i < n:
            if self._moving:  # band filter frozen until MOVEMENT_HOLD_S without movement
                last_over = np.maximum.accumulate(np.where(shaking[i:], t[i:], self._last_over_t))
                ended = np.flatnonzero(t[i:] - last_over > MOVEMENT_HOLD_S)
                j = i + int(ended[0]) if len(ended) else n
                if j > i:
                    self._last_over_t = float(last_over[j - i - 1])
                    self._buffer.append(t[i:j], np.full((j - i, 3), np.nan), self._segment, keep_after)
                if j == n:
                    return
                self._moving = False
                x0 = self._restart_filters(acc[j:])
                if self._turned(x0[None, :])[0]:
                    self._new_posture(acc[j:], "posture changed")
                else:
                    self._refill_reason = "settling after movement"
                i = j
                continue
            bp, band_state = self._band.run(acc[i:])
            gravity, gravity_state = self._gravity.run(acc[i:])
            moved = shaking[i:] | (np.einsum("ij,ij->i", bp, bp) > LARGE_SLOW_MG * LARGE_SLOW_MG)
            stop = (moved | self._turned(gravity)).nonzero()[0]
            m = int(stop[0]) if len(stop) else n - i
            if m == n - i:
                self._band.state, self._gravity.state = band_state, gravity_state
            elif m > 0:  # keep the still part, and the filter states at its end
                self._band.state = self._band.run(acc[i: i + m])[1]
                self._gravity.state = self._gravity.run(acc[i: i + m])[1]
            if m > 0:
                self._buffer.append(t[i: i + m], bp[:m], self._segment, keep_after)
            i += m
            if i == n:
                return
            self._moving = True  # shaking, a slow shift, or gravity turning: the posture is decided after it
            self._last_over_t = float(t[i])

    def _moving_average_power(self, power: np.ndarray) -> np.ndarray:
        """``power`` (mG^2 per sample) averaged over ``MOVEMENT_WINDOW_S``, its FIR state carried in ``_avg_zi``.

        Exactly what ``scipy.signal.lfilter(self._avg_b, [1.0], power, zi=self._avg_zi)`` computes
        for a FIR filter (a full convolution plus the carried state), without its argument checks.
        """
        full = np.convolve(self._avg_b, power)
        full[: len(self._avg_zi)] += self._avg_zi
        n = len(power)
        self._avg_zi = full[n:]
        return full[:n]

    # -- reading ------------------------------------------------------------------------
    @property
    def moving(self) -> bool:
        """The wearer is moving now (movement seen within the last ``MOVEMENT_HOLD_S``)."""
        return self._moving

    def trace(self, seconds: float) -> tuple[np.ndarray, np.ndarray]:
        """(t_s, breathing in mG) over the last ``seconds``: inhale upwards, nan during movement.

        Projected on the current breathing direction; empty until a direction is known.
        """
        b = self._buffer
        if self._direction is None or b.n == 0:
            return np.empty(0), np.empty(0)
        first = int(b.t[: b.n].searchsorted(b.t[b.n - 1] - seconds, side="right"))
        return b.t[first: b.n].copy(), b.bp[first: b.n] @ self._direction

    def _estimate(self, now: float) -> BreathingEstimate:
        if self._moving:
            return _invalid(now, "movement", True)
        b = self._buffer
        t, bp, seg = b.t[: b.n], b.bp[: b.n], b.seg[: b.n]
        still = ~np.isnan(bp[:, 0])
        in_window = still & (t > now - self.window_s)
        n_window = int(np.count_nonzero(in_window))
        if n_window < MIN_PCA_S * self.fs_hz:
            return _invalid(now, self._refill_reason, False)
        first = b.n - n_window
        # the window's samples: usually all the newest ones, then a view instead of a copy (same values)
        window: slice | np.ndarray = slice(first, b.n) if in_window[first:].all() else in_window
        direction = self._principal_axis(bp[window])
        y = bp @ direction  # nan while moving
        p10, p90 = _percentiles_10_90(y[window])
        threshold = max(HYSTERESIS_FRACTION * (p90 - p10), MIN_HYSTERESIS_MG)
        width = max(1, int(round(SMOOTH_FRACTION * self._spectral_period(y[window]) * self.fs_hz)) | 1)
        counted_until = self._evidence_end_t + 0.5 * MIN_PERIOD_S
        breaths = find_breaths(t, y, seg, still, threshold, width, counted_until)
        new = breaths.end_t > counted_until
        if new.any():
            shape = np.clip(breaths.shape[new], -SHAPE_CLIP, SHAPE_CLIP)
            self._evidence_sum += float(shape.sum())
            self._evidence_sum2 += float(shape @ shape)
            self._evidence_n += len(shape)
            self._evidence_end_t = float(breaths.end_t[new][-1])
        if self._shape_says_flip():
            direction, y = -direction, -y  # the faster half goes down: that is the inhale
            self._evidence_sum = -self._evidence_sum
            breaths = find_breaths(t, y, seg, still, threshold, width, math.inf)
        self._direction = direction
        if n_window < MIN_SPAN_S * self.fs_hz:
            return _invalid(now, self._refill_reason, False)
        # the complete breaths ending in the window (a dozen at most: plain Python beats numpy here)
        cutoff = now - self.window_s
        periods: list[float] = []  # s
        swings: list[float] = []  # mG
        for start, end, swing in zip(breaths.start_t.tolist(), breaths.end_t.tolist(), breaths.swing_mg.tolist(),
                                     strict=True):
            if end > cutoff and MIN_PERIOD_S <= end - start <= MAX_PERIOD_S:
                periods.append(end - start)
                swings.append(swing)
        count = len(periods)
        covered = _numpy_sum(periods)
        if count < MIN_BREATHS or covered < MIN_BREATH_COVERAGE * self.window_s:
            return _invalid(now, "too few breaths", False)
        rate_hz = count / covered
        gain = self._band_gain(rate_hz) * moving_average_gain(width, rate_hz / self.fs_hz)
        amplitude = _median(swings) / gain
        if amplitude < MIN_AMPLITUDE_MG:
            return _invalid(now, "no breathing movement", False)
        if math.isnan(breaths.last_start_t):
            return _invalid(now, self._refill_reason, False)
        last = periods[-PHASE_PERIODS:]
        phase_period = _numpy_sum(last) / len(last)  # their mean
        if now - breaths.last_start_t > STALE_PERIODS * phase_period:
            return _invalid(now, "no recent breath", False)
        delay = self._trough_delay(phase_period, width)
        phase = ((now - (breaths.last_start_t - delay)) / phase_period) % 1.0
        return BreathingEstimate(now, 60.0 * rate_hz, phase, amplitude, True, "", False, "acc")

    def _band_gain(self, rate_hz: float) -> float:
        """``abs(self._band.response(rate_hz, fs_hz))``; the last one is remembered (the rate
        changes only when a breath ends or leaves the window)."""
        last_rate, last_gain = self._last_gain
        if rate_hz == last_rate:
            return last_gain
        gain = abs(self._band.response(rate_hz, self.fs_hz))
        self._last_gain = (rate_hz, gain)
        return gain

    def _trough_delay(self, period_s: float, width: int) -> float:
        """How late (s) the band filter and the smoothing put the trough of a 40:60 breath of ``period_s``.

        The steady-state response to a periodic template breath (``breath_cycles.TEMPLATE_INHALE_SHARE``),
        computed harmonic by harmonic; for a sinusoid this is the filter's phase delay. The last
        result is remembered: the period changes only when a breath ends.
        """
        last_period, last_width, last_delay = self._last_delay
        if period_s == last_period and width == last_width:
            return last_delay
        delay = self._compute_trough_delay(period_s, width)
        self._last_delay = (period_s, width, delay)
        return delay

    def _compute_trough_delay(self, period_s: float, width: int) -> float:
        n = TEMPLATE.size
        harmonics = _HARMONIC_NUMBERS / period_s  # Hz
        gain = self._band.responses(harmonics, self.fs_hz)
        if width > 1:
            x = np.pi * harmonics / self.fs_hz
            x[0] = 1e-12
            gain *= np.sin(x * width) / (width * np.sin(x))  # the centred moving average: real, no delay
        filtered = np.fft.irfft(TEMPLATE_SPECTRUM * gain, n)
        k = int(filtered.argmin())
        a, b, c = filtered.item(k - 1), filtered.item(k), filtered.item((k + 1) % n)
        offset = 0.5 * (a - c) / (a - 2.0 * b + c) if a - 2.0 * b + c > 0.0 else 0.0
        delay = ((k + offset) / n) % 1.0
        return (delay - 1.0 if delay > 0.5 else delay) * period_s

    def _spectral_period(self, y: np.ndarray) -> float:
        """Period of the trace's highest spectral peak in the breathing band, s (only to size the smoothing)."""
        x = y - float(np.add.reduce(y)) / len(y)  # y.mean(), without its wrapper
        n = len(x)
        hann = self._hann.get(n)
        if hann is None:
            if len(self._hann) > 64:  # the window's length varies little: keep the few recent ones
                self._hann.clear()
            hann = self._hann[n] = np.hanning(n)
        size = 1 << max(12, (4 * n - 1).bit_length())  # zero-padded: bins of at most fs / 4096
        first = int(math.ceil(BAND_HZ[0] * size / self.fs_hz))
        last = int(BAND_HZ[1] * size / self.fs_hz)
        x *= hann  # in place: x is this call's own array
        power = np.abs(np.fft.rfft(x, size)[first: last + 1])  # only the band's bins
        power *= power  # ** 2, without another array
        peak = first + int(power.argmax())
        return size / (self.fs_hz * peak)

    def _shape_says_flip(self) -> bool:
        """The breaths' shape shows, beyond doubt, that the trace falls faster than it rises."""
        n = self._evidence_n
        if n < SIGN_MIN_BREATHS:
            return False
        mean = self._evidence_sum / n
        sd = math.sqrt(max(self._evidence_sum2 - n * mean * mean, 0.0) / (n - 1))
        return mean < -SIGN_EVIDENCE and mean * math.sqrt(n) < -SIGN_T * sd

    def _principal_axis(self, window_bp: np.ndarray) -> np.ndarray:
        """First principal axis of the band-passed window, its sign continuous with the previous one."""
        # window_bp.mean(axis=0): einsum adds the rows in the same order, at half the cost
        x = window_bp - np.einsum("ij->j", window_bp) / len(window_bp)
        _, vectors = self._eigh(x.T @ x)
        axis = vectors[:, -1]
        if self._direction is not None:
            return -axis if float(axis @ self._direction) < 0.0 else axis
        return -axis if axis[2] <= -SIGN_PRIOR_MIN_Z else axis  # first axis of a posture: the +z prior


