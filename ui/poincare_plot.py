"""The Poincaré plot of segments A and B: each RR interval against the next, with SD1 and SD2 stated.

Points are the adjacent pairs of accepted beats of a stretch (``SegmentStats.poincare``);
the dashed line is the identity (RR_n+1 = RR_n). SD1 is the spread across that line
(beat-to-beat variation), SD2 the spread along it (longer-term variation), both in ms, as
measured; the title states them for each segment.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from somafeedback.sessions.segments import SegmentStats

from .review_plots import SEGMENT_COLOURS

SYMBOLS: Final = {"A": "o", "B": "t"}  # shape as well as colour tells the segments apart


def sd_text(name: str, stats: SegmentStats | None) -> str:
    """``A: SD1 12.3 ms · SD2 45.6 ms`` (or why there are none)."""
    if stats is None:
        return f"{name}: no segment"
    if stats.sd1_ms is None or stats.sd2_ms is None:
        return f"{name}: too few beat pairs for SD1/SD2"
    return f"{name}: SD1 {stats.sd1_ms:.1f} ms · SD2 {stats.sd2_ms:.1f} ms"


class PoincarePlot(pg.PlotWidget):
    """RR_n (x) against RR_n+1 (y), ms, for segment A and segment B."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent=parent, background="w")
        plot = self.getPlotItem()
        plot.setLabel("bottom", "RR interval n (ms)")
        plot.setLabel("left", "RR interval n+1 (ms)")
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setAspectLocked(True)
        plot.addLegend(offset=(5, 5))
        dashed = pg.mkPen((120, 120, 120), style=QtCore.Qt.PenStyle.DashLine)
        self.identity = pg.InfiniteLine(pos=(0, 0), angle=45, pen=dashed)  # RR_n+1 = RR_n
        plot.addItem(self.identity, ignoreBounds=True)
        self.scatters: dict[str, pg.ScatterPlotItem] = {}
        for name, colour in SEGMENT_COLOURS.items():
            scatter = pg.ScatterPlotItem(size=5, symbol=SYMBOLS[name], pen=None, brush=pg.mkBrush(*colour, 150),
                                         name=f"segment {name}")
            plot.addItem(scatter)
            self.scatters[name] = scatter
        self.stats: dict[str, SegmentStats | None] = {"A": None, "B": None}
        self._title()

    def set_stats(self, name: str, stats: SegmentStats | None) -> None:
        """Show segment ``name``'s pairs (None: none)."""
        self.stats[name] = stats
        if stats is None:
            self.scatters[name].setData(x=[], y=[])
        else:
            first, second = stats.poincare
            self.scatters[name].setData(x=np.asarray(first), y=np.asarray(second))
        self._title()
        self.getPlotItem().enableAutoRange()

    def title_text(self) -> str:
        return "Poincaré — " + " | ".join(sd_text(name, self.stats[name]) for name in ("A", "B"))

    def _title(self) -> None:
        self.getPlotItem().setTitle(self.title_text().replace(" — ", "<br>").replace(" | ", "<br>"), size="9pt")
