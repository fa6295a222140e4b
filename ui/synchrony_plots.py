"""Synchrony windows drawn on two plots: the signed peak r per window, and its lag.

Shared by the live co-regulation panel (:mod:`.coregulation_panel`) and the review's and report's
relationship timeline (:mod:`.relationship_timeline`). Each window is a bar at its centre
(session seconds): up for in phase (blue), down for anti-phase (orange); a window that stands out
from chance is drawn solid with a dark outline and a ★ over it, one within chance pale (shape and
fill, never colour alone); a confounded window is hatched with a grey outline, its confounds named on hover
(every window's words show on hover: :func:`~somafeedback.synchrony.pair_window.describe`). The lag
plot has one point per window (filled when it stands out). Colours are Okabe-Ito, with no
red/green and no score.

Windows come as rows (``SyncWindow.row()`` / ``analyse_dyad``'s ``windows``); :meth:`SynchronyPlots.set_windows`
redraws once (the caller's frame timer decides when).

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from somafeedback.synchrony.pair_window import describe
from somafeedback.synchrony.windows import SyncWindow

from .live_plots import BLUE, GREY, ORANGE
from .time_axis import clock_text

IN_PHASE: Final = BLUE
ANTI_PHASE: Final = ORANGE
PALE_ALPHA: Final = 70  # within chance (or not judged yet): a pale bar
OUTLINE: Final = (40, 40, 40)  # the outline of a window that stands out
BAR_SHARE: Final = 0.8  # a bar's width as a share of the step between windows
STAR_OFFSET: Final = 0.08  # r units: a standing-out window's ★ sits this far past its bar's end
R_TITLE: Final = "Heart rates moving together: peak r per window (up: in phase, down: anti-phase; ★ beyond chance)"
LAG_TITLE: Final = "Lag of the peak, s (above 0: {b} after {a})"
LEGEND_HTML: Final = (f"<span style='color: rgb{IN_PHASE}'>■</span> in phase · "
                      f"<span style='color: rgb{ANTI_PHASE}'>■</span> anti-phase · ★ solid: beyond chance · "
                      "pale: within chance · hatched, grey outline: marked (pacer, movement, artifacts, clock) — hover for words")


def window_of(row: dict[str, Any]) -> SyncWindow:
    """A row back as a window (for :func:`describe`)."""
    return SyncWindow(0, float(row["start_s"]), float(row["end_s"]), row.get("r"), row.get("z"), row.get("lag_s"),
                      row.get("r_at_zero_lag"), tuple(row.get("confounds") or ()), None, None, row.get("above_chance"))


def row_text(row: dict[str, Any], a_name: str, b_name: str) -> str:
    """A window's time span and words (what hovering it shows)."""
    return (f"{clock_text(row['start_s'])}–{clock_text(row['end_s'])}  "
            f"{describe(window_of(row), a_name, b_name)}")


def _brush(row: dict[str, Any]) -> QtGui.QBrush:
    colour = IN_PHASE if (row.get("r") or 0.0) >= 0 else ANTI_PHASE
    if row.get("confounds"):  # hatched in the phase's colour (the sign stays readable), outlined in grey
        return QtGui.QBrush(QtGui.QColor(*colour), QtCore.Qt.BrushStyle.BDiagPattern)
    return pg.mkBrush(*colour, 255 if row.get("above_chance") else PALE_ALPHA)


