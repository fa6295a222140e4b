"""On start: recordings a crash or power cut interrupted, and the offer to finish their files.

Reading never changes a session, so the app does not merge an interrupted recording's side file
by itself: it says which recordings ended unexpectedly (everything received until then is kept
and reads as it is) and offers to make each one a single, self-contained file
(:func:`somafeedback.sessions.repair.repair_session`, the same step as ``somafeedback sessions
repair``). "Later" leaves everything as it is and asks again on the next start.

Thread: the GUI thread.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from somafeedback.sessions.file import SessionFileError, read_manifest
from somafeedback.sessions.opening import open_read_only
from somafeedback.sessions.repair import interrupted_recordings, repair_session

FINISH_TEXT = "Finish them now"
LATER_TEXT = "Later"


def _label(path: Path) -> str:
    """When it was recorded and for whom, as a therapist knows the session."""
    try:
        with open_read_only(path) as opened:
            manifest = read_manifest(opened.db, path)
    except Exception:  # noqa: BLE001 - the file name is a label too
        return path.name
    started = manifest.get("started_wall")
    when = (dt.datetime.fromtimestamp(started).astimezone().strftime("%d %b %Y, %H:%M")
            if isinstance(started, (int, float)) else path.name)
    client = manifest.get("client")
    return f"{when}{f' ({client})' if isinstance(client, str) and client else ''}"


class InterruptedRecordingsBox(QtWidgets.QMessageBox):
    """The offer for the interrupted recordings of one library; modeless (the window stays usable)."""

    finished_repairs = QtCore.Signal(list)  # the one-line results, once "Finish them now" has run

    def __init__(self, paths: list[Path], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.paths = list(paths)
        self.results: list[str] = []
        self.setWindowTitle("Recordings that ended unexpectedly")
        self.setIcon(QtWidgets.QMessageBox.Icon.Information)
        count = len(self.paths)
        listed = "\n".join(f"  • {_label(path)}" for path in self.paths)
        self.setText(f"{count} recording{'s' if count != 1 else ''} ended unexpectedly: the computer or the app "
                     f"stopped while recording.\n\n{listed}\n\nEverything received until then is kept and can be "
                     "reviewed as it is.")
        self.setInformativeText("Finishing makes each one a single, self-contained file (recommended before you "
                                "copy or back it up). It does not change what was recorded.")
        self.finish_button = self.addButton(FINISH_TEXT, QtWidgets.QMessageBox.ButtonRole.AcceptRole)
        self.later_button = self.addButton(LATER_TEXT, QtWidgets.QMessageBox.ButtonRole.RejectRole)
        self.setDefaultButton(self.later_button)
        self.setWindowModality(QtCore.Qt.WindowModality.NonModal)
        self.finish_button.clicked.connect(self._finish)

    def _finish(self) -> None:
        for path in self.paths:
            try:
                self.results.append(repair_session(path))
            except SessionFileError as error:
                self.results.append(f"{path.name}: not finished: {error}")
        self.finished_repairs.emit(list(self.results))


def offer_to_finish(parent: QtWidgets.QWidget, library: Path) -> InterruptedRecordingsBox | None:
    """Show the offer when the library holds interrupted recordings; None (nothing shown) otherwise.
    The results of finishing go to the window's status bar when it has one."""
    paths = interrupted_recordings(library) if library.is_dir() else []
    if not paths:
        return None
    box = InterruptedRecordingsBox(paths, parent)
    status = getattr(parent, "statusBar", None)
    if callable(status):
        box.finished_repairs.connect(lambda lines: status().showMessage(
            f"Finished {sum('merged' in line for line in lines)} of {len(lines)} interrupted recording(s).", 20000))
    box.open()
    return box
