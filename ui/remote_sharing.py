"""What the client shares with their practitioner, chosen in their words: :class:`LevelChoice` and the
"Change what I share…" dialog of the sharing bar (:class:`ChangeSharingDialog`).

:class:`LevelChoice` lists the four sharing levels with their descriptions
(:data:`~somafeedback.remote.consent.DESCRIPTIONS`); every level can be shared. The join dialog asks with it before anything is sent; during the session
:class:`ChangeSharingDialog` shows it with the level in force checked, and a click on another level asks
for it at once (signal ``level_chosen``): the window applies it (``Engine.remote_choose``), the consent
records the change on both sides, and the sharing bar's words follow the ``remote-consent`` event.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from typing import Final

from PySide6 import QtCore, QtWidgets

from somafeedback.remote.consent import DEFAULT_REQUEST, DESCRIPTIONS, SharingLevel

LEVEL_TITLES: Final = {SharingLevel.STATE: "Only how I am doing", SharingLevel.METRICS: "My measures",
                       SharingLevel.BEATS: "Every heartbeat", SharingLevel.RAW: "Everything from my strap"}
CHANGE_TITLE: Final = "Change what I share"
CHANGE_TEXT: Final = ("Choose what your practitioner receives from now on. It changes at once, and your "
                      "practitioner sees the change. You can also pause or stop sharing at any time.")
CLOSE_LABEL: Final = "Close"


class LevelChoice(QtWidgets.QGroupBox):
    """The four levels as radio buttons with their descriptions; ``level_chosen(str)`` when the client
    clicks another one (not when :meth:`set_level` checks one)."""

    level_chosen = QtCore.Signal(str)

    def __init__(self, title: str, level: SharingLevel = DEFAULT_REQUEST,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(title, parent)
        layout = QtWidgets.QVBoxLayout(self)
        self.level_buttons: dict[SharingLevel, QtWidgets.QRadioButton] = {}
        for each in SharingLevel:
            button = QtWidgets.QRadioButton(LEVEL_TITLES[each])
            description = QtWidgets.QLabel(DESCRIPTIONS[each])
            description.setWordWrap(True)
            description.setIndent(24)
            button.clicked.connect(lambda _checked=False, chosen=each: self.level_chosen.emit(str(chosen)))
            layout.addWidget(button)
            layout.addWidget(description)
            self.level_buttons[each] = button
        self.set_level(level)

    def chosen_level(self) -> SharingLevel:
        return next(level for level, button in self.level_buttons.items() if button.isChecked())

    def set_level(self, level: SharingLevel | str) -> None:
        """Check ``level`` (the one in force) without asking for it."""
        self.level_buttons[SharingLevel(level)].setChecked(True)


class ChangeSharingDialog(QtWidgets.QDialog):
    """The sharing bar's "Change what I share…": ``level_chosen(str)`` at each click on another level."""

    level_chosen = QtCore.Signal(str)

    def __init__(self, level: SharingLevel | str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(CHANGE_TITLE)
        layout = QtWidgets.QVBoxLayout(self)
        intro = QtWidgets.QLabel(CHANGE_TEXT)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.choice = LevelChoice("What I share", SharingLevel(level))
        self.choice.level_chosen.connect(self.level_chosen)
        layout.addWidget(self.choice)
        self.close_button = QtWidgets.QPushButton(CLOSE_LABEL)
        self.close_button.clicked.connect(self.accept)
        layout.addWidget(self.close_button, 0, QtCore.Qt.AlignmentFlag.AlignRight)
        self.setMinimumWidth(560)
