"""The cue engine: suggestions to the practitioner, and the home-practice script runner.

Practitioner mode (research/somatic.md §4.1-4.2): the engine only *suggests*, to the
practitioner, who approves, snoozes or dismisses; nothing reaches the client screen
unless approved. Rules (defaults in :class:`CueConfig`):

* **grounding**: above band for 30 s and heart rate not yet coming down;
* **containment**: still above band 90 s after an approved grounding suggestion;
* **pendulation invitation**: activation (rising or above band) sustained for 4 min with no
  return toward the usual range;
* quiet while calibrating, settling, paused or low signal, for 2 min after a practitioner's
  discharge marker, and while muted; at least 3 min between suggestions and at most 6 per
  session; an unanswered suggestion expires after 45 s; a snooze silences it for 5 min.

Home mode: a chosen script runs step by step; when above band persists 60 s it pauses into
grounding, and resumes when settled.

Every suggestion, decision and delivered cue is a :class:`CueEvent` for the recording.

Thread: any; synchronous, driven by beat time.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from .exercise_library import Exercise, exercise_for
from .regulation import Features, RegulationState, StateChange

QUIET_STATES = (RegulationState.CALIBRATING, RegulationState.SETTLING, RegulationState.PAUSED,
                RegulationState.LOW_SIGNAL, RegulationState.MOVING)
ACTIVATED = (RegulationState.RISING, RegulationState.ABOVE_BAND)


@dataclass(frozen=True, slots=True)
class CueConfig:
    grounding_after_s: float = 30.0  # above band this long, not yet coming down
    containment_after_s: float = 90.0  # still above band this long after an approved grounding
    pendulation_after_s: float = 240.0  # activation without return
    min_gap_s: float = 180.0
    max_per_session: int = 6
    expire_s: float = 45.0
    snooze_s: float = 300.0
    discharge_quiet_s: float = 120.0
    home_grounding_after_s: float = 60.0


SUGGESTION_TEXT = {
    "grounding": "Heart rate above the usual range and not yet coming down for 30 s. Invite grounding? (feet, seat, orienting)",
    "containment": "Still above the usual range after grounding. Consider containment (self-hold), or slowing the pace of the material.",
    "pendulation": "Heart rate steadily above the usual range for 4 min, without a return toward it. "
                   "Invite pendulation, starting from a resource?",
}
ROLE = {"grounding": "grounding", "containment": "containment", "pendulation": "pendulation"}


@dataclass(frozen=True, slots=True)
class CueEvent:
    """One step in a cue's life, or of a home script (recorded as a timeline event)."""

    t_s: float
    action: str  # suggested | approved | snoozed | dismissed | expired | delivered | script-step | script-paused | ...
    cue_id: int | None
    kind: str  # grounding | containment | pendulation | script
    exercise: str | None
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "cue_id": self.cue_id, "kind": self.kind, "exercise": self.exercise, "text": self.text}


@dataclass
class Suggestion:
    cue_id: int
    kind: str
    t_s: float
    exercise: Exercise | None
    open: bool = True


