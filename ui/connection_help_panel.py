"""Help matched to a connection problem: a calm panel with what was seen, the next steps, and two ways on.

The engine reports trouble three ways: an error that stopped it (``engine-error``, the error kept in
``Engine.error``), a scan that found nothing (a ``scan`` event with no straps) and a strap supervisor's
``connection-problem`` event (made from its link events: a connect that hangs, drops that recur at about
the same interval, raw streams refused). :class:`ProblemWatcher` turns those into a
``somafeedback.devices.connection_problems.Problem``; :class:`ConnectionHelpPanel` shows
``somafeedback.live.connection_help.help_for(problem)`` with "Try again" and "Try without a strap".
:func:`attach` puts both into a window with one call and one call per engine item.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from PySide6 import QtCore, QtWidgets

from somafeedback.devices.connection_problems import Problem, classify_error, problem_of
from somafeedback.live.connection_help import ConnectionHelp, help_for

PANEL_STYLE = "QFrame#connectionHelp { background: #eef4fb; border: 1px solid #b9cfe8; border-radius: 6px; }"
TRY_AGAIN_LABEL = "Try again"
SIMULATOR_LABEL = "Try without a strap"


class ConnectionHelpPanel(QtWidgets.QFrame):
    """Title, what was seen, the next steps for this computer, "Try again" and "Try without a strap".

    Hidden until :meth:`show_help`; either button hides it again before calling back.
    """

    def __init__(self, on_retry: Callable[[], None], on_simulator: Callable[[], None] | None = None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("connectionHelp")
        self.setStyleSheet(PANEL_STYLE)
        self.help: ConnectionHelp | None = None
        layout = QtWidgets.QVBoxLayout(self)
        self.title = QtWidgets.QLabel()
        self.title.setStyleSheet("font-weight: bold; font-size: 12pt;")
        self.title.setWordWrap(True)
        self.cause = QtWidgets.QLabel()
        self.cause.setWordWrap(True)
        self.steps = QtWidgets.QLabel()
        self.steps.setWordWrap(True)
        self.steps.setTextFormat(QtCore.Qt.TextFormat.RichText)
        for label in (self.title, self.cause, self.steps):
            label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(label)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addStretch(1)
        self.retry_button = QtWidgets.QPushButton(TRY_AGAIN_LABEL)
        self.retry_button.clicked.connect(lambda: self._then(on_retry))
        buttons.addWidget(self.retry_button)
        self.simulator_button = QtWidgets.QPushButton(SIMULATOR_LABEL)
        self.simulator_button.setVisible(on_simulator is not None)
        if on_simulator is not None:
            self.simulator_button.clicked.connect(lambda: self._then(on_simulator))
        buttons.addWidget(self.simulator_button)
        layout.addLayout(buttons)
        self.setVisible(False)

    def show_help(self, help_text: ConnectionHelp) -> None:
        """Show ``help_text`` (a ConnectionHelp) and put the keyboard on "Try again"."""
        self.help = help_text
        self.title.setText(help_text.title)
        self.cause.setText(help_text.cause)
        items = "".join(f"<li>{_escape(step)}</li>" for step in help_text.next_steps)
        self.steps.setText(f"<b>What to try</b><ol style='margin-left: 12px'>{items}</ol>" if items else "")
        self.setVisible(True)
        self.retry_button.setFocus()

    def show_problem(self, problem: Problem, platform: str = sys.platform) -> None:
        """Show the help for ``problem`` (a Problem) on ``platform``."""
        self.show_help(help_for(problem, platform))

    def shown_text(self) -> str:
        """Everything the panel says while it shows, else "" (tests, screen readers)."""
        if self.isHidden() or self.help is None:
            return ""
        return "\n".join([self.help.title, self.help.cause, *self.help.next_steps])

    def _then(self, action: Callable[[], None]) -> None:
        self.setVisible(False)
        action()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")




class ProblemWatcher:
    """Turns what the engine reports into a connection Problem (None: nothing to help with): the error that
    stopped it, a scan that found nothing, and the supervisors' ``connection-problem`` events (they watch
    the link events themselves: a connect that hangs, drops that recur at the same interval, PMD refused).

    Thread: the GUI thread, fed each drained item in order.
    """

    def problem_of_error(self, error: BaseException | None) -> Problem | None:
        """The Problem behind the error that stopped the engine (None: not a connection problem)."""
        return None if error is None else classify_error(error)

    def problem_of_item(self, item: object, engine: Any = None) -> Problem | None:
        """The Problem ``item`` shows: an engine error, an empty scan, a strap's problem (None otherwise)."""
        from somafeedback.devices.events import TimelineEvent

        if not isinstance(item, TimelineEvent):
            return None
        if item.kind == "engine-error":
            return self.problem_of_error(getattr(engine, "error", None))
        if item.kind == "scan" and not item.data.get("straps"):
            return Problem.NO_STRAP_FOUND
        return problem_of(item)


