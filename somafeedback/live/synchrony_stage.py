"""Synchrony in the engine: each person's accepted beats paired with the practitioner's, window by window.

:class:`SynchronyStage` takes what :class:`~somafeedback.live.analysis.LiveAnalysis` made of each
notification and event and returns :class:`~somafeedback.synchrony.pair_window.PairWindow` items:

* pairs: the practitioner's strap (:data:`PRACTITIONER_STRAP`, the strap panel's role) is A and
  every other strap that gives beats is B of its own pair (a couple: two pairs); a positive lag
  means B followed the practitioner. One :class:`~somafeedback.synchrony.tracker.SynchronyTracker`
  per pair, fed the beats of each notification in one chunk (flagged beats are kept and marked,
  never used as values; a gap's metric set is no beat);
* the windows themselves are off the beat path: the beat path only appends the beats and, when windows of a
  pair become due, hands ``submit`` one job on plain arrays (:func:`~somafeedback.synchrony.windows.compute_windows`:
  both people's resampled HR and the lagged correlations); the windows it returns are judged on the loop in
  window order, at the first notification or event after it is done (with ``wait_for_chance``, at once);
* the chance level (surrogates) is off the beat path: after every ``refresh_windows`` windows of a
  pair, its windows go to ``submit`` (the engine's worker pool); the result judges that pair's
  windows from :data:`CHANCE_DELAY_WINDOWS` windows later on, as soon as it has arrived. Live it
  is never waited for (the engine's pool is a thread: see benchmarks/bench_pipeline.py for what it costs the
  beat path; ``submit`` takes plain picklable arguments, so a process pool would do too) (a late result judges the first window after it arrives); with
  ``wait_for_chance`` (a replay, a simulation faster than real time) the window that is due waits
  for it, so the same recording always gives the same windows;
* ``shared breathing rhythm`` (:mod:`~somafeedback.synchrony.breathing`, as the offline command) is off the
  beat path too (:class:`~.synchrony_breathing.BreathingReader`): with each new window of a pair the breathing
  points that became computable go to ``submit``; what they find marks the pair's windows from the next
  window on, waited for in the same cases as the chance level;
* a timing note (:data:`~somafeedback.synchrony.pair_window.PLAIN_STRAP_TIMING`) on every window of a pair
  where either person's beats up to the window's end were not timed by ECG R peaks (a strap without ECG, or
  an H10 whose ECG is not streaming): such beats sit up to ~1 s late, so the lag is less certain;
* confounds from what the analysis knows: ``movement`` (either person's chest-motion breathing
  estimate says moving), ``shared pacer`` (both people's pacer-following estimates say following),
  ``clock uncertain`` (a ``remote-clock`` event less certain than the settings' limit, or none yet);
  ``artifacts`` the tracker marks itself. A seek starts every pair afresh.

Nothing here is recorded: a replay recomputes the windows from the recorded beats and events.

Thread: the engine's loop (one caller); the windows, chance levels and breathing checks run on the worker.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any, Final

import numpy as np

from somafeedback.devices.events import Beat, SourceEvent, TimelineEvent
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.remote.clock_sync import CLOCK_EVENT
from somafeedback.signals.chest_motion import BreathingEstimate
from somafeedback.signals.pacer_following import FollowingEstimate
from somafeedback.synchrony.confounds import ARTIFACTS, ConfoundSpans, Span, clock_uncertain_spans, window_confounds
from somafeedback.synchrony.pair_window import PLAIN_STRAP_TIMING, PairWindow
from somafeedback.synchrony.settings import SynchronySettings
from somafeedback.synchrony.surrogates import ChanceLevel, stands_out, windows_chance_level
from somafeedback.synchrony.tracker import SynchronyTracker
from somafeedback.synchrony.windows import SyncWindow, compute_windows, window_start

from .analysis import Output
from .synchrony_breathing import BreathingReader

log = logging.getLogger(__name__)

PRACTITIONER_STRAP: Final = "strap2"  # the strap panel's practitioner (ui/device_panel.py ROLES; dyad scenarios)
CHANCE_DELAY_WINDOWS: Final = 1  # a chance level judges windows from this many windows after its last one (5 s)
CHANCE_WAIT_S: Final = 60.0  # with wait_for_chance, the longest a due window waits for the worker, s
MAX_SPAN_STEP_S: Final = 10.0  # a movement / following span reaches back at most this far to the previous estimate, s

# how a job is handed to a worker: ``Executor.submit`` (compute_windows, windows_chance_level or
# shared_breathing_job and their plain, picklable arguments)
Submit = Callable[..., "Future[Any]"]


def inline_submit(function: Callable[..., Any], *args: Any) -> Future[Any]:
    """Run the job at once (no worker): for callers without a pool, and tests."""
    future: Future[Any] = Future()
    future.set_result(function(*args))
    return future


class _Spans:
    """One strap's spans of one kind, from successive estimates (true from the previous one to this one)."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self._last_t: float | None = None

    def add(self, t_s: float, on: bool) -> bool:
        """One estimate at ``t_s``; True when the spans changed."""
        start = t_s - MAX_SPAN_STEP_S if self._last_t is None else max(self._last_t, t_s - MAX_SPAN_STEP_S)
        self._last_t = t_s
        if not on:
            return False
        if self.spans and self.spans[-1][1] >= start:
            self.spans[-1] = (self.spans[-1][0], t_s)
        else:
            self.spans.append((start, t_s))
        return True


