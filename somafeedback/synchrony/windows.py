"""Windowed cross-correlation of two heart rates (Boker et al. 2002): one window, and all of them.

Window k covers A's heart rate over [origin + k step, + window) and B's over the same span
widened by the max lag on each side; ``origin`` is the first whole second at which both
people's accepted beats cover the widest lag plus the spline margin. A window is computed from
the beats near it only (:func:`~.beats.heart_rate_over`), so the live tracker and a whole
recording give identical windows.

Thread: any (pure).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .beats import Beats, heart_rate_over
from .confounds import ConfoundSpans, window_confounds
from .crosscorr import fisher_z, lagged_r, peaks
from .settings import SynchronySettings


@dataclass(frozen=True, slots=True)
class SyncWindow:
    """One window's signed peak correlation and lag, its confounds, and the segments behind it."""

    index: int
    start_s: float
    end_s: float
    r: float | None  # signed peak r (None: a person's beats do not cover the window)
    z: float | None  # Fisher z of r
    lag_s: float | None  # > 0: B follows A
    r_at_zero_lag: float | None
    confounds: tuple[str, ...]
    a_hr: np.ndarray | None  # A's HR over the window (bpm): the surrogates reuse it
    b_hr: np.ndarray | None  # B's HR over the widened span (bpm)
    above_chance: bool | None = None  # None until a chance level is known

    def row(self) -> dict[str, Any]:
        """The JSON / CSV row."""
        return {"start_s": self.start_s, "end_s": self.end_s, "r": self.r, "z": self.z, "lag_s": self.lag_s,
                "r_at_zero_lag": self.r_at_zero_lag, "above_chance": self.above_chance,
                "confounds": list(self.confounds)}


def origin_s(a: Beats, b: Beats, settings: SynchronySettings) -> float | None:
    """Start of window 0: both first accepted beats plus the max lag and margin, up to a whole second."""
    first_a, first_b = a.first_accepted_s(), b.first_accepted_s()
    if first_a is None or first_b is None:
        return None
    return float(math.ceil(max(first_a, first_b) + settings.max_lag_s + settings.margin_s))


def ready_until_s(a: Beats, b: Beats, settings: SynchronySettings) -> float:
    """Windows ending (with lag and margin) by the earlier of the two last beats can be computed."""
    last_a, last_b = a.last_s(), b.last_s()
    if last_a is None or last_b is None:
        return -math.inf
    return min(last_a, last_b) - settings.max_lag_s - settings.margin_s


def windows_ready(origin: float, ready_until: float, settings: SynchronySettings) -> int:
    """How many windows from ``origin`` end (with lag and margin) by ``ready_until``."""
    return max(0, int(math.floor((ready_until - origin - settings.window_s) / settings.step_s + 1e-9)) + 1)


def window_start(origin: float, index: int, settings: SynchronySettings) -> float:
    return origin + index * settings.step_s


def compute_window(a: Beats, b: Beats, origin: float, index: int, settings: SynchronySettings,
                   spans: ConfoundSpans) -> SyncWindow:
    """Window ``index`` from the two beat series (which must hold every beat near it)."""
    n, m, fs = settings.window_samples, settings.lag_samples, settings.fs_hz
    start = window_start(origin, index, settings)
    end = start + settings.window_s
    a_span = heart_rate_over(a, start, n, fs, settings.margin_s, settings.max_bridge_s)
    b_span = heart_rate_over(b, start - m / fs, n + 2 * m, fs, settings.margin_s, settings.max_bridge_s)
    artifacts = (a_span.gap or b_span.gap or a_span.artifact_pct > settings.max_artifact_pct
                 or b_span.artifact_pct > settings.max_artifact_pct)
    confounds = window_confounds(spans, start, end, artifacts)
    if a_span.hr_bpm is None or b_span.hr_bpm is None:
        return SyncWindow(index, start, end, None, None, None, None, confounds, None, None)
    r = lagged_r(a_span.hr_bpm, b_span.hr_bpm)
    peak, lag_index = peaks(r)
    return SyncWindow(index, start, end, float(peak), float(fisher_z(peak)), (int(lag_index) - m) / fs,
                      float(r[m]), confounds, a_span.hr_bpm, b_span.hr_bpm)


def compute_windows(a: Beats, b: Beats, origin: float, first: int, stop: int, settings: SynchronySettings,
                    spans: ConfoundSpans) -> list[SyncWindow]:
    """Windows ``first`` .. ``stop - 1`` (a worker's job: plain arrays and frozen settings in, windows out)."""
    return [compute_window(a, b, origin, k, settings, spans) for k in range(first, stop)]


def all_windows(a: Beats, b: Beats, settings: SynchronySettings, spans: ConfoundSpans = ConfoundSpans()) -> list[SyncWindow]:
    """Every window two whole recordings allow (before any chance level)."""
    origin = origin_s(a, b, settings)
    if origin is None:
        return []
    return compute_windows(a, b, origin, 0, windows_ready(origin, ready_until_s(a, b, settings), settings), settings,
                           spans)


def lag_grid_s(settings: SynchronySettings) -> np.ndarray:
    """The lags (s) of :func:`~.crosscorr.lagged_r`'s columns."""
    m = settings.lag_samples
    return np.arange(-m, m + 1) / settings.fs_hz
