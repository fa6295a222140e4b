"""The client's "Join my practitioner's session" dialog: address, code, what to share, then the words to check.

Pages: *form* (the relay address the practitioner gave, remembered; the code as read out, checked with
:func:`~somafeedback.remote.codes.parse_code` before any network; four sharing levels with their
descriptions: :class:`~ui.remote_sharing.LevelChoice`), *connecting*,
*check* (the words the practitioner should see, "Start sharing" / "Not now") and *failed* (the reason in
words, "Try again"). The dialog only asks: the window joins (signal ``join_requested``) and tells it
the outcome (:meth:`show_paired`, :meth:`show_failed`).

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from typing import Final

from PySide6 import QtCore, QtWidgets

from somafeedback.remote.codes import PairingError, parse_code
from somafeedback.remote.consent import DEFAULT_REQUEST, SharingLevel

from .remote_sharing import LevelChoice

TITLE: Final = "Join my practitioner's session"
RELAY_LABEL: Final = "The relay address your practitioner gave you"
CODE_LABEL: Final = "The code your practitioner reads out (for example 7 amber harbor)"
SHARE_LABEL: Final = "What to share (you can pause or stop sharing at any time)"
JOIN_LABEL: Final = "Join"
CONNECTING_TEXT: Final = "Connecting…"
CHECK_TEXT: Final = ("Your practitioner should see the words “{words}”: if they do, choose Start sharing. "
                     "If they see other words, choose Not now.")
START_LABEL: Final = "Start sharing"
NOT_NOW_LABEL: Final = "Not now"
AGAIN_LABEL: Final = "Try again"
NO_RELAY_TEXT: Final = "Please enter the relay address your practitioner gave you."
BAD_CODE_TEXT: Final = "This code could not be read: {reason}. Please check it with your practitioner."
PAGES: Final = ("form", "connecting", "check", "failed")


class RemoteJoinDialog(QtWidgets.QDialog):
    """Asks the client how to join; signals ``join_requested(relay, code, level)``, ``start_sharing()``,
    ``not_now()``. ``relay`` is the address remembered from last time."""

    join_requested = QtCore.Signal(str, str, str)
    start_sharing = QtCore.Signal()
    not_now = QtCore.Signal()

    def __init__(self, relay: str = "", parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.pages = QtWidgets.QStackedWidget()
        for build in (self._form_page, self._connecting_page, self._check_page, self._failed_page):
            self.pages.addWidget(build())
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.pages)
        self.relay_edit.setText(relay)
        self.resize(620, 520)

    def _form_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(page)
        layout.addWidget(QtWidgets.QLabel(RELAY_LABEL))
        self.relay_edit = QtWidgets.QLineEdit()
        self.relay_edit.setPlaceholderText("relay.example.org")
        layout.addWidget(self.relay_edit)
        layout.addWidget(QtWidgets.QLabel(CODE_LABEL))
        self.code_edit = QtWidgets.QLineEdit()
        self.code_edit.returnPressed.connect(self._join)
        layout.addWidget(self.code_edit)
        share = LevelChoice(SHARE_LABEL, DEFAULT_REQUEST)
        self.level_buttons = share.level_buttons
        self.level_choice = share
        layout.addWidget(share)
        self.form_message = QtWidgets.QLabel()
        self.form_message.setWordWrap(True)
        layout.addWidget(self.form_message)
        self.join_button = QtWidgets.QPushButton(JOIN_LABEL)
        self.join_button.setDefault(True)
        self.join_button.clicked.connect(self._join)
        layout.addWidget(self.join_button, 0, QtCore.Qt.AlignmentFlag.AlignRight)
        return page

    def _connecting_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(page)
        self.connecting_label = QtWidgets.QLabel(CONNECTING_TEXT)
        layout.addWidget(self.connecting_label, 1, QtCore.Qt.AlignmentFlag.AlignCenter)
        return page

    def _check_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(page)
        self.check_label = QtWidgets.QLabel()
        self.check_label.setWordWrap(True)
        font = self.check_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.check_label.setFont(font)
        layout.addWidget(self.check_label, 1)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addStretch(1)
        self.not_now_button = QtWidgets.QPushButton(NOT_NOW_LABEL)
        self.not_now_button.clicked.connect(self.reject)
        self.start_button = QtWidgets.QPushButton(START_LABEL)
        self.start_button.clicked.connect(self._start)
        buttons.addWidget(self.not_now_button)
        buttons.addWidget(self.start_button)
        layout.addLayout(buttons)
        return page

    def _failed_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(page)
        self.failed_label = QtWidgets.QLabel()
        self.failed_label.setWordWrap(True)
        layout.addWidget(self.failed_label, 1)
        self.again_button = QtWidgets.QPushButton(AGAIN_LABEL)
        self.again_button.clicked.connect(lambda: self.pages.setCurrentIndex(0))
        layout.addWidget(self.again_button, 0, QtCore.Qt.AlignmentFlag.AlignRight)
        return page

    # --- what the client sees -----------------------------------------------------------------------

    def current_page(self) -> str:
        return PAGES[self.pages.currentIndex()]

    def chosen_level(self) -> SharingLevel:
        return self.level_choice.chosen_level()

    def form_message_text(self) -> str:
        return self.form_message.text()

    def _join(self) -> None:
        """Check what was typed (no network); then ask the window to join."""
        relay, typed = self.relay_edit.text().strip(), self.code_edit.text().strip()
        if not relay:
            self.form_message.setText(NO_RELAY_TEXT)
            return
        try:
            code = parse_code(typed)
        except PairingError as error:
            self.form_message.setText(BAD_CODE_TEXT.format(reason=str(error).rstrip(".")))
            return
        self.form_message.setText("")
        self.pages.setCurrentIndex(1)
        self.join_requested.emit(relay, str(code), str(self.chosen_level()))

    def show_paired(self, confirmation: str) -> None:
        self.check_label.setText(CHECK_TEXT.format(words=confirmation))
        self.pages.setCurrentIndex(2)

    def show_failed(self, text: str) -> None:
        self.failed_label.setText(f"Joining did not work: {text}")
        self.pages.setCurrentIndex(3)

    def _start(self) -> None:
        self.start_sharing.emit()
        self.accept()

    def reject(self) -> None:
        """"Not now" or the dialog closed before sharing started: the window leaves (Qt's slot)."""
        self.not_now.emit()
        super().reject()
