"""The whole session at once: heart rate, RMSSD and breathing rate over the entire recording.

Computed once from the recorded beats (:func:`somafeedback.sessions.segments.session_trends`), never
cleared by a seek. The three plots share their time axis (``m:ss``); the mouse wheel zooms and
a drag pans along time (y follows the data); :meth:`SessionPlots.show_whole` goes back to the
whole session. A vertical cursor line in every plot marks the replay position; a click on a
plot asks ``on_seek(seconds)``. Segments A and B are :class:`pyqtgraph.LinearRegionItem`\\ s
on the heart-rate plot, dragged by their edges or moved as a whole; dashed named lines mark
where the session's phases start.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from somafeedback.sessions.segments import Segment, SessionTrends

from .time_axis import MinutesSecondsAxis

BLUE: Final = (0, 114, 178)
ORANGE: Final = (230, 159, 0)
GREEN: Final = (0, 158, 115)
GREY: Final = (150, 150, 150)
SEGMENT_COLOURS: Final = {"A": (0, 114, 178), "B": (230, 159, 0)}  # Okabe-Ito blue / orange
LEFT_AXIS_PX: Final = 48  # every plot's y axis, so the linked time axes line up
MIN_Y_SPAN: Final = {"hr": 10.0, "rmssd": 10.0, "breath": 4.0}


class SessionPlots(pg.GraphicsLayoutWidget):
    """HR, RMSSD and breathing over the whole session, a cursor, zoom/pan, and the segment regions."""

    def __init__(self, trends: SessionTrends, duration_s: float, on_seek: Callable[[float], None],
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.setBackground("w")
        self.trends = trends
        self.duration_s = max(float(duration_s), 1.0)
        self.on_seek = on_seek
        window = f"{trends.window_s:.0f} s"
        self.hr_plot = self._plot(0, "Heart rate (bpm)", "hr")
        self.rmssd_plot = self._plot(1, f"RMSSD, last {window} (ms)", "rmssd")
        self.breath_plot = self._plot(2, f"Breathing rate from RR, last {window} (/min)", "breath")
        self.plots: tuple[pg.PlotItem, ...] = (self.hr_plot, self.rmssd_plot, self.breath_plot)
        for plot in self.plots[1:]:
            plot.setXLink(self.hr_plot)
        self.hr_curve = self.hr_plot.plot(trends.t_s, trends.hr_bpm, pen=pg.mkPen(BLUE, width=1.5), connect="finite")
        self.rmssd_curve = self.rmssd_plot.plot(trends.t_s, trends.rmssd_ms, pen=pg.mkPen(GREEN, width=1.5),
                                                connect="finite")
        self.breath_curve = self.breath_plot.plot(trends.breath_t_s, trends.breath_bpm, pen=pg.mkPen(ORANGE, width=1.5),
                                                  symbol="o", symbolSize=4, symbolBrush=ORANGE, symbolPen=None,
                                                  connect="finite")
        self._fit_y()
        self.cursors: list[pg.InfiniteLine] = []
        for plot in self.plots:
            line = pg.InfiniteLine(0.0, angle=90, pen=pg.mkPen((0, 0, 0), width=2))
            line.setZValue(20)
            plot.addItem(line, ignoreBounds=True)
            self.cursors.append(line)
        self.regions: dict[str, pg.LinearRegionItem] = {}
        self.phase_lines: list[pg.InfiniteLine] = []
        self.show_whole()
        self.setToolTip("The whole session. Wheel: zoom in time · drag: move along · click: go there (and pause) · "
                        "drag a segment's edges to choose it")
        self.scene().sigMouseClicked.connect(self._clicked)

    def _plot(self, row: int, title: str, key: str) -> pg.PlotItem:
        plot = self.addPlot(row=row, col=0, axisItems={"bottom": MinutesSecondsAxis("bottom")})
        plot.setTitle(title, size="9pt")
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.getAxis("left").setWidth(LEFT_AXIS_PX)
        plot.setMouseEnabled(x=True, y=False)  # zoom and pan along time only
        plot.setMenuEnabled(False)
        plot.hideButtons()
        pad = 0.02 * self.duration_s
        plot.setLimits(xMin=-pad, xMax=self.duration_s + pad, minXRange=5.0)
        plot.min_y_span = MIN_Y_SPAN[key]
        return plot

    def _fit_y(self) -> None:
        """Each y range from its data, at least the plot's minimum span (flat data is not blown up)."""
        for plot, y in ((self.hr_plot, self.trends.hr_bpm), (self.rmssd_plot, self.trends.rmssd_ms),
                        (self.breath_plot, self.trends.breath_bpm)):
            finite = y[np.isfinite(y)] if len(y) else y
            if not len(finite):
                plot.setYRange(0.0, plot.min_y_span, padding=0.05)
                continue
            low, high = float(np.percentile(finite, 0.5)), float(np.percentile(finite, 99.5))
            middle, span = (low + high) / 2, max(high - low, plot.min_y_span)
            plot.setYRange(middle - span / 2, middle + span / 2, padding=0.08)

    # -- the view -----------------------------------------------------------------------------
    @property
    def view(self) -> pg.ViewBox:
        """The heart-rate plot's view box (the others and the timeline strip follow its x range)."""
        return self.hr_plot.getViewBox()

    def show_whole(self) -> None:
        """Zoom out to the whole session."""
        self.hr_plot.setXRange(0.0, self.duration_s, padding=0.01)

    def x_range(self) -> tuple[float, float]:
        low, high = self.view.viewRange()[0]
        return float(low), float(high)

    def set_cursor(self, t_s: float) -> None:
        for line in self.cursors:
            if line.value() != t_s:
                line.setValue(t_s)

    def cursor_s(self) -> float:
        return float(self.cursors[0].value())

    def drawn(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """What each curve draws (x, y): "hr", "rmssd", "breath"."""
        curves = {"hr": self.hr_curve, "rmssd": self.rmssd_curve, "breath": self.breath_curve}
        return {key: (np.asarray(curve.getData()[0]), np.asarray(curve.getData()[1])) for key, curve in curves.items()}

    def pixel_of(self, t_s: float, plot: pg.PlotItem | None = None) -> QtCore.QPoint:
        """The widget (viewport) pixel of session time ``t_s``, halfway up ``plot`` (default: heart rate)."""
        vb = (plot or self.hr_plot).getViewBox()
        (_, _), (y0, y1) = vb.viewRange()
        scene = vb.mapViewToScene(QtCore.QPointF(t_s, (y0 + y1) / 2))
        return self.mapFromScene(scene)

    def set_phases(self, phases: list[Segment]) -> None:
        """A dashed, named line at the start of each phase (baseline / practice / recovery) on the heart-rate plot."""
        for line in self.phase_lines:
            self.hr_plot.removeItem(line)
        self.phase_lines = []
        for phase in phases:
            line = pg.InfiniteLine(phase.start_s, angle=90, movable=False,
                                   pen=pg.mkPen((90, 90, 90), width=1, style=QtCore.Qt.PenStyle.DashLine),
                                   label=phase.label, labelOpts={"position": 0.08, "color": (90, 90, 90)})
            line.setZValue(5)
            self.hr_plot.addItem(line, ignoreBounds=True)
            self.phase_lines.append(line)

    # -- segments ------------------------------------------------------------------------------
    def region(self, name: str, start_s: float, end_s: float,
               on_change: Callable[[str], None] | None = None) -> pg.LinearRegionItem:
        """Segment ``name`` ("A" / "B") on the heart-rate plot, made if needed and moved to [start, end]."""
        region = self.regions.get(name)
        if region is None:
            colour = SEGMENT_COLOURS.get(name, GREY)
            region = pg.LinearRegionItem((start_s, end_s), brush=pg.mkBrush(*colour, 45),
                                         pen=pg.mkPen(colour, width=2), hoverBrush=pg.mkBrush(*colour, 70),
                                         bounds=(0.0, self.duration_s), swapMode="sort")
            region.setZValue(10)
            label = pg.InfLineLabel(region.lines[0], name, position=0.92, anchors=[(0, 0), (0, 0)],
                                    color=colour)
            region.name_label = label
            if on_change is not None:
                region.sigRegionChangeFinished.connect(lambda *_: on_change(name))
            self.hr_plot.addItem(region, ignoreBounds=True)
            self.regions[name] = region
        else:
            region.setRegion((start_s, end_s))
        return region

    def segment_bounds(self, name: str) -> tuple[float, float] | None:
        region = self.regions.get(name)
        if region is None:
            return None
        low, high = region.getRegion()
        return float(low), float(high)

    # -- mouse -----------------------------------------------------------------------------------
    def _clicked(self, event: Any) -> None:
        if event.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        for plot in self.plots:
            vb = plot.getViewBox()
            if vb.sceneBoundingRect().contains(event.scenePos()):
                t_s = vb.mapSceneToView(event.scenePos()).x()
                event.accept()
                self.on_seek(min(max(float(t_s), 0.0), self.duration_s))
                return
