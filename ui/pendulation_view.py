"""The pendulation view: each swing above the client's usual heart-rate range, its peak and the time back.

A table (swing #, start m:ss, peak bpm with bpm above the usual heart rate, recovery m:ss or why there is
none, rise time, time above the range) and a small trend of each swing's peak height and recovery time
against session time, so a practitioner sees whether the returns get quicker. The rule is
:mod:`somafeedback.regulation.pendulation`; this widget only shows it.

Use:

* review / report: :meth:`PendulationView.set_swings` with a session's swings (and
  :meth:`set_message` when there is nothing to judge against);
* live: :meth:`take_metrics` with every client-strap metric set and :meth:`take_event` with every timeline
  event (baselines set the usual range); the view runs its own :class:`~somafeedback.regulation.pendulation.LiveSwings`
  and refreshes the rows that changed. Or run the tracker elsewhere and call :meth:`update_swings` with
  what it returned.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from somafeedback.devices.events import TimelineEvent
from somafeedback.regulation.pendulation import SWING_HEADER_TIPS, SWING_HEADERS, TEXT, BeatLike, LiveSwings, Swing, swing_row

from .time_axis import MinutesSecondsAxis, clock_label

HEADERS: Final = SWING_HEADERS
PEAK_COLOUR: Final = (230, 159, 0)  # orange
RECOVERY_COLOUR: Final = (0, 114, 178)  # blue
NO_SWINGS_TEXT: Final = "No swing above this client's usual heart-rate range so far."
NO_BAND_TEXT: Final = ("No usual range for this session yet: swings are measured against the baseline (measured at "
                       "the start, or taken from earlier sessions).")


class ClockValues(pg.AxisItem):
    """A value axis of durations labelled m:ss at pyqtgraph's own tick spacing (fits a short plot)."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802 - pyqtgraph API
        return [clock_label(v) for v in values]


class PendulationView(QtWidgets.QWidget):
    """The swings of one session (recorded or live) as a table and a trend."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.swings: list[Swing] = []
        self.live = LiveSwings()
        layout = QtWidgets.QVBoxLayout(self)
        self.message = QtWidgets.QLabel(NO_BAND_TEXT)
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.table = QtWidgets.QTableWidget(0, len(HEADERS))
        for column, (name, tip) in enumerate(zip(HEADERS, SWING_HEADER_TIPS, strict=True)):
            header = QtWidgets.QTableWidgetItem(name)
            header.setToolTip(tip)
            self.table.setHorizontalHeaderItem(column, header)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip(TEXT)
        self.trend = pg.GraphicsLayoutWidget()
        self.trend.setBackground("w")
        self.trend.setMinimumHeight(220)
        self.peak_plot = self.trend.addPlot(row=0, col=0, axisItems={"bottom": MinutesSecondsAxis("bottom")})
        self.recovery_plot = self.trend.addPlot(row=1, col=0, axisItems={"bottom": MinutesSecondsAxis("bottom"),
                                                                          "left": ClockValues("left")})
        self.peak_plot.setTitle("Peak: bpm above the usual heart rate", size="9pt")
        self.recovery_plot.setTitle("Recovery: peak → back within the usual range (m:ss)", size="9pt")
        self.recovery_plot.setLabel("bottom", "session time of the swing's start")
        self.recovery_plot.setXLink(self.peak_plot)
        for plot in (self.peak_plot, self.recovery_plot):
            plot.setMenuEnabled(False)
            plot.showGrid(x=True, y=True, alpha=0.2)
        self.peak_points = self.peak_plot.plot([], [], pen=pg.mkPen(PEAK_COLOUR, width=2), symbol="t",
                                               symbolBrush=PEAK_COLOUR, symbolPen=None, symbolSize=10)
        self.recovery_points = self.recovery_plot.plot([], [], pen=pg.mkPen(RECOVERY_COLOUR, width=2), symbol="o",
                                                       symbolBrush=RECOVERY_COLOUR, symbolPen=None, symbolSize=9)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)  # the table beside its trend
        splitter.addWidget(self.table)
        splitter.addWidget(self.trend)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout.addWidget(splitter, 1)
        caption = QtWidgets.QLabel(TEXT)
        caption.setWordWrap(True)
        caption.setStyleSheet("color: #555")
        layout.addWidget(caption)

    # -- recorded sessions ------------------------------------------------------------------------
    def set_swings(self, swings: Sequence[Swing], judged: bool = True) -> None:
        """Show ``swings`` (``judged`` False: the session had no usual range to judge against)."""
        self.swings = list(swings)
        self._refresh(judged)

    def set_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    # -- live -------------------------------------------------------------------------------------
    def update_swings(self, changed: Sequence[Swing]) -> None:
        """Swings created or changed (e.g. what a tracker's update returned): rows replaced or added."""
        if not changed:
            return
        for swing in changed:
            if swing.number <= len(self.swings):
                self.swings[swing.number - 1] = swing
            else:
                self.swings.append(swing)
        self._refresh(True)

    def take_metrics(self, metrics: BeatLike) -> None:
        """One metric set of the client strap (``rr_ms`` None: a gap)."""
        self.update_swings(self.live.metrics(metrics))

    def take_event(self, event: TimelineEvent) -> None:
        """A timeline event; a baseline (measured, skipped for a stored one, or measured again) sets the range."""
        changed = self.live.event(event)
        if self.live.tracker.band is not None and not self.swings:
            self.set_message(NO_SWINGS_TEXT)
        elif self.live.tracker.band is None:
            self.set_message(NO_BAND_TEXT)
        self.update_swings(changed)

    # -- reading (tests, screenshots) -------------------------------------------------------------
    def rows(self) -> list[tuple[str, ...]]:
        """The table's text, row by row."""
        return [tuple(self._cell_text(r, c) for c in range(self.table.columnCount()))
                for r in range(self.table.rowCount())]

    def _cell_text(self, row: int, column: int) -> str:
        item = self.table.item(row, column)  # _refresh fills every cell; an empty one reads as ""
        return item.text() if item is not None else ""

    def trend_points(self) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """((start, peak above usual), (start, recovery s)) as drawn."""
        def points(item: pg.PlotDataItem) -> list[tuple[float, float]]:
            x, y = item.getData()
            return [] if x is None else [(float(a), float(b)) for a, b in zip(x, y, strict=True)]

        return points(self.peak_points), points(self.recovery_points)

    def _refresh(self, judged: bool) -> None:
        self.table.setRowCount(len(self.swings))
        for r, swing in enumerate(self.swings):
            for c, text in enumerate(swing_row(swing)):
                item = QtWidgets.QTableWidgetItem(text)
                if c != 3 or swing.recovery_s is not None:  # numbers and times right-aligned; an outcome in words left
                    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.peak_points.setData([s.start_s for s in self.swings], [s.peak_above_usual_bpm for s in self.swings])
        back = [s for s in self.swings if s.recovery_s is not None]
        self.recovery_points.setData([s.start_s for s in back], [s.recovery_s for s in back])
        for plot, values in ((self.peak_plot, [s.peak_above_usual_bpm for s in self.swings]),
                             (self.recovery_plot, [s.recovery_s or 0.0 for s in back])):
            plot.setYRange(0.0, max([1.0, *values]) * 1.15, padding=0.0)  # from zero: heights compare at a glance
        if not judged:
            self.set_message(NO_BAND_TEXT)
        elif not self.swings:
            self.set_message(NO_SWINGS_TEXT)
        else:
            returned = len(back)
            self.set_message(f"{len(self.swings)} swing{'s' if len(self.swings) != 1 else ''} above the usual range; "
                             f"{returned} back within it.")
