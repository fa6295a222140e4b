"""The cue engine: suggestions to the practitioner, and the home-practice script runner.

Practitioner mode (research/somatic.md §4.1-4.2): the engine only *suggests*, to the
practitioner, who approves, snoozes or dismisses; nothing reaches the client screen
unless approved. Rules (defaults in :class:`CueConfig`):

* **grounding**: above band for 30 s and heart rate not yet coming down;
* **containment**: still above band 90 s after an approved grounding suggestion;
* **resource**: activation (rising or above band) sustained for 4 min with no return toward
  the usual range (no recovery swing, and heart rate not coming down at that moment): an
  invitation to a resource, something that offers a sense of support. The engine never moves toward difficult material by itself: an exercise
  whose role turns toward activation (:data:`ACTIVATING_ROLES`, e.g. titrated pendulation)
  is never attached to a suggestion; such exercises are chosen by the practitioner only;
* quiet while calibrating, settling, paused, moving, re-checking or with the signal lost, for 2
  min after a practitioner's discharge marker, and while muted; at least 3 min between suggestions (counted from the
  previous suggestion, whatever became of it) and at most 6 per session; an unanswered
  suggestion expires after 45 s; a snooze silences the engine for 5 min.

Home mode (:class:`HomeScript`): a chosen script (one marked for home use) runs step by
step. When above band persists 60 s, or the client taps "too much", "dizzy" or "help now",
it pauses into a pause exercise (grounding; the senses exercise for "help now") whose real
steps run with their own timing and stay on the last step; after 5 min of pause with heart
rate still above the usual range, the client is offered to end the practice with their own
plan text (once per pause). It resumes when back in the usual range (a client-chosen pause
once its exercise has run through; after "dizzy" a script with a breathing pacer ends instead of
going back to paced breathing), and ends when the script is complete or the client taps "done".
In Focusing (``auto_pause=False, timed=False``) it never pauses by itself and its steps move on
only when the client taps "next" (or "back").

Every suggestion, decision, delivered cue, script step and client control is a
:class:`CueEvent` for the recording.

Thread: any; synchronous, driven by beat time.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Final

from .exercises import Exercise, exercise_for
from .states import FROZEN, Features, RegulationState, StateChange

QUIET_STATES = (RegulationState.CALIBRATING, RegulationState.SETTLING, RegulationState.PAUSED,
                RegulationState.SIGNAL_LOST, RegulationState.RECHECKING, RegulationState.MOVING)
ACTIVATED = (RegulationState.RISING, RegulationState.ABOVE_BAND)
SETTLED = (RegulationState.IN_BAND, RegulationState.SETTLING)

# Exercise roles that turn toward activation (touching difficult material): never attached to
# an automatic suggestion, never run as a home practice by the engine; the practitioner's choice only.
ACTIVATING_ROLES: Final = frozenset({"pendulation"})


@dataclass(frozen=True, slots=True)
class CueConfig:
    grounding_after_s: float = 30.0  # above band this long, not yet coming down
    containment_after_s: float = 90.0  # still above band this long after an approved grounding
    resource_after_s: float = 240.0  # activation (rising or above band) this long without a return
    min_gap_s: float = 180.0  # from one suggestion to the next
    max_per_session: int = 6
    expire_s: float = 45.0  # an unanswered suggestion closes after this long
    snooze_s: float = 300.0  # no suggestion this long after a snooze
    discharge_quiet_s: float = 120.0
    home_grounding_after_s: float = 60.0  # home: above band this long pauses the script
    home_end_offer_after_s: float = 300.0  # home: paused this long, still above band: offer to end


SUGGESTION_TEXT = {
    "grounding": "Heart rate above the usual range and not yet coming down for 30 s. Invite grounding? (feet, seat, orienting)",
    "containment": "Still above the usual range after grounding. Consider containment (self-hold), or slowing the pace of the material.",
    "resource": "Heart rate rising or above the usual range for 4 min, with no return toward it. "
                "Invite a resource? (something that offers a sense of support)",
}
ROLE = {"grounding": "grounding", "containment": "containment", "resource": "resource"}  # suggestion kind -> exercise role

# -- home practice -------------------------------------------------------------------------
HOME_CONTROLS: Final = ("too-much", "dizzy", "help-now", "done", "keep-going", "next", "back")
DIZZY_TEXT: Final = ("Let your breathing go back to its own rhythm. There is nothing to do with it for now, "
                     "and you can stop at any time.")
DEFAULT_PLAN_TEXT: Final = ("You can end the practice here. Take your time, and reach out to your practitioner "
                            "or someone you trust if you would like support.")
PAUSE_FALLBACK_TEXT: Final = "You can pause here, feel the support under you, and stop at any time."
HELP_NOW_EXERCISE: Final = "senses-5-4-3-2-1"


@dataclass(frozen=True, slots=True)
class CueEvent:
    """One step in a cue's life, or of a home script (recorded as a ``cue`` timeline event)."""

    t_s: float
    action: str  # suggested | approved | snoozed | dismissed | expired | delivered | script-step | script-paused | ...
    cue_id: int | None
    kind: str  # grounding | containment | resource | script
    exercise: str | None
    text: str
    reason: str | None = None  # home: why the script paused or finished

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"action": self.action, "cue_id": self.cue_id, "kind": self.kind,
                                "exercise": self.exercise, "text": self.text}
        if self.reason is not None:
            data["reason"] = self.reason
        return data