class PractitionerCues:
    """Suggestions for the practitioner; decisions come back through approve/snooze/dismiss."""

    def __init__(self, library: dict[str, Exercise], config: CueConfig = CueConfig(), auto_approve: bool = False) -> None:
        self.library = library
        self.config = config
        self.auto_approve = auto_approve
        self.state = RegulationState.CALIBRATING
        self._state_since = 0.0
        self._activated_since: float | None = None
        self._grounding_approved_at: float | None = None
        self._last_suggested = -float("inf")
        self._quiet_until = -float("inf")
        self._snoozed_until = -float("inf")
        self._muted = False
        self._ids = itertools.count(1)
        self.suggestions: list[Suggestion] = []
        self.given: set[str] = set()  # kinds suggested during the current activation episode

    @property
    def pending(self) -> Suggestion | None:
        return next((s for s in reversed(self.suggestions) if s.open), None)

    # -- inputs -----------------------------------------------------------------------------
    def on_state(self, change: StateChange) -> list[CueEvent]:
        self.state, self._state_since = change.state, change.t_s
        if change.state in ACTIVATED:
            if self._activated_since is None:
                self._activated_since = change.t_s
        elif change.state not in (RegulationState.LOW_SIGNAL, RegulationState.MOVING):
            self._activated_since = None
            if change.state in (RegulationState.IN_BAND, RegulationState.SETTLING):
                self.given.clear()
                self._grounding_approved_at = None
        return []

    def on_marker(self, kind: str, t_s: float) -> list[CueEvent]:
        if kind == "discharge":
            self._quiet_until = max(self._quiet_until, t_s + self.config.discharge_quiet_s)
        elif kind == "mute":
            self._muted = True
        elif kind == "unmute":
            self._muted = False
        return []

    def tick(self, features: Features) -> list[CueEvent]:
        """Called on every beat: expire old suggestions, maybe make a new one."""
        t, cfg = features.t_s, self.config
        events = [self._close(s, "expired", t) for s in self.suggestions
                  if s.open and t - s.t_s >= cfg.expire_s and not self.auto_approve]
        kind = self._due(features)
        if kind is not None:
            events += self._suggest(kind, t)
        return events

    def _due(self, f: Features) -> str | None:
        cfg, t = self.config, f.t_s
        if (self._muted or self.state in QUIET_STATES or t < self._quiet_until or t < self._snoozed_until
                or t - self._last_suggested < cfg.min_gap_s or len(self.suggestions) >= cfg.max_per_session
                or self.pending is not None):
            return None
        in_state = t - self._state_since
        coming_down = f.slope60 is not None and f.slope60 < 0
        if self.state is RegulationState.ABOVE_BAND:
            if ("grounding" not in self.given and in_state >= cfg.grounding_after_s and not coming_down):
                return "grounding"
            if ("containment" not in self.given and self._grounding_approved_at is not None
                    and t - self._grounding_approved_at >= cfg.containment_after_s):
                return "containment"
        if (self._activated_since is not None and "pendulation" not in self.given
                and t - self._activated_since >= cfg.pendulation_after_s):
            return "pendulation"
        return None

    def _suggest(self, kind: str, t: float) -> list[CueEvent]:
        exercise = exercise_for(ROLE[kind], "session", self.library)
        suggestion = Suggestion(next(self._ids), kind, t, exercise)
        self.suggestions.append(suggestion)
        self.given.add(kind)
        self._last_suggested = t
        events = [CueEvent(t, "suggested", suggestion.cue_id, kind, exercise.id if exercise else None, SUGGESTION_TEXT[kind])]
        if self.auto_approve:
            events += self.approve(t)
        return events

    # -- decisions --------------------------------------------------------------------------
    def approve(self, t: float) -> list[CueEvent]:
        """The practitioner approves the open suggestion: it is delivered to the client screen."""
        s = self.pending
        if s is None:
            return []
        if s.kind == "grounding":
            self._grounding_approved_at = t
        title = s.exercise.title if s.exercise else s.kind
        return [self._close(s, "approved", t),
                CueEvent(t, "delivered", s.cue_id, s.kind, s.exercise.id if s.exercise else None, title)]

    def snooze(self, t: float) -> list[CueEvent]:
        s = self.pending
        if s is None:
            return []
        self._snoozed_until = t + self.config.snooze_s
        return [self._close(s, "snoozed", t)]

    def dismiss(self, t: float) -> list[CueEvent]:
        s = self.pending
        return [] if s is None else [self._close(s, "dismissed", t)]

    def _close(self, s: Suggestion, action: str, t: float) -> CueEvent:
        s.open = False
        return CueEvent(t, action, s.cue_id, s.kind, s.exercise.id if s.exercise else None, SUGGESTION_TEXT[s.kind])


@dataclass
class HomeScript:
    """A home practice: the chosen script's steps in order, pausing into grounding when needed."""

    script: Exercise
    library: dict[str, Exercise]
    config: CueConfig = field(default_factory=CueConfig)
    step: int = -1
    step_started: float = 0.0
    paused_for_grounding: bool = False
    finished: bool = False
    _above_since: float | None = None

    def start(self, t: float) -> list[CueEvent]:
        return self._enter(0, t)

    def tick(self, t: float, state: RegulationState) -> list[CueEvent]:
        if self.finished or self.step < 0:
            return []
        events: list[CueEvent] = []
        if state is RegulationState.ABOVE_BAND:
            self._above_since = t if self._above_since is None else self._above_since
        else:
            self._above_since = None
        if not self.paused_for_grounding and self._above_since is not None and t - self._above_since >= self.config.home_grounding_after_s:
            self.paused_for_grounding = True
            grounding = exercise_for("grounding", "home", self.library)
            text = grounding.steps[0].text if grounding else "Let's come back to the feet for a moment."
            return [CueEvent(t, "script-paused", None, "script", grounding.id if grounding else None, text)]
        if self.paused_for_grounding:
            if state in (RegulationState.IN_BAND, RegulationState.SETTLING) and self._above_since is None:
                self.paused_for_grounding = False
                self.step_started = t
                events.append(CueEvent(t, "script-resumed", None, "script", self.script.id,
                                       self.script.steps[self.step].text))
            return events
        if t - self.step_started >= self.script.steps[self.step].seconds:
            if self.step + 1 >= len(self.script.steps):
                self.finished = True
                return [CueEvent(t, "script-finished", None, "script", self.script.id, self.script.title)]
            return self._enter(self.step + 1, t)
        return events

    def _enter(self, step: int, t: float) -> list[CueEvent]:
        self.step, self.step_started = step, t
        return [CueEvent(t, "script-step", step + 1, "script", self.script.id, self.script.steps[step].text)]
