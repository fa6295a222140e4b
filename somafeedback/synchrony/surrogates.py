"""The chance level: segment-shuffled surrogates (SUSY-style, Tschacher & Meier 2020).

Each surrogate pairs A's heart rate in one window with B's widened segment from another window
that shares no sample with it (their starts at least window + 2 x max lag apart), and takes the
peak |z| of that pair exactly as for a real window. ``settings.surrogates`` pairs are drawn with
a seeded generator. From their peak |z| values:

* threshold = the k-th smallest, k = ceil((1 - alpha)(n + 1)): a real window "stands out" when
  its peak |z| is above it; for two unrelated series a window and the surrogates are
  exchangeable, so at most alpha of windows stand out by chance;
* effect size = (mean peak |z| of the real windows - mean of the surrogates) / SD of the surrogates.

:func:`chance_level` is a pure function of arrays (no shared state), so a caller may run it on a
worker thread or process while beats keep arriving.

Thread: any (pure).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .crosscorr import fisher_z, lagged_r, peaks
from .settings import SynchronySettings
from .windows import SyncWindow

BATCH_PAIRS = 256  # surrogate pairs correlated per numpy call (bounds the memory: ~10 MB)


@dataclass(frozen=True, slots=True)
class ChanceLevel:
    """The surrogate distribution's summary: threshold, mean and SD of peak |z| (None: too few windows)."""

    threshold_z: float | None
    mean_z: float | None
    sd_z: float | None
    surrogates: int
    seed: int
    windows: int  # real windows the surrogates were drawn from

    def as_dict(self) -> dict[str, Any]:
        return {"threshold_abs_z": self.threshold_z, "mean_abs_z": self.mean_z, "sd_abs_z": self.sd_z,
                "surrogates": self.surrogates, "seed": self.seed, "from_windows": self.windows}


def segments(windows: Sequence[SyncWindow]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A segments, B widened segments, window indices) of the windows with a value, as arrays."""
    usable = [w for w in windows if w.a_hr is not None and w.b_hr is not None]
    if not usable:
        return np.empty((0, 0)), np.empty((0, 0)), np.empty(0, dtype=int)
    return (np.stack([w.a_hr for w in usable]), np.stack([w.b_hr for w in usable]),  # type: ignore[misc]
            np.array([w.index for w in usable]))


def surrogate_abs_z(a_segments: np.ndarray, b_segments: np.ndarray, indices: np.ndarray,
                    settings: SynchronySettings) -> np.ndarray:
    """Peak |z| of ``settings.surrogates`` non-overlapping (A window, B segment) pairs; empty when none exist."""
    min_apart = math.ceil((settings.window_s + 2 * settings.max_lag_s) / settings.step_s - 1e-9)
    if len(indices) < 2 or int(indices.max() - indices.min()) < min_apart:
        return np.empty(0)
    rng = np.random.default_rng(settings.seed)
    i_all, j_all = [], []
    need = settings.surrogates
    while need > 0:  # rejection sampling of pairs far enough apart
        i = rng.integers(0, len(indices), size=2 * need)
        j = rng.integers(0, len(indices), size=2 * need)
        ok = np.abs(indices[i] - indices[j]) >= min_apart
        i_all.append(i[ok][:need])
        j_all.append(j[ok][:need])
        need -= len(i_all[-1])
    i, j = np.concatenate(i_all), np.concatenate(j_all)
    out = np.empty(len(i))
    for start in range(0, len(i), BATCH_PAIRS):
        part = slice(start, start + BATCH_PAIRS)
        peak, _ = peaks(lagged_r(a_segments[i[part]], b_segments[j[part]]))
        out[part] = np.abs(fisher_z(peak))
    return out


def chance_level(a_segments: np.ndarray, b_segments: np.ndarray, indices: np.ndarray,
                 settings: SynchronySettings) -> ChanceLevel:
    """The chance level of a recording so far from its windows' segments (see :func:`segments`)."""
    values = surrogate_abs_z(a_segments, b_segments, indices, settings)
    if len(values) == 0:
        return ChanceLevel(None, None, None, 0, settings.seed, len(indices))
    k = math.ceil((1.0 - settings.alpha) * (len(values) + 1))
    threshold = float(np.sort(values)[min(k, len(values)) - 1])
    return ChanceLevel(threshold, float(values.mean()), float(values.std(ddof=1)), len(values), settings.seed,
                       len(indices))


def windows_chance_level(windows: Sequence[SyncWindow], settings: SynchronySettings) -> ChanceLevel:
    """The chance level of these windows (a worker's job: the segments are stacked there, not by the caller)."""
    return chance_level(*segments(windows), settings)


def stands_out(window: SyncWindow, chance: ChanceLevel) -> bool | None:
    """Whether the window's peak |z| is above the chance threshold (None: no value or no chance level)."""
    if window.z is None or chance.threshold_z is None:
        return None
    return abs(window.z) > chance.threshold_z
