"""The assessment's loose ends in the app (issue #19): the settings' weights rank the live run, the client's
Stop at home is the client's, the client's pseudonym is recorded, the practitioner's live results draw each
step's heart rate, the review lists the steps and the result, and the exercise lists do not offer the
assessment as an ordinary exercise.

Real engines on simulated straps, real widgets driven by clicks; bounded waits only.
"""

from __future__ import annotations

import math
import os
import struct
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtCore

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from manual_clock import ManualClock  # noqa: E402
from resonance_fakes import fake_measure  # noqa: E402

from somafeedback.devices.events import Notification, TimelineEvent  # noqa: E402
from somafeedback.devices.gatt_uuids import HEART_RATE_MEASUREMENT  # noqa: E402
from somafeedback.live.engine import Engine, EngineOptions, EngineSource  # noqa: E402
from somafeedback.regulation.exercises import load_exercises  # noqa: E402
from somafeedback.resonance.events import RESULT_EVENT, STEP_EVENT  # noqa: E402
from somafeedback.regulation.assessment_protocol import ResonanceProtocol  # noqa: E402
from somafeedback.resonance.scoring import CRITERIA, DEFAULT_WEIGHTS  # noqa: E402
from somafeedback.sessions.file import SessionWriter, read_session  # noqa: E402
from somafeedback.ui import resonance_words as words  # noqa: E402
from somafeedback.ui.chimes import Chimes  # noqa: E402

LEFT = QtCore.Qt.MouseButton.LeftButton
SHORT = ResonanceProtocol(rates_bpm=(6.0, 5.0), step_s=60.0, settle_s=15.0, rest_s=20.0)
CHOSEN = {"peak_trough_hr": 1.0, "phase": 0.5}  # the practitioner's weights (others 0)


def _settings(tmp_path: Path, weights: dict[str, float]) -> Any:
    from somafeedback.ui.settings import AppSettings

    settings = AppSettings(QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat))
    settings.set("recordings/folder", str(tmp_path))
    for name in CRITERIA:
        settings.set(f"resonance/weights/{name}", weights.get(name, 0.0))
    return settings


def _recorded(path: Path, kind: str) -> list[TimelineEvent]:
    return [e for e in read_session(path).events if isinstance(e, TimelineEvent) and e.kind == kind]


