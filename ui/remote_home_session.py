"""The home window's remote-session page: what the practitioner shows, and the sharing always in view.

The client joined a practitioner's session (:class:`~ui.remote_join.RemoteJoinDialog`); the home engine
runs the strap, records it and shares it (:meth:`Engine.join_remote`). This page drains that engine on a
frame timer and follows its events:

* ``remote-cue``: the practitioner's change to the client's screen (show an exercise or a line, pause,
  resume, go to a step, clear) on a :class:`~ui.client_screen.ClientScreen`, with "Not now" to decline
  what is shown (:meth:`Engine.decline_remote_cue`);
* ``pacer``: the pacer the engine made of the practitioner's ``remote-pacer`` (the very one whose
  following it measures and records) shows alone, or stops; an exercise on screen keeps its own pacer;
* the sharing bar, always visible: the consent's own words (``remote-consent`` events' ``text``),
  "Change what I share…" (:class:`~ui.remote_sharing.ChangeSharingDialog`, applied at once with
  :meth:`Engine.remote_choose`), "Pause sharing" / "Resume sharing", "Stop sharing"; the relay link
  (``remote-link``: the client's own, or a practitioner's program that rejoined) and the strap (its link
  events); ``remote-ended``: "Your practitioner ended the session": sharing has stopped, the strap and the
  recording go on until the client ends (the recording is then saved).

Thread: the Qt GUI thread (the engine runs on its own).
"""

from __future__ import annotations

import functools

from collections.abc import Mapping
from typing import Any, Final

from PySide6 import QtCore, QtWidgets

from somafeedback.devices.events import LinkEvent, LinkState, TimelineEvent
from somafeedback.live.analysis import PACER_EVENT, pacer_from_data
from somafeedback.live.engine import Engine
from somafeedback.live.remote_client_link import ENDED_EVENT, FAILED_EVENT, PAIRED_EVENT, WARNING_EVENT
from somafeedback.regulation.exercises import Exercise
from somafeedback.remote.consent import CONSENT_EVENT, DEFAULT_REQUEST, LINK_EVENT, PRACTITIONER, ConsentError, \
    SharingLevel
from somafeedback.remote.downlink import REMOTE_CUE_EVENT

from .client_screen import ClientScreen
from .remote_sharing import ChangeSharingDialog

FRAME_MS: Final = 33  # ~30 frames per second
WAITING_TEXT: Final = "Not sharing yet: nothing is sent until you choose what to share and confirm."
PAUSE_LABEL: Final = "Pause sharing"
RESUME_LABEL: Final = "Resume sharing"
STOP_LABEL: Final = "Stop sharing"
CHANGE_LABEL: Final = "Change what I share…"
DECLINE_LABEL: Final = "Not now"
END_LABEL: Final = "End and save"
TELL_LABEL: Final = "Let your practitioner know:"
# the client's own markers: what they may tell their practitioner at any moment (recorded here, sent up as markers)
CLIENT_MARKERS: Final = ("This is a lot right now", "I would like a pause", "Something changed")
LINK_TEXTS: Final = {
    "lost": "Your internet link dropped: your strap and your recording go on, and what your practitioner "
            "missed follows when it is back.",
    "back": "Your internet link is back: what your practitioner missed is on its way.",
}
# the practitioner's side of the link, when the client hears of it (today only a rejoin may be told)
PRACTITIONER_LINK_TEXTS: Final = {
    "rejoined": "Your practitioner is back: their program restarted and rejoined the session.",
}
STRAP_TEXTS: Final = {LinkState.CONNECTING: "Your strap: connecting…", LinkState.STREAMING: "Your strap: connected",
                      LinkState.LOST: "Your strap: the signal dropped, reconnecting…",
                      LinkState.RECONNECTING: "Your strap: reconnecting…", LinkState.STOPPED: "Your strap: stopped"}
ENDED_TEXT: Final = ("Your practitioner ended the session. Sharing has stopped; your strap and your recording go "
                     "on until you choose “End and save”.")
