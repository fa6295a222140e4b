"""The practitioner's mirror of the client view (issue #13), offscreen.

The client view is the one the production factory builds (ui/app.py), moved onto a fake
session clock with ``set_clock``; time moves only when the test moves it.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtWidgets  # noqa: E402

from somafeedback.regulation.exercises import load_exercises  # noqa: E402
from somafeedback.regulation.pacer import Pacer  # noqa: E402
from somafeedback.ui.client_mirror import ClientMirror  # noqa: E402
from somafeedback.ui.client_screen import RESTING_TEXT, ClientScreen  # noqa: E402

from layout_checks import clipped, settle  # noqa: E402

PANEL_WIDTH = 300
MAX_HEIGHT = 130


class FakeClock:
    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def library():
    return load_exercises()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(100.0)


@pytest.fixture
def client(qtbot, tmp_path: Path, library, clock: FakeClock) -> ClientScreen:
    """The client view of the practitioner app, built by the production factory (the engine is not started)."""
    from somafeedback.ui.app import build_parser, build_practitioner_app
    from somafeedback.ui.settings import AppSettings

    settings = AppSettings(QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat))
    built = build_practitioner_app(build_parser().parse_args(["--simulate"]), settings, library)
    assert built.client is not None
    qtbot.addWidget(built.window)
    qtbot.addWidget(built.client)
    built.client.set_clock(clock)
    built.client.set_fade_ms(0)
    built.client.show()
    return built.client


@pytest.fixture
def panel(qtbot, client: ClientScreen) -> tuple[QtWidgets.QWidget, ClientMirror]:
    """A ~300 px side panel holding the mirror, as the practitioner window's side panel will."""
    panel = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(panel)
    mirror = ClientMirror(client)
    layout.addWidget(mirror)
    layout.addStretch(1)
    qtbot.addWidget(panel)
    panel.resize(PANEL_WIDTH, 500)
    panel.show()
    qtbot.waitExposed(panel)
    return panel, mirror


def _expected(title: str, number: int, count: int, seconds_left: float) -> str:
    whole = math.ceil(seconds_left)
    return f"Client sees: {title} — step {number} of {count}, {whole // 60}:{whole % 60:02d} left"


def test_the_mirror_follows_the_client_view_through_a_library_exercise(
        qtbot, client: ClientScreen, panel, clock: FakeClock, library) -> None:
    _, mirror = panel
    assert mirror.text() == "Client sees: the resting screen" and mirror.pacer_text() == "no pacer"
    exercise = library["low-and-slow-breathing"]
    count, total = len(exercise.steps), sum(step.seconds for step in exercise.steps)
    client.show_exercise(exercise, started_at_s=100.0)
    start = 100.0
    for index, step in enumerate(exercise.steps):
        for into in (0.5, step.seconds - 1.5):
            clock.t = start + into
            expected = _expected(exercise.title, index + 1, count, total - (clock.t - 100.0))
            qtbot.waitUntil(lambda expected=expected: mirror.text() == expected, timeout=5000)  # the 5 Hz timer
            rate = None if step.pacer is None else 60.0 / (step.pacer.inhale_s + step.pacer.exhale_s)
            assert mirror.pacer_text() == ("no pacer" if rate is None else f"pacer {rate:g}/min")
            assert client.current_step_index() == index
        start += step.seconds

    client.set_time_left_visible(False)  # hidden from the client, still shown to the practitioner
    qtbot.waitUntil(lambda: client.step_line() == f"Step {count} of {count}", timeout=5000)
    assert mirror.text().endswith(", 0:02 left")

    clock.t = 100.0 + total
    qtbot.waitUntil(lambda: "resting screen" in mirror.text(), timeout=5000)
    assert client.is_resting() and mirror.text() == "Client sees: the resting screen (the exercise has ended)"
    client.show_text("Let's come back to the feet for a moment, and notice the support of the chair under you.")
    qtbot.waitUntil(lambda: mirror.text().startswith("Client sees: “Let's come back"), timeout=5000)
    assert mirror.text().endswith("…”") and mirror.pacer_text() == "no pacer"


