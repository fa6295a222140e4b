"""The practitioner's live window (issue #13), offscreen, built by the production factory and driven
with real clicks and key presses:

* the side panel fits at the default size and on a 1366×768 laptop (labels, buttons, strap table),
  with room left for a compact mirror of the client view;
* baseline progress ("baseline 0:40 of 5:00") with Restart and Skip (recorded on the timeline);
* markers, notes and cues drawn on the heart-rate plot; Ctrl+Z / the button undo the last marker
  (an "undo" event: the session keeps the marker), its line leaves the plot, the log strikes it out;
* a new suggestion lights up and fades (injected clock), an optional soft sound, "cues muted" and
  "snoozed until m:ss";
* an exercise's purpose, length and cautions before it is pushed;
* View → numbers on the client view persists; messages carry no exception names or commands.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6 import QtCore, QtGui, QtWidgets

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from layout_checks import clipped, settle  # noqa: E402

from somafeedback.devices.events import TimelineEvent  # noqa: E402
from somafeedback.regulation.exercises import load_exercises  # noqa: E402
from somafeedback.sessions.file import read_session  # noqa: E402

SIZES = {"default": None, "laptop 1366x768": (1366, 768)}


@pytest.fixture
def library():
    return load_exercises()


@pytest.fixture
def app(qtbot, library, tmp_path: Path):
    """``app(*argv, settings_file=..., start=...)``: the production window (build_practitioner_app), started.

    The settings are the window's own (``window.settings``); they are emptied at the end.
    """
    from somafeedback.ui.app import build_parser, build_practitioner_app
    from somafeedback.ui.chimes import Chimes
    from somafeedback.ui.settings import AppSettings

    built_apps = []

    def build(*argv: str, settings_file: Path | None = None, start: bool = True):
        store = QtCore.QSettings(str(settings_file or tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
        built = build_practitioner_app(build_parser().parse_args(list(argv)), AppSettings(store), library)
        window = built.window
        window.chimes = Chimes(multimedia=lambda: None, parent=window)  # no audio back end in the tests
        qtbot.addWidget(window)
        if built.client is not None:
            qtbot.addWidget(built.client)
            built.client.show()
        window.show()
        if start:
            built.engine.start()
        built_apps.append(built)
        return built

    yield build
    for built in built_apps:
        if built.engine.session_origin_ns is not None:  # started (by the fixture or the test)
            built.engine.stop()
        built.window.settings.store.clear()


def log_lines(window) -> list[str]:
    return [window.timeline.item(i).text() for i in range(window.timeline.count())]


def logged(window, text: str) -> QtWidgets.QListWidgetItem | None:
    for i in range(window.timeline.count()):
        if text in window.timeline.item(i).text():
            return window.timeline.item(i)
    return None


def focus(qtbot, window) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)


def press(qtbot, window, key, modifier=QtCore.Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(QtWidgets.QApplication.focusWidget() or window, key, modifier)


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, QtCore.Qt.MouseButton.LeftButton)


def select_exercise(qtbot, panel, exercise_id: str) -> None:
    """Click the exercise's row in the list, as the practitioner does."""
    row = next(i for i in range(panel.exercise_list.count())
               if panel.exercise_list.item(i).data(QtCore.Qt.ItemDataRole.UserRole) == exercise_id)
    item = panel.exercise_list.item(row)
    panel.exercise_list.scrollToItem(item)
    rect = panel.exercise_list.visualItemRect(item)
    qtbot.mouseClick(panel.exercise_list.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=rect.center())


