"""Time-domain measures over a sliding window of beats, updated in O(1) per beat.

The window holds every beat whose time lies in ``(now - window_s, now]``, flagged or not.
Metrics use accepted beats only; a successive difference counts only when both of its
beats are accepted, belong to the same gap-free segment, and both lie in the window.
Running sums are added and removed as beats enter and leave; with RR values on the
strap's 1/1024 s grid (or whole ms) every sum is exact in binary floating point, so the
incremental values equal a from-scratch computation.

Formulas (accepted RR_i in ms, N of them; D successive differences d_j):
  mean RR = sum(RR_i) / N                     HR = mean(60000 / RR_i)  (bpm)
  SDNN = sample SD of RR_i (N - 1)            RMSSD = sqrt(sum(d_j^2) / D)
  ln RMSSD = ln(RMSSD / 1 ms)                 pNN50 = 100 * #{|d_j| > 50 ms} / D

Thread: any; synchronous, one instance per window.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Final

NN50_MS: Final = 50.0  # successive-difference threshold of pNN50, ms
MIN_BEATS_PER_MINUTE: Final = 20.0  # fewer accepted beats than this per window minute: not enough beats


@dataclass(frozen=True, slots=True)
class WindowValidity:
    """How far a window's values can be trusted, and why not when they cannot."""

    window_s: float
    n_beats: int  # every beat in the window, flagged or not
    n_flagged: int
    valid: bool  # HRV values are usable
    reason: str = ""  # why not valid ("" when valid)

    @property
    def artifact_pct(self) -> float:
        return 100.0 * self.n_flagged / self.n_beats if self.n_beats else 0.0


@dataclass(frozen=True, slots=True)
class TimeDomain:
    """Time-domain measures of one window (None where undefined)."""

    hr_bpm: float | None
    mean_rr_ms: float | None
    rmssd_ms: float | None
    ln_rmssd: float | None
    sdnn_ms: float | None
    pnn50_pct: float | None
    hr_valid: bool  # HR and mean RR are usable (they tolerate a few artifacts)
    validity: WindowValidity  # RMSSD, ln RMSSD, SDNN, pNN50


@dataclass(slots=True)
class _Entry:
    t_s: float
    rr_ms: float
    accepted: bool
    diff_ms: float | None  # difference to the previous beat, when both are accepted and contiguous


class SlidingTimeDomain:
    """Time-domain measures over the last ``window_s`` seconds of beats."""

    def __init__(self, window_s: float = 60.0, max_artifact_pct: float = 5.0) -> None:
        self.window_s = window_s
        self.max_artifact_pct = max_artifact_pct
        self._beats: deque[_Entry] = deque()
        self._last: _Entry | None = None  # the newest beat since the last gap, even if it left the window
        self._span_start_s: float | None = None  # start of the current gap-free stretch of beats
        self._after_gap = False
        self._n = self._n_flagged = 0
        self._sum_rr = self._sum_rr2 = self._sum_hr = 0.0
        self._n_diff = self._nn50 = 0
        self._sum_d2 = 0.0

    # -- feeding ------------------------------------------------------------------------
    def gap(self, end_s: float) -> None:
        """No valid data until ``end_s``: nothing before it pairs with what comes after."""
        self._last = None
        self._span_start_s = None
        self._after_gap = True

    def push(self, t_s: float, rr_ms: float, accepted: bool) -> None:
        """Add the beat at ``t_s`` (beats arrive in time order) and slide the window."""
        if self._span_start_s is None:
            self._span_start_s = t_s - rr_ms / 1000.0  # the first interval's own start
        previous = self._last
        diff = rr_ms - previous.rr_ms if accepted and previous is not None and previous.accepted else None
        entry = _Entry(t_s, rr_ms, accepted, diff)
        if self._beats and diff is not None:
            self._add_diff(diff, +1)
        self._beats.append(entry)
        self._last = entry
        self._n += 1
        if accepted:
            self._add_beat(rr_ms, +1)
        else:
            self._n_flagged += 1
        self._evict(t_s - self.window_s)

    def _evict(self, older_than_s: float) -> None:
        beats = self._beats
        while beats and beats[0].t_s <= older_than_s:
            old = beats.popleft()
            self._n -= 1
            if old.accepted:
                self._add_beat(old.rr_ms, -1)
            else:
                self._n_flagged -= 1
            if beats and beats[0].diff_ms is not None:
                self._add_diff(beats[0].diff_ms, -1)  # its partner just left the window

    def _add_beat(self, rr_ms: float, sign: int) -> None:
        self._sum_rr += sign * rr_ms
        self._sum_rr2 += sign * rr_ms * rr_ms
        self._sum_hr += sign * 60000.0 / rr_ms
        if self._n == self._n_flagged:  # no accepted beat left: drop any rounding residue
            self._sum_rr = self._sum_rr2 = self._sum_hr = 0.0

    def _add_diff(self, diff_ms: float, sign: int) -> None:
        self._n_diff += sign
        self._sum_d2 = self._sum_d2 + sign * diff_ms * diff_ms if self._n_diff else 0.0
        if abs(diff_ms) > NN50_MS:
            self._nn50 += sign

    # -- reading ------------------------------------------------------------------------
    def validity(self, now_s: float) -> tuple[bool, WindowValidity]:
        """(HR usable, HRV validity) of the window ending at ``now_s``."""
        n_accepted = self._n - self._n_flagged
        enough = n_accepted >= MIN_BEATS_PER_MINUTE * self.window_s / 60.0
        if self._span_start_s is None:
            reason = "no data since the gap" if self._after_gap else "no beats yet"
        elif now_s - self.window_s < self._span_start_s - 1e-9:
            reason = "refilling after a gap" if self._after_gap else "filling the window"
        elif not enough:
            reason = "too few beats"
        else:
            reason = ""
        hr_valid = reason == ""
        if hr_valid and self._n and 100.0 * self._n_flagged / self._n > self.max_artifact_pct:
            reason = f"HRV unavailable: {100.0 * self._n_flagged / self._n:.0f} % of beats rejected"
        return hr_valid, WindowValidity(self.window_s, self._n, self._n_flagged, reason == "", reason)

    def metrics(self, now_s: float) -> TimeDomain:
        hr_valid, validity = self.validity(now_s)
        n = self._n - self._n_flagged
        mean_rr = self._sum_rr / n if n else None
        sdnn = math.sqrt(max(0.0, (self._sum_rr2 - n * mean_rr * mean_rr) / (n - 1))) if mean_rr and n > 1 else None
        rmssd = math.sqrt(max(0.0, self._sum_d2) / self._n_diff) if self._n_diff else None
        return TimeDomain(
            hr_bpm=self._sum_hr / n if n else None,
            mean_rr_ms=mean_rr,
            rmssd_ms=rmssd,
            ln_rmssd=math.log(rmssd) if rmssd else None,
            sdnn_ms=sdnn,
            pnn50_pct=100.0 * self._nn50 / self._n_diff if self._n_diff else None,
            hr_valid=hr_valid,
            validity=validity,
        )