def test_the_engine_ranks_with_the_given_weights_records_the_client_and_who_stopped() -> None:
    engine = Engine(EngineSource(simulate="calm", speed=60.0), EngineOptions(manifest={"client": "Robin"}))
    with pytest.raises(ValueError, match="at least one criterion"):
        engine.start_assessment(SHORT, weights={"phase": 0.0})  # said in the caller's thread
    engine.start()
    got: list[Any] = []

    def until(done, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not done() and time.monotonic() < deadline:
            got.extend(i for i in engine.drain() if isinstance(i, TimelineEvent))
            time.sleep(0.02)
        assert done(), f"timed out; got {len(got)} events"

    try:
        until(lambda: engine.session is not None and engine.session.model.features.t_s > 5.0)
        engine.call(lambda: setattr(engine.session.resonance, "measure", fake_measure))
        engine.start_assessment(SHORT, weights=CHOSEN)
        until(lambda: any(e.kind == STEP_EVENT and e.data.get("action") == "start" for e in got))
        engine.assessment_control("stop", by="client")
        until(lambda: any(e.kind == RESULT_EVENT for e in got))
    finally:
        engine.stop()
    steps = [e.data for e in got if e.kind == STEP_EVENT]
    assert steps[0]["action"] == "begin" and steps[0]["client"] == "Robin"
    assert steps[-1]["action"] == "stopped" and steps[-1]["by"] == "client"
    result = next(e.data for e in got if e.kind == RESULT_EVENT)
    assert result["weights"] == {name: CHOSEN.get(name, 0.0) for name in CRITERIA}
    assert engine.error is None


def test_home_the_clients_stop_is_the_clients_and_the_run_ranks_with_the_settings_weights(qtbot, tmp_path: Path) -> None:
    from somafeedback.ui.home_window import HomeWindow

    exercises = load_exercises()

    def factory(script_id: str) -> Engine:
        return Engine(EngineSource(simulate="resonance-steps", speed=10.0, seed=3),
                      EngineOptions(mode="home", script=script_id, record_to=tmp_path), exercises)

    window = HomeWindow(exercises, tmp_path, engine_factory=factory, client="Client H",
                        chimes=Chimes(multimedia=lambda: None), settings=_settings(tmp_path, CHOSEN))
    qtbot.addWidget(window)
    window.client_screen.set_fade_ms(0)
    window.show()
    assert window.start("resonance-assessment")
    qtbot.waitUntil(lambda: window.client_screen.pacer_visible(), timeout=30000)
    qtbot.mouseClick(window.assessment.stop_button, LEFT)
    qtbot.waitUntil(lambda: window.current_page() == "summary", timeout=30000)
    result = window.assessment.follower.result or {}
    assert window.summary_text().startswith(words.home_result_text(result))  # the results in plain words
    recording = window.engine.recording if window.engine is not None else None
    assert recording is not None
    stopped = [e.data for e in _recorded(recording, STEP_EVENT) if e.data.get("action") == "stopped"]
    assert [(s["by"], s["reason"]) for s in stopped] == [("client", "stopped by the client")]
    assert not [e for e in _recorded(recording, "cue") if e.data.get("kind") == "done"]  # not a home control
    begin = next(e.data for e in _recorded(recording, STEP_EVENT) if e.data.get("action") == "begin")
    assert begin["client"] == "Client H"
    assert _recorded(recording, RESULT_EVENT)[0].data["weights"] == {n: CHOSEN.get(n, 0.0) for n in CRITERIA}
    assert window.again_button.isVisible()  # the way back to the practice list
    qtbot.mouseClick(window.again_button, LEFT)
    assert window.current_page() == "choose"


def test_the_practitioners_live_results_draw_each_steps_heart_rate_with_the_settings_weights(qtbot, tmp_path: Path) -> None:
    from practitioner_app import practitioner_app

    weights = {f"resonance__weights__{name}": str(CHOSEN.get(name, 0.0)) for name in CRITERIA}
    built = practitioner_app(qtbot, tmp_path, "calm", "--speed", "20", **weights)
    window = built.window
    short = ResonanceProtocol(rates_bpm=(6.0, 5.0), step_s=60.0, settle_s=15.0, rest_s=0.0)
    window.exercises = {**window.exercises}  # a short run: two 60 s steps
    window.exercises["resonance-assessment"] = replace(window.exercises["resonance-assessment"], assessment=short)
    try:
        qtbot.waitUntil(lambda: window.latest is not None, timeout=20000)
        window.assessment.action.trigger()
        view = window.assessment.view
        assert view is not None
        qtbot.waitUntil(lambda: view.result is not None, timeout=60000)
        assert view.result["weights"] == {n: CHOSEN.get(n, 0.0) for n in CRITERIA}
        assert view.results.plots.curves_shown() == 2  # each step's heart rate over its scored span
        assert len(view.beats) > 20
    finally:
        built.engine.stop()


def _assessment_session(path: Path) -> Path:
    """A recorded two-step assessment: beats swinging around 67 bpm, the steps and the result as the run writes them."""
    clock = ManualClock()
    writer = SessionWriter(path, clock, {"client": "Client R"})
    events = [(10.0, STEP_EVENT, {"action": "begin", "protocol": SHORT.as_dict(), "planned_s": 140.0, "client": "Client R"}),
              (10.0, STEP_EVENT, {"action": "start", "index": 0, "step": 0, "planned_steps": 2, "rate_bpm": 6.0}),
              (30.0, STEP_EVENT, {"action": "progress", "index": 0, "step": 0, "planned_steps": 2, "rate_bpm": 6.0}),
              (70.0, STEP_EVENT, {"action": "end", "index": 0, "step": 0, "planned_steps": 2, "rate_bpm": 6.0}),
              (90.0, STEP_EVENT, {"action": "start", "index": 1, "step": 1, "planned_steps": 2, "rate_bpm": 5.0}),
              (150.0, STEP_EVENT, {"action": "end", "index": 1, "step": 1, "planned_steps": 2, "rate_bpm": 5.0}),
              (150.0, RESULT_EVENT, {"best_rate_bpm": 5.0, "second_rate_bpm": 6.0, "steps": [],
                                     "weights": dict(DEFAULT_WEIGHTS)})]
    t, seq = 0.0, 0
    while t < 170.0:
        ticks = round((900.0 + 60.0 * math.sin(2 * math.pi * t / 10.0)) * 1.024)  # ~67 bpm swinging
        t += ticks / 1024
        for at, kind, data in [e for e in events if clock.t < e[0] <= t]:
            writer.event(TimelineEvent(kind, round(at * 1e9), clock.wall_time(), data))
        clock.t, seq = t, seq + 1
        writer.notification(Notification("strap1", HEART_RATE_MEASUREMENT, seq, clock.now_ns(), clock.wall_time(),
                                         bytes([0x10, round(60000 / (ticks / 1.024))]) + struct.pack("<H", ticks)))
    writer.close("stopped")
    return path


def test_the_review_lists_the_assessments_steps_and_result_and_a_double_click_goes_there(qtbot, tmp_path: Path) -> None:
    from somafeedback.ui.replay_window import ReplayWindow

    window = ReplayWindow(_assessment_session(tmp_path / "assessment.session.sqlite"), load_exercises(),
                          recordings=tmp_path)
    qtbot.addWidget(window)
    window.show()
    lines = window.events_shown()
    for line in ("00:10  assessment begins", "00:10  step 1 of 2: 6.0 breaths/min", "01:10  step 1 of 2 ends: 6.0 breaths/min",
                 "01:30  step 2 of 2: 5.0 breaths/min", "02:30  assessment result: best 5.0, then 6.0 breaths/min"):
        assert line in lines
    assert not [line for line in lines if "00:30" in line]  # progress is not listed
    qtbot.waitUntil(lambda: window.engine.replay is not None, timeout=10000)  # the replay runs: it can pause
    window.pause()
    qtbot.waitUntil(lambda: window.engine.replay.paused, timeout=5000)
    target = "01:30  step 2 of 2: 5.0 breaths/min"

    def double_click_target() -> bool:
        """There, or (no seek in flight) a double-click on the line, found afresh: re-analysed states may
        still come in above it while the replay pauses."""
        if window._pending_seek is not None:
            return False
        current = window.events.currentItem()  # None while the list is rebuilt
        if abs(window.position_s() - 90.0) < 1.5 and current is not None and current.text() == target:
            return True
        item = window.events.item(window.events_shown().index(target))
        window.events.scrollToItem(item)
        rect = window.events.visualItemRect(item)
        qtbot.mouseClick(window.events.viewport(), LEFT, pos=rect.center())
        qtbot.mouseDClick(window.events.viewport(), LEFT, pos=rect.center())
        return False

    qtbot.waitUntil(double_click_target, timeout=10000)


def test_the_lists_show_the_assessment_by_its_own_action_and_its_whole_length(qtbot, tmp_path: Path) -> None:
    from somafeedback.ui.cue_panel import CuePanel
    from somafeedback.ui.home_window import HomeWindow

    exercises = load_exercises()
    assessment = exercises["resonance-assessment"]
    panel = CuePanel(exercises, print, print, print, print)
    qtbot.addWidget(panel)
    pushable = [panel.exercise_list.item(i).data(QtCore.Qt.ItemDataRole.UserRole) for i in range(panel.exercise_list.count())]
    assert pushable and "resonance-assessment" not in pushable
    window = HomeWindow(exercises, tmp_path, chimes=Chimes(multimedia=lambda: None))
    qtbot.addWidget(window)
    texts = [window.script_list.item(i).text() for i in range(window.script_list.count())]
    line = next(t for t in texts if t.startswith(assessment.title))
    assert line.startswith(f"{assessment.title} — 13 min")  # the introduction plus 5 × 2 min and 4 rests
    window.script_list.setCurrentRow(texts.index(line))
    assert "13 min" in window.caution_panel.text()
