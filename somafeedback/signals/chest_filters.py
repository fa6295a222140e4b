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

    ``linear_filter`` is scipy's compiled ``lfilter`` core (``scipy.signal._sigtools._linear_filter``,
    called as ``(b, a, x, axis, zi) -> (y, zf)``): the public ``lfilter`` only checks its
    arguments and calls it, and on frames of a few dozen samples that checking costs about
    twice the filtering. One call per stage costs about a quarter of one ``sosfilt`` call.
    """

    def __init__(self, stages: list[tuple[np.ndarray, np.ndarray]], linear_filter: Callable[..., Any],
                 lfilter_zi: Callable[..., np.ndarray]) -> None:
        self._stages = [(np.ascontiguousarray(b, dtype=np.float64), np.ascontiguousarray(a, dtype=np.float64))
                        for b, a in stages]
        self._linear_filter = linear_filter
        self._units: list[np.ndarray] = []  # each stage's steady state per unit of constant input
        gain = 1.0
        for b, a in self._stages:
            self._units.append(lfilter_zi(b, a)[:, None] * gain)
            gain *= float(np.sum(b) / np.sum(a))
        self.state: list[np.ndarray] = [np.zeros((len(a) - 1, 3)) for _, a in self._stages]
        # rows b, a of each stage, from the highest power of z^-1 down (as np.polyval takes them),
        # padded in front with zeros to the longest
        order = max(max(len(b), len(a)) for b, a in self._stages)
        horner = np.zeros((2 * len(self._stages), order))
        for k, (b, a) in enumerate(self._stages):
            horner[2 * k, order - len(b):] = b[::-1]
            horner[2 * k + 1, order - len(a):] = a[::-1]
        self._horner_columns = [horner[:, j: j + 1].copy() for j in range(order)]  # each (rows, 1)

    def steady(self, x0: np.ndarray) -> None:
        """The states of a long constant input ``x0`` (3,): no transient when it continues."""
        self.state = [unit * x0 for unit in self._units]

    def run(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Filtered ``x`` (n, 3) and the states after it (``state`` is left unchanged)."""
        states = []
        for (b, a), zi in zip(self._stages, self.state, strict=True):
            x, z = self._linear_filter(b, a, x, 0, zi)
            states.append(z)
        return x, states

    def response(self, f_hz: float, fs_hz: float) -> complex:
        """Complex frequency response at ``f_hz``."""
        return complex(self.responses(np.array([f_hz]), fs_hz)[0])

    def responses(self, f_hz: np.ndarray, fs_hz: float) -> np.ndarray:
        """Complex frequency response at each of ``f_hz``."""
        z1 = np.exp(-2j * math.pi * f_hz / fs_hz)  # z^-1
        # every stage's numerator and denominator at once: np.polyval's Horner steps, row by row
        # (a leading zero coefficient leaves 0 * z + 0 = 0 exactly, so shorter rows come out the same)
        rows = np.zeros((len(self._horner_columns[0]), len(z1)), dtype=complex)
        for column in self._horner_columns:
            rows = rows * z1 + column
        h = np.ones(len(f_hz), dtype=complex)
        for k in range(0, len(rows), 2):
            h *= rows[k] / rows[k + 1]
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
