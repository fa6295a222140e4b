"""On start (practitioner mode): a remote session the app did not end (a crash, a power cut), offered once.

The engine keeps a paired remote session's state in ``remote-sessions/`` of the data folder while it
lasts (:mod:`somafeedback.remote.host_state`) and removes it at a normal end, so a state found there is
a session that was interrupted. When it is younger than the relay keeps a session's messages, the app
asks in words (the pattern of :mod:`.interrupted_recordings`): "Rejoin" swaps the window onto an engine
that comes back to it (no code; what the client sent meanwhile follows; a new recording continues the
earlier one), "Not now" asks again at the next start, "Forget it" removes the saved state (and with it
the session's keys) for good.

Thread: the GUI thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from PySide6 import QtCore, QtWidgets

from somafeedback.remote.host_state import HostState, SessionGone, load_state, newest_state, state_folder
from somafeedback.remote.stream import STREAM_MAX_AGE_S

REJOIN_TEXT: Final = "Rejoin"
NOT_NOW_TEXT: Final = "Not now"
FORGET_TEXT: Final = "Forget it"


def ago_text(seconds: float) -> str:
    """How long ago, in words ("less than a minute ago", "3 minutes ago", "1 hour 5 minutes ago")."""
    minutes = int(max(0.0, seconds) // 60)
    if minutes < 1:
        return "less than a minute ago"
    hours, minutes = divmod(minutes, 60)
    parts = ([f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []) + (
        [f"{minutes} minute{'s' if minutes != 1 else ''}"] if minutes or not hours else [])
    return " ".join(parts) + " ago"


def interrupted_remote_session(folder: Path, now_wall: float) -> tuple[Path, HostState] | None:
    """The newest saved remote session in ``folder`` the relay may still hold, with its state; None otherwise
    (an unreadable state is left as it is: ``remote host --rejoin`` says why)."""
    path = newest_state(folder)
    if path is None:
        return None
    try:
        state = load_state(path)
    except SessionGone:
        return None
    if now_wall - state.saved_wall > STREAM_MAX_AGE_S:
        return None
    return path, state


class RemoteRejoinBox(QtWidgets.QMessageBox):
    """The offer to rejoin one interrupted remote session; modeless (the window stays usable)."""

    def __init__(self, path: Path, state: HostState, now_wall: float, rejoin: Callable[[Path, HostState], None],
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.path, self.state = path, state
        self.setWindowTitle("An interrupted remote session")
        self.setIcon(QtWidgets.QMessageBox.Icon.Question)
        self.setText(f"A remote session with your client was interrupted {ago_text(now_wall - state.saved_wall)}. "
                     "Rejoin it?")
        self.setInformativeText("Rejoining goes on with the same session: no new code is needed, and what your "
                                "client's app sent meanwhile follows. A new recording continues the earlier one.")
        self.rejoin_button = self.addButton(REJOIN_TEXT, QtWidgets.QMessageBox.ButtonRole.AcceptRole)
        self.not_now_button = self.addButton(NOT_NOW_TEXT, QtWidgets.QMessageBox.ButtonRole.RejectRole)
        self.forget_button = self.addButton(FORGET_TEXT, QtWidgets.QMessageBox.ButtonRole.DestructiveRole)
        self.setDefaultButton(self.rejoin_button)
        self.setWindowModality(QtCore.Qt.WindowModality.NonModal)
        self.rejoin_button.clicked.connect(lambda: rejoin(self.path, self.state))
        self.forget_button.clicked.connect(lambda: self.path.unlink(missing_ok=True))  # its keys leave the disk


def offer_to_rejoin(parent: QtWidgets.QWidget, rejoin: Callable[[Path, HostState], None],
                    folder: Path | None = None, now_wall: Callable[[], float] = time.time) -> RemoteRejoinBox | None:
    """Show the offer when an interrupted remote session may be rejoined; None (nothing shown) otherwise."""
    found = interrupted_remote_session(folder or state_folder(), now_wall())
    if found is None:
        return None
    box = RemoteRejoinBox(*found, now_wall(), rejoin, parent)
    box.open()
    return box