class WindowHelp:
    """A window's connection help: the panel (placed by :func:`attach`) and the watcher feeding it."""

    def __init__(self, panel: ConnectionHelpPanel, engine: Callable[[], Any]) -> None:
        self.panel = panel
        self.watcher = ProblemWatcher()
        self._engine = engine
        self.listeners: list[Callable[[object], None]] = []  # others fed every item too (the welcome's scan)
        self.use_strap: Callable[[str], None] = lambda address: None  # a strap picked: set by the attach_* of the window

    def take(self, item: object) -> bool:
        """Feed one engine item; True when it showed help (the window may then skip its own banner)."""
        for listener in self.listeners:
            listener(item)
        problem = self.watcher.problem_of_item(item, self._engine())
        if problem is None:
            return False
        self.panel.show_problem(problem)
        return True


def attach(layout: QtWidgets.QBoxLayout, index: int, engine: Callable[[], Any], on_retry: Callable[[], None],
           on_simulator: Callable[[], None] | None) -> WindowHelp:
    """A help panel inserted into ``layout`` at ``index``, fed by the window's items (``engine()``: the
    window's engine now, for the error that stopped it)."""
    panel = ConnectionHelpPanel(on_retry, on_simulator)
    layout.insertWidget(index, panel)
    return WindowHelp(panel, engine)


def retry_engine(engine: Any, start_new: Callable[[Any], None]) -> None:
    """"Try again": a running engine scans again; a stopped one is rebuilt on the same source and options
    and handed to ``start_new`` (which swaps it in and starts it). Thread: GUI."""
    if engine is None:
        return
    if not engine.finished.is_set():
        engine.scan()
        return
    from somafeedback.live.engine import Engine

    start_new(Engine(engine.source, engine.options, engine.exercises))


def use_strap(engine: Any, address: str, start_new: Callable[[Any], None]) -> None:
    """A strap picked (the welcome opened from Help): a running engine connects to it as strap1; a stopped
    one (no strap was found, say) is rebuilt on that strap, same options, and handed to ``start_new``. Thread: GUI."""
    if engine is None:
        return
    if not engine.finished.is_set():
        engine.connect(address, "strap1")
        return
    start_new(on_strap(engine, address))


def on_strap(engine: Any, address: str) -> Any:
    """A new engine like ``engine`` (same options, not started) on the strap at ``address`` alone."""
    from dataclasses import replace

    from somafeedback.live.engine import Engine

    source = replace(engine.source, simulate=None, replay=None, addresses=(address,), nearby_simulated_straps=0)
    return Engine(source, engine.options, engine.exercises)


def attach_practitioner(window: Any, layout: QtWidgets.QBoxLayout) -> WindowHelp:
    """The practitioner window's help panel, under its banner; "Try again" scans again, or restarts a stopped
    engine on the same source (the client view moves onto its clock)."""
    def start_new(engine: Any) -> None:
        window.engine = engine
        if getattr(window, "client", None) is not None:
            window.client.set_clock(engine.now_s)
        engine.start()

    help_here = attach(layout, layout.count(), lambda: window.engine,
                       lambda: retry_engine(window.engine, start_new), None)
    help_here.use_strap = lambda address: use_strap(window.engine, address, start_new)
    return help_here


def attach_home(window: Any, layout: QtWidgets.QBoxLayout) -> WindowHelp:
    """The home window's help panel, under its banner; "Try again" scans again, or starts the same practice
    on a new engine with the same source (as "Try without a strap" does with the simulated one)."""
    def start_new(engine: Any) -> None:
        window.frame_timer.stop()
        window._practising = False
        window._begin(engine)

    help_here = attach(layout, layout.indexOf(window.banner) + 1, lambda: window.engine,
                       lambda: retry_engine(window.engine, start_new), None)
    help_here.use_strap = lambda address: use_strap(window.engine, address, start_new)
    return help_here
