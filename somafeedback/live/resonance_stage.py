"""The resonance-frequency assessment inside a :class:`RegulationSession`: the run fed with the
client strap's analysis outputs, its events emitted and recorded like cues, its pacer announced.

The run's pacer (one per step, none while resting) goes out through ``pacer_hook`` each time it
changes: by default (the CLI) a ``pacer`` timeline event fed INTO the session's own analysis (so
pacer-following is computed exactly as for any pacer) and recorded; the app's engine replaces the
hook with its own path (``Engine._pacer_changed``). :func:`analysis_pacer_view` is what a
simulated person following the pacer reads (closed loop).

Thread: the loop that feeds the session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from somafeedback.devices.pacer_view import PacerPoint, PacerView
from somafeedback.regulation.pacer import Pacer, PacerSettings
from somafeedback.resonance.events import STEP_EVENT
from somafeedback.regulation.assessment_protocol import ResonanceProtocol
from somafeedback.resonance.run import AssessmentRun, Measure, Rank, RunEvent

from .analysis import LiveAnalysis

STOPPING_CONTROLS = ("dizzy", "too-much", "done")  # the client's home controls that stop the assessment
PacerHook = Callable[[Pacer | None, float], None]  # (the pacer now or None, session s)


def pacer_point(pacer: Pacer | None, t_s: float) -> PacerPoint | None:
    """Where ``pacer`` is at session time ``t_s`` as a simulated person sees it (None: no pacer)."""
    if pacer is None:
        return None
    state = pacer.at(t_s)
    settings = state.settings
    return PacerPoint(state.cycle_fraction, settings.breaths_per_min, settings.inhale_s / settings.period_s)


def analysis_pacer_view(analysis: LiveAnalysis) -> PacerView:
    """The pacer in force in ``analysis`` (from its ``pacer`` events), read at any session time."""
    return lambda t_s: pacer_point(analysis.pacer, t_s)


class ResonanceStage:
    """Runs at most one assessment at a time for a session; ``emit(kind, t_s, data)`` takes its events.
    ``client``: the pseudonym its ``begin`` records; ``weights``: the ranking's (the practitioner's
    settings; None: the documented defaults), for a run started without its own (a pending home one)."""

    def __init__(self, emit: Callable[[str, float, dict[str, Any]], None], pacer_hook: PacerHook,
                 client: str | None = None, measure: Measure | None = None, rank: Rank | None = None,
                 weights: Mapping[str, float] | None = None) -> None:
        self.emit = emit
        self.pacer_hook = pacer_hook
        self.client = client
        self.weights = weights
        self.measure, self.rank = measure, rank
        self.run: AssessmentRun | None = None
        self.pending: ResonanceProtocol | None = None  # home: starts at the first beat
        self._pacer: Pacer | None = None  # the pacer last announced

    @property
    def running(self) -> bool:
        return self.run is not None and not self.run.finished

    def start(self, protocol: ResonanceProtocol, t_s: float, weights: Mapping[str, float] | None = None) -> None:
        """A new assessment from ``t_s`` ranked with ``weights`` (None: :attr:`weights`); one already
        running is stopped first, by the practitioner. ValueError for bad weights (nothing stops then)."""
        run = AssessmentRun(protocol, self.measure, self.rank, self.client,
                            weights if weights is not None else self.weights)
        if self.running:
            self.control("stop", t_s, "practitioner", "a new assessment started")
        self.pending = None
        self.run = run
        self._out(self.run.begin(t_s), t_s)

    def feed(self, output: object, t_s: float) -> None:
        """One analysis output of the client's strap at session time ``t_s``; a pending start begins here."""
        if self.pending is not None and type(output).__name__ == "BeatMetrics":
            self.start(self.pending, t_s)
        if self.running:
            assert self.run is not None
            self._out(self.run.feed(output), t_s)

    def control(self, action: str, t_s: float, by: str = "practitioner", reason: str = "") -> None:
        """skip / repeat / stop (ValueError for another action; nothing happens without a run)."""
        if self.running:
            assert self.run is not None
            self._out(self.run.control(action, t_s, by, reason), t_s)

    def _out(self, events: list[RunEvent], t_s: float) -> None:
        """Emit the run's events; the pacer changes at each step's start and stops at a rest or the end."""
        for kind, at, data in events:
            self.emit(kind, at, data)
            action = data.get("action") if kind == STEP_EVENT else "result"
            if action == "start":
                self._announce(Pacer(PacerSettings.from_rate(data["rate_bpm"], data["inhale_share"]), data["started_s"]), at)
            elif action in ("rest", "stopped", "result"):
                self._announce(None, at)

    def _announce(self, pacer: Pacer | None, t_s: float) -> None:
        if pacer is None and self._pacer is None:
            return
        self._pacer = pacer
        self.pacer_hook(pacer, t_s)
