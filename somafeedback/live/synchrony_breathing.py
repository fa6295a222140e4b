"""One pair's shared breathing rhythm read live: jobs on the engine's worker, spans applied as they arrive.

With each new window of a pair, :meth:`BreathingReader.submit` hands the breathing points that became
computable (each needs ``SPAN_S / 2`` of both people's beats after it, :mod:`somafeedback.synchrony.breathing`)
to ``submit`` as one job on plain arrays; :meth:`BreathingReader.take` applies the jobs due for a window
(``delay_windows`` after the one that submitted them; waited for when ``wait``, as the chance level is).
A window can only be judged by points read before it (offline, by the points up to 35 s into it), so each
shared point's mark is held one window length (``window_s``) on: :meth:`BreathingReader.spans`.

Thread: the engine's loop (one caller); the job runs on the worker.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Final

import numpy as np

from somafeedback.synchrony.breathing import SPAN_S, BeatArrays, points_s, shared_breathing_job
from somafeedback.synchrony.confounds import Span, merged
from somafeedback.synchrony.settings import SynchronySettings

log = logging.getLogger(__name__)

JOB_WAIT_S: Final = 60.0  # with wait, the longest a due window waits for the worker, s

StrapBeats = tuple[list[float], list[float], list[bool]]  # one strap's beats so far: times s, RR ms, flagged


class BreathingReader:
    """Where one pair breathed in one rhythm, read off the beat path."""

    def __init__(self, settings: SynchronySettings) -> None:
        self.settings = settings
        self.read: tuple[Span, ...] = ()  # shared spans found so far (not held on)
        self._next_s: float | None = None  # the next point to read
        self._pending: list[tuple[int, float, Future[tuple[Span, ...]]]] = []  # (window, last point, job)

    def spans(self) -> tuple[Span, ...]:
        """The shared spans read so far, each held one window length on."""
        return merged([(lo, hi + self.settings.window_s) for lo, hi in self.read])

    def submit(self, a: StrapBeats, b: StrapBeats, index: int, submit: Callable[..., Future[Any]]) -> None:
        """After window ``index``: hand the points that became computable to the worker."""
        if not a[0] or not b[0]:
            return
        if self._next_s is None:
            self._next_s = max(a[0][0], b[0][0])  # the offline grid: from the later first beat
        points = points_s(self._next_s, min(a[0][-1], b[0][-1]) - SPAN_S / 2 - self.settings.margin_s, self.settings)
        if not len(points):
            return
        first, last = float(points[0]), float(points[-1])
        since = first - SPAN_S / 2 - self.settings.margin_s - self.settings.max_bridge_s
        job = submit(shared_breathing_job, _tail(a, since), _tail(b, since), first, last, self.settings)
        self._pending.append((index, last, job))
        self._next_s = last + self.settings.step_s

    def take(self, index: int, delay_windows: int, wait: bool) -> bool:
        """Apply the jobs due for window ``index`` (live: those done); True when the spans changed."""
        took = False
        while self._pending and self._pending[0][0] + delay_windows <= index:
            _, last, job = self._pending[0]
            if not job.done() and not wait:
                break
            self._pending.pop(0)
            try:
                found = job.result(timeout=JOB_WAIT_S)
            except Exception:  # noqa: BLE001 - the windows go on unmarked by it
                log.warning("synchrony: a shared breathing rhythm could not be read (to %.0f s)", last, exc_info=True)
                continue
            took |= bool(found)
            self.read = merged(self.read, found)
        return took


def _tail(beats: StrapBeats, since_s: float) -> BeatArrays:
    """Copies of one strap's beats from ``since_s`` on (plain arrays for a worker)."""
    t, rr, flagged = beats
    i = bisect.bisect_left(t, since_s)
    return np.array(t[i:]), np.array(rr[i:]), np.array(flagged[i:], dtype=bool)
