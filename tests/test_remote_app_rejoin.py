"""The practitioner's app offers, once, a remote session it did not end, and rejoins it (issue #17): the engine
that hosted the session is killed (a crash: tests/remote_engine_process.py), then the app's own wiring offers the
session in words, "Rejoin" is clicked, and the client's strap shows again in the window while the client
(``remote join``, a simulated strap) streams on. A session the relay no longer holds: one message, the offer goes.
Over a real nats-server (the ``relay`` fixture); every wait is bounded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PySide6 import QtCore

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from practitioner_app import practitioner_app  # noqa: E402
from process_lines import LinePrinter  # noqa: E402
from remote_cli import WAIT_S  # noqa: E402
from remote_engine_process import crash_mid_session  # noqa: E402
from test_remote_engine_rejoin import gone_state  # noqa: E402

from somafeedback.remote.host_state import GONE_TEXT, load_state, state_folder  # noqa: E402
from somafeedback.sessions.file import read_session  # noqa: E402

WAIT_MS = round(WAIT_S * 1000)


def _app(qtbot, tmp_path: Path, relay_url: str):
    """The practitioner app as ``somafeedback`` builds it (a simulated strap until the rejoin), shown and started."""
    return practitioner_app(qtbot, tmp_path, "--speed", "1", "--no-client-view", remote__relay=relay_url).window


def test_the_app_offers_an_interrupted_remote_session_and_rejoins_it(
        qtbot, relay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from somafeedback.ui.app import offer_remote_rejoin

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # where the engines keep the session's state
    library = tmp_path / "library"
    processes: list[LinePrinter] = []
    window = None
    try:
        saved = crash_mid_session(relay.url, library, tmp_path / "client", processes)
        earlier = load_state(saved).recording
        join = processes[-1]
        window = _app(qtbot, tmp_path, relay.url)
        offer_remote_rejoin(window)  # what the app does once its window is painted
        box = window.rejoin_offer
        assert box is not None and box.isVisible()
        assert box.text().startswith("A remote session with your client was interrupted ")
        assert box.text().endswith(" ago. Rejoin it?")
        assert [b.text() for b in (box.rejoin_button, box.not_now_button, box.forget_button)] == [
            "Rejoin", "Not now", "Forget it"]
        qtbot.mouseClick(box.rejoin_button, QtCore.Qt.MouseButton.LeftButton)

        qtbot.waitUntil(lambda: "rejoined" in window.devices.remote_note.text(), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: window.latest is not None, timeout=WAIT_MS)  # the client's measures, on the new engine
        assert window.devices.cell("strap1", "role") == "remote client"
        logged = [window.timeline.item(i).text() for i in range(window.timeline.count())]
        assert any(f"this recording continues {earlier}" in text for text in logged), logged
        assert window.remote.end_action.isEnabled()

        window.remote.end_action.trigger()  # Session → "End the remote session"
        code, lines, err = join.finish(WAIT_S)
        assert code == 0 and "practitioner ended" in lines[-1], err
        qtbot.waitUntil(window.engine.finished.is_set, timeout=WAIT_MS)
        assert window.engine.error is None and window.engine.recording is not None
        assert read_session(window.engine.recording).manifest["continues"] == earlier
    finally:
        if window is not None:
            window.engine.stop()
        for process in processes:
            if process.process.poll() is None:
                process.process.kill()
                process.finish(5)
    assert not saved.exists()  # ended normally: not offered again
    assert offer_remote_rejoin(window) is None and window.rejoin_offer is None


def test_a_session_the_relay_no_longer_holds_is_said_once_and_not_offered_again(
        qtbot, relay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from somafeedback.ui.app import offer_remote_rejoin

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    saved = gone_state(relay.url, state_folder() / "gone.json")
    window = _app(qtbot, tmp_path, relay.url)
    try:
        offer_remote_rejoin(window)
        qtbot.mouseClick(window.rejoin_offer.rejoin_button, QtCore.Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: GONE_TEXT in window.statusBar().currentMessage(), timeout=WAIT_MS)
        assert window.statusBar().currentMessage().startswith("The interrupted remote session could not be rejoined")
        assert "Traceback" not in window.statusBar().currentMessage() and not saved.exists()
        offer_remote_rejoin(window)
        assert window.rejoin_offer is None
    finally:
        window.engine.stop()


def test_forget_it_removes_the_saved_session(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from somafeedback.ui.app import offer_remote_rejoin

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    saved = gone_state("nats://127.0.0.1:4222", state_folder() / "left.json")
    window = _app(qtbot, tmp_path, "")
    try:
        offer_remote_rejoin(window)
        assert "less than a minute ago" in window.rejoin_offer.text()
        qtbot.mouseClick(window.rejoin_offer.forget_button, QtCore.Qt.MouseButton.LeftButton)
        assert not saved.exists()
        offer_remote_rejoin(window)
        assert window.rejoin_offer is None
    finally:
        window.engine.stop()
