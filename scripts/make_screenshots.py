"""Render a screenshot of each view of the app into docs/screenshots/ (real windows under Xvfb).

    apt-get install xvfb libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 \
        libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0
                                  # once (Debian/Ubuntu): Xvfb and the X11 libraries Qt's xcb plugin needs
    python scripts/make_screenshots.py

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


def main() -> None:
    server = _with_display()
    os.environ.pop("QT_QPA_PLATFORM", None)  # a real X11 window
    try:
        from PySide6 import QtWidgets

        from somafeedback.engine import Engine, EngineOptions, EngineSource
        from somafeedback.exercise_library import load_library
        from somafeedback.ui.client_screen import ClientScreen
        from somafeedback.ui.practitioner_window import PractitionerWindow

        app = QtWidgets.QApplication([])
        OUT.mkdir(parents=True, exist_ok=True)
        library = load_library()

        engine = Engine(EngineSource(simulate="sustained-activation", speed=40.0), EngineOptions(), library)
        client = ClientScreen(engine.now_s)
        window = PractitionerWindow(engine, library, client)
        window.resize(1500, 950)
        window.show()
        client.resize(900, 600)
        client.show()
        engine.start()
        _pump(app, 60.0, until=lambda: window.pending_cue is not None)
        _pump(app, 1.0)
        window.grab().save(str(OUT / "practitioner.png"))
        window.panel.approve_button.click()
        _pump(app, 1.5)
        client.grab().save(str(OUT / "client-view-exercise.png"))
        client.show_exercise(library["low-and-slow-breathing"], engine.now_s() - 40.0)
        _pump(app, 1.0)
        client.grab().save(str(OUT / "client-view-pacer.png"))
        engine.stop()
        window.close()

        try:
            from somafeedback.ui.replay_window import ReplayWindow
        except ImportError:
            ReplayWindow = None  # noqa: N806
        if ReplayWindow is not None:
            review = ReplayWindow(SAMPLE, library)
            review.resize(1500, 950)
            review.show()
            review.set_speed(20.0)
            _pump(app, 12.0)
            review.grab().save(str(OUT / "replay-review.png"))
            review.close()

        try:
            from somafeedback.ui.home_window import HomeWindow
        except ImportError:
            HomeWindow = None  # noqa: N806
        if HomeWindow is not None:
            import tempfile

            home = HomeWindow(library, Path(tempfile.mkdtemp()))
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
