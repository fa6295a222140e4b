"""Synthetic chest accelerometer of the simulated Polar H10: 3 axes in mG at 25..200 Hz.

The generator never reads a clock: sample ``i`` is at session time ``i / fs_hz`` and its
value depends only on the seed, the schedule (postures, movements) and the breathing phase
the caller passes for it, never on how the caller slices :meth:`AccSynth.render` calls.

Model (per sample, in mG)
-------------------------
* Posture: the gravity vector. :meth:`AccSynth.set_posture` moves it to a new vector along
  a smoothstep over :data:`POSTURE_RAMP_S` (direction and magnitude interpolated
  separately, so the magnitude stays near 1 g while the body turns).
* Breathing: ``breath_depth_mg * (lung_level(cycles, inhale_share) - 0.5)`` along a fixed unit direction
  drawn from the seed (every component between 0.2 and 0.85 in size: never along an axis; its z
  component positive, since breathing in moves a chest strap out of the chest, the H10's +z).
  ``breath_depth_mg`` is therefore the peak-to-peak excursion and the term averages to zero
  over a breath, so the mean vector is the posture. The phase convention is
  :mod:`.physiology`'s: RR is longest at phase 0.25 and shortest at 0.75 "the end of an
  inhale", so the symmetric breath's inhale runs from 0.25 to 0.75 and
  :func:`~.breath_shape.lung_level` = ``(1 - cos 2π(phase - 0.25)) / 2`` is 0 at phase 0.25 (start of
  inhale) and 1 at 0.75 (end of inhale). A breath of another ``inhale_share`` (per sample, e.g. 0.4
  while following a 40:60 pacer) rises from 0.25 to 0.25 + share and falls for the rest (see
  :mod:`.breath_shape`).
* Movement: :meth:`AccSynth.add_movement` schedules a burst of broadband motion: white noise
  drawn per sample index, band-passed to 1..8 Hz (capped at 0.4 fs) by a windowed-sinc FIR
  of unit gain, so its RMS on each axis is ``intensity_mg``; 0.25 s raised-cosine edges.
* Noise: white, 2 mG SD per axis, drawn per sample index (counter-based, see
  :class:`~.ecg_synth.IndexedNormal`).

The sum is rounded to integer mG and clipped to ±8000 mG (the H10's widest range, 8 g).
Schedule postures and movements before rendering past their start: a change scheduled
inside an already rendered range only shows in the samples rendered afterwards.

Thread: any (pure computation); one instance must be used by one thread at a time.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from .breath_shape import lung_level
from .ecg_synth import IndexedNormal

ACC_FS_RANGE_HZ: Final = (25.0, 200.0)  # Hz: the H10 offers 25, 50, 100 and 200
ACC_LIMIT_MG: Final = 8000  # mG: ±8 g, the H10's widest range
NOISE_MG: Final = 2.0  # mG: SD of the white sensor noise per axis
POSTURE_RAMP_S: Final = 1.0  # s: duration of a posture change
MOVE_BAND_HZ: Final = (1.0, 8.0)  # Hz: pass band of movement bursts
MOVE_BAND_MAX_FRACTION: Final = 0.4  # upper band edge at most this fraction of fs
MOVE_FIR_S: Final = 3.0  # s: length of the movement band-pass FIR
MOVE_EDGE_S: Final = 0.25  # s: raised-cosine rise and fall of a burst
DIRECTION_COMPONENT: Final = (0.2, 0.85)  # |component| bounds of the breathing direction
_NOISE_STREAM: Final = 0xACC0
_DIRECTION_STREAM: Final = 0xACC1
_MOVE_STREAM: Final = 0xACC2  # + burst number


@dataclass(frozen=True, slots=True)
class _Burst:
    start_s: float
    end_s: float
    intensity_mg: float
    noise: IndexedNormal


def breathing_rate_truth(t_s: np.ndarray, breath_cycles: np.ndarray) -> float:
    """Mean breathing rate (breaths/min) over unwrapped ``breath_cycles`` at times ``t_s``."""
    t = np.asarray(t_s, dtype=np.float64)
    c = np.asarray(breath_cycles, dtype=np.float64)
    if t.shape != c.shape or t.ndim != 1 or len(t) < 2 or not t[-1] > t[0]:
        raise ValueError("need two or more matching samples spanning a positive time")
    return float((c[-1] - c[0]) / (t[-1] - t[0]) * 60.0)


def _gravity_vector(gravity_mg: tuple[float, float, float] | np.ndarray) -> np.ndarray:
    g = np.asarray(gravity_mg, dtype=np.float64)
    if g.shape != (3,) or not np.all(np.isfinite(g)) or not np.linalg.norm(g) > 0.0:
        raise ValueError(f"gravity must be a finite non-zero 3-vector in mG, got {gravity_mg!r}")
    return g


def _bandpass_fir(fs_hz: float) -> np.ndarray:
    """Hamming-windowed sinc band-pass (MOVE_BAND_HZ) normalised to unit noise gain."""
    low = MOVE_BAND_HZ[0]
    high = min(MOVE_BAND_HZ[1], MOVE_BAND_MAX_FRACTION * fs_hz)
    half = int(round(MOVE_FIR_S * fs_hz / 2))
    n = np.arange(-half, half + 1, dtype=np.float64)
    h = 2 * high / fs_hz * np.sinc(2 * high / fs_hz * n) - 2 * low / fs_hz * np.sinc(2 * low / fs_hz * n)
    h *= np.hamming(len(n))
    return h / np.sqrt(np.sum(h * h))


class AccSynth:
    """Renders the H10's chest acceleration (see the module docstring)."""

    def __init__(
        self,
        fs_hz: float = 25.0,
        seed: int = 0,
        gravity_mg: tuple[float, float, float] = (-30.0, 980.0, 150.0),
        breath_depth_mg: float = 12.0,
    ) -> None:
        if not ACC_FS_RANGE_HZ[0] <= fs_hz <= ACC_FS_RANGE_HZ[1]:
            raise ValueError(f"fs_hz {fs_hz!r} outside {ACC_FS_RANGE_HZ[0]:g}..{ACC_FS_RANGE_HZ[1]:g}")
        if not (math.isfinite(breath_depth_mg) and breath_depth_mg >= 0.0):
            raise ValueError(f"breath_depth_mg must be >= 0, got {breath_depth_mg!r}")
        self._fs = float(fs_hz)
        self._seed = int(seed)
        self._gravity0 = _gravity_vector(gravity_mg)
        self._depth = float(breath_depth_mg)
        self._noise = IndexedNormal(seed, _NOISE_STREAM, width=3)
        self._direction = self._draw_direction()
        self._fir = _bandpass_fir(self._fs)
        self._postures: list[tuple[float, int, np.ndarray]] = []  # (at_s, order, gravity)
        self._bursts: list[_Burst] = []

    @property
    def fs_hz(self) -> float:
        """Sample rate in Hz."""
        return self._fs

    @property
    def breath_direction(self) -> np.ndarray:
        """Unit vector along which breathing moves the chest (a copy)."""
        return self._direction.copy()

    def set_posture(self, at_s: float, gravity_mg: tuple[float, float, float]) -> None:
        """From session time ``at_s``, turn to the gravity vector ``gravity_mg`` over POSTURE_RAMP_S."""
        if not math.isfinite(at_s):
            raise ValueError(f"at_s must be finite, got {at_s!r}")
        entry = (float(at_s), len(self._postures), _gravity_vector(gravity_mg))
        bisect.insort(self._postures, entry, key=lambda e: (e[0], e[1]))

    def add_movement(self, start_s: float, duration_s: float, intensity_mg: float) -> None:
        """Schedule a 1..8 Hz movement burst of RMS ``intensity_mg`` per axis over ``duration_s``."""
        if not (math.isfinite(start_s) and math.isfinite(duration_s) and duration_s > 0.0):
            raise ValueError(f"need a finite start and a positive duration, got {start_s!r}, {duration_s!r}")
        if not (math.isfinite(intensity_mg) and intensity_mg >= 0.0):
            raise ValueError(f"intensity_mg must be >= 0, got {intensity_mg!r}")
        noise = IndexedNormal(self._seed, _MOVE_STREAM + len(self._bursts), width=3)
        self._bursts.append(_Burst(float(start_s), float(start_s + duration_s), float(intensity_mg), noise))

    def render(self, first_index: int, n: int, breath_cycles: np.ndarray, depth: np.ndarray | None = None,
               inhale_share: np.ndarray | None = None) -> np.ndarray:
        """``(n, 3)`` int64 mG for indices ``first_index ..``, breathing at ``breath_cycles`` (unwrapped),
        the breathing's amplitude times ``depth`` per sample (None: as set), each breath of
        ``inhale_share`` per sample (None: symmetric)."""
        if first_index < 0 or n < 0:
            raise ValueError(f"first_index and n must be >= 0, got {first_index}, {n}")
        cycles = np.asarray(breath_cycles, dtype=np.float64)
        if cycles.shape != (n,) or not np.all(np.isfinite(cycles)):
            raise ValueError(f"breath_cycles must be {n} finite values")
        t = np.arange(first_index, first_index + n, dtype=np.float64) / self._fs
        acc = self._gravity(t)
        breathing = self._depth * (lung_level(cycles, inhale_share) - 0.5)
        if depth is not None:
            breathing = breathing * np.asarray(depth, dtype=np.float64)
        acc += breathing[:, None] * self._direction
        for burst in self._bursts:
            self._add_burst(acc, burst, first_index, t)
        acc += NOISE_MG * self._noise.take(first_index, n)
        return np.clip(np.rint(acc), -ACC_LIMIT_MG, ACC_LIMIT_MG).astype(np.int64)

    # ------------------------------------------------------------------ internals

    def _draw_direction(self) -> np.ndarray:
        rng = np.random.default_rng([self._seed & 0xFFFF_FFFF, _DIRECTION_STREAM])
        lo, hi = DIRECTION_COMPONENT
        while True:
            v = rng.standard_normal(3)
            v /= np.linalg.norm(v)
            if np.all((np.abs(v) >= lo) & (np.abs(v) <= hi)):
                return v if v[2] > 0.0 else -v  # breathing in moves the strap out of the chest (+z)

    def _gravity(self, t: np.ndarray) -> np.ndarray:
        """Posture gravity at each time: the scheduled changes blended in order."""
        g = np.tile(self._gravity0, (len(t), 1))
        for at_s, _, target in self._postures:
            x = np.clip((t - at_s) / POSTURE_RAMP_S, 0.0, 1.0)
            w = (x * x * (3.0 - 2.0 * x))[:, None]
            norm_g = np.linalg.norm(g, axis=1, keepdims=True)
            norm_target = float(np.linalg.norm(target))
            direction = (1.0 - w) * (g / norm_g) + w * (target / norm_target)
            length = np.linalg.norm(direction, axis=1, keepdims=True)
            safe = np.where(length > 0.0, length, 1.0)  # opposite vectors: pass through zero
            blended = direction / safe * ((1.0 - w) * norm_g + w * norm_target)
            g = np.where(w <= 0.0, g, np.where(w >= 1.0, target, blended))
        return g

    def _add_burst(self, acc: np.ndarray, burst: _Burst, first_index: int, t: np.ndarray) -> None:
        """Add ``burst``'s band-passed noise to the samples of ``acc`` it covers."""
        lo = int(np.searchsorted(t, burst.start_s, side="left"))
        hi = int(np.searchsorted(t, burst.end_s, side="right"))
        if lo >= hi:
            return
        taps = len(self._fir)
        raw = burst.noise.take(first_index + lo - (taps - 1), hi - lo + taps - 1)
        filtered = np.stack([np.convolve(raw[:, axis], self._fir, mode="valid") for axis in range(3)], axis=1)
        edge = min(MOVE_EDGE_S, 0.5 * (burst.end_s - burst.start_s))
        tt = t[lo:hi]
        rise = np.clip((tt - burst.start_s) / edge, 0.0, 1.0)
        fall = np.clip((burst.end_s - tt) / edge, 0.0, 1.0)
        envelope = 0.5 * (1.0 - np.cos(math.pi * np.minimum(rise, fall)))
        acc[lo:hi] += (burst.intensity_mg * envelope)[:, None] * filtered