def test_clear_button_sends_the_client_view_back_to_rest(qtbot, client: ClientScreen, panel, library) -> None:
    _, mirror = panel
    assert not mirror.clear_button.isEnabled()  # already resting
    client.show_exercise(library["feet-and-seat-grounding"], started_at_s=100.0)
    qtbot.waitUntil(mirror.clear_button.isEnabled, timeout=5000)
    assert mirror.text().startswith("Client sees: Feet")
    qtbot.mouseClick(mirror.clear_button, QtCore.Qt.MouseButton.LeftButton)
    assert client.is_resting() and client.current_text() == RESTING_TEXT and client.current_exercise() is None
    assert mirror.text() == "Client sees: the resting screen" and not mirror.clear_button.isEnabled()

    client.show_text("Notice your feet.")  # the keyboard works too: Space on the focused button
    qtbot.waitUntil(mirror.clear_button.isEnabled, timeout=5000)
    mirror.clear_button.setFocus()
    qtbot.keyClick(mirror.clear_button, QtCore.Qt.Key.Key_Space)
    assert client.is_resting()


def test_pacer_only_button_hides_the_text_and_keeps_the_breath(
        qtbot, client: ClientScreen, panel, clock: FakeClock, library) -> None:
    _, mirror = panel
    exercise = library["low-and-slow-breathing"]
    first_paced = next(i for i, step in enumerate(exercise.steps) if step.pacer is not None)
    paced_from = 100.0 + sum(step.seconds for step in exercise.steps[:first_paced])
    client.show_exercise(exercise, started_at_s=100.0)
    clock.t = paced_from + 7.0
    qtbot.waitUntil(lambda: client.current_step_index() == first_paced, timeout=5000)
    assert client.pacer_visible() and client.current_text() == exercise.steps[first_paced].text
    pacer_settings = exercise.steps[first_paced].pacer
    assert pacer_settings is not None
    reference = Pacer(pacer_settings, paced_from)

    qtbot.mouseClick(mirror.pacer_only_button, QtCore.Qt.MouseButton.LeftButton)
    assert client.current_text() == "" and client.current_title() == "" and client.step_line() == ""
    assert client.current_exercise() is None and client.pacer_visible()
    assert mirror.text() == "Client sees: the pacer alone" and mirror.pacer_text() == "pacer 6/min"
    assert not mirror.pacer_only_button.isEnabled() and mirror.clear_button.isEnabled()
    for t in (clock.t, paced_from + 31.0, 100.0 + exercise.duration_s + 50.0):  # the same breath, past the script's end
        clock.t = t
        assert client.pacer_widget().current_level() == pytest.approx(reference.at(t).target_level, abs=1e-9)
    qtbot.waitUntil(lambda: mirror.state() is not None and mirror.state().kind == "pacer", timeout=5000)

    qtbot.mouseClick(mirror.clear_button, QtCore.Qt.MouseButton.LeftButton)
    assert client.is_resting() and not client.pacer_visible()
    qtbot.mouseClick(mirror.pacer_only_button, QtCore.Qt.MouseButton.LeftButton)  # from rest: the last pattern
    assert client.pacer_visible() and client.pacer_widget().pacer().settings == pacer_settings


@pytest.mark.parametrize("width", [PANEL_WIDTH, 260])
def test_the_mirror_is_compact_and_never_clipped_in_a_side_panel(
        qtbot, client: ClientScreen, panel, clock: FakeClock, library, width: int) -> None:
    from dataclasses import replace

    holder, mirror = panel
    holder.resize(width, 500)
    long_title = "A practitioner's own exercise with a rather long title that goes on and on and on"
    exercise = replace(library["low-and-slow-breathing"], title=long_title)
    views = [
        lambda: client.clear(),
        lambda: client.show_exercise(exercise, started_at_s=clock.t - 40.0),
        lambda: client.show_text(" ".join(["Notice the chair under you and the floor under your feet."] * 4)),
        lambda: client.pacer_only(),
    ]
    for show in views:
        show()
        mirror.refresh()
        settle()
        assert mirror.height() <= MAX_HEIGHT and mirror.sizeHint().height() <= MAX_HEIGHT, mirror.text()
        for label in (mirror.summary_label, mirror.pacer_label):
            assert clipped(label, holder) == "", (width, mirror.text())
        for button in (mirror.clear_button, mirror.pacer_only_button):
            assert button.width() >= button.sizeHint().width() and holder.rect().contains(
                QtCore.QRect(button.mapTo(holder, QtCore.QPoint(0, 0)), button.size()))
        assert mirror.geometry().right() < width


def test_the_refresh_timer_runs_only_while_the_mirror_shows(qtbot, client: ClientScreen, panel) -> None:
    holder, mirror = panel
    assert mirror.timer.isActive() and mirror.timer.interval() == 200
    holder.hide()
    assert not mirror.timer.isActive()
    holder.show()
    assert mirror.timer.isActive()
