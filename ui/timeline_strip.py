"""The timeline strip: a whole session's states and events along time, in one row of marks.

The state ribbon (colour *and* height: the higher the bar, the more activated, so colour is
never the only cue), gaps (grey), markers (▼), cues (◆), notes (■), review notes (★) and a
position line. The review window shows it above its plots (a click asks to go there) and the
session report draws it as its timeline figure; both use :data:`STATE_STYLE` for the states'
colours and legend.

Thread: the Qt GUI thread (like every widget).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from .live_plots import BLUE, GREEN, GREY, ORANGE, SKY
from .time_axis import MinutesSecondsAxis, clock_text

YELLOW = (240, 228, 66)
PURPLE = (204, 121, 167)
VERMILLION = (213, 94, 0)
# state -> (colour, ribbon height): the height says how activated, so colour is never the only cue
STATE_STYLE: dict[str, tuple[tuple[int, int, int], float]] = {
    "above band": (ORANGE, 1.0),
    "rising": (YELLOW, 0.8),
    "settling": (GREEN, 0.8),
    "in band": (SKY, 0.6),
    "calibrating": (GREY, 0.45),
    "quiet drop — check in?": (PURPLE, 0.3),
    "low signal": ((215, 215, 215), 0.2),  # recordings made before "signal lost" / "re-checking"
    "signal lost": ((215, 215, 215), 0.2),
    "re-checking": ((225, 225, 225), 0.2),
    "moving": ((200, 200, 230), 0.25),
    "paused": ((235, 235, 235), 0.2),
}
OTHER_STATE = ((190, 190, 190), 0.4)
RIBBON_TOP = 1.0  # strip y units: the tallest ribbon bar (the mark rows sit above it)
# event kind on the strip -> (row height in strip y units, symbol, colour)
STRIP_ROWS: dict[str, tuple[float, str, tuple[int, int, int]]] = {
    "marker": (2.55, "t", ORANGE),
    "cue": (2.05, "d", GREEN),
    "note": (1.55, "s", BLUE),
    "review": (1.55, "star", VERMILLION),
}
STRIP_TOP = 2.9  # strip y units: the top of the strip


class TimelineStrip(pg.PlotWidget):
    """The session's events along time (the stretch the whole-session plots show); a click asks ``on_seek(seconds)``."""

    def __init__(self, duration_s: float, on_seek: Callable[[float], None],
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent=parent, background="w", axisItems={"bottom": MinutesSecondsAxis("bottom")})
        self.duration_s = max(duration_s, 1.0)
        self.on_seek = on_seek
        plot = self.getPlotItem()
        plot.hideAxis("left")
        plot.setMouseEnabled(x=False, y=False)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setXRange(0.0, self.duration_s, padding=0.01)
        plot.setYRange(0.0, STRIP_TOP, padding=0.02)
        self.setFixedHeight(120)
        self.setToolTip("The whole session: states (height = how activated), gaps (grey), markers ▼, cues ◆, "
                        "notes ■, review notes ★. Click to go there.")
        self._ribbon: pg.BarGraphItem | None = None
        self._gaps: pg.BarGraphItem | None = None
        self._marks: dict[str, pg.ScatterPlotItem] = {}
        for kind, (_, symbol, colour) in STRIP_ROWS.items():
            marks = pg.ScatterPlotItem(size=11 if kind != "review" else 14, symbol=symbol, pen=pg.mkPen(colour),
                                       brush=pg.mkBrush(*colour), hoverable=True, tip=self._tip)
            self._marks[kind] = marks
            self.addItem(marks)
        self.position = pg.InfiniteLine(0.0, angle=90, pen=pg.mkPen((0, 0, 0), width=2))
        self.position.setZValue(10)
        self.addItem(self.position)
        self.states: list[tuple[float, float, str]] = []
        self.gaps: list[tuple[float, float]] = []
        self.marks: dict[str, list[tuple[float, str]]] = {kind: [] for kind in STRIP_ROWS}
        self.scene().sigMouseClicked.connect(self._clicked)

    @staticmethod
    def _tip(x: float, y: float, data: Any) -> str:
        return f"{clock_text(x)}  {data}"

    def set_states(self, states: list[tuple[float, float, str]]) -> None:
        """The ribbon: (from s, to s, state) stretches."""
        self.states = states
        if self._ribbon is not None:
            self.removeItem(self._ribbon)
            self._ribbon = None
        if not states:
            return
        styles = [STATE_STYLE.get(state, OTHER_STATE) for _, _, state in states]
        self._ribbon = pg.BarGraphItem(
            x0=np.array([a for a, _, _ in states]), width=np.array([max(b - a, 0.0) for a, b, _ in states]),
            y0=np.zeros(len(states)), height=np.array([h * RIBBON_TOP for _, h in styles]),
            brushes=[pg.mkBrush(*colour) for colour, _ in styles], pens=[pg.mkPen(None)] * len(states))
        self._ribbon.setZValue(-5)
        self.addItem(self._ribbon)

    def set_gaps(self, gaps: list[tuple[float, float]]) -> None:
        self.gaps = gaps
        if self._gaps is not None:
            self.removeItem(self._gaps)
            self._gaps = None
        if not gaps:
            return
        self._gaps = pg.BarGraphItem(
            x0=np.array([a for a, _ in gaps]), width=np.array([max(b - a, self.duration_s / 400) for a, b in gaps]),
            y0=np.zeros(len(gaps)), height=np.full(len(gaps), STRIP_TOP),
            brush=pg.mkBrush(120, 120, 120, 110), pen=pg.mkPen(None))
        self._gaps.setZValue(-3)
        self.addItem(self._gaps)

    def set_marks(self, marks: dict[str, list[tuple[float, str]]]) -> None:
        """Point events per kind (marker, cue, note, review): (seconds, text)."""
        self.marks = {kind: list(marks.get(kind, [])) for kind in STRIP_ROWS}
        for kind, points in self.marks.items():
            y = STRIP_ROWS[kind][0]
            self._marks[kind].setData(x=[t for t, _ in points], y=[y] * len(points), data=[text for _, text in points])

    def set_position(self, t_s: float) -> None:
        self.position.setValue(t_s)

    def x_of_view(self, t_s: float) -> QtCore.QPoint:
        """The widget pixel of session time ``t_s`` (the middle of the strip)."""
        scene = self.getPlotItem().vb.mapViewToScene(QtCore.QPointF(t_s, STRIP_TOP / 2))
        return self.mapFromScene(scene)

    def _clicked(self, event: Any) -> None:
        if event.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        vb = self.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        t_s = vb.mapSceneToView(event.scenePos()).x()
        event.accept()
        self.on_seek(min(max(t_s, 0.0), self.duration_s))


__all__ = ["OTHER_STATE", "RIBBON_TOP", "STATE_STYLE", "STRIP_ROWS", "STRIP_TOP", "TimelineStrip"]
