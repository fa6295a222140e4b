"""The review window, offscreen: replay into the live plots, transport, the strip, the event list, review notes."""

from __future__ import annotations

import math
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets
from recording_helpers import record_simulated
from session_helpers import REPO

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from somafeedback.devices.events import GapEvent  # noqa: E402
from somafeedback.regulation.exercises import load_exercises  # noqa: E402
from somafeedback.sessions.review_notes import review_notes  # noqa: E402
from somafeedback.sessions.file import read_session  # noqa: E402

SAMPLE = REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite"
STATE_ABOVE = {"previous": "in band", "state": "above band", "reason": "HR above the band"}
STATE_IN = {"previous": "above band", "state": "in band", "reason": "back in band"}
CUE = {"action": "suggested", "cue_id": 1, "kind": "grounding", "exercise": "feet-and-seat-grounding", "text": "Grounding?"}


@pytest.fixture(scope="module")
def library():
    return load_exercises()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """480 s of the dropout scenario (a link loss near 300 s), with a marker, a note, states and a cue."""
    path = tmp_path_factory.mktemp("recorded") / "dropout.session.sqlite"
    return record_simulated(path, "dropout", 480.0, markers=[
        (30.0, "marker", {"label": "resource"}),
        (90.0, "note", {"text": "breathing slower"}),
        (150.0, "state", STATE_ABOVE),
        (151.0, "cue", CUE),
        (200.0, "state", STATE_IN),
    ])


@pytest.fixture
def library_folder(qapp, tmp_path: Path):
    """The user's library folder, set in the app's settings (not made yet); the setting is removed afterwards."""
    from somafeedback.ui.settings import AppSettings

    settings = AppSettings()
    folder = tmp_path / "data" / "library"
    settings.set("recordings/folder", str(folder))
    assert AppSettings().recordings == folder
    yield folder
    settings.store.remove("recordings/folder")
    settings.store.sync()


@pytest.fixture
def copy_of(library_folder: Path):
    """A session copied into the user's library folder (their own, writable: 0600)."""
    def copy(path: Path) -> Path:
        library_folder.mkdir(parents=True, exist_ok=True)
        target = library_folder / path.name
        shutil.copyfile(path, target)
        target.chmod(0o600)
        return target

    return copy


@pytest.fixture
def open_window(qtbot, library):
    from somafeedback.ui.replay_window import ReplayWindow

    def open_(path: Path) -> ReplayWindow:
        window = ReplayWindow(path, library)
        qtbot.addWidget(window)  # closed (engine stopped) at the end of the test
        window.show()
        return window

    return open_


def settle(qtbot, window, at_s: float | None = None) -> None:
    """Wait until every seek asked for is done (and, if given, the position is there)."""
    qtbot.waitUntil(lambda: window._pending_seek is None, timeout=10000)
    if at_s is not None:
        qtbot.waitUntil(lambda: abs(window.position_s() - at_s) < 1.5, timeout=10000)


def test_as_fast_as_possible_fills_the_plots_and_the_strip(qtbot, open_window, copy_of) -> None:
    window = open_window(copy_of(SAMPLE))
    assert window.windowTitle() == "somafeedback — review: polar-h10-slow-breathing.session.sqlite"
    assert window.speed() == 1.0 and not window.is_paused()
    window.speed_box.setCurrentIndex(window.speed_box.findText("as fast as possible"))
    assert window.speed() == math.inf
    qtbot.waitUntil(lambda: window.plots.rr.n + window.plots.flagged.n >= 600, timeout=20000)  # the sample's 620 beats
    qtbot.waitUntil(lambda: window.position_s() > 600.0, timeout=10000)
    assert window.plots.hr.n > 400 and window.plots.rmssd_valid.n > 300 and window.plots.breath.n > 0
    window.plots.redraw()
    x, y = window.plots._rr_curve.getData()
    assert len(x) > 500 and 700 < float(np.nanmedian(y)) < 1300  # what is drawn is the recording
    # recorded without states: they are re-analysed for the ribbon and the list, and the band is set
    qtbot.waitUntil(lambda: any("state (re-analysed): in band" in line for line in window.events_shown()), timeout=10000)
    assert [s for _, _, s in window.strip.states][:1] == ["calibrating"] and "in band" in [s for _, _, s in window.strip.states]
    assert window._band is not None and 55 < window._band[0] < 70
    assert window.position_s() == pytest.approx(window.duration_s, abs=1.0)
    # the end of the file is the end of the session, not a strap that stopped
    qtbot.waitUntil(window.engine.finished.is_set, timeout=10000)
    qtbot.waitUntil(lambda: window.status_position.text() == "session ended", timeout=5000)
    qtbot.waitUntil(lambda: window.state_label.text() == "session ended", timeout=5000)
    assert window.events_shown()[-1].endswith("  session ended")
    assert not any("strap stopped" in line for line in window.events_shown())


