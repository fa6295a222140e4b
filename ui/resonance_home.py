"""The breathing-rate assessment at home (issue #19): the client's screen follows the run (the pacer and the
step in words, no numbers), a "Stop" button ends the run at any time (the existing "Too much", "Dizzy" and
"Done" controls stop it too, in the core), and the summary starts with one plain sentence ("Your heart rate rose
and fell most with your breath at about 5 breaths a minute; your practitioner can help you use it"), never a
diagnosis. Home practice's paced steps use the client's kept rate (:func:`.resonance_settings.practice_exercise`).

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
from .resonance_settings import practice_exercise


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

    def stop(self) -> None:
        """The client's Stop: the run stops, recorded as stopped by the client (the engine's home control
        "done", which stops a running assessment by the client); the summary follows the result."""
        engine = self.window.engine
        self._stop_asked = True
        if engine is not None and self.running:
            engine.home_control("done")
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
