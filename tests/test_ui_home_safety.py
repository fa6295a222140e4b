"""Safe home practice in the home window (issue #14), offscreen, driven with real clicks.

* the choose page shows the chosen practice's purpose, when to use it, when to stop and its
  cautions; a practice not meant for home is refused and no engine starts;
* "Too much", "Dizzy", "Help now" and "Done" reach the engine, and the window follows the
  pause it runs (the pause exercise's steps with their step line, no pacer after "Dizzy");
* a sustained activation on the simulated strap leads to the offer to end, with the client's
  own plan (from the practitioner's settings), and "End the practice" ends it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6 import QtCore, QtGui

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from somafeedback.devices.events import TimelineEvent  # noqa: E402
from somafeedback.live.engine import Engine, EngineOptions, EngineSource  # noqa: E402
from somafeedback.regulation.exercises import Exercise, exercise_for, load_exercises, parse_exercise_text  # noqa: E402
from somafeedback.sessions.file import read_session  # noqa: E402
from somafeedback.ui.chimes import Chimes  # noqa: E402
from somafeedback.ui.home_window import HomeWindow  # noqa: E402

LONG = "long-home-practice"
LONG_TOML = """
title = "Long home practice"
purpose = "One long paced step, for the tests."
role = "paced-breathing"
where = ["home"]
entry_trigger = "Chosen at home."
exit_condition = "The step ends."
cautions = ["Stop if the breathing feels strained."]

[[step]]
text = "You can keep your eyes open or closed, and you can stop at any time."
seconds = 30

[[step]]
text = "Breathe along with the pacer, slower rather than bigger."
seconds = 1500
pacer = { inhale_s = 4, exhale_s = 6 }
"""
DIZZY_TEXT = "Let your breathing go back to its own rhythm."  # how the contract's dizzy text begins
PLAN = "I stop, put the kettle on and call my sister."


@pytest.fixture
def library() -> dict[str, Exercise]:
    return {**load_exercises(), LONG: parse_exercise_text(LONG_TOML, f"{LONG}.toml")}


def simulated(library, folder: Path, scenario: str = "calm", speed: float = 5.0, built: list | None = None):
    def factory(script_id: str) -> Engine:
        engine = Engine(EngineSource(simulate=scenario, speed=speed, seed=5, simulated_model="hr"),
                        EngineOptions(mode="home", script=script_id, record_to=folder), library)
        if built is not None:
            built.append(script_id)
        return engine
    return factory


@pytest.fixture
def make_window(qtbot, tmp_path: Path, library):
    windows: list[HomeWindow] = []

    def make(**kwargs) -> HomeWindow:
        kwargs.setdefault("engine_factory", simulated(library, tmp_path))
        kwargs.setdefault("chimes", Chimes(multimedia=lambda: None))
        window = HomeWindow(library, tmp_path, **kwargs)
        qtbot.addWidget(window)
        window.client_screen.set_fade_ms(0)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, QtCore.Qt.MouseButton.LeftButton)


def plain(html_text: str) -> str:
    return " ".join(QtGui.QTextDocumentFragment.fromHtml(html_text).toPlainText().split())


def choose(qtbot, window: HomeWindow, exercise_id: str) -> None:
    """Click the practice's row on the choose page."""
    row = next(i for i in range(window.script_list.count())
               if window.script_list.item(i).data(QtCore.Qt.ItemDataRole.UserRole) == exercise_id)
    item = window.script_list.item(row)
    window.script_list.scrollToItem(item)
    qtbot.mouseClick(window.script_list.viewport(), QtCore.Qt.MouseButton.LeftButton,
                     pos=window.script_list.visualItemRect(item).center())


def cue(action: str, **data) -> TimelineEvent:
    """A cue event as the engine sends it (CueEvent.as_dict(), home mode)."""
    return TimelineEvent("cue", 0, 0.0, {"action": action, "kind": "script", **data})


def cue_events(path: Path) -> list[dict]:
    return [dict(e.data) for e in read_session(path).events if isinstance(e, TimelineEvent) and e.kind == "cue"]


