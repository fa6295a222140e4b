"""The client screen and the pacer widget, headless (pytest-qt, offscreen).

Time is a fake session clock advanced by hand: the screen and the pacer must follow the
clock, not timer ticks.
"""

from __future__ import annotations

import ast
import dataclasses
import math
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtGui  # noqa: E402

from somafeedback.regulation.exercises import Exercise, Step, builtin_exercises  # noqa: E402
from somafeedback.regulation.pacer import Pacer, PacerSettings  # noqa: E402
from somafeedback.ui import client_screen as client_screen_module  # noqa: E402
from somafeedback.ui import pacer_widget as pacer_widget_module  # noqa: E402
from somafeedback.ui.client_screen import RESTING_TEXT, ClientScreen, client_texts, format_numbers  # noqa: E402
from somafeedback.ui.pacer_widget import MAX_RADIUS_FRACTION, MIN_RADIUS_FRACTION, PacerWidget  # noqa: E402

from layout_checks import clipped, settle  # noqa: E402

BANNED = ("diagnos", "vagal", "dorsal", "ventral", "shutdown", "trauma", "stress", "activated", "score")
SLOW = PacerSettings(inhale_s=4, exhale_s=6)


class FakeClock:
    """Session seconds, moved by the test."""

    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _exercise(*steps: Step, id: str = "test-exercise") -> Exercise:
    return Exercise(
        id=id, title="Test practice", purpose="For the tests.", steps=steps, entry_trigger="-",
        exit_condition="-", cautions=(), where=frozenset({"session"}), role="other", source=Path(f"{id}.toml"),
    )