# -- 1. the side panel fits -------------------------------------------------------------------------------
def cell_problems(table: QtWidgets.QTableWidget) -> list[str]:
    """Header and cell texts that do not fit their column (wrapped at its width) and row."""
    problems = []
    metrics = QtGui.QFontMetrics(table.font())
    header = table.horizontalHeader()
    header_metrics = QtGui.QFontMetrics(header.font())
    for column in range(table.columnCount()):
        width = header.sectionSize(column)
        title = table.horizontalHeaderItem(column).text()
        if header_metrics.horizontalAdvance(title) + 8 > width:
            problems.append(f"header {title!r} in {width} px")
        for row in range(table.rowCount()):
            item = table.item(row, column)
            if item is None or not item.text():
                continue
            flags = QtCore.Qt.TextFlag.TextWordWrap | QtCore.Qt.AlignmentFlag.AlignLeft
            need = metrics.boundingRect(QtCore.QRect(0, 0, width - 8, 10_000), flags, item.text())
            if need.width() > width - 4 or need.height() > table.rowHeight(row):
                problems.append(f"{item.text()!r} needs {need.size()} in {width}x{table.rowHeight(row)}")
    viewport = table.viewport().rect()
    if header.length() > viewport.width() or sum(table.rowHeight(r) for r in range(table.rowCount())) > viewport.height():
        problems.append(f"the table scrolls: {header.length()} px of columns in {viewport}")
    return problems


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_the_side_panel_fits_without_clipping(qtbot, app, library, size) -> None:
    built = app("--simulate", "--speed", "20")
    window, panel = built.window, built.window.panel
    if size is not None:
        window.resize(*size)
    assert window.mirror is not None and window.mirror.isVisibleTo(window)  # the real mirror of the client view
    qtbot.waitUntil(lambda: window.devices.cell("strap1", "link") == "streaming" and window.state == "calibrating"
                    and panel.baseline_box.isVisible() and window.devices.cell("strap1", "signal") != "", timeout=30000)
    # the longest texts the panel shows, all at once
    panel.show_suggestion("Suggest grounding: heart rate above the usual range for 30 s and not coming down yet; "
                          "variability lower than baseline.")
    panel.show_cue_status("cues muted (M to unmute) · snoozed until 12:34")
    click(qtbot, panel.skip_baseline_button)  # no client named: a plain message says why it keeps measuring
    longest = max((e for e in library.values() if "session" in e.where),
                  key=lambda e: len(e.purpose) + sum(map(len, e.cautions)))
    select_exercise(qtbot, panel, longest.id)
    assert panel.baseline_message.isVisible() and "Cautions" in panel.exercise_details.text()
    settle()
    if size is not None:
        assert (window.width(), window.height()) == size  # the window really is that small (no minimum size above it)
    assert window.side.width() >= window.side.minimumWidth()  # the splitter never squeezes the panel
    labels = [label for label in window.side.findChildren(QtWidgets.QLabel) if label.isVisible()]
    assert {panel.baseline_text, panel.cue_status, panel.exercise_details, panel.state_reason} <= set(labels)
    for label in labels:
        window.side.ensureWidgetVisible(label, 0, 0)  # the panel scrolls vertically; nothing is cut sideways
        settle()
        assert clipped(label, window) == "", f"at {size}: {clipped(label, window)}"
    for button in window.side.findChildren(QtWidgets.QPushButton):
        if button.isVisible():
            assert button.width() >= button.sizeHint().width(), f"{button.text()!r} truncated at {size}"
            inside = button.mapTo(window.side.viewport(), QtCore.QPoint(button.width(), 0)).x()
            assert inside <= window.side.viewport().width(), f"{button.text()!r} beyond the panel at {size}"
    assert cell_problems(window.devices.table) == []


