"""Re-scoring a recorded assessment: the recording replayed through :class:`LiveAnalysis` (the same
beats, breathing and pacer-following as live), the steps taken from its ``resonance-step`` events
(the protocol is not run again), each step measured over its scored span and the steps ranked.

A recording without an assessment is scored step-free as one span (``score_span``), and says so.

Thread: any (synchronous, Qt-free; reads a session already read back).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from somafeedback.devices.events import Notification, SourceEvent, TimelineEvent
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.regulation.pacer import Pacer, PacerSettings
from somafeedback.resonance.events import RESULT_EVENT, STEP_EVENT
from somafeedback.resonance.result import ResonanceResult, StepMeasures
from somafeedback.resonance.run import Measure, Rank, StepRecord, default_measure
from somafeedback.sessions.client_strap import CLIENT_STRAP, client_strap
from somafeedback.signals.chest_motion import BreathingEstimate
from somafeedback.signals.pacer_following import FollowingEstimate

from .analysis import LiveAnalysis

NO_ASSESSMENT: Final = "this recording has no assessment: scored as one span without steps"
CLOSING_ACTIONS: Final = ("end", "skipped", "stopped", "repeat")  # what ends a step in the recorded events


@dataclass(frozen=True, slots=True)
class Rescored:
    """The re-scored result, the strap it is about and the session time it is stamped with;
    ``assessment``: the recording had an assessment (False: one step-free span)."""

    result: ResonanceResult
    strap: str | None
    t_s: float
    assessment: bool

    def line(self) -> dict[str, Any]:
        """The same JSON object as the session stream's ``resonance`` line."""
        return {"type": RESULT_EVENT, "strap": self.strap, "t_s": self.t_s, **self.result.as_dict()}


def _recorded_steps(events: Iterable[TimelineEvent]) -> tuple[list[StepRecord], dict[str, Any], bool]:
    """The steps the recording ran (those that ended, were skipped, or stopped after settling), the
    protocol of its ``begin`` and whether it completed; the latest assessment when there are several."""
    steps: list[StepRecord] = []
    protocol: dict[str, Any] = {}
    complete = False
    open_step: StepRecord | None = None
    for event in events:
        data, t_s = event.data, event.host_ns / 1e9
        action = data.get("action")
        if action == "begin":
            steps, protocol, complete, open_step = [], dict(data.get("protocol") or {}), False, None
        elif action == "start":
            pacer = Pacer(PacerSettings.from_rate(float(data["rate_bpm"]), float(data["inhale_share"])), float(data["started_s"]))
            open_step = StepRecord(int(data["index"]), int(data["step"]), int(data.get("planned_steps", 0)),
                                   float(data["rate_bpm"]), float(data["inhale_share"]), float(data["started_s"]),
                                   float(data["scored_from_s"]), float(data["ends_s"]), pacer, math.inf)
        elif action in CLOSING_ACTIONS and open_step is not None:
            if action != "repeat" and (action != "stopped" or t_s > open_step.scored_from_s):
                open_step.ends_s = min(open_step.ends_s, t_s)
                steps.append(open_step)
            open_step = None
        if event.kind == RESULT_EVENT:
            complete = bool(data.get("complete", False))
    return steps, protocol, complete


def _replay(timeline: Iterable[Notification | SourceEvent], strap: str, spans: list[StepRecord]) -> StepRecord:
    """Replay the timeline: each output of ``strap`` kept by the step whose scored span holds it;
    returns one step-free record over the whole recording (for a recording without steps)."""
    analysis = LiveAnalysis(metrics=True)
    whole = StepRecord(0, 0, 1, math.nan, math.nan, -math.inf, -math.inf, math.inf, Pacer(PacerSettings(), 0.0), math.inf)
    starts = [s.scored_from_s for s in spans]
    for item in timeline:
        outputs = analysis.on_notification(item) if isinstance(item, Notification) else analysis.on_event(item)
        for from_strap, output in outputs:
            if from_strap != strap or not isinstance(output, (BeatMetrics, BreathingEstimate, FollowingEstimate)):
                continue
            for target in [s for s, t0 in zip(spans, starts) if t0 <= output.t_s < s.ends_s] if spans else [whole]:
                target.keep(output)
    return whole


def rescore(timeline: list[Notification | SourceEvent], weights: Mapping[str, float] | None = None,
            measure: Measure | None = None, rank: Rank | None = None) -> Rescored:
    """Re-score the recorded ``timeline`` (a session's, read back): see the module docstring.
    ``measure``/``rank``: as :class:`AssessmentRun`'s (default: the criteria and the documented
    ranking with ``weights``). ValueError for a recording with no heartbeat to score."""
    events = [e for e in timeline if isinstance(e, TimelineEvent) and e.kind in (STEP_EVENT, RESULT_EVENT)]
    recorded_strap = next((e.strap_id for e in events if e.strap_id), None)
    strap = recorded_strap or client_strap(timeline) or CLIENT_STRAP
    steps, protocol, complete = _recorded_steps(events)
    recorded_at = [e.host_ns / 1e9 for e in events if e.kind == RESULT_EVENT]  # the live result's time
    whole = _replay(timeline, strap, steps)
    if steps:
        at = recorded_at[-1] if recorded_at else steps[-1].ends_s
        measured = [(measure or default_measure)(step.data(step.ends_s)) for step in steps]
        if rank is not None:
            return Rescored(rank(measured, complete), strap, at, True)
        from somafeedback.resonance import scoring

        result = scoring.rank(measured, weights=weights, protocol=protocol, complete=complete)
        return Rescored(result, strap, at, True)
    from somafeedback.resonance import scoring

    if not whole.beats:
        raise ValueError("this recording has no heartbeats to score")
    from somafeedback.resonance.criteria import score_span

    beats = np.array(whole.beats, dtype=float)
    measures: StepMeasures = score_span(beats[:, 0], beats[:, 1], beats[:, 2].astype(bool))
    result = ResonanceResult(steps=(measures,), weights=scoring.validate_weights(weights), complete=False,
                             reason=NO_ASSESSMENT)
    return Rescored(result, strap, float(beats[-1, 0]), False)


__all__ = ["NO_ASSESSMENT", "Rescored", "rescore"]