@dataclass
class Suggestion:
    cue_id: int
    kind: str
    t_s: float
    exercise: Exercise | None
    open: bool = True


class PractitionerCues:
    """Suggestions for the practitioner; decisions come back through approve/snooze/dismiss."""

    def __init__(self, exercises: dict[str, Exercise], config: CueConfig = CueConfig(), auto_approve: bool = False) -> None:
        self.exercises = exercises
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
        elif change.state not in FROZEN:
            self._activated_since = None
            if change.state in SETTLED:
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
        if (self._activated_since is not None and "resource" not in self.given and not coming_down
                and t - self._activated_since >= cfg.resource_after_s):
            return "resource"
        return None

    def _suggest(self, kind: str, t: float) -> list[CueEvent]:
        exercise = exercise_for(ROLE[kind], "session", self.exercises)
        if exercise is not None and exercise.role in ACTIVATING_ROLES:
            exercise = None  # never moves toward difficult material by itself: the practitioner chooses that
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

    def withdraw(self, t: float) -> list[CueEvent]:
        """The open suggestion is taken back (e.g. the session switched to a method without suggestions)."""
        s = self.pending
        return [] if s is None else [self._close(s, "withdrawn", t)]

    def _close(self, s: Suggestion, action: str, t: float) -> CueEvent:
        s.open = False
        return CueEvent(t, action, s.cue_id, s.kind, s.exercise.id if s.exercise else None, SUGGESTION_TEXT[s.kind])


def check_home_script(script: Exercise) -> None:
    """Raise ValueError unless ``script`` may run as a home practice (``"home"`` in its ``where``)."""
    if "home" not in script.where or script.role in ACTIVATING_ROLES:
        raise ValueError(f"'{script.id}' is for sessions with a practitioner only, not for home practice")


