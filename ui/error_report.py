"""Errors in the app's handlers: a plain message in the window, the details in a log file.

Qt calls the app's Python handlers (button clicks, shortcuts, the frame timer) from its
event loop. An exception there never reaches the practitioner: Qt prints it on stderr,
which nobody reads, and the click simply seems to do nothing. :func:`install` replaces
``sys.excepthook`` so that such an error

* is shown in the app's window, in plain words ("Something went wrong while pushing an
  exercise to the client view; the session goes on. Details were saved to …"), never
  with a Python exception name;
* is written, with its traceback, to a log file in the user's data folder (mode 0600,
  e.g. ``~/.local/share/somafeedback/logs/errors.log``) and to stderr.

The session carries on: the engine runs on its own thread and is not affected.

Thread: the hook runs on the thread where the error happened; the message is shown only
for errors on the Qt GUI thread (the engine reports its own errors as timeline events).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from PySide6 import QtCore, QtWidgets

# What a handler does, in the practitioner's words, by the handler's function name. The
# outermost handler on the failing call stack names the action.
ACTIONS: dict[str, str] = {
    "_push": "pushing an exercise to the client view",
    "push_exercise": "pushing an exercise to the client view",
    "mark": "adding a marker",
    "_save_note": "saving a note",
    "note": "saving a note",
    "decide": "passing on your decision about the suggestion",
    "toggle_mute": "muting or unmuting the suggestions",
    "set_recording": "starting or stopping the recording",
    "on_frame": "updating the live view",
    "open_review": "opening a session for review",
    "choose_progress_report": "making a progress report",
    "progress_report": "making a progress report",
    "report": "making a session report",
    "choose_report": "making a session report",
    "export": "exporting the session",
    "choose_export": "exporting the session",
    "_switch_to_simulator": "switching to the simulated strap",
    "add_note": "saving a review note",
    "_note_entered": "saving a review note",
}
FALLBACK_ACTION = "handling your last action"
MESSAGE_MS = 60_000  # the message stays a minute (or until the next one)
REPEAT_LOG_S = 30.0  # the same error, again and again (e.g. on every frame): its details once per 30 s


def default_log_path() -> Path:
    """The error log in the user's data folder (e.g. ~/.local/share/somafeedback/logs/errors.log)."""
    from platformdirs import user_data_path

    return user_data_path("somafeedback", appauthor=False) / "logs" / "errors.log"


def action_of(trace: TracebackType | None) -> str:
    """What the app was doing when the error happened, in plain words (from the outermost known handler)."""
    for frame, _ in traceback.walk_tb(trace):
        action = ACTIONS.get(frame.f_code.co_name)
        if action is not None:
            return action
    return FALLBACK_ACTION


def plain_message(action: str, log_path: Path) -> str:
    """The practitioner's message: what failed, that the session goes on, and where the details are."""
    return f"Something went wrong while {action}; the session goes on. Details were saved to {log_path}"


def _target_window() -> QtWidgets.QMainWindow | None:
    """The window to show the message in: the active main window, else the first visible one."""
    active = QtWidgets.QApplication.activeWindow()
    if isinstance(active, QtWidgets.QMainWindow):
        return active
    windows = [w for w in QtWidgets.QApplication.topLevelWidgets()
               if isinstance(w, QtWidgets.QMainWindow) and w.isVisible()]
    return windows[0] if windows else None


class ErrorReporter:
    """The installed hook: logs an uncaught error and shows the plain message (see the module docstring)."""

    def __init__(self, log_path: Path | None = None,
                 show: Callable[[str], None] | None = None) -> None:
        self.log_path = Path(log_path) if log_path is not None else default_log_path()
        self._show = show
        self._previous: Callable[..., object] | None = None
        self._logged: dict[tuple[str, str, int], float] = {}  # (error, file, line) -> when its details were last logged
        self.messages: list[str] = []  # every message shown, newest last

    # -- installing ----------------------------------------------------------------------------------
    def install(self) -> ErrorReporter:
        """Become ``sys.excepthook`` (GUI thread); :meth:`uninstall` puts the previous hook back."""
        self._previous = sys.excepthook
        sys.excepthook = self.hook
        return self

    def uninstall(self) -> None:
        if sys.excepthook == self.hook and self._previous is not None:
            sys.excepthook = self._previous
        self._previous = None

    # -- the hook ----------------------------------------------------------------------------------------
    def hook(self, kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
        """``sys.excepthook``: details to stderr and the log, the plain message to the window."""
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, error, trace)
            return
        details = "".join(traceback.format_exception(kind, error, trace))
        print(details, file=sys.stderr, end="")
        self._write_log(kind, trace, details)
        message = plain_message(action_of(trace), self.log_path)
        self.messages.append(message)
        app = QtWidgets.QApplication.instance()
        if app is None or QtCore.QThread.currentThread() is not app.thread():
            return
        try:
            self.show(message)
        except Exception:  # noqa: BLE001 - the hook itself must never fail
            traceback.print_exc(file=sys.stderr)

    def show(self, message: str) -> None:
        """Show ``message`` in the app (GUI thread): the window's ``show_problem``, else its status bar."""
        if self._show is not None:
            self._show(message)
            return
        window = _target_window()
        if window is None:
            return
        show_problem = getattr(window, "show_problem", None)
        if callable(show_problem):
            show_problem(message)
        else:
            window.statusBar().showMessage(message, MESSAGE_MS)

    def _write_log(self, kind: type[BaseException], trace: TracebackType | None, details: str) -> None:
        """Append the details to the log (0600, its folder 0700); the same error at most every 30 s."""
        last = traceback.extract_tb(trace)[-1] if trace is not None else None
        key = (kind.__qualname__, last.filename, last.lineno or 0) if last is not None else (kind.__qualname__, "", 0)
        now = time.monotonic()
        if now - self._logged.get(key, -REPEAT_LOG_S) < REPEAT_LOG_S:
            return
        self._logged[key] = now
        try:
            self.log_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.chmod(self.log_path, 0o600)
            with os.fdopen(descriptor, "a", encoding="utf-8") as log:
                log.write(f"--- {dt.datetime.now().astimezone().isoformat(timespec='seconds')}\n{details}\n")
        except OSError as problem:
            print(f"somafeedback: could not write the error log {self.log_path}: {problem}", file=sys.stderr)


def install(log_path: Path | None = None) -> ErrorReporter:
    """Install the app's error hook (call once the QApplication exists, GUI thread); returns it."""
    return ErrorReporter(log_path).install()
