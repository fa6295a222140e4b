"""The practitioner's side of safe cues (issue #14), offscreen, driven with real clicks.

* the caution panel before a push: purpose, length, when to use, when to stop, cautions; an
  exercise that turns toward difficult material needs a second, confirming click;
* a pending suggestion shows its exercise's cautions before Approve;
* a pushed exercise can be paused, resumed, stepped back and on, and cleared; each action is
  on the session's timeline, and the mirror follows;
* "Heart rate above this client's usual resting range at the start" with "Re-baseline now";
* the coherence plot carries its caveat.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6 import QtCore, QtGui

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from somafeedback.regulation.cues import SUGGESTION_TEXT  # noqa: E402
from somafeedback.devices.events import TimelineEvent  # noqa: E402
from somafeedback.live.engine import Engine, EngineOptions, EngineSource  # noqa: E402
from somafeedback.regulation.exercises import load_exercises  # noqa: E402
from somafeedback.sessions.file import read_session  # noqa: E402

PENDULATION = "titrated-pendulation"
GROUNDING = "feet-and-seat-grounding"


class FakeClock:
    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def library():
    return load_exercises()


@pytest.fixture
def practitioner(qtbot, library, tmp_path: Path):
    """(engine, window, client view): the practitioner window on a simulated strap, recording into ``tmp_path``."""
    from somafeedback.ui.client_screen import ClientScreen
    from somafeedback.ui.practitioner_window import PractitionerWindow
    from somafeedback.ui.settings import AppSettings

    built: list[Engine] = []

    def build(speed: float = 20.0):
        engine = Engine(EngineSource(simulate="calm", speed=speed, simulated_model="hr"),
                        EngineOptions(record_to=tmp_path), library)
        client = ClientScreen(engine.now_s)
        client.set_fade_ms(0)
        settings = AppSettings(QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat))
        window = PractitionerWindow(engine, library, client, settings=settings)
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


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, QtCore.Qt.MouseButton.LeftButton)


def select_exercise(qtbot, panel, exercise_id: str) -> None:
    """Click the exercise's row in the list, as the practitioner does."""
    row = next(i for i in range(panel.exercise_list.count())
               if panel.exercise_list.item(i).data(QtCore.Qt.ItemDataRole.UserRole) == exercise_id)
    item = panel.exercise_list.item(row)
    panel.exercise_list.scrollToItem(item)
    qtbot.mouseClick(panel.exercise_list.viewport(), QtCore.Qt.MouseButton.LeftButton,
                     pos=panel.exercise_list.visualItemRect(item).center())


def plain(html_text: str) -> str:
    return " ".join(QtGui.QTextDocumentFragment.fromHtml(html_text).toPlainText().split())


def cue_events(path: Path) -> list[dict]:
    return [dict(e.data) for e in read_session(path).events if isinstance(e, TimelineEvent) and e.kind == "cue"]


def log_has(window, text: str) -> bool:
    return any(text in window.timeline.item(i).text() for i in range(window.timeline.count()))


# -- 1. the caution panel before a push ---------------------------------------------------------------------
def test_a_pendulation_push_shows_entry_exit_and_cautions_and_needs_a_confirming_click(
        qtbot, practitioner, library) -> None:
    engine, window, client = practitioner()
    qtbot.waitUntil(lambda: engine.recording is not None, timeout=30000)
    panel = window.panel
    exercise = library[PENDULATION]
    assert exercise.role == "pendulation" and exercise.cautions
    select_exercise(qtbot, panel, PENDULATION)
    shown = plain(panel.exercise_details.text())
    for part in (exercise.title, exercise.duration_text, exercise.purpose, "When to use", exercise.entry_trigger,
                 "When to stop", exercise.exit_condition, "Turns toward difficult material", *exercise.cautions):
        assert " ".join(part.split()) in shown, part
    assert shown.index(exercise.cautions[0]) < shown.index(exercise.purpose)  # the cautions come first

    click(qtbot, panel.push_button)  # the first click only asks to read the cautions
    assert panel.push_button.text() == "Push after reading the cautions" and panel.push_confirming()
    for _ in range(10):
        window.on_frame()
    assert client.is_resting() and not log_has(window, "cue pushed")
    click(qtbot, panel.push_button)  # the confirming click pushes
    qtbot.waitUntil(lambda: client.current_exercise() is not None, timeout=10000)
    assert client.current_exercise().id == PENDULATION and panel.push_button.text() == "Push to client view"

    select_exercise(qtbot, panel, GROUNDING)  # an ordinary exercise: one click, with its entry and exit too
    grounding = library[GROUNDING]
    shown = plain(panel.exercise_details.text())
    assert "When to use" in shown and " ".join(grounding.exit_condition.split()) in shown
    assert "Turns toward difficult material" not in shown
    click(qtbot, panel.push_button)
    qtbot.waitUntil(lambda: client.current_exercise() is not None and client.current_exercise().id == GROUNDING,
                    timeout=10000)
    engine.stop()
    pushed = [e["exercise"] for e in cue_events(engine.recording) if e["action"] == "pushed"]
    assert pushed == [PENDULATION, GROUNDING]


