"""The "relationship" timeline of a recording with two straps, in the review window and the session report (#18).

A simulated dyad session is recorded once (``somafeedback record --simulate dyad-in-phase --speed max``):
the review window computes the timeline off the GUI thread and shows its windows, the summary in words
and the session's marks on the same axis; the report's HTML has the section, its settings and the figure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6 import QtCore

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from somafeedback.regulation.exercises import load_exercises  # noqa: E402

LEFT = QtCore.Qt.MouseButton.LeftButton
DURATION_S = 300  # s of the dyad recorded: about 50 windows of 30 s every 5 s


@pytest.fixture(scope="session")
def dyad_session(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dyad-recording")
    subprocess.run([sys.executable, "-m", "somafeedback.cli", "record", "--simulate", "dyad-in-phase", "--speed", "max",
                    "--duration", str(DURATION_S), "--recordings", str(folder)],
                   check=True, capture_output=True, timeout=300)
    (path,) = folder.glob("*.session.sqlite")
    return path


def test_the_review_shows_the_relationship_timeline_with_its_windows_and_marks(qtbot, dyad_session, tmp_path) -> None:
    from somafeedback.ui.replay_window import ReplayWindow

    window = ReplayWindow(dyad_session, load_exercises(), recordings=tmp_path)
    qtbot.addWidget(window)
    window.show()
    tabs = window.tabs
    index = next(i for i in range(tabs.count()) if tabs.tabText(i) == "Relationship")
    qtbot.mouseClick(tabs.tabBar(), LEFT, pos=tabs.tabBar().tabRect(index).center())
    tab = window.relationship
    assert tabs.currentWidget() is tab
    qtbot.waitUntil(lambda: tab.job is None, timeout=30000)  # computed on its own thread, shown by the frame timer
    assert tab.timeline.windows_shown() >= 40
    assert tab.summary.text().startswith("Heart rates moved together beyond chance in ")
    assert "500 segment-shuffled surrogate pairs" in tab.summary.toolTip()
    window.pause()
    window.add_note("shared laugh")  # a review note lands on the same axis
    notes = tab.timeline._marks["review"].data
    assert [str(p["data"]) for p in notes] == ["review note: shared laugh"]
    window.close()


def test_the_report_has_the_relationship_section_and_figure(qapp, dyad_session, tmp_path) -> None:
    from somafeedback.ui.report.render import render_session_report

    out = render_session_report(dyad_session, "html", out=tmp_path / "report")
    html = out.read_text()
    assert "Two heart rates: the practitioner&#x27;s and the client&#x27;s" in html  # the section's heading
    assert "Heart rates moved together beyond chance in " in html
    assert "windows of 30 s every 5 s, lags ±5 s" in html  # numbers travel with how they were made
    section = html[html.index("Two heart rates"):]
    assert "data:image/png;base64," in section.split("Notes, markers and cue decisions")[0]  # the figure, in the section
