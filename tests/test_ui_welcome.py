"""The first start's welcome and the connection help panel (#20), with real widgets driven by clicks and keys."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest

from somafeedback.devices.connection_problems import Problem
from somafeedback.live.connection_help import help_for
from somafeedback.live.sources import StrapSource
from somafeedback.regulation.exercises import load_exercises
from somafeedback.ui.app import build_parser, build_practitioner_app
from somafeedback.ui.settings import AppSettings
from somafeedback.ui.strap_scanner import StrapScanner
from somafeedback.ui.welcome import MENU_LABEL, WelcomeDialog, apply_choice, needs_welcome, run_first_start

from practitioner_app import practitioner_app

WAIT_MS = 30_000  # ms; bounded waits for a scan or a simulated strap (generous for a busy 2-core machine)
CLICK = QtCore.Qt.MouseButton.LeftButton


def _settings(tmp_path: Path) -> AppSettings:
    return AppSettings(QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat))


def _nearby_scanner(straps: int) -> StrapScanner:
    """A scanner on the simulator's radio, where ``straps`` simulated straps only advertise."""
    return StrapScanner(StrapSource(simulate="calm", simulated_straps=0, nearby_simulated_straps=straps), timeout_s=2.0)


def _answer_modal_welcome(answer: Any) -> tuple[list[WelcomeDialog], QtCore.QTimer]:
    """Poll (a timer) for a modal welcome and hand it to ``answer``; the dialogs seen, and the timer to keep."""
    seen: list[WelcomeDialog] = []

    def look() -> None:
        for widget in QtWidgets.QApplication.topLevelWidgets():
            if isinstance(widget, WelcomeDialog) and widget.isVisible() and widget not in seen:
                seen.append(widget)
                answer(widget)
        if poll.property("ticks") is not None and int(poll.property("ticks")) * 20 > WAIT_MS:
            for dialog in seen:  # a bounded wait: never a hang
                dialog.reject()
        poll.setProperty("ticks", int(poll.property("ticks") or 0) + 1)

    poll = QtCore.QTimer()
    poll.timeout.connect(look)
    poll.start(20)
    return seen, poll