def test_a_pending_suggestion_shows_its_exercises_cautions_before_approve(qtbot, practitioner, library) -> None:
    engine, window, _ = practitioner()
    panel = window.panel
    qtbot.waitUntil(lambda: engine.session_origin_ns is not None, timeout=30000)
    assert not panel.suggestion_details.isVisible()
    # a suggestion reaches the window the way the cue engine's do: as a cue event on the engine's timeline
    engine.add_event("cue", action="suggested", cue_id=1, kind="grounding", exercise=GROUNDING,
                     text=SUGGESTION_TEXT["grounding"])
    qtbot.waitUntil(lambda: window.pending_cue is not None, timeout=10000)
    grounding = library[GROUNDING]
    assert panel.suggestion_details.isVisible() and panel.approve_button.isEnabled()
    shown = plain(panel.suggestion_details.text())
    for part in (grounding.title, "When to use", "When to stop", *grounding.cautions):
        assert " ".join(part.split()) in shown, part
    engine.add_event("cue", action="dismissed", cue_id=1, kind="grounding", exercise=GROUNDING,
                     text=SUGGESTION_TEXT["grounding"])
    qtbot.waitUntil(lambda: window.pending_cue is None, timeout=10000)
    assert not panel.suggestion_details.isVisible()


# -- 2. pause / resume / step / clear a pushed exercise ---------------------------------------------------------
def test_the_client_view_holds_steps_and_moves_between_them_on_its_clock(qtbot, library) -> None:
    from somafeedback.ui.client_screen import ClientScreen

    clock = FakeClock(100.0)
    screen = ClientScreen(clock)
    qtbot.addWidget(screen)
    screen.set_fade_ms(0)
    exercise = library["low-and-slow-breathing"]
    total = exercise.duration_s
    screen.show_exercise(exercise, started_at_s=100.0)
    clock.t = 101.0
    screen.refresh()
    assert screen.current_step_index() == 0 and not screen.is_exercise_paused()
    assert screen.pause_exercise() and screen.is_exercise_paused()
    assert screen.step_line() == f"Step 1 of {len(exercise.steps)} · paused"
    clock.t = 100.0 + total + 500.0  # long past the end: a held exercise stays on its step
    screen.refresh()
    state = screen.view_state()
    assert screen.current_step_index() == 0 and state.paused and state.exercise_seconds_left == pytest.approx(total - 1.0)
    assert screen.go_to_step(2) and screen.current_step_index() == 2 and screen.is_exercise_paused()
    assert screen.current_text() == exercise.steps[2].text
    assert screen.resume_exercise() and not screen.is_exercise_paused()
    left = total - sum(step.seconds for step in exercise.steps[:2])
    assert screen.view_state().exercise_seconds_left == pytest.approx(left)  # it runs on from the start of step 3
    clock.t += exercise.steps[2].seconds + 0.5
    screen.refresh()
    assert screen.current_step_index() == 3
    assert screen.go_to_step(0) and screen.current_text() == exercise.steps[0].text
    assert not screen.go_to_step(len(exercise.steps)) and not screen.resume_exercise()
    screen.clear()
    assert screen.is_resting() and not screen.pause_exercise() and not screen.go_to_step(0)


