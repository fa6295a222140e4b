"""The client strap's beats over the running assessment's scored spans, for the practitioner's live results
(issue #19): each step's heart-rate curve in :class:`~.resonance_results.ResonanceResultsView`.

:class:`StepBeats` follows the run's ``resonance-step`` events (each ``start`` says its scored span,
``scored_from_s`` .. ``ends_s``, on the beats' session time) and keeps only the beats inside a span, so its
memory is bounded by the run's steps (and :data:`MAX_BEATS` at most, whatever the events say).

Thread: the Qt GUI thread (fed from the window's drained engine items); Qt-free.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any, Final

import numpy as np

MAX_BEATS: Final = 6000  # beats kept at most (~50 min at 120 bpm: far beyond any run's scored spans)
Beats = tuple[np.ndarray, np.ndarray, np.ndarray]  # (t_s, rr_ms, flagged)


class StepBeats:
    """(t_s, rr_ms, flagged) of the beats that fell in a step's scored span since the run began."""

    def __init__(self) -> None:
        self._beats: deque[tuple[float, float, bool]] = deque(maxlen=MAX_BEATS)
        self._span: tuple[float, float] | None = None  # the current step's scored span (session s)

    def __len__(self) -> int:
        return len(self._beats)

    def step_event(self, data: Mapping[str, Any]) -> None:
        """One ``resonance-step`` event's data: ``begin`` clears, ``start`` sets the scored span (which ends
        by itself at ``ends_s``; a beat drained just after the step's ``end`` event still counts; a step
        skipped or stopped early is cut at its ``t1_s`` by the results)."""
        action = data.get("action")
        if action == "begin":
            self._beats.clear()
            self._span = None
        elif action == "start":
            start, end = _finite(data.get("scored_from_s")), _finite(data.get("ends_s"))
            self._span = (start, end) if start is not None and end is not None else None

    def beat(self, t_s: float, rr_ms: float | None, flagged: bool) -> None:
        """One beat of the client's strap (a gap's beat without RR is not kept)."""
        span = self._span
        if span is not None and rr_ms is not None and span[0] <= t_s < span[1]:
            self._beats.append((float(t_s), float(rr_ms), bool(flagged)))

    def arrays(self) -> Beats:
        """The kept beats as arrays, for :meth:`ResonanceResultsView.show_result`."""
        rows = np.array(self._beats, dtype=float).reshape(-1, 3)
        return rows[:, 0].copy(), rows[:, 1].copy(), rows[:, 2].astype(bool)


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
