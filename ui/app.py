"""The desktop app's composition root: parse options, build the engine and the windows.

``somafeedback`` with no command opens the app: on the first strap found, or (when none is
found) with a one-click offer of the simulated strap; ``--simulate [SCENARIO]``,
``--replay SESSION`` and ``--address ADDR`` open it directly on that source.

Thread: the Qt GUI thread (the engine runs on its own).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from somafeedback.clock import parse_speed

if TYPE_CHECKING:  # Qt is imported only once a display is known to be there (see main)
    from somafeedback.live.engine import Engine, EngineSource
    from somafeedback.regulation.exercises import Exercise

    from .client_screen import ClientScreen
    from .home_window import HomeWindow
    from .practitioner_window import PractitionerWindow
    from .remote_own_strap import OwnStrap
    from .settings import AppSettings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="somafeedback",
        description="Open the somafeedback desktop app (run 'somafeedback --help-commands' for the command line).",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--simulate", nargs="?", const="calm", metavar="SCENARIO", help="the built-in simulated strap")
    source.add_argument("--replay", metavar="SESSION", help="review a recorded session")
    source.add_argument("--address", action="append", default=[], metavar="ADDR", help="a real strap's address")
    parser.add_argument("--speed", type=parse_speed, default=1.0, metavar="X|max", help="simulation or replay speed")
    parser.add_argument("--mode", choices=("practitioner", "home"), default="practitioner")
    parser.add_argument("--script", metavar="NAME", help="home mode: the exercise to practise")
    parser.add_argument("--client", metavar="NAME", help="the client's pseudonym")
    parser.add_argument("--record", action="store_true", help="record the session in the library")
    parser.add_argument("--recordings", type=Path, metavar="DIR", help="the session library folder")
    parser.add_argument("--no-client-view", action="store_true", help="do not open the client view")
    parser.add_argument("--lsl", action="store_true",
                        help="publish Lab Streaming Layer streams from the start (also in the Session menu)")
    parser.add_argument("--quit-after", type=float, metavar="S", help="quit by itself after S seconds of session time (tests, demos)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    displays = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    if sys.platform.startswith("linux") and not any(os.environ.get(name) for name in displays):
        print("somafeedback: no display here, so the desktop app cannot open. In a terminal, try "
              "'somafeedback stream --simulate' or 'somafeedback session --simulate --mode practitioner'.",
              file=sys.stderr)
        return 1
    from PySide6 import QtCore, QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("somafeedback")
    app.setOrganizationName("somafeedback")
    from .error_report import install as install_error_report

    install_error_report()  # an error in a click or shortcut: a plain message in the window, details in a log
    # Python's cyclic GC may otherwise run on the engine thread and free Qt objects there, a
    # lock-order deadlock with the GUI thread: collect on a GUI-thread timer instead (pyqtgraph).
    from pyqtgraph.util.garbage_collector import GarbageCollector

    app.garbage_collector = GarbageCollector(interval=1.0)  # type: ignore[attr-defined]

    from somafeedback.regulation.exercises import load_exercises

    from .settings import AppSettings

    settings = AppSettings()
    from .welcome import mode_given, run_first_start

    review_first = run_first_start(args, settings, mode_given(sys.argv[1:] if argv is None else argv))
    exercises = load_exercises()
    library = args.recordings or settings.recordings
    private_notices = _private_library(library)
    if args.replay:
        from .replay_window import ReplayWindow

        review = ReplayWindow(Path(args.replay), exercises, recordings=args.recordings or settings.recordings)
        review.show()
        if args.speed != 1.0:
            review.set_speed(args.speed)
        return _exec(app, review, args.quit_after, private_notices, library)
    if args.mode == "home":
        home = build_home_window(args, settings, exercises)
        home.show()
        if args.script:
            QtCore.QTimer.singleShot(0, lambda: home.start(args.script))
        return _exec(app, home, args.quit_after, private_notices, library)
    built = build_practitioner_app(args, settings, exercises)
    window, client = built.window, built.client
    window.show()
    if client is not None:
        client.show()
    if os.environ.get("SOMAFEEDBACK_STARTUP_REPORT"):  # benchmarks/bench_ui.py: time to the first painted window
        QtCore.QTimer.singleShot(0, lambda: print("first paint", flush=True))
    QtCore.QTimer.singleShot(0, built.engine.start)  # paint first, then connect
    QtCore.QTimer.singleShot(0, lambda: offer_remote_rejoin(window))
    if review_first:  # the welcome's "reviewing recordings": offer a recording to open
        QtCore.QTimer.singleShot(0, window.open_review)
    code = _exec(app, window, args.quit_after, private_notices, library)
    built.engine.stop()  # the engine running now (the simulated strap's, after a switch)
    return code


# --- the windows and their engines (also used by the tests, so they run the production wiring) ---


DEMO_NEARBY_STRAPS = 1  # practitioner demo: one more simulated strap nearby, found by "Scan"


def engine_source(args: argparse.Namespace, nearby: int = 0) -> EngineSource:
    """The source the options ask for: ``--simulate``, or real straps (``--address``, else a scan).

    ``nearby`` simulated straps advertise beside a simulated session (ignored for real straps).
    """
    from somafeedback.live.engine import EngineSource

    return EngineSource(simulate=args.simulate, addresses=tuple(args.address), speed=args.speed,
                        nearby_simulated_straps=nearby if args.simulate else 0)


def simulator_source(args: argparse.Namespace, nearby: int = 0) -> EngineSource:
    """The simulated strap offered when no strap is found: the calm scenario, at ``--speed``."""
    from somafeedback.live.engine import EngineSource

    return EngineSource(simulate="calm", speed=args.speed, nearby_simulated_straps=nearby)


@dataclass
class PractitionerApp:
    """The practitioner window and the client view (``None`` with ``--no-client-view``).

    Built by :func:`build_practitioner_app`; the engine is not started yet. Thread: GUI.
    """

    window: PractitionerWindow
    client: ClientScreen | None

    @property
    def engine(self) -> Engine:
        """The engine running now (a new one after "Use the simulated strap")."""
        return self.window.engine


def build_practitioner_app(args: argparse.Namespace, settings: AppSettings,
                           exercises: dict[str, Exercise]) -> PractitionerApp:
    """Build the engine, the client view and the practitioner window from the parsed options (GUI thread).

    When no strap is found the window offers the simulated strap; taking it stops the
    engine, starts one on :func:`simulator_source` with the same options, and moves the
    client view (and its pacer) onto the new engine's clock, so what the practitioner
    pushes next runs on the client view by that clock.
    """
    from somafeedback.live.engine import Engine, EngineOptions, EngineSource

    from .client_screen import ClientScreen
    from .practitioner_window import PractitionerWindow
    from .remote_own_strap import OwnStrap

    from somafeedback.regulation.usual_range import usual_range

    def options() -> EngineOptions:
        client_name, practitioner = settings.names()
        client_id = args.client or client_name or None
        return EngineOptions(mode=args.mode, script=args.script, lsl=args.lsl, method=settings.method(client_id),
                             usual=usual_range(args.recordings or settings.recordings, client_id),
                             record_to=(args.recordings or settings.recordings) if args.record else None,
                             manifest={"client": args.client or client_name or None,
                                       "practitioner": practitioner or None,
                                       "mode": args.mode, "tags": [], "devices": []},
                             regulation=settings.regulation(), cues=settings.cues())

    engine = Engine(engine_source(args, nearby=DEMO_NEARBY_STRAPS), options(), exercises)
    client = None if args.no_client_view else ClientScreen(engine.now_s)

    def use_source(source: EngineSource, engine_options: EngineOptions) -> None:
        """GUI thread: stop the engine, run ``source`` on a new one, move the client view onto its clock."""
        window.engine.stop()
        swapped = Engine(source, engine_options, exercises)
        window.engine = swapped
        if client is not None:
            client.set_clock(swapped.now_s)
        swapped.start()

    def use_simulator() -> None:
        """GUI thread: the "Use the simulated strap" button."""
        use_source(simulator_source(args, nearby=DEMO_NEARBY_STRAPS), options())

    def use_remote(relay_url: str, rejoin: Path | None = None, record: bool = False, own: OwnStrap | None = None) -> None:
        """GUI thread: "Create code" in the invite dialog, or "Rejoin" (``rejoin``: the interrupted session's
        saved state); recorded when "Record this session" is on or ``record``. ``own``: the practitioner's
        own strap, run by the remote engine as strap2 once the clocks are lined up."""
        remote_options = options()
        recording = args.record or window.record_action.isChecked() or record
        remote_options.record_to = (args.recordings or settings.recordings) if recording else None
        local = own.engine_source() if own is not None else {}
        use_source(EngineSource(remote_relay=relay_url, remote_rejoin=rejoin, **local), remote_options)

    window = PractitionerWindow(engine, exercises, client, use_simulator=use_simulator, settings=settings,
                                use_remote=use_remote)
    return PractitionerApp(window, client)


def offer_remote_rejoin(window: PractitionerWindow) -> None:
    """Offer, once, a remote session this computer did not end (GUI thread; kept alive with the window)."""
    from .remote_rejoin_offer import offer_to_rejoin

    window.rejoin_offer = offer_to_rejoin(window, window.remote.rejoin)  # type: ignore[attr-defined]


def build_home_window(args: argparse.Namespace, settings: AppSettings, exercises: dict[str, Exercise]) -> HomeWindow:
    """The home-practice window on the source the options ask for (GUI thread).

    ``--simulate``, ``--address`` and ``--speed`` choose the strap as in practitioner mode
    (no strap found: the window offers the simulated strap, at ``--speed``). Each practice
    is recorded in ``--recordings`` (or the settings' folder) under the client of
    ``--client`` or the settings, so the client's progress report counts it.
    """
    from somafeedback.live.engine import Engine, EngineOptions

    from .home_window import HomeWindow

    client = args.client or settings.names()[0] or None
    folder = args.recordings or settings.recordings

    def engine(script_id: str, source: EngineSource) -> Engine:
        options = EngineOptions(mode="home", script=script_id, record_to=folder, method=settings.method(client),
                                manifest={"client": client, "mode": "home", "script": script_id,
                                          "tags": [], "devices": []},
                                regulation=settings.regulation(), cues=settings.cues())
        return Engine(source, options, exercises)

    home = HomeWindow(exercises, folder, engine_factory=lambda script_id: engine(script_id, engine_source(args)),
                      client=client, simulator_factory=lambda script_id: engine(script_id, simulator_source(args)),
                      plan_text=settings.plan_text(client),  # the client's plan, for the offer to end
                      settings=settings)  # remembers the relay address for joining a practitioner's session
    home.client_screen.set_time_left_visible(settings.client_time_left)
    return home


def _private_library(folder: Path) -> list[str]:
    """Make the session library private (0700) if it exists and is open to others; the messages saying so.

    Later notices (a folder made private while recording) go to stderr. Thread: the GUI thread.
    """
    from somafeedback.sessions.private import private_folder, set_notice_handler

    set_notice_handler(lambda message: print(f"somafeedback: {message}", file=sys.stderr, flush=True))
    notices: list[str] = []
    if folder.is_dir():
        private_folder(folder, notify=notices.append)
    for message in notices:
        print(f"somafeedback: {message}", file=sys.stderr, flush=True)
    return notices


def _exec(app: object, window: object, quit_after: float | None, notices: Sequence[str] = (),
          library: Path | None = None) -> int:
    """Run the event loop; ``quit_after`` seconds later close the window and quit (tests, demos).

    ``notices``: one-line messages shown in the window's status bar once it is painted;
    ``library``: where to look for recordings a crash interrupted (offered to finish, once painted).
    """
    from PySide6 import QtCore, QtWidgets

    from .interrupted_recordings import offer_to_finish

    status = getattr(window, "statusBar", None)
    if notices and callable(status):
        QtCore.QTimer.singleShot(0, lambda: status().showMessage("  ".join(notices), 20000))
    if library is not None:
        def offer() -> None:
            if isinstance(window, QtWidgets.QWidget):  # kept alive with the window
                window.interrupted_offer = offer_to_finish(window, library)  # type: ignore[attr-defined]

        QtCore.QTimer.singleShot(0, offer)

    if quit_after is not None and math.isfinite(quit_after):
        _quit_after_session_time(app, window, quit_after)
    return _exec_until_stopped(app, window)


QUIT_POLL_MS = 50  # ms; how often --quit-after looks at the session clock


def _quit_after_session_time(app: object, window: object, seconds: float) -> None:
    """Close the window and quit once the session has run ``seconds`` of session time (the engine's
    clock, as ``--duration`` counts it, so a slow start or a busy computer does not shorten what ran);
    a window without a running engine counts wall seconds from now. Thread: GUI."""
    import time

    from PySide6 import QtCore

    started = time.monotonic()
    timer = QtCore.QTimer(window)  # type: ignore[arg-type]  # the window is a QWidget; typed object here

    def check() -> None:
        engine = getattr(window, "engine", None)
        elapsed = engine.session_s() if engine is not None and engine.now_s() > 0 else time.monotonic() - started
        if elapsed >= seconds:
            timer.stop()
            window.close()  # type: ignore[attr-defined]
            app.quit()  # type: ignore[attr-defined]

    timer.timeout.connect(check)
    timer.start(QUIT_POLL_MS)


STOP_SIGNAL_NAMES = ("SIGINT", "SIGTERM", "SIGHUP")  # Ctrl-C, logout/shutdown/service manager, terminal closed
SIGNAL_POLL_MS = 200  # ms; how often Qt's loop lets Python run a pending signal handler


def _exec_until_stopped(app: object, window: object) -> int:
    """``app.exec()``, where Ctrl-C, SIGTERM and SIGHUP close the window and quit as closing it would
    (the caller then stops the engine, which closes the recording); the exit code is then 128 + the
    signal. Python runs signal handlers only between its own bytecodes, so a timer lets it in every
    ``SIGNAL_POLL_MS`` while Qt's loop waits. Thread: GUI (the main thread).
    """
    import signal

    from PySide6 import QtCore

    received: list[int] = []

    def close() -> None:
        window.close()  # type: ignore[attr-defined]
        app.quit()  # type: ignore[attr-defined]

    def stop(number: int, _frame: object) -> None:
        if not received:
            received.append(number)
            if number != signal.SIGINT:  # the window closes within 2 s: its recordings store no analysis
                remote_page = getattr(window, "remote_page", None)
                for engine in (getattr(window, "engine", None), getattr(remote_page, "engine", None)):
                    if hasattr(engine, "end_quickly"):
                        engine.end_quickly()  # type: ignore[union-attr]
            QtCore.QTimer.singleShot(0, close)

    previous = {name: signal.signal(getattr(signal, name), stop) for name in STOP_SIGNAL_NAMES if hasattr(signal, name)}
    poll = QtCore.QTimer()
    poll.timeout.connect(lambda: None)  # a moment of Python for a pending signal handler
    poll.start(SIGNAL_POLL_MS)
    try:
        code = int(app.exec())  # type: ignore[attr-defined]
    finally:
        poll.stop()
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)
    return 128 + received[0] if received else code
