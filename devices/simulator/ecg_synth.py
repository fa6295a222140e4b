"""Synthetic chest ECG of the simulated Polar H10: the raw 130 Hz stream, in µV.

The generator never reads a clock. Beats are added as R-peak session times (the simulated
strap's ``SimBeat.t_end_s``) and samples are rendered by index: sample ``i`` is at session
time ``i / fs_hz``. The output for an index depends only on the seed and the beats, never
on how the caller slices :meth:`EcgSynth.render` calls.

Waveform
--------
Each beat is an ECGSYN-style sum of Gaussians (McSharry et al., IEEE TBME 50(3), 2003)
around its R peak, written in time rather than angle. At an RR of 1 s:

====  ==========  =========  =========
wave  amplitude   delay      width (σ)
====  ==========  =========  =========
P     +110 µV     -170 ms    30 ms
Q     -120 µV     -35 ms     10 ms
R     +1300 µV    0          11 ms
S     -320 µV     +35 ms     12 ms
T     +300 µV     +300 ms    55 ms
====  ==========  =========  =========

A chest lead like the H10's (a modified CM5): tall R, small Q, clear S, upright T. The RR
before the beat (clipped to 0.3..2.0 s) stretches the P and T delays and widths by
``RR ** 0.5`` (QT follows RR, as Bazett says) and the QRS by ``RR ** 0.1`` only. A beat of
kind ``"ectopic"`` is premature-ventricular-like: no P, a wide tall R (σ 30 ms, +1700 µV),
a deep wide S and a large inverted T (-600 µV, σ 80 ms). Every other kind
(normal, compensatory, missed, extra) draws a sinus beat: the kind tells the morphology,
not whether the strap detected it. So the caller adds real depolarisations only: not the
spurious first half of an ``"extra"`` pair (no heart beat there); and a ``"missed"`` beat
hides a real R the strap never reported, which only the caller can add.

Breathing
---------
``breath_phase`` is the breathing phase in cycles, wrapped to [0, 1) or unwrapped (a drop
is taken as a wrap, a rise as is), as :mod:`.physiology` defines it: RR is
longest at 0.25 (start of inhale) and shortest at 0.75 (end of inhale). The lung-volume
level is :func:`~.breath_shape.lung_level`, of the beat's ``inhale_share`` (0.5: symmetric,
``(1 - cos 2π(phase - 0.25)) / 2``): 0 at the start of an inhale, 1 at its end. It modulates the QRS
(Q, R and S) by ``1 + 0.07 (1 - 2 level)`` (for a symmetric breath ``1 + 0.07 cos 2π(phase - 0.25)``),
so R is 7 % taller on empty lungs and 7 % smaller on full ones (ECG-derived respiration),
and moves the baseline by ±30 µV (+30 at full lungs). Between beats the baseline's phase is
extrapolated from the last beat at the breathing rate seen over the last two beats, so it
only needs beats already added. A seeded two-sine drift (≤ 20 µV, 0.03 and 0.05 Hz) is added.

Noise, range, contact
---------------------
White Gaussian noise of 12 µV SD is drawn per sample index from a counter-based generator
(:class:`IndexedNormal`: Philox keyed by the seed, one counter block per 4096 samples), so
any slicing yields the same values. Samples are rounded to integer µV and clipped to
-8192..8191 µV: we assume the H10's 14-bit ECG resolution maps to 1 µV steps (Polar
documents "14 bit" and "µV", not the span). With ``contact=False`` the electrodes float:
the output is zero-mean noise of 5 µV SD, no beats and no baseline (our model; a real strap
may also stop streaming).

Contract
--------
Add beats in increasing time, each before rendering any sample later than its time minus
:data:`MAX_LEAD_S` (the caller keeps them :data:`LOOKAHEAD_S` = 1 s ahead). Render in
non-decreasing ``first_index``: beats whose waveform ends before the rendered range are
dropped (at most a handful are kept).

Thread: any (pure computation); one instance must be used by one thread at a time.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Final

import numpy as np

from .breath_shape import INHALE_START_PHASE, SYMMETRIC_SHARE
from .breath_shape import lung_level as lung_level  # re-exported: its home was here
from .physiology import BEAT_KINDS

ECG_FS_HZ: Final = 130.0  # Hz: the H10's ECG sample rate
ECG_MIN_UV: Final = -8192  # µV: assumed 14-bit span, 1 µV per step
ECG_MAX_UV: Final = 8191  # µV
LOOKAHEAD_S: Final = 1.0  # s: how far ahead of the rendered samples the caller adds beats
NOISE_UV: Final = 12.0  # µV: SD of the white measurement noise
NO_CONTACT_NOISE_UV: Final = 5.0  # µV: SD of the floating-electrode line
EDR_DEPTH: Final = 0.07  # fraction: QRS amplitude swing with breathing (±)
BASELINE_BREATH_UV: Final = 30.0  # µV: baseline excursion with lung volume (±)
DRIFT_WAVES: Final = ((12.0, 0.031), (8.0, 0.053))  # (µV, Hz): slow electrode drift
DEFAULT_RR_S: Final = 1.0  # s: RR assumed for the first beat's morphology
DEFAULT_BREATH_HZ: Final = 0.2  # Hz: breathing rate assumed until two beats are known
MAX_BREATH_HZ: Final = 0.7  # Hz: cap on the breathing rate estimated between beats
RR_SCALE_RANGE_S: Final = (0.3, 2.0)  # s: RR clip for the morphology scaling
GAUSS_SPAN: Final = 5.0  # σ: a wave is rendered within ± this many widths of its centre
NOISE_BLOCK: Final = 4096  # samples per counter block of the noise generator
_ECG_NOISE_STREAM: Final = 0xEC6


@dataclass(frozen=True, slots=True)
class Wave:
    """One Gaussian of a beat template (at RR = 1 s) and how it stretches with RR."""

    amp_uv: float  # µV
    delay_s: float  # s, relative to the R peak
    width_s: float  # s, the Gaussian's σ
    rr_exp: float  # delay and width scale with RR ** rr_exp
    qrs: bool  # part of the QRS (modulated by breathing)


SINUS_WAVES: Final = (
    Wave(110.0, -0.170, 0.030, 0.5, False),  # P
    Wave(-120.0, -0.035, 0.010, 0.1, True),  # Q
    Wave(1300.0, 0.0, 0.011, 0.1, True),  # R
    Wave(-320.0, 0.035, 0.012, 0.1, True),  # S
    Wave(300.0, 0.300, 0.055, 0.5, False),  # T
)
ECTOPIC_WAVES: Final = (
    Wave(1700.0, 0.0, 0.030, 0.1, True),  # wide R
    Wave(-600.0, 0.070, 0.030, 0.1, True),  # deep wide S
    Wave(-600.0, 0.320, 0.080, 0.5, False),  # large inverted T
)


def _extent(sign: float) -> float:
    """Farthest reach (s) of any template before (sign -1) or after (sign +1) its R peak."""
    rr_max = RR_SCALE_RANGE_S[1]
    return max(
        sign * (w.delay_s + sign * GAUSS_SPAN * w.width_s) * rr_max**w.rr_exp
        for w in (*SINUS_WAVES, *ECTOPIC_WAVES)
    )


MAX_LEAD_S: Final = _extent(-1.0)  # s: a beat's waveform starts at most this long before its R
MAX_TAIL_S: Final = _extent(+1.0)  # s: and ends at most this long after it


class IndexedNormal:
    """Standard normal values addressed by sample index: an index always gets the same value.

    Philox keyed by ``(seed, stream)``; sample block ``k`` (``NOISE_BLOCK`` samples) uses the
    counter ``[0, k, 0, 0]``. ``width`` values are drawn per index (e.g. 3 axes).
    """

    def __init__(self, seed: int, stream: int, width: int = 1) -> None:
        self._key = (int(seed) & 0xFFFF_FFFF_FFFF_FFFF, int(stream) & 0xFFFF_FFFF_FFFF_FFFF)
        self._width = int(width)
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()

    def _block(self, k: int) -> np.ndarray:
        block = self._cache.get(k)
        if block is None:
            bitgen = np.random.Philox(key=list(self._key), counter=[0, k & 0xFFFF_FFFF_FFFF_FFFF, 0, 0])
            block = np.random.Generator(bitgen).standard_normal((NOISE_BLOCK, self._width))
            self._cache[k] = block
            if len(self._cache) > 4:
                self._cache.popitem(last=False)
        return block

    def take(self, first_index: int, n: int) -> np.ndarray:
        """Values for indices ``first_index .. first_index + n - 1``: shape (n,) or (n, width)."""
        out = np.empty((n, self._width))
        i = 0
        while i < n:
            k, offset = divmod(first_index + i, NOISE_BLOCK)
            m = min(n - i, NOISE_BLOCK - offset)
            out[i:i + m] = self._block(k)[offset:offset + m]
            i += m
        return out[:, 0] if self._width == 1 else out


@dataclass(frozen=True, slots=True)
class _Beat:
    """An added beat: its R time, breathing state and its Gaussians as (amp, centre, σ)."""

    t_s: float
    phase: float  # unwrapped breathing phase at the R peak, cycles
    rate_hz: float  # breathing rate used to extrapolate the phase after the R peak
    inhale_share: float  # breath shape from the R peak on (0.5: symmetric)
    gaussians: tuple[tuple[float, float, float], ...]


class EcgSynth:
    """Renders the H10's raw ECG for the beats added so far (see the module docstring)."""

    def __init__(self, fs_hz: float = ECG_FS_HZ, seed: int = 0) -> None:
        if not (math.isfinite(fs_hz) and fs_hz > 0.0):
            raise ValueError(f"fs_hz must be positive, got {fs_hz!r}")
        self._fs = float(fs_hz)
        self._noise = IndexedNormal(seed, _ECG_NOISE_STREAM)
        phases = np.random.default_rng([int(seed) & 0xFFFF_FFFF, _ECG_NOISE_STREAM]).uniform(
            0.0, 2.0 * math.pi, len(DRIFT_WAVES)
        )
        self._drift = tuple((a, f, float(p)) for (a, f), p in zip(DRIFT_WAVES, phases))
        self._beats: deque[_Beat] = deque()
        self._last: _Beat | None = None
        self._last_phase_in = 0.0  # breath_phase as last passed to add_beat
        self._floor_index = 0

    @property
    def fs_hz(self) -> float:
        """Sample rate in Hz."""
        return self._fs

    def add_beat(self, t_s: float, kind: str = "normal", breath_phase: float = 0.0,
                 inhale_share: float = SYMMETRIC_SHARE) -> None:
        """Add an R peak at session time ``t_s`` (later than the previous one) of ``kind``, breathing at
        ``breath_phase`` with a breath of ``inhale_share`` (see :mod:`.breath_shape`)."""
        if kind not in BEAT_KINDS:
            raise ValueError(f"unknown beat kind {kind!r}")
        t = float(t_s)
        if not math.isfinite(t) or not math.isfinite(breath_phase):
            raise ValueError("beat time and breathing phase must be finite")
        last = self._last
        if last is not None and t <= last.t_s:
            raise ValueError(f"beats must be added in increasing time: {t} after {last.t_s}")
        if last is None:
            rr_s, phase, rate = DEFAULT_RR_S, float(breath_phase), DEFAULT_BREATH_HZ
        else:
            rr_s = t - last.t_s
            step = float(breath_phase) - self._last_phase_in
            phase = last.phase + (step if step >= 0.0 else step % 1.0)  # wrapped or unwrapped input
            rate = min(MAX_BREATH_HZ, (phase - last.phase) / rr_s)
        self._last_phase_in = float(breath_phase)
        if inhale_share == SYMMETRIC_SHARE:
            qrs_gain = 1.0 + EDR_DEPTH * math.cos(2.0 * math.pi * (phase - INHALE_START_PHASE))
        else:
            qrs_gain = 1.0 + EDR_DEPTH * (1.0 - 2.0 * float(lung_level(phase, inhale_share)))
        scale_rr = min(RR_SCALE_RANGE_S[1], max(RR_SCALE_RANGE_S[0], rr_s))
        gaussians = tuple(
            (
                w.amp_uv * (qrs_gain if w.qrs else 1.0),
                t + w.delay_s * scale_rr**w.rr_exp,
                w.width_s * scale_rr**w.rr_exp,
            )
            for w in (ECTOPIC_WAVES if kind == "ectopic" else SINUS_WAVES)
        )
        beat = _Beat(t_s=t, phase=phase, rate_hz=rate, inhale_share=float(inhale_share), gaussians=gaussians)
        self._beats.append(beat)
        self._last = beat

    def render(self, first_index: int, n: int, contact: bool = True) -> np.ndarray:
        """``n`` samples (int64 µV) for indices ``first_index ..``; ``first_index`` never decreases."""
        if first_index < 0 or n < 0:
            raise ValueError(f"first_index and n must be >= 0, got {first_index}, {n}")
        if first_index < self._floor_index:
            raise ValueError(f"render went back to index {first_index} after {self._floor_index}")
        self._floor_index = first_index
        t = np.arange(first_index, first_index + n, dtype=np.float64) / self._fs
        self._prune(first_index / self._fs)
        noise = self._noise.take(first_index, n)
        if not contact:
            y = NO_CONTACT_NOISE_UV * noise
        else:
            y = np.zeros(n)
            for beat in self._beats:
                for amp, centre, sigma in beat.gaussians:
                    lo = int(np.searchsorted(t, centre - GAUSS_SPAN * sigma, side="left"))
                    hi = int(np.searchsorted(t, centre + GAUSS_SPAN * sigma, side="right"))
                    if lo < hi:
                        y[lo:hi] += amp * np.exp(-0.5 * ((t[lo:hi] - centre) / sigma) ** 2)
            y += self._baseline(t)
            y += NOISE_UV * noise
        return np.clip(np.rint(y), ECG_MIN_UV, ECG_MAX_UV).astype(np.int64)

    def _prune(self, t_first: float) -> None:
        """Drop beats that can no longer touch samples at or after ``t_first``.

        The last beat at or before ``t_first`` stays: the baseline extrapolates from it.
        """
        beats = self._beats
        while len(beats) >= 2 and beats[1].t_s <= t_first and beats[0].t_s + MAX_TAIL_S < t_first:
            beats.popleft()

    def _baseline(self, t: np.ndarray) -> np.ndarray:
        """Breathing-linked baseline (phase extrapolated from the last beat) plus slow drift."""
        out = np.zeros(len(t))
        beats = list(self._beats)
        for k, beat in enumerate(beats):
            lo = int(np.searchsorted(t, beat.t_s, side="left"))
            hi = len(t) if k + 1 == len(beats) else int(np.searchsorted(t, beats[k + 1].t_s, side="left"))
            if lo < hi:
                phase = beat.phase + beat.rate_hz * (t[lo:hi] - beat.t_s)
                out[lo:hi] = BASELINE_BREATH_UV * (2.0 * lung_level(phase, beat.inhale_share) - 1.0)
        for amp, freq, phase0 in self._drift:
            out += amp * np.sin(2.0 * math.pi * freq * t + phase0)
        return out