# -- before starting ------------------------------------------------------------------------------------------
def test_the_choose_page_shows_the_chosen_practices_entry_exit_and_cautions(qtbot, make_window, library) -> None:
    window = make_window()
    for exercise_id in ("feet-and-seat-grounding", LONG, "low-and-slow-breathing"):
        choose(qtbot, window, exercise_id)
        exercise = library[exercise_id]
        shown = plain(window.caution_panel.text())
        assert window.caution_panel.isVisible()
        for part in (exercise.title, exercise.purpose, "When to use", exercise.entry_trigger, "When to stop",
                     exercise.exit_condition, *exercise.cautions):
            assert " ".join(part.split()) in shown, (exercise_id, part)
    click(qtbot, window.start_button)  # Start is the confirmation: the practice chosen last starts
    assert window.is_practising() and window.exercise is library["low-and-slow-breathing"]


def test_a_practice_not_meant_for_home_is_refused_and_no_engine_starts(qtbot, make_window, library,
                                                                        tmp_path: Path) -> None:
    built: list[str] = []
    window = make_window(engine_factory=simulated(library, tmp_path, built=built))
    assert "home" not in library["titrated-pendulation"].where
    assert window.start("titrated-pendulation") is False
    assert built == [] and window.engine is None and not window.is_practising()
    assert window.current_page() == "choose"
    assert window.choose_message_text() == ("“Titrated pendulation” is for sessions with a practitioner only, "
                                            "not for home practice.")
    assert list(tmp_path.glob("*.session.sqlite")) == []
    assert window.start(LONG) is True and built == [LONG]  # a home practice still starts
    assert window.choose_message_text() == ""


# -- following the engine's pause (the contract's events, fed as the frame timer does) ------------------------
def test_the_window_follows_the_pause_steps_the_end_offer_and_the_resume(qtbot, make_window, library) -> None:
    window = make_window(plan_text=PLAN)  # the engine is still measuring the resting baseline throughout
    window.start(LONG)
    screen, script = window.client_screen, library[LONG]
    grounding = exercise_for("grounding", "home", library)
    assert grounding is not None and len(grounding.steps) >= 2
    window.follow(cue("script-step", cue_id=1, exercise=LONG, text=script.steps[0].text))
    assert screen.current_exercise() is script and screen.current_step_index() == 0

    dizzy = DIZZY_TEXT + " There is nothing to do with it for now."
    window.follow(cue("script-paused", cue_id=1, exercise=grounding.id, text=dizzy, reason="dizzy"))
    assert screen.current_text() == dizzy and not screen.pacer_visible()
    assert screen.current_title() == grounding.title
    assert screen.step_line() == f"Step 1 of {len(grounding.steps)}"
    window.follow(cue("pause-step", cue_id=2, exercise=grounding.id, text=grounding.steps[1].text))
    assert screen.current_text() == grounding.steps[1].text and not screen.pacer_visible()
    assert screen.step_line() == f"Step 2 of {len(grounding.steps)}"
    assert window.end_offer_shown() == ""

    window.follow(cue("end-offered", cue_id=None, exercise=grounding.id, text=PLAN))
    assert window.end_offer_shown() == PLAN and window.offer_end_button.text() == "End the practice"
    click(qtbot, window.keep_going_button)
    assert window.end_offer_shown() == "" and window.is_practising()
    assert screen.current_text() == grounding.steps[1].text  # the pause simply continues

    window.follow(cue("script-resumed", cue_id=None, exercise=LONG, text=script.steps[0].text))
    assert screen.current_exercise() is script and screen.current_step_index() == 0
    window.follow(cue("script-step", cue_id=2, exercise=LONG, text=script.steps[1].text))
    assert screen.pacer_visible()  # the script's own pacer is back after the pause
    window.follow(cue("script-finished", cue_id=None, exercise=LONG, text=script.title, reason="done"))
    assert window.current_page() == "summary" and not window.is_practising()