def _intersection(a: Sequence[Span], b: Sequence[Span]) -> tuple[Span, ...]:
    """The spans covered by both lists (each sorted and disjoint)."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


@dataclass
class _Pair:
    """One pair's tracker, its pending chance jobs and its running summary."""

    a: str
    b: str
    tracker: SynchronyTracker
    chance: ChanceLevel
    breathing: BreathingReader  # the shared breathing rhythm read so far
    pending: list[tuple[int, Future[ChanceLevel]]] = field(default_factory=list)  # (windows it was drawn from, job)
    computing: list[tuple[range, float, Future[list[SyncWindow]]]] = field(default_factory=list)  # (due, origin, job)
    sum_abs_z: float = 0.0
    valued: int = 0
    above: int = 0


class SynchronyStage:
    """Pairs every strap with the practitioner's and turns their beats into judged windows (engine loop)."""

    def __init__(self, settings: SynchronySettings = SynchronySettings(), submit: Submit = inline_submit,
                 wait_for_chance: bool = False, practitioner: str = PRACTITIONER_STRAP) -> None:
        self.settings = settings
        self.submit = submit
        self.wait_for_chance = wait_for_chance
        self.practitioner = practitioner
        self.pairs: dict[str, _Pair] = {}  # by B's strap
        self._beats: dict[str, tuple[list[float], list[float], list[bool]]] = {}  # every strap's beats so far
        self._moving: dict[str, _Spans] = {}
        self._following: dict[str, _Spans] = {}
        self._clock_checks: dict[float, float] = {}  # time s -> uncertainty ms of each remote-clock event
        self._ecg_beat_s: dict[str, float] = {}  # each strap's latest beat timed by ECG R peaks, s
        self._spans_changed = False

    # -- input (engine loop) ----------------------------------------------------------------------
    def outputs(self, outputs: Sequence[tuple[str, Output]]) -> list[PairWindow]:
        """What the analysis made of one notification or event: the pairs' new windows, in order."""
        fresh: dict[str, list[BeatMetrics]] = {}
        for strap, output in outputs:
            if isinstance(output, BeatMetrics):
                if output.rr_ms is not None:  # a beat (a gap's metric set is none)
                    fresh.setdefault(strap, []).append(output)
            elif isinstance(output, Beat) and output.source == "ecg":
                self._ecg_beat_s[strap] = output.t_s
            elif isinstance(output, BreathingEstimate) and output.source == "acc":
                self._spans_changed |= self._moving.setdefault(strap, _Spans()).add(output.t_s, output.moving)
            elif isinstance(output, FollowingEstimate):
                on = output.valid and output.following
                self._spans_changed |= self._following.setdefault(strap, _Spans()).add(output.t_s, on)
        if fresh:
            self._beats_in(fresh)
        return [w for pair in self.pairs.values() for w in self._computed(pair)]

    def _beats_in(self, fresh: dict[str, list[BeatMetrics]]) -> None:
        """New beats: kept, fed to every pair they belong to; the windows that became due go to the worker."""
        for strap in fresh:
            self._beats.setdefault(strap, ([], [], []))
        if self.practitioner in self._beats:  # a pair appears with its first beat, fed both people's beats so far
            for other in self._beats:
                if other != self.practitioner and other not in self.pairs:
                    self._new_pair(other)
        for strap, beats in fresh.items():
            t, rr, flagged = self._beats[strap]
            t.extend(b.t_s for b in beats)
            rr.extend(float(b.rr_ms or 0.0) for b in beats)
            flagged.extend(b.flagged for b in beats)
        if self._spans_changed:
            self._apply_spans()
        a_chunk = _chunk(fresh.get(self.practitioner))
        for b, pair in self.pairs.items():
            b_chunk = _chunk(fresh.get(b))
            if a_chunk is not None or b_chunk is not None:
                self._compute(pair, pair.tracker.feed(a_chunk, b_chunk))

    def event(self, event: SourceEvent) -> None:
        """A timeline event: a ``remote-clock`` check (clock uncertain), a replay ``seek`` (start afresh)."""
        if not isinstance(event, TimelineEvent):
            return
        if event.kind == "seek":
            self.pairs.clear()
            self._beats.clear()
            self._moving.clear()
            self._following.clear()
            self._ecg_beat_s.clear()
        elif event.kind == CLOCK_EVENT:
            uncertainty = event.data.get("uncertainty_s")
            ms = 1000.0 * uncertainty if isinstance(uncertainty, (int, float)) else math.inf  # no estimate yet
            self._clock_checks[event.host_ns / 1e9] = ms  # a replay after a seek may deliver one again
            self._spans_changed = True

    # -- pairs --------------------------------------------------------------------------------------
    def _new_pair(self, b: str) -> None:
        """A pair appears: its tracker is fed both people's beats so far."""
        tracker = SynchronyTracker(self.settings, self._pair_spans(b), inline_chance=False)
        self.pairs[b] = _Pair(self.practitioner, b, tracker, tracker.chance, BreathingReader(self.settings))
        self._spans_changed = True
        for strap, side in ((self.practitioner, "a"), (b, "b")):
            t, rr, flagged = self._beats[strap]
            if t:
                self._compute(self.pairs[b], tracker.feed(**{side: (np.array(t), np.array(rr),
                                                                      np.array(flagged, dtype=bool))}))

    def _compute(self, pair: _Pair, due: range) -> None:
        """Hand the windows that became due to the worker (one job on copies of the beats near them)."""
        if due:
            a, b, origin = pair.tracker.window_inputs(due)
            job = self.submit(compute_windows, a, b, origin, due.start, due.stop, self.settings, pair.tracker.spans)
            pair.computing.append((due, origin, job))

    def _computed(self, pair: _Pair) -> list[PairWindow]:
        """The pair's computed windows, judged in window order (live: the jobs done; else each waited for)."""
        made: list[PairWindow] = []
        while pair.computing:
            due, origin, job = pair.computing[0]
            if not job.done() and not self.wait_for_chance:
                break  # live: never wait; the next notification looks again
            pair.computing.pop(0)
            try:
                windows = job.result(timeout=CHANCE_WAIT_S)
            except Exception:  # noqa: BLE001 - the windows stand without values, the pair goes on
                log.warning("synchrony: windows %d-%d could not be computed", due.start, due.stop - 1, exc_info=True)
                windows = [_no_window(origin, k, self.settings) for k in due]
            for window in windows:
                pair.tracker.windows.append(window)
                made.append(self._judge(pair, window))
        return made

    def _pair_spans(self, b: str) -> ConfoundSpans:
        empty = _Spans()
        moving = sorted([*self._moving.get(self.practitioner, empty).spans, *self._moving.get(b, empty).spans])
        shared = _intersection(self._following.get(self.practitioner, empty).spans, self._following.get(b, empty).spans)
        clock = clock_uncertain_spans(sorted(self._clock_checks.items()), self.settings.clock_uncertain_ms)
        pair = self.pairs.get(b)
        breathing = pair.breathing.spans() if pair is not None else ()
        return ConfoundSpans(shared_pacer=shared, shared_breathing=breathing, movement=tuple(moving),
                             clock_uncertain=clock)

    def _apply_spans(self) -> None:
        for b, pair in self.pairs.items():
            pair.tracker.set_spans(self._pair_spans(b))
        self._spans_changed = False

    def _judge(self, pair: _Pair, window: SyncWindow) -> PairWindow:
        """Judge one new window with the chance level due for it; every ``refresh_windows`` windows start a job."""
        index = window.index
        if pair.breathing.take(index, CHANCE_DELAY_WINDOWS, self.wait_for_chance):
            pair.tracker.set_spans(self._pair_spans(pair.b))
            window = replace(window, confounds=window_confounds(pair.tracker.spans, window.start_s, window.end_s,
                                                                ARTIFACTS in window.confounds))
        while pair.pending and pair.pending[0][0] + CHANCE_DELAY_WINDOWS <= index:
            drawn_from, job = pair.pending[0]
            if not job.done() and not self.wait_for_chance:
                break  # live: never wait; the next window looks again
            pair.pending.pop(0)
            try:
                pair.chance = job.result(timeout=CHANCE_WAIT_S)
            except Exception:  # noqa: BLE001 - the windows go on with the chance level they had
                log.warning("synchrony: a chance level could not be computed (drawn from %d windows)", drawn_from,
                            exc_info=True)
        judged = replace(window, above_chance=stands_out(window, pair.chance))
        pair.tracker.windows[index] = judged
        if judged.z is not None:
            pair.valued += 1
            pair.sum_abs_z += abs(judged.z)
            pair.above += bool(judged.above_chance)
        count = index + 1
        if count % self.settings.refresh_windows == 0:
            pair.pending.append((count, self.submit(windows_chance_level, tuple(pair.tracker.windows[:count]),
                                                    self.settings)))
        pair.breathing.submit(self._beats[pair.a], self._beats[pair.b], index, self.submit)
        return PairWindow(pair.a, pair.b, judged, *_so_far(pair), timing_note=self._timing_note(pair, judged))

    def _timing_note(self, pair: _Pair, window: SyncWindow) -> str | None:
        """The plain-strap note unless both people's beats through the window's end were timed by ECG."""
        timed = all(self._ecg_beat_s.get(strap, -math.inf) >= window.end_s for strap in (pair.a, pair.b))
        return None if timed else PLAIN_STRAP_TIMING


