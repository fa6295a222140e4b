"""One person's beats on the common time axis, and their heart rate resampled over a span.

Only ACCEPTED beats make the heart rate: the flags are the hrv artifact rule's verdicts
(:func:`~somafeedback.hrv.artifacts.flag_artifacts` for a file, the live pipeline's for a
strap); flagged beats are kept, counted and bridged by the spline, never used as values.
Beat times are where each beat ends its RR interval, in seconds on the dyad's common axis
(never BLE arrival times).

Thread: any (pure, except :class:`BeatBuffer`, which belongs to one caller).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from somafeedback.hrv.artifacts import flag_artifacts
from somafeedback.hrv.tachogram import MIN_BEATS, interpolant

MS_PER_MIN = 60000.0


@dataclass(frozen=True)
class Beats:
    """Beat times (s, increasing), RR (ms) and the artifact verdict of each beat."""

    t_s: np.ndarray
    rr_ms: np.ndarray
    flagged: np.ndarray

    @classmethod
    def judged(cls, t_s: np.ndarray, rr_ms: np.ndarray) -> Beats:
        """Beats judged by the hrv artifact rule (as ``analyze`` judges an RR file)."""
        rr = np.asarray(rr_ms, dtype=np.float64)
        return cls(np.asarray(t_s, dtype=np.float64), rr, flag_artifacts(rr))

    def shifted(self, offset_s: float) -> Beats:
        return Beats(self.t_s + offset_s, self.rr_ms, self.flagged)

    def first_accepted_s(self) -> float | None:
        accepted = np.flatnonzero(~self.flagged)
        return float(self.t_s[accepted[0]]) if len(accepted) else None

    def last_s(self) -> float | None:
        return float(self.t_s[-1]) if len(self.t_s) else None


@dataclass(frozen=True, slots=True)
class SpanHeartRate:
    """Heart rate on a span's grid, or why there is none; with the span's artifact share and gaps."""

    hr_bpm: np.ndarray | None  # None: too few accepted beats to cover the span
    artifact_pct: float
    gap: bool


def heart_rate_over(beats: Beats, start_s: float, samples: int, fs_hz: float, margin_s: float,
                    max_bridge_s: float) -> SpanHeartRate:
    """HR (bpm) at ``start_s + k / fs_hz``, k < samples, from the accepted beats near the span.

    Only beats within ``margin_s`` of the span feed the cubic spline (hrv.tachogram's), so the
    values depend on local beats alone: a live tracker and a whole recording give the same.
    """
    end_s = start_s + (samples - 1) / fs_hz
    t = beats.t_s
    lo, hi = t.searchsorted(start_s - margin_s), t.searchsorted(end_s + margin_s, side="right")
    inside = slice(t.searchsorted(start_s), t.searchsorted(end_s, side="right"))
    flags_inside = beats.flagged[inside]
    artifact_pct = 100.0 * float(flags_inside.mean()) if len(flags_inside) else 100.0
    keep = ~beats.flagged[lo:hi]
    tk, rrk = t[lo:hi][keep], beats.rr_ms[lo:hi][keep]
    if len(tk) < MIN_BEATS["cubic"] or tk[0] > start_s or tk[-1] < end_s:
        return SpanHeartRate(None, artifact_pct, True)
    gap = bool((np.diff(tk) > max_bridge_s).any())
    grid = start_s + np.arange(samples) / fs_hz
    hr = np.asarray(interpolant(tk, MS_PER_MIN / rrk, "cubic")(grid), dtype=np.float64)
    return SpanHeartRate(hr, artifact_pct, gap)


class BeatBuffer:
    """Beats arriving chunk by chunk, kept in growing arrays (amortised O(1) per beat). One caller's thread."""

    def __init__(self) -> None:
        self._t = np.empty(1024)
        self._rr = np.empty(1024)
        self._flagged = np.empty(1024, dtype=bool)
        self._n = 0

    def extend(self, t_s: np.ndarray, rr_ms: np.ndarray, flagged: np.ndarray) -> None:
        t, rr, fl = np.asarray(t_s, float), np.asarray(rr_ms, float), np.asarray(flagged, bool)
        need = self._n + len(t)
        if need > len(self._t):
            size = max(need, 2 * len(self._t))
            self._t, self._rr, self._flagged = (np.resize(a, size) for a in (self._t, self._rr, self._flagged))
        self._t[self._n:need], self._rr[self._n:need], self._flagged[self._n:need] = t, rr, fl
        self._n = need

    def view(self) -> Beats:
        """The beats so far (views: valid until the next ``extend``)."""
        return Beats(self._t[:self._n], self._rr[:self._n], self._flagged[:self._n])