# -- the client's controls reach the engine --------------------------------------------------------------------
def test_too_much_help_now_dizzy_and_done_reach_the_engine_and_the_window_follows(
        qtbot, make_window, library, tmp_path: Path) -> None:
    window = make_window()
    window.start(LONG)
    engine = window.engine
    assert engine is not None
    qtbot.waitUntil(lambda: engine.recording is not None and engine.session_s() > 5.0, timeout=30000)
    screen = window.client_screen
    grounding = exercise_for("grounding", "home", library)
    senses = library["senses-5-4-3-2-1"]
    assert grounding is not None and [window.control_buttons[k].text() for k in window.control_buttons] == [
        "Too much", "Dizzy", "Help now", "Done"]

    click(qtbot, window.control_buttons["too-much"])
    qtbot.waitUntil(lambda: screen.current_title() == grounding.title, timeout=10000)
    assert screen.current_text() == grounding.steps[0].text and screen.step_line().startswith("Step 1 of ")
    click(qtbot, window.control_buttons["help-now"])
    qtbot.waitUntil(lambda: screen.current_title() == senses.title, timeout=10000)
    assert screen.current_text() == senses.steps[0].text
    click(qtbot, window.control_buttons["dizzy"])
    qtbot.waitUntil(lambda: screen.current_text().startswith(DIZZY_TEXT), timeout=10000)
    assert not screen.pacer_visible()
    click(qtbot, window.control_buttons["done"])
    qtbot.waitUntil(lambda: window.current_page() == "summary", timeout=10000)

    events = cue_events(engine.recording)
    assert [e["text"] for e in events if e["action"] == "client-control"] == ["too-much", "help-now", "dizzy", "done"]
    assert [e.get("reason") for e in events if e["action"] == "script-paused"] == ["too-much", "help-now", "dizzy"]
    (finished,) = [e for e in events if e["action"] == "script-finished"]
    assert finished["reason"] == "done"


# -- end to end: a sustained activation leads to the offer to end, with the client's own plan -------------------
def test_a_sustained_activation_leads_to_the_offer_to_end_with_the_clients_plan(
        qtbot, make_window, library, tmp_path: Path) -> None:
    window = make_window(engine_factory=simulated(library, tmp_path, scenario="sustained-activation", speed=150.0),
                         plan_text=PLAN)
    grounding = exercise_for("grounding", "home", library)
    assert grounding is not None
    window.start(LONG)
    seen_lines: set[str] = set()

    def offered() -> bool:
        if window._paused:
            seen_lines.add(window.client_screen.step_line())
        return window.end_offer_shown() != ""

    qtbot.waitUntil(offered, timeout=90000)  # above the range: the pause, then 5 min later the offer
    assert window.end_offer_shown() == PLAN and window.is_practising()
    assert window.client_screen.current_title() == grounding.title
    assert any(line.startswith("Step ") for line in seen_lines)  # the pause's steps carry their step line
    click(qtbot, window.offer_end_button)
    qtbot.waitUntil(lambda: window.current_page() == "summary", timeout=20000)

    (session,) = tmp_path.glob("*.session.sqlite")
    events = cue_events(session)
    actions = [e["action"] for e in events]
    assert actions.index("script-paused") < actions.index("end-offered") < actions.index("script-finished")
    assert [e["text"] for e in events if e["action"] == "end-offered"] == [PLAN]
    assert [e.get("reason") for e in events if e["action"] == "script-paused"][0] == "activation"
    assert [e["text"] for e in events if e["action"] == "client-control"] == ["done"]
    assert events[-1]["action"] == "script-finished" and events[-1]["reason"] == "done"


# -- the practitioner writes the client's plan; the home window hands it to the engine -------------------------
def test_the_plan_written_in_the_settings_reaches_the_home_practice(qtbot, tmp_path: Path, library) -> None:
    from somafeedback.ui.app import build_home_window, build_parser
    from somafeedback.ui.settings import AppSettings, SettingsDialog

    settings = AppSettings(QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat))
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    client_field = dialog.fields["people/client"]
    client_field.setFocus()
    qtbot.keyClicks(client_field, "C9")
    dialog.plan.setFocus()
    qtbot.keyClicks(dialog.plan, PLAN)
    dialog.accept()
    assert settings.plan_text("C9") == PLAN and settings.plan_text("c9") == PLAN  # the pseudonym, any case
    assert settings.plan_text("someone else") is None

    folder = tmp_path / "practices"
    window = build_home_window(build_parser().parse_args(["--mode", "home", "--simulate", "--speed", "5",
                                                          "--recordings", str(folder)]), settings, library)
    qtbot.addWidget(window)
    try:
        assert window.client == "C9" and window.plan_text == PLAN
        window.start(LONG)
        assert window.engine is not None and window.engine.options.plan_text == PLAN
    finally:
        window.close()

    again = SettingsDialog(settings)  # the dialog shows the named client's plan next time
    qtbot.addWidget(again)
    assert again.plan.toPlainText() == PLAN
