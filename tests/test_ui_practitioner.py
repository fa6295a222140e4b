"""The practitioner window, offscreen, driven with real clicks and key presses (issue #13).

* pushing an exercise reaches the client view and the recording;
* an error in a handler shows a plain message in the window, details in a 0600 log;
* after a note (Enter) or Esc in the note field the single-key markers work again, and Esc
  there never dismisses a pending suggestion;
* one session clock: a marker's time reads the same in the live log, the review window and
  the report, also when the recording started after the session.
"""

from __future__ import annotations

import os
import re
import stat
import time
from pathlib import Path

import pytest
from PySide6 import QtCore, QtWidgets

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from somafeedback.regulation.cues import CueConfig  # noqa: E402
from somafeedback.devices.events import TimelineEvent  # noqa: E402
from somafeedback.live.engine import Engine, EngineOptions, EngineSource  # noqa: E402
from somafeedback.regulation.exercises import load_exercises  # noqa: E402
from somafeedback.sessions.file import read_session  # noqa: E402

EXERCISE = "feet-and-seat-grounding"


@pytest.fixture
def library():
    return load_exercises()


@pytest.fixture
def practitioner(qtbot, library):
    """Build (engine, window, client view) for an engine source and options; everything stops at the end."""
    from somafeedback.ui.client_screen import ClientScreen
    from somafeedback.ui.practitioner_window import PractitionerWindow

    built: list[Engine] = []

    def build(source: EngineSource, options: EngineOptions | None = None):
        engine = Engine(source, options or EngineOptions(), library)
        client = ClientScreen(engine.now_s)
        window = PractitionerWindow(engine, library, client)
        qtbot.addWidget(window)
        qtbot.addWidget(client)
        window.show()
        client.show()
        engine.start()
        built.append(engine)
        return engine, window, client

    yield build
    for engine in built:
        engine.stop()


def log_lines(window) -> list[str]:
    return [window.timeline.item(i).text() for i in range(window.timeline.count())]


def logged(window, text: str) -> str | None:
    """The live log's line containing ``text``, or None."""
    return next((line for line in log_lines(window) if text in line), None)


