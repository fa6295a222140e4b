"""The whole regulation loop without a UI: beats -> metrics -> states -> cues.

A :class:`~somafeedback.devices.events.StrapSink` for live straps and replays alike. The
client's strap drives the :class:`~somafeedback.regulation.RegulationModel`; its state
changes and every cue step become timeline events (``state``, ``cue``, ``baseline``),
handed to ``emit`` (e.g. the CLI printer) and, when recording, to the session file
(``recorder`` gets only these events: the strap data reach the recorder on their own).

Thread: the loop that feeds it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .chest_motion import BreathingEstimate
from .cues import CueConfig, CueEvent, HomeScript, PractitionerCues
from .devices.events import LinkEvent, LinkState, Notification, SourceEvent, StrapSink, TimelineEvent
from .exercise_library import Exercise
from .live_analysis import LiveAnalysis, Output
from .pipeline import BeatMetrics
from .regulation import Baseline, RegulationConfig, RegulationModel, RegulationState, StateChange

MARKER_KINDS = ("discharge", "resource", "mute", "unmute")  # markers the model and the cues listen to


class RegulationSession:
    """Feeds one client strap through the state model and the cue engine."""

    def __init__(
        self,
        mode: str,
        library: dict[str, Exercise],
        emit: Callable[[TimelineEvent], None],
        script: Exercise | None = None,
        auto_approve: bool = False,
        baseline: Baseline | None = None,
        client_strap: str = "strap1",
        recorder: StrapSink | None = None,
        config: RegulationConfig = RegulationConfig(),
        cue_config: CueConfig = CueConfig(),
    ) -> None:
        if mode not in ("practitioner", "home"):
            raise ValueError(f"mode must be 'practitioner' or 'home', not {mode!r}")
        self.mode = mode
        self.emit_event = emit
        self.recorder = recorder
        self.client_strap = client_strap
        self.analysis = LiveAnalysis(metrics=True)
        self.model = RegulationModel(config, baseline)
        self.cues = PractitionerCues(library, cue_config, auto_approve) if mode == "practitioner" else None
        self.script = HomeScript(script, library, cue_config) if mode == "home" and script is not None else None
        self.history: list[TimelineEvent] = []
        self._clock = (0, 0.0)  # (host_ns, wall_time) of the latest notification: maps beat time to wall time
        self._baseline_reported = baseline is not None
        self._script_started = False

    # -- StrapSink ----------------------------------------------------------------------------
    def notification(self, notification: Notification) -> None:
        self.notification_analysed(notification, self.analysis.on_notification(notification))

    def event(self, event: SourceEvent) -> None:
        self.event_analysed(event, self.analysis.on_event(event))

    # -- fed by a caller that already runs the analysis (the app's engine) ----------------------
    def notification_analysed(self, notification: Notification, outputs: Sequence[tuple[str, Output]]) -> None:
        """One notification and what a LiveAnalysis made of it."""
        self._clock = (notification.host_ns, notification.wall_time)
        for strap, output in outputs:
            if strap != self.client_strap:
                continue
            if isinstance(output, BeatMetrics):
                self._measure(output)
            elif isinstance(output, BreathingEstimate) and output.source == "acc":
                self._states(self.model.movement(output.t_s, output.moving))

    def event_analysed(self, event: SourceEvent, outputs: Sequence[tuple[str, Output]]) -> None:
        """An event and what a LiveAnalysis made of it."""
        for strap, metrics in outputs:
            if strap == self.client_strap and isinstance(metrics, BeatMetrics):
                self._measure(metrics)
        if isinstance(event, TimelineEvent) and event.kind == "marker":
            label = str(event.data.get("label", ""))
            t_s = event.host_ns / 1e9
            self.model.marker(label, t_s)
            if self.cues is not None and label in MARKER_KINDS:
                self._cue_events(self.cues.on_marker(label, t_s))
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
    def _measure(self, metrics: BeatMetrics) -> None:
        if not self.history:  # announce where the model starts (calibrating, or in band on a stored baseline)
            self._emit("state", metrics.t_s, {"previous": None, "state": str(self.model.state),
                                              "reason": "session started", "hr30_bpm": None,
                                              "slope60_bpm_per_min": None, "ln_rmssd_60s": None})
        self._states(self.model.update(metrics))
        if self.model.baseline is not None and not self._baseline_reported:
            self._baseline_reported = True
            self._emit("baseline", metrics.t_s, self.model.baseline.as_dict())
        t_s = self.model.features.t_s
        if self.cues is not None and metrics.rr_ms is not None:
            self._cue_events(self.cues.tick(self.model.features))
        if self.script is not None and metrics.rr_ms is not None:
            if not self._script_started and self.model.state is not RegulationState.CALIBRATING:
                self._script_started = True
                self._cue_events(self.script.start(t_s))
            elif self._script_started:
                self._cue_events(self.script.tick(t_s, self.model.state))

    def _states(self, changes: list[StateChange]) -> None:
        for change in changes:
            self._emit("state", change.t_s, change.as_dict())
            if self.cues is not None:
                self._cue_events(self.cues.on_state(change))

    def _cue_events(self, events: list[CueEvent]) -> None:
        for cue in events:
            self._emit("cue", cue.t_s, cue.as_dict())

    def _emit(self, kind: str, t_s: float, data: dict) -> None:
        host_ns, wall = self._clock
        event = TimelineEvent(kind, round(t_s * 1e9), wall + (t_s - host_ns / 1e9), data, self.client_strap)
        self.history.append(event)
        if self.recorder is not None:
            self.recorder.event(event)
        self.emit_event(event)
