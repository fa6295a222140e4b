"""The first start's welcome: who is using the app, where recordings are kept, and connecting a strap.

Shown once, when the settings are empty (:func:`needs_welcome`); a returning user never sees it unless
they open it from Help ("Welcome and first steps…"). What it keeps: the mode the app starts in next
time (``app/start_mode``), the recordings folder (made private, 0700), and that it was done
(``welcome/done``). "Connect your strap" scans with the engine's scan (:func:`somafeedback.live.sources.scan`)
on a thread of its own and lists the straps, strongest signal first; "Try without a strap" picks the
simulated strap. A scan that finds nothing, or cannot start, shows the matching connection help.

Thread: the Qt GUI thread (the scan runs on its own thread and reports through a queued signal).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from PySide6 import QtCore, QtGui, QtWidgets

from somafeedback.devices.connection_problems import Problem

from .connection_help_panel import ConnectionHelpPanel, ProblemWatcher
from .settings import AppSettings
from .strap_scanner import EngineScanner, Scanner, StrapScanner

WELCOME_DONE_KEY: Final = "welcome/done"
START_MODE_KEY: Final = "app/start_mode"
START_MODES: Final = (  # (mode, what the welcome shows)
    ("practitioner", "A practitioner, in a session with a client"),
    ("home", "Someone practising at home"),
    ("review", "Someone reviewing recordings"),
)
STRAP_LIST_MAX_PX: Final = 140  # px; room for five straps
WELCOME_SIZE: Final = (640, 560)  # px; fits a 1366×768 screen with room for the title bar and panel
PRIVACY_NOTE: Final = ("Recordings stay on this computer. The folder and its files can be read only by your "
                       "user account.")
PICK_NOTE: Final = ("Wet the strap's electrodes and put it on. The strap nearest this computer usually has the "
                    "strongest signal (the number closest to zero).")
MENU_LABEL: Final = "Welcome and first steps…"


def needs_welcome(settings: AppSettings) -> bool:
    """True on a first start: no settings at all yet (a returning user's settings say otherwise)."""
    store = settings.store
    return not store.contains(WELCOME_DONE_KEY) and not store.allKeys()


def start_mode(settings: AppSettings) -> str:
    """The mode the app opens in when none is asked for: practitioner (default), home or review."""
    mode = str(settings.store.value(START_MODE_KEY, "practitioner"))
    return mode if mode in dict(START_MODES) else "practitioner"


@dataclass(frozen=True)
class WelcomeChoice:
    """What the welcome settled: the mode, the folder, and the strap (an address, the simulator, or neither)."""

    mode: str
    recordings: Path
    simulate: bool = False
    address: str | None = None


def apply_choice(args: argparse.Namespace, choice: WelcomeChoice) -> None:
    """Set the app's parsed options from a first-start choice (the strap picked, or the simulated one)."""
    args.mode = "home" if choice.mode == "home" else "practitioner"
    if choice.simulate:
        args.simulate, args.address = "calm", []
    elif choice.address:
        args.address = [choice.address]


def strap_text(strap: dict[str, Any]) -> str:
    """One found strap in a line: its name, its signal strength in dBm, its address."""
    rssi = strap.get("rssi")
    signal = f"signal {rssi} dBm" if rssi is not None else "signal unknown"
    return f"{strap.get('name') or 'Unnamed strap'} — {signal} — {strap.get('address')}"


class WelcomeDialog(QtWidgets.QDialog):
    """The welcome: three short parts, then "Start" (or "Not now"); :attr:`choice` says what was chosen."""

    def __init__(self, settings: AppSettings, scanner: Scanner | None = None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to somafeedback")
        self.settings = settings
        self.choice: WelcomeChoice | None = None
        self.scanner = scanner or StrapScanner(parent=self)
        self.scanner.done.connect(self.show_scan)
        self._watcher = ProblemWatcher()
        layout = QtWidgets.QVBoxLayout(self)
        intro = QtWidgets.QLabel("<b>Welcome.</b> Three short questions to set things up. You can change each "
                                 "later in Settings, and see this again from Help.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(self._who_box())
        layout.addWidget(self._folder_box())
        layout.addWidget(self._strap_box(), 1)
        buttons = QtWidgets.QHBoxLayout()
        self.later_button = QtWidgets.QPushButton("Not now")
        self.later_button.setToolTip("Close the welcome; it stays in Help")
        self.later_button.clicked.connect(self.reject)
        self.start_button = QtWidgets.QPushButton("Start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(lambda: self.finish())
        buttons.addWidget(self.later_button)
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)
        layout.addLayout(buttons)
        self.resize(*WELCOME_SIZE)

    def _who_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Who is using it?")
        row = QtWidgets.QVBoxLayout(box)
        self.mode_buttons: dict[str, QtWidgets.QRadioButton] = {}
        current = start_mode(self.settings)
        for mode, text in START_MODES:
            button = QtWidgets.QRadioButton(text)
            button.setChecked(mode == current)
            self.mode_buttons[mode] = button
            row.addWidget(button)
        return box

    def _folder_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Where are recordings kept?")
        column = QtWidgets.QVBoxLayout(box)
        row = QtWidgets.QHBoxLayout()
        self.folder = QtWidgets.QLineEdit(str(self.settings.recordings))
        self.folder.setAccessibleName("Recordings folder")
        change = QtWidgets.QPushButton("Change…")
        change.clicked.connect(self._choose_folder)
        row.addWidget(self.folder, 1)
        row.addWidget(change)
        column.addLayout(row)
        note = QtWidgets.QLabel(PRIVACY_NOTE)
        note.setWordWrap(True)
        column.addWidget(note)
        self.folder_problem = QtWidgets.QLabel()
        self.folder_problem.setWordWrap(True)
        self.folder_problem.setStyleSheet("color: #8a4b00;")
        self.folder_problem.setVisible(False)
        column.addWidget(self.folder_problem)
        return box

    def _strap_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Connect your strap")
        column = QtWidgets.QVBoxLayout(box)
        note = QtWidgets.QLabel(PICK_NOTE)
        note.setWordWrap(True)
        column.addWidget(note)
        row = QtWidgets.QHBoxLayout()
        self.scan_button = QtWidgets.QPushButton("Look for straps")
        self.scan_button.clicked.connect(self.scan)
        self.scan_state = QtWidgets.QLabel()
        row.addWidget(self.scan_button)
        row.addWidget(self.scan_state, 1)
        column.addLayout(row)
        self.straps = QtWidgets.QListWidget()
        self.straps.setAccessibleName("Straps found")
        self.straps.setMinimumHeight(60)
        self.straps.setMaximumHeight(STRAP_LIST_MAX_PX)
        self.straps.itemActivated.connect(lambda _item: self.use_selected())
        column.addWidget(self.straps, 1)
        self.help_panel = ConnectionHelpPanel(self.scan, self.try_without_strap)
        column.addWidget(self.help_panel)
        picks = QtWidgets.QHBoxLayout()
        self.use_button = QtWidgets.QPushButton("Use this strap")
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self.use_selected)
        self.straps.currentItemChanged.connect(lambda item, _old: self.use_button.setEnabled(
            item is not None and bool(item.data(QtCore.Qt.ItemDataRole.UserRole))))
        self.simulator_button = QtWidgets.QPushButton("Try without a strap")
        self.simulator_button.setToolTip("A simulated strap: everything works, with made-up data")
        self.simulator_button.clicked.connect(self.try_without_strap)
        picks.addWidget(self.use_button)
        picks.addStretch(1)
        picks.addWidget(self.simulator_button)
        column.addLayout(picks)
        return box

    # -- the scan ------------------------------------------------------------------------------
    def scan(self) -> None:
        """"Look for straps" (and the help's "Try again")."""
        self.help_panel.setVisible(False)
        self.straps.clear()
        self.scan_state.setText(f"Looking for straps ({self.scanner.timeout_s:.0f} s)…")
        self.scan_button.setEnabled(False)
        self.scanner.start()

    def show_scan(self, straps: list[dict[str, Any]], error: BaseException | None = None) -> None:
        """The scan's result: the straps, strongest signal first, the first one selected; or the help."""
        self.scan_button.setEnabled(True)
        self.straps.clear()
        for strap in straps:
            item = QtWidgets.QListWidgetItem(strap_text(strap))
            item.setData(QtCore.Qt.ItemDataRole.UserRole, strap["address"])
            self.straps.addItem(item)
        if straps:
            self.straps.setCurrentRow(0)
            self.scan_state.setText(f"{len(straps)} found. Pick the one to use.")
            return
        self.scan_state.setText("No strap found." if error is None else "The search could not start.")
        problem = self._watcher.problem_of_error(error) if error is not None else None
        problem = problem if problem is not None else Problem.NO_STRAP_FOUND
        if problem is not None:
            self.help_panel.show_problem(problem)

    def found(self) -> list[str]:
        """The lines of the straps listed now."""
        return [self.straps.item(row).text() for row in range(self.straps.count())]

    # -- the choices ---------------------------------------------------------------------------
    def chosen_mode(self) -> str:
        return next((mode for mode, button in self.mode_buttons.items() if button.isChecked()), "practitioner")

    def use_selected(self) -> None:
        item = self.straps.currentItem()
        address = item.data(QtCore.Qt.ItemDataRole.UserRole) if item is not None else None
        if address:
            self.finish(address=str(address))

    def try_without_strap(self) -> None:
        self.finish(simulate=True)

    def finish(self, simulate: bool = False, address: str | None = None) -> None:
        """Keep the choices and close; a folder that cannot be made private keeps the dialog open, saying why."""
        from somafeedback.sessions.private import private_folder

        folder = Path(self.folder.text().strip()).expanduser()
        try:
            private_folder(folder)
        except OSError as error:
            self.folder_problem.setText(f"This folder cannot be used: {error.strerror or error}. Choose another.")
            self.folder_problem.setVisible(True)
            self.folder.setFocus()
            return
        mode = self.chosen_mode()
        self.settings.set("recordings/folder", str(folder))
        self.settings.set(START_MODE_KEY, mode)
        self.settings.set(WELCOME_DONE_KEY, True)
        self.choice = WelcomeChoice(mode, folder, simulate=simulate, address=address)
        self.accept()

    def reject(self) -> None:
        """"Not now" or Escape: nothing changes, and the welcome does not come back by itself."""
        self.settings.set(WELCOME_DONE_KEY, True)
        super().reject()

    def _choose_folder(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Where to keep recordings", self.folder.text())
        if path:
            self.folder.setText(path)
            self.folder_problem.setVisible(False)


def mode_given(argv: Sequence[str]) -> bool:
    """Whether the command line names a mode (``--mode home``, ``--mode=home``)."""
    return any(arg == "--mode" or arg.startswith("--mode=") for arg in argv)


def run_first_start(args: argparse.Namespace, settings: AppSettings, mode_given: bool,
                    scanner: StrapScanner | None = None) -> bool:
    """On a first start with no source or mode asked for, show the welcome and apply what was chosen;
    without ``--mode`` (``mode_given`` False) the mode then comes from the settings. True: the user reviews
    recordings (the app offers to open one). Thread: GUI, before any window is built (the dialog is modal).
    """
    asked = bool(args.replay or args.simulate or args.address or mode_given or args.quit_after is not None)
    if needs_welcome(settings) and not asked:
        dialog = WelcomeDialog(settings, scanner)
        dialog.exec()
        if dialog.choice is not None:
            apply_choice(args, dialog.choice)
            return dialog.choice.mode == "review"
    if mode_given:
        return False
    args.mode = "home" if start_mode(settings) == "home" else "practitioner"
    return start_mode(settings) == "review"


def open_from_help(parent: QtWidgets.QWidget, settings: AppSettings, on_simulator: Any = None,
                   on_strap: Any = None) -> WelcomeDialog:
    """Help → "Welcome and first steps…": the welcome again; a strap picked goes to ``on_strap(address)``,
    "Try without a strap" to ``on_simulator()``. A window with a running engine and connection help
    (``parent.engine``, ``parent.connection_help``) scans with that engine. Thread: GUI."""
    help_feed = getattr(parent, "connection_help", None)
    scanner: Scanner | None = None
    if help_feed is not None and getattr(parent, "engine", None) is not None:
        engine_scanner = EngineScanner(lambda: getattr(parent, "engine", None))
        help_feed.listeners.append(engine_scanner.feed)
        scanner = engine_scanner
    dialog = WelcomeDialog(settings, scanner, parent=parent)
    dialog.setModal(True)
    if scanner is not None and help_feed is not None:
        dialog.finished.connect(lambda _result: help_feed.listeners.remove(engine_scanner.feed))

    def chosen() -> None:
        choice = dialog.choice
        if choice is not None and choice.simulate and on_simulator is not None:
            on_simulator()
        elif choice is not None and choice.address and on_strap is not None:
            on_strap(choice.address)

    dialog.accepted.connect(chosen)
    dialog.show()
    return dialog


def add_help_action(menu: QtWidgets.QMenu, window: QtWidgets.QWidget, settings: AppSettings | None,
                    on_simulator: Any = None, on_strap: Any = None) -> QtGui.QAction | None:
    """Help → "Welcome and first steps…" in ``window``'s menu (the dialog is kept on ``window.welcome``)."""
    if settings is None:
        return None

    def show() -> None:
        window.welcome = open_from_help(window, settings, on_simulator, on_strap)  # type: ignore[attr-defined]

    return menu.addAction(MENU_LABEL, show)
