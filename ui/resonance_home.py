"""The breathing-rate assessment at home (issue #19): the client's screen follows the run (the pacer and the
step in words, no numbers), a "Stop" button ends the run at any time (``Engine.assessment_control("stop",
by="client")``: recorded as stopped by the client; the existing "Too much", "Dizzy" and "Done" controls stop it
too, in the core); at the result the practice is saved and the summary page shows (with the way back to the
practice list); the summary starts with one plain sentence ("Your heart rate rose
and fell most with your breath at about 5 breaths a minute; your practitioner can help you use it"), never a
diagnosis. Home practice's paced steps use the client's kept rate (:func:`.resonance_settings.practice_exercise`);
the run ranks the steps with the weights kept in the settings (:meth:`HomeAssessment.configure`).

The home window hands each drained timeline event to :meth:`HomeAssessment.take`; while :attr:`running` it does
not hand the screen's pacer to the engine (the run owns it).

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtWidgets

from somafeedback.devices.events import TimelineEvent
from somafeedback.regulation.exercises import Exercise

from . import resonance_words as words
from .resonance_client import AssessmentFollower
from .resonance_settings import assessment_weights, practice_exercise


class HomeAssessment:
    """The home window's assessment: the Stop button in ``controls`` and the client's words at the end."""

    def __init__(self, window: Any, controls: QtWidgets.QBoxLayout) -> None:
        """``window``: the HomeWindow (its engine, client screen, chimes, library and client)."""
        self.window = window
        self.follower = AssessmentFollower(window.client_screen)
        self.words = ""  # the client's sentence once the run gave its result
        self._stop_asked = False
        self.stop_button = QtWidgets.QPushButton(words.HOME_STOP_LABEL)
        self.stop_button.setToolTip(words.HOME_STOP_TIP)
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setVisible(False)
        controls.insertWidget(0, self.stop_button)

    @property
    def running(self) -> bool:
        return self.follower.running

    def practice(self, exercise: Exercise) -> Exercise:
        """The exercise as practised: its paced steps at the client's rate when one is kept."""
        self.words, self._stop_asked = "", False
        self.stop_button.setVisible(getattr(exercise, "assessment", None) is not None)
        return practice_exercise(exercise, self.window.library_dir, self.window.client)

    def configure(self, options: Any) -> None:
        """Before the engine starts (``EngineOptions``): an assessment ranks with the settings' weights."""
        settings = getattr(self.window, "settings", None)
        if settings is not None and getattr(self.window.exercise, "assessment", None) is not None:
            options.assessment_weights = assessment_weights(settings)

    def stop(self) -> None:
        """The client's Stop: the run stops, recorded as stopped by the client (not as a home control: the
        practice is not ended by it); at its result the summary follows (:meth:`take`)."""
        engine = self.window.engine
        self._stop_asked = True
        if engine is not None and self.running:
            engine.assessment_control("stop", by="client")
        else:
            self.window.stop()

    def take(self, event: TimelineEvent) -> bool:
        """Follow one drained event; True when it was the assessment's. At the result the practice ends (unless
        the run was stopped by "Too much" or "Dizzy": their pause goes on until the client ends it)."""
        if not self.follower.take(event):
            return False
        if self.running:
            self.stop_button.setVisible(True)
        if event.kind == "resonance-step" and event.data.get("action") == "start":
            self.window.chimes.step()  # a soft bell at each new pace (when the client turned chimes on)
        self.stop_button.setEnabled(self.running)
        result = self.follower.result
        if event.kind == "resonance" and result is not None:
            self.words = words.home_result_text(result)
            if result.get("complete") or self._stop_asked:
                self.window.stop()
        return True

    def summary(self, text: str) -> str:
        """The summary with the client's sentence first (after an assessment)."""
        return f"{self.words}\n\n{text}" if self.words else text
