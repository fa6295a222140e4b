"""The home-practice window, offscreen: choose, practise on the simulated strap, summary and trend, chimes."""

from __future__ import annotations

import math

import os
import re
import types
import wave
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore  # noqa: E402

from somafeedback.live.engine import Engine, EngineOptions, EngineSource  # noqa: E402
from somafeedback.regulation.exercises import Exercise, exercise_for, load_exercises, parse_exercise_text  # noqa: E402
from somafeedback.sessions.file import read_session  # noqa: E402
from somafeedback.ui import chimes as chimes_module  # noqa: E402
from somafeedback.ui.chimes import UNAVAILABLE_TEXT, Chimes, write_tone  # noqa: E402
from somafeedback.ui.home_window import (  # noqa: E402
    NO_STRAP_TEXT,
    RESTING_FIRST_TEXT,
    HomeWindow,
    home_exercises,
    home_texts,
)

from layout_checks import clipped, settle  # noqa: E402

BANNED = re.compile(r"diagnos|vagal|dorsal|ventral|shutdown|trauma|stress|score|bad|fail", re.I)

SHORT = "short-home-practice"
SHORT_TOML = """
title = "Short home practice"
purpose = "Two short steps, for the tests."
role = "paced-breathing"
where = ["home"]
entry_trigger = "Chosen at home."
exit_condition = "The steps end."

[[step]]
text = "You can keep your eyes open or closed, and you can stop at any time."
seconds = 30

[[step]]
text = "Breathe along with the pacer, slower rather than bigger."
seconds = 60
pacer = { inhale_s = 4, exhale_s = 6 }
"""

LONG = "long-home-practice"
LONG_TOML = SHORT_TOML.replace('title = "Short home practice"', 'title = "Long home practice"').replace(
    "seconds = 60", "seconds = 1500")


@pytest.fixture
def library() -> dict[str, Exercise]:
    return {**load_exercises(), SHORT: parse_exercise_text(SHORT_TOML, f"{SHORT}.toml"),
            LONG: parse_exercise_text(LONG_TOML, f"{LONG}.toml")}


def simulated(library: dict[str, Exercise], folder: Path, scenario: str = "calm", speed: float = 200.0):
    def factory(script_id: str) -> Engine:
        return Engine(EngineSource(simulate=scenario, speed=speed, seed=5, simulated_model="hr"),
                      EngineOptions(mode="home", script=script_id, record_to=folder), library)
    return factory


def silent_chimes() -> Chimes:
    return Chimes(multimedia=lambda: None)


@pytest.fixture
def make_window(qtbot, tmp_path: Path, library):
    windows: list[HomeWindow] = []

    def make(**kwargs) -> HomeWindow:
        kwargs.setdefault("engine_factory", simulated(library, tmp_path))
        kwargs.setdefault("chimes", silent_chimes())
        window = HomeWindow(library, tmp_path, **kwargs)
        qtbot.addWidget(window)
        window.client_screen.set_fade_ms(0)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()  # stops a practice still running (the engine thread ends)


def test_only_home_exercises_are_offered_and_extras_are_off_by_default(make_window, library) -> None:
    window = make_window()
    offered = [window.script_list.item(i).data(0x0100) for i in range(window.script_list.count())]
    assert offered == [e.id for e in home_exercises(library)]
    assert SHORT in offered and "titrated-pendulation" not in offered  # practitioner-led only
    short_item = window.script_list.item(offered.index(SHORT)).text()
    assert short_item.startswith("Short home practice — 1.5 min") and "Two short steps" in short_item  # 90 s
    assert not window.chimes_box.isChecked() and not window.numbers_box.isChecked()
    assert window.current_page() == "choose" and not window.is_practising()
    assert window.summary_text() == "" and window.trend_rows() == [] and window.sound_message() is None
    for text in home_texts():
        assert not BANNED.search(text), text


