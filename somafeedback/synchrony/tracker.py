"""The live form: both people's beats in, chunk by chunk, new windows out (timeflux style).

``update(a=..., b=...)`` takes whatever beats arrived for either person (times on the dyad's
axis, RR, the live artifact verdicts) and returns the windows that became computable: the same
windows, value for value, as :func:`~.windows.all_windows` on the whole recording (each window
uses only the beats near it). A window costs one small spline per person and one vectorised
correlation over the lags (see benchmarks/bench_synchrony.py).

The chance level is off the beat path: every ``settings.refresh_windows`` windows the tracker
either recomputes it inline (``inline_chance=True``) or leaves it to the caller, who takes
:meth:`chance_inputs` (plain arrays), runs :func:`~.surrogates.chance_level` on a worker and
hands the result back with :meth:`set_chance`. The windows themselves may be computed elsewhere too:
:meth:`feed` takes the beats and says which windows became due, :meth:`window_inputs` gives the
plain arrays :func:`~.windows.compute_windows` needs for them (the caller appends the results to
``windows`` in order). New windows are judged against the latest chance
level (``above_chance`` None before the first).

Thread: one caller thread (the tracker is not shared); the chance computation may run anywhere.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .beats import BeatBuffer, Beats
from .confounds import ConfoundSpans
from .settings import SynchronySettings
from .surrogates import ChanceLevel, chance_level, segments, stands_out
from .windows import SyncWindow, compute_window, origin_s, ready_until_s, window_start, windows_ready

SLACK_S = 1.0  # window_inputs copies the beats from this much before a window's earliest need, s
Chunk = tuple[np.ndarray, np.ndarray, np.ndarray]  # beat times (s), RR (ms), flagged


class SynchronyTracker:
    """Windowed synchrony of two people, fed as beats arrive."""

    def __init__(self, settings: SynchronySettings = SynchronySettings(), spans: ConfoundSpans = ConfoundSpans(),
                 inline_chance: bool = True) -> None:
        self.settings = settings
        self.spans = spans
        self.inline_chance = inline_chance
        self.windows: list[SyncWindow] = []
        self.chance = ChanceLevel(None, None, None, 0, settings.seed, 0)
        self._a, self._b = BeatBuffer(), BeatBuffer()
        self._origin: float | None = None
        self._due = 0  # windows handed out so far (by update or feed)

    def set_spans(self, spans: ConfoundSpans) -> None:
        """Confound spans known so far (applied to windows computed from now on)."""
        self.spans = spans

    def feed(self, a: Chunk | None = None, b: Chunk | None = None) -> range:
        """Take new beats of A and/or B; the indices of the windows that became computable (not computed)."""
        if a is not None:
            self._a.extend(*a)
        if b is not None:
            self._b.extend(*b)
        beats_a, beats_b = self._a.view(), self._b.view()
        if self._origin is None:
            self._origin = origin_s(beats_a, beats_b, self.settings)
            if self._origin is None:
                return range(0)
        ready = windows_ready(self._origin, ready_until_s(beats_a, beats_b, self.settings), self.settings)
        due, self._due = range(self._due, max(ready, self._due)), max(ready, self._due)
        return due

    def window_inputs(self, due: range) -> tuple[Beats, Beats, float]:
        """Copies of the beats windows ``due`` need, and the origin: the plain arguments of
        :func:`~.windows.compute_windows` on a worker (the same windows as computed here)."""
        assert self._origin is not None and due
        since_s = window_start(self._origin, due.start, self.settings) - self.settings.max_lag_s \
            - self.settings.margin_s - SLACK_S
        return _tail(self._a.view(), since_s), _tail(self._b.view(), since_s), self._origin

    def update(self, a: Chunk | None = None, b: Chunk | None = None) -> list[SyncWindow]:
        """Take new beats of A and/or B; return the windows that became computable (computed here)."""
        due = self.feed(a, b)
        if not due or self._origin is None:
            return []
        beats_a, beats_b = self._a.view(), self._b.view()
        new = []
        for index in due:
            window = compute_window(beats_a, beats_b, self._origin, index, self.settings, self.spans)
            self.windows.append(window)
            if self.inline_chance and len(self.windows) % self.settings.refresh_windows == 0:
                self.set_chance(chance_level(*self.chance_inputs(), self.settings))
            new.append(_judged(window, self.chance))
        self.windows[len(self.windows) - len(new):] = new
        return new

    def chance_inputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The arrays :func:`~.surrogates.chance_level` needs (copies: safe to hand to a worker)."""
        return segments(self.windows)

    def set_chance(self, chance: ChanceLevel) -> None:
        """Use this chance level for the windows computed from now on."""
        self.chance = chance

    def beats(self) -> tuple[Beats, Beats]:
        """Both people's beats so far (views)."""
        return self._a.view(), self._b.view()


def _tail(beats: Beats, since_s: float) -> Beats:
    """Copies of the beats from ``since_s`` on."""
    i = int(beats.t_s.searchsorted(since_s))
    return Beats(beats.t_s[i:].copy(), beats.rr_ms[i:].copy(), beats.flagged[i:].copy())


def _judged(window: SyncWindow, chance: ChanceLevel) -> SyncWindow:
    return replace(window, above_chance=stands_out(window, chance))
