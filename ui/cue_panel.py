"""The practitioner's side panel: the current suggestion, the exercises to push, markers, notes.

The panel only collects the practitioner's decisions and hands them to callbacks (the
window passes them to the engine); it never decides anything itself.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import Final

from PySide6 import QtCore, QtGui, QtWidgets

from somafeedback.regulation.cues import ACTIVATING_ROLES
from somafeedback.regulation.exercises import Exercise

from .resonance_words import is_assessment

# (key, marker label, button text); the label is what the session records
MARKERS: tuple[tuple[str, str, str], ...] = (
    ("R", "resource", "Resource"),
    ("A", "activation", "Activation / edge"),
    ("P", "pendulation", "Pendulation swing"),
    ("D", "discharge", "Discharge: hold space"),
    ("G", "grounding", "Grounding done"),
    ("O", "orienting", "Orienting"),
    ("C", "containment", "Containment"),
    ("F", "felt shift", "Felt shift"),
    ("Q", "hypoarousal signs observed", "Hypoarousal signs (observed)"),
    ("T", "charged material", "Talking about charged material"),
)

SHORTCUTS_HELP = (
    "Markers: " + ", ".join(f"{key} {text.lower()}" for key, _, text in MARKERS)
    + ". Ctrl+Z undo the last marker · N note (Enter saves it, Esc leaves it) · Space approve · S snooze 5 min"
    " · Esc dismiss · M mute cues · F11 client view full screen"
    " · Ctrl+1 / Ctrl+2 / Ctrl+3 the baseline / practice / recovery phase starts now"
)

HIGHLIGHT_S: Final = 4.0  # a new suggestion's warm background fades out over this many seconds
HIGHLIGHT_RGB: Final = (255, 196, 112)  # warm, soft amber
HIGHLIGHT_STEPS: Final = 24  # the fade is redrawn in this many steps at most (not on every frame)


def clock_mm_ss(t_s: float) -> str:
    """Seconds as ``m:ss`` (``3:20``; ``62:05`` past an hour)."""
    whole = max(0, int(round(t_s)))
    return f"{whole // 60}:{whole % 60:02d}"


CAREFUL_ROLES: Final = ACTIVATING_ROLES  # exercises that turn toward difficult material: a second click to push
CAREFUL_NOTE: Final = "Turns toward difficult material: read the cautions before pushing."
PUSH_LABEL: Final = "Push to client view"
CONFIRM_PUSH_LABEL: Final = "Push after reading the cautions"
ENTRY_LABEL: Final = "When to use"
EXIT_LABEL: Final = "When to stop"
CAUTIONS_LABEL: Final = "Cautions"
NO_CAUTIONS_TEXT: Final = "none listed for this exercise."
CAUTION_COLOUR: Final = "#7a4a00"  # warm brown on the warm box: read first, never alarm red
CAUTION_BACKGROUND: Final = "#fff3cd"
ABOVE_RANGE_TEXT: Final = "Heart rate above this client's usual resting range at the start"
REBASELINE_LABEL: Final = "Re-baseline now"


def needs_confirmation(exercise: Exercise) -> bool:
    """True for an exercise whose push needs a second, confirming click (it turns toward difficult material)."""
    return exercise.role in CAREFUL_ROLES


def exercise_details_html(exercise: Exercise) -> str:
    """What is read before an exercise is used: title, length, purpose, when to use it, when to stop, cautions.

    An exercise that turns toward difficult material (role "pendulation") shows its cautions
    first, in a warm box, with a line saying so. Every text is escaped (exercise files are text).
    """
    parts = [f"<b>{html.escape(exercise.title)}</b> · {html.escape(exercise.duration_text)}",
             html.escape(exercise.purpose),
             f"<b>{ENTRY_LABEL}</b>: {html.escape(exercise.entry_trigger)}",
             f"<b>{EXIT_LABEL}</b>: {html.escape(exercise.exit_condition)}"]
    if exercise.cautions:
        items = "".join(f"<li>{html.escape(c)}</li>" for c in exercise.cautions)
        cautions = f"<b>{CAUTIONS_LABEL}</b><ul style='margin-left:-20px'>{items}</ul>"
    else:
        cautions = f"<b>{CAUTIONS_LABEL}</b>: {NO_CAUTIONS_TEXT}"
    if needs_confirmation(exercise):
        box = (f"<table width='100%' cellpadding='4' style='background:{CAUTION_BACKGROUND}'><tr><td>"
               f"<span style='color:{CAUTION_COLOUR}'><b>{html.escape(CAREFUL_NOTE)}</b></span><br>{cautions}"
               "</td></tr></table>")
        return box + "<br>".join(parts)
    return "<br>".join([*parts, cautions])


class NoteField(QtWidgets.QLineEdit):
    """The note line: Esc leaves it (keeping what was typed) instead of dismissing a suggestion.

    Signal ``left()``: Esc was pressed in the field. Thread: the Qt GUI thread.
    """

    left = QtCore.Signal()

    def event(self, event: QtCore.QEvent) -> bool:  # noqa: D102 - Qt API
        # Claim Esc before the window's shortcut (Esc = dismiss the suggestion) sees it.
        if event.type() == QtCore.QEvent.Type.ShortcutOverride and isinstance(event, QtGui.QKeyEvent) \
                and event.key() == QtCore.Qt.Key.Key_Escape:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:  # noqa: N802 - Qt API
        if event.key() == QtCore.Qt.Key.Key_Escape:
            event.accept()
            self.left.emit()
            return
        super().keyPressEvent(event)


class CuePanel(QtWidgets.QWidget):
    """Suggestion card, exercise list, marker buttons and a note line."""

    def __init__(
        self,
        exercises: dict[str, Exercise],
        on_decision: Callable[[str], None],
        on_push: Callable[[Exercise], None],
        on_marker: Callable[[str], None],
        on_note: Callable[[str], None],
        parent: QtWidgets.QWidget | None = None,
        *,
        on_undo: Callable[[], None] | None = None,
        on_baseline: Callable[[str], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(parent)
        self.exercises = exercises
        self.clock = clock if clock is not None else time.monotonic  # for the suggestion's fade (tests inject their own)
        self._highlight_at: float | None = None
        self._highlight_step = -1
        self._suggestion_text: str | None = None
        self._confirming: Exercise | None = None  # a careful exercise whose push waits for the second click
        layout = QtWidgets.QVBoxLayout(self)
        self.column = layout  # the practitioner window inserts the device panel and the client mirror here

        self.state_label = QtWidgets.QLabel("Starting…")
        self.state_label.setObjectName("state")
        self.state_label.setStyleSheet("font-size: 20pt;")  # no padding: the layout spaces it (text never cut)
        self.state_label.setWordWrap(True)
        layout.addWidget(self.state_label)
        self.state_reason = QtWidgets.QLabel("")
        self.state_reason.setWordWrap(True)
        layout.addWidget(self.state_reason)

        # the baseline being measured: how far, and restart / skip (shown only while measuring)
        self.baseline_box = QtWidgets.QWidget()
        baseline_layout = QtWidgets.QGridLayout(self.baseline_box)
        baseline_layout.setContentsMargins(0, 0, 0, 0)
        self.baseline_text = QtWidgets.QLabel("baseline 0:00 of 5:00")
        self.baseline_text.setWordWrap(True)
        self.baseline_bar = QtWidgets.QProgressBar()
        self.baseline_bar.setTextVisible(False)
        self.baseline_bar.setMaximumHeight(8)
        self.restart_baseline_button = QtWidgets.QPushButton("Restart baseline")
        self.restart_baseline_button.setToolTip("Measure the baseline again from now (1 min settling, then 4 min)")
        self.skip_baseline_button = QtWidgets.QPushButton("Skip baseline")
        self.skip_baseline_button.setToolTip("Use this client's usual range from earlier recorded sessions")
        for button, action in ((self.restart_baseline_button, "restart"), (self.skip_baseline_button, "skip")):
            button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # the keyboard stays with the hotkeys
            if on_baseline is not None:
                button.clicked.connect(lambda _=False, a=action: on_baseline(a))
        baseline_layout.addWidget(self.baseline_text, 0, 0, 1, 2)
        baseline_layout.addWidget(self.baseline_bar, 1, 0, 1, 2)
        baseline_layout.addWidget(self.restart_baseline_button, 2, 0)
        baseline_layout.addWidget(self.skip_baseline_button, 2, 1)
        self.baseline_box.setVisible(False)
        layout.addWidget(self.baseline_box)
        self.baseline_message = QtWidgets.QLabel("")  # e.g. why the baseline cannot be skipped
        self.baseline_message.setWordWrap(True)
        self.baseline_message.setStyleSheet("color: #7a4a00;")
        self.baseline_message.setVisible(False)
        layout.addWidget(self.baseline_message)
        # the baseline's heart rate was above the client's usual resting range: offer to measure again
        self.rebaseline_box = QtWidgets.QWidget()
        rebaseline_layout = QtWidgets.QHBoxLayout(self.rebaseline_box)
        rebaseline_layout.setContentsMargins(0, 0, 0, 0)
        self.rebaseline_text = QtWidgets.QLabel(ABOVE_RANGE_TEXT)
        self.rebaseline_text.setWordWrap(True)
        self.rebaseline_text.setStyleSheet(f"color: {CAUTION_COLOUR};")
        self.rebaseline_button = QtWidgets.QPushButton(REBASELINE_LABEL)
        self.rebaseline_button.setToolTip("Measure the baseline again from now (1 min settling, then 4 min)")
        self.rebaseline_button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.rebaseline_button.clicked.connect(lambda: self._rebaseline(on_baseline))
        rebaseline_layout.addWidget(self.rebaseline_text, 1)
        rebaseline_layout.addWidget(self.rebaseline_button)
        self.rebaseline_box.setVisible(False)
        layout.addWidget(self.rebaseline_box)

        card = QtWidgets.QGroupBox("Suggestion (for you only)")
        self.card = card
        card_layout = QtWidgets.QVBoxLayout(card)
        self.suggestion_frame = QtWidgets.QFrame()  # its background carries the new-suggestion highlight
        self.suggestion_frame.setObjectName("suggestionFrame")
        frame_layout = QtWidgets.QVBoxLayout(self.suggestion_frame)
        frame_layout.setContentsMargins(6, 4, 6, 4)
        self.suggestion = QtWidgets.QLabel("No suggestion.")
        self.suggestion.setWordWrap(True)
        frame_layout.addWidget(self.suggestion)
        self.suggestion_details = QtWidgets.QLabel("")  # the attached exercise's purpose, entry, exit and cautions
        self.suggestion_details.setWordWrap(True)
        self.suggestion_details.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.suggestion_details.setVisible(False)
        frame_layout.addWidget(self.suggestion_details)
        card_layout.addWidget(self.suggestion_frame)
        self.cue_status = QtWidgets.QLabel("")  # "cues muted", "snoozed until 12:34"
        self.cue_status.setWordWrap(True)
        self.cue_status.setStyleSheet("color: #555; font-style: italic;")
        self.cue_status.setVisible(False)
        card_layout.addWidget(self.cue_status)
        buttons = QtWidgets.QHBoxLayout()
        self.approve_button = QtWidgets.QPushButton("Approve (Space)")
        self.snooze_button = QtWidgets.QPushButton("Snooze 5 min (S)")
        self.dismiss_button = QtWidgets.QPushButton("Dismiss (Esc)")
        for button, decision in ((self.approve_button, "approve"), (self.snooze_button, "snooze"),
                                 (self.dismiss_button, "dismiss")):
            button.clicked.connect(lambda _=False, d=decision: on_decision(d))
            button.setEnabled(False)
            buttons.addWidget(button)
        card_layout.addLayout(buttons)
        layout.addWidget(card)

        exercises_box = QtWidgets.QGroupBox("Exercises: push to the client view")
        exercises_layout = QtWidgets.QVBoxLayout(exercises_box)
        self.exercise_list = QtWidgets.QListWidget()
        self.exercise_list.setMinimumHeight(90)
        self.exercise_list.setMaximumHeight(130)
        for exercise in sorted(exercises.values(), key=lambda e: e.title):
            if "session" in exercise.where and not is_assessment(exercise):  # the assessment has its own action
                item = QtWidgets.QListWidgetItem(f"{exercise.title}  ({exercise.duration_text})")
                item.setData(QtCore.Qt.ItemDataRole.UserRole, exercise.id)
                item.setToolTip(exercise.purpose)
                self.exercise_list.addItem(item)
        exercises_layout.addWidget(self.exercise_list)
        self.exercise_details = QtWidgets.QLabel("Select an exercise to read its purpose and cautions before pushing it.")
        self.exercise_details.setWordWrap(True)
        self.exercise_details.setTextFormat(QtCore.Qt.TextFormat.RichText)
        exercises_layout.addWidget(self.exercise_details)
        self.exercise_list.currentItemChanged.connect(lambda *_: self._show_details())
        self.push_button = QtWidgets.QPushButton(PUSH_LABEL)
        self.push_button.setEnabled(False)  # until an exercise is chosen (and its cautions shown)
        self.push_button.clicked.connect(lambda: self._push(on_push))
        exercises_layout.addWidget(self.push_button)
        layout.addWidget(exercises_box)
        self.exercises_box = exercises_box

        markers_box = QtWidgets.QGroupBox("Markers")
        grid = QtWidgets.QGridLayout(markers_box)
        self.marker_buttons: dict[str, QtWidgets.QPushButton] = {}
        for index, (key, label, text) in enumerate(MARKERS):
            button = QtWidgets.QPushButton(f"{text} ({key})")
            button.clicked.connect(lambda _=False, value=label: on_marker(value))
            self.marker_buttons[label] = button
            grid.addWidget(button, index // 2, index % 2)
        self.undo_button = QtWidgets.QPushButton("Undo last marker (Ctrl+Z)")
        self.undo_button.setEnabled(False)  # until there is a marker
        self.undo_button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        if on_undo is not None:
            self.undo_button.clicked.connect(lambda: on_undo())
        grid.addWidget(self.undo_button, (len(MARKERS) + 1) // 2, 0, 1, 2)
        layout.addWidget(markers_box)

        self.note = NoteField()
        self.note.setPlaceholderText("Note (N), Enter saves it on the timeline, Esc leaves it (the text stays)")
        self.note.returnPressed.connect(lambda: self._save_note(on_note))
        self.note.left.connect(self.leave_note)
        layout.addWidget(self.note)
        help_label = QtWidgets.QLabel(SHORTCUTS_HELP)
        help_label.setWordWrap(True)
        help_label.setStyleSheet("color: #555;")
        layout.addWidget(help_label)
        layout.addStretch(1)

    def show_suggestion(self, text: str | None, exercise: Exercise | None = None) -> None:
        """The pending suggestion (None: none) and its attached exercise, whose details and cautions show
        under it before Approve; a new suggestion lights up the card (see :meth:`tick`)."""
        if text is not None and exercise is not None:
            self.suggestion_details.setText(exercise_details_html(exercise))
            self.suggestion_details.setVisible(True)
        else:
            self.suggestion_details.setText("")
            self.suggestion_details.setVisible(False)
        if text is not None and text != self._suggestion_text:
            self._highlight_at = self.clock()
            self._highlight_step = -1
        elif text is None:
            self._highlight_at = None
        self._suggestion_text = text
        self.suggestion.setText(text or "No suggestion.")
        for button in (self.approve_button, self.snooze_button, self.dismiss_button):
            button.setEnabled(text is not None)
        self.tick()

    def highlight_colour(self) -> QtGui.QColor | None:
        """The highlight's colour as drawn now (None: no highlight), from the frame's style."""
        import re

        found = re.search(r"rgba\((\d+), (\d+), (\d+), (\d+)\)", self.suggestion_frame.styleSheet())
        return None if found is None else QtGui.QColor(*(int(v) for v in found.groups()))

    def highlight_level(self) -> float:
        """How strong the new-suggestion highlight is now: 1 when it arrives, fading to 0 over :data:`HIGHLIGHT_S`."""
        if self._highlight_at is None:
            return 0.0
        return max(0.0, 1.0 - (self.clock() - self._highlight_at) / HIGHLIGHT_S)

    def tick(self) -> None:
        """Advance the highlight's fade (the window's frame timer calls this); restyles only when it shows."""
        step = round(self.highlight_level() * HIGHLIGHT_STEPS)
        if step == self._highlight_step:
            return
        self._highlight_step = step
        if step == 0:
            self._highlight_at = None
            self.suggestion_frame.setStyleSheet("")
            return
        r, g, b = HIGHLIGHT_RGB
        alpha = round(255 * 0.85 * step / HIGHLIGHT_STEPS)
        self.suggestion_frame.setStyleSheet(
            f"#suggestionFrame {{ border-radius: 4px; background: rgba({r}, {g}, {b}, {alpha}); }}")

    def show_cue_status(self, text: str) -> None:
        """"cues muted", "snoozed until 12:34", or "" (nothing to say)."""
        if text != self.cue_status.text():
            self.cue_status.setText(text)
        self.cue_status.setVisible(bool(text))

    def show_state(self, state: str, reason: str) -> None:
        self.state_label.setText(state)
        self.state_reason.setText(reason)

    def show_baseline(self, progress: tuple[float, float] | None) -> None:
        """``(measured s, length s)`` while the baseline is measured ("baseline 3:20 of 5:00"); None hides it."""
        if progress is None:
            self.baseline_box.setVisible(False)
            self.baseline_message.setVisible(False)  # a note about skipping belongs to the measuring
            return
        measured, length = progress
        text = f"baseline {clock_mm_ss(measured)} of {clock_mm_ss(length)}"
        if text != self.baseline_text.text():
            self.baseline_text.setText(text)
            self.baseline_bar.setRange(0, max(1, round(length)))
            self.baseline_bar.setValue(round(min(measured, length)))
        self.baseline_box.setVisible(True)

    def show_above_usual_range(self, above: bool) -> None:
        """Say that the baseline's heart rate was above the client's usual resting range, with "Re-baseline now"."""
        self.rebaseline_box.setVisible(bool(above))

    def _rebaseline(self, on_baseline: Callable[[str], None] | None) -> None:
        self.rebaseline_box.setVisible(False)
        if on_baseline is not None:
            on_baseline("restart")

    def show_baseline_message(self, text: str) -> None:
        self.baseline_message.setText(text)
        self.baseline_message.setVisible(bool(text))

    def marker_undoable(self, on: bool) -> None:
        self.undo_button.setEnabled(on)

    def selected_exercise(self) -> Exercise | None:
        item = self.exercise_list.currentItem()
        return None if item is None else self.exercises.get(item.data(QtCore.Qt.ItemDataRole.UserRole))

    def _show_details(self) -> None:
        exercise = self.selected_exercise()
        self._confirming = None
        self.push_button.setText(PUSH_LABEL)
        self.push_button.setEnabled(exercise is not None)
        if exercise is not None:
            self.exercise_details.setText(exercise_details_html(exercise))

    def push_confirming(self) -> bool:
        """True while the push button waits for the confirming second click."""
        return self._confirming is not None

    def _push(self, on_push: Callable[[Exercise], None]) -> None:
        """Push the chosen exercise; one that turns toward difficult material needs a second click."""
        exercise = self.selected_exercise()
        if exercise is None:
            return
        if needs_confirmation(exercise) and self._confirming is not exercise:
            self._confirming = exercise
            self.push_button.setText(CONFIRM_PUSH_LABEL)
            return
        self._confirming = None
        self.push_button.setText(PUSH_LABEL)
        on_push(exercise)

    def _save_note(self, on_note: Callable[[str], None]) -> None:
        text = self.note.text().strip()
        if text:
            on_note(text)
            self.note.clear()
        self.leave_note()

    def leave_note(self) -> None:
        """Give the keyboard back to the window, so the single-key shortcuts (markers...) work again."""
        window = self.window()
        if window is not self:
            window.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)
        else:
            self.note.clearFocus()
