"""The home window's remote-session page: what the practitioner shows, and the sharing always in view.

The client joined a practitioner's session (:class:`~ui.remote_join.RemoteJoinDialog`); the home engine
runs the strap, records it and shares it (:meth:`Engine.join_remote`). This page drains that engine on a
frame timer and follows its events:

* ``remote-cue``: the practitioner's change to the client's screen (show an exercise or a line, pause,
  resume, go to a step, clear) on a :class:`~ui.client_screen.ClientScreen`, with "Not now" to decline
  what is shown (:meth:`Engine.decline_remote_cue`); ``remote-pacer``: the pacer alone, or none;
* the sharing bar, always visible: the consent's own words (``remote-consent`` events' ``text``),
  "Pause sharing" / "Resume sharing", "Stop sharing"; the relay link (``remote-link``) and the strap
  (its link events); ``remote-ended``: "Your practitioner ended the session": sharing has stopped, the
  strap and the recording go on until the client ends (the recording is then saved).

Thread: the Qt GUI thread (the engine runs on its own).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from PySide6 import QtCore, QtWidgets

from somafeedback.devices.events import LinkEvent, LinkState, TimelineEvent
from somafeedback.live.engine import Engine
from somafeedback.live.remote_client_link import ENDED_EVENT, FAILED_EVENT, PACER_EVENT, PAIRED_EVENT, WARNING_EVENT
from somafeedback.regulation.exercises import Exercise
from somafeedback.regulation.pacer import PacerSettings
from somafeedback.remote.consent import CONSENT_EVENT, LINK_EVENT
from somafeedback.remote.downlink import REMOTE_CUE_EVENT

from .client_screen import ClientScreen

FRAME_MS: Final = 33  # ~30 frames per second
WAITING_TEXT: Final = "Not sharing yet: nothing is sent until you choose what to share and confirm."
PAUSE_LABEL: Final = "Pause sharing"
RESUME_LABEL: Final = "Resume sharing"
STOP_LABEL: Final = "Stop sharing"
DECLINE_LABEL: Final = "Not now"
END_LABEL: Final = "End and save"
LINK_TEXTS: Final = {
    "lost": "Your internet link dropped: your strap and your recording go on, and what your practitioner "
            "missed follows when it is back.",
    "back": "Your internet link is back: what your practitioner missed is on its way.",
}
STRAP_TEXTS: Final = {LinkState.CONNECTING: "Your strap: connecting…", LinkState.STREAMING: "Your strap: connected",
                      LinkState.LOST: "Your strap: the signal dropped, reconnecting…",
                      LinkState.RECONNECTING: "Your strap: reconnecting…", LinkState.STOPPED: "Your strap: stopped"}
ENDED_TEXT: Final = ("Your practitioner ended the session. Sharing has stopped; your strap and your recording go "
                     "on until you choose “End and save”.")
SAVED_TEXT: Final = "Your recording is saved."
BREATH_FIELDS: Final = ("inhale_s", "exhale_s", "hold_in_s", "hold_out_s")  # a remote-pacer event's breath (s)


class RemoteSessionPage(QtWidgets.QWidget):
    """Follows one engine in a practitioner's session; ``paired(str)`` / ``failed(str)`` for the join dialog,
    ``finished()`` once the client ended it (the engine stopped, the recording saved)."""

    paired = QtCore.Signal(str)
    failed = QtCore.Signal(str)
    finished = QtCore.Signal(bool)  # True when a recording was running (it is saved now)

    def __init__(self, exercises: Mapping[str, Exercise], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.exercises = exercises
        self.engine: Engine | None = None
        self._shown: dict[str, Any] | None = None  # the practitioner's command the screen shows now
        self.ended = False
        layout = QtWidgets.QVBoxLayout(self)
        self.sharing_bar = QtWidgets.QFrame()
        self.sharing_bar.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        bar = QtWidgets.QGridLayout(self.sharing_bar)
        self.status_label = QtWidgets.QLabel(WAITING_TEXT)
        self.status_label.setWordWrap(True)
        self.pause_button = QtWidgets.QPushButton(PAUSE_LABEL)
        self.pause_button.clicked.connect(self._pause_or_resume)
        self.stop_button = QtWidgets.QPushButton(STOP_LABEL)
        self.stop_button.clicked.connect(self._stop_sharing)
        self.link_label = QtWidgets.QLabel("")
        self.link_label.setWordWrap(True)
        self.strap_label = QtWidgets.QLabel(STRAP_TEXTS[LinkState.CONNECTING])
        bar.addWidget(self.status_label, 0, 0)
        bar.addWidget(self.pause_button, 0, 1)
        bar.addWidget(self.stop_button, 0, 2)
        bar.addWidget(self.link_label, 1, 0)
        bar.addWidget(self.strap_label, 1, 1, 1, 2)
        bar.setColumnStretch(0, 1)
        layout.addWidget(self.sharing_bar)
        self.client_screen = ClientScreen(self._now, self)
        layout.addWidget(self.client_screen, 1)
        self.ended_label = QtWidgets.QLabel("")
        self.ended_label.setWordWrap(True)
        self.ended_label.setVisible(False)
        layout.addWidget(self.ended_label)
        buttons = QtWidgets.QHBoxLayout()
        self.decline_button = QtWidgets.QPushButton(DECLINE_LABEL)
        self.decline_button.setToolTip("Let your practitioner know this is not for you right now")
        self.decline_button.clicked.connect(self.decline)
        self.decline_button.setVisible(False)
        buttons.addWidget(self.decline_button)
        buttons.addStretch(1)
        self.end_button = QtWidgets.QPushButton(END_LABEL)
        self.end_button.clicked.connect(self.end)
        buttons.addWidget(self.end_button)
        layout.addLayout(buttons)
        self.frame_timer = QtCore.QTimer(self)
        self.frame_timer.setInterval(FRAME_MS)
        self.frame_timer.timeout.connect(self.on_frame)

    # --- the engine -----------------------------------------------------------------------------------

    def follow_engine(self, engine: Engine) -> None:
        """Drain ``engine`` (started by the window) from now on."""
        self.engine, self.ended, self._shown = engine, False, None
        self.status_label.setText(WAITING_TEXT)
        self.ended_label.setVisible(False)
        self.link_label.setText("")
        self.client_screen.clear()
        self.frame_timer.start()

    def on_frame(self) -> None:
        if self.engine is None:
            return
        for item in self.engine.drain():
            self.follow(item)

    def follow(self, item: object) -> None:
        if isinstance(item, LinkEvent):
            self.strap_label.setText(STRAP_TEXTS.get(item.state, ""))
        if not isinstance(item, TimelineEvent):
            return
        data = item.data
        if item.kind == PAIRED_EVENT:
            self.paired.emit(str(data.get("confirmation", "")))
        elif item.kind == FAILED_EVENT:
            self.failed.emit(str(data.get("text", "")))
        elif item.kind == CONSENT_EVENT:
            self._take_consent(data)
        elif item.kind == WARNING_EVENT:
            self.link_label.setText(str(data.get("text", "")))
        elif item.kind == LINK_EVENT:
            self.link_label.setText(LINK_TEXTS.get(str(data.get("state")), ""))
        elif item.kind == REMOTE_CUE_EVENT and data.get("received"):
            self._take_cue(data)
        elif item.kind == PACER_EVENT:
            self._take_pacer(data)
        elif item.kind == ENDED_EVENT:
            self.ended = True
            self.ended_label.setText(ENDED_TEXT)
            self.ended_label.setVisible(True)
            self.pause_button.setEnabled(False)
            self.stop_button.setEnabled(False)
            self.decline_button.setVisible(False)
        elif item.kind == "engine-error":
            self.link_label.setText(str(data.get("text", "")).splitlines()[0] if data.get("text") else "")

    def _take_consent(self, data: Mapping[str, Any]) -> None:
        self.status_label.setText(str(data.get("text", "")))
        self.pause_button.setText(RESUME_LABEL if data.get("paused") else PAUSE_LABEL)
        stopped = bool(data.get("stopped"))
        self.pause_button.setEnabled(not stopped and not self.ended)
        self.stop_button.setEnabled(not stopped and not self.ended)

    def _take_cue(self, data: Mapping[str, Any]) -> None:
        action, screen = data.get("action"), self.client_screen
        exercise = self.exercises.get(str(data.get("exercise"))) if data.get("exercise") else None
        if action == "show":
            if exercise is not None:
                screen.show_exercise(exercise, self._now())
            else:
                screen.show_text(str(data.get("text") or ""))
            self._shown = dict(data)
        elif action == "pause":
            screen.pause_exercise()
        elif action == "resume":
            screen.resume_exercise()
        elif action == "step" and isinstance(data.get("step"), int):
            screen.go_to_step(int(data["step"]) - 1)
        elif action == "clear":
            screen.clear()
            self._shown = None
        self.decline_button.setVisible(self._shown is not None and not self.ended)

    def _take_pacer(self, data: Mapping[str, Any]) -> None:
        if not data.get("running"):
            self.client_screen.show_pacer(None)
            return
        try:
            settings = PacerSettings(*(float(data[name]) for name in BREATH_FIELDS))
        except (KeyError, TypeError, ValueError):
            return  # a breath this version cannot show: the pacer stays as it is
        self.client_screen.show_pacer(settings)

    # --- the client's choices ---------------------------------------------------------------------------

    def decline(self) -> None:
        """"Not now" to what is shown: the screen rests, the practitioner is told."""
        if self.engine is not None and self._shown is not None:
            self.engine.decline_remote_cue(self._shown)
        self._shown = None
        self.client_screen.clear()
        self.decline_button.setVisible(False)

    def _pause_or_resume(self) -> None:
        if self.engine is None:
            return
        if self.pause_button.text() == PAUSE_LABEL:
            self.engine.remote_pause()
        else:
            self.engine.remote_resume()

    def _stop_sharing(self) -> None:
        if self.engine is not None:
            self.engine.remote_stop()

    def end(self) -> None:
        """End here: the practitioner is told, the engine stops, the recording is saved."""
        engine, self.engine = self.engine, None
        self.frame_timer.stop()
        if engine is not None:
            engine.stop()  # sends what is queued and the end, then closes the recording
            engine.drain()
        self.client_screen.clear()
        self.decline_button.setVisible(False)
        self.finished.emit(engine is not None)

    def _now(self) -> float:
        return self.engine.now_s() if self.engine is not None else 0.0

    # --- for tests and the screenshots ---------------------------------------------------------------

    def status_shown(self) -> str:
        return self.status_label.text()
