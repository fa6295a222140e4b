"""One resonance-frequency assessment as it runs: a state machine driven by session (beat) time.

:class:`AssessmentRun` has no clock of its own: the caller hands it beat times (``begin``, ``tick``,
``feed``) and the practitioner's or client's controls (``control``). Each call returns the timeline
events to emit, ``(kind, t_s, data)`` as documented in :mod:`somafeedback.resonance.events`, stamped
with the session time they happened at (a step's end at its planned end, not at the beat that
noticed it). One :class:`~somafeedback.regulation.pacer.Pacer` per step (``pacer``; None while
resting and after the end). Only the current step's beats, breathing and following estimates are
kept (what falls in its scored span), so memory stays bounded however long the run.

Thread: the one loop that feeds it (not thread-safe).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np

from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.regulation.pacer import Pacer, PacerSettings
from somafeedback.signals.chest_motion import BreathingEstimate
from somafeedback.signals.pacer_following import FollowingEstimate

from .events import CONTROLS, PROGRESS_EVERY_S, RESULT_EVENT, STEP_EVENT
from somafeedback.regulation.assessment_protocol import ResonanceProtocol
from .result import ResonanceResult, StepMeasures
from .step_data import StepData

RunEvent: TypeAlias = tuple[str, float, dict[str, Any]]  # (kind, session s, data)
Measure: TypeAlias = Callable[[StepData], StepMeasures]
Rank: TypeAlias = Callable[[Sequence[StepMeasures], bool], ResonanceResult]  # (steps, complete) -> result


def default_measure(data: StepData) -> StepMeasures:
    """The criteria's measures of one step (imported when first used)."""
    from .criteria import measure_step

    return measure_step(data)


def default_rank(protocol: ResonanceProtocol, weights: Mapping[str, float] | None = None) -> Rank:
    """The documented ranking (:func:`somafeedback.resonance.scoring.rank`) for ``protocol`` with
    ``weights`` (None: the documented defaults). ValueError, in words, for bad weights (at once)."""
    from .scoring import rank, validate_weights

    chosen = validate_weights(weights)

    def rank_steps(steps: Sequence[StepMeasures], complete: bool) -> ResonanceResult:
        return rank(list(steps), weights=chosen, protocol=protocol.as_dict(), complete=complete)

    return rank_steps


@dataclass(slots=True)
class StepRecord:
    """One step (running, or read back from a recording) and what it gathered in its scored span."""

    index: int
    step: int
    planned_steps: int
    rate_bpm: float
    inhale_share: float
    started_s: float
    scored_from_s: float
    ends_s: float
    pacer: Pacer
    next_progress_s: float
    beats: list[tuple[float, float, bool]] = field(default_factory=list)
    breathing: dict[str, list[tuple[float, float, float]]] = field(default_factory=dict)  # source -> (t, phase, rate)
    following: list[tuple[float, bool, bool]] = field(default_factory=list)

    def keys(self) -> dict[str, Any]:
        return {"index": self.index, "step": self.step, "planned_steps": self.planned_steps, "rate_bpm": self.rate_bpm, "inhale_share": self.inhale_share,
                "started_s": round(self.started_s, 3), "scored_from_s": round(self.scored_from_s, 3),
                "ends_s": round(self.ends_s, 3)}

    def keep(self, output: object) -> None:
        """Keep an analysis output that falls in the scored span ``[scored_from_s, ends_s)``: a beat, a
        valid breathing estimate, or a pacer-following estimate whose whole window lies in the span
        (one reaching back into the settling would judge breathing from before the scored part)."""
        t_s = getattr(output, "t_s", math.nan)
        if not self.scored_from_s <= t_s < self.ends_s:
            return
        if isinstance(output, BeatMetrics) and output.rr_ms is not None:
            self.beats.append((float(t_s), float(output.rr_ms), bool(output.flagged)))
        elif isinstance(output, BreathingEstimate) and output.valid:
            self.breathing.setdefault(output.source, []).append((float(t_s), float(output.phase), float(output.rate_bpm)))
        elif isinstance(output, FollowingEstimate) and not t_s - output.window_s < self.scored_from_s:
            self.following.append((float(t_s), bool(output.valid), bool(output.following)))

    def data(self, t1_s: float) -> StepData:
        """The scored span ``[scored_from_s, t1_s)`` as the criteria read it."""
        t0 = self.scored_from_s
        beats = [b for b in self.beats if t0 <= b[0] < t1_s]
        source = "acc" if self.breathing.get("acc") else ("ecg" if self.breathing.get("ecg") else "")
        breaths = [b for b in self.breathing.get(source, []) if t0 <= b[0] < t1_s]
        columns = np.array(breaths, dtype=float).reshape(-1, 3) if source else None
        return StepData(
            rate_bpm=self.rate_bpm, inhale_share=self.inhale_share, t0_s=t0, t1_s=t1_s,
            beat_t_s=np.array([b[0] for b in beats], dtype=float), rr_ms=np.array([b[1] for b in beats], dtype=float),
            flagged=np.array([b[2] for b in beats], dtype=bool),
            breath_t_s=None if columns is None else columns[:, 0].copy(),
            breath_phase=None if columns is None else columns[:, 1].copy(),
            breath_rate_bpm=None if columns is None else columns[:, 2].copy(),
            breath_source=source, following=tuple(f for f in self.following if t0 <= f[0] < t1_s),
            pacer=self.pacer, index=self.index, step=self.step)


