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
from pathlib import Path

from somafeedback.clock import parse_speed


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
    parser.add_argument("--quit-after", type=float, metavar="S", help="quit by itself after S seconds (tests, demos)")
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
    # Python's cyclic GC may otherwise run on the engine thread and free Qt objects there, a
    # lock-order deadlock with the GUI thread: collect on a GUI-thread timer instead (pyqtgraph).
    from pyqtgraph.util.garbage_collector import GarbageCollector

    app.garbage_collector = GarbageCollector(interval=1.0)  # type: ignore[attr-defined]

    from somafeedback.engine import Engine, EngineOptions, EngineSource
    from somafeedback.exercise_library import load_library

    from .client_screen import ClientScreen
    from .practitioner_window import PractitionerWindow
    from .settings import AppSettings

    settings = AppSettings()
    library = load_library()
    if args.replay:
        from .replay_window import ReplayWindow

        review = ReplayWindow(Path(args.replay), library)
        review.show()
        if args.speed != 1.0:
            review.set_speed(args.speed)
        return _exec(app, review, args.quit_after)
    if args.mode == "home":
        from .home_window import HomeWindow

        home = HomeWindow(library, args.recordings or settings.recordings)
        home.show()
        if args.script:
            QtCore.QTimer.singleShot(0, lambda: home.start(args.script))
        return _exec(app, home, args.quit_after)
    source = EngineSource(simulate=args.simulate, replay=Path(args.replay) if args.replay else None,
                          addresses=tuple(args.address), speed=args.speed)
    client_name, practitioner = settings.names()
    options = EngineOptions(mode=args.mode, script=args.script, lsl=args.lsl,
                            record_to=(args.recordings or settings.recordings) if args.record else None,
                            manifest={"client": args.client or client_name or None, "practitioner": practitioner or None,
                                      "mode": args.mode, "tags": [], "devices": []},
                            regulation=settings.regulation(), cues=settings.cues())
    engine = Engine(source, options, library)
    client = None if args.no_client_view else ClientScreen(engine.now_s)
    window = PractitionerWindow(engine, library, client)

    def use_simulator() -> None:
        window.engine.stop()
        window.engine = Engine(EngineSource(simulate="calm"), options, library)
        if client is not None:
            client.clock = window.engine.now_s
        window.engine.start()

    window._use_simulator = use_simulator
    window.show()
    if client is not None:
        client.show()
    if os.environ.get("SOMAFEEDBACK_STARTUP_REPORT"):  # benchmarks/bench_ui.py: time to the first painted window
        QtCore.QTimer.singleShot(0, lambda: print("first paint", flush=True))
    QtCore.QTimer.singleShot(0, engine.start)  # paint first, then connect
    code = _exec(app, window, args.quit_after)
    window.engine.stop()
    return code


def _exec(app: object, window: object, quit_after: float | None) -> int:
    """Run the event loop; ``quit_after`` seconds later close the window and quit (tests, demos)."""
    from PySide6 import QtCore

    if quit_after is not None and math.isfinite(quit_after):
        QtCore.QTimer.singleShot(int(quit_after * 1000), lambda: (window.close(), app.quit()))  # type: ignore[attr-defined]
    return int(app.exec())  # type: ignore[attr-defined]
