"""The session's method (SE, Focusing, CSE) in the practitioner's side panel: a choice and what it does.

Thread: the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtWidgets

from somafeedback.regulation.methods import POLICIES, Method

TITLE = "Method"


class MethodBox(QtWidgets.QGroupBox):
    """A combo box of the methods with the chosen one's description; ``on_change(method)`` on a choice."""

    def __init__(self, method: str, on_change: Callable[[str], None],
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(TITLE, parent)
        self._on_change = on_change
        layout = QtWidgets.QVBoxLayout(self)
        self.combo = QtWidgets.QComboBox()
        for m in Method:
            self.combo.addItem(f"{POLICIES[m].title} ({m.value})" if m.value != POLICIES[m].title else m.value, m.value)
        self.combo.setToolTip("Chosen per session; the client's default is kept for their next session")
        self.description = QtWidgets.QLabel()
        self.description.setWordWrap(True)
        layout.addWidget(self.combo)
        layout.addWidget(self.description)
        self.show_method(method)
        self.combo.currentIndexChanged.connect(self._chosen)

    @property
    def method(self) -> str:
        return str(self.combo.currentData())

    def show_method(self, method: str) -> None:
        """Show ``method`` as chosen (e.g. from the session's ``method`` event) without calling back."""
        chosen = Method.parse(method)
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(self.combo.findData(chosen.value))
        self.combo.blockSignals(False)
        self.description.setText(POLICIES[chosen].description)

    def _chosen(self, _index: int) -> None:
        self.description.setText(POLICIES[Method.parse(self.method)].description)
        self._on_change(self.method)
