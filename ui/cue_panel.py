"""The practitioner's side panel: the current suggestion, the exercise library, markers, notes.

The panel only collects the practitioner's decisions and hands them to callbacks (the
window passes them to the engine); it never decides anything itself.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from somafeedback.exercise_library import Exercise

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
    + ". N note (Enter saves it, Esc leaves it) · Space approve · S snooze 5 min · Esc dismiss · M mute cues"
    " · F11 client view full screen"
)


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
        library: dict[str, Exercise],
        on_decision: Callable[[str], None],
        on_push: Callable[[Exercise], None],
        on_marker: Callable[[str], None],
        on_note: Callable[[str], None],
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        layout = QtWidgets.QVBoxLayout(self)

        self.state_label = QtWidgets.QLabel("Starting…")
        self.state_label.setObjectName("state")
        self.state_label.setStyleSheet("font-size: 20pt; padding: 6px;")
        self.state_label.setWordWrap(True)
        layout.addWidget(self.state_label)
        self.state_reason = QtWidgets.QLabel("")
        self.state_reason.setWordWrap(True)
        layout.addWidget(self.state_reason)

        card = QtWidgets.QGroupBox("Suggestion (for you only)")
        card_layout = QtWidgets.QVBoxLayout(card)
        self.suggestion = QtWidgets.QLabel("No suggestion.")
        self.suggestion.setWordWrap(True)
        card_layout.addWidget(self.suggestion)
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

        library_box = QtWidgets.QGroupBox("Exercises: push to the client view")
        library_layout = QtWidgets.QVBoxLayout(library_box)
        self.exercises = QtWidgets.QListWidget()
        for exercise in sorted(library.values(), key=lambda e: e.title):
            if "session" in exercise.where:
                item = QtWidgets.QListWidgetItem(f"{exercise.title}  ({exercise.duration_s / 60:.0f} min)")
                item.setData(QtCore.Qt.ItemDataRole.UserRole, exercise.id)
                item.setToolTip(exercise.purpose)
                self.exercises.addItem(item)
        library_layout.addWidget(self.exercises)
        self.push_button = QtWidgets.QPushButton("Push to client view")
        self.push_button.clicked.connect(lambda: self._push(on_push))
        library_layout.addWidget(self.push_button)
        layout.addWidget(library_box)

        markers_box = QtWidgets.QGroupBox("Markers")
        grid = QtWidgets.QGridLayout(markers_box)
        self.marker_buttons: dict[str, QtWidgets.QPushButton] = {}
        for index, (key, label, text) in enumerate(MARKERS):
            button = QtWidgets.QPushButton(f"{text} ({key})")
            button.clicked.connect(lambda _=False, value=label: on_marker(value))
            self.marker_buttons[label] = button
            grid.addWidget(button, index // 2, index % 2)
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

    def show_suggestion(self, text: str | None) -> None:
        self.suggestion.setText(text or "No suggestion.")
        for button in (self.approve_button, self.snooze_button, self.dismiss_button):
            button.setEnabled(text is not None)

    def show_state(self, state: str, reason: str) -> None:
        self.state_label.setText(state)
        self.state_reason.setText(reason)

    def _push(self, on_push: Callable[[Exercise], None]) -> None:
        item = self.exercises.currentItem()
        if item is not None:
            on_push(self.library[item.data(QtCore.Qt.ItemDataRole.UserRole)])

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
