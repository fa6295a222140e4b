"""Render a screenshot of each view of the app into docs/screenshots/ (real windows under Xvfb).

    apt-get install xvfb libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 \
        libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0
                                  # once (Debian/Ubuntu): Xvfb and the X11 libraries Qt's xcb plugin needs
    python scripts/make_screenshots.py
    python scripts/make_screenshots.py caution-panel   # only docs/screenshots/caution-panel.png
    python scripts/make_screenshots.py method-selector # (or pendulation, remote, remote-home, remote-metrics,
                                                       # remote-rejoin, coregulation, relationship, remote-coregulation,
                                                       # resonance, resonance-step, welcome,
                                                       # connection-help): only that shot

Without a display it starts its own Xvfb server. Every view runs on the simulated strap (or
the shipped sample session), sped up so the pictures show a session in progress.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "screenshots"
SAMPLE = REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite"


def _with_display() -> subprocess.Popen[bytes] | None:
    if os.environ.get("DISPLAY"):
        return None
    if shutil.which("Xvfb") is None:
        sys.exit("no display and no Xvfb: install it (apt-get install xvfb) or run on a desktop")
    server = subprocess.Popen(["Xvfb", ":97", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"])
    os.environ["DISPLAY"] = ":97"
    time.sleep(1.0)
    return server


def _pump(app, seconds: float, until=None) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (until and until()):
        app.processEvents()
        time.sleep(0.01)


def _settings(folder: Path):  # type: ignore[no-untyped-def]
    """Settings in a throwaway file: the screenshots never touch the user's own."""
    from PySide6 import QtCore

    from somafeedback.ui.settings import AppSettings

    return AppSettings(QtCore.QSettings(str(folder / "settings.ini"), QtCore.QSettings.Format.IniFormat))


