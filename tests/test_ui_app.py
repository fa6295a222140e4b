"""The desktop app, offscreen: wiring, the cue approval flow, markers, the no-strap offer, a smoke run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6 import QtCore, QtWidgets

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from somafeedback.devices.events import TimelineEvent  # noqa: E402
from somafeedback.live.engine import Engine, EngineOptions, EngineSource  # noqa: E402
from somafeedback.regulation.exercises import load_exercises  # noqa: E402
from somafeedback.sessions.file import read_session  # noqa: E402


@pytest.fixture
def library():
    return load_exercises()


@pytest.fixture
def app_window(qtbot, library, request):
    from somafeedback.ui.client_screen import ClientScreen
    from somafeedback.ui.practitioner_window import PractitionerWindow

    source, options = request.param
    engine = Engine(source, options, library)
    client = ClientScreen(engine.now_s)
    window = PractitionerWindow(engine, library, client)
    qtbot.addWidget(window)
    qtbot.addWidget(client)
    window.show()
    client.show()
    engine.start()
    yield window, client, engine
    engine.stop()


@pytest.mark.parametrize("app_window", [(EngineSource(simulate="calm", speed=float("inf")), EngineOptions())],
                         indirect=True)
def test_window_shows_the_live_stream(qtbot, app_window) -> None:
    """At "max" (an infinite speed) the simulated session runs on its own clock, as fast as it can: no wall-clock hiccup can
    open a gap, so the states are the scenario's own, every run."""
    window, _, engine = app_window

    def states() -> list[str]:
        lines = [window.timeline.item(i).text() for i in range(window.timeline.count() - 1, -1, -1)]  # oldest first
        return [line.split("state: ", 1)[1] for line in lines if "  state: " in line]

    qtbot.waitUntil(lambda: "in band" in states() and window.plots.rr.n > 30 and window.plots.hr.n > 0, timeout=120000)
    assert window.status["link"].text() == "link: streaming"
    assert "Polar H10 SIM00001" in window.status["strap"].text() and "battery 87 %" in window.status["strap"].text()
    assert window.status["contact"].text() == "skin contact"
    assert states()[:2] == ["calibrating", "in band"]  # the baseline, measured
    assert not {"signal lost", "re-checking", "low signal"} & set(states())
    window.plots.redraw()
    x, y = window.plots._rr_curve.getData()
    assert len(x) > 30 and 600 < float(y[-1]) < 1200  # what is drawn is the data


@pytest.mark.parametrize("app_window", [(EngineSource(simulate="calm", speed=10.0), EngineOptions())], indirect=True)
def test_the_h10_ecg_strip_and_breathing_movement_are_drawn(qtbot, app_window) -> None:
    import numpy as np

    window, _, _ = app_window
    raw = window.raw
    qtbot.waitUntil(lambda: raw.isVisible() and raw.peaks.end > 5 and raw.breath.end > 25 * 25
                    and raw.latest_breathing is not None and raw.latest_breathing.valid, timeout=60000)
    raw.redraw()
    x, y = raw._ecg_curve.getData()
    assert len(x) > 130 * 3 and np.nanmax(y) > 600  # R waves of about a millivolt, drawn
    assert x[-1] - x[0] <= 6.1  # a 6-s strip
    t, mg = raw._breath_curve.getData()
    assert len(t) > 25 * 25 and np.nanstd(mg) > 1.0
    assert "breaths/min from chest motion" in raw.summary and "mG" in raw.summary


@pytest.mark.parametrize("app_window", [(EngineSource(simulate="sustained-activation", speed=60.0, simulated_model="hr"), EngineOptions())],
                         indirect=True)
def test_cue_approval_reaches_the_client_view_only_when_approved(qtbot, app_window) -> None:
    window, client, engine = app_window
    qtbot.waitUntil(lambda: window.pending_cue is not None, timeout=60000)
    assert window.panel.approve_button.isEnabled()
    assert "grounding" in window.panel.suggestion.text()
    assert client.is_resting()  # a suggestion alone never reaches the client
    window.panel.approve_button.click()
    qtbot.waitUntil(lambda: client.current_exercise() is not None, timeout=10000)
    assert client.current_exercise().id == "feet-and-seat-grounding"
    assert not window.panel.approve_button.isEnabled()
    log = [window.timeline.item(i).text() for i in range(window.timeline.count())]
    assert any("cue approved: grounding" in line for line in log) and any("cue delivered" in line for line in log)


