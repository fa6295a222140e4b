"""The results of a breathing-rate (resonance-frequency) assessment: table, best rates, weights and plots.

:class:`ResonanceResultsView` shows one :class:`~somafeedback.resonance.result.ResonanceResult`:

* the best and second breathing rates and the fine-tuning suggestion, in words;
* the **table**, one row per step run (rate, heart-rate peak-to-trough, LF power, LF peak, spectral
  peaks, HR–breath phase, following the pacer, score, rank); a step that could not be assessed is
  greyed and says why ("not assessable — …"), it is never shown as a low score;
* **how the ranking was made** (the weights) and the conventions of each measure (tooltip);
* :class:`ResonancePlots`: per step the instantaneous heart rate over its scored span (one small plot
  each), and each step's score against its rate.

The words come from :mod:`somafeedback.reports.resonance` (the report page says the same). The review
window shows the view in its "Breathing rate" tab; the session report grabs :class:`ResonancePlots`.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from somafeedback.reports.resonance import (
    ABOUT_TEXT,
    HEADERS,
    ResonanceRecord,
    StepSeries,
    best_text,
    convention_rows,
    step_row,
    step_series,
    weights_text,
)
from somafeedback.resonance.result import ResonanceResult

from .live_plots import BLUE, GREEN, GREY, ORANGE
from .time_axis import MinutesSecondsAxis

RESONANCE_TAB: Final = "Breathing rate"
NOT_ASSESSABLE_COLOUR: Final = (120, 120, 120)  # the greyed rows' text
SCORE_COLUMN_MAX_PX: Final = 260  # logical px: a not-assessable step's reason wraps within this
TABLE_MAX_HEIGHT_PX: Final = 320  # logical px: beyond this the table scrolls
BAR_WIDTH_BPM: Final = 0.2  # breaths/min, each score bar (fine-tuning steps are 0.25 apart)
Beats = tuple[np.ndarray, np.ndarray, np.ndarray]  # (t_s, rr_ms, flagged), on the steps' time axis minus shift_s


class ResonancePlots(pg.GraphicsLayoutWidget):
    """Per step the heart rate over its scored span (top row), and each step's score against its rate."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.step_plots: list[pg.PlotItem] = []
        self.score_plot: pg.PlotItem | None = None

    def set_record(self, record: ResonanceRecord) -> None:
        """Draw ``record``'s steps (clears what was drawn)."""
        self.clear()
        self.step_plots = []
        result = record.result
        if result is None:
            return
        by_index = {s.index: s for s in record.series}
        steps = result.steps
        for col, step in enumerate(steps):
            title = f"{step.rate_bpm:g}/min" + ("" if step.assessable else " (not assessable)")
            plot = self.addPlot(row=0, col=col, title=title, axisItems={"bottom": MinutesSecondsAxis("bottom")})
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.setLabel("left", "HR (bpm)" if col == 0 else "")
            series = by_index.get(step.index)
            if series is not None and len(series.t_s):
                pen = pg.mkPen(BLUE if step.assessable else GREY, width=1.5)
                plot.plot(series.t_s, series.hr_bpm, pen=pen)
                plot.setXRange(series.t0_s, series.t1_s, padding=0.02)
            self.step_plots.append(plot)
        if steps:
            self.score_plot = self.addPlot(row=1, col=0, colspan=max(1, len(steps)),
                                           title="Score (0–1) of each step against its breathing rate")
            self._draw_scores(result)

    def _draw_scores(self, result: ResonanceResult) -> None:
        plot = self.score_plot
        assert plot is not None
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setLabel("bottom", "breaths/min")
        plot.setYRange(0.0, 1.05, padding=0)
        scored = [s for s in result.steps if s.assessable and math.isfinite(s.score)]
        if scored:
            colours = [ORANGE if s.rank == 1 else GREEN for s in scored]
            plot.addItem(pg.BarGraphItem(x=[s.rate_bpm for s in scored], height=[s.score for s in scored], width=BAR_WIDTH_BPM,
                                         brushes=[pg.mkBrush(*c) for c in colours], pen=pg.mkPen(None)))
        for step in result.steps:
            if not step.assessable:  # marked at its rate, never drawn as a low bar
                label = pg.TextItem("n/a", color=NOT_ASSESSABLE_COLOUR, anchor=(0.5, 1.0))
                label.setPos(step.rate_bpm, 0.12)
                plot.addItem(label)
        rates = [s.rate_bpm for s in result.steps]
        plot.setXRange(min(rates) - 0.4, max(rates) + 0.4, padding=0)

    def curves_shown(self) -> int:
        """How many step plots hold a heart-rate curve (for tests and the report)."""
        return sum(1 for plot in self.step_plots if plot.listDataItems())