# -- 2. baseline progress, restart and skip ---------------------------------------------------------------
def stored_baseline_library(folder: Path, client: str) -> None:
    """A recorded session of ``client`` with a measured baseline (the simulator, as fast as it runs)."""
    result = subprocess.run([sys.executable, "-m", "somafeedback.cli", "session", "--simulate", "calm", "--speed", "max",
                             "--mode", "practitioner", "--client", client, "--recordings", str(folder), "--record",
                             "--duration", "330"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


def progress_s(text: str) -> tuple[int, int]:
    found = re.fullmatch(r"baseline (\d+):(\d\d) of (\d+):(\d\d)", text)
    assert found, text
    m, s, lm, ls = map(int, found.groups())
    return 60 * m + s, 60 * lm + ls


def test_baseline_progress_with_restart_and_skip(qtbot, app, tmp_path: Path) -> None:
    stored_baseline_library(tmp_path / "lib", "C7")
    built = app("--simulate", "--speed", "20", "--record", "--recordings", str(tmp_path / "lib"), "--client", "C7")
    window, panel = built.window, built.window.panel
    qtbot.waitUntil(lambda: panel.baseline_box.isVisible() and progress_s(panel.baseline_text.text())[0] >= 40,
                    timeout=60000)
    measured, length = progress_s(panel.baseline_text.text())
    assert length == 300 and panel.baseline_text.text().endswith("of 5:00")
    assert window.state == "calibrating"

    click(qtbot, panel.restart_baseline_button)
    qtbot.waitUntil(lambda: logged(window, "baseline: measuring again") is not None, timeout=10000)
    qtbot.waitUntil(lambda: progress_s(panel.baseline_text.text())[0] < measured, timeout=10000)
    assert window.state == "calibrating"

    click(qtbot, panel.skip_baseline_button)
    qtbot.waitUntil(lambda: window.state == "in band", timeout=10000)
    assert not panel.baseline_box.isVisible() and not panel.baseline_message.isVisible()
    assert logged(window, "baseline skipped: usual range from earlier sessions") is not None
    assert window.plots._band_region.isVisible()  # the usual range, from the stored baseline
    engine = built.engine
    engine.stop()
    recorded = [e for e in read_session(engine.recording).events if isinstance(e, TimelineEvent)]
    actions = [e.data["action"] for e in recorded if e.kind == "calibration"]
    assert actions == ["restarted", "skipped"]
    skipped = next(e for e in recorded if e.kind == "calibration" and e.data["action"] == "skipped")
    assert skipped.data["baseline"]["source"] == "history"


def test_skipping_without_a_stored_baseline_says_so_and_keeps_measuring(qtbot, app, tmp_path: Path) -> None:
    built = app("--simulate", "--speed", "20", "--recordings", str(tmp_path / "empty"), "--client", "C8")
    window, panel = built.window, built.window.panel
    qtbot.waitUntil(panel.baseline_box.isVisible, timeout=30000)
    click(qtbot, panel.skip_baseline_button)
    assert panel.baseline_message.isVisible()
    assert panel.baseline_message.text().startswith("No baseline stored for this client yet")
    assert window.state == "calibrating" and panel.baseline_box.isVisible()


# -- 3. markers, notes and cues on the plots; undo ----------------------------------------------------------
def test_markers_and_notes_are_drawn_and_the_last_marker_can_be_undone(qtbot, app, tmp_path: Path) -> None:
    built = app("--simulate", "--speed", "20", "--record", "--recordings", str(tmp_path / "lib"))
    window, panel, plots = built.window, built.window.panel, built.window.plots
    qtbot.waitUntil(lambda: plots.rr.n > 5 and built.engine.recording is not None, timeout=30000)
    assert not panel.undo_button.isEnabled()
    focus(qtbot, window)
    press(qtbot, window, QtCore.Qt.Key.Key_R)
    press(qtbot, window, QtCore.Qt.Key.Key_O)
    press(qtbot, window, QtCore.Qt.Key.Key_N)
    qtbot.waitUntil(panel.note.hasFocus, timeout=5000)
    qtbot.keyClicks(panel.note, "shoulders dropped")
    press(qtbot, window, QtCore.Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(plots.marks) == 3, timeout=10000)
    drawn = sorted((line.mark_kind, line.mark_text) for line in plots.marks.values())
    assert drawn == [("marker", "orienting"), ("marker", "resource"), ("note", "shoulders dropped")]
    orienting = next(line for line in plots.marks.values() if line.mark_text == "orienting")
    assert orienting in plots.band.items and 0 < orienting.value() <= plots.now_s + 5  # at its time, on the HR plot
    assert panel.undo_button.isEnabled()

    press(qtbot, window, QtCore.Qt.Key.Key_Z, QtCore.Qt.KeyboardModifier.ControlModifier)  # the last marker
    qtbot.waitUntil(lambda: logged(window, "undo: marker orienting") is not None, timeout=10000)
    assert sorted(line.mark_text for line in plots.marks.values()) == ["resource", "shoulders dropped"]
    assert orienting not in plots.band.items
    struck = logged(window, "marker: orienting")
    assert struck.font().strikeOut() and struck.text().endswith("(undone)")
    assert not logged(window, "marker: resource").font().strikeOut()

    click(qtbot, panel.undo_button)  # the one before it
    qtbot.waitUntil(lambda: logged(window, "undo: marker resource") is not None, timeout=10000)
    assert [line.mark_kind for line in plots.marks.values()] == ["note"]  # notes stay
    assert not panel.undo_button.isEnabled()

    engine = built.engine
    engine.stop()
    events = [e for e in read_session(engine.recording).events if isinstance(e, TimelineEvent)]
    markers = {e.data["label"]: e.host_ns for e in events if e.kind == "marker"}
    assert set(markers) == {"resource", "orienting"}  # a session is a record: the markers stay
    undos = [(e.data["of"], e.data["host_ns"], e.data["label"]) for e in events if e.kind == "undo"]
    assert undos == [("marker", markers["orienting"], "orienting"), ("marker", markers["resource"], "resource")]
    # the review list shows them as undone (not on the strip), the report leaves them out
    from somafeedback.reports.content import session_content
    from somafeedback.ui.review_events import entries_of

    listed = {(e.kind, e.text) for e in entries_of(read_session(engine.recording))}
    assert {("undone", "marker: orienting (undone live)"), ("undone", "marker: resource (undone live)")} <= listed
    assert not any(kind == "marker" for kind, _ in listed)
    assert session_content(engine.recording).markers == ()


# -- 4. a new suggestion is noticeable ----------------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_new_suggestion_lights_up_fades_and_may_sound(qtbot, app) -> None:
    from somafeedback.ui.practitioner_window import SUGGESTION_SOUND_KEY

    built = app("--simulate", "sustained-activation", "--speed", "60", "--no-client-view", start=False)
    window, panel = built.window, built.window.panel
    clock = FakeClock()
    panel.clock = clock
    assert not window.sound_action.isChecked()  # off by default
    window.sound_action.trigger()  # Session → Soft sound with each new suggestion
    assert window.settings.suggestion_sound and window.settings.store.value(SUGGESTION_SOUND_KEY) in (True, "true")
    # at 60x a suggestion would expire (45 s) within a wall second: this one waits for the snooze below
    built.engine.options.cues = dataclasses.replace(built.engine.options.cues, expire_s=1e6)
    built.engine.start()
    qtbot.waitUntil(lambda: window.pending_cue is not None, timeout=90000)
    assert panel.highlight_level() == 1.0
    strong = panel.highlight_colour()
    assert strong is not None and strong.alpha() > 150
    clock.t += 2.0
    window.on_frame()
    assert panel.highlight_level() == pytest.approx(0.5)
    assert 0 < panel.highlight_colour().alpha() < strong.alpha()  # fading
    clock.t += 2.5
    window.on_frame()
    assert panel.highlight_level() == 0.0 and panel.highlight_colour() is None  # gone: the card looks as before
    assert window.chimes.requested >= 1  # the soft tone was asked for; without sound here, a plain note instead
    assert window.chimes.message == "Sound is not available on this computer; the practice continues without chimes."

    focus(qtbot, window)
    press(qtbot, window, QtCore.Qt.Key.Key_S)  # snooze
    qtbot.waitUntil(lambda: panel.cue_status.isVisible() and "snoozed until" in panel.cue_status.text(), timeout=10000)
    shown = re.search(r"snoozed until (\d+):(\d\d)", panel.cue_status.text())
    until_s = 60 * int(shown.group(1)) + int(shown.group(2))
    snoozed = logged(window, "cue snoozed")
    m, s = map(int, snoozed.text().split()[0].split(":"))
    assert abs(until_s - (60 * m + s + 300)) <= 1  # the snooze's time on the session clock, plus 5 min
    press(qtbot, window, QtCore.Qt.Key.Key_M)
    assert "cues muted" in panel.cue_status.text() and panel.cue_status.isVisible()
    press(qtbot, window, QtCore.Qt.Key.Key_M)
    assert "cues muted" not in panel.cue_status.text()


def test_sound_on_suggestions_is_off_by_default_and_persists(qtbot, app, tmp_path: Path) -> None:
    built = app("--simulate", "--speed", "20", "--no-client-view", start=False)
    window = built.window
    assert not window.sound_action.isChecked()
    window.sound_action.trigger()
    again = app("--simulate", "--speed", "20", "--no-client-view", start=False)
    assert again.window.sound_action.isChecked()


# -- 5. the exercise's purpose and cautions before pushing ----------------------------------------------------
def test_choosing_an_exercise_shows_its_purpose_length_and_cautions(qtbot, app, library) -> None:
    built = app("--simulate", "--speed", "20", start=False)
    panel = built.window.panel
    assert not panel.push_button.isEnabled()  # nothing chosen, nothing to push
    exercise = library["feet-and-seat-grounding"]
    assert exercise.cautions
    titles = [panel.exercise_list.item(i).text() for i in range(panel.exercise_list.count())]
    assert f"{exercise.title}  ({exercise.duration_text})" in titles
    select_exercise(qtbot, panel, exercise.id)
    shown = panel.exercise_details.text()
    plain = QtGui.QTextDocumentFragment.fromHtml(shown).toPlainText()
    assert exercise.title in plain and exercise.duration_text in plain and exercise.purpose in plain
    for caution in exercise.cautions:
        assert caution in plain
    assert panel.push_button.isEnabled()


# -- 6. numbers on the client view persist ----------------------------------------------------------------
def test_numbers_on_the_client_view_persist(qtbot, app, tmp_path: Path) -> None:
    settings_file = tmp_path / "numbers.ini"
    built = app("--simulate", "--speed", "20", settings_file=settings_file, start=False)
    view = next(m for m in built.window.menuBar().findChildren(QtWidgets.QMenu) if m.title() == "&View")
    numbers = next(a for a in view.actions() if a.text() == "Show numbers on the client view")
    assert not numbers.isChecked() and not built.client.numbers_visible()
    numbers.trigger()  # what a click on the menu item does
    assert built.client.numbers_visible()
    again = app("--simulate", "--speed", "20", settings_file=settings_file, start=False)
    assert again.window.numbers_action.isChecked() and again.client.numbers_visible()


# -- 7. plain messages ------------------------------------------------------------------------------------
def test_no_strap_message_is_plain_with_the_button_that_does_it(qtbot, app) -> None:
    built = app("--speed", "20")  # no --simulate, no strap here
    window = built.window
    qtbot.waitUntil(window.banner.isVisible, timeout=30000)
    text = window.banner_text.text()
    assert "simulated strap" in text and window.simulator_button.isVisibleTo(window)
    assert not re.search(r"Error|Exception|NoStrapFound|Traceback|somafeedback \w|--simulate|pip ", text)


def test_plain_message_drops_exception_names_and_commands() -> None:
    from somafeedback.ui.practitioner_window import plain_message

    assert plain_message("LslUnavailable: the liblsl library is missing. Install it with: pip install pylsl") == \
        "The liblsl library is missing."
    assert plain_message("/x/s.session.sqlite: the session holds no heartbeats to report") == \
        "/x/s.session.sqlite: the session holds no heartbeats to report."


# -- 8. a filling window is not a low signal ------------------------------------------------------------------
def test_the_strap_table_says_filling_not_invalid_while_the_window_fills(qtbot, app) -> None:
    built = app("--simulate", "--speed", "max", "--no-client-view", start=False)  # its own clock: no wall-clock gap
    devices = built.window.devices
    shown: list[str] = []  # every text the signal cell took, in order (a frame may drain many beats at once)
    quality = devices.quality

    def record(strap_id, validity, filled_s=None) -> None:
        quality(strap_id, validity, filled_s)
        if strap_id == "strap1":
            shown.append(devices.cell(strap_id, "signal"))

    devices.quality = record
    built.engine.start()
    qtbot.waitUntil(lambda: "0 % rejected" in shown, timeout=60000)
    filling = shown[:shown.index("0 % rejected")]
    assert filling[0] == "filling (0 of 60 s)" and filling[-1] in ("filling (59 of 60 s)", "filling (60 of 60 s)")
    assert all(re.fullmatch(r"filling \(\d+ of 60 s\)", text) for text in filling)  # counts up, never "not valid"


def test_a_bluetooth_problem_reads_plainly() -> None:
    from somafeedback.ui.practitioner_window import plain_message

    text = plain_message("No strap found: this machine has no usable Bluetooth adapter or Bluetooth service "
                         "(BleakError: org.bluez not found).\nTo try somafeedback without a strap, use the built-in "
                         "simulated strap: somafeedback stream --simulate")
    assert text == "No strap found: this machine has no usable Bluetooth adapter or Bluetooth service."


# -- phases marked live ---------------------------------------------------------------------------------------
def test_phases_marked_live_with_ctrl_digits_become_the_sessions_phases(qtbot, app, tmp_path: Path) -> None:
    """Ctrl+1 baseline, Ctrl+2 practice, Ctrl+3 recovery: recorded as ``phase`` events, logged and drawn, and
    read back by the review's and the report's phases (somafeedback.sessions.segments.phase_segments)."""
    from somafeedback.sessions.segments import phase_segments

    built = app("--simulate", "--speed", "20", "--record", "--recordings", str(tmp_path / "lib"), "--no-client-view")
    window, plots, engine = built.window, built.window.plots, built.engine
    qtbot.waitUntil(lambda: plots.rr.n > 5 and engine.recording is not None, timeout=30000)
    focus(qtbot, window)
    for digit, at_beats in ((QtCore.Qt.Key.Key_1, 5), (QtCore.Qt.Key.Key_2, 40), (QtCore.Qt.Key.Key_3, 80)):
        qtbot.waitUntil(lambda n=at_beats: plots.rr.n > n, timeout=30000)
        press(qtbot, window, digit, QtCore.Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: logged(window, "phase: recovery starts") is not None, timeout=10000)
    assert logged(window, "phase: baseline starts") and logged(window, "phase: practice starts")
    assert sorted(line.mark_text for line in plots.marks.values() if line.mark_kind == "phase") == [
        "baseline starts", "practice starts", "recovery starts"]
    engine.stop()
    session = read_session(engine.recording)
    events = [e for e in session.events if isinstance(e, TimelineEvent)]
    starts = [e.host_ns for e in events if e.kind == "phase"]
    assert [e.data["phase"] for e in events if e.kind == "phase"] == ["baseline", "practice", "recovery"]
    phases = phase_segments(events, engine.session_origin_ns, 10_000.0)
    assert [p.label for p in phases] == ["baseline", "practice", "recovery"]
    assert [p.start_s for p in phases] == pytest.approx([(ns - engine.session_origin_ns) / 1e9 for ns in starts])
