"""Causal, adaptive artifact detection on every beat.

A beat is *flagged* (kept in the record, marked, excluded from every metric) when its RR
is implausible, or when it departs from the recent rhythm by more than an adaptive
threshold. The rule (research/hrv.md §6; a causal analogue of Lipponen & Tarvainen 2019's
mRR criterion and of Berntson et al. 1990's distribution-based criterion):

    reference = median RR of the last 11 accepted beats
    deviation = |RR - reference|
    threshold = max(15 % of reference, 5.2 x QD + median deviation)

where QD is the quartile deviation ((Q3 - Q1) / 2) of the deviations of the last 91
accepted beats. Until 20 deviations are known the threshold is 20 % of the reference.
On real data this flags 0.65-1.35 % of clean beats and keeps RMSSD within 1.7 % (median)
with up to 5 % injected ectopic, missed and extra beats.

Two safeguards keep it causal and honest:
* after a gap (``reset()``) the history starts afresh: the rhythm may have changed;
* if ``RELOCK_BEATS`` consecutive beats are flagged but agree with each other within
  15 %, the rhythm itself has changed (a sudden but real HR step): the history restarts
  from them. They stay flagged; only later beats are judged against the new rhythm.

Thread: any; synchronous, one instance per beat stream.
"""

from __future__ import annotations

import bisect
import enum
from collections import deque
from dataclasses import dataclass
from typing import Final

import numpy as np

RR_MIN_MS: Final = 300.0  # shortest plausible RR (200 bpm)
RR_MAX_MS: Final = 2000.0  # longest plausible RR (30 bpm)
REFERENCE_BEATS: Final = 11  # accepted beats in the reference median
SPREAD_BEATS: Final = 91  # accepted beats in the deviation distribution
MIN_SPREAD_BEATS: Final = 20  # deviations needed before the adaptive threshold applies
WARMUP_BEATS: Final = 5  # accepted beats needed before any beat is judged
QD_FACTOR: Final = 5.2  # x quartile deviation (Lipponen & Tarvainen 2019)
FLOOR_FRACTION: Final = 0.15  # threshold never below 15 % of the reference RR
WARMUP_FRACTION: Final = 0.20  # threshold while the deviation distribution is short
RELOCK_BEATS: Final = 5  # consecutive flagged but mutually consistent beats that re-seed the history
RELOCK_SPREAD: Final = 0.15  # "mutually consistent": max/min - 1 below this


class FlagReason(enum.StrEnum):
    """Why a beat was flagged."""

    TOO_SHORT = "implausibly short RR"
    TOO_LONG = "implausibly long RR"
    OUT_OF_RHYTHM = "departs from the recent rhythm"


@dataclass(frozen=True, slots=True)
class Judgement:
    """The verdict on one beat."""

    flagged: bool
    reason: FlagReason | None = None
    reference_ms: float | None = None  # the median RR it was compared with
    threshold_ms: float | None = None


ACCEPTED = Judgement(False)


class _SortedWindow:
    """The last ``size`` values, kept sorted for O(1) order statistics."""

    def __init__(self, size: int) -> None:
        self._fifo: deque[float] = deque()
        self._sorted: list[float] = []
        self._size = size

    def __len__(self) -> int:
        return len(self._fifo)

    def push(self, value: float) -> None:
        if len(self._fifo) == self._size:
            old = self._fifo.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]
        self._fifo.append(value)
        bisect.insort(self._sorted, value)

    def clear(self) -> None:
        self._fifo.clear()
        self._sorted.clear()

    def quantile(self, q: float) -> float:
        """Linear-interpolated quantile (numpy's default method)."""
        s = self._sorted
        pos = q * (len(s) - 1)
        low = int(pos)
        high = min(low + 1, len(s) - 1)
        return s[low] + (s[high] - s[low]) * (pos - low)


class ArtifactDetector:
    """Judges each beat as it arrives (causal: uses only beats before it)."""

    def __init__(self) -> None:
        self._reference = _SortedWindow(REFERENCE_BEATS)
        self._deviations = _SortedWindow(SPREAD_BEATS)
        self._flagged_run: list[float] = []

    def reset(self) -> None:
        """Forget the rhythm (after a gap or contact loss)."""
        self._reference.clear()
        self._deviations.clear()
        self._flagged_run.clear()

    def judge(self, rr_ms: float) -> Judgement:
        """Flag or accept one beat and learn from it."""
        if rr_ms < RR_MIN_MS:
            return self._flag(rr_ms, Judgement(True, FlagReason.TOO_SHORT))
        if rr_ms > RR_MAX_MS:
            return self._flag(rr_ms, Judgement(True, FlagReason.TOO_LONG))
        if len(self._reference) < WARMUP_BEATS:
            self._reference.push(rr_ms)
            return ACCEPTED
        reference = self._reference.quantile(0.5)
        deviation = abs(rr_ms - reference)
        if len(self._deviations) >= MIN_SPREAD_BEATS:
            quartile_deviation = (self._deviations.quantile(0.75) - self._deviations.quantile(0.25)) / 2
            threshold = max(FLOOR_FRACTION * reference, QD_FACTOR * quartile_deviation + self._deviations.quantile(0.5))
        else:
            threshold = WARMUP_FRACTION * reference
        if deviation > threshold:
            return self._flag(rr_ms, Judgement(True, FlagReason.OUT_OF_RHYTHM, reference, threshold))
        self._flagged_run.clear()
        self._reference.push(rr_ms)
        self._deviations.push(deviation)
        return Judgement(False, None, reference, threshold)

    def _flag(self, rr_ms: float, judgement: Judgement) -> Judgement:
        run = self._flagged_run
        run.append(rr_ms)
        if len(run) > RELOCK_BEATS:
            del run[0]
        plausible = RR_MIN_MS <= min(run) and max(run) <= RR_MAX_MS
        if len(run) == RELOCK_BEATS and plausible and max(run) / min(run) - 1 < RELOCK_SPREAD:
            new_rhythm = list(run)
            self.reset()
            for value in new_rhythm:
                self._reference.push(value)
        return judgement


def flag_artifacts(rr_ms: np.ndarray) -> np.ndarray:
    """Judge a whole series in order: True where a beat is flagged (the live rule, causal)."""
    detector = ArtifactDetector()
    return np.fromiter((detector.judge(rr).flagged for rr in np.asarray(rr_ms, dtype=float).tolist()),
                       dtype=bool, count=len(rr_ms))