SAVED_TEXT: Final = "Your recording is saved."


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
        self.level: SharingLevel = DEFAULT_REQUEST  # the level in force (the latest remote-consent event)
        self.change_dialog: ChangeSharingDialog | None = None
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
        self.change_button = QtWidgets.QPushButton(CHANGE_LABEL)
        self.change_button.setToolTip("Choose what your practitioner receives from now on")
        self.change_button.clicked.connect(self.change_sharing)
        self.link_label = QtWidgets.QLabel("")
        self.link_label.setWordWrap(True)
        self.strap_label = QtWidgets.QLabel(STRAP_TEXTS[LinkState.CONNECTING])
        bar.addWidget(self.status_label, 0, 0)
        bar.addWidget(self.change_button, 0, 1)
        bar.addWidget(self.pause_button, 0, 2)
        bar.addWidget(self.stop_button, 0, 3)
        bar.addWidget(self.link_label, 1, 0)
        bar.addWidget(self.strap_label, 1, 1, 1, 3)
        bar.setColumnStretch(0, 1)
        layout.addWidget(self.sharing_bar)
        self.client_screen = ClientScreen(self._now, self)
        layout.addWidget(self.client_screen, 1)
        self.ended_label = QtWidgets.QLabel("")
        self.ended_label.setWordWrap(True)
        self.ended_label.setVisible(False)
        layout.addWidget(self.ended_label)
        tell = QtWidgets.QHBoxLayout()
        tell.addWidget(QtWidgets.QLabel(TELL_LABEL))
        self.marker_buttons: dict[str, QtWidgets.QPushButton] = {}
        for text in CLIENT_MARKERS:
            button = QtWidgets.QPushButton(text)
            button.clicked.connect(functools.partial(self.mark, text))
            tell.addWidget(button)
            self.marker_buttons[text] = button
        tell.addStretch(1)
        layout.addLayout(tell)
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
        self.engine, self.ended, self._shown, self.level = engine, False, None, DEFAULT_REQUEST
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
            self._take_consent({"level": data.get("level"), "text": WAITING_TEXT})
            self.paired.emit(str(data.get("confirmation", "")))
        elif item.kind == FAILED_EVENT:
            self.failed.emit(str(data.get("text", "")))
        elif item.kind == CONSENT_EVENT:
            self._take_consent(data)
        elif item.kind == WARNING_EVENT:
            self.link_label.setText(str(data.get("text", "")))
        elif item.kind == LINK_EVENT:
            texts = PRACTITIONER_LINK_TEXTS if data.get("side") == PRACTITIONER else LINK_TEXTS
            self.link_label.setText(texts.get(str(data.get("state")), ""))
        elif item.kind == REMOTE_CUE_EVENT and data.get("received"):
            self._take_cue(data)
        elif item.kind == PACER_EVENT:
            self._take_pacer(data)
        elif item.kind == ENDED_EVENT:
            self.ended = True
            self.ended_label.setText(ENDED_TEXT)
            self.ended_label.setVisible(True)
            for button in (self.change_button, self.pause_button, self.stop_button):
                button.setEnabled(False)
            self._close_change_dialog()
            self.decline_button.setVisible(False)
        elif item.kind == "engine-error":
            self.link_label.setText(str(data.get("text", "")).splitlines()[0] if data.get("text") else "")

    def _take_consent(self, data: Mapping[str, Any]) -> None:
        self.status_label.setText(str(data.get("text", "")))
        self.pause_button.setText(RESUME_LABEL if data.get("paused") else PAUSE_LABEL)
        stopped = bool(data.get("stopped"))
        for button in (self.change_button, self.pause_button, self.stop_button):
            button.setEnabled(not stopped and not self.ended)
        try:
            self.level = SharingLevel(str(data.get("level")))
        except ValueError:
            pass  # a level this version does not know: the one shown stays
        if self.change_dialog is not None:
            self.change_dialog.choice.set_level(self.level)
        if stopped:
            self._close_change_dialog()

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
        """Show the engine's pacer exactly (its start and every change), alone; an exercise keeps its own."""
        screen = self.client_screen
        if screen.current_exercise() is not None:
            return
        pacer = pacer_from_data(data)
        if pacer is None:
            if screen.pacer_visible():
                screen.clear()
            return
        shown = screen.pacer_widget().pacer() if screen.pacer_visible() else None
        done = len(shown.changes) if shown is not None else 0  # the changes the screen already follows
        for at_s, settings in pacer.changes[done:]:
            screen.show_pacer(settings, at_s)  # the first starts it, the rest retime it phase-continuously

    # --- the client's choices ---------------------------------------------------------------------------

    def mark(self, text: str) -> None:
        """The client tells their practitioner something at this moment: a marker (by the client), recorded here
        and sent up like any event (shared at every level)."""
        if self.engine is not None and not self.ended:
            self.engine.add_event("marker", label=text, by="client")

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

    def change_sharing(self) -> None:
        """"Change what I share…": the four levels, the one in force checked; a click applies it at once."""
        if self.change_dialog is None:
            self.change_dialog = ChangeSharingDialog(self.level, self)
            self.change_dialog.level_chosen.connect(self._choose)
            self.change_dialog.finished.connect(self._change_dialog_closed)
        self.change_dialog.show()
        self.change_dialog.raise_()

    def _choose(self, level: str) -> None:
        if self.engine is None:
            return
        try:
            self.engine.remote_choose(level)
        except ConsentError as error:
            self.link_label.setText(str(error))
            if self.change_dialog is not None:
                self.change_dialog.choice.set_level(self.level)

    def _change_dialog_closed(self) -> None:
        if self.change_dialog is not None:
            self.change_dialog.deleteLater()
        self.change_dialog = None

    def _close_change_dialog(self) -> None:
        if self.change_dialog is not None:
            self.change_dialog.accept()

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
        self._close_change_dialog()
        self.finished.emit(engine is not None)

    def _now(self) -> float:
        return self.engine.now_s() if self.engine is not None else 0.0

    # --- for tests and the screenshots ---------------------------------------------------------------

    def status_shown(self) -> str:
        return self.status_label.text()