class SynchronyPlots:
    """The r and lag plots of a list of windows; ``r_plot`` and ``lag_plot`` are placed by the caller."""

    def __init__(self, r_plot: pg.PlotItem, lag_plot: pg.PlotItem, max_lag_s: float = 5.0,
                 a_name: str = "you", b_name: str = "client") -> None:
        self.r_plot, self.lag_plot = r_plot, lag_plot
        self.a_name, self.b_name = a_name, b_name
        self.rows: list[dict[str, Any]] = []
        r_plot.setTitle(R_TITLE, size="9pt")
        r_plot.setYRange(-1.0, 1.0, padding=0.05)
        r_plot.setMouseEnabled(x=True, y=False)
        r_plot.addLine(y=0.0, pen=pg.mkPen(GREY))
        lag_plot.setYRange(-max_lag_s, max_lag_s, padding=0.05)
        lag_plot.setMouseEnabled(x=True, y=False)
        lag_plot.addLine(y=0.0, pen=pg.mkPen(GREY))
        lag_plot.setXLink(r_plot)
        self.bars = pg.BarGraphItem(x=[], height=[], width=1.0)
        r_plot.addItem(self.bars)
        self.stars = pg.ScatterPlotItem(symbol="star", size=12, pen=pg.mkPen(OUTLINE), brush=pg.mkBrush(*OUTLINE))
        r_plot.addItem(self.stars)
        # one invisible, hoverable point per window at its bar's end: the window's words as a tooltip
        self.hover = pg.ScatterPlotItem(size=16, pen=pg.mkPen(None), brush=pg.mkBrush(0, 0, 0, 1),
                                        hoverable=True, tip=lambda x, y, data: str(data))
        r_plot.addItem(self.hover)
        self.lags = pg.ScatterPlotItem(size=8)
        lag_plot.addItem(self.lags)
        self.set_names(a_name, b_name)

    def set_names(self, a_name: str, b_name: str) -> None:
        self.a_name, self.b_name = a_name, b_name
        self.lag_plot.setTitle(LAG_TITLE.format(a=a_name, b=b_name), size="9pt")

    def set_windows(self, rows: Sequence[dict[str, Any]]) -> None:
        """Draw these windows (those without a value leave a hole)."""
        self.rows = [row for row in rows if row.get("r") is not None]
        rows = self.rows
        if not rows:
            self.bars.setVisible(False)  # (pyqtgraph's bars refuse empty per-bar pens)
            for item in (self.stars, self.hover, self.lags):
                item.setData(x=[], y=[])
            return
        x = np.array([(row["start_s"] + row["end_s"]) / 2.0 for row in rows])
        r = np.array([row["r"] for row in rows], dtype=float)
        step = float(np.median(np.diff(x))) if len(x) > 1 else 5.0
        out = np.array([bool(row.get("above_chance")) for row in rows])
        pens = [pg.mkPen(OUTLINE, width=1.5) if o else pg.mkPen(GREY if row.get("confounds") else None)
                for o, row in zip(out, rows)]
        self.bars.setVisible(True)
        self.bars.setOpts(x=x, height=r, width=BAR_SHARE * step, brushes=[_brush(row) for row in rows], pens=pens)
        self.stars.setData(x=x[out], y=r[out] + np.sign(r[out]) * STAR_OFFSET)
        self.hover.setData(x=x, y=r, data=[row_text(row, self.a_name, self.b_name) for row in rows])
        self.lags.setData(x=x, y=[row["lag_s"] for row in rows],
                          brush=[pg.mkBrush(*(IN_PHASE if v >= 0 else ANTI_PHASE), 255 if o else 0) for v, o in zip(r, out)],
                          pen=[pg.mkPen(GREY if row.get("confounds") else (IN_PHASE if v >= 0 else ANTI_PHASE), width=1.5)
                               for v, row in zip(r, rows)])

    def text_at(self, t_s: float) -> str | None:
        """The words of the window whose bar is at ``t_s`` (session seconds), or None."""
        if not self.rows:
            return None
        centres = np.array([(row["start_s"] + row["end_s"]) / 2.0 for row in self.rows])
        k = int(np.argmin(np.abs(centres - t_s)))
        step = float(np.median(np.diff(centres))) if len(centres) > 1 else 5.0
        if abs(centres[k] - t_s) > step / 2:
            return None
        return row_text(self.rows[k], self.a_name, self.b_name)