def focus_the_window(qtbot, window) -> None:
    """The practitioner's window has the keyboard (not the client view)."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)


def press(qtbot, window, key) -> None:
    """A key pressed on the keyboard: it goes where the keyboard focus is, as for the practitioner."""
    qtbot.keyClick(QtWidgets.QApplication.focusWidget() or window, key)


def type_text(qtbot, window, text: str) -> None:
    qtbot.keyClicks(QtWidgets.QApplication.focusWidget() or window, text)


# -- 1. push to the client view ------------------------------------------------------------------
def test_pushing_an_exercise_shows_it_on_the_client_view_and_records_it(qtbot, practitioner, library,
                                                                        tmp_path: Path) -> None:
    engine, window, client = practitioner(EngineSource(simulate="calm", speed=30.0, simulated_model="hr"),
                                          EngineOptions(record_to=tmp_path))
    qtbot.waitUntil(lambda: window.plots.rr.n > 3 and engine.recording is not None, timeout=30000)
    assert client.is_resting()
    panel = window.panel
    row = next(i for i in range(panel.exercise_list.count())
               if panel.exercise_list.item(i).data(QtCore.Qt.ItemDataRole.UserRole) == EXERCISE)
    panel.exercise_list.setCurrentRow(row)
    qtbot.mouseClick(panel.push_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: client.current_exercise() is not None, timeout=10000)
    assert client.current_exercise().id == EXERCISE
    title = library[EXERCISE].title
    qtbot.waitUntil(lambda: logged(window, "cue pushed") is not None, timeout=10000)
    assert logged(window, "cue pushed").endswith(f"cue pushed: manual — {title}")
    assert not window.problem.isVisible()
    engine.stop()
    cues = [e for e in read_session(engine.recording).events if isinstance(e, TimelineEvent) and e.kind == "cue"]
    pushed = [e.data for e in cues if e.data.get("action") == "pushed"]
    assert pushed == [{"action": "pushed", "cue_id": None, "kind": "manual", "exercise": EXERCISE, "text": title}]


# -- 1b. errors in handlers reach the practitioner ------------------------------------------------------
def test_an_error_in_a_handler_shows_a_plain_message_in_the_window(qtbot, practitioner, tmp_path: Path) -> None:
    from somafeedback.ui.error_report import ErrorReporter

    _, window, _ = practitioner(EngineSource(simulate="calm", speed=30.0, simulated_model="hr"))
    log = tmp_path / "logs" / "errors.log"
    reporter = ErrorReporter(log).install()
    try:
        button = QtWidgets.QPushButton("Save the handout", window)

        def save_the_handout() -> None:  # a handler that fails, as a broken one would
            raise OSError("disk full: handout.pdf")

        button.clicked.connect(save_the_handout)
        button.show()
        assert not window.problem.isVisible()
        qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)
        qtbot.waitUntil(window.problem.isVisible, timeout=5000)
    finally:
        reporter.uninstall()
    shown = window.problem_text.text()
    assert shown == (f"Something went wrong while handling your last action; the session goes on. "
                     f"Details were saved to {log}")
    assert not re.search(r"Error|Exception|Traceback|disk full", shown)
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    details = log.read_text(encoding="utf-8")
    assert "OSError: disk full: handout.pdf" in details and "save_the_handout" in details
    assert window.frame_timer.isActive()  # the live view carries on


def test_the_message_names_the_action_the_practitioner_took(tmp_path: Path) -> None:
    from somafeedback.ui.error_report import ErrorReporter

    shown: list[str] = []
    reporter = ErrorReporter(tmp_path / "errors.log", show=shown.append)

    def push_exercise() -> None:  # the window's handler of the same name
        raise KeyError("exercise")

    try:
        push_exercise()
    except KeyError as error:
        reporter.hook(type(error), error, error.__traceback__)
    assert shown == [f"Something went wrong while pushing an exercise to the client view; the session goes on. "
                     f"Details were saved to {tmp_path / 'errors.log'}"]


# -- 2. markers after a note -------------------------------------------------------------------------
def test_after_a_note_the_marker_keys_work_again(qtbot, practitioner) -> None:
    _, window, _ = practitioner(EngineSource(simulate="calm", speed=20.0, simulated_model="hr"))
    qtbot.waitUntil(lambda: window.plots.rr.n > 3, timeout=30000)
    focus_the_window(qtbot, window)
    press(qtbot, window, QtCore.Qt.Key.Key_N)
    qtbot.waitUntil(window.panel.note.hasFocus, timeout=5000)
    type_text(qtbot, window, "shoulders dropped")
    press(qtbot, window, QtCore.Qt.Key.Key_Return)
    press(qtbot, window, QtCore.Qt.Key.Key_G)
    press(qtbot, window, QtCore.Qt.Key.Key_O)
    qtbot.waitUntil(lambda: logged(window, "marker: orienting") is not None, timeout=10000)
    assert logged(window, "note: shoulders dropped") and logged(window, "marker: grounding")
    assert window.panel.note.text() == "" and not window.panel.note.hasFocus()


def test_esc_in_the_note_field_leaves_it_and_keeps_the_suggestion(qtbot, practitioner) -> None:
    _, window, _ = practitioner(EngineSource(simulate="sustained-activation", speed=60.0, simulated_model="hr"),
                                EngineOptions(cues=CueConfig(expire_s=1e6)))  # the suggestion waits for us
    qtbot.waitUntil(lambda: window.pending_cue is not None, timeout=60000)
    focus_the_window(qtbot, window)
    press(qtbot, window, QtCore.Qt.Key.Key_N)
    qtbot.waitUntil(window.panel.note.hasFocus, timeout=5000)
    type_text(qtbot, window, "jaw tight")
    press(qtbot, window, QtCore.Qt.Key.Key_Escape)
    assert not window.panel.note.hasFocus()
    assert window.panel.note.text() == "jaw tight"  # Esc keeps what was typed (N goes back to it)
    press(qtbot, window, QtCore.Qt.Key.Key_O)  # reaches the engine after any dismissal Esc might have sent
    qtbot.waitUntil(lambda: logged(window, "marker: orienting") is not None, timeout=10000)
    window.on_frame()
    assert window.pending_cue is not None and window.panel.approve_button.isEnabled()
    assert logged(window, "cue dismissed") is None
    press(qtbot, window, QtCore.Qt.Key.Key_Escape)  # outside the field, Esc still dismisses
    qtbot.waitUntil(lambda: window.pending_cue is None, timeout=10000)
    assert logged(window, "cue dismissed")


# -- 6. one session clock ---------------------------------------------------------------------------------
def test_the_engine_counts_session_time_from_its_start_on_a_real_strap_loop() -> None:
    engine = Engine(EngineSource(), EngineOptions(), {})  # no strap: an ordinary loop, the host's monotonic clock
    engine.start()
    try:
        assert engine.session_origin_ns is not None
        assert abs(engine.session_origin_ns - time.monotonic_ns()) < 60e9
        assert 0.0 <= engine.session_s() < 60.0 and engine.session_s() < engine.now_s()
    finally:
        engine.stop()


def test_a_marker_reads_the_same_time_live_in_review_and_in_the_report(qtbot, practitioner, library,
                                                                        tmp_path: Path) -> None:
    from somafeedback.reports.content import session_content
    from somafeedback.ui.replay_window import ReplayWindow
    from somafeedback.ui.time_axis import clock_text

    engine, window, _ = practitioner(EngineSource(simulate="calm", speed=30.0, simulated_model="hr"))
    window.settings.set("recordings/folder", str(tmp_path))
    try:
        qtbot.waitUntil(lambda: engine.session_s() > 40.0, timeout=30000)  # the recording starts well after the session
        window.record_action.setChecked(True)
        qtbot.waitUntil(lambda: engine.recording is not None and window.status["recording"].text().startswith("recording:"),
                        timeout=10000)
        qtbot.waitUntil(lambda: window.plots.rr.n > 60, timeout=30000)
        focus_the_window(qtbot, window)
        press(qtbot, window, QtCore.Qt.Key.Key_O)
        qtbot.waitUntil(lambda: logged(window, "marker: orienting") is not None, timeout=10000)
        qtbot.waitUntil(lambda: engine.session_s() > 90.0, timeout=30000)  # heartbeats after the marker, for the report
        window.record_action.setChecked(False)
        qtbot.waitUntil(lambda: window.status["recording"].text() == "not recording", timeout=10000)
    finally:
        window.settings.store.clear()
    live = logged(window, "marker: orienting").split()[0]
    started = logged(window, "recording started").split()[0]
    assert live != started and not live.startswith("00:0")  # the log counts from the session's start

    session = read_session(engine.recording)
    assert session.manifest["session_origin_host_ns"] == engine.session_origin_ns
    assert session.manifest["started_host_ns"] - engine.session_origin_ns > 40e9

    review = ReplayWindow(engine.recording, library)
    qtbot.addWidget(review)
    shown = next(line for line in review.events_shown() if "marker: orienting" in line)
    assert shown.split()[0] == live

    content = session_content(engine.recording)
    (marker,) = [m for m in content.markers if m.text == "orienting"]
    assert clock_text(marker.t_s) == live
    assert content.start_s > 40.0 and content.series.beat_t_s[0] >= content.start_s - 2.0