def _practitioner(app, exercises, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """The production window (ui/app.py's factory) at its default size and on a 1366×768 laptop."""
    from somafeedback.ui.app import build_parser, build_practitioner_app

    for name, size in (("practitioner.png", None), ("practitioner-1366x768.png", (1366, 768))):
        args = build_parser().parse_args(["--simulate", "sustained-activation", "--speed", "40"])
        built = build_practitioner_app(args, _settings(folder), exercises)
        window, client = built.window, built.client
        if size is not None:
            window.resize(*size)
        window.show()
        built.engine.start()
        _pump(app, 90.0, until=lambda: window.pending_cue is not None)
        window.mark("resource")
        _pump(app, 1.0)
        window.grab().save(str(OUT / name))
        if size is None:
            window.panel.approve_button.click()
            _pump(app, 1.5)
            client.grab().save(str(OUT / "client-view-exercise.png"))
            client.show_exercise(exercises["low-and-slow-breathing"], built.engine.now_s() - 40.0)
            _pump(app, 1.0)
            client.grab().save(str(OUT / "client-view-pacer.png"))
            client.resize(1024, 700)
            client.show_exercise(exercises["titrated-pendulation"], built.engine.now_s())  # its longest text
            _pump(app, 1.0)
            client.grab().save(str(OUT / "client-view-long-text.png"))
        built.engine.stop()
        window.close()
        if client is not None:
            client.close()


REMOTE_STREAM_S = 45.0  # s of the remote client's strap shown before the window's picture


def _remote(app, exercises, folder: Path, share: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """A remote session: the invite dialog with its code, then the window with a remote client streaming
    (a relay on this computer, the client being `somafeedback remote join` with a simulated strap); with
    ``share`` (e.g. "metrics"), only the window, showing what the client's computer measured."""
    from somafeedback.remote.relay import LocalRelay, RelayConfig
    from somafeedback.ui.app import build_parser, build_practitioner_app

    relay = LocalRelay(RelayConfig(store=folder / "relay")).start()
    built = build_practitioner_app(build_parser().parse_args(["--simulate", "--no-client-view"]), _settings(folder),
                                   exercises)
    window = built.window
    join = None
    try:
        window.show()
        built.engine.start()
        dialog = window.remote.invite()
        dialog.relay.setText(relay.url)
        dialog.create_button.click()
        _pump(app, 30.0, until=lambda: dialog.code.text() != "")
        _pump(app, 0.5)
        if share is None:
            dialog.grab().save(str(OUT / "remote-invite.png"))
        join = subprocess.Popen([sys.executable, "-m", "somafeedback.cli", "remote", "join", dialog.code.text(),
                                 "--relay", relay.url, "--simulate", "sustained-activation", "--duration", "600",
                                 *(["--share", share, "--speed", "2"] if share else []),  # numbers past 60 s
                                 "--recordings", str(folder / "client")], stdout=subprocess.DEVNULL)
        _pump(app, 30.0, until=lambda: "paired" in dialog.status.text())
        dialog.hide()
        _pump(app, REMOTE_STREAM_S)
        window.grab().save(str(OUT / (f"remote-practitioner-{share}.png" if share else "remote-practitioner.png")))
    finally:
        window.engine.stop()
        window.close()
        if join is not None:
            join.wait(30)
        relay.stop()


def _review(app, exercises, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """The review window on the shipped sample: the whole session, segments A and B and their table."""
    from somafeedback.ui.replay_window import ReplayWindow

    review = ReplayWindow(SAMPLE, exercises, recordings=folder)
    review.resize(1500, 950)
    review.show()
    review.segments.add_segment_b()
    review.set_speed(20.0)
    _pump(app, 6.0)
    review.grab().save(str(OUT / "replay-review.png"))
    review.close()


def _pendulation(app, exercises, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """The review's Pendulation tab on the pendulation-swings scenario (recorded first, at full speed, by the CLI)."""
    from somafeedback.ui.replay_window import ReplayWindow

    recordings = folder / "pendulation"
    subprocess.run([sys.executable, "-m", "somafeedback.cli", "session", "--simulate", "pendulation-swings",
                    "--simulated-strap", "hr", "--speed", "max", "--mode", "practitioner", "--duration", "1680",
                    "--record", "--recordings", str(recordings), "--client", "Client P"],
                   check=True, stdout=subprocess.DEVNULL)
    path = next(recordings.rglob("*.session.sqlite"))
    review = ReplayWindow(path, exercises, recordings=folder)
    review.resize(1500, 950)
    review.show()
    review.pause()
    review.tabs.setCurrentWidget(review.pendulation)
    _pump(app, 2.0)
    review.tabs.currentWidget().grab().save(str(OUT / "pendulation-view.png"))
    review.close()


COREGULATION_UNTIL_S = 420.0  # session s shown in the co-regulation shot: dyad-in-phase's first coupled span (180-420 s)
COREGULATION_SPEED = 10  # x real time: two simulated H10s (ECG and motion) faster than this drop packets on a busy machine
REMOTE_COREGULATION_WAIT_S = 240.0  # s (real time) for a remote pair's chance level: clocks lined up, 30 s of both, a minute of windows


def _coregulation(app, exercises, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """The practitioner window with two simulated straps on dyad-in-phase (client and practitioner), its
    Co-regulation tab shown: both heart rates, the windows with their lag, the latest window in words."""
    from somafeedback.ui.app import build_parser, build_practitioner_app

    args = build_parser().parse_args(["--simulate", "dyad-in-phase", "--speed", str(COREGULATION_SPEED),
                                      "--no-client-view"])
    built = build_practitioner_app(args, _settings(folder), exercises)
    window = built.window
    window.show()
    built.engine.start()
    _pump(app, 2 * COREGULATION_UNTIL_S / COREGULATION_SPEED, until=lambda: built.engine.session_s() >= COREGULATION_UNTIL_S)
    if not window.coregulation.windows:
        sys.exit("coregulation: the engine's synchrony stage made no windows (nothing is drawn by hand)")
    window.plot_tabs.setCurrentWidget(window.coregulation)
    _pump(app, 1.0)
    window.grab().save(str(OUT / "coregulation-panel.png"))
    built.engine.stop()
    window.close()


def _remote_coregulation(app, exercises, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """A remote session where the practitioner wears a strap too: "I am wearing a strap too" ticked in the invite
    dialog (the simulator's practitioner of dyad-remote-short), the client being `somafeedback remote join
    --simulate dyad-remote-short --person client`; the Co-regulation tab with the engine's windows (real time)."""
    from somafeedback.remote.relay import LocalRelay, RelayConfig
    from somafeedback.ui.app import build_parser, build_practitioner_app

    relay = LocalRelay(RelayConfig(store=folder / "relay-coregulation")).start()
    built = build_practitioner_app(build_parser().parse_args(["--simulate", "--no-client-view"]), _settings(folder),
                                   exercises)
    window = built.window
    join = None
    try:
        window.show()
        built.engine.start()
        dialog = window.remote.invite()
        dialog.relay.setText(relay.url)
        assert dialog.own_strap is not None
        dialog.own_strap.wearing.setChecked(True)
        _pump(app, 0.5)
        dialog.grab().save(str(OUT / "remote-invite-own-strap.png"))
        dialog.create_button.click()
        _pump(app, 30.0, until=lambda: dialog.code.text() != "")
        join = subprocess.Popen([sys.executable, "-m", "somafeedback.cli", "remote", "join", dialog.code.text(),
                                 "--relay", relay.url, "--simulate", "dyad-remote-short", "--person", "client",
                                 "--speed", "1", "--duration", "600", "--recordings", str(folder / "client")],
                                stdout=subprocess.DEVNULL)
        _pump(app, 30.0, until=lambda: "paired" in dialog.status.text())
        dialog.hide()
        panel = window.coregulation  # until the session so far has its chance level (after a minute of windows)
        _pump(app, REMOTE_COREGULATION_WAIT_S,
              until=lambda: any(latest.effect_size is not None for latest in panel.latest.values()))
        if not window.coregulation.windows:
            sys.exit("remote-coregulation: the engine made no synchrony windows in time")
        window.plot_tabs.setCurrentWidget(window.coregulation)
        _pump(app, 1.0)
        window.grab().save(str(OUT / "remote-coregulation.png"))
    finally:
        window.engine.stop()
        window.close()
        if join is not None:
            join.wait(30)
        relay.stop()


def _relationship(app, exercises, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """The review's Relationship tab on a recorded dyad-in-phase session (15 min, two coupled spans)."""
    from somafeedback.ui.replay_window import ReplayWindow

    recordings = folder / "dyad"
    subprocess.run([sys.executable, "-m", "somafeedback.cli", "record", "--simulate", "dyad-in-phase", "--speed", "max",
                    "--duration", "900", "--recordings", str(recordings)], check=True, stdout=subprocess.DEVNULL)
    review = ReplayWindow(next(recordings.rglob("*.session.sqlite")), exercises, recordings=folder)
    review.resize(1500, 1100)
    review.show()
    review.pause()
    review.tabs.setCurrentWidget(review.relationship)
    _pump(app, 30.0, until=lambda: review.relationship is not None and review.relationship.job is None)
    _pump(app, 1.0)
    review.relationship.grab().save(str(OUT / "relationship-timeline.png"))
    review.close()


def _resonance(app, exercises, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """The review's Breathing rate tab and the report's assessment page, on a home session running the headless
    breathing-rate assessment on the resonance-steps scenario (recorded first, at full speed, by the CLI)."""
    from PySide6 import QtCore, QtPdf

    from somafeedback.ui.replay_window import ReplayWindow
    from somafeedback.ui.report.render import render_session_report

    recordings = folder / "resonance"
    subprocess.run([sys.executable, "-m", "somafeedback.cli", "session", "--mode", "home", "--script",
                    "resonance-assessment", "--simulate", "resonance-steps", "--speed", "max", "--record",
                    "--recordings", str(recordings)], check=True, stdout=subprocess.DEVNULL)
    path = next(recordings.rglob("*.session.sqlite"))
    review = ReplayWindow(path, exercises, recordings=folder)
    review.resize(1500, 1000)
    review.show()
    review.pause()
    assert review.resonance is not None, "the recorded session holds no breathing-rate assessment"
    review.tabs.setCurrentWidget(review.resonance)
    _pump(app, 1.0)
    review.resonance.grab().save(str(OUT / "resonance-results.png"))
    review.close()
    pdf = render_session_report(path, "pdf", out=folder / "resonance-report.pdf")
    document = QtPdf.QPdfDocument(None)
    document.load(str(pdf))
    page = next(p for p in range(document.pageCount())  # the page the assessment starts on
                if "Breathing-rate assessment" in document.getAllText(p).text())
    size = document.pagePointSize(page)
    document.render(page, QtCore.QSize(int(size.width() * 2), int(size.height() * 2))).save(
        str(OUT / "resonance-report.png"))
    document.close()


def _caution_panel(app, exercises, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """The exercise box of the practitioner's side panel before a push of titrated pendulation: purpose, length,
    when to use it, when to stop, its cautions first, and the push waiting for the confirming click."""
    from somafeedback.ui.app import build_parser, build_practitioner_app

    built = build_practitioner_app(build_parser().parse_args(["--simulate"]), _settings(folder), exercises)
    window, panel = built.window, built.window.panel
    window.show()  # the engine is not started: nothing but the panel is needed
    row = next(i for i in range(panel.exercise_list.count())
               if panel.exercise_list.item(i).data(0x0100) == "titrated-pendulation")  # Qt.UserRole
    panel.exercise_list.setCurrentRow(row)
    panel.push_button.click()  # the first click: "Push after reading the cautions"
    _pump(app, 1.0)
    box = panel.push_button.parentWidget()
    window.side.ensureWidgetVisible(box)
    _pump(app, 0.5)
    box.grab().save(str(OUT / "caution-panel.png"))
    window.close()
    if built.client is not None:
        built.client.close()


def _method_selector(app, exercises, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """The top of the practitioner's side panel: the strap table and the session's method (CSE chosen)."""
    from somafeedback.ui.app import build_parser, build_practitioner_app

    built = build_practitioner_app(build_parser().parse_args(["--simulate"]), _settings(folder), exercises)
    window = built.window
    window.show()  # the engine is not started: only the panel is needed
    box = window.method_box
    box.combo.setCurrentIndex(box.combo.findData("CSE"))
    _pump(app, 0.5)
    box.grab().save(str(OUT / "method-selector.png"))
    window.close()
    if built.client is not None:
        built.client.close()


def _report_page(app, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """The page of the sample's PDF report that holds the session figures (m:ss axes)."""
    from PySide6 import QtCore, QtPdf

    from somafeedback.ui.report.render import render_session_report

    pdf = render_session_report(SAMPLE, "pdf", out=folder / "sample-report.pdf")
    document = QtPdf.QPdfDocument(None)
    document.load(str(pdf))
    page = min(2, document.pageCount() - 1)  # the third page: "Over the session"
    size = document.pagePointSize(page)
    image = document.render(page, QtCore.QSize(int(size.width() * 2), int(size.height() * 2)))
    image.save(str(OUT / "report-page.png"))
    document.close()


def _remote_metrics(app, exercises, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """The practitioner window while the client shares at `metrics`: the client's own numbers."""
    _remote(app, exercises, folder, share="metrics")


REJOIN_AGO_S = 180.0  # s since the interrupted session last saved its state, in the picture


def _remote_rejoin(app, exercises, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """The app's offer, at start, of a remote session it did not end (a saved state three minutes old)."""
    import secrets

    from somafeedback.remote.host_state import HostState, save_state
    from somafeedback.remote.messages import Hello
    from somafeedback.remote.pairing import SessionKeys
    from somafeedback.remote.transport import new_subject
    from somafeedback.ui.app import build_parser, build_practitioner_app
    from somafeedback.ui.remote_rejoin_offer import offer_to_rejoin

    keys = SessionKeys("practitioner", secrets.token_bytes(32), secrets.token_bytes(32), secrets.token_bytes(16),
                       "otter lantern quartz")
    saved = time.time() - REJOIN_AGO_S
    save_state(folder / "remote-sessions" / "interrupted.json", HostState(
        "nats://127.0.0.1:4222", keys, Hello(new_subject(), "up", "down"), "earlier.session.sqlite", saved, saved))
    built = build_practitioner_app(build_parser().parse_args(["--simulate", "--no-client-view"]), _settings(folder),
                                   exercises)
    window = built.window
    try:
        window.show()
        box = offer_to_rejoin(window, lambda path, state: None, folder / "remote-sessions")
        assert box is not None
        _pump(app, 1.0)
        box.grab().save(str(OUT / "remote-rejoin.png"))
        box.close()
    finally:
        window.close()


def _remote_home(app, exercises, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """The client's join dialog (code typed, the levels shown), the home session page sharing with a
    practitioner who sent a cue and its "Change what I share…" dialog: a local relay, a practitioner in this process, the simulated strap."""
    from somafeedback.devices.events import TimelineEvent
    from somafeedback.live.engine import Engine, EngineOptions, EngineSource
    from somafeedback.remote.downlink import down_message
    from somafeedback.remote.loop_thread import LoopThread
    from somafeedback.remote.relay import LocalRelay, RelayConfig
    from somafeedback.remote.session import RemoteHost
    from somafeedback.remote.transport import RelayLink
    from somafeedback.ui.home_window import HomeWindow

    class Nowhere:  # the practitioner's side of the picture keeps nothing
        def notification(self, _n: object) -> None: ...
        def event(self, _e: object) -> None: ...

    relay = LocalRelay(RelayConfig(store=folder / "relay"))
    relay.start()
    host_loop = LoopThread("screens-practitioner")
    home = None
    try:
        async def invite():  # type: ignore[no-untyped-def]
            link = await RelayLink.connect(relay.url)
            host = RemoteHost(link, Nowhere(), clock_every_s=None)  # type: ignore[arg-type]
            return host, await host.invite()

        host, code = host_loop.submit(invite()).result(30)
        paired = host_loop.submit(host.pair(wait_for_client_s=60))
        home = HomeWindow(exercises, folder / "home", settings=_settings(folder), engine_factory=lambda script: Engine(
            EngineSource(simulate="calm", speed=1.0, seed=5), EngineOptions(mode="home", record_to=folder / "home"),
            exercises))
        home.resize(1100, 750)
        home.show()
        dialog = home.open_remote_join()
        dialog.relay_edit.setText(relay.url)
        dialog.code_edit.setText(str(code).replace("-", " "))
        _pump(app, 0.5)
        dialog.grab().save(str(OUT / "remote-join.png"))
        dialog.join_button.click()
        _pump(app, 30, lambda: dialog.current_page() != "connecting")
        dialog.start_button.click()
        paired.result(30)
        cue = down_message(TimelineEvent("cue", 0, 0.0, {"action": "pushed", "cue_id": None, "kind": "manual",
                                                        "exercise": "arriving-and-orienting", "text": ""}))
        host_loop.submit(host.send(cue)).result(30)  # type: ignore[arg-type]
        _pump(app, 30, lambda: home.remote_page.client_screen.current_exercise() is not None)
        _pump(app, 1.5)
        home.grab().save(str(OUT / "remote-home-session.png"))
        home.remote_page.change_button.click()  # "Change what I share…": the level in force checked
        _pump(app, 0.5)
        assert home.remote_page.change_dialog is not None
        home.remote_page.change_dialog.grab().save(str(OUT / "remote-change-sharing.png"))
        home.remote_page.change_dialog.accept()
        home.close()  # leaves the session: the recording is saved
        host_loop.submit(host.end()).result(30)
        host_loop.submit(host.link.close()).result(30)
    finally:
        host_loop.stop()
        relay.stop()


def _resonance_step(app, exercises, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """The practitioner's "Breathing rate" tab during an assessment step: the rate, the time left, the criteria
    filling in (the simulated person breathes with the pacer, resonance-steps scenario, sped up)."""
    from somafeedback.ui.app import build_parser, build_practitioner_app
    from somafeedback.ui.resonance_words import NOT_YET

    args = build_parser().parse_args(["--simulate", "resonance-steps", "--speed", "10"])
    built = build_practitioner_app(args, _settings(folder), exercises)
    window = built.window
    window.show()
    built.engine.start()
    view = window.assessment.open()
    _pump(app, 120.0, until=lambda: view.mode == "step" and view.criteria_shown()["peak_trough_hr_bpm"] != NOT_YET)
    _pump(app, 0.5)
    window.grab().save(str(OUT / "resonance-step.png"))
    built.engine.stop()
    window.close()
    if built.client is not None:
        built.client.close()


def _welcome(app, exercises, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """The first start's welcome (ui/welcome.py), its scan run on the simulator's radio where two simulated
    straps advertise, so the list shows them with their signal strength."""
    from somafeedback.live.sources import StrapSource
    from somafeedback.ui.welcome import StrapScanner, WelcomeDialog

    scanner = StrapScanner(StrapSource(simulate="calm", simulated_straps=0, nearby_simulated_straps=2), timeout_s=2.0)
    dialog = WelcomeDialog(_settings(folder), scanner)
    dialog.folder.setText(str(Path.home() / "somafeedback-recordings"))
    dialog.show()
    dialog.scan()
    _pump(app, 20.0, until=lambda: dialog.straps.count() >= 2)
    _pump(app, 0.5)
    dialog.grab().save(str(OUT / "welcome.png"))
    dialog.close()


def _connection_help(app, exercises, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """The practitioner window (production factory) started on real straps on this machine: what the
    connection failed on, matched to its help (ui/connection_help_panel.py), at 1366×768."""
    from somafeedback.ui.app import build_parser, build_practitioner_app

    built = build_practitioner_app(build_parser().parse_args(["--no-client-view"]), _settings(folder), exercises)
    window = built.window
    window.resize(1366, 768)
    window.show()
    built.engine.start()
    panel = window.connection_help.panel
    _pump(app, 30.0, until=lambda: panel.isVisible())
    if not panel.isVisible():  # a computer whose Bluetooth works and no strap is near: the scan finds none
        from somafeedback.devices.connection_problems import Problem

        panel.show_problem(Problem.NO_STRAP_FOUND)
    _pump(app, 1.0)
    window.grab().save(str(OUT / "connection-help.png"))
    built.engine.stop()
    window.close()


def main() -> None:
    server = _with_display()
    os.environ.pop("QT_QPA_PLATFORM", None)  # a real X11 window
    try:
        import tempfile

        from PySide6 import QtWidgets

        from somafeedback.regulation.exercises import load_exercises

        app = QtWidgets.QApplication([])
        OUT.mkdir(parents=True, exist_ok=True)
        exercises = load_exercises()
        folder = Path(tempfile.mkdtemp(prefix="somafeedback-screens-"))
        single = {"caution-panel": _caution_panel, "method-selector": _method_selector, "pendulation": _pendulation,
                  "remote": _remote, "remote-home": _remote_home, "remote-metrics": _remote_metrics,
                  "remote-rejoin": _remote_rejoin, "coregulation": _coregulation, "relationship": _relationship,
                  "remote-coregulation": _remote_coregulation, "resonance-step": _resonance_step,
                  "resonance": _resonance, "welcome": _welcome, "connection-help": _connection_help}
        if sys.argv[1:2] and sys.argv[1] in single:  # one shot: `python scripts/make_screenshots.py method-selector`
            single[sys.argv[1]](app, exercises, folder)
            return
        _practitioner(app, exercises, folder)
        _caution_panel(app, exercises, folder)
        _method_selector(app, exercises, folder)
        _review(app, exercises, folder)
        _pendulation(app, exercises, folder)
        _coregulation(app, exercises, folder)
        _relationship(app, exercises, folder)
        _report_page(app, folder)
        _remote(app, exercises, folder)
        _remote_metrics(app, exercises, folder)
        _remote_rejoin(app, exercises, folder)
        _remote_coregulation(app, exercises, folder)
        _remote_home(app, exercises, folder)
        _resonance_step(app, exercises, folder)
        _resonance(app, exercises, folder)
        _welcome(app, exercises, folder)
        _connection_help(app, exercises, folder)

        from somafeedback.ui.home_window import HomeWindow

        home = HomeWindow(exercises, folder)
        home.resize(1100, 750)
        home.show()
        _pump(app, 1.0)
        home.grab().save(str(OUT / "home-practice.png"))
        home.close()
        print("\n".join(sorted(str(p.relative_to(REPO)) for p in OUT.glob("*.png"))))
    finally:
        if server is not None:
            server.terminate()


if __name__ == "__main__":
    main()