THREE_STEPS = _exercise(
    Step("You can stop at any time.", 5),
    Step("Breathe along with the pacer.", 10, SLOW),
    Step("Notice the support under you.", 3),
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(100.0)


@pytest.fixture
def screen(qtbot, clock: FakeClock) -> ClientScreen:
    widget = ClientScreen(clock)
    qtbot.addWidget(widget)
    widget.resize(900, 640)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


# --- resting view ---------------------------------------------------------------------------


def test_resting_view_by_default(screen: ClientScreen) -> None:
    assert screen.windowTitle() == "somafeedback — client view"
    assert screen.current_text() == RESTING_TEXT
    assert screen.is_resting()
    assert not screen.pacer_visible()
    assert screen.current_step_index() is None
    assert screen.numbers_text() == ""


# --- exercises ------------------------------------------------------------------------------


def test_exercise_shows_one_step_at_a_time_by_the_clock(qtbot, screen: ClientScreen, clock: FakeClock) -> None:
    with qtbot.waitSignal(screen.step_changed) as first:
        screen.show_exercise(THREE_STEPS, started_at_s=100.0)
    assert first.args == [0]
    assert screen.current_step_index() == 0
    assert screen.current_text() == "You can stop at any time."
    assert screen.current_title() == "Test practice"
    assert not screen.pacer_visible()

    clock.t = 104.9
    screen.refresh()
    assert screen.current_step_index() == 0

    clock.t = 105.0  # step 1 lasts 5 s
    screen.refresh()
    assert screen.current_step_index() == 1
    assert screen.current_text() == "Breathe along with the pacer."
    assert screen.pacer_visible()

    clock.t = 115.0
    screen.refresh()
    assert screen.current_step_index() == 2
    assert not screen.pacer_visible()

    clock.t = 118.0
    with qtbot.waitSignal(screen.exercise_finished) as finished:
        screen.refresh()
    assert finished.args == ["test-exercise"]
    assert screen.is_resting()
    assert screen.current_text() == RESTING_TEXT
    assert screen.current_step_index() is None
    assert not screen.pacer_visible()


def test_the_step_timer_follows_the_clock_without_help(qtbot, screen: ClientScreen, clock: FakeClock) -> None:
    screen.show_exercise(THREE_STEPS, started_at_s=100.0)
    clock.t = 106.0
    qtbot.waitUntil(lambda: screen.current_step_index() == 1, timeout=2000)
    clock.t = 200.0
    qtbot.waitUntil(screen.is_resting, timeout=2000)


def test_a_jump_in_time_lands_on_the_right_step(screen: ClientScreen, clock: FakeClock) -> None:
    clock.t = 50.0  # before the start: the first step waits
    screen.show_exercise(THREE_STEPS, started_at_s=100.0)
    assert screen.current_step_index() == 0
    clock.t = 116.5  # straight into the last step (a late tick, a replay)
    screen.refresh()
    assert screen.current_step_index() == 2
    assert screen.current_text() == "Notice the support under you."


def test_the_exercise_pacer_starts_with_its_step_and_runs_on_across_pacer_steps(screen: ClientScreen, clock: FakeClock) -> None:
    slower = PacerSettings.from_rate(5.0)
    exercise = _exercise(Step("Arrive.", 4), Step("Breathe.", 10, SLOW), Step("Keep going.", 10, SLOW),
                         Step("Slower now.", 12, slower))
    screen.show_exercise(exercise, started_at_s=100.0)
    reference = Pacer(SLOW, 104.0)  # the run of pacer steps starts with an inhale at 104 s
    reference.set_settings(slower, 124.0)
    widget = screen.pacer_widget()
    for t in (104.0, 106.0, 113.9, 114.0, 117.3, 123.99, 124.0, 124.01, 130.0, 135.5):
        clock.t = t
        screen.refresh()
        assert screen.pacer_visible()
        assert widget.current_level() == pytest.approx(reference.at(t).target_level, abs=1e-9), t
    assert screen.current_step_index() == 3


# --- one-line cues, the pacer alone, clear ---------------------------------------------------------


def test_show_text_and_clear(screen: ClientScreen) -> None:
    screen.show_text("  You can let the breath be smaller and slower.  ")
    assert screen.current_text() == "You can let the breath be smaller and slower."
    assert not screen.is_resting() and not screen.pacer_visible()
    screen.clear()
    assert screen.is_resting() and screen.current_text() == RESTING_TEXT
    screen.show_text("   ")  # nothing to say: back to resting
    assert screen.is_resting()


def test_show_text_replaces_a_running_exercise(screen: ClientScreen, clock: FakeClock) -> None:
    screen.show_exercise(THREE_STEPS, started_at_s=95.0)  # in the pacer step
    assert screen.pacer_visible()
    screen.show_text("Let's come back to the feet for a moment.")
    assert screen.current_step_index() is None and screen.current_exercise() is None
    assert not screen.pacer_visible()
    clock.t = 200.0
    screen.refresh()
    assert screen.current_text() == "Let's come back to the feet for a moment."


def test_the_pacer_alone_retimes_phase_continuously(screen: ClientScreen, clock: FakeClock) -> None:
    screen.show_pacer(SLOW, at_s=100.0)
    assert screen.pacer_visible() and screen.current_text() == ""
    faster = PacerSettings.from_rate(6.5)
    screen.show_pacer(faster, at_s=107.0)
    reference = Pacer(SLOW, 100.0)
    reference.set_settings(faster, 107.0)
    for t in (103.0, 107.0, 109.5, 121.0):
        clock.t = t
        assert screen.pacer_widget().current_level() == pytest.approx(reference.at(t).target_level)
    screen.show_pacer(None)
    assert screen.is_resting()


# --- numbers ---------------------------------------------------------------------------------


def test_numbers_are_hidden_by_default_and_shown_only_when_visible_and_valid(screen: ClientScreen) -> None:
    screen.update_numbers(66.2, 37.8, True)
    assert not screen.numbers_visible() and screen.numbers_text() == ""
    screen.set_numbers_visible(True)
    assert screen.numbers_text() == "HR 66 bpm · RMSSD 38 ms"
    screen.update_numbers(70.0, 30.0, False)
    assert screen.numbers_text() == ""
    screen.update_numbers(None, None, True)
    assert screen.numbers_text() == ""
    screen.update_numbers(64.0, None, True)
    assert screen.numbers_text() == "HR 64 bpm"
    screen.set_numbers_visible(False)
    assert screen.numbers_text() == ""
    assert format_numbers(float("nan"), 41.4) == "RMSSD 41 ms"


# --- window -----------------------------------------------------------------------------------


def _full_screen(widget: ClientScreen) -> bool:
    return widget.isFullScreen() or bool(widget.windowState() & QtCore.Qt.WindowState.WindowFullScreen)


def test_full_screen_toggles(qtbot, screen: ClientScreen) -> None:
    assert not _full_screen(screen)
    screen.toggle_full_screen()
    assert _full_screen(screen)
    screen.toggle_full_screen()
    assert not _full_screen(screen)
    screen.toggle_full_screen()
    screen.leave_full_screen()  # what Escape does
    assert not _full_screen(screen)
    screen.leave_full_screen()  # harmless when not full screen
    assert not _full_screen(screen)


def test_f11_and_escape_shortcuts(qtbot, screen: ClientScreen) -> None:
    screen.activateWindow()
    screen.setFocus()
    qtbot.keyClick(screen, QtCore.Qt.Key.Key_F11)
    if not _full_screen(screen):
        pytest.skip("this platform plugin does not deliver shortcuts to an inactive window")
    qtbot.keyClick(screen, QtCore.Qt.Key.Key_Escape)
    assert not _full_screen(screen)


def test_move_to_screen(screen: ClientScreen) -> None:
    screens = QtGui.QGuiApplication.screens()
    assert screen.move_to_screen(99) is False
    if len(screens) < 2:
        before = screen.geometry()
        assert screen.move_to_screen(0) is False
        assert screen.geometry() == before
    else:
        assert screen.move_to_screen(1) is True
        assert screens[1].geometry().contains(screen.geometry().center())


# --- transitions --------------------------------------------------------------------------------


def test_view_changes_fade_in_briefly(qtbot, screen: ClientScreen) -> None:
    screen.show_text("Take a moment to look around the room.")
    assert screen.current_text() == "Take a moment to look around the room."  # at once, before the fade ends
    assert screen.is_fading()
    qtbot.waitUntil(lambda: not screen.is_fading(), timeout=1000)
    screen.set_fade_ms(5000)
    screen.clear()
    qtbot.waitUntil(lambda: not screen.is_fading(), timeout=1000)  # capped at 400 ms
    screen.set_fade_ms(0)
    screen.show_text("Notice your feet.")
    assert not screen.is_fading()


# --- long texts are never cut off (issue #13, defect 3) -------------------------------------------


def _show_step(screen: ClientScreen, clock: FakeClock, exercise: Exercise, index: int) -> None:
    """Show step ``index`` of ``exercise`` as the clock's current step."""
    screen.show_exercise(exercise, clock.t - sum(step.seconds for step in exercise.steps[:index]) - 0.1)
    assert screen.current_step_index() == index


def test_pendulation_step_1_shows_whole_at_1024_by_700(screen: ClientScreen, clock: FakeClock) -> None:
    screen.set_fade_ms(0)
    screen.resize(1024, 700)
    exercise = builtin_exercises()["titrated-pendulation"]
    _show_step(screen, clock, exercise, 0)  # four lines without the pacer: once cut at the top and bottom
    settle()
    assert not screen.pacer_visible() and screen.current_text() == exercise.steps[0].text
    label = screen.text_label()
    assert label.heightForWidth(label.width()) > 3 * label.fontMetrics().lineSpacing()  # it does wrap to 4 lines
    assert clipped(label, screen) == ""
    assert clipped(screen.title_label(), screen) == ""


@pytest.mark.parametrize("size", [(1024, 700), (480, 360)])
def test_every_script_step_shows_whole_beside_the_title_pacer_and_numbers(
        screen: ClientScreen, clock: FakeClock, size: tuple[int, int]) -> None:
    screen.set_fade_ms(0)
    screen.resize(*size)  # 480 x 360 is the smallest the window gets: long texts shrink to fit
    screen.set_numbers_visible(True)
    screen.update_numbers(66.0, 38.0, True)
    problems = []
    for exercise in builtin_exercises().values():
        for index in range(len(exercise.steps)):
            _show_step(screen, clock, exercise, index)
            settle()
            title, text, pacer = screen.title_label(), screen.text_label(), screen.pacer_widget()
            for label in (title, text):
                if why := clipped(label, screen):
                    problems.append(f"{exercise.id} step {index + 1}: {why}")
            if title.geometry().bottom() >= text.geometry().top():
                problems.append(f"{exercise.id} step {index + 1}: the title overlaps the text")
            if screen.pacer_visible() and text.geometry().bottom() >= pacer.geometry().top():
                problems.append(f"{exercise.id} step {index + 1}: the text overlaps the pacer")
    assert problems == []


def test_a_long_line_shrinks_to_fit_the_smallest_window(screen: ClientScreen) -> None:
    screen.set_fade_ms(0)
    screen.resize(480, 360)
    screen.set_numbers_visible(True)
    screen.update_numbers(66.0, 38.0, True)
    screen.show_text("Short line.")
    settle()
    usual = screen.text_label().font().pixelSize()
    long_line = " ".join(["Notice the chair under you, the floor under your feet and the air on your skin."] * 6)
    screen.show_text(long_line)
    settle()
    assert clipped(screen.text_label(), screen) == ""
    assert screen.text_label().font().pixelSize() < usual  # smaller rather than cut off
    screen.resize(1024, 700)
    settle()
    assert clipped(screen.text_label(), screen) == ""
    assert screen.text_label().font().pixelSize() > usual  # and larger again with more room


# --- one clock for the screen and its pacer (issue #13, defect 8) ---------------------------------


def test_set_clock_moves_the_screen_and_its_pacer_to_the_new_clock(screen: ClientScreen, clock: FakeClock) -> None:
    screen.show_exercise(THREE_STEPS, started_at_s=90.0)  # 10 s in: the pacer step
    assert screen.current_step_index() == 1 and screen.pacer_visible()
    new = FakeClock(3.0)  # a new engine's clock starts near zero
    screen.set_clock(new)
    assert screen.clock is new and screen.pacer_widget().clock is new
    assert screen.is_resting() and not screen.pacer_widget().has_pacer()  # old start times mean nothing now

    screen.show_exercise(THREE_STEPS, started_at_s=new())
    assert screen.current_step_index() == 0  # not "finished" by the old clock's 100 s
    new.t = 9.0
    screen.refresh()
    assert screen.current_step_index() == 1 and screen.pacer_visible()
    assert screen.pacer_widget().state() == Pacer(SLOW, 8.0).at(9.0)  # the pacer reads the new clock too
    clock.t = 10_000.0  # the old clock no longer matters
    screen.refresh()
    assert screen.current_step_index() == 1


def test_the_clock_is_never_replaced_by_assignment(screen: ClientScreen, pacer_widget: PacerWidget) -> None:
    with pytest.raises(AttributeError):
        screen.clock = FakeClock(0.0)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        pacer_widget.clock = FakeClock(0.0)  # type: ignore[misc]


# --- pacer widget -------------------------------------------------------------------------------


@pytest.fixture
def pacer_widget(qtbot, clock: FakeClock) -> PacerWidget:
    widget = PacerWidget(clock)
    qtbot.addWidget(widget)
    widget.resize(300, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_pacer_radius_follows_the_clock(pacer_widget: PacerWidget, clock: FakeClock) -> None:
    pacer_widget.set_pacer(SLOW, at_s=10.0)
    reference = Pacer(SLOW, 10.0)
    # out of order on purpose: the drawing is a function of the clock, not of earlier frames
    for t in (14.0, 10.0, 11.0, 12.0, 17.0, 20.0, 5.0, 23.3, 1234.5):
        clock.t = t
        expected = reference.at(t).target_level
        assert pacer_widget.current_level() == pytest.approx(expected, abs=1e-12)
        pacer_widget.repaint()
        assert pacer_widget.last_drawn_radius() == pytest.approx(pacer_widget.radius_for_level(expected))
    clock.t = 14.0  # end of the in-breath: the full circle
    assert pacer_widget.current_radius() == pytest.approx(150 * MAX_RADIUS_FRACTION)
    clock.t = 20.0  # end of the out-breath: the small circle
    assert pacer_widget.current_radius() == pytest.approx(150 * MIN_RADIUS_FRACTION)


def test_pacer_settings_change_is_phase_continuous(pacer_widget: PacerWidget, clock: FakeClock) -> None:
    pacer_widget.set_pacer(SLOW, at_s=0.0)
    faster = PacerSettings.from_rate(6.5)
    clock.t = 12.5
    before = pacer_widget.current_level()
    pacer_widget.set_pacer(faster)  # now
    assert pacer_widget.current_level() == pytest.approx(before)
    reference = Pacer(SLOW, 0.0)
    reference.set_settings(faster, 12.5)
    for t in (13.0, 15.2, 40.0):
        clock.t = t
        assert pacer_widget.current_level() == pytest.approx(reference.at(t).target_level)
    pacer_widget.set_pacer(SLOW, at_s=1.0)  # a time before the last change counts as that change
    assert pacer_widget.pacer().changes[-1] == (12.5, SLOW)


def test_pacer_frame_timer_runs_only_while_visible_with_a_pacer(pacer_widget: PacerWidget) -> None:
    assert not pacer_widget.frame_timer_active() and pacer_widget.current_level() is None
    assert pacer_widget.current_radius() == 0.0
    pacer_widget.set_pacer(SLOW, at_s=0.0)
    assert pacer_widget.frame_timer_active()
    pacer_widget.hide()
    assert not pacer_widget.frame_timer_active()
    pacer_widget.show()
    assert pacer_widget.frame_timer_active()
    pacer_widget.set_pacer(None)
    assert not pacer_widget.frame_timer_active() and not pacer_widget.has_pacer()
    pacer_widget.repaint()
    assert pacer_widget.last_drawn_radius() is None


def test_phase_label_is_a_property(pacer_widget: PacerWidget, clock: FakeClock) -> None:
    pacer_widget.set_pacer(PacerSettings(inhale_s=4, hold_in_s=1, exhale_s=6), at_s=0.0)
    clock.t = 1.0
    assert pacer_widget.current_phase_label() is None  # hidden by default
    assert pacer_widget.setProperty("phaseLabelVisible", True) is True
    assert pacer_widget.property("phaseLabelVisible") is True
    assert pacer_widget.current_phase_label() == "breathe in"
    clock.t = 4.5
    assert pacer_widget.current_phase_label() == "hold"
    clock.t = 7.0
    assert pacer_widget.current_phase_label() == "breathe out"
    pacer_widget.repaint()  # the label strip makes room: the circle still fits
    assert pacer_widget.last_drawn_radius() < 150 * MAX_RADIUS_FRACTION


# --- words and looks ------------------------------------------------------------------------------


def _string_literals(path: Path) -> list[str]:
    """Every string constant in a module that is not a docstring."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body
        and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_no_banned_words_on_the_client_screen() -> None:
    texts = list(client_texts())
    for module in (client_screen_module, pacer_widget_module):
        texts += _string_literals(Path(module.__file__))
    for exercise in builtin_exercises().values():  # what the script cards show
        texts += [exercise.title, *(step.text for step in exercise.steps)]
    assert RESTING_TEXT in texts and "breathe out" in texts and len(texts) > 50
    offending = [(word, text) for text in texts for word in BANNED if word in text.lower()]
    assert not offending


def _reddish_pixels(image: QtGui.QImage) -> int:
    count = 0
    for y in range(0, image.height(), 7):
        for x in range(0, image.width(), 7):
            colour = image.pixelColor(x, y)
            if colour.red() > colour.green() + 50 and colour.red() > colour.blue() + 50:
                count += 1
    return count


def test_screenshots_of_the_resting_view_and_an_exercise_step(screen: ClientScreen, clock: FakeClock, tmp_path: Path) -> None:
    screen.set_fade_ms(0)
    screen.set_phase_label_visible(True)
    resting = tmp_path / "client-resting.png"
    assert screen.grab().save(str(resting))
    exercise = builtin_exercises()["low-and-slow-breathing"]
    screen.show_exercise(exercise, started_at_s=70.0)  # 30 s in: the first pacer step
    clock.t = 101.5
    assert screen.pacer_visible()
    step = tmp_path / "client-exercise-step.png"
    pixmap = screen.grab()
    assert pixmap.save(str(step))
    for path in (resting, step):
        assert path.stat().st_size > 1000
        image = QtGui.QImage(str(path))
        assert not image.isNull() and _reddish_pixels(image) == 0
    assert not math.isnan(screen.pacer_widget().current_radius())


# --- step n of N and the time left (issue #13) ------------------------------------------------------


def _expected_step_line(number: int, count: int, seconds_left: float | None) -> str:
    """Worked out here, not with the module's formatter: whole seconds counted up, m:ss."""
    line = f"Step {number} of {count}"
    if seconds_left is None:
        return line
    whole = math.ceil(seconds_left)
    return f"{line} · {whole // 60}:{whole % 60:02d} left"


def test_step_n_of_n_and_the_time_left_follow_the_clock_through_a_library_exercise(
        qtbot, screen: ClientScreen, clock: FakeClock) -> None:
    exercise = builtin_exercises()["low-and-slow-breathing"]
    count, total = len(exercise.steps), sum(step.seconds for step in exercise.steps)
    assert count >= 4 and screen.step_line() == ""  # nothing while resting
    screen.show_exercise(exercise, started_at_s=100.0)
    assert screen.step_line() == _expected_step_line(1, count, total)
    start = 100.0
    for index, step in enumerate(exercise.steps):
        for into in (0.0, 0.4, step.seconds / 2, step.seconds - 0.25):
            clock.t = start + into
            elapsed = clock.t - 100.0
            expected = _expected_step_line(index + 1, count, total - elapsed)
            qtbot.waitUntil(lambda expected=expected: screen.step_line() == expected, timeout=5000)  # the step timer
            state = screen.view_state()
            assert (state.kind, state.exercise_title, state.step_index, state.step_number, state.step_count) == (
                "exercise", exercise.title, index, index + 1, count)
            assert state.text == step.text and state.pacer_visible == (step.pacer is not None)
            assert state.step_seconds_left == pytest.approx(step.seconds - into)
            assert state.exercise_seconds_left == pytest.approx(total - elapsed)
            if step.pacer is not None:
                assert state.pacer_rate_bpm == pytest.approx(60.0 / (step.pacer.inhale_s + step.pacer.exhale_s))
            else:
                assert state.pacer_rate_bpm is None
        start += step.seconds
    assert screen.step_label().isVisible()
    clock.t = 100.0 + total
    qtbot.waitUntil(screen.is_resting, timeout=5000)
    assert screen.step_line() == "" and not screen.step_label().isVisible()
    state = screen.view_state()
    assert state.kind == "resting" and state.finished and state.step_index is None
    screen.show_text("Notice your feet.")
    assert not screen.view_state().finished and screen.view_state().kind == "text"


def test_the_time_left_is_hidden_by_the_setting(qtbot, screen: ClientScreen, clock: FakeClock, tmp_path: Path) -> None:
    from PySide6 import QtWidgets

    from somafeedback.ui.settings import AppSettings, SettingsDialog

    path = str(tmp_path / "settings.ini")
    settings = AppSettings(QtCore.QSettings(path, QtCore.QSettings.Format.IniFormat))
    assert settings.client_time_left is True  # shown by default
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    box = dialog.fields["client/time_left"]
    assert isinstance(box, QtWidgets.QCheckBox) and box.isChecked()
    qtbot.mouseClick(box, QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(4, box.height() // 2))
    assert not box.isChecked()
    dialog.accept()
    again = AppSettings(QtCore.QSettings(path, QtCore.QSettings.Format.IniFormat))  # persisted
    assert again.client_time_left is False

    screen.set_time_left_visible(again.client_time_left)
    screen.show_exercise(THREE_STEPS, started_at_s=100.0)
    clock.t = 106.0
    qtbot.waitUntil(lambda: screen.current_step_index() == 1, timeout=5000)
    assert screen.step_line() == "Step 2 of 3"
    assert not screen.view_state().time_left_visible
    assert screen.view_state().exercise_seconds_left == pytest.approx(12.0)  # still known, just not shown
    screen.set_time_left_visible(True)
    assert screen.step_line() == "Step 2 of 3 · 0:12 left"


def test_pacer_only_keeps_the_running_breath_and_clear_returns_to_rest(screen: ClientScreen, clock: FakeClock) -> None:
    screen.show_exercise(THREE_STEPS, started_at_s=100.0)
    clock.t = 107.3  # in the pacer step (its breath started at 105 s)
    screen.refresh()
    assert screen.pacer_visible() and screen.current_text() == "Breathe along with the pacer."
    reference = Pacer(SLOW, 105.0)
    screen.pacer_only()
    assert screen.current_text() == "" and screen.current_title() == "" and screen.step_line() == ""
    assert screen.current_exercise() is None and screen.pacer_visible()
    for t in (107.3, 109.0, 130.0, 200.0):  # the same breath runs on, past the exercise's end
        clock.t = t
        screen.refresh()
        assert screen.pacer_widget().current_level() == pytest.approx(reference.at(t).target_level, abs=1e-9)
    state = screen.view_state()
    assert (state.kind, state.text, state.pacer_visible, state.exercise_title) == ("pacer", "", True, None)
    assert state.pacer_rate_bpm == pytest.approx(6.0)
    screen.clear()
    assert screen.is_resting() and not screen.pacer_visible()
    assert screen.view_state().kind == "resting" and not screen.view_state().finished

    clock.t = 300.0
    screen.pacer_only()  # nothing running: the pattern last shown here starts now
    assert screen.pacer_visible() and screen.pacer_widget().pacer().changes == ((300.0, SLOW),)
    screen.show_text("A line.")
    screen.pacer_only(PacerSettings.from_rate(5.0))
    assert screen.pacer_widget().pacer().settings == PacerSettings.from_rate(5.0)
    assert screen.current_text() == ""


@pytest.mark.parametrize("size", [(1024, 700), (1100, 800), (480, 360)])
def test_the_step_line_never_crowds_long_texts(screen: ClientScreen, clock: FakeClock, size: tuple[int, int]) -> None:
    screen.set_fade_ms(0)
    screen.resize(*size)
    screen.set_numbers_visible(True)
    screen.update_numbers(66.0, 38.0, True)
    long_text = " ".join(["Notice the chair under you, the floor under your feet and the air on your skin."] * 5)
    long_title = "A practitioner's own exercise with a rather long title that wraps on a small window"
    exercises = [*builtin_exercises().values(),
                 _exercise(Step(long_text, 30), Step(long_text, 30, SLOW), id="long-texts")]
    exercises[-1] = dataclasses.replace(exercises[-1], title=long_title)
    problems = []
    for exercise in exercises:
        for index in range(len(exercise.steps)):
            _show_step(screen, clock, exercise, index)
            settle()
            step, text = screen.step_label(), screen.text_label()
            where = f"{exercise.id} step {index + 1} at {size}"
            assert step.isVisible() and screen.step_line().startswith(f"Step {index + 1} of {len(exercise.steps)} · ")
            for label in (screen.title_label(), text, step):
                if why := clipped(label, screen):
                    problems.append(f"{where}: {why}")
            step_top = step.mapTo(screen, QtCore.QPoint(0, 0)).y()
            lowest = screen.pacer_widget() if screen.pacer_visible() else text
            lowest_bottom = lowest.mapTo(screen, QtCore.QPoint(0, lowest.height())).y()
            if lowest_bottom > step_top:
                problems.append(f"{where}: the step line overlaps the content")
            numbers_top = screen._numbers_label.mapTo(screen, QtCore.QPoint(0, 0)).y()
            if step_top + step.height() > numbers_top:
                problems.append(f"{where}: the step line overlaps the numbers")
            if step.font().pixelSize() >= text.font().pixelSize() and text.font().pixelSize() > 16:
                problems.append(f"{where}: the step line is not smaller than the text")
    assert problems == []