@pytest.mark.parametrize("app_window", [(EngineSource(simulate="calm", speed=20.0), None)], indirect=True)
def test_hotkey_markers_and_notes_are_recorded(qtbot, app_window, tmp_path: Path) -> None:
    window, _, engine = app_window
    assert engine.recording is None  # this engine does not record: markers still reach the timeline
    qtbot.waitUntil(lambda: window.plots.rr.n > 5, timeout=20000)
    window.activateWindow()  # the practitioner's window has the keyboard, not the client view
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window, "R")
    qtbot.keyClick(window, "D")
    window.panel.note.setText("shoulders dropped")
    qtbot.keyClick(window.panel.note, QtCore.Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.timeline.count() and sum(
        ("marker:" in window.timeline.item(i).text() or "note:" in window.timeline.item(i).text())
        for i in range(window.timeline.count())) >= 3, timeout=10000)
    log = "\n".join(window.timeline.item(i).text() for i in range(window.timeline.count()))
    assert "marker: resource" in log and "marker: discharge" in log and "note: shoulders dropped" in log


def test_markers_land_in_the_recorded_session(qtbot, library, tmp_path: Path) -> None:
    from somafeedback.ui.practitioner_window import PractitionerWindow

    engine = Engine(EngineSource(simulate="calm", speed=20.0), EngineOptions(record_to=tmp_path), library)
    window = PractitionerWindow(engine, library)
    qtbot.addWidget(window)
    window.show()
    engine.start()
    qtbot.waitUntil(lambda: window.plots.rr.n > 5, timeout=20000)
    qtbot.keyClick(window, "F")
    qtbot.keyClick(window, "Q")
    engine.stop()  # the markers were queued on the engine loop before the stop (call_soon_threadsafe is FIFO)
    session = read_session(engine.recording)
    labels = [e.data["label"] for e in session.events if isinstance(e, TimelineEvent) and e.kind == "marker"]
    assert labels == ["felt shift", "hypoarousal signs observed"]


def test_without_a_strap_the_app_offers_the_simulator(qtbot, library, tmp_path: Path) -> None:
    """The production wiring (ui/app.py): no strap → banner → simulated strap → a pushed exercise runs on the client view."""
    from somafeedback.ui.app import build_parser, build_practitioner_app
    from somafeedback.ui.settings import AppSettings

    settings = AppSettings(QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat))
    built = build_practitioner_app(build_parser().parse_args(["--speed", "20"]), settings, library)
    window, client = built.window, built.client
    assert client is not None
    qtbot.addWidget(window)
    qtbot.addWidget(client)
    client.set_fade_ms(0)
    window.show()
    client.show()
    first = built.engine
    assert first.source.simulate is None  # no --simulate: it looks for a real strap (there is none here)
    first.start()
    try:
        qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=30000)
        assert "simulat" in window.banner_text.text() and window.simulator_button.isVisibleTo(window)
        panel = window.connection_help.panel  # under the banner: what was seen and the next steps
        qtbot.waitUntil(lambda: panel.isVisible(), timeout=10000)
        from somafeedback.devices.connection_problems import Problem
        from somafeedback.live.connection_help import help_for

        assert panel.help is not None and panel.help.problem in (Problem.NO_ADAPTER, Problem.NO_STRAP_FOUND,
                                                                 Problem.BLUETOOTH_OFF, Problem.PERMISSION_DENIED)
        assert help_for(panel.help.problem).title in panel.shown_text()
        window.simulator_button.click()
        engine = built.engine
        assert engine is not first and engine.source.simulate == "calm" and engine.source.speed == 20.0  # at --speed
        qtbot.waitUntil(lambda: window.plots.rr.n > 5, timeout=20000)

        finished: list[str] = []
        steps: list[int] = []
        client.exercise_finished.connect(finished.append)
        client.step_changed.connect(steps.append)
        exercise = library["low-and-slow-breathing"]  # two short steps, then the pacer
        window.push_exercise(exercise)
        qtbot.waitUntil(lambda: bool(steps) or bool(finished), timeout=20000)
        assert finished == [] and steps[0] == 0  # it starts at its first step, not "finished" by the old clock
        qtbot.waitUntil(lambda: client.current_step_index() == 2, timeout=30000)  # walks on by the new clock
        assert client.pacer_visible() and finished == []
        pacer_widget, pacer = client.pacer_widget(), client.pacer_widget().pacer()
        assert pacer is not None and pacer_widget.state() is not None
        since_start = pacer_widget.clock() - pacer.changes[0][0]  # the pacer reads the same, new clock
        assert 0.0 <= since_start < exercise.duration_s
    finally:
        built.engine.stop()


