"""The whole regulation loop without a UI: beats -> metrics -> states -> cues.

A :class:`~somafeedback.devices.events.StrapSink` for live straps and replays alike. The
client's strap drives the :class:`~somafeedback.regulation.states.RegulationModel`; its state
changes and every cue step become timeline events (``state``, ``cue``, ``baseline``,
``movement`` blocks and their ``rest-comparison``),
handed to ``emit`` (e.g. the CLI printer) and, when recording, to the session file
(``recorder`` gets only these events: the strap data reach the recorder on their own).

The session's method (:mod:`somafeedback.regulation.methods`) decides what runs: no suggestions and
untimed steps in Focusing; movement blocks in any mode from the script's ``pause_judging`` steps,
and in CSE also from the practitioner's ``movement-start``/``movement-end`` markers and the
chest accelerometer. A block holds the state model (``moving``) until ``SETTLE_AFTER_S`` after
it ends, and is compared with the rest before it.

While a pacer runs, how the client's breathing follows it (the analysis' following estimates)
is recorded as ``pacer-following`` events (:meth:`FollowingEstimate.as_dict`: the values, their
60 s window, the pacer's rate, the rule): at once when the estimate becomes valid or invalid,
when the following verdict or the reason changes, and otherwise every
``FOLLOWING_EVERY_S`` (10 s) of session time.

Thread: the loop that feeds it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Final

from somafeedback.sessions.client_strap import CLIENT_STRAP
from somafeedback.signals.chest_motion import BreathingEstimate
from somafeedback.signals.pacer_following import FollowingEstimate
from somafeedback.regulation.cues import HOME_CONTROLS, CueConfig, CueEvent, HomeScript, PractitionerCues
from somafeedback.devices.events import LinkEvent, LinkState, Notification, SourceEvent, StrapSink, TimelineEvent
from somafeedback.regulation.exercises import Exercise
from .analysis import PACER_EVENT, LiveAnalysis, Output, pacer_event_data
from .resonance_stage import STOPPING_CONTROLS, ResonanceStage
from somafeedback.regulation.pacer import Pacer
from somafeedback.regulation.assessment_protocol import ResonanceProtocol
from somafeedback.regulation.methods import SETTLE_AFTER_S, Method, MovementBlocks, RestComparison, policy
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.regulation.states import Baseline, RegulationConfig, RegulationModel, RegulationState, StateChange

MARKER_KINDS = ("discharge", "resource", "mute", "unmute")  # markers the model and the cues listen to
BLOCK_MARKERS = {"movement-start": True, "movement-end": False}  # the practitioner's movement-block hotkey (CSE)
FOLLOWING_EVENT: Final = "pacer-following"  # timeline event: how the breathing follows the pacer
FOLLOWING_EVERY_S: Final = 10.0  # s of session time between recorded following estimates that say the same


class RegulationSession:
    """Feeds one client strap through the state model and the cue engine."""

    def __init__(
        self,
        mode: str,
        exercises: dict[str, Exercise],
        emit: Callable[[TimelineEvent], None],
        script: Exercise | None = None,
        auto_approve: bool = False,
        baseline: Baseline | None = None,
        client_strap: str = CLIENT_STRAP,
        recorder: StrapSink | None = None,
        config: RegulationConfig = RegulationConfig(),
        cue_config: CueConfig = CueConfig(),
        plan_text: str | None = None,
        usual: Baseline | None = None,
        method: Method | str = Method.SE,
        client: str | None = None,
        assessment_weights: Mapping[str, float] | None = None,
    ) -> None:
        if mode not in ("practitioner", "home"):
            raise ValueError(f"mode must be 'practitioner' or 'home', not {mode!r}")
        self.mode = mode
        self.emit_event = emit
        self.recorder = recorder
        self.client_strap = client_strap
        self.analysis = LiveAnalysis(metrics=True)
        self.model = RegulationModel(config, baseline, usual)  # usual: the client's earlier sessions, compared
        self.policy = policy(method)
        self.method = self.policy.method
        # the practitioner's cue engine follows the states in every method; it suggests only when the method does
        self.practitioner_cues = PractitionerCues(exercises, cue_config, auto_approve) if mode == "practitioner" else None
        # home: the practice (ValueError for a script not marked for home use); plan_text is the
        # client's own plan, shown when the practice offers to end
        # a home assessment script runs the assessment from the first beat instead of the script's steps
        assessment = script.assessment if mode == "home" and script is not None else None
        self.script = (HomeScript(script, exercises, cue_config, plan_text, auto_pause=self.policy.home_auto_pause,
                                  timed=self.policy.timed_steps) if mode == "home" and script is not None and assessment is None else None)
        # the resonance assessment; its pacer goes out through ``resonance.pacer_hook`` (the engine replaces it)
        self.resonance = ResonanceStage(self._emit, self._pacer_event, client, weights=assessment_weights)
        self.resonance.pending = assessment
        self.blocks = MovementBlocks()
        self.comparisons: list[RestComparison] = []
        self._block_source: str | None = None  # the source of the open movement block
        self._hold_until: float | None = None  # the model holds until this beat time after a block ended
        self.history: list[TimelineEvent] = []
        self._clock = (0, 0.0)  # (host_ns, wall_time) of the latest notification: maps beat time to wall time
        self._baseline_reported = baseline is not None
        self._script_started = False
        self._announced = False  # an event other than pacer-following was emitted (the method and state come first)
        self._following: FollowingEstimate | None = None  # the latest recorded following estimate

    # -- StrapSink ----------------------------------------------------------------------------
    def notification(self, notification: Notification) -> None:
        self.notification_analyzed(notification, self.analysis.on_notification(notification))

    def event(self, event: SourceEvent) -> None:
        self.event_analyzed(event, self.analysis.on_event(event))

    # -- fed by a caller that already runs the analysis (the app's engine) ----------------------
    def notification_analyzed(self, notification: Notification, outputs: Sequence[tuple[str, Output]]) -> None:
        """One notification and what a LiveAnalysis made of it."""
        self._clock = (notification.host_ns, notification.wall_time)
        for strap, output in outputs:
            if strap != self.client_strap:
                continue
            if isinstance(output, (BeatMetrics, BreathingEstimate, FollowingEstimate)):
                self.resonance.feed(output, output.t_s)
            if isinstance(output, BeatMetrics):
                self._measure(output)
            elif isinstance(output, FollowingEstimate):
                self._follow_pacer(output)
            elif isinstance(output, BreathingEstimate) and output.source == "acc":
                self._states(self.model.movement(output.t_s, output.moving))
                if self.policy.movement_blocks and output.moving and self._block_source is None:
                    self.movement_block(True, "accelerometer", output.t_s)
                elif not output.moving and self._block_source == "accelerometer":
                    self.movement_block(False, "accelerometer", output.t_s)

    def event_analyzed(self, event: SourceEvent, outputs: Sequence[tuple[str, Output]]) -> None:
        """An event and what a LiveAnalysis made of it."""
        for strap, metrics in outputs:
            if strap == self.client_strap and isinstance(metrics, (BeatMetrics, FollowingEstimate)):
                self.resonance.feed(metrics, metrics.t_s)
            if strap == self.client_strap and isinstance(metrics, BeatMetrics):
                self._measure(metrics)
            elif strap == self.client_strap and isinstance(metrics, FollowingEstimate):
                self._follow_pacer(metrics)  # the pacer stopped
        if isinstance(event, TimelineEvent) and event.kind == "marker":
            label = str(event.data.get("label", ""))
            t_s = event.host_ns / 1e9
            self.model.marker(label, t_s)
            if self.practitioner_cues is not None and label in MARKER_KINDS:
                self._cue_events(self.practitioner_cues.on_marker(label, t_s))
            if label in BLOCK_MARKERS and self.policy.movement_blocks:
                self.movement_block(BLOCK_MARKERS[label], "practitioner", t_s)
        if (isinstance(event, TimelineEvent) and event.kind == "undo" and event.data.get("of") == "marker"
                and isinstance(event.data.get("host_ns"), int)):
            self.model.undo_marker(str(event.data.get("label", "")), event.data["host_ns"] / 1e9)
        if isinstance(event, LinkEvent) and event.strap_id == self.client_strap and event.state is LinkState.STOPPED:
            self._states(self.model.signal_lost(event.host_ns / 1e9, "the strap stopped"))

    # -- practitioner decisions (from the UI, or --auto-approve) --------------------------------
    def approve(self) -> None:
        if self.cues is not None:
            self._cue_events(self.cues.approve(self.model.features.t_s))

    def snooze(self) -> None:
        if self.cues is not None:
            self._cue_events(self.cues.snooze(self.model.features.t_s))

    def dismiss(self) -> None:
        if self.cues is not None:
            self._cue_events(self.cues.dismiss(self.model.features.t_s))

    # -- the client's controls in home mode (from the UI) ------------------------------------------
    def home_control(self, kind: str, t_s: float | None = None) -> None:
        """The client tapped ``kind`` ("too-much", "dizzy", "help-now", "done", "keep-going") at ``t_s``
        (default: the latest beat's time). Recorded as a ``cue`` event ``client-control``, then what it
        caused. ValueError for an unknown kind; nothing happens outside a home practice. "dizzy",
        "too-much" and "done" stop a running assessment (by the client)."""
        t = self.model.features.t_s if t_s is None else t_s
        if self.resonance.running:
            if kind not in HOME_CONTROLS:
                raise ValueError(f"unknown home control {kind!r} (known: {', '.join(HOME_CONTROLS)})")
            if self.script is None:  # the tap is recorded as a script's would be
                self._cue_events([CueEvent(t, "client-control", None, "assessment", None, kind)])
            if kind in STOPPING_CONTROLS:
                self.resonance.control("stop", t, "client", f"the client tapped '{kind}': breathe normally")
        if self.script is None:
            return
        self._cue_events(self.script.control(kind, t))

    @property
    def cues(self) -> PractitionerCues | None:
        """The cue engine when the method makes suggestions (None at home and in Focusing)."""
        return self.practitioner_cues if self.policy.suggestions else None

    def set_method(self, method: Method | str, t_s: float | None = None) -> None:
        """Change the session's method (a ``method`` event); an open suggestion is withdrawn when
        the new method makes none; a home script follows the new method's pausing and timing."""
        new = policy(method)
        if new.method is self.method:
            return
        t = self.model.features.t_s if t_s is None else t_s
        self.policy, self.method = new, new.method
        self._emit("method", t, {"method": str(new.method), "title": new.title, "description": new.description,
                                 "changed": True})
        if self.practitioner_cues is not None and not new.suggestions:
            self._cue_events(self.practitioner_cues.withdraw(t))
        if self.script is not None:
            if self.script.timed != new.timed_steps:
                self.script.step_started = t  # the step on screen gets its full time from now
            self.script.auto_pause, self.script.timed = new.home_auto_pause, new.timed_steps
        if not new.movement_blocks and self._block_source in ("practitioner", "accelerometer"):
            self.movement_block(False, self._block_source, t)

    # -- movement blocks ----------------------------------------------------------------------------
    def movement_block(self, on: bool, source: str, t_s: float | None = None) -> None:
        """A movement block starts (``on``) or ends, from ``source`` ("script", "practitioner",
        "accelerometer"): a ``movement`` event; the model holds until ``SETTLE_AFTER_S`` after the end."""
        t = self.model.features.t_s if t_s is None else t_s
        if on and self.blocks.start(t, source):
            self._block_source, self._hold_until = source, None
            self._emit("movement", t, {"action": "start", "source": source})
            self._states(self.model.movement(t, True, "block"))
        elif not on and self._block_source is not None and self.blocks.end(t):
            self._emit("movement", t, {"action": "end", "source": self._block_source,
                                       "judging_resumes_s": round(t + SETTLE_AFTER_S, 3)})
            self._block_source, self._hold_until = None, t + SETTLE_AFTER_S

    def _follow_blocks(self, metrics: BeatMetrics) -> None:
        """Each beat: release the model's hold after a block, and report comparisons now due."""
        t = metrics.t_s
        if self._hold_until is not None and t >= self._hold_until:
            self._hold_until = None
            self._states(self.model.movement(t, False, "block"))
        if metrics.rr_ms is None:
            return
        for comparison in self.blocks.beat(t, metrics.rr_ms, not metrics.flagged):
            self.comparisons.append(comparison)
            self._emit("rest-comparison", t, comparison.as_dict())

    # -- the resonance-frequency assessment (practitioner, or a home assessment script) -------------
    def start_assessment(self, protocol: ResonanceProtocol, t_s: float | None = None,
                         weights: Mapping[str, float] | None = None) -> None:
        """Start an assessment at ``t_s`` (default: the latest beat's time), ranked with ``weights``
        (the practitioner's; None: the session's ``assessment_weights``, else the documented defaults)."""
        self.resonance.start(protocol, self.model.features.t_s if t_s is None else t_s, weights)

    def assessment_control(self, action: str, t_s: float | None = None, by: str = "practitioner") -> None:
        """skip / repeat / stop the running assessment (ValueError for another action)."""
        self.resonance.control(action, self.model.features.t_s if t_s is None else t_s, by)

    def _pacer_event(self, pacer: Pacer | None, t_s: float) -> None:
        """The default pacer hook: a ``pacer`` event into this session's analysis, recorded and emitted."""
        host_ns, wall = self._clock
        event = TimelineEvent(PACER_EVENT, round(t_s * 1e9), wall + (t_s - host_ns / 1e9), pacer_event_data(pacer))
        self.history.append(event)
        if self.recorder is not None:
            self.recorder.event(event)
        self.emit_event(event)
        self.event_analyzed(event, self.analysis.on_event(event))

    def finish(self) -> None:
        """The session ends: an open block ends, and blocks still waiting for their rest after are reported;
        a running assessment stops ("end of session") with its result over the steps done."""
        t = self.model.features.t_s
        self.resonance.control("stop", t, "end of session")
        for comparison in self.blocks.finish(t):
            self.comparisons.append(comparison)
            self._emit("rest-comparison", t, comparison.as_dict())

    # -- the baseline (from the UI) ----------------------------------------------------------------
    def restart_baseline(self, t_s: float | None = None) -> None:
        """Measure the baseline again (a ``calibration`` event ``restarted``, then the state change)."""
        t = self.model.features.t_s if t_s is None else t_s
        self._baseline_reported = False  # the new baseline is reported once measured
        self._emit("calibration", t, {"action": "restarted", "reason": "the practitioner asked to measure again"})
        self._states(self.model.restart_calibration(t))

    def skip_baseline(self, baseline: Baseline, t_s: float | None = None) -> None:
        """Stop measuring and use ``baseline`` (the client's earlier sessions) for the usual range.

        Recorded as a ``calibration`` event ``skipped`` carrying the baseline used (not as a
        ``baseline`` event: that kind is kept for baselines measured in this session).
        """
        t = self.model.features.t_s if t_s is None else t_s
        self._baseline_reported = True
        self._emit("calibration", t, {"action": "skipped", "baseline": baseline.as_dict(),
                                      "reason": "usual range from earlier sessions"})
        self._states(self.model.use_baseline(baseline, t))

    # -- the loop -------------------------------------------------------------------------------
    def _follow_pacer(self, estimate: FollowingEstimate) -> None:
        """Record a following estimate when it says something new, or ``FOLLOWING_EVERY_S`` after the last."""
        last = self._following
        if (last is not None and (last.valid, last.following, last.reason) == (estimate.valid, estimate.following, estimate.reason)
                and 0.0 <= estimate.t_s - last.t_s < FOLLOWING_EVERY_S):
            return
        self._following = estimate
        self._emit(FOLLOWING_EVENT, estimate.t_s, estimate.as_dict())

    def _measure(self, metrics: BeatMetrics) -> None:
        if not self._announced:  # announce the method and where the model starts (calibrating, or in band on a stored baseline)
            self._emit("method", metrics.t_s, {"method": str(self.method), "title": self.policy.title,
                                               "description": self.policy.description})
            self._emit("state", metrics.t_s, {"previous": None, "state": str(self.model.state),
                                              "reason": "session started", "hr30_bpm": None,
                                              "slope60_bpm_per_min": None, "ln_rmssd_60s": None})
        self._follow_blocks(metrics)
        self._states(self.model.update(metrics))
        if self.model.baseline is not None and not self._baseline_reported:
            self._baseline_reported = True
            data = self.model.baseline.as_dict()
            if self.model.baseline.above_usual_range and self.model.usual is not None:
                data["usual"] = self.model.usual.as_dict()  # the range the states are judged against
            self._emit("baseline", metrics.t_s, data)
        t_s = self.model.features.t_s
        if self.cues is not None and metrics.rr_ms is not None:
            self._cue_events(self.cues.tick(self.model.features))
        if self.script is not None and metrics.rr_ms is not None:
            if not self._script_started and self.model.state is not RegulationState.CALIBRATING:
                self._script_started = True
                self._cue_events(self.script.start(t_s))
            elif self._script_started or self.script.paused:  # a pause runs even during the resting measurement
                self._cue_events(self.script.tick(t_s, self.model.state))

    def _follow_script_blocks(self) -> None:
        """A script's movement or sounding steps (``pause_judging``) are a movement block while shown."""
        if self.script is None:
            return
        showing = self.script.judging_paused
        if showing and self._block_source is None:
            self.movement_block(True, "script")
        elif not showing and self._block_source == "script":
            self.movement_block(False, "script")

    def _states(self, changes: list[StateChange]) -> None:
        for change in changes:
            self._emit("state", change.t_s, change.as_dict())
            if self.practitioner_cues is not None:
                self._cue_events(self.practitioner_cues.on_state(change))

    def _cue_events(self, events: list[CueEvent]) -> None:
        for cue in events:
            self._emit("cue", cue.t_s, cue.as_dict())
        if events:
            self._follow_script_blocks()

    def _emit(self, kind: str, t_s: float, data: dict) -> None:
        host_ns, wall = self._clock
        event = TimelineEvent(kind, round(t_s * 1e9), wall + (t_s - host_ns / 1e9), data, self.client_strap)
        self.history.append(event)
        self._announced = self._announced or kind != FOLLOWING_EVENT
        if self.recorder is not None:
            self.recorder.event(event)
        self.emit_event(event)
