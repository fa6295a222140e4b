"""Dyads for the synchrony tests: synthetic heart rates with a known relation, and real recordings cut to length."""

from __future__ import annotations

import numpy as np

from somafeedback.synchrony.beats import Beats

FS = 4.0  # Hz, the synthetic heart rate's own grid


def smooth_noise(duration_s: float, seed: int, sd_bpm: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """A non-periodic heart-rate wobble (Gaussian-smoothed noise, ~2.5 s) plus a 15 breaths/min RSA ripple."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * FS) + 400
    kernel = np.exp(-0.5 * (np.arange(-40, 41) / 10.0) ** 2)
    slow = np.convolve(rng.normal(size=n), kernel / kernel.sum(), mode="same")
    ripple = 0.6 * np.sin(2 * np.pi * 0.25 * np.arange(n) / FS + rng.uniform(0, 6))
    return np.arange(n) / FS - 50.0, sd_bpm * slow / slow.std() + ripple


def beats_following(grid_s: np.ndarray, hr_bpm: np.ndarray, duration_s: float, seed: int, jitter_ms: float = 4.0) -> Beats:
    """Beats whose RR follows the heart-rate curve, with beat-to-beat jitter, judged by the hrv artifact rule."""
    rng = np.random.default_rng(seed)
    t, rr = [0.3], []
    while t[-1] < duration_s:
        interval = 60000.0 / np.interp(t[-1], grid_s, hr_bpm) + rng.normal(0, jitter_ms)
        rr.append(interval)
        t.append(t[-1] + interval / 1000.0)
    return Beats.judged(np.array(t[1:]), np.array(rr))


def cut(rr_ms: np.ndarray, start_min: float, minutes: float = 20.0) -> Beats:
    """``minutes`` of a real recording from ``start_min``, its times from its first beat."""
    t = np.cumsum(rr_ms) / 1000.0
    inside = (t >= start_min * 60) & (t < (start_min + minutes) * 60)
    return Beats.judged(t[inside] - t[inside][0] + 0.5, rr_ms[inside])
