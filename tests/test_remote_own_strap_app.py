"""The practitioner wears a strap too in a remote session, from the app (issues #17, #18).

The real window, built by the app's own wiring in its simulated mode, invites a real client (`somafeedback
remote join --simulate dyad-remote-short --person client` in a subprocess) through a real relay (the
``relay`` fixture) with "I am wearing a strap too" ticked: the remote engine simulates the dyad's
practitioner person as its local strap2. The strap panel shows both straps, and the Co-regulation tab gets
the engine's own synchrony windows. Real time on both sides (a split dyad cannot run faster, see
tests/test_remote_dyad.py): the first 30-s window of both heart rates comes about 40 s after both stream.

Every wait is bounded (qtbot.waitUntil, a printed line); the dialog is driven by clicks and key presses.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6 import QtCore

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from practitioner_app import practitioner_app  # noqa: E402
from process_lines import LinePrinter  # noqa: E402
from remote_cli import WAIT_S, remote_command  # noqa: E402


WAIT_MS = round(WAIT_S * 1000)
SCENARIO = "dyad-remote-short"
FIRST_WINDOW_MS = 120_000  # ms: the clocks lined up, both straps streaming, 30 s of both, with room to spare


def test_the_practitioner_wears_a_strap_too_and_the_coregulation_tab_fills(qtbot, relay, tmp_path: Path) -> None:
    from somafeedback.ui.coregulation_panel import COREGULATION_TAB
    from somafeedback.ui.remote_own_strap import OWN_ROLE

    built = practitioner_app(qtbot, tmp_path, "--no-client-view")
    window = built.window
    join: LinePrinter | None = None
    try:
        window.remote.invite_action.trigger()  # Session → "Invite a remote client…"
        dialog = window.remote.dialog
        assert dialog is not None and dialog.own_strap is not None
        own = dialog.own_strap
        assert not own.strap.isEnabled()  # nothing to choose until "I am wearing a strap too" is ticked
        box = QtCore.QPoint(8, own.wearing.height() // 2)  # the tick box, at the left of its words
        qtbot.mouseClick(own.wearing, QtCore.Qt.MouseButton.LeftButton, pos=box)
        assert own.wearing.isChecked() and own.strap.isEnabled()
        assert own.strap.currentData() == SCENARIO  # in the simulator: the practitioner of a simulated pair
        dialog.relay.clear()
        qtbot.keyClicks(dialog.relay, relay.url)
        qtbot.mouseClick(dialog.create_button, QtCore.Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.code.text() != "", timeout=WAIT_MS)
        assert window.devices.cell("strap2", "role") == OWN_ROLE

        join = LinePrinter(remote_command("join", dialog.code.text(), "--relay", relay.url, "--simulate", SCENARIO,
                                          "--person", "client", "--speed", "1", "--duration", "300", "--json",
                                          "--recordings", str(tmp_path / "client")))
        assert join.wait_for(lambda line: '"paired"' in line, WAIT_S) is not None, join.finish(5)
        # both straps in the panel: the client's through the relay, the practitioner's on this computer
        qtbot.waitUntil(lambda: window.devices.cell("strap2", "link") == "streaming", timeout=WAIT_MS)
        assert window.devices.cell("strap2", "role") == OWN_ROLE
        assert window.devices.cell("strap1", "role") == "remote client"
        assert "(through the relay)" in window.devices.cell("strap1", "strap")
        assert "(through the relay)" not in window.devices.cell("strap2", "strap")

        # the engine's own synchrony windows of the practitioner (strap2) and the client (strap1)
        qtbot.waitUntil(lambda: bool(window.coregulation.windows), timeout=FIRST_WINDOW_MS)
        tabs = [window.plot_tabs.tabText(i) for i in range(window.plot_tabs.count())]
        assert COREGULATION_TAB in tabs
        assert list(window.coregulation.windows) == [("strap2", "strap1")]  # the practitioner first

        window.remote.end_action.trigger()  # Session → "End the remote session"
        code, lines, err = join.finish(WAIT_S)
        assert code == 0 and any('"ended"' in line for line in lines), err
    finally:
        window.engine.stop()
        if join is not None and join.process.poll() is None:
            join.process.kill()
            join.finish(5)
