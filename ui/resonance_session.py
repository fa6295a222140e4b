"""The breathing-rate assessment in the practitioner's window (issue #19): the "Assess breathing rate…" action
(Session menu), the live step view in a "Breathing rate" tab next to the live plots, the client view following
the run (the pacer and the step in words, never the numbers), and keeping a rate for the client.

The window hands each drained timeline event to :meth:`AssessmentSession.take`, each of the client strap's
beats to :meth:`take_beat` (each step's heart-rate curve in the results), and calls :meth:`tick` every frame;
the run ranks with the weights kept in the settings (:func:`.resonance_settings.assessment_weights`). While
:attr:`running` the window does not hand its client view's pacer to the engine (the run owns the pacer and makes
the ``pacer`` events itself).

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from PySide6 import QtWidgets

from somafeedback.devices.events import TimelineEvent
from somafeedback.regulation.exercises import ASSESSMENT_ROLE, Exercise
from somafeedback.regulation.assessment_protocol import ResonanceProtocol

from . import resonance_words as words
from .chimes import Chimes
from .resonance_client import AssessmentFollower
from .resonance_settings import assessment_weights, rate_module
from .resonance_view import ResonanceStepView

ACTION_TEXT: Final = "Assess breathing rate…"
TAB_TEXT: Final = "Breathing rate"
ROLE: Final = ASSESSMENT_ROLE


def assessment_exercise(exercises: dict[str, Exercise]) -> Exercise | None:
    """The assessment's exercise file (role "resonance-assessment", or one with an ``[assessment]`` table)."""
    return next((e for e in exercises.values()
                 if e.role == ROLE or e.assessment is not None), None)


def exercise_protocol(exercise: Exercise | None) -> ResonanceProtocol:
    """The steps ``exercise``'s ``[assessment]`` table asks for (the documented defaults without one)."""
    return exercise.assessment if exercise is not None and exercise.assessment is not None else ResonanceProtocol()


class AssessmentSession:
    """The practitioner window's assessment: the action in ``menu``, the step view, the client view."""

    def __init__(self, window: Any, menu: QtWidgets.QMenu) -> None:
        """``window``: the PractitionerWindow (its engine, settings, exercises, client view, plot tabs)."""
        self.window = window
        self.action = menu.addAction(ACTION_TEXT, self.open)
        self.action.setToolTip("A stepped paced-breathing run (6.5 to 4.5 breaths/min) that finds the rate at "
                               "which the client's heart rate rises and falls most with the breath")
        self.follower = AssessmentFollower(window.client)
        self.view: ResonanceStepView | None = None
        self._asked = False  # start_assessment was called and its ``begin`` has not come back yet

    @property
    def running(self) -> bool:
        """An assessment was asked for or runs (until its result or stop): the run owns the client's pacer
        (the window's own pacer would otherwise reach the engine after the run's first one)."""
        return self._asked or self.follower.running

    def client(self) -> str:
        manifest = getattr(self.window.engine.options, "manifest", {}) or {}
        return str(manifest.get("client") or self.window.settings.names()[0] or "")

    def library(self) -> Path:
        return Path(self.window.engine.options.record_to or self.window.settings.recordings)

    def open(self) -> ResonanceStepView:
        """Show the step view and start the run on the engine (an assessment already running: just show it)."""
        tabs = self.window.plot_tabs
        if self.view is not None and self.running:
            tabs.setCurrentWidget(self.view)
            return self.view
        exercise = assessment_exercise(self.window.exercises)
        protocol = exercise_protocol(exercise)  # a file with bad values is refused when the exercises load
        view = ResonanceStepView(lambda action: self.window.engine.assessment_control(action),
                                 lambda: self.window.engine.now_s(),
                                 cautions=exercise.cautions if exercise is not None else (),
                                 use_rate=self.use_rate, client=self.client() or None,
                                 chimes=Chimes(report=lambda text: self.window.statusBar().showMessage(text, 8000)))
        if self.view is not None:
            tabs.removeTab(tabs.indexOf(self.view))
            self.view.deleteLater()
        self.view = view
        tabs.addTab(view, TAB_TEXT)
        tabs.setCurrentWidget(view)
        if exercise is None:
            self.window.statusBar().showMessage(words.NO_ASSESSMENT_TEXT, 8000)
        self._asked = True
        self.window.engine.start_assessment(protocol, weights=assessment_weights(self.window.settings))
        return view

    def take(self, event: TimelineEvent) -> bool:
        """Follow one drained timeline event; True when it was the assessment's (the window logs it too)."""
        handled = self.follower.take(event)
        if handled and event.kind != "pacer":
            self._asked = False  # the run answered: it runs (begin) or it ended
        if self.view is not None:
            handled = self.view.take(event) or handled
        return handled

    def take_beat(self, metrics: Any) -> None:
        """One BeatMetrics of the client's strap (the window's drained items): the live results' curves."""
        if self.view is not None and self.running:
            self.view.take_beat(float(metrics.t_s), metrics.rr_ms, bool(metrics.flagged))

    def tick(self) -> None:
        if self.view is not None:
            self.view.tick()

    def use_rate(self, rate_bpm: float) -> str:
        """Keep ``rate_bpm`` as the client's rate (the pacer and home practice default to it)."""
        client = self.client()
        if not client:
            return words.NO_CLIENT_TEXT
        try:
            rate_module().set_client_rate(self.library(), client, rate_bpm, by="practitioner")
        except ValueError as error:  # a rate outside 3..10 breaths/min: said in words
            return f"{str(error)[:1].upper()}{str(error)[1:]}."
        except OSError as error:
            return f"The rate could not be kept: {error.strerror or error}."
        return words.RATE_SAVED_TEXT.format(rate=rate_bpm, client=client)