def test_a_practice_runs_from_start_to_summary_and_trend(qtbot, make_window, library, tmp_path: Path) -> None:
    window = make_window()
    steps: list[int] = []
    window.client_screen.step_changed.connect(steps.append)
    finished: list[object] = []
    window.practice_finished.connect(finished.append)

    window.start(SHORT)
    assert window.is_practising() and window.current_page() == "practice"
    assert window.client_screen.current_text() == RESTING_FIRST_TEXT  # the resting measurement comes first

    exercise = library[SHORT]
    qtbot.waitUntil(lambda: 0 in steps, timeout=20000)
    assert window.client_screen.current_exercise() is exercise or not window.is_practising()
    assert steps[0] == 0
    qtbot.waitUntil(lambda: not window.is_practising(), timeout=30000)

    assert 1 in steps  # the pacer step was shown too
    assert window.current_page() == "summary" and finished and finished[0] is window.summary
    text = window.summary_text()
    assert text.startswith("You practised for about 7 minutes (Short home practice).")
    assert "While the pacer was on" in text
    assert not BANNED.search(text), text
    assert window.summary_label.text() == text

    (session,) = tmp_path.glob("*.session.sqlite")
    recorded = read_session(session)
    assert recorded.manifest["mode"] == "home" and recorded.manifest["script"] == SHORT  # filled in by the window
    assert not recorded.ended_unexpectedly
    actions = [e.data.get("action") for e in recorded.events if getattr(e, "kind", "") == "cue"]
    assert actions == ["script-step", "script-step", "script-finished"]

    (row,) = window.trend_rows()
    assert row.practices == 1 and row.minutes == pytest.approx(recorded.duration_s / 60.0)
    assert row.resting_ln_rmssd == pytest.approx(recorded.manifest["baseline"]["ln_ref"])
    assert window.trend_chart.minutes_shown() == pytest.approx([row.minutes])
    assert window.trend_chart.resting_shown() == []  # one reading: not drawn (a week needs 3)

    window.again_button.click()
    assert window.current_page() == "choose"


def test_ending_early_saves_and_summarises(qtbot, make_window, library, tmp_path: Path) -> None:
    window = make_window(engine_factory=simulated(library, tmp_path, speed=50.0))
    window.start("low-and-slow-breathing")
    qtbot.waitUntil(lambda: window.engine is not None and window.engine.recording is not None
                    and window.engine.now_s() > 150, timeout=20000)
    window.end_button.click()
    assert not window.is_practising() and window.current_page() == "summary"
    assert window.summary_text().startswith("You practised for") and not BANNED.search(window.summary_text())
    (session,) = tmp_path.glob("*.session.sqlite")
    assert read_session(session).manifest["script"] == "low-and-slow-breathing"
    assert window.trend_rows()[-1].practices == 1


def test_pausing_into_grounding_and_resuming(qtbot, make_window, library, tmp_path: Path) -> None:
    window = make_window(engine_factory=simulated(library, tmp_path, scenario="activation", speed=250.0))
    grounding = exercise_for("grounding", "home", library)
    assert grounding is not None
    window.start(LONG)
    paused_views: list[tuple[str, object]] = []

    def paused() -> bool:
        if window._paused:
            paused_views.append((window.client_screen.current_text(), window.client_screen.current_exercise()))
        return window._paused

    qtbot.waitUntil(paused, timeout=40000)  # above the usual range for 60 s: the script pauses into grounding
    assert paused_views[-1] == (grounding.steps[0].text, None)
    assert window.is_practising()
    qtbot.waitUntil(lambda: not window._paused, timeout=40000)  # settled again: the script resumes
    assert window.client_screen.current_exercise() is library[LONG]
    assert window.client_screen.current_step_index() == window._step
    window.stop()
    recorded = read_session(next(tmp_path.glob("*.session.sqlite")))
    actions = [e.data.get("action") for e in recorded.events if getattr(e, "kind", "") == "cue"]
    assert "script-paused" in actions and "script-resumed" in actions
    assert not BANNED.search(window.summary_text())


