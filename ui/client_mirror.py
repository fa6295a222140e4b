"""The practitioner's mirror of the client view: what the client sees now, and two controls.

A compact strip for the practitioner window's side panel (about 300 px wide, under
130 px tall):

- one line (wrapping if it must) that says what the client sees: ``Client sees: Low and
  slow breathing — step 2 of 4, 1:30 left``, ``Client sees: the resting screen``,
  ``Client sees: “Let's come back to the feet…”`` or ``Client sees: the pacer alone``;
- a small muted pacer line: ``pacer 6/min`` (or ``no pacer``);
- two buttons: **Clear** (back to the resting screen) and **Pacer only** (hide the text,
  keep the pacer running as it is).

It reads :meth:`ClientScreen.view_state` on a 5 Hz timer (only while it is shown) and at
once after its own buttons or the client view's step signals; it never changes the
client view except through :meth:`ClientScreen.clear` and :meth:`ClientScreen.pacer_only`.
The time left is shown here even when it is hidden on the client view; a held exercise
reads ``… step 2 of 4, paused``.

:class:`PushControls` is the row under it for a pushed exercise: **Pause** / **Resume**,
**Back a step**, **Next step** (enabled only while an exercise runs on the client view).
Both widgets tell the window of each action (``on_action``), which records it on the
session's timeline (Clear before the view is cleared, the others after the change); the
client view changes at once either way.

Thread: the Qt GUI thread (the same one as the client view).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from PySide6 import QtCore, QtGui, QtWidgets

from somafeedback.regulation.pacer import PacerSettings

from .client_screen import ClientScreen, ClientViewState, format_time_left

REFRESH_MS: Final = 200  # ~5 Hz: the time left moves once a second
PREFIX: Final = "Client sees: "
RESTING: Final = "the resting screen"
FINISHED: Final = "the resting screen (the exercise has ended)"
PACER_ALONE: Final = "the pacer alone"
EXERCISE: Final = "{title} — step {number} of {count}"
TIME_LEFT: Final = ", {time} left"
PAUSED: Final = ", paused"
PAUSE_LABEL: Final = "Pause"
RESUME_LABEL: Final = "Resume"
BACK_LABEL: Final = "Back a step"
NEXT_LABEL: Final = "Next step"
NO_PACER: Final = "no pacer"
PACER_RATE: Final = "pacer {rate}/min"
CLEAR_LABEL: Final = "Clear"
PACER_ONLY_LABEL: Final = "Pacer only"
MAX_TITLE_CHARS: Final = 48  # a practitioner's own long title is shortened with "…"
MAX_TEXT_CHARS: Final = 60  # a pushed line is quoted only this far
MUTED: Final = QtGui.QColor(104, 122, 133)


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def format_rate(breaths_per_min: float) -> str:
    """A pacer rate for the mirror: ``6``, ``5.5`` (one decimal at most)."""
    return f"{round(breaths_per_min, 1):g}"


def describe(state: ClientViewState) -> str:
    """The mirror's main line for ``state``."""
    if state.kind == "exercise":
        line = EXERCISE.format(title=_short(state.exercise_title or "", MAX_TITLE_CHARS),
                               number=state.step_number, count=state.step_count)
        if state.paused:
            line += PAUSED
        elif state.exercise_seconds_left is not None:
            line += TIME_LEFT.format(time=format_time_left(state.exercise_seconds_left))
        return PREFIX + line
    if state.kind == "resting":
        return PREFIX + (FINISHED if state.finished else RESTING)
    if state.kind == "pacer" and not state.text:
        return PREFIX + PACER_ALONE
    quoted = f"“{_short(state.text, MAX_TEXT_CHARS)}”"
    return PREFIX + (quoted + " with the pacer" if state.kind == "pacer" else quoted)


def describe_pacer(state: ClientViewState) -> str:
    """The mirror's pacer line: ``pacer 6/min`` or ``no pacer``."""
    if not state.pacer_visible or state.pacer_rate_bpm is None:
        return NO_PACER
    return PACER_RATE.format(rate=format_rate(state.pacer_rate_bpm))


class _RefreshedWhileShown:
    """A widget with ``refresh()`` and a ``timer`` that follows the client view only while it is shown."""

    timer: QtCore.QTimer

    def refresh(self) -> None:
        raise NotImplementedError

    def showEvent(self, event: QtGui.QShowEvent) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)  # type: ignore[misc]
        self.refresh()
        self.timer.start()

    def hideEvent(self, event: QtGui.QHideEvent) -> None:  # noqa: N802 - Qt API
        super().hideEvent(event)  # type: ignore[misc]
        self.timer.stop()