def test_pause_resume_step_and_clear_a_pushed_exercise_are_recorded_and_mirrored(
        qtbot, practitioner, library) -> None:
    engine, window, client = practitioner(speed=1.0)
    qtbot.waitUntil(lambda: engine.recording is not None, timeout=30000)
    panel, controls, mirror = window.panel, window.push_controls, window.mirror
    assert controls is not None and mirror is not None
    assert not controls.pause_button.isEnabled() and not controls.next_button.isEnabled()  # nothing pushed yet
    exercise = library[GROUNDING]
    select_exercise(qtbot, panel, GROUNDING)
    click(qtbot, panel.push_button)
    qtbot.waitUntil(lambda: client.current_exercise() is not None, timeout=10000)

    click(qtbot, controls.pause_button)
    assert client.is_exercise_paused() and controls.pause_button.text() == "Resume"
    first = client.current_step_index()
    assert first is not None and controls.back_button.isEnabled() == (first > 0)
    mirror.refresh()
    assert mirror.text().endswith(f"step {first + 1} of {len(exercise.steps)}, paused")
    click(qtbot, controls.next_button)
    assert client.current_step_index() == first + 1 and client.is_exercise_paused()
    assert client.current_text() == exercise.steps[first + 1].text
    click(qtbot, controls.back_button)
    assert client.current_step_index() == first
    click(qtbot, controls.pause_button)  # now "Resume"
    assert not client.is_exercise_paused() and controls.pause_button.text() == "Pause"
    click(qtbot, mirror.clear_button)
    assert client.is_resting() and not controls.pause_button.isEnabled()
    qtbot.waitUntil(lambda: log_has(window, "cue cleared"), timeout=10000)
    assert log_has(window, f"cue pushed-paused: {GROUNDING} step {first + 1}")

    engine.stop()
    recorded = [(e["action"], e["cue_id"], e["kind"], e["exercise"], e["text"]) for e in cue_events(engine.recording)
                if e["action"] != "pushed"]
    steps = exercise.steps
    assert recorded == [
        ("pushed-paused", first + 1, "manual", GROUNDING, steps[first].text),
        ("pushed-step", first + 2, "manual", GROUNDING, steps[first + 1].text),
        ("pushed-step", first + 1, "manual", GROUNDING, steps[first].text),
        ("pushed-resumed", first + 1, "manual", GROUNDING, steps[first].text),
        ("cleared", first + 1, "manual", GROUNDING, steps[first].text),
    ]


# -- 5. above the usual resting range at the start: re-baseline ------------------------------------------------
def test_a_baseline_above_the_usual_range_offers_re_baseline_now(qtbot, practitioner) -> None:
    engine, window, _ = practitioner()
    panel = window.panel
    qtbot.waitUntil(lambda: engine.session_origin_ns is not None, timeout=30000)
    baseline = {"hr_ref": 82.0, "sd_hr": 2.0, "ln_ref": 3.4, "sd_ln": 0.2, "artifact_pct": 0.5,
                "source": "calibration", "window_s": 240.0, "clean_s": 236.0, "windows": 24}
    engine.add_event("baseline", **baseline, above_usual_range=False)
    qtbot.waitUntil(lambda: log_has(window, "baseline: HR 82 bpm"), timeout=10000)
    assert not panel.rebaseline_box.isVisible()
    engine.add_event("baseline", **baseline, above_usual_range=True)
    qtbot.waitUntil(panel.rebaseline_box.isVisible, timeout=10000)
    assert panel.rebaseline_text.text() == "Heart rate above this client's usual resting range at the start"
    assert panel.rebaseline_button.text() == "Re-baseline now"
    click(qtbot, panel.rebaseline_button)
    assert not panel.rebaseline_box.isVisible()
    qtbot.waitUntil(lambda: log_has(window, "baseline: measuring again"), timeout=10000)  # engine.restart_baseline()
    engine.stop()
    calibrations = [e.data for e in read_session(engine.recording).events
                    if isinstance(e, TimelineEvent) and e.kind == "calibration"]
    assert calibrations and calibrations[-1].get("action") != "skipped"


# -- 6. the coherence plot's caveat ------------------------------------------------------------------------------
def test_the_coherence_plot_says_what_it_measures_and_what_it_does_not(qtbot) -> None:
    from somafeedback.ui.live_plots import LivePlots

    plots = LivePlots()
    qtbot.addWidget(plots)
    title = plain(plots.coherence.titleLabel.text)
    assert title.startswith("Coherence ratio") and "a breathing-pattern measure, not a measure of calm" in title
    tip = plots.coherence.titleLabel.toolTip()
    assert "one slow peak (0.04–0.26 Hz)" in tip and "not a measure of calm" in tip