def test_without_a_strap_the_simulated_strap_is_offered(qtbot, make_window, library, tmp_path: Path) -> None:
    window = make_window(engine_factory=None, simulator_factory=simulated(library, tmp_path))
    window.start(SHORT)
    qtbot.waitUntil(lambda: window.banner_shown() != "", timeout=30000)
    assert window.banner_shown() == NO_STRAP_TEXT and window.simulator_button.isVisibleTo(window)
    assert window.is_practising()
    window.simulator_button.click()
    assert window.banner_shown() == "" and window.engine is not None and window.engine.source.simulate == "calm"
    qtbot.waitUntil(lambda: not window.is_practising(), timeout=30000)
    assert window.summary_text().startswith("You practised for")
    (row,) = window.trend_rows()
    assert row.practices == 1  # the attempt without a strap is no practice


# --- long texts are never cut off (issue #13, defect 3) ---------------------------------------------


def test_the_resting_text_and_every_home_step_show_whole_at_1100_by_800(qtbot, make_window, library) -> None:
    window = make_window(engine_factory=None)  # no strap here: the banner takes its room too
    window.resize(1100, 800)
    window.numbers_box.setChecked(True)
    window.start(SHORT)
    qtbot.waitUntil(lambda: window.banner_shown() != "", timeout=30000)
    screen = window.client_screen
    settle()
    assert screen.current_text() == RESTING_FIRST_TEXT and window.size() == QtCore.QSize(1100, 800)
    label = screen.text_label()
    assert label.heightForWidth(label.width()) > 2 * label.fontMetrics().lineSpacing()  # it wraps to 3 lines
    assert clipped(label, window) == ""  # once cut at the top and the bottom

    problems = []
    for exercise in home_exercises(library):
        for index, step in enumerate(exercise.steps):
            before = sum(s.seconds for s in exercise.steps[:index])
            screen.show_exercise(exercise, window._now() - before - step.seconds / 2)  # the middle of the step
            settle()
            for shown in (screen.title_label(), label):
                if why := clipped(shown, window):
                    problems.append(f"{exercise.id} step {index + 1}: {why}")
    assert problems == []


# --- the home mode of the app (issue #13, defect 4) ------------------------------------------------


@pytest.fixture
def app_home(qtbot, tmp_path: Path, library):
    """Build the home window the way ``somafeedback --mode home ...`` does (ui/app.py), with test settings."""
    from PySide6 import QtCore

    from somafeedback.ui.app import build_home_window, build_parser
    from somafeedback.ui.settings import AppSettings

    settings = AppSettings(QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat))
    windows: list[HomeWindow] = []

    def build(*argv: str, settings_client: str = "") -> HomeWindow:
        settings.set("people/client", settings_client)
        window = build_home_window(build_parser().parse_args(["--mode", "home", *argv]), settings, library)
        qtbot.addWidget(window)
        window.client_screen.set_fade_ms(0)
        window.show()
        windows.append(window)
        return window

    yield build
    for window in windows:
        window.close()


def test_home_mode_runs_on_the_simulated_strap_and_the_practice_counts_for_the_client(
        qtbot, app_home, tmp_path: Path) -> None:
    from somafeedback.reports.common import ReportError
    from somafeedback.reports.progress_content import progress_content

    folder = tmp_path / "practices"
    # --speed max: the simulated strap on a virtual clock, so the practice holds its whole length of
    # data however busy the computer is (at a fixed speed a starved loop would record less)
    window = app_home("--simulate", "--speed", "max", "--recordings", str(folder), settings_client="C8")
    window.start(SHORT)
    assert window.engine is not None
    assert window.engine.source.simulate == "calm" and window.engine.source.speed == math.inf  # not a scan at 1x
    qtbot.waitUntil(lambda: not window.is_practising(), timeout=90000)
    assert window.summary_text().startswith("You practised for")

    (session,) = folder.glob("*.session.sqlite")
    manifest = read_session(session).manifest
    assert manifest["client"] == "C8" and manifest["mode"] == "home" and manifest["script"] == SHORT
    content = progress_content(folder, "c8")  # the client's progress report counts the home practice
    assert sum(week.practices for week in content.weeks) == 1
    assert sum(week.practice_minutes for week in content.weeks) > 5.0
    (row,) = window.trend_rows()
    assert row.practices == 1
    with pytest.raises(ReportError):
        progress_content(folder, "someone else")