def test_first_start_welcome_sets_home_mode_for_the_next_start_which_skips_it(qtbot, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert needs_welcome(settings)

    def choose_home(dialog: WelcomeDialog) -> None:
        assert dialog.height() <= 700 and dialog.width() <= 1366  # fits 1366×768 with the title bar and panel
        dialog.folder.setText(str(tmp_path / "recordings"))
        home = dialog.mode_buttons["home"]
        QTest.mouseClick(home, CLICK, pos=QtCore.QPoint(8, home.height() // 2))  # on its round button
        QTest.keyClick(dialog.start_button, QtCore.Qt.Key.Key_Return)

    args = build_parser().parse_args([])
    seen, poll = _answer_modal_welcome(choose_home)
    run_first_start(args, settings, mode_given=False)
    poll.stop()
    assert len(seen) == 1 and args.mode == "home"

    again = _settings(tmp_path)  # the next start: the welcome does not open, home mode does
    assert not needs_welcome(again)
    later = build_parser().parse_args([])
    unseen, poll = _answer_modal_welcome(lambda dialog: dialog.reject())
    run_first_start(later, again, mode_given=False)
    poll.stop()
    assert len(unseen) == 0 and later.mode == "home"


def test_a_returning_user_is_not_shown_the_welcome(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings.set("people/practitioner", "Sam")  # settings from before the welcome existed
    assert not needs_welcome(settings)
    args = build_parser().parse_args([])
    assert run_first_start(args, settings, mode_given=False) is False and args.mode == "practitioner"


def test_the_recordings_folder_chosen_persists_and_is_made_private(qtbot, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    dialog = WelcomeDialog(settings, _nearby_scanner(0))
    qtbot.addWidget(dialog)
    dialog.show()
    folder = tmp_path / "practice" / "recordings"
    dialog.folder.selectAll()
    QTest.keyClicks(dialog.folder, str(folder))
    QTest.mouseClick(dialog.start_button, CLICK)
    assert dialog.result() == QtWidgets.QDialog.DialogCode.Accepted
    assert folder.is_dir() and stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert _settings(tmp_path).recordings == folder


def test_the_scan_lists_the_simulated_nearby_straps_with_their_signal_strength(qtbot, tmp_path: Path) -> None:
    dialog = WelcomeDialog(_settings(tmp_path), _nearby_scanner(2))
    qtbot.addWidget(dialog)
    dialog.show()
    QTest.mouseClick(dialog.scan_button, CLICK)
    qtbot.waitUntil(lambda: len(dialog.found()) == 2, timeout=WAIT_MS)
    assert all("dBm" in line and "signal" in line for line in dialog.found())
    assert dialog.use_button.isEnabled()
    address = dialog.straps.currentItem().data(QtCore.Qt.ItemDataRole.UserRole)
    QTest.mouseClick(dialog.use_button, CLICK)  # the strongest is picked first
    assert dialog.choice is not None and dialog.choice.address == address


def test_try_without_a_strap_starts_the_simulated_strap(qtbot, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    dialog = WelcomeDialog(settings, _nearby_scanner(0))
    qtbot.addWidget(dialog)
    dialog.show()
    QTest.mouseClick(dialog.simulator_button, CLICK)
    assert dialog.choice is not None and dialog.choice.simulate
    args = build_parser().parse_args(["--speed", "max"])
    apply_choice(args, dialog.choice)
    built = build_practitioner_app(args, settings, load_exercises())
    qtbot.addWidget(built.window)
    built.window.show()
    built.engine.start()
    try:
        qtbot.waitUntil(lambda: built.window.devices.cell("strap1", "link").startswith("streaming"), timeout=WAIT_MS)
        assert built.engine.source.simulate == "calm"
    finally:
        built.engine.stop()


def test_help_reopens_the_welcome_which_scans_with_the_running_engine(qtbot, tmp_path: Path) -> None:
    built = practitioner_app(qtbot, tmp_path)  # the simulated demo: one more strap advertises nearby
    try:
        window = built.window
        qtbot.waitUntil(lambda: window.devices.cell("strap1", "link").startswith("streaming"), timeout=WAIT_MS)
        (action,) = [a for menu in window.menuBar().findChildren(QtWidgets.QMenu) for a in menu.actions()
                     if a.text() == MENU_LABEL]
        action.trigger()
        qtbot.waitUntil(lambda: getattr(window, "welcome", None) is not None and window.welcome.isVisible(),
                        timeout=WAIT_MS)
        QTest.mouseClick(window.welcome.scan_button, CLICK)
        qtbot.waitUntil(lambda: len(window.welcome.found()) == 1, timeout=WAIT_MS)
        assert "dBm" in window.welcome.found()[0]
        QTest.keyClick(window.welcome, QtCore.Qt.Key.Key_Escape)  # "Not now" from the keyboard
        assert not window.welcome.isVisible()
    finally:
        built.engine.stop()


def test_the_help_panel_shows_the_problem_and_try_again_scans_again(qtbot, tmp_path: Path) -> None:
    built = practitioner_app(qtbot, tmp_path)  # the simulated demo: one more strap advertises nearby
    try:
        window = built.window
        qtbot.waitUntil(lambda: window.devices.cell("strap1", "link").startswith("streaming"), timeout=WAIT_MS)
        panel = window.connection_help.panel
        shown = help_for(Problem.NO_STRAP_FOUND)
        panel.show_problem(Problem.NO_STRAP_FOUND)
        assert shown.title in panel.shown_text() and all(step in panel.shown_text() for step in shown.next_steps)
        QTest.mouseClick(panel.retry_button, CLICK)
        assert panel.isHidden()
        qtbot.waitUntil(lambda: window.devices.found.count() >= 1
                        and "dBm" in window.devices.found.item(0).text(), timeout=WAIT_MS)
    finally:
        built.engine.stop()


def test_a_scan_that_finds_nothing_shows_the_no_strap_help(qtbot, tmp_path: Path) -> None:
    dialog = WelcomeDialog(_settings(tmp_path), _nearby_scanner(0))
    qtbot.addWidget(dialog)
    dialog.show()
    QTest.mouseClick(dialog.scan_button, CLICK)
    qtbot.waitUntil(lambda: dialog.help_panel.isVisible(), timeout=WAIT_MS)
    assert help_for(Problem.NO_STRAP_FOUND).title in dialog.help_panel.shown_text()
    QTest.mouseClick(dialog.help_panel.simulator_button, CLICK)
    assert dialog.choice is not None and dialog.choice.simulate


def _welcome_from_help(qtbot, window: QtWidgets.QMainWindow) -> WelcomeDialog:
    """Help → "Welcome and first steps…" in ``window``: the welcome shown."""
    (action,) = [a for menu in window.menuBar().findChildren(QtWidgets.QMenu) for a in menu.actions()
                 if a.text() == MENU_LABEL]
    action.trigger()
    qtbot.waitUntil(lambda: getattr(window, "welcome", None) is not None and window.welcome.isVisible(),
                    timeout=WAIT_MS)
    return window.welcome  # type: ignore[attr-defined, no-any-return]


def test_a_strap_picked_in_the_welcome_after_the_engine_stopped_runs_on_a_new_engine(qtbot, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    built = build_practitioner_app(build_parser().parse_args(["--speed", "max"]), settings, load_exercises())
    window, first = built.window, built.engine
    qtbot.addWidget(window)
    window.show()
    first.start()
    try:
        qtbot.waitUntil(lambda: first.finished.is_set(), timeout=WAIT_MS)
        dialog = _welcome_from_help(qtbot, window)
        nearby = _nearby_scanner(1)  # the strap the welcome finds: a simulated one advertising nearby
        nearby.done.connect(dialog.show_scan)
        nearby.start()
        qtbot.waitUntil(lambda: len(dialog.found()) == 1, timeout=WAIT_MS)
        address = dialog.straps.currentItem().data(QtCore.Qt.ItemDataRole.UserRole)
        QTest.mouseClick(dialog.use_button, CLICK)
        qtbot.waitUntil(lambda: window.engine is not first, timeout=WAIT_MS)
        assert window.engine.source.addresses == (address,) and window.engine.source.simulate is None
    finally:
        window.engine.stop()
