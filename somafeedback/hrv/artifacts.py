"""Causal, adaptive artifact detection on every beat.

A beat is *flagged* (kept in the record, marked, excluded from every metric) when its RR
is implausible, or when it departs from the recent rhythm by more than an adaptive
threshold. The rule is a causal analogue of Lipponen & Tarvainen 2019's two criteria (mRR:
distance from the local median; dRR: successive difference) with Berntson et al. 1990's
distribution-based thresholds (research/hrv.md §6):

    reference  = median RR of the last 11 accepted beats
    deviation  = |RR - reference|          flagged if > max(15 % of reference, 5.2 QD + median)
    step       = |RR - last accepted RR|   flagged if > max(20 % of reference, 5.2 QD + median)
                                           and deviation > 8 % of reference

where each QD (quartile deviation, (Q3 - Q1) / 2) and median are taken over that
quantity's values for the last 91 accepted beats. Until 20 values are known, the
deviation threshold is 20 % of the reference and the step criterion is off. The step
criterion catches premature beats in high-variability stretches, where the deviation
distribution alone is wide enough to let them through.

Warm-up: the first beats after start-up or a gap have no accepted history yet; each is
compared with the median of up to 5 beats seen just before it (robust to one or two bad
ones) and flagged beyond 20 %, so an artifact can never seed the reference.

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

from somafeedback.progress import Progress

RR_MIN_MS: Final = 300.0  # shortest plausible RR (200 bpm)
RR_MAX_MS: Final = 2000.0  # longest plausible RR (30 bpm)
REFERENCE_BEATS: Final = 11  # accepted beats in the reference median
SPREAD_BEATS: Final = 91  # accepted beats in the deviation distribution
MIN_SPREAD_BEATS: Final = 20  # deviations needed before the adaptive threshold applies
WARMUP_BEATS: Final = 5  # accepted beats needed before any beat is judged
QD_FACTOR: Final = 5.2  # x quartile deviation (Lipponen & Tarvainen 2019)
FLOOR_FRACTION: Final = 0.15  # threshold never below 15 % of the reference RR
WARMUP_FRACTION: Final = 0.20  # threshold while the deviation distribution is short
STEP_FLOOR_FRACTION: Final = 0.20  # the successive-difference threshold never below 20 % of the reference
STEP_MIN_DEVIATION: Final = 0.08  # a step counts only when the beat is also 8 % off the reference
WARMUP_RECENT_BEATS: Final = 5  # beats seen (accepted or not) that judge a warm-up beat
RELOCK_BEATS: Final = 5  # consecutive flagged but mutually consistent beats that re-seed the history
RELOCK_SPREAD: Final = 0.15  # "mutually consistent": max/min - 1 below this


class FlagReason(enum.StrEnum):
    """Why a beat was flagged."""

    TOO_SHORT = "implausibly short RR"
    TOO_LONG = "implausibly long RR"
    OUT_OF_RHYTHM = "departs from the recent rhythm"
    DISAGREES_WITH_STRAP = "ECG-timed RR disagrees with the strap's own RR"


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
        self._steps = _SortedWindow(SPREAD_BEATS)
        self._recent: deque[float] = deque(maxlen=WARMUP_RECENT_BEATS)  # every plausible beat seen
        self._last_accepted: float | None = None
        self._flagged_run: list[float] = []

    def reset(self) -> None:
        """Forget the rhythm (after a gap or contact loss)."""
        self._reference.clear()
        self._deviations.clear()
        self._steps.clear()
        self._recent.clear()
        self._last_accepted = None
        self._flagged_run.clear()

    def judge(self, rr_ms: float) -> Judgement:
        """Flag or accept one beat and learn from it."""
        if rr_ms < RR_MIN_MS:
            return self._flag(rr_ms, Judgement(True, FlagReason.TOO_SHORT))
        if rr_ms > RR_MAX_MS:
            return self._flag(rr_ms, Judgement(True, FlagReason.TOO_LONG))
        seen_before = sorted(self._recent)
        self._recent.append(rr_ms)
        if len(self._reference) < WARMUP_BEATS:
            return self._judge_warmup(rr_ms, seen_before)
        reference = self._reference.quantile(0.5)
        deviation = abs(rr_ms - reference)
        if len(self._deviations) >= MIN_SPREAD_BEATS:
            threshold = max(FLOOR_FRACTION * reference, _spread_threshold(self._deviations))
        else:
            threshold = WARMUP_FRACTION * reference
        if deviation > threshold:
            return self._flag(rr_ms, Judgement(True, FlagReason.OUT_OF_RHYTHM, reference, threshold))
        step = abs(rr_ms - self._last_accepted) if self._last_accepted is not None else 0.0
        if len(self._steps) >= MIN_SPREAD_BEATS and deviation > STEP_MIN_DEVIATION * reference:
            step_threshold = max(STEP_FLOOR_FRACTION * reference, _spread_threshold(self._steps))
            if step > step_threshold:
                return self._flag(rr_ms, Judgement(True, FlagReason.OUT_OF_RHYTHM, reference, step_threshold))
        self._accept(rr_ms, deviation, step)
        return Judgement(False, None, reference, threshold)

    def _judge_warmup(self, rr_ms: float, seen_before: list[float]) -> Judgement:
        if len(seen_before) >= 2:
            middle = len(seen_before) // 2
            median = seen_before[middle] if len(seen_before) % 2 else (seen_before[middle - 1] + seen_before[middle]) / 2
            if abs(rr_ms - median) > WARMUP_FRACTION * median:
                return self._flag(rr_ms, Judgement(True, FlagReason.OUT_OF_RHYTHM, median, WARMUP_FRACTION * median))
        self._accept(rr_ms, None, None)
        return ACCEPTED

    def _accept(self, rr_ms: float, deviation: float | None, step: float | None) -> None:
        self._flagged_run.clear()
        self._reference.push(rr_ms)
        if deviation is not None:
            self._deviations.push(deviation)
        if step is not None and self._last_accepted is not None:
            self._steps.push(step)
        self._last_accepted = rr_ms

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
                self._accept(value, None, None)
                self._recent.append(value)
        return judgement


def _spread_threshold(values: _SortedWindow) -> float:
    """5.2 quartile deviations above the median of a distribution of recent values."""
    quartile_deviation = (values.quantile(0.75) - values.quantile(0.25)) / 2
    return QD_FACTOR * quartile_deviation + values.quantile(0.5)


def flag_artifacts(rr_ms: np.ndarray, progress: Progress | None = None) -> np.ndarray:
    """Judge a whole series in order: True where a beat is flagged (the live rule, causal)."""
    detector = ArtifactDetector()
    values = np.asarray(rr_ms, dtype=float).tolist()
    if progress is not None:
        progress.set_total(len(values))

    def judged(rr: float) -> bool:
        if progress is not None:
            progress.advance()
        return detector.judge(rr).flagged

    return np.fromiter((judged(rr) for rr in values),
                       dtype=bool, count=len(rr_ms))