def _so_far(pair: _Pair) -> tuple[float | None, float | None]:
    """(effect size, share of windows above chance) of the pair's windows so far (None before a chance level)."""
    chance = pair.chance
    if chance.threshold_z is None or not pair.valued:
        return None, None
    effect = (pair.sum_abs_z / pair.valued - chance.mean_z) / chance.sd_z if chance.mean_z is not None and chance.sd_z else None
    return effect, pair.above / pair.valued


def _no_window(origin: float, index: int, settings: SynchronySettings) -> SyncWindow:
    """A window whose computation failed: no values (so the pair's window indices stay in step)."""
    start = window_start(origin, index, settings)
    return SyncWindow(index, start, start + settings.window_s, None, None, None, None, (), None, None)


def _chunk(beats: list[BeatMetrics] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    if not beats:
        return None
    return (np.array([b.t_s for b in beats]), np.array([float(b.rr_ms or 0.0) for b in beats]),
            np.array([b.flagged for b in beats], dtype=bool))


def describe_settings(settings: SynchronySettings) -> dict[str, Any]:
    """The settings and how the live stage judges with them (for an LSL description, a log)."""
    return {**settings.as_dict(), "chance_delay_windows": CHANCE_DELAY_WINDOWS, "practitioner_strap": PRACTITIONER_STRAP}