def test_smoke_the_app_starts_on_the_simulator_and_quits_by_itself(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SOMAFEEDBACK_RECORDINGS": str(tmp_path)}
    # --quit-after counts session time and --speed max runs the simulated strap on a virtual clock,
    # so 40 s of session hold ~40 beats however slowly the computer starts the app.
    result = subprocess.run([sys.executable, "-m", "somafeedback.ui.launcher", "--simulate", "--speed", "max",
                             "--quit-after", "40", "--record"], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    (session,) = tmp_path.glob("*.session.sqlite")
    recorded = read_session(session)
    assert len(recorded.notifications) > 10 and not recorded.ended_unexpectedly  # a clean stop on quit


@pytest.mark.parametrize("app_window", [(EngineSource(simulate="calm", simulated_straps=2, speed=20.0, simulated_model="hr"), EngineOptions())],
                         indirect=True)
def test_two_straps_client_and_practitioner_with_disconnect_and_scan(qtbot, app_window) -> None:
    window, _, engine = app_window
    panel = window.devices
    qtbot.waitUntil(lambda: panel.cell("strap1", "link") == "streaming" and panel.cell("strap2", "link") == "streaming",
                    timeout=20000)
    assert panel.cell("strap1", "role") == "client" and panel.cell("strap2", "role") == "practitioner"
    qtbot.waitUntil(lambda: panel.cell("strap2", "signal") != "", timeout=20000)
    assert panel.cell("strap1", "battery") == "87 %" and panel.cell("strap2", "contact") == "yes"
    panel.table.selectRow(panel.rows["strap2"])
    panel.disconnect_button.click()
    qtbot.waitUntil(lambda: panel.cell("strap2", "link") == "stopped", timeout=20000)
    assert panel.cell("strap1", "link") == "streaming"  # the client's strap carries on
    panel.scan_button.click()
    qtbot.waitUntil(lambda: panel.found.count() > 0 and "sim 2" in panel.found.item(0).text(), timeout=20000)
    panel.found.setCurrentRow(0)
    [button for button in panel.findChildren(type(panel.scan_button)) if button.text() == "Connect as practitioner"][0].click()
    qtbot.waitUntil(lambda: panel.cell("strap2", "link") == "streaming", timeout=20000)


@pytest.mark.parametrize("app_window", [(EngineSource(simulate="calm", speed=20.0), EngineOptions())], indirect=True)
def test_recording_starts_and_stops_from_the_menu_into_the_settings_folder(qtbot, app_window, tmp_path: Path) -> None:
    window, _, engine = app_window
    window.settings.set("recordings/folder", str(tmp_path / "chosen"))
    window.settings.set("people/client", "C3")
    qtbot.waitUntil(lambda: window.plots.rr.n > 3, timeout=20000)
    window.record_action.setChecked(True)
    qtbot.waitUntil(lambda: window.status["recording"].text().startswith("recording:"), timeout=10000)
    qtbot.waitUntil(lambda: window.plots.rr.n > 15, timeout=20000)
    window.record_action.setChecked(False)
    qtbot.waitUntil(lambda: window.status["recording"].text() == "not recording", timeout=10000)
    (path,) = (tmp_path / "chosen").glob("*.session.sqlite")
    session = read_session(path)
    assert session.manifest["client"] == "C3" and not session.ended_unexpectedly and len(session.notifications) > 5
    window.settings.store.clear()


def test_settings_persist_and_feed_the_engine_configs(qtbot, tmp_path: Path) -> None:
    from PySide6 import QtCore as Qc

    from somafeedback.ui.settings import AppSettings, SettingsDialog

    store = Qc.QSettings(str(tmp_path / "settings.ini"), Qc.QSettings.Format.IniFormat)
    settings = AppSettings(store)
    assert settings.regulation().above_bpm == 8.0 and settings.cues().max_per_session == 6  # documented defaults
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.fields["regulation/above_bpm"].setValue(10.0)
    dialog.fields["cues/max_per_session"].setValue(4)
    dialog.fields["pacer/exhale_s"].setValue(7.0)
    dialog.fields["client/numbers"].setChecked(True)
    assert settings.frequency_conventions == "kubios"  # documented default
    conventions_box = dialog.fields["analysis/conventions"]
    conventions_box.setCurrentIndex(conventions_box.findData("task-force"))
    dialog.accept()
    again = AppSettings(Qc.QSettings(str(tmp_path / "settings.ini"), Qc.QSettings.Format.IniFormat))
    assert again.regulation().above_bpm == 10.0 and again.cues().max_per_session == 4
    assert again.pacer().exhale_s == 7.0 and again.client_numbers is True
    assert again.frequency_conventions == "task-force"


@pytest.mark.parametrize("extra", [["--replay", "SAMPLE", "--speed", "20"], ["--mode", "home"]])
def test_smoke_review_and_home_windows_open_and_quit_by_themselves(tmp_path: Path, extra: list[str]) -> None:
    from session_helpers import REPO

    sample = tmp_path / "sample.session.sqlite"
    sample.write_bytes((REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite").read_bytes())
    args = [str(sample) if a == "SAMPLE" else a for a in extra]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SOMAFEEDBACK_RECORDINGS": str(tmp_path / "lib")}
    result = subprocess.run([sys.executable, "-m", "somafeedback.ui.launcher", *args, "--quit-after", "3"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]


def test_without_a_display_the_app_says_so_instead_of_crashing() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "-m", "somafeedback.ui.launcher", "--simulate"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1 and "no display" in result.stderr and "stream --simulate" in result.stderr


def test_scan_in_the_simulated_demo_finds_another_strap_to_connect_as_practitioner(qtbot, library, tmp_path: Path) -> None:
    """The demo (production factory, --simulate): Scan finds one more strap nearby (the client's,
    connected, no longer advertises); "Connect as practitioner" streams it as the practitioner's strap."""
    from somafeedback.ui.app import build_parser, build_practitioner_app
    from somafeedback.ui.settings import AppSettings

    settings = AppSettings(QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat))
    built = build_practitioner_app(build_parser().parse_args(["--simulate", "--speed", "20", "--no-client-view"]),
                                   settings, library)
    window, engine = built.window, built.engine
    qtbot.addWidget(window)
    window.show()
    engine.start()
    try:
        qtbot.waitUntil(lambda: window.devices.cell("strap1", "link") == "streaming", timeout=30000)
        client_strap = window.devices.cell("strap1", "strap")
        qtbot.mouseClick(window.devices.scan_button, QtCore.Qt.MouseButton.LeftButton)
        found = window.devices.found
        qtbot.waitUntil(lambda: found.count() >= 1, timeout=30000)
        names = [found.item(i).text() for i in range(found.count())]
        others = [i for i, text in enumerate(names) if client_strap not in text and "No strap found" not in text]
        assert len(others) == 1, names  # exactly one more strap nearby
        found.setCurrentRow(others[0])
        practitioner_button = next(b for b in window.devices.findChildren(QtWidgets.QPushButton)
                                   if b.text() == "Connect as practitioner")
        qtbot.mouseClick(practitioner_button, QtCore.Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.devices.cell("strap2", "link") == "streaming", timeout=30000)
        assert window.devices.cell("strap2", "strap") not in ("", client_strap)
    finally:
        engine.stop()


@pytest.mark.parametrize("mode", ["practitioner", "home"])
def test_the_time_left_setting_reaches_the_client_view_and_the_mirror_sits_in_the_panel(qtbot, library, tmp_path: Path,
                                                                                     mode: str) -> None:
    """The production factories read "show the time left" from the settings (off here) for the client view."""
    from somafeedback.ui.app import build_home_window, build_parser, build_practitioner_app
    from somafeedback.ui.settings import AppSettings

    store = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    AppSettings(store).set("client/time_left", False)
    settings = AppSettings(QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat))
    args = build_parser().parse_args(["--simulate", "--mode", mode])
    if mode == "home":
        home = build_home_window(args, settings, library)
        qtbot.addWidget(home)
        assert home.client_screen.time_left_visible() is False
        return
    built = build_practitioner_app(args, settings, library)
    qtbot.addWidget(built.window)
    qtbot.addWidget(built.client)
    assert built.client.time_left_visible() is False and built.window.settings is settings
    mirror = built.window.mirror
    assert mirror is not None and built.window.panel.isAncestorOf(mirror)


def test_pacer_only_on_a_resting_client_view_uses_the_pacer_of_the_settings(qtbot, library, tmp_path: Path) -> None:
    """Settings → pacer (here 5 s in, 7 s out) is what "Pacer only" starts when no pacer runs."""
    from somafeedback.ui.app import build_parser, build_practitioner_app
    from somafeedback.ui.settings import AppSettings

    settings = AppSettings(QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat))
    settings.set("pacer/inhale_s", 5.0)
    settings.set("pacer/exhale_s", 7.0)
    built = build_practitioner_app(build_parser().parse_args(["--simulate"]), settings, library)
    qtbot.addWidget(built.window)
    qtbot.addWidget(built.client)
    built.window.show()
    mirror = built.window.mirror
    assert not built.client.pacer_visible()
    qtbot.mouseClick(mirror.pacer_only_button, QtCore.Qt.MouseButton.LeftButton)
    pacer = built.client.pacer_widget().pacer()
    assert built.client.pacer_visible() and pacer is not None
    assert (pacer.settings.inhale_s, pacer.settings.exhale_s) == (5.0, 7.0)