class AssessmentRun:
    """The stepped protocol run against beat time (see the module docstring).

    ``measure``: StepData -> StepMeasures (default: the criteria's ``measure_step``); ``rank``:
    (steps, complete) -> ResonanceResult (default: the documented ranking with ``weights``, the
    practitioner's from the settings, None: the documented defaults; ValueError for bad ones);
    ``client``: the pseudonym recorded in ``begin``.
    """

    def __init__(self, protocol: ResonanceProtocol, measure: Measure | None = None, rank: Rank | None = None,
                 client: str | None = None, weights: Mapping[str, float] | None = None) -> None:
        self.protocol = protocol
        self.measure = measure or default_measure
        self.rank = rank or default_rank(protocol, weights)
        self.client = client
        self.measures: list[StepMeasures] = []  # every step run, in run order
        self.result: ResonanceResult | None = None
        self.began_s: float | None = None
        self._step: StepRecord | None = None
        self._rest: tuple[float, float] | None = None  # (started_s, ends_s) of the rest now
        self._next = 0  # position in the protocol's rates of the next step to start
        self._index = 0  # run index of the next step to start
        self._last: tuple[int, float] | None = None  # (step, rate) of the last step started (for a repeat in a rest)

    # -- state ----------------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        return self.began_s is not None

    @property
    def finished(self) -> bool:
        return self.result is not None

    @property
    def pacer(self) -> Pacer | None:
        """The pacer in force: the current step's, None while resting, before the start and after the end."""
        return self._step.pacer if self._step is not None else None

    @property
    def current(self) -> dict[str, Any] | None:
        """The step running now (``start`` event keys), or None."""
        return self._step.keys() if self._step is not None else None

    # -- driving --------------------------------------------------------------------------------
    def begin(self, t_s: float) -> list[RunEvent]:
        """Start the assessment at session time ``t_s``: ``begin`` then the first step's ``start``."""
        if self.started:
            return []
        self.began_s = t_s
        events: list[RunEvent] = [(STEP_EVENT, t_s, {"action": "begin", "protocol": self.protocol.as_dict(),
                                                     "planned_s": self.protocol.duration_s, "client": self.client})]
        return events + self._start(t_s, self._next)

    def tick(self, t_s: float) -> list[RunEvent]:
        """Session time is now ``t_s``: the progress, ends, rests and starts due by then."""
        events: list[RunEvent] = []
        if not self.started or self.finished:
            return events
        while True:
            step = self._step
            if step is not None:
                while step.next_progress_s <= min(t_s, step.ends_s - 1e-9):
                    at = step.next_progress_s
                    step.next_progress_s += PROGRESS_EVERY_S
                    events.append((STEP_EVENT, at, {"action": "progress", **step.keys(),
                                                    "measures": self.measure(step.data(at)).as_dict()}))
                if t_s < step.ends_s:
                    return events
                events += self._close("end", step.ends_s)
                events += self._after_step(step.ends_s)
            elif self._rest is not None:
                if t_s < self._rest[1]:
                    return events
                at = self._rest[1]
                self._rest = None
                events += self._start(at, self._next)
            else:
                return events
            if self.finished:
                return events

    def feed(self, output: object) -> list[RunEvent]:
        """One analysis output of the client's strap (beats, breathing, following), kept when it falls
        in the current step's scored span. A beat moves time on to its ``t_s`` first (beats are the
        session's time: breathing estimates may come before beats the ECG check still holds back)."""
        t_s = getattr(output, "t_s", None)
        if not isinstance(t_s, (int, float)) or not math.isfinite(t_s):
            return []
        events = self.tick(float(t_s)) if isinstance(output, BeatMetrics) else []
        if self._step is not None:
            self._step.keep(output)
        return events

    def control(self, action: str, t_s: float, by: str = "practitioner", reason: str = "") -> list[RunEvent]:
        """``skip`` (the step, or the rest), ``repeat`` (the step, or the one just done while resting) or
        ``stop`` (``by`` "practitioner", "client" or "end of session"). ValueError for another action."""
        if action not in CONTROLS:
            raise ValueError(f"unknown assessment control {action!r} (known: {', '.join(CONTROLS)})")
        if not self.started or self.finished:
            return []
        events = self.tick(t_s)
        if self.finished:
            return events
        step = self._step
        if action == "stop":
            default = "the session ended" if by == "end of session" else f"stopped by the {by}"
            data: dict[str, Any] = {"action": "stopped", "by": by, "reason": reason or default}
            if step is not None:
                data.update(step.keys())
                if t_s > step.scored_from_s:
                    self.measures.append(self.measure(step.data(t_s)))
            self._step = self._rest = None
            return events + [(STEP_EVENT, t_s, data)] + self._finish(t_s, complete=False)
        if action == "skip":
            if step is not None:
                return events + self._close("skipped", t_s) + self._after_step(t_s)
            self._rest = None
            return events + self._start(t_s, self._next)
        # repeat: the same step again from now, with a new index
        again = step.step if step is not None else (self._last[0] if self._last is not None else self._next)
        if step is not None:
            events.append((STEP_EVENT, t_s, {"action": "repeat", **step.keys()}))
        else:
            events.append((STEP_EVENT, t_s, {"action": "repeat", "step": again,
                                             "rate_bpm": self.protocol.rates_bpm[again]}))
        self._step = self._rest = None
        return events + self._start(t_s, again, advance=False)

    def stop(self, t_s: float, by: str, reason: str = "") -> list[RunEvent]:
        """Stop the assessment (the client's "dizzy", the session's end...)."""
        return self.control("stop", t_s, by, reason)

    # -- steps ----------------------------------------------------------------------------------
    def _start(self, t_s: float, position: int, advance: bool = True) -> list[RunEvent]:
        protocol = self.protocol
        rate = protocol.rates_bpm[position]
        pacer = Pacer(PacerSettings.from_rate(rate, protocol.inhale_share), round(t_s, 3))  # as its start event says
        scored_from = t_s + protocol.settle_s
        self._step = StepRecord(self._index, position, len(protocol.rates_bpm), rate, protocol.inhale_share, t_s, scored_from, t_s + protocol.step_s,
                           pacer, scored_from + PROGRESS_EVERY_S)
        self._index += 1
        self._last = (position, rate)
        if advance:
            self._next = position + 1
        return [(STEP_EVENT, t_s, {"action": "start", **self._step.keys()})]

    def _close(self, action: str, t_s: float) -> list[RunEvent]:
        """The current step ends (``end``) or is skipped: its measures over the scored part up to ``t_s``."""
        step = self._step
        assert step is not None
        self._step = None
        measures = self.measure(step.data(min(t_s, step.ends_s)))
        self.measures.append(measures)
        return [(STEP_EVENT, t_s, {"action": action, **step.keys(), "measures": measures.as_dict()})]

    def _after_step(self, t_s: float) -> list[RunEvent]:
        """A rest before the next step, the next step at once, or the end."""
        if self._next >= len(self.protocol.rates_bpm):
            return self._finish(t_s, complete=True)
        if self.protocol.rest_s <= 0:
            return self._start(t_s, self._next)
        self._rest = (t_s, t_s + self.protocol.rest_s)
        return [(STEP_EVENT, t_s, {"action": "rest", "started_s": round(t_s, 3), "ends_s": round(self._rest[1], 3),
                                   "next_step": self._next, "next_rate_bpm": self.protocol.rates_bpm[self._next]})]

    def _finish(self, t_s: float, complete: bool) -> list[RunEvent]:
        self.result = self.rank(self.measures, complete)
        return [(RESULT_EVENT, t_s, self.result.as_dict())]


__all__ = ["AssessmentRun", "StepRecord", "Measure", "Rank", "RunEvent", "default_measure", "default_rank"]