def test_home_mode_without_a_strap_offers_the_simulator_at_the_chosen_speed_for_the_named_client(
        qtbot, app_home, tmp_path: Path) -> None:
    folder = tmp_path / "practices"
    window = app_home("--speed", "40", "--client", "C7", "--recordings", str(folder), settings_client="C8")
    assert window.client == "C7"  # --client before the settings' name
    window.start(SHORT)
    assert window.engine is not None and window.engine.source.simulate is None  # looks for a real strap first
    qtbot.waitUntil(lambda: window.banner_shown() != "", timeout=30000)
    assert window.banner_shown() == NO_STRAP_TEXT
    window.simulator_button.click()
    engine = window.engine
    assert engine is not None and engine.source == EngineSource(simulate="calm", speed=40.0)
    qtbot.waitUntil(lambda: engine.recording is not None and engine.now_s() > 20.0, timeout=30000)
    window.stop()
    recorded = read_session(engine.recording)
    assert recorded.manifest["client"] == "C7" and recorded.manifest["mode"] == "home"


# --- chimes ------------------------------------------------------------------------------------------

def test_chimes_without_sound_report_once_and_never_raise() -> None:
    messages: list[str] = []
    chimes = Chimes(report=messages.append, multimedia=lambda: None)
    assert chimes.available is False
    chimes.play("step")
    assert messages == []  # off by default: nothing to say
    chimes.set_enabled(True)
    for phase in ("inhale", "exhale", "hold_out", "inhale", None):
        chimes.phase(phase)
    chimes.step()
    chimes.set_enabled(False)
    chimes.set_enabled(True)
    assert messages == [UNAVAILABLE_TEXT] and chimes.message == UNAVAILABLE_TEXT and chimes.played == 0
    chimes.close()


def test_chimes_on_this_computer_do_not_raise() -> None:
    messages: list[str] = []
    chimes = Chimes(report=messages.append)  # the real detection (no QtMultimedia in PySide6-Essentials)
    chimes.set_enabled(True)
    chimes.step()
    assert chimes.available or messages == [UNAVAILABLE_TEXT]
    chimes.close()


class _FakeEffect:
    class Status:
        Error = "error"
        Ready = "ready"

    plays: list[str] = []

    def __init__(self, parent) -> None:
        self.source = ""

    def setSource(self, url) -> None:  # noqa: N802 - Qt API
        self.source = url.toLocalFile()

    def setVolume(self, volume: float) -> None:  # noqa: N802
        assert 0 < volume <= 0.5  # soft

    def status(self) -> str:
        return self.Status.Ready

    def play(self) -> None:
        _FakeEffect.plays.append(Path(self.source).stem)

    def stop(self) -> None:
        pass


def _fake_multimedia(outputs: list[str]) -> types.ModuleType:
    module = types.ModuleType("FakeQtMultimedia")
    module.QSoundEffect = _FakeEffect
    module.QMediaDevices = types.SimpleNamespace(audioOutputs=lambda: outputs)
    return module


def test_chimes_without_an_output_device_are_unavailable() -> None:
    messages: list[str] = []
    chimes = Chimes(report=messages.append, multimedia=lambda: _fake_multimedia([]))
    assert not chimes.available
    chimes.set_enabled(True)
    assert messages == [UNAVAILABLE_TEXT]


def test_chimes_play_soft_tones_at_phase_and_step_changes(tmp_path: Path) -> None:
    _FakeEffect.plays = []
    chimes = Chimes(multimedia=lambda: _fake_multimedia(["speakers"]))
    assert chimes.available
    for phase in ("inhale", "exhale"):
        chimes.phase(phase)
    assert _FakeEffect.plays == []  # off by default
    chimes.set_enabled(True)
    for phase in ("inhale", "inhale", "exhale", "exhale", "hold_out", "inhale"):
        chimes.phase(phase)
    chimes.step()
    chimes.phase("inhale")  # a step's first phase: the step chime already marked it
    chimes.phase("exhale")
    assert _FakeEffect.plays == ["exhale", "hold", "inhale", "step", "exhale"]
    chimes.close()

    path = write_tone(tmp_path / "tone.wav", (440.0,), 0.4)
    with wave.open(str(path)) as tone:
        assert tone.getnchannels() == 1 and tone.getframerate() == chimes_module.SAMPLE_RATE
        assert tone.getnframes() == int(0.4 * chimes_module.SAMPLE_RATE)
    samples = chimes_module.tone_samples((440.0,), 0.4)
    peak = max(abs(int.from_bytes(samples[i:i + 2], "little", signed=True)) for i in range(0, len(samples), 2))
    assert 0 < peak < 0.5 * 32767  # soft
    first = abs(int.from_bytes(samples[0:2], "little", signed=True))
    assert first < 200  # fades in: no click


