"""The "relationship" timeline of a recording with the practitioner's and the client's straps.

One time axis (session seconds, m:ss), three linked rows: the session's marks (markers ▼, cues ◆,
notes ■, review notes ★, as on the timeline strip), the signed peak r per window (★ beyond chance,
hatched when marked) and its lag (:class:`~.synchrony_plots.SynchronyPlots`). The review window
shows it in a "Relationship" tab (:class:`RelationshipTab`: computed on a worker thread with
:func:`~somafeedback.reports.relationship.session_relationship`, polled by the window's frame
timer); the session report draws the same widget as its figure (``ui/report/figures.py``).

Thread: the Qt GUI thread (the computation runs on its own thread).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any, Final

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from somafeedback.reports.relationship import RELATIONSHIP_CAVEAT, Relationship, session_relationship

from .synchrony_plots import LEGEND_HTML, SynchronyPlots
from .time_axis import MinutesSecondsAxis
from .timeline_strip import STRIP_ROWS

RELATIONSHIP_TAB: Final = "Relationship"
COMPUTING_TEXT: Final = "Comparing the two heart rates window by window…"
NO_WINDOWS_TEXT: Final = "The two straps' beats do not overlap by one whole window, so there is nothing to compare."
MARKS_HEIGHT_PX: Final = 70  # the marks row


class RelationshipTimeline(pg.GraphicsLayoutWidget):
    """Marks, synchrony and lag of one recording on one time axis."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.marks_plot = self.addPlot(row=0, col=0, axisItems={"bottom": MinutesSecondsAxis("bottom")})
        self.marks_plot.hideAxis("left")
        self.marks_plot.hideAxis("bottom")
        self.marks_plot.setMaximumHeight(MARKS_HEIGHT_PX)
        self.marks_plot.setYRange(1.3, 2.8, padding=0.05)
        self.marks_plot.setMouseEnabled(x=True, y=False)
        self.marks_plot.getAxis("left").setWidth(48)
        self._marks: dict[str, pg.ScatterPlotItem] = {}
        for kind, (_, symbol, colour) in STRIP_ROWS.items():
            scatter = pg.ScatterPlotItem(size=11, symbol=symbol, pen=pg.mkPen(colour), brush=pg.mkBrush(*colour),
                                         hoverable=True, tip=lambda x, y, data: str(data))
            self._marks[kind] = scatter
            self.marks_plot.addItem(scatter)
        self.r_plot = self.addPlot(row=1, col=0, axisItems={"bottom": MinutesSecondsAxis("bottom")})
        self.lag_plot = self.addPlot(row=2, col=0, axisItems={"bottom": MinutesSecondsAxis("bottom")})
        for plot in (self.r_plot, self.lag_plot):
            plot.getAxis("left").setWidth(48)
        self.marks_plot.setXLink(self.r_plot)
        self.sync = SynchronyPlots(self.r_plot, self.lag_plot, a_name="the practitioner", b_name="the client")
        self.relationship: Relationship | None = None

    def set_relationship(self, relationship: Relationship) -> None:
        self.relationship = relationship
        self.sync.set_windows(relationship.windows)
        windows = relationship.windows
        if windows:
            self.r_plot.setXRange(0.0, windows[-1]["end_s"], padding=0.01)

    def set_marks(self, marks: Mapping[str, Sequence[tuple[float, str]]]) -> None:
        """Point events per kind (marker, cue, note, review): (session seconds, text)."""
        for kind, scatter in self._marks.items():
            points = list(marks.get(kind, ()))
            y = STRIP_ROWS[kind][0]
            scatter.setData(x=[t for t, _ in points], y=[y] * len(points), data=[text for _, text in points])

    def windows_shown(self) -> int:
        """How many windows carry a bar (for a test or a caption)."""
        return len(self.sync.rows)


class RelationshipJob(threading.Thread):
    """:func:`session_relationship` on a thread of its own; ``result`` / ``error`` once ``done`` is set."""

    def __init__(self, timeline: Sequence[Any], origin_ns: int) -> None:
        super().__init__(name="somafeedback relationship", daemon=True)
        self.timeline, self.origin_ns = timeline, origin_ns
        self.result: Relationship | None = None
        self.error: str | None = None
        self.done = threading.Event()

    def run(self) -> None:
        try:
            self.result = session_relationship(self.timeline, self.origin_ns)
        except (ValueError, ArithmeticError) as error:  # odd beats: said in words, never a traceback
            self.error = f"The two heart rates could not be compared ({error})."
        finally:
            self.done.set()


class RelationshipTab(QtWidgets.QWidget):
    """The review's tab: the summary in words above the timeline; :meth:`poll` from the frame timer."""

    def __init__(self, timeline: Sequence[Any], origin_ns: int, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        self.summary = QtWidgets.QLabel(COMPUTING_TEXT)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)
        self.timeline = RelationshipTimeline()
        layout.addWidget(self.timeline, 1)
        legend = QtWidgets.QLabel(LEGEND_HTML + " · marks: ▼ marker ◆ cue ■ note ★ review note<br>" + RELATIONSHIP_CAVEAT)
        legend.setWordWrap(True)
        legend.setStyleSheet("color: #555;")
        layout.addWidget(legend)
        self.job: RelationshipJob | None = RelationshipJob(timeline, origin_ns)
        self.job.start()

    def poll(self) -> None:
        """Show the result once the worker has it (GUI thread; cheap otherwise)."""
        job = self.job
        if job is None or not job.done.is_set():
            return
        self.job = None
        if job.result is None:
            self.summary.setText(job.error or NO_WINDOWS_TEXT)
            return
        self.timeline.set_relationship(job.result)
        self.summary.setText(job.result.summary_text() if job.result.windows else NO_WINDOWS_TEXT)
        self.summary.setToolTip(job.result.settings_text())

