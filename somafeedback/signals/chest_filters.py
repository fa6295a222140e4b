"""Streaming plumbing of the chest-motion analysis: IIR filters with carried state over three axes, recent samples.

:class:`FilterCascade` runs a chain of low-order IIR stages frame by frame (and starts them
in the steady state of a constant input, so a restart leaves no transient);
:class:`SampleBuffer` keeps the recent band-passed samples with their segment number.
Used by :class:`.chest_motion.ChestMotion`.

Thread: any, one at a time (each instance belongs to one :class:`~.chest_motion.ChestMotion`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np


class FilterCascade:
    """IIR stages (b, a) of order <= 2 run along axis 0 with carried states.

    One ``lfilter`` call per stage costs about a quarter of one ``sosfilt`` call on frames
    of a few dozen samples (call overhead dominates there).
    """

    def __init__(self, stages: list[tuple[np.ndarray, np.ndarray]], lfilter: Callable[..., Any],
                 lfilter_zi: Callable[..., np.ndarray]) -> None:
        self._stages = stages
        self._lfilter = lfilter
        self._units: list[np.ndarray] = []  # each stage's steady state per unit of constant input
        gain = 1.0
        for b, a in stages:
            self._units.append(lfilter_zi(b, a)[:, None] * gain)
            gain *= float(np.sum(b) / np.sum(a))
        self.state: list[np.ndarray] = [np.zeros((len(a) - 1, 3)) for _, a in stages]

    def steady(self, x0: np.ndarray) -> None:
        """The states of a long constant input ``x0`` (3,): no transient when it continues."""
        self.state = [unit * x0 for unit in self._units]

    def run(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Filtered ``x`` (n, 3) and the states after it (``state`` is left unchanged)."""
        states = []
        for (b, a), zi in zip(self._stages, self.state, strict=True):
            x, z = self._lfilter(b, a, x, axis=0, zi=zi)
            states.append(z)
        return x, states

    def response(self, f_hz: float, fs_hz: float) -> complex:
        """Complex frequency response at ``f_hz``."""
        return complex(self.responses(np.array([f_hz]), fs_hz)[0])

    def responses(self, f_hz: np.ndarray, fs_hz: float) -> np.ndarray:
        """Complex frequency response at each of ``f_hz``."""
        z1 = np.exp(-2j * math.pi * f_hz / fs_hz)  # z^-1
        h = np.ones(len(f_hz), dtype=complex)
        for b, a in self._stages:
            h *= np.polyval(b[::-1], z1) / np.polyval(a[::-1], z1)
        return h


class SampleBuffer:
    """Recent samples: time (s), band-passed acc (mG; nan while moving), segment number."""

    def __init__(self, capacity: int) -> None:
        self.t = np.empty(capacity)
        self.bp = np.empty((capacity, 3))
        self.seg = np.empty(capacity, dtype=np.int64)
        self.n = 0

    def append(self, t: np.ndarray, bp: np.ndarray, seg: int, keep_after_s: float) -> None:
        m = len(t)
        if self.n + m > len(self.t):
            drop = int(np.searchsorted(self.t[: self.n], keep_after_s, side="right"))
            kept = self.n - drop
            self.t[:kept] = self.t[drop: self.n]
            self.bp[:kept] = self.bp[drop: self.n]
            self.seg[:kept] = self.seg[drop: self.n]
            self.n = kept
            if self.n + m > len(self.t):  # denser than the nominal rate: grow
                size = 2 * (self.n + m)
                self.t = np.resize(self.t, size)
                self.bp = np.resize(self.bp, (size, 3))
                self.seg = np.resize(self.seg, size)
        self.t[self.n: self.n + m] = t
        self.bp[self.n: self.n + m] = bp
        self.seg[self.n: self.n + m] = seg
        self.n += m
