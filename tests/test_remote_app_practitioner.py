"""The practitioner's app runs a remote session (issue #17): the real window, built by the app's own wiring,
invites a real client (`somafeedback remote join` in a subprocess) through a real relay (a nats-server on
loopback: the ``relay`` fixture, or one the test stops and starts again for an outage).

Every wait is bounded (qtbot.waitUntil, a printed line); the dialog is driven by key presses and clicks.
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
from remote_cli import WAIT_S, remote_command  # noqa: E402

from somafeedback.devices.events import TimelineEvent  # noqa: E402
from somafeedback.remote.relay import LocalRelay, RelayConfig  # noqa: E402
from somafeedback.sessions.file import read_session  # noqa: E402
from somafeedback.ui.remote_invite import COMPUTED_ON_CLIENT  # noqa: E402

WAIT_MS = round(WAIT_S * 1000)


def _rows(path: Path) -> set[tuple[str, str, int, int, bytes]]:
    return {(n.strap_id, n.characteristic, n.seq, n.host_ns, bytes(n.payload)) for n in read_session(path).notifications}


def test_the_window_invites_a_remote_client_and_shows_their_strap(qtbot, tmp_path: Path) -> None:
    """... and goes through a relay outage: the relay is stopped mid-session and started again on the same port
    and store; the strap panel says the practitioner's link dropped, then is back, and what the client's app sent
    meanwhile follows (the practitioner's recording holds every notification the client recorded)."""
    built = practitioner_app(qtbot, tmp_path, "--speed", "1")
    window, client = built.window, built.client
    join: LinePrinter | None = None
    relay = LocalRelay(RelayConfig(store=tmp_path / "store")).start()
    try:
        window.record_action.setChecked(True)  # "Record this session" (the remote session follows it)
        window.remote.invite_action.trigger()  # Session → "Invite a remote client…"
        dialog = window.remote.dialog
        assert dialog is not None and dialog.isVisible()
        dialog.relay.clear()
        qtbot.keyClicks(dialog.relay, relay.url)
        qtbot.mouseClick(dialog.create_button, QtCore.Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.code.text() != "", timeout=WAIT_MS)
        assert "valid 10 minutes, once" in dialog.validity.text() and dialog.status.text() == "waiting for your client…"
        assert window.settings.remote_relay == relay.url  # remembered for the next invitation

        join = LinePrinter(remote_command("join", dialog.code.text(), "--relay", relay.url, "--simulate", "calm",
                                          "--speed", "1", "--duration", "300", "--json",
                                          "--recordings", str(tmp_path / "client")))
        client_paired = join.wait_for(lambda line: '"paired"' in line, WAIT_S)
        assert client_paired is not None, join.finish(5)
        words = json.loads(client_paired)["confirmation"]
        qtbot.waitUntil(lambda: words in dialog.status.text(), timeout=WAIT_MS)
        assert dialog.status.text() == f"paired: ask your client whether they see the words “{words}”"
        qtbot.waitUntil(lambda: "shares everything from their strap" in dialog.sharing.text(), timeout=WAIT_MS)

        engine = window.engine
        qtbot.waitUntil(lambda: window.latest is not None, timeout=WAIT_MS)  # the client's beats and measures
        assert window.devices.cell("strap1", "role") == "remote client"
        assert "(through the relay)" in window.devices.cell("strap1", "strap")
        assert "remote client — strap1 (through the relay): connected" in window.devices.remote_note.text()
        qtbot.waitUntil(lambda: "clock" in window.devices.remote_note.text(), timeout=WAIT_MS)  # the alignment
        assert "The client shares" in window.remote.sharing.text()

        # the relay stops mid-session and comes back on the same port and store
        relay.stop()
        qtbot.waitUntil(lambda: "your relay link dropped" in window.devices.remote_note.text(), timeout=WAIT_MS)
        relay = LocalRelay(RelayConfig(port=relay.port, store=tmp_path / "store")).start()
        qtbot.waitUntil(lambda: "your relay link is back" in window.devices.remote_note.text(), timeout=2 * WAIT_MS)
        logged = [window.timeline.item(i).text() for i in range(window.timeline.count())]
        assert any("your link to the relay dropped" in text for text in logged), logged

        # the client's "not now" to what was shown, as the relay hands it on
        declined = {"action": "declined", "declined": "show", "exercise": "arriving-and-orienting", "text": ""}
        engine.call(lambda: engine._sink.event(TimelineEvent("remote-cue", 0, 0.0, declined, None)))
        qtbot.waitUntil(lambda: any("the client chose not now: arriving-and-orienting" in window.timeline.item(i).text()
                                    for i in range(window.timeline.count())), timeout=WAIT_MS)

        window.remote.pause_action.trigger()  # Session → "Ask the client to pause sharing"
        qtbot.waitUntil(lambda: "paused at your request" in window.remote.sharing.text(), timeout=WAIT_MS)

        window.remote.end_action.trigger()  # Session → "End the remote session"
        qtbot.waitUntil(lambda: "The remote session ended" in dialog.status.text(), timeout=WAIT_MS)
        code, lines, err = join.finish(WAIT_S)
        assert code == 0 and any('"ended"' in line and "practitioner ended" in line for line in lines), err
        qtbot.waitUntil(engine.finished.is_set, timeout=WAIT_MS)  # the recording is closed
        assert engine.recording is not None and engine.error is None
        assert "remote" in read_session(engine.recording).manifest["tags"]
        practitioner, client_rows = _rows(engine.recording), _rows(Path(json.loads(lines[-1])["saved"]))
        events = [e for e in read_session(engine.recording).events if isinstance(e, TimelineEvent)]
        (lost, back) = [e.host_ns for e in events if e.kind == "remote-link" and e.data.get("side") == "practitioner"]
        paused = next(e.host_ns for e in events if e.kind == "remote-consent" and e.data.get("change") == "paused")
        start = min(row[3] for row in practitioner)
        assert practitioner >= {row for row in client_rows if start <= row[3] < paused}  # nothing shared is missing
        assert any(lost < row[3] < back for row in practitioner), "the client's data of the outage followed"
    finally:
        relay.stop()
        window.engine.stop()
        if join is not None and join.process.poll() is None:
            join.process.kill()
            join.finish(5)
        if client is not None:
            client.close()


@pytest.mark.parametrize("level", ["metrics", "state"])
def test_at_metrics_or_state_the_window_shows_what_the_clients_computer_measured(qtbot, relay, tmp_path: Path,
                                                                                level: str) -> None:
    """No strap data arrive: the numbers (at metrics) and the state (both) are the client's, labelled as such."""
    built = practitioner_app(qtbot, tmp_path, "--no-client-view")
    window = built.window
    join: LinePrinter | None = None
    try:
        dialog = window.remote.invite()
        dialog.relay.clear()
        qtbot.keyClicks(dialog.relay, relay.url)
        qtbot.mouseClick(dialog.create_button, QtCore.Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.code.text() != "", timeout=WAIT_MS)
        join = LinePrinter(remote_command("join", dialog.code.text(), "--relay", relay.url, "--simulate", "calm",
                                          "--speed", "5", "--duration", "300", "--json", "--share", level,
                                          "--recordings", str(tmp_path / "client")))
        qtbot.waitUntil(lambda: COMPUTED_ON_CLIENT in window.panel.state_reason.text(), timeout=2 * WAIT_MS)
        assert window.panel.state_label.text()  # the client's regulation state, in the place it always shows
        if level == "metrics":
            qtbot.waitUntil(lambda: window.plots.latest is not None and window.plots.latest.time.hr_valid,
                            timeout=2 * WAIT_MS)
            window.plots.redraw()
            hr = window.plots.readout_text["hr"]
            assert hr.startswith("Heart rate ") and "bpm" in hr and COMPUTED_ON_CLIENT in hr, hr
            assert COMPUTED_ON_CLIENT in window.plots.readout_text["rmssd"]
            assert window.plots.hr.n > 0  # the HR plot draws the client's numbers
        else:
            assert window.latest is None and window.plots.hr.n == 0  # only the band is shared
        window.remote.end_action.trigger()
        code, lines, err = join.finish(WAIT_S)
        assert code == 0, err
        qtbot.waitUntil(window.engine.finished.is_set, timeout=WAIT_MS)
        assert window.engine.error is None
    finally:
        window.engine.stop()
        if join is not None and join.process.poll() is None:
            join.process.kill()
            join.finish(5)


def test_a_relay_that_cannot_be_reached_is_told_in_the_dialog_and_another_address_can_be_tried(qtbot, tmp_path: Path) -> None:
    built = practitioner_app(qtbot, tmp_path, "--no-client-view", library=False)
    window = built.window
    try:
        dialog = window.remote.invite()
        qtbot.keyClicks(dialog.relay, "nats://127.0.0.1:1")
        qtbot.mouseClick(dialog.create_button, QtCore.Qt.MouseButton.LeftButton)
        qtbot.waitUntil(dialog.create_button.isEnabled, timeout=WAIT_MS)  # enabled again: another address may be tried
        assert "127.0.0.1:1" in dialog.status.text() and "Traceback" not in dialog.status.text()
        assert dialog.code.text() == "" and not dialog.relay.isReadOnly()
    finally:
        window.engine.stop()
