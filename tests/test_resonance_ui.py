"""The breathing-rate assessment in the app (issue #19, live part), offscreen, driven by clicks and keys.

* the step view fed the run's events (as somafeedback/resonance/events.py documents them) shows the rate, the
  step, the time left against the injected clock, settling/rest, the criteria filling in, and the results with
  "Use X breaths/min as <client>'s rate" (best, second or typed); Skip/Repeat/Stop reach ``control``;
* the client view follows the run's pacer exactly and shows the step in words, never a number;
* the practitioner window has "Assess breathing rate…" and starts the run on its engine;
* the home window shows the client's plain sentence at the end, and its Stop stops the run;
* the settings show the client's rate, the override persists and wins, and clearing it brings back the
  assessment's; the weights are checked and reset to the documented defaults.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtCore, QtWidgets

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from somafeedback.devices.events import TimelineEvent  # noqa: E402
from somafeedback.live.analysis import pacer_event_data  # noqa: E402
from somafeedback.regulation.exercises import load_exercises  # noqa: E402
from somafeedback.regulation.pacer import Pacer, PacerSettings  # noqa: E402
from somafeedback.regulation.assessment_protocol import ResonanceProtocol  # noqa: E402
from somafeedback.ui import resonance_words as words  # noqa: E402
from somafeedback.ui.chimes import Chimes  # noqa: E402
from somafeedback.ui.client_screen import ClientScreen  # noqa: E402
from somafeedback.ui.resonance_client import AssessmentFollower  # noqa: E402
from somafeedback.ui.resonance_view import ResonanceStepView  # noqa: E402

PROTOCOL = ResonanceProtocol().as_dict()


def step_event(action: str, **data: Any) -> TimelineEvent:
    return TimelineEvent("resonance-step", 0, 0.0, {"action": action, **data})


def step_data(index: int, step: int, rate: float, started: float) -> dict[str, Any]:
    return {"index": index, "step": step, "rate_bpm": rate, "inhale_share": 0.4, "started_s": started,
            "scored_from_s": started + 30.0, "ends_s": started + 120.0}


def measures(rate: float, **values: Any) -> dict[str, Any]:
    base = {"index": 0, "step": 0, "rate_bpm": rate, "assessable": True, "reason": "", "peak_trough_hr_bpm": None,
            "lf_peak_hz": None, "lf_peak_amplitude_ms2_per_hz": None, "spectral_peaks": None,
            "hr_breath_phase_deg": None, "following_checked": False, "following": None}
    return {**base, **values}


def pacer_event(rate: float, at_s: float) -> TimelineEvent:
    return TimelineEvent("pacer", 0, 0.0, pacer_event_data(Pacer(PacerSettings.from_rate(rate, 0.4), at_s)))


RESULT = {"best_rate_bpm": 5.0, "second_rate_bpm": 5.5, "fine_tune_bpm": [4.75, 5.25], "complete": True,
          "reason": "", "weights": {}, "protocol": PROTOCOL, "conventions": {},
          "steps": [measures(6.5, score=0.5, rank=2, t0_s=30.0, t1_s=120.0),
                    measures(5.0, index=1, step=3, score=0.9, rank=1, t0_s=180.0, t1_s=270.0),
                    measures(5.5, index=2, step=2, assessable=False, reason="breathing did not follow the pacer",
                             t0_s=330.0, t1_s=420.0)]}


@pytest.fixture
def view(qtbot):
    now = [0.0]
    calls: list[str] = []
    kept: list[float] = []

    def keep(rate: float) -> str:
        kept.append(rate)
        return f"kept {rate:g}"

    widget = ResonanceStepView(calls.append, lambda: now[0], cautions=["Stop and breathe normally if light-headed."],
                               use_rate=keep, client="Robin", chimes=Chimes(multimedia=lambda: None))
    qtbot.addWidget(widget)
    widget.show()
    return widget, now, calls, kept


def test_the_step_view_follows_a_run_and_keeps_the_chosen_rate(qtbot, view) -> None:
    widget, now, calls, kept = view
    assert "light-headed" in widget.caution.text() and widget.caution.isVisible()  # from the start
    widget.take(step_event("begin", protocol=PROTOCOL, planned_s=720.0, client="Robin"))
    now[0] = 10.0
    widget.take(step_event("start", **step_data(0, 0, 6.5, 0.0)))
    widget.take(pacer_event(6.5, 0.0))
    assert widget.rate_label.text() == "6.5 breaths a minute"
    assert widget.step_label.text() == "step 1 of 5"
    assert widget.time_label.text() == "1:50 left in this step"
    assert widget.status_label.text().startswith("settling")
    assert widget.pacer.has_pacer() and widget.pacer.pacer().settings.breaths_per_min == pytest.approx(6.5)
    now[0] = 45.5
    widget.tick()  # the frame timer: the clock moved on
    assert (widget.time_label.text(), widget.status_label.text()) == ("1:15 left in this step", "measuring")
    widget.take(step_event("progress", **step_data(0, 0, 6.5, 0.0),
                           measures=measures(6.5, peak_trough_hr_bpm=7.34, lf_peak_hz=0.1083)))
    shown = widget.criteria_shown()
    assert shown["peak_trough_hr_bpm"] == "7.3 bpm" and shown["lf_peak"].startswith("6.5 breaths/min")
    assert shown["following"] == "not yet" and shown["spectral_peaks"] == "not yet"
    widget.take(step_event("end", **step_data(0, 0, 6.5, 0.0), measures=measures(
        6.5, peak_trough_hr_bpm=8.0, lf_peak_hz=0.1083, lf_peak_amplitude_ms2_per_hz=2400.0, spectral_peaks=1,
        hr_breath_phase_deg=-12.0, following_checked=True, following=True)))
    shown = widget.criteria_shown()
    assert (shown["spectral_peaks"], shown["following"]) == ("one clear peak", "yes")
    assert shown["hr_breath_phase_deg"].startswith("-12°") and "2400 ms²/Hz" in shown["lf_peak"]
    now[0] = 130.0
    widget.take(step_event("rest", started_s=120.0, ends_s=150.0))
    widget.take(TimelineEvent("pacer", 0, 0.0, pacer_event_data(None)))
    assert (widget.status_label.text(), widget.time_label.text()) == ("rest: breathe as you like", "0:20 of rest left")
    assert not widget.pacer.has_pacer() and not widget.buttons["skip"].isEnabled()
    now[0] = 160.0
    widget.take(step_event("start", **step_data(1, 1, 6.0, 150.0)))
    assert (widget.rate_label.text(), widget.step_label.text()) == ("6.0 breaths a minute", "step 2 of 5")
    widget.take(step_event("end", **step_data(1, 1, 6.0, 150.0), measures=measures(
        6.0, assessable=False, reason="breathing did not follow the pacer", following_checked=True, following=False)))
    assert widget.criteria_shown()["following"] == "no: not assessable"
    widget.take(TimelineEvent("resonance", 0, 0.0, RESULT))
    assert widget.results_box.isVisible() and len(widget.results.row_texts()) == 3
    assert any("not assessable" in " ".join(row) for row in widget.results.row_texts())
    assert widget.use_button.text() == "Use 5 breaths/min as Robin's rate"
    qtbot.mouseClick(widget.use_button, QtCore.Qt.MouseButton.LeftButton)
    widget.rate_choice.setCurrentIndex(1)  # the second rate
    qtbot.mouseClick(widget.use_button, QtCore.Qt.MouseButton.LeftButton)
    widget.rate_choice.lineEdit().selectAll()
    qtbot.keyClicks(widget.rate_choice.lineEdit(), "5.25")  # typed: the practitioner's override
    assert widget.use_button.text() == "Use 5.25 breaths/min as Robin's rate"
    qtbot.mouseClick(widget.use_button, QtCore.Qt.MouseButton.LeftButton)
    assert kept == [5.0, 5.5, 5.25] and widget.use_message.text() == "kept 5.25"
    assert not any(b.isEnabled() for b in widget.buttons.values()) and calls == []


def test_skip_repeat_and_stop_are_reachable_by_mouse_and_keyboard(qtbot, view) -> None:
    widget, now, calls, _ = view
    widget.take(step_event("begin", protocol=PROTOCOL, planned_s=720.0, client=None))
    widget.take(step_event("start", **step_data(0, 0, 6.5, 0.0)))
    qtbot.mouseClick(widget.buttons["skip"], QtCore.Qt.MouseButton.LeftButton)
    widget.buttons["repeat"].setFocus()
    qtbot.keyClick(widget.buttons["repeat"], QtCore.Qt.Key.Key_Space)
    widget.take(step_event("start", **step_data(1, 0, 6.5, 10.0)))  # the repeat: a new index, the same step
    assert widget.step_label.text() == "step 1 of 5, again"
    widget.buttons["stop"].setFocus()
    qtbot.keyClick(widget.buttons["stop"], QtCore.Qt.Key.Key_Space)
    assert calls == ["skip", "repeat", "stop"]
    widget.take(step_event("stopped", by="practitioner", reason="stopped"))
    assert widget.status_label.text() == "Stopped by the practitioner." and not widget.buttons["stop"].isEnabled()


def test_the_client_view_follows_the_runs_pacer_and_shows_no_numbers(qtbot) -> None:
    now = [0.0]
    screen = ClientScreen(lambda: now[0])
    qtbot.addWidget(screen)
    screen.set_fade_ms(0)
    follower = AssessmentFollower(screen)
    assert not follower.take(pacer_event(6.0, 0.0))  # a pacer outside an assessment is the window's own
    follower.take(step_event("begin", protocol=PROTOCOL, planned_s=720.0, client=None))
    assert follower.running and screen.current_text() == words.CLIENT_BEGIN_TEXT
    first = pacer_event(6.5, 1.0)
    follower.take(first)
    follower.take(step_event("start", **step_data(0, 0, 6.5, 1.0)))
    shown = screen.pacer_widget().pacer()
    assert screen.pacer_visible() and pacer_event_data(shown) == first.data  # exactly the engine's pacer
    assert screen.current_text() == words.CLIENT_STEP_TEXT and not re.search(r"\d", screen.current_text())
    follower.take(step_event("rest", started_s=121.0, ends_s=151.0))
    assert not screen.pacer_visible() and screen.current_text() == words.CLIENT_REST_TEXT
    follower.take(step_event("start", **step_data(1, 1, 6.0, 151.0)))
    second = pacer_event(6.0, 151.0)
    follower.take(second)
    assert pacer_event_data(screen.pacer_widget().pacer()) == second.data
    follower.take(step_event("stopped", by="client", reason="stopped"))
    follower.take(TimelineEvent("resonance", 0, 0.0, RESULT))
    assert not follower.running and not screen.pacer_visible() and screen.current_text() == words.CLIENT_STOPPED_TEXT


def test_home_words_say_what_was_measured_without_a_verdict() -> None:
    assert words.home_result_text(RESULT) == ("Your heart rate rose and fell most with your breath at about 5 "
                                              "breaths a minute; your practitioner can help you use it.")
    assert words.home_result_text({**RESULT, "best_rate_bpm": None}) == words.HOME_NO_RESULT_TEXT


def test_the_home_window_shows_the_run_and_the_clients_sentence(qtbot, tmp_path: Path) -> None:
    from somafeedback.ui.home_window import HomeWindow

    window = HomeWindow(load_exercises(), tmp_path, chimes=Chimes(multimedia=lambda: None))
    qtbot.addWidget(window)
    window.client_screen.set_fade_ms(0)
    window.show()
    window.follow(step_event("begin", protocol=PROTOCOL, planned_s=720.0, client=None))
    window.follow(pacer_event(6.5, 0.0))
    window.follow(step_event("start", **step_data(0, 0, 6.5, 0.0)))
    assert window.assessment.running and not window.assessment.stop_button.isHidden()
    assert window.client_screen.pacer_visible() and window.client_screen.current_text() == words.CLIENT_STEP_TEXT
    window.follow(TimelineEvent("resonance", 0, 0.0, RESULT))
    assert not window.assessment.running and window.assessment.words == words.home_result_text(RESULT)
    assert window.assessment.summary("You practised.").startswith("Your heart rate rose and fell most")


def test_the_practitioner_window_offers_the_assessment(qtbot, tmp_path: Path) -> None:
    from practitioner_app import practitioner_app

    built = practitioner_app(qtbot, tmp_path, "calm", "--speed", "5")
    window = built.window
    session_menu = next(m for m in window.menuBar().findChildren(QtWidgets.QMenu) if m.title() == "&Session")
    assert "Assess breathing rate…" in [action.text() for action in session_menu.actions()]
    window.assessment.action.trigger()
    view = window.assessment.view
    assert view is not None and window.plot_tabs.currentWidget() is view
    qtbot.waitUntil(lambda: view.mode == "step", timeout=20000)
    qtbot.waitUntil(lambda: window.client is None or window.client.pacer_visible(), timeout=5000)
    qtbot.mouseClick(view.buttons["stop"], QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.result is not None, timeout=20000)
    assert view.status_label.text() == "Stopped by the practitioner."
    built.engine.stop()


def test_the_settings_keep_the_clients_rate_and_the_weights(qtbot, tmp_path: Path) -> None:
    from somafeedback.resonance import scoring
    from somafeedback.ui.resonance_settings import assessment_weights, default_pacer
    from somafeedback.ui.settings import AppSettings, SettingsDialog

    settings = AppSettings(QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat))
    settings.set("recordings/folder", str(tmp_path / "library"))
    settings.set("people/client", "Robin")
    assert default_pacer(settings, "Robin") == settings.pacer()  # no rate kept: the settings' pacer
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    box = dialog.resonance
    assert "No breathing rate kept for Robin" in box.rate_label.text()
    box.override.setValue(5.25)
    qtbot.mouseClick(box.override_button, QtCore.Qt.MouseButton.LeftButton)
    assert "5.25 breaths/min (set by the practitioner)" in box.rate_label.text()
    assert default_pacer(settings, "Robin").breaths_per_min == pytest.approx(5.25)  # the override wins
    first = next(iter(box.weights.values()))
    for spin in box.weights.values():
        spin.setValue(0.0)
    dialog.accept()  # all zero: refused, said in words, nothing kept
    assert box.weights_message.text().startswith("The weights were not kept") and dialog.result() == 0
    qtbot.mouseClick(next(b for b in box.findChildren(type(box.override_button)) if b.text() == "Reset to the documented defaults"),
                     QtCore.Qt.MouseButton.LeftButton)
    first.setValue(first.value() + 0.5)
    dialog.accept()
    name = next(iter(box.weights))
    assert assessment_weights(settings)[name] == pytest.approx(scoring.DEFAULT_WEIGHTS[name] + 0.5)
    again = SettingsDialog(settings)  # persisted: a new dialog reads it back
    qtbot.addWidget(again)
    assert "5.25 breaths/min" in again.resonance.rate_label.text()
    qtbot.mouseClick(again.resonance.clear_button, QtCore.Qt.MouseButton.LeftButton)
    assert "No breathing rate kept for Robin" in again.resonance.rate_label.text()
    assert default_pacer(settings, "Robin") == settings.pacer()


def test_the_assessment_is_among_the_home_practices(qtbot, tmp_path: Path) -> None:
    exercises = load_exercises()
    assert "resonance-assessment" in exercises
    from somafeedback.ui.home_window import HomeWindow

    window = HomeWindow(exercises, tmp_path, chimes=Chimes(multimedia=lambda: None))
    qtbot.addWidget(window)
    ids = [window.script_list.item(i).data(QtCore.Qt.ItemDataRole.UserRole) for i in range(window.script_list.count())]
    assert "resonance-assessment" in ids


def test_the_clients_stop_at_home_stops_the_run_and_the_summary_speaks_plainly(qtbot, tmp_path: Path) -> None:
    exercises = load_exercises()
    assert "resonance-assessment" in exercises
    from somafeedback.live.engine import Engine, EngineOptions, EngineSource
    from somafeedback.sessions.file import read_session
    from somafeedback.ui.home_window import HomeWindow

    def factory(script_id: str) -> Engine:
        return Engine(EngineSource(simulate="resonance-steps", speed=10.0, seed=3),
                      EngineOptions(mode="home", script=script_id, record_to=tmp_path), exercises)

    window = HomeWindow(exercises, tmp_path, engine_factory=factory, chimes=Chimes(multimedia=lambda: None))
    qtbot.addWidget(window)
    window.client_screen.set_fade_ms(0)
    window.show()
    assert window.start("resonance-assessment")
    qtbot.waitUntil(lambda: window.client_screen.pacer_visible(), timeout=30000)
    assert window.client_screen.current_text() == words.CLIENT_STEP_TEXT
    qtbot.mouseClick(window.assessment.stop_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.current_page() == "summary", timeout=30000)
    assert window.summary_text().startswith(words.home_result_text(window.assessment.follower.result or {}))
    assert window.engine is not None and window.engine.recording is not None
    stops = [e.data for e in read_session(window.engine.recording).events
             if isinstance(e, TimelineEvent) and e.kind == "resonance-step" and e.data.get("action") == "stopped"]
    assert [s.get("by") for s in stops] == ["client"]