class HomeScript:
    """A home practice: the chosen script's steps in order, pausing into grounding when needed.

    Driven by beat time: :meth:`start` once the resting measurement is done, :meth:`tick` on
    every beat, :meth:`control` when the client taps a control. Each returns the
    :class:`CueEvent` s it produced (see the module docstring and the home-practice contract).
    """

    def __init__(self, script: Exercise, exercises: dict[str, Exercise], config: CueConfig = CueConfig(),
                 plan_text: str | None = None, auto_pause: bool = True, timed: bool = True) -> None:
        """``auto_pause``: pause into grounding by itself (not in Focusing); ``timed``: steps move on by
        their seconds (in Focusing only when the client chooses "next")."""
        check_home_script(script)
        self.auto_pause = auto_pause
        self.timed = timed
        self.script = script
        self.exercises = exercises
        self.config = config
        self.plan_text = plan_text.strip() if plan_text and plan_text.strip() else None
        self.step = -1  # the script's current step (0-based), -1 before the start
        self.step_started = 0.0
        self.finished = False
        self.paused = False
        self.pause_reason: str | None = None  # activation | too-much | dizzy | help-now
        self.pause_exercise: Exercise | None = None
        self.pause_step = 0  # the pause exercise's current step (0-based)
        self.pause_started = 0.0  # when the current pause began (kept when the client changes its exercise)
        self.end_offered = False  # offered once per pause
        self._pause_step_started = 0.0
        self._above_since: float | None = None
        self._shown = False  # a script step has been shown (a pause may come before the first)

    @property
    def judging_paused(self) -> bool:
        """The step on screen is a movement or sounding step (``pause_judging``): a movement block."""
        return (not self.finished and not self.paused and 0 <= self.step < len(self.script.steps)
                and self._shown and self.script.steps[self.step].pause_judging)

    @property
    def showing(self) -> str:
        """The id of the exercise on the client's screen now."""
        return self.pause_exercise.id if self.paused and self.pause_exercise is not None else self.script.id

    # -- driven by the session ------------------------------------------------------------------
    def start(self, t: float) -> list[CueEvent]:
        """The resting measurement is done: show the first step (later, if the client paused meanwhile)."""
        if self.finished or self.step >= 0:
            return []
        if self.paused:
            self.step, self.step_started = 0, t
            return []
        return self._enter(0, t)

    def tick(self, t: float, state: RegulationState) -> list[CueEvent]:
        """One beat at ``t`` (beat time) in ``state``: advance, pause, offer the end or resume."""
        if self.finished:
            return []
        if state is RegulationState.ABOVE_BAND:
            self._above_since = t if self._above_since is None else self._above_since
        else:
            self._above_since = None
        if self.paused:
            return self._tick_pause(t, state)
        if self.step < 0:
            return []
        if (self.auto_pause and self._above_since is not None
                and t - self._above_since >= self.config.home_grounding_after_s):
            return self._pause("activation", t)
        if self.timed and t - self.step_started >= self.script.steps[self.step].seconds:
            if self.step + 1 >= len(self.script.steps):
                return self._finish("completed", t)
            return self._enter(self.step + 1, t)
        return []

    def control(self, kind: str, t: float) -> list[CueEvent]:
        """The client tapped ``kind`` (one of :data:`HOME_CONTROLS`) at ``t``; unknown kinds raise ValueError."""
        if kind not in HOME_CONTROLS:
            raise ValueError(f"unknown home control {kind!r} (known: {', '.join(HOME_CONTROLS)})")
        events = [CueEvent(t, "client-control", None, "script", self.showing, kind)]
        if self.finished:
            return events
        if kind == "done":
            return events + self._finish("done", t)
        if kind == "keep-going":  # after an end offer: the pause simply continues
            return events
        if kind in ("next", "back"):  # the client moves through the script's steps (not during a pause)
            if self.paused or self.step < 0:
                return events
            step = self.step + (1 if kind == "next" else -1)
            if step >= len(self.script.steps):
                return events + self._finish("completed", t)
            return events + self._enter(max(0, step), t)
        return events + self._pause(kind, t)

    # -- inside -------------------------------------------------------------------------------
    def _pause(self, reason: str, t: float) -> list[CueEvent]:
        if reason == "help-now":
            exercise = self.exercises.get(HELP_NOW_EXERCISE) or exercise_for("senses", "home", self.exercises)
        else:
            exercise = None
        if exercise is None or "home" not in exercise.where:
            exercise = exercise_for("grounding", "home", self.exercises)
        if not self.paused:
            self.pause_started, self.end_offered = t, False
        self.paused, self.pause_reason, self.pause_exercise = True, reason, exercise
        self.pause_step, self._pause_step_started = 0, t
        if reason == "dizzy":
            text = DIZZY_TEXT
        else:
            text = exercise.steps[0].text if exercise is not None else PAUSE_FALLBACK_TEXT
        return [CueEvent(t, "script-paused", 1, "script", exercise.id if exercise else None, text, reason)]

    def _tick_pause(self, t: float, state: RegulationState) -> list[CueEvent]:
        exercise, events = self.pause_exercise, []
        steps = exercise.steps if exercise is not None else ()
        if self.pause_step + 1 < len(steps) and t - self._pause_step_started >= steps[self.pause_step].seconds:
            self.pause_step, self._pause_step_started = self.pause_step + 1, t
            events.append(CueEvent(t, "pause-step", self.pause_step + 1, "script", exercise.id,  # type: ignore[union-attr]
                                   steps[self.pause_step].text))
        ran_through = self.pause_step + 1 >= len(steps) and (
            not steps or t - self._pause_step_started >= steps[self.pause_step].seconds)
        settled = state in SETTLED and self._above_since is None
        if settled and self.step >= 0 and (self.pause_reason == "activation" or ran_through):
            if self.pause_reason == "dizzy" and any(step.pacer is not None for step in self.script.steps):
                return events + self._finish("dizzy", t)  # never back into paced breathing after dizziness
            self.paused, self.pause_reason, self.pause_exercise = False, None, None
            if not self._shown:  # paused before the first step: the practice begins now
                return events + self._enter(self.step, t)
            self.step_started = t
            return events + [CueEvent(t, "script-resumed", None, "script", self.script.id, self.script.steps[self.step].text)]
        if (not self.end_offered and state is RegulationState.ABOVE_BAND
                and t - self.pause_started >= self.config.home_end_offer_after_s):
            self.end_offered = True
            events.append(CueEvent(t, "end-offered", None, "script", self.showing, self.plan_text or DEFAULT_PLAN_TEXT))
        return events

    def _finish(self, reason: str, t: float) -> list[CueEvent]:
        self.finished, self.paused = True, False
        return [CueEvent(t, "script-finished", None, "script", self.script.id, self.script.title, reason)]

    def _enter(self, step: int, t: float) -> list[CueEvent]:
        self.step, self.step_started, self._shown = step, t, True
        return [CueEvent(t, "script-step", step + 1, "script", self.script.id, self.script.steps[step].text)]