def test_the_window_shows_the_sound_message_once(qtbot, make_window) -> None:
    window = make_window()
    window.chimes_box.setChecked(True)
    assert window.sound_message() == UNAVAILABLE_TEXT
    assert window.statusBar().currentMessage() == UNAVAILABLE_TEXT
    window.statusBar().clearMessage()
    window.start(SHORT)  # the practice goes on without chimes
    qtbot.waitUntil(lambda: window.client_screen.current_exercise() is not None, timeout=20000)
    window.stop()
    assert window.statusBar().currentMessage() != UNAVAILABLE_TEXT  # shown once, not again
    assert window.summary_text().startswith("You practised for")


# --- lengths agree with the command line, and the summary speaks plainly (issue #13) -----------------

FORBIDDEN = re.compile(r"ms²|ms2|\bms\b|rmssd|\bln\b|\bbpm\b|\bhrv\b|good|bad|well done|great|poor|fail|score|"
                       r"vagal|vagus|polyvagal|ventral|dorsal|sympathetic|nervous system|diagnos|stress|trauma|"
                       r"healthy|unhealthy|normal", re.I)


def test_exercise_lengths_agree_with_the_command_line(make_window, library) -> None:
    import subprocess
    import sys

    window = make_window()
    shown = {}
    for i in range(window.script_list.count()):
        item = window.script_list.item(i)
        shown[item.data(0x0100)] = item.text().split("\n")[0]
    assert shown["feet-and-seat-grounding"].endswith(" — 2.5 min")  # 150 s: once "2 min" (round half to even)
    assert shown[SHORT].endswith(" — 1.5 min") and shown[LONG].endswith(" — 25.5 min")

    cli = subprocess.run([sys.executable, "-m", "somafeedback.cli", "exercises"], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    compared = 0
    for line in cli.splitlines():
        parts = line.split()
        if parts and parts[0] in shown:
            cli_length = " ".join(parts[1:3])  # "2.5 min"
            assert shown[parts[0]].endswith(f" — {cli_length}"), (line, shown[parts[0]])
            compared += 1
    assert compared >= 5


def _window_values(t_s: float, hr: float, ln: float):
    from somafeedback.reports.practice_history import WindowValues

    return WindowValues(t_s, hr, ln)


def _summary(**changes):
    from somafeedback.reports.practice_history import PracticeSummary

    base = dict(session_id="s", path=None, started=None, duration_min=8.4, script_id=SHORT,
                script_title="Short home practice", state_seconds={"calibrating": 300.0, "in band": 200.0},
                start_window=_window_values(360.0, 78.4, 3.6), end_window=_window_values(500.0, 70.2, 3.9),
                paced_breathing_bpm=6.13, pacer_bpm=6.0, artifact_pct=0.4, n_beats=600)
    return PracticeSummary(**{**base, **changes})


def test_the_summary_speaks_plainly() -> None:
    from somafeedback.ui.home_window import plain_summary

    text = plain_summary(_summary())
    assert text.splitlines() == [
        "You practised for about 8 minutes (Short home practice).",
        "It began with a few quiet minutes of rest.",
        "Your heart rate settled from about 78 to about 70 beats per minute.",
        "The small changes in timing from one heartbeat to the next were larger at the end than at the start.",
        "While the pacer was on, your heartbeat rose and fell with your breath about 6.1 times a minute "
        "(the pacer was set to 6).",
        "These numbers describe this one practice. They change from day to day for many ordinary reasons, such as "
        "sleep, meals, movement or the time of day.",
    ]
    higher = plain_summary(_summary(start_window=_window_values(360.0, 66.5, 3.6),
                                    end_window=_window_values(500.0, 71.5, 3.3)))
    assert "went from about 67 up to about 72 beats per minute" in higher  # halves rounded up, as people do
    assert "smaller at the end than at the start" in higher
    same = plain_summary(_summary(end_window=_window_values(500.0, 78.0, 3.62)))
    assert "stayed about the same, at about 78 beats per minute" in same and "about the same at the end" in same
    short = plain_summary(_summary(end_window=None, paced_breathing_bpm=None, artifact_pct=12.4))
    assert "too short to compare" in short and "about 12 % of the beats" in short and "pacer" not in short
    none = plain_summary(_summary(n_beats=0, duration_min=0.5, state_seconds={}))
    assert none.splitlines() == ["You practised for less than a minute (Short home practice).",
                                 "No heartbeats were recorded this time, so there is nothing to compare."]
    for sample in (text, higher, same, short, none, *home_texts()):
        assert not FORBIDDEN.search(sample), sample


def _independent_minutes(session_path: Path) -> tuple[float, float]:
    """Mean heart rate of the first and the last minute of the recorded beats, from the raw 0x2A37 payloads."""
    import numpy as np

    from somafeedback.devices.heart_rate import decode_measurement

    session = read_session(session_path)
    rr = np.array([value for n in session.notifications if "2a37" in n.characteristic.lower()
                   for value in decode_measurement(n.payload).rr_ms])
    assert len(rr) > 200
    t = np.cumsum(rr) / 1000.0
    first, last = rr[t <= t[0] + 60.0], rr[t >= t[-1] - 60.0]
    return float(np.mean(60000.0 / first)), float(np.mean(60000.0 / last))


def test_the_home_summary_tells_a_recorded_practice_in_plain_words(qtbot, app_home, tmp_path: Path) -> None:
    folder = tmp_path / "practices"
    # activation: the heart rate changes over the practice; 50x: a busy machine keeps up (no gaps at the start)
    window = app_home("--simulate", "activation", "--speed", "50", "--recordings", str(folder))
    window.start(SHORT)
    qtbot.waitUntil(lambda: not window.is_practising(), timeout=120000)
    text = window.summary_text()
    assert window.summary_label.text() == text and window.current_page() == "summary"
    assert not FORBIDDEN.search(text), text

    (session_path,) = folder.glob("*.session.sqlite")
    minutes = read_session(session_path).duration_s / 60.0
    assert text.startswith(f"You practised for about {int(minutes + 0.5)} minutes (Short home practice).")
    start_hr, end_hr = _independent_minutes(session_path)
    changed = re.search(r"Your heart rate (?:settled from|went from) about (\d+) (?:up )?to about (\d+) "
                        r"beats per minute", text)
    if changed:
        said_start, said_end = int(changed.group(1)), int(changed.group(2))
        assert abs(said_start - start_hr) <= 1.5 and abs(said_end - end_hr) <= 1.5, (text, start_hr, end_hr)
        assert ("settled" in changed.group(0)) == (said_end < said_start)
    else:
        same = re.search(r"Your heart rate stayed about the same, at about (\d+) beats per minute", text)
        assert same, text
        assert abs(int(same.group(1)) - end_hr) <= 1.5 and abs(start_hr - end_hr) <= 2.5, (text, start_hr, end_hr)
    assert "While the pacer was on" in text and "(the pacer was set to 6)" in text
    assert "heartbeat to the next" in text
    for plot in (window.trend_chart.minutes_plot, window.trend_chart.resting_plot):  # the rest of the page, too
        assert not FORBIDDEN.search(plot.titleLabel.text), plot.titleLabel.text


def test_a_strap_picked_in_the_welcome_from_help_after_no_strap_runs_the_same_practice_on_it(
        qtbot, app_home, tmp_path: Path) -> None:
    window = app_home("--speed", "max", "--recordings", str(tmp_path / "practices"))
    window.start(SHORT)
    first = window.engine
    assert first is not None and first.source.simulate is None  # the computer's Bluetooth: no strap here
    qtbot.waitUntil(lambda: first.finished.is_set() and window.banner_shown() != "", timeout=30000)
    address = _pick_nearby_strap_from_help(qtbot, window)
    qtbot.waitUntil(lambda: window.engine is not first, timeout=30000)
    engine = window.engine
    assert engine is not None and engine.source.addresses == (address,) and engine.options.script == SHORT
    window.stop()


def _welcome_from_help(window: HomeWindow) -> Any:
    """Help → "Welcome and first steps…" in the home window: the welcome shown."""
    from PySide6 import QtWidgets

    from somafeedback.ui.welcome import MENU_LABEL

    (action,) = [a for menu in window.menuBar().findChildren(QtWidgets.QMenu) for a in menu.actions()
                 if a.text() == MENU_LABEL]
    action.trigger()
    return window.welcome


def _pick_nearby_strap_from_help(qtbot, window: HomeWindow) -> str:
    """Help → the welcome, its list of a simulated strap advertising nearby, "Use this strap" clicked: its address."""
    from PySide6.QtTest import QTest

    from somafeedback.live.sources import StrapSource
    from somafeedback.ui.strap_scanner import StrapScanner

    dialog = _welcome_from_help(window)
    nearby = StrapScanner(StrapSource(simulate="calm", simulated_straps=0, nearby_simulated_straps=1), timeout_s=2.0)
    nearby.done.connect(dialog.show_scan)  # the strap the welcome lists: a simulated one advertising nearby
    nearby.start()
    qtbot.waitUntil(lambda: len(dialog.found()) == 1, timeout=30000)
    address = dialog.straps.currentItem().data(QtCore.Qt.ItemDataRole.UserRole)
    QTest.mouseClick(dialog.use_button, QtCore.Qt.MouseButton.LeftButton)
    return str(address)


def test_a_strap_picked_from_help_before_any_practice_is_the_next_practices_strap(
        qtbot, app_home, tmp_path: Path) -> None:
    window = app_home("--speed", "max", "--recordings", str(tmp_path / "practices"))
    assert window.engine is None
    address = _pick_nearby_strap_from_help(qtbot, window)
    assert window.engine is None  # nothing starts before the client chooses a practice
    assert address in window.choose_message_text() and "next practice" in window.choose_message_text()
    assert window.start(SHORT)
    engine = window.engine
    assert engine is not None and engine.source.addresses == (address,) and engine.source.simulate is None
    assert engine.options.script == SHORT and engine.options.record_to == tmp_path / "practices"
    window.stop()


def test_try_without_a_strap_from_help_before_any_practice_runs_the_next_practice_on_the_simulated_strap(
        qtbot, app_home, tmp_path: Path) -> None:
    from PySide6.QtTest import QTest

    window = app_home("--speed", "max", "--recordings", str(tmp_path / "practices"))
    dialog = _welcome_from_help(window)
    QTest.mouseClick(dialog.simulator_button, QtCore.Qt.MouseButton.LeftButton)
    assert window.engine is None and "simulated strap" in window.choose_message_text()
    assert window.start(SHORT)
    engine = window.engine
    assert engine is not None and engine.source.simulate == "calm" and engine.options.script == SHORT
    window.stop()


def test_a_strap_picked_from_help_is_the_strap_of_a_practitioners_session_joined_next(
        qtbot, app_home, tmp_path: Path) -> None:
    from PySide6.QtTest import QTest

    from somafeedback.remote.codes import generate_code

    window = app_home("--speed", "max", "--recordings", str(tmp_path / "practices"))
    address = _pick_nearby_strap_from_help(qtbot, window)
    QTest.mouseClick(window.join_remote_button, QtCore.Qt.MouseButton.LeftButton)
    dialog = window.remote_dialog
    assert dialog is not None
    QTest.keyClicks(dialog.relay_edit, "nats://127.0.0.1:9")  # nothing listens there: the join fails later, in words
    QTest.keyClicks(dialog.code_edit, str(generate_code()))
    QTest.mouseClick(dialog.join_button, QtCore.Qt.MouseButton.LeftButton)
    engine = window.remote_page.engine
    assert engine is not None and engine.source.addresses == (address,) and engine.source.simulate is None
    assert engine.options.script is None and "remote" in engine.options.manifest["tags"]
    window.remote_page.end()
    assert window.remote_page.engine is None
