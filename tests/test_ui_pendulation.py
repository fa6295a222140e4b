"""The pendulation view: in the review window (a click on its tab, the table read back, a double-click going to a
swing), fed live beat by beat, and the per-swing table of the session report."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PySide6 import QtCore
from test_pendulation import SCENARIO, _origin_ns, _record

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from somafeedback.devices.events import TimelineEvent  # noqa: E402
from somafeedback.devices.simulator.scenario import load_scenario  # noqa: E402
from somafeedback.regulation.exercises import load_exercises  # noqa: E402
from somafeedback.live.analysis import LiveAnalysis  # noqa: E402
from somafeedback.regulation.pendulation import Outcome, clock, session_swings  # noqa: E402
from somafeedback.hrv.pipeline import BeatMetrics  # noqa: E402
from somafeedback.sessions.file import read_session  # noqa: E402

LEFT = QtCore.Qt.MouseButton.LeftButton


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pendulation-swings scenario recorded with the regulation loop (its baseline event included)."""
    path = tmp_path_factory.mktemp("pendulation-ui") / "swings.session.sqlite"
    return _record(path, SCENARIO, load_scenario(SCENARIO).duration_s)


@pytest.fixture
def window(qtbot, recorded: Path, tmp_path: Path):
    from somafeedback.ui.replay_window import ReplayWindow

    path = tmp_path / recorded.name
    shutil.copyfile(recorded, path)
    shown = ReplayWindow(path, load_exercises(), recordings=tmp_path / "library")
    qtbot.addWidget(shown)
    shown.show()
    qtbot.waitExposed(shown)
    return shown


def _click_tab(qtbot, tabs, title: str) -> None:
    bar = tabs.tabBar()
    index = next(i for i in range(tabs.count()) if tabs.tabText(i) == title)
    qtbot.mouseClick(bar, LEFT, pos=bar.tabRect(index).center())
    assert tabs.currentIndex() == index


def test_the_review_shows_each_swing_in_its_tab(qtbot, window, recorded: Path) -> None:
    session = read_session(recorded)
    expected, judged = session_swings(session, _origin_ns(session))
    assert judged and len(expected) == 4
    _click_tab(qtbot, window.tabs, "Pendulation")
    view = window.pendulation
    assert view.isVisible()
    rows = view.rows()
    assert len(rows) == 4
    for row, swing in zip(rows, expected, strict=True):
        number, started, peak, recovery = row[:4]
        assert number == str(swing.number) and started == clock(swing.start_s)
        assert peak == f"{swing.peak_bpm:.0f} bpm (+{swing.peak_above_usual_bpm:.0f})"
        assert recovery == clock(swing.recovery_s)  # every swing of the scenario comes back
    assert "4 swings above the usual range; 4 back within it." == view.message.text()
    peaks, recoveries = view.trend_points()
    assert [x for x, _ in peaks] == pytest.approx([s.start_s for s in expected])
    assert [y for _, y in recoveries] == pytest.approx([s.recovery_s for s in expected])
    # a double-click on swing 3 goes there (and the review's cursor follows)
    window.pause()
    table = view.table
    cell = table.visualItemRect(table.item(2, 1)).center()
    qtbot.mouseClick(table.viewport(), LEFT, pos=cell)
    qtbot.mouseDClick(table.viewport(), LEFT, pos=cell)
    qtbot.waitUntil(lambda: abs(window.position_s() - expected[2].start_s) < 1.5, timeout=10000)


def test_a_recording_without_a_baseline_says_there_is_no_usual_range(qtbot, tmp_path: Path) -> None:
    from recording_helpers import record_simulated

    from somafeedback.ui.pendulation_view import NO_BAND_TEXT, PendulationView

    path = record_simulated(tmp_path / "plain.session.sqlite", "calm", 60.0)
    swings, judged = session_swings(read_session(path), 0)
    assert swings == [] and not judged
    view = PendulationView()
    qtbot.addWidget(view)
    view.set_swings(swings, judged)
    assert view.rows() == [] and view.message.text() == NO_BAND_TEXT


def test_live_the_view_shows_the_running_swing_then_its_return(qtbot, recorded: Path) -> None:
    """Fed as the live window feeds it (every client metric set, every timeline event), one row per swing: the
    running one says so, and when it is back it shows its recovery time."""
    from somafeedback.ui.pendulation_view import NO_BAND_TEXT, PendulationView

    session = read_session(recorded)
    view = PendulationView()
    qtbot.addWidget(view)
    assert view.message.text() == NO_BAND_TEXT
    analysis = LiveAnalysis(metrics=True)
    running_seen = False
    for item in session.timeline:
        outputs = analysis.on_notification(item) if hasattr(item, "payload") else analysis.on_event(item)
        for strap, output in outputs:
            if strap == "strap1" and isinstance(output, BeatMetrics):
                view.take_metrics(output)
                if view.swings and view.swings[-1].outcome is Outcome.ONGOING:
                    running_seen = True
                    assert view.rows()[-1][3] == "above the usual range"
        if isinstance(item, TimelineEvent):
            view.take_event(item)
    expected, _ = session_swings(session, _origin_ns(session))
    assert running_seen and len(view.rows()) == len(expected) == 4
    origin_s = _origin_ns(session) / 1e9
    assert [round(s.start_s - origin_s, 3) for s in view.swings] == [round(s.start_s, 3) for s in expected]
    assert [row[3] for row in view.rows()] == [clock(s.recovery_s) for s in expected]


def test_the_session_report_has_the_swing_table(recorded: Path) -> None:
    from somafeedback.reports.content import session_content
    from somafeedback.ui.report.html import session_html

    content = session_content(recorded)
    assert content.swings_judged and len(content.swings) == 4
    assert all(s.outcome is Outcome.BACK for s in content.swings)
    html = session_html(content, [], lambda image: "")
    section = html[html.index("<h3>Pendulation swings</h3>"):]
    table = section[:section.index("</table>")]
    assert table.count("<tr>") == 1 + 4  # the header and one row per swing
    for swing in content.swings:
        assert f"<td>{clock(swing.recovery_s)}</td>" in table
        assert f"{swing.peak_bpm:.0f} bpm (+{swing.peak_above_usual_bpm:.0f})" in table
    session = read_session(recorded)
    reviewed, _ = session_swings(session, _origin_ns(session))  # the report reads the same swings as the review
    assert [s.number for s in content.swings] == [s.number for s in reviewed]
    for a, b in zip(content.swings, reviewed, strict=True):
        assert a.start_s == pytest.approx(b.start_s, abs=2.0) and a.peak_bpm == pytest.approx(b.peak_bpm, abs=1.0)