class ClientMirror(_RefreshedWhileShown, QtWidgets.QFrame):
    """What the client sees, for the practitioner, with "Clear" and "Pacer only".

    ``client`` is the client view to follow (it runs on the same GUI thread).
    ``on_action("clear")``, when given, is told of the Clear button *before* the client view
    is cleared (the practitioner window records what was cleared).
    """

    def __init__(self, client: ClientScreen, parent: QtWidgets.QWidget | None = None,
                 pacer_settings: Callable[[], PacerSettings] | None = None,
                 on_action: Callable[[str], None] | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self._on_action = on_action
        self._pacer_settings = pacer_settings  # "Pacer only" with no pacer running: the user's pacer (Settings)
        self._state: ClientViewState | None = None
        self.setObjectName("clientMirror")
        self.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.setAccessibleName("what the client sees")
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Maximum)

        self.summary_label = QtWidgets.QLabel()
        self.summary_label.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.summary_label.setWordWrap(True)
        self.summary_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored,
                                         QtWidgets.QSizePolicy.Policy.Preferred)  # wraps to the panel's width
        self.pacer_label = QtWidgets.QLabel()
        self.pacer_label.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        font = self.pacer_label.font()
        font.setPointSizeF(font.pointSizeF() * 0.9)
        self.pacer_label.setFont(font)
        palette = self.pacer_label.palette()
        palette.setColor(QtGui.QPalette.ColorRole.WindowText, MUTED)
        self.pacer_label.setPalette(palette)

        self.clear_button = QtWidgets.QPushButton(CLEAR_LABEL)
        self.clear_button.setToolTip("Back to the resting screen on the client view")
        self.clear_button.clicked.connect(self.clear)
        self.pacer_only_button = QtWidgets.QPushButton(PACER_ONLY_LABEL)
        self.pacer_only_button.setToolTip("Hide the text on the client view and keep the breathing pacer")
        self.pacer_only_button.clicked.connect(self.pacer_only)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(3)
        layout.addWidget(self.summary_label)
        buttons = QtWidgets.QHBoxLayout()
        buttons.setSpacing(4)
        buttons.addWidget(self.pacer_label, 1)
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.pacer_only_button)
        layout.addLayout(buttons)

        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        client.step_changed.connect(self.refresh)
        client.exercise_finished.connect(self.refresh)
        client.view_changed.connect(self.refresh)  # a pause, a resume, a new view: at once
        self.refresh()

    # --- controls -------------------------------------------------------------------------

    def clear(self) -> None:
        """The "Clear" button: the client view goes back to its resting screen."""
        if self._on_action is not None:
            self._on_action("clear")
        self.client.clear()
        self.refresh()

    def pacer_only(self) -> None:
        """The "Pacer only" button: the client view keeps only the pacer."""
        self.client.pacer_only(self._pacer_settings() if self._pacer_settings is not None else None)
        self.refresh()

    # --- reading the client view ---------------------------------------------------------------

    def state(self) -> ClientViewState | None:
        """The client view's state at the last refresh."""
        return self._state

    def text(self) -> str:
        """The main line as shown."""
        return self.summary_label.text()

    def pacer_text(self) -> str:
        return self.pacer_label.text()

    def refresh(self) -> None:
        """Re-read the client view (the timer calls this ~5 times a second while shown)."""
        state = self.client.view_state()
        self._state = state
        for label, text in ((self.summary_label, describe(state)), (self.pacer_label, describe_pacer(state))):
            if label.text() != text:
                label.setText(text)
        self.summary_label.setToolTip(state.text)
        self.clear_button.setEnabled(not state.resting)
        self.pacer_only_button.setEnabled(not (state.kind == "pacer" and not state.text))


class PushControls(_RefreshedWhileShown, QtWidgets.QWidget):
    """Pause / Resume, Back a step and Next step for the exercise running on the client view.

    Each button changes the client view, then tells ``on_action`` ("pause", "resume",
    "back", "next"), which records it (so the record names the step now shown). The buttons follow the client view (a 5 Hz
    timer while shown, and its step signals): all off with no exercise running, Back off on
    the first step, Next off on the last. Thread: the Qt GUI thread.
    """

    def __init__(self, client: ClientScreen, on_action: Callable[[str], None] | None = None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self._on_action = on_action
        self.pause_button = QtWidgets.QPushButton(PAUSE_LABEL)
        self.pause_button.setToolTip("Hold the pushed exercise on its step on the client view (Resume goes on)")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.back_button = QtWidgets.QPushButton(BACK_LABEL)
        self.back_button.setToolTip("Show the step before on the client view")
        self.back_button.clicked.connect(lambda: self.step(-1))
        self.next_button = QtWidgets.QPushButton(NEXT_LABEL)
        self.next_button.setToolTip("Show the next step on the client view")
        self.next_button.clicked.connect(lambda: self.step(+1))
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        for button in (self.pause_button, self.back_button, self.next_button):
            button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # the keyboard stays with the window's hotkeys
            layout.addWidget(button)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        client.step_changed.connect(self.refresh)
        client.exercise_finished.connect(self.refresh)
        client.view_changed.connect(self.refresh)
        self.refresh()

    def toggle_pause(self) -> None:
        """Pause the running exercise, or resume it when it is paused."""
        if self.client.current_exercise() is None:
            return
        action = "resume" if self.client.is_exercise_paused() else "pause"
        changed = self.client.pause_exercise() if action == "pause" else self.client.resume_exercise()
        if changed and self._on_action is not None:
            self._on_action(action)
        self.refresh()

    def step(self, delta: int) -> None:
        """One step on (``+1``) or back (``-1``) in the running exercise."""
        index = self.client.current_step_index()
        exercise = self.client.current_exercise()
        if exercise is None or index is None or not 0 <= index + delta < len(exercise.steps):
            return
        self.client.go_to_step(index + delta)
        if self._on_action is not None:
            self._on_action("next" if delta > 0 else "back")  # after the move: the record names the new step
        self.refresh()

    def refresh(self) -> None:
        exercise, index = self.client.current_exercise(), self.client.current_step_index()
        running = exercise is not None and index is not None
        self.pause_button.setEnabled(running)
        self.pause_button.setText(RESUME_LABEL if self.client.is_exercise_paused() else PAUSE_LABEL)
        self.back_button.setEnabled(running and index > 0)  # type: ignore[operator]
        self.next_button.setEnabled(running and exercise is not None and index < len(exercise.steps) - 1)  # type: ignore[operator]