class ResonanceResultsView(QtWidgets.QWidget):
    """One assessment's result: the best rates in words, the table, the weights and the plots."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        self.best_label = QtWidgets.QLabel()
        self.best_label.setWordWrap(True)
        self.best_label.setStyleSheet("font-size: 13pt; padding: 4px;")
        self.best_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.best_label)
        self.notice = QtWidgets.QLabel()  # the recording ended early, or the result could not be read
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #8a4b00;")
        self.notice.setVisible(False)
        layout.addWidget(self.notice)
        self.table = QtWidgets.QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setToolTip("\n".join(f"{name}: {how}" for name, how in convention_rows()))
        layout.addWidget(self.table)
        self.weights_label = QtWidgets.QLabel()
        self.weights_label.setWordWrap(True)
        self.weights_label.setStyleSheet("color: #555;")
        self.weights_label.setToolTip(ABOUT_TEXT)
        layout.addWidget(self.weights_label)
        self.plots = ResonancePlots()
        self.plots.setMinimumHeight(300)
        layout.addWidget(self.plots, 1)

    def show_result(self, result: ResonanceResult, beats: Beats | None = None, shift_s: float = 0.0) -> None:
        """Show ``result``; ``beats`` (t_s, rr_ms, flagged) give each step's heart-rate plot (none: no curves)."""
        series: Sequence[StepSeries] = () if beats is None else step_series(result.steps, *beats, shift_s=shift_s)
        self.show_record(ResonanceRecord(result, tuple(series)))

    def show_record(self, record: ResonanceRecord) -> None:
        """Show a recorded assessment (:func:`somafeedback.reports.resonance.session_resonance`)."""
        self.best_label.setText(best_text(record))
        notice = " ".join(t for t in (record.problem, record.unfinished) if t)
        self.notice.setText(notice)
        self.notice.setVisible(bool(notice))
        result = record.result
        steps = result.steps if result is not None else ()
        self.table.setRowCount(len(steps))
        grey = QtGui.QBrush(QtGui.QColor(*NOT_ASSESSABLE_COLOUR))
        for row, step in enumerate(steps):
            for col, text in enumerate(step_row(step)):
                item = QtWidgets.QTableWidgetItem(text)
                if not step.assessable:
                    item.setForeground(grey)
                    item.setToolTip(f"Not assessable: {step.reason}")
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        score_col = HEADERS.index("Score")
        self.table.setColumnWidth(score_col, min(self.table.columnWidth(score_col), SCORE_COLUMN_MAX_PX))
        self.table.setWordWrap(True)
        self.table.resizeRowsToContents()
        height = (self.table.horizontalHeader().height() + 2 * self.table.frameWidth()
                  + sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
                  + self.table.horizontalScrollBar().sizeHint().height() + 4)
        self.table.setFixedHeight(min(height, TABLE_MAX_HEIGHT_PX))  # every step in view (a long run scrolls)
        self.weights_label.setText(weights_text(result) if result is not None and record.ranked else "")
        self.plots.set_record(record)

    def row_texts(self) -> list[list[str]]:
        """The table's cells as shown (for tests)."""
        return [[item.text() if (item := self.table.item(r, c)) is not None else ""
                 for c in range(self.table.columnCount())] for r in range(self.table.rowCount())]


__all__ = ["RESONANCE_TAB", "ResonancePlots", "ResonanceResultsView"]