def test_pause_play_and_the_speed_selector(qtbot, open_window, copy_of, recorded) -> None:
    window = open_window(copy_of(recorded))
    window.speed_box.setCurrentIndex(window.speed_box.findText("10×"))  # as the practitioner would
    qtbot.waitUntil(lambda: window.engine.replay is not None and window.engine.replay.speed == 10.0, timeout=5000)
    qtbot.waitUntil(lambda: window.position_s() > 3.0, timeout=10000)
    # the pacing at that speed is checked on session time in test_recording (no wall-clock rate here)

    window.play_button.click()  # pause
    assert window.is_paused() and window.play_button.text().startswith("Play")
    qtbot.waitUntil(lambda: window.engine.replay.paused, timeout=5000)
    held = window.position_s()
    qtbot.wait(400)
    assert window.position_s() == held  # paused: nothing moves
    window.play_button.click()  # play
    assert not window.is_paused()
    qtbot.waitUntil(lambda: window.position_s() > held + 1.0, timeout=5000)

    window.set_speed(1.0)
    assert window.speed_box.currentText() == "1×"
    qtbot.waitUntil(lambda: window.engine.replay.speed == 1.0, timeout=5000)


def test_seek_moves_the_position_and_the_plots_restart_there(qtbot, open_window, copy_of, recorded) -> None:
    window = open_window(copy_of(recorded))
    window.set_speed(10.0)
    qtbot.waitUntil(lambda: window.plots.rr.n > 5, timeout=10000)
    assert window.plots.rr.x[0] < 10.0
    window.seek_s(240.0)
    settle(qtbot, window)
    qtbot.waitUntil(lambda: window.position_s() >= 240.0 and window.plots.rr.n > 5, timeout=10000)
    assert float(window.plots.rr.x[:window.plots.rr.n].min()) > 237.0  # refilled from the new position only
    assert window.slider.value() >= 240

    window.pause()
    qtbot.waitUntil(lambda: window.engine.replay.paused, timeout=5000)
    # the slider seeks (keyboard / page steps seek at once)
    window.slider.setValue(100)
    settle(qtbot, window, at_s=100.0)
    # a click on the strip seeks there
    qtbot.mouseClick(window.strip.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=window.strip.x_of_view(400.0))
    settle(qtbot, window, at_s=400.0)
    # a double-click in the event list seeks to the event (paused: the position stays on it)
    row = next(i for i, line in enumerate(window.events_shown()) if "marker: resource" in line)
    item = window.events.item(row)
    window.events.scrollToItem(item)
    rect = window.events.visualItemRect(item)
    qtbot.mouseClick(window.events.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(window.events.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.position_s() < 100.0, timeout=5000)
    settle(qtbot, window)
    assert window.position_s() == pytest.approx(30.0, abs=1e-6)
    assert window.is_paused() and window.plots.rr.n == 0  # paused after a seek: the plots wait for play


def test_markers_notes_states_cues_and_gaps_are_shown(qtbot, open_window, copy_of, recorded) -> None:
    window = open_window(copy_of(recorded))
    gap = next(e for e in read_session(recorded).events if isinstance(e, GapEvent))
    shown = window.events_shown()
    gap_line = f"{int(gap.start_ns // 1e9) // 60:02d}:{int(gap.start_ns // 1e9) % 60:02d}  gap: no data for {gap.duration_s:.1f} s"
    for line in ("00:30  marker: resource", "01:30  note: breathing slower", "02:30  state: above band — HR above the band",
                 "02:31  cue suggested: grounding", "03:20  state: in band — back in band", gap_line):
        assert line in shown
    assert shown == sorted(shown)  # in time order
    assert not any("re-analysed" in line for line in shown)  # recorded states are the ones shown
    strip = window.strip
    assert [t for t, _ in strip.marks["marker"]] == [30.0] and [t for t, _ in strip.marks["note"]] == [90.0]
    assert [t for t, _ in strip.marks["cue"]] == [151.0]
    assert strip.states == [(150.0, 200.0, "above band"), (200.0, 480.0, "in band")]
    assert strip.gaps == [(pytest.approx(gap.start_ns / 1e9), pytest.approx(gap.end_ns / 1e9))]
    x, _ = strip._marks["marker"].getData()
    assert list(x) == [30.0]  # and drawn


def test_a_review_note_from_the_ui_is_saved_at_the_position(qtbot, open_window, copy_of, recorded,
                                                             library_folder) -> None:
    path = copy_of(recorded)  # the user's own session, in their library, writable: its notes go into it
    window = open_window(path)
    assert window.notes_path == path and window.notes_where.text() == "Review notes are saved in this session, in your library."
    window.pause()
    window.seek_s(120.0)
    settle(qtbot, window, at_s=120.0)
    at_ns = window.position_ns()
    window.note_field.setText("client's breath dropped low here")
    window.note_button.click()
    assert window.note_field.text() == ""
    assert any(line.startswith("02:0") and "review note: client's breath dropped low here" in line
               for line in window.events_shown())  # shown at once
    assert [t for t, _ in window.strip.marks["review"]] == [pytest.approx((at_ns - window.origin_ns) / 1e9)]
    notes = review_notes(read_session(path))
    assert len(notes) == 1
    assert notes[0].host_ns == at_ns and notes[0].data["review"] is True
    assert notes[0].data["text"] == "client's breath dropped low here"

    window.add_note("second look")  # the API the app uses
    assert [n.data["text"] for n in review_notes(read_session(path))] == ["client's breath dropped low here", "second look"]
    assert [p.name for p in library_folder.iterdir()] == [path.name]  # no copy made
    window.close()

    # reopened: the notes are on the list, and the replay still reaches past them
    again = open_window(path)
    assert sum("review note:" in line for line in again.events_shown()) == 2
    again.pause()
    again.seek_s(400.0)
    settle(qtbot, again, at_s=400.0)
    assert again.position_s() > 399.0


def sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def beside(path: Path) -> dict[str, int]:
    """The files in ``path``'s folder and their modification times."""
    return {p.name: p.stat().st_mtime_ns for p in path.parent.iterdir()}


def type_a_note(qtbot, window, text: str) -> None:
    """As the practitioner: N, the text, Enter (real key presses on the focused window)."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_N)
    qtbot.waitUntil(window.note_field.hasFocus, timeout=5000)
    qtbot.keyClicks(window.note_field, text)
    qtbot.keyClick(window.note_field, QtCore.Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.note_field.text() == "", timeout=5000)


def test_the_shipped_sample_is_kept_as_it_is_and_notes_go_into_a_copy(qtbot, open_window, library_folder) -> None:
    digest, files = sha256(SAMPLE), beside(SAMPLE)
    window = open_window(SAMPLE)  # the file shipped with the app, outside the user's library
    window.pause()
    assert not library_folder.exists()  # only looking writes nothing anywhere
    assert "This recording is kept as it is" in window.findChild(QtWidgets.QGroupBox).findChild(QtWidgets.QLabel).text()
    window.seek_s(90.0)
    settle(qtbot, window, at_s=90.0)
    at_ns = window.position_ns()
    type_a_note(qtbot, window, "slower breathing from here")
    assert sha256(SAMPLE) == digest and beside(SAMPLE) == files  # not written into

    (copy,) = library_folder.iterdir()
    assert copy.name == "polar-h10-slow-breathing (review copy).session.sqlite"
    assert window.notes_where.text() == ("This recording is kept as it is; your review notes go into a copy in your "
                                         f"library: {copy.name}")
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600 and stat.S_IMODE(library_folder.stat().st_mode) == 0o700
    assert any("review note: slower breathing from here" in line for line in window.events_shown())
    shipped, copied = read_session(SAMPLE), read_session(copy)
    (note,) = review_notes(copied)
    assert note.host_ns == at_ns and note.data["text"] == "slower breathing from here"
    assert [i for i in copied.timeline if i is not note] == shipped.timeline and copied.manifest == shipped.manifest
    type_a_note(qtbot, window, "and a second one")  # the same copy takes the next note
    assert [p.name for p in library_folder.iterdir()] == [copy.name]
    assert len(review_notes(read_session(copy))) == 2
    window.close()
    qtbot.waitUntil(lambda: not window.engine._thread.is_alive(), timeout=5000)
    assert sha256(SAMPLE) == digest and beside(SAMPLE) == files  # open, note, close: the shipped file is untouched
    assert review_notes(read_session(SAMPLE)) == []

    again = open_window(SAMPLE)  # opened again: its notes are found in the library's copy, and go on there
    assert again.notes_path == copy and copy.name in again.notes_where.text()
    assert sum("review note:" in line for line in again.events_shown()) == 2


def test_a_read_only_session_in_the_library_is_kept_as_it_is(qtbot, open_window, copy_of, recorded) -> None:
    path = copy_of(recorded)
    path.chmod(0o444)  # marked read-only by its owner
    digest, files = sha256(path), beside(path)
    window = open_window(path)
    window.pause()
    type_a_note(qtbot, window, "looked at this with my supervisor")
    assert sha256(path) == digest and beside(path)[path.name] == files[path.name]
    copy = path.parent / "dropout (review copy).session.sqlite"
    assert copy.name in window.notes_where.text()
    assert [n.data["text"] for n in review_notes(read_session(copy))] == ["looked at this with my supervisor"]
    window.close()
    assert sha256(path) == digest and set(beside(path)) == {*files, copy.name} and beside(path)[path.name] == files[path.name]
    assert review_notes(read_session(path)) == []


def file_dialog_start(qtbot, start: Callable[[], None]) -> str:
    """Open a folder dialog through ``start`` (a menu action), read the folder it opens in, and cancel it."""
    seen: list[str] = []
    tries = iter(range(500))  # ~10 s at most

    def look() -> None:
        dialog = next((w for w in QtWidgets.QApplication.topLevelWidgets()
                       if isinstance(w, QtWidgets.QFileDialog) and w.isVisible()), None)
        if dialog is None:
            if next(tries, None) is not None:
                QtCore.QTimer.singleShot(20, look)
            return
        seen.append(dialog.directory().absolutePath())
        dialog.reject()

    QtCore.QTimer.singleShot(20, look)
    start()  # returns once the dialog is cancelled
    assert len(seen) == 1
    return seen[0]


def menu_action(window, text: str) -> QtGui.QAction:
    """The window's menu entry called ``text``."""
    return next(a for menu in window.menuBar().findChildren(QtWidgets.QMenu) for a in menu.actions() if a.text() == text)


def test_report_and_export_dialogs_start_in_the_users_library(qtbot, open_window, library_folder, tmp_path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    session = elsewhere / SAMPLE.name
    shutil.copyfile(SAMPLE, session)
    window = open_window(session)
    window.pause()
    from platformdirs import user_documents_path

    documents = user_documents_path() if user_documents_path().is_dir() else Path.home()
    # no library folder yet: the user's documents folder (never the session's folder or the checkout)
    assert file_dialog_start(qtbot, menu_action(window, "Session report (HTML)…").trigger) == str(documents)
    library_folder.mkdir(parents=True)
    for text in ("Session report (PDF)…", "Session report (HTML), de-identified…", "EDF+…", "Kubios RR text, de-identified…"):
        assert file_dialog_start(qtbot, menu_action(window, text).trigger) == str(library_folder), text
    assert list(library_folder.iterdir()) == [] and [p.name for p in elsewhere.iterdir()] == [SAMPLE.name]


def test_keyboard_transport(qtbot, open_window, copy_of, recorded) -> None:
    window = open_window(copy_of(recorded))
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    window.seek_s(200.0)
    settle(qtbot, window)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert window.is_paused()
    qtbot.waitUntil(lambda: window.engine.replay.paused, timeout=5000)
    before = window.position_s()
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Right, QtCore.Qt.KeyboardModifier.ShiftModifier)
    settle(qtbot, window, at_s=before + 30.0)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert not window.is_paused()


def test_after_the_end_a_seek_replays_from_there(qtbot, open_window, copy_of) -> None:
    window = open_window(copy_of(SAMPLE))
    window.set_speed(math.inf)
    qtbot.waitUntil(window.engine.finished.is_set, timeout=20000)
    first = window.engine
    window.seek_s(300.0)
    assert window.engine is not first  # the ended replay is started afresh
    settle(qtbot, window)
    qtbot.waitUntil(lambda: window.plots.rr.n > 20, timeout=10000)
    assert float(window.plots.rr.x[:window.plots.rr.n].min()) > 297.0


def test_closing_stops_the_engine(qtbot, open_window, copy_of) -> None:
    window = open_window(copy_of(SAMPLE))
    qtbot.waitUntil(lambda: window.engine.replay is not None and window.position_s() > 0.5, timeout=5000)
    engine = window.engine
    assert not engine.finished.is_set()
    window.close()
    assert engine.finished.is_set() and not engine._thread.is_alive()
    assert not window.frame_timer.isActive()


def test_export_from_the_review_window_with_its_progress_dialog(qtbot, open_window, copy_of, recorded, tmp_path) -> None:
    window = open_window(copy_of(recorded))
    out = tmp_path / "exports"
    out.mkdir()
    written = window.export("edf", out)
    assert written is not None and [p.name for p in out.iterdir()] == [written[0].name]
    assert "Exported" in window.statusBar().currentMessage()


def test_cancel_in_the_progress_dialog_stops_the_job_and_leaves_nothing(qtbot, tmp_path) -> None:
    import threading

    from PySide6 import QtCore, QtWidgets

    from somafeedback.ui.progress_dialog import run_with_progress

    reached_half = threading.Event()
    out = tmp_path / "result.txt"
    seen: list[float] = []

    def work(progress) -> str:
        partial = tmp_path / ".result.partial"
        try:
            for step in range(1000):
                progress(step / 1000)
                seen.append(step / 1000)
                if step == 500:
                    reached_half.set()
                partial.write_text(str(step))
                threading.Event().wait(0.002)
            partial.rename(out)
            return "done"
        finally:
            partial.unlink(missing_ok=True)

    def press_cancel() -> None:
        if not reached_half.is_set():
            QtCore.QTimer.singleShot(20, press_cancel)
            return
        dialog = next(w for w in QtWidgets.QApplication.topLevelWidgets() if isinstance(w, QtWidgets.QProgressDialog))
        assert dialog.value() > 0  # it showed the progress
        dialog.cancel()

    QtCore.QTimer.singleShot(20, press_cancel)
    assert run_with_progress(None, "working…", work) is None
    assert 0.5 <= seen[-1] < 1.0 and not out.exists() and list(tmp_path.iterdir()) == []
    assert run_with_progress(None, "again…", lambda progress: (progress(1.0), 42)[1]) == 42


def test_a_pdf_report_from_the_review_window(qtbot, open_window, copy_of, recorded, tmp_path) -> None:
    from PySide6 import QtPdf

    window = open_window(copy_of(recorded))
    written = window.report("pdf", tmp_path)
    assert written is not None and written.parent == tmp_path and "Report saved" in window.statusBar().currentMessage()
    document = QtPdf.QPdfDocument()
    document.load(str(written))
    assert document.pageCount() >= 2


def test_the_client_version_from_the_review_window_menu(qtbot, open_window, copy_of, recorded, tmp_path, monkeypatch) -> None:
    """Report → "For the client, in plain words (HTML)…": the folder dialog answered, the plain version written."""
    from PySide6 import QtWidgets

    window = open_window(copy_of(recorded))
    monkeypatch.setattr(QtWidgets.QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(tmp_path))
    report_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Report")
    action = next(a for a in report_menu.actions() if a.text() == "For the client, in plain words (HTML)…")
    action.trigger()
    (written,) = tmp_path.glob("*_client_report.html")
    text = written.read_text(encoding="utf-8")
    assert "beats per minute" in text and "RMSSD" not in text and "ms²" not in text
