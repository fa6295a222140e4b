"""The client's home window joins a practitioner's remote session (issue #17), driven by clicks and typing:
a real HomeWindow on a simulated strap, a real practitioner (RemoteHost on its own loop) over a real
nats-server (the ``relay`` fixture). Every wait is bounded and waits on a condition."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtWidgets  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from remote_practitioner import Kept, Practitioner  # noqa: E402
from somafeedback.devices.events import Notification, TimelineEvent  # noqa: E402
from somafeedback.live.analysis import pacer_from_data  # noqa: E402
from somafeedback.live.engine import Engine, EngineOptions, EngineSource  # noqa: E402
from somafeedback.regulation.exercises import load_exercises  # noqa: E402
from somafeedback.remote.consent import CONSENT_EVENT, METRICS_EVENT, SharingLevel  # noqa: E402
from somafeedback.remote.downlink import REMOTE_CUE_EVENT, down_message  # noqa: E402
from somafeedback.remote.messages import PacerSettings as PacerDown  # noqa: E402
from somafeedback.remote.relay import LocalRelay  # noqa: E402
from somafeedback.ui.chimes import Chimes  # noqa: E402
from somafeedback.ui.home_window import HomeWindow  # noqa: E402
from somafeedback.ui.settings import AppSettings  # noqa: E402

WAIT_MS = 30_000  # ms any single wait may take before the test fails
LEFT = QtCore.Qt.MouseButton.LeftButton


@pytest.fixture
def practitioner(relay: LocalRelay) -> Iterator[Practitioner]:
    host = Practitioner(relay.url)
    yield host
    host.close()


@pytest.fixture
def window(qtbot, tmp_path: Path) -> Iterator[HomeWindow]:
    exercises = load_exercises()

    def strap(script_id: str) -> Engine:
        return Engine(EngineSource(simulate="calm", speed=1.5, seed=5, simulated_model="hr"),
                      EngineOptions(mode="home", script=script_id, record_to=tmp_path / "library"), exercises)

    settings = AppSettings(QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat))
    home = HomeWindow(exercises, tmp_path / "library", engine_factory=strap, chimes=Chimes(multimedia=lambda: None),
                      settings=settings)
    qtbot.addWidget(home)
    home.show()
    yield home
    home.close()


def test_the_client_joins_checks_the_words_shares_and_answers_from_the_home_window(
        qtbot, window: HomeWindow, practitioner: Practitioner, relay: LocalRelay) -> None:
    QTest.mouseClick(window.join_remote_button, LEFT)
    dialog = window.remote_dialog
    assert dialog is not None and dialog.current_page() == "form"
    QTest.keyClicks(dialog.relay_edit, relay.url)
    QTest.keyClicks(dialog.code_edit, str(practitioner.code).replace("-", " "))  # typed as read out
    assert dialog.chosen_level() == SharingLevel.RAW and all(b.isEnabled() for b in dialog.level_buttons.values())
    QTest.mouseClick(dialog.join_button, LEFT)
    qtbot.waitUntil(lambda: dialog.current_page() in ("check", "failed"), timeout=WAIT_MS)
    assert f"“{practitioner.confirmation}”" in dialog.check_label.text()
    QTest.mouseClick(dialog.start_button, LEFT)
    assert window.current_page() == "remote"
    page = window.remote_page
    qtbot.waitUntil(lambda: len(practitioner.sink.notifications()) >= 5, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: page.status_shown().startswith("Sharing with your practitioner"), timeout=WAIT_MS)

    cue = down_message(TimelineEvent("cue", 1, 2.0, {"action": "pushed", "cue_id": None, "kind": "manual",
                                                      "exercise": "arriving-and-orienting", "text": "Orienting"}))
    assert cue is not None
    practitioner.send(cue)
    screen = page.client_screen
    qtbot.waitUntil(lambda: getattr(screen.current_exercise(), "id", None) == "arriving-and-orienting", timeout=WAIT_MS)
    assert page.decline_button.isVisible()
    QTest.mouseClick(page.decline_button, LEFT)
    qtbot.waitUntil(lambda: any(e.data.get("action") == "declined" for e in practitioner.sink.kinds(REMOTE_CUE_EVENT)),
                    timeout=WAIT_MS)
    assert screen.current_exercise() is None
    QTest.mouseClick(page.marker_buttons["I would like a pause"], LEFT)  # the client tells their practitioner
    practitioner.sink.until(lambda s: any(e.data == {"label": "I would like a pause", "by": "client"}
                                          for e in s.kinds("marker")))

    practitioner.send(PacerDown({"running": True, "inhale_s": 4.0, "exhale_s": 6.0, "hold_in_s": 0.0,
                                 "hold_out_s": 0.0}))  # the pacer alone: the very one the engine measures
    qtbot.waitUntil(screen.pacer_visible, timeout=WAIT_MS)
    practitioner.sink.until(lambda s: bool(s.kinds("pacer")))
    (sent_up,) = practitioner.sink.kinds("pacer")
    assert pacer_from_data(sent_up.data).changes == screen.pacer_widget().pacer().changes  # type: ignore[union-attr]
    practitioner.send(PacerDown({"running": False}))
    qtbot.waitUntil(lambda: not screen.pacer_visible(), timeout=WAIT_MS)

    QTest.mouseClick(page.pause_button, LEFT)
    qtbot.waitUntil(lambda: "paused" in page.status_shown() and practitioner.host.consent.paused, timeout=WAIT_MS)
    assert page.pause_button.text() == "Resume sharing"
    practitioner.close()  # the practitioner ends: sharing stops, the strap and the recording go on
    qtbot.waitUntil(lambda: page.ended_label.isVisible(), timeout=WAIT_MS)
    assert page.ended_label.text().startswith("Your practitioner ended the session")
    assert not page.pause_button.isEnabled() and window.remote_page.engine is not None
    QTest.mouseClick(page.end_button, LEFT)
    assert window.current_page() == "choose" and window.remote_page.engine is None
    assert window.settings.store.value("remote/relay") == relay.url  # remembered for next time
    (saved,) = (Path(window.library_dir)).glob("*.session.sqlite")
    assert saved.stat().st_mode & 0o077 == 0


def test_a_malformed_code_is_refused_in_words_before_any_network(qtbot, window: HomeWindow) -> None:
    QTest.mouseClick(window.join_remote_button, LEFT)
    dialog = window.remote_dialog
    assert dialog is not None
    QTest.keyClicks(dialog.relay_edit, "nats://127.0.0.1:9")
    QTest.keyClicks(dialog.code_edit, "7 amber")
    QTest.mouseClick(dialog.join_button, LEFT)
    assert dialog.current_page() == "form" and dialog.form_message_text().startswith("This code could not be read")
    assert "Traceback" not in dialog.form_message_text() and window.remote_page.engine is None


def test_the_client_changes_what_is_shared_during_the_session(
        qtbot, window: HomeWindow, practitioner: Practitioner, relay: LocalRelay) -> None:
    QTest.mouseClick(window.join_remote_button, LEFT)
    dialog = window.remote_dialog
    assert dialog is not None
    QTest.keyClicks(dialog.relay_edit, relay.url)
    QTest.keyClicks(dialog.code_edit, str(practitioner.code))
    _click_radio(dialog.level_buttons[SharingLevel.BEATS])
    QTest.mouseClick(dialog.join_button, LEFT)
    qtbot.waitUntil(lambda: dialog.current_page() in ("check", "failed"), timeout=WAIT_MS)
    QTest.mouseClick(dialog.start_button, LEFT)
    page, sink = window.remote_page, practitioner.sink
    sink.until(lambda s: len(s.notifications()) >= 3)
    qtbot.waitUntil(lambda: page.status_shown().endswith("your state, measures and heartbeats."), timeout=WAIT_MS)

    QTest.mouseClick(page.change_button, LEFT)
    change = page.change_dialog
    assert change is not None and change.choice.chosen_level() == SharingLevel.BEATS  # the level in force
    _click_radio(change.choice.level_buttons[SharingLevel.METRICS])  # applies at once
    sink.until(lambda s: len(s.kinds(METRICS_EVENT)) >= 3)
    qtbot.waitUntil(lambda: page.status_shown().endswith("your state and measures."), timeout=WAIT_MS)
    _click_radio(change.choice.level_buttons[SharingLevel.RAW])
    sink.until(lambda s: len([i for i in s.items[_chose(s, "raw"):] if isinstance(i, Notification)]) >= 3)
    qtbot.waitUntil(lambda: page.status_shown().endswith("everything from your strap."), timeout=WAIT_MS)
    at_metrics = sink.items[_chose(sink, "metrics"):_chose(sink, "raw")]
    assert not [i for i in at_metrics if isinstance(i, Notification)]  # no heartbeat left at metrics
    assert [i for i in at_metrics if getattr(i, "kind", None) == METRICS_EVENT]
    assert practitioner.host.consent.level == SharingLevel.RAW
    QTest.mouseClick(change.close_button, LEFT)
    assert page.change_dialog is None or not page.change_dialog.isVisible()


def _chose(sink: Kept, level: str) -> int:
    """Where in what the practitioner received the client chose ``level`` (its remote-consent event; the end
    when not yet)."""
    return next((n for n, i in enumerate(sink.items) if isinstance(i, TimelineEvent) and i.kind == CONSENT_EVENT
                 and i.data.get("change") == "chose" and i.data.get("level") == level), len(sink.items))


def _click_radio(button: QtWidgets.QRadioButton) -> None:
    """A click on the radio button's circle (its middle may lie beyond its words, where a click does nothing)."""
    QTest.mouseClick(button, LEFT, pos=QtCore.QPoint(8, button.height() // 2))
