"""Method modes in the app, offscreen, driven by clicks and key presses (issue #14):

* the practitioner's method selector changes the session's method (recorded) and keeps it as the
  client's default; B marks a CSE movement block, and says where it belongs in other methods;
* the live pendulation tab follows swings;
* a Focusing practice at home holds each step until the client chooses Next (or Back).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6 import QtCore, QtWidgets

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from somafeedback.devices.events import TimelineEvent  # noqa: E402
from somafeedback.live.engine import Engine, EngineOptions, EngineSource  # noqa: E402
from somafeedback.regulation.exercises import load_exercises  # noqa: E402
from somafeedback.sessions.file import read_session  # noqa: E402


@pytest.fixture
def window_on(qtbot, tmp_path):
    """A practitioner window on a simulated engine with ``options`` (recorded), stopped at the end."""
    from somafeedback.ui.practitioner_window import PractitionerWindow
    from somafeedback.ui.settings import AppSettings

    engines: list[Engine] = []
    settings = AppSettings(QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat))

    def build(options: EngineOptions, scenario: str = "calm", speed: float = 30.0, model: str = "h10"):
        engine = Engine(EngineSource(simulate=scenario, speed=speed, simulated_model=model), options, load_exercises())
        window = PractitionerWindow(engine, engine.exercises, None, settings=settings)
        qtbot.addWidget(window)
        window.show()
        engine.start()
        engines.append(engine)
        return engine, window, settings

    yield build
    for engine in engines:
        engine.stop()


def _log(window) -> list[str]:
    return [window.timeline.item(i).text() for i in range(window.timeline.count())]


def _wait_logged(qtbot, window, text: str, timeout_ms: int = 60_000) -> None:
    qtbot.waitUntil(lambda: any(text in line for line in _log(window)), timeout=timeout_ms)


def test_choosing_a_method_changes_the_session_and_becomes_the_clients_default(qtbot, window_on, tmp_path) -> None:
    engine, window, settings = window_on(EngineOptions(record_to=tmp_path, manifest={"client": "Client A"}))
    box = window.method_box
    assert box.method == "SE" and "Suggestions to you" in box.description.text()
    _wait_logged(qtbot, window, "method: Somatic Experiencing")  # the session announced its method
    box.combo.setFocus()
    for _ in range(2):  # SE -> Focusing -> CSE with the keyboard, as a practitioner would
        qtbot.keyClick(box.combo, QtCore.Qt.Key.Key_Down)
    assert box.method == "CSE" and "Movement blocks" in box.description.text()
    _wait_logged(qtbot, window, "method: Clinical Somatic Education")
    assert settings.method("client a") == "CSE"  # the client's default for the next session
    engine.stop()
    events = [e for e in read_session(engine.recording).events if isinstance(e, TimelineEvent) and e.kind == "method"]
    assert [e.data["method"] for e in events][-2:] == ["Focusing", "CSE"]
    from somafeedback.ui.replay_window import ReplayWindow

    review = ReplayWindow(engine.recording, engine.exercises, recordings=tmp_path)
    qtbot.addWidget(review)
    assert review.windowTitle().endswith("· SE")  # the method the session began with


def test_b_marks_a_movement_block_in_cse_and_explains_itself_in_other_methods(qtbot, window_on, tmp_path) -> None:
    engine, window, _ = window_on(EngineOptions(record_to=tmp_path, method="SE"))
    _wait_logged(qtbot, window, "method: Somatic Experiencing")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_B)
    assert "choose CSE under Method" in window.statusBar().currentMessage()
    window.method_box.combo.setCurrentIndex(window.method_box.combo.findData("CSE"))  # a click on the list
    _wait_logged(qtbot, window, "method: Clinical Somatic Education")
    window.setFocus()
    qtbot.keyClick(window, QtCore.Qt.Key.Key_B)
    _wait_logged(qtbot, window, "movement block starts (practitioner)")
    assert window.movement_block_open
    qtbot.keyClick(window, QtCore.Qt.Key.Key_B)
    _wait_logged(qtbot, window, "movement block ends (practitioner)")
    assert not window.movement_block_open
    engine.stop()
    recorded = read_session(engine.recording).events
    labels = [e.data.get("label") for e in recorded if isinstance(e, TimelineEvent) and e.kind == "marker"]
    assert labels == ["movement-start", "movement-end"]


def test_the_live_pendulation_tab_counts_the_swings(qtbot, window_on) -> None:
    # a plain strap at 100x: no raw ECG to draw, so the GUI keeps up with the session
    _, window, _ = window_on(EngineOptions(), scenario="pendulation-swings", speed=100.0, model="hr")
    tabs = window.plot_tabs
    assert tabs.tabText(1) == "Pendulation swings"
    tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: len(window.pendulation.rows()) >= 2, timeout=180_000)
    assert tabs.tabText(1).startswith("Pendulation swings (") and window.pendulation.isVisible()


def test_a_focusing_practice_at_home_waits_for_next_and_back(qtbot, tmp_path) -> None:
    from somafeedback.ui.home_window import NEXT_LABEL, HomeWindow

    library = load_exercises()
    engines: list[Engine] = []

    def factory(script_id: str) -> Engine:  # a plain strap at 60x: the GUI keeps up with the session
        engine = Engine(EngineSource(simulate="calm", speed=60.0, simulated_model="hr"),
                        EngineOptions(mode="home", script=script_id, record_to=tmp_path), library)
        engines.append(engine)
        return engine

    home = HomeWindow(library, tmp_path, engine_factory=factory, client="Client B")
    qtbot.addWidget(home)
    home.show()
    texts = [step.text for step in library["focusing-felt-sense"].steps]

    def step_shown() -> int | None:
        text = home.client_screen.current_text()
        return texts.index(text) if text in texts else None

    try:
        home.start("focusing-felt-sense")
        next_button = home.step_buttons["next"]
        assert next_button.isVisible() and next_button.text() == NEXT_LABEL
        assert engines[0].options.method == "Focusing"
        qtbot.waitUntil(lambda: step_shown() == 0, timeout=120_000)  # after the resting measurement
        shown_at = engines[0].session_s()
        longest = max(step.seconds for step in library["focusing-felt-sense"].steps)
        qtbot.waitUntil(lambda: engines[0].session_s() - shown_at > longest + 5, timeout=60_000)
        assert step_shown() == 0  # held longer than any step lasts: nothing moves on by itself
        qtbot.mouseClick(next_button, QtCore.Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: step_shown() == 1, timeout=10_000)
        qtbot.mouseClick(home.step_buttons["back"], QtCore.Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: step_shown() == 0, timeout=10_000)
    finally:
        home.stop()
        for engine in engines:
            engine.stop()
    recorded = read_session(engines[0].recording)
    controls = [e.data["text"] for e in recorded.events if isinstance(e, TimelineEvent) and e.kind == "cue"
                and e.data.get("action") == "client-control"]
    assert controls == ["next", "back"] and recorded.manifest.get("method") == "Focusing"


def test_in_focusing_a_pushed_exercise_waits_on_each_step_for_next(qtbot, tmp_path) -> None:
    from somafeedback.ui.client_screen import ClientScreen
    from somafeedback.ui.practitioner_window import PractitionerWindow

    library = load_exercises()
    engine = Engine(EngineSource(simulate="calm", speed=30.0, simulated_model="hr"), EngineOptions(method="Focusing"),
                    library)
    client = ClientScreen(engine.now_s)
    window = PractitionerWindow(engine, library, client)
    qtbot.addWidget(window)
    qtbot.addWidget(client)
    window.show()
    engine.start()
    try:
        qtbot.waitUntil(lambda: window.method_box.method == "Focusing" and window.timeline.count() > 0, timeout=60_000)
        panel = window.panel
        row = next(i for i in range(panel.exercise_list.count())
                   if panel.exercise_list.item(i).data(QtCore.Qt.ItemDataRole.UserRole) == "focusing-felt-sense")
        panel.exercise_list.setCurrentRow(row)
        qtbot.mouseClick(panel.push_button, QtCore.Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: client.current_step_index() == 0, timeout=10_000)
        assert client.is_exercise_paused()  # held on step 1: nothing moves on by the clock
        shown_at = engine.session_s()
        longest = max(step.seconds for step in library["focusing-felt-sense"].steps)
        qtbot.waitUntil(lambda: engine.session_s() - shown_at > longest + 5, timeout=60_000)
        client.refresh()
        assert client.current_step_index() == 0
        qtbot.mouseClick(window.push_controls.next_button, QtCore.Qt.MouseButton.LeftButton)
        assert client.current_step_index() == 1 and client.is_exercise_paused()
    finally:
        engine.stop()
