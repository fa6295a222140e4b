"""ECG-timed beats checked against the strap's own RR intervals.

A Polar H10 reports RR in its Heart Rate service (its firmware's own beat detection) and
streams the raw ECG the app times beats from. Where both see the same heart, each ECG RR
has a strap RR of the same length at about the same time. Where they disagree (a beat one
of the two detectors missed or invented, noise in the ECG), the beat is questionable and is
flagged as an artifact.

Strap beat times are rebuilt from the cumulative RR sum with an anchor that can sit up to a
notification period late (see ``devices/beat_timing.py``), so a strap beat lies at
``t_ecg + offset`` with an unknown ``offset`` in about ``[-EARLY_S, LATE_S]``. Until
``MIN_PAIRS`` matches have been seen, any strap RR within ``AGREE_MS`` inside that wide
window counts; then the window narrows to ``+-NARROW_S`` around the median offset of the
recent matches. It widens again whenever the strap's beat timing starts a new segment (it was
re-anchored: the offset moved), and after ``MAX_NARROW_MISSES`` misses in a row.

An ECG beat is decided once a strap beat past its window has arrived (the strap's RR for
that time are in), or ``TIMEOUT_S`` after it if the strap says nothing; a beat with no
strap RR anywhere near is not flagged (nothing to compare), nor is one the strap's reports do
not cover on both sides (before the strap's first beat, as at the start, or at a flush). The
delay this adds to the metrics is about one notification period plus ``LATE_S``.

Thread: any; synchronous, one instance per strap.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from somafeedback.devices.events import Beat

AGREE_MS: Final = 30.0  # ms: an ECG RR and a strap RR this close are the same interval
EARLY_S: Final = 0.4  # s a strap beat may be placed before the ECG beat (wide window)
LATE_S: Final = 1.6  # s a strap beat may be placed after the ECG beat (wide window)
NARROW_S: Final = 0.15  # s either side of the learnt offset (narrow window)
MIN_PAIRS: Final = 5  # matches before the narrow window is used
OFFSET_MEMORY: Final = 15  # matches whose median offset is used
MAX_NARROW_MISSES: Final = 3  # narrow-window misses in a row that send it back to the wide window
TIMEOUT_S: Final = 4.0  # s after an ECG beat it is decided without strap data
STRAP_MEMORY_S: Final = 12.0  # s of strap beats kept


@dataclass(frozen=True, slots=True)
class CheckedBeat:
    """An ECG beat and the verdict: True agrees, False disagrees, None nothing to compare with."""

    beat: Beat
    agrees: bool | None


class RrCrossCheck:
    """Holds ECG beats until the strap's RR for their time are in, then compares."""

    def __init__(self) -> None:
        self._strap: deque[tuple[float, float]] = deque()  # (t_s, rr_ms)
        self._pending: deque[Beat] = deque()
        self._offsets: deque[float] = deque(maxlen=OFFSET_MEMORY)
        self._narrow_misses = 0
        self._segment: int | None = None
        self._segment_first_s: float | None = None  # the first strap beat of its current timing segment
        self.agreed = 0
        self.disagreed = 0

    def add_strap(self, t_s: float, rr_ms: float, segment: int | None = None) -> list[CheckedBeat]:
        """A strap RR arrived; the ECG beats that can now be decided.

        ``segment``: the strap beat's timing segment; a new one (the strap's beat times were
        re-anchored) moves the offset, so it is learnt afresh in the wide window.
        """
        if segment is not None and segment != self._segment:
            self._segment = segment
            self._offsets.clear()
            self._narrow_misses = 0
            self._segment_first_s = t_s
        if self._segment_first_s is None:
            self._segment_first_s = t_s
        self._strap.append((t_s, rr_ms))
        while self._strap and self._strap[0][0] < t_s - STRAP_MEMORY_S:
            self._strap.popleft()
        return self._release(lambda beat: t_s > beat.t_s + self._window(beat)[1])

    def add_ecg(self, beat: Beat) -> list[CheckedBeat]:
        """An ECG beat to check; the ECG beats decided by now (by timeout)."""
        self._pending.append(beat)
        return self.flush(beat.t_s)

    def flush(self, now_s: float | None = None) -> list[CheckedBeat]:
        """Decide beats older than the timeout (all of them when ``now_s`` is None)."""
        return self._release(lambda beat: now_s is None or now_s - beat.t_s >= TIMEOUT_S)

    def reset(self) -> None:
        """Forget the strap's timing (after a gap); pending beats are kept for :meth:`flush`."""
        self._strap.clear()
        self._offsets.clear()
        self._narrow_misses = 0
        self._segment_first_s = None

    # -- internals ------------------------------------------------------------------------
    def _release(self, ready: Callable[[Beat], bool]) -> list[CheckedBeat]:
        out: list[CheckedBeat] = []
        while self._pending and ready(self._pending[0]):
            out.append(self._decide(self._pending.popleft()))
        return out

    def _window(self, beat: Beat) -> tuple[float, float]:
        if len(self._offsets) >= MIN_PAIRS:
            centre = statistics.median(self._offsets)
            return centre - NARROW_S, centre + NARROW_S
        return -EARLY_S, LATE_S

    def _decide(self, beat: Beat) -> CheckedBeat:
        low, high = self._window(beat)
        # the strap reported throughout the window (else, at its start or at a flush, a miss proves nothing)
        covered = (self._segment_first_s is not None and self._segment_first_s <= beat.t_s + low
                   and self._strap[-1][0] > beat.t_s + high)
        verdict = self._compare(beat, low, high, covered)
        if verdict is None and len(self._offsets) >= MIN_PAIRS:  # the strap may have been re-anchored
            self._narrow_misses += 1
            if self._narrow_misses >= MAX_NARROW_MISSES:
                self._offsets.clear()
            verdict = self._compare(beat, -EARLY_S, LATE_S, covered)
        if verdict is not None:
            self._narrow_misses = 0
        if verdict is True:
            self.agreed += 1
        elif verdict is False:
            self.disagreed += 1
        return CheckedBeat(beat, verdict)

    def _compare(self, beat: Beat, low: float, high: float, covered: bool) -> bool | None:
        near = [(t, rr) for t, rr in self._strap if low <= t - beat.t_s <= high]
        if not near:
            return None
        t_match, rr_match = min(near, key=lambda item: abs(item[1] - beat.rr_ms))
        if abs(rr_match - beat.rr_ms) > AGREE_MS:
            return False if covered else None
        self._offsets.append(t_match - beat.t_s)
        return True
