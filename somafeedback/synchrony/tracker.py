"""The live form: both people's beats in, chunk by chunk, new windows out (timeflux style).

``update(a=..., b=...)`` takes whatever beats arrived for either person (times on the dyad's
axis, RR, the live artifact verdicts) and returns the windows that became computable: the same
windows, value for value, as :func:`~.windows.all_windows` on the whole recording (each window
uses only the beats near it). A window costs one small spline per person and one vectorised
correlation over the lags (see benchmarks/bench_synchrony.py).

The chance level is off the beat path: every ``settings.refresh_windows`` windows the tracker
either recomputes it inline (``inline_chance=True``) or leaves it to the caller, who takes
:meth:`chance_inputs` (plain arrays), runs :func:`~.surrogates.chance_level` on a worker and
hands the result back with :meth:`set_chance`. New windows are judged against the latest chance
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
from .windows import SyncWindow, compute_window, origin_s, ready_until_s, windows_ready

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

    def set_spans(self, spans: ConfoundSpans) -> None:
        """Confound spans known so far (applied to windows computed from now on)."""
        self.spans = spans

    def update(self, a: Chunk | None = None, b: Chunk | None = None) -> list[SyncWindow]:
        """Take new beats of A and/or B; return the windows that became computable."""
        if a is not None:
            self._a.extend(*a)
        if b is not None:
            self._b.extend(*b)
        beats_a, beats_b = self._a.view(), self._b.view()
        if self._origin is None:
            self._origin = origin_s(beats_a, beats_b, self.settings)
            if self._origin is None:
                return []
        ready = windows_ready(self._origin, ready_until_s(beats_a, beats_b, self.settings), self.settings)
        new = []
        for index in range(len(self.windows), ready):
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


def _judged(window: SyncWindow, chance: ChanceLevel) -> SyncWindow:
    return replace(window, above_chance=stands_out(window, chance))
