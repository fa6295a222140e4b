"""The practitioner's live plots: the client's band, tachogram, RMSSD, breathing, coherence.

Data arrive in batches from the engine (drained by the window's frame timer); each plot
keeps growable numpy buffers and redraws once per frame at most, only when something
changed. The x axis is session time, linked across plots, showing the last ``span_s``.

Colours are colour-blind-safe (Okabe-Ito); state is shown by position and shape, never by
red/green alone.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from somafeedback.pipeline import BeatMetrics

BLUE = (0, 114, 178)
ORANGE = (230, 159, 0)
SKY = (86, 180, 233)
GREY = (150, 150, 150)
GREEN = (0, 158, 115)
BAND_FILL = (86, 180, 233, 45)


class Series:
    """A growable (x, y) buffer; ``dirty`` until drawn."""

    def __init__(self) -> None:
        self.x = np.empty(1024)
        self.y = np.empty(1024)
        self.n = 0
        self.dirty = False

    def append(self, x: float, y: float) -> None:
        if self.n == len(self.x):
            self.x = np.concatenate([self.x, np.empty(len(self.x))])
            self.y = np.concatenate([self.y, np.empty(len(self.y))])
        self.x[self.n], self.y[self.n] = x, y
        self.n += 1
        self.dirty = True

    def break_line(self, x: float) -> None:
        """End the current stretch: nothing is drawn between it and the next point."""
        if self.n and not np.isnan(self.y[self.n - 1]):
            self.append(x, float("nan"))

    def view(self, since: float) -> tuple[np.ndarray, np.ndarray]:
        start = int(np.searchsorted(self.x[:self.n], since))
        return self.x[start:self.n], self.y[start:self.n]


class LivePlots(pg.GraphicsLayoutWidget):
    """Five linked plots over the last ``span_s`` seconds of session time."""

    def __init__(self, span_s: float = 600.0, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent=parent)
        self.span_s = span_s
        self.setBackground("w")
        self.band = self.addPlot(row=0, col=0, title="Heart rate and the client's usual range (bpm)")
        self.tachogram = self.addPlot(row=1, col=0, title="Beat-to-beat intervals (ms); flagged beats ×")
        self.rmssd = self.addPlot(row=2, col=0, title="RMSSD, 60 s window (ms); grey = not valid")
        self.breathing = self.addPlot(row=3, col=0, title="Breathing rate estimate (breaths/min)")
        self.coherence = self.addPlot(row=4, col=0, title="Coherence ratio (McCraty), 64 s")
        for plot in (self.tachogram, self.rmssd, self.breathing, self.coherence):
            plot.setXLink(self.band)
        for plot in (self.band, self.tachogram, self.rmssd, self.breathing, self.coherence):
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
        self.coherence.setLabel("bottom", "session time", units="s")
        for plot in (self.band, self.tachogram, self.rmssd, self.breathing):
            plot.getAxis("bottom").setStyle(showValues=False)  # one set of time labels, at the bottom
        self._x_start = -1.0
        self._rsa_at = -1.0
        pen = lambda color, width=1.5: pg.mkPen(color=color, width=width)  # noqa: E731
        self.hr = Series()
        self.rr = Series()
        self.flagged = Series()
        self.rmssd_valid = Series()
        self.rmssd_invalid = Series()
        self.breath = Series()
        self.coh = Series()
        self._hr_curve = self.band.plot(pen=pen(BLUE), connect="finite")
        self._rr_curve = self.tachogram.plot(pen=pen(BLUE, 1.0), connect="finite")
        self._flag_dots = self.tachogram.plot(pen=None, symbol="x", symbolSize=9, symbolPen=pen(ORANGE, 2), symbolBrush=None)
        self._rmssd_curve = self.rmssd.plot(pen=pen(BLUE, 2.5), connect="finite")
        self._rmssd_grey = self.rmssd.plot(pen=pen(GREY, 2.5), connect="finite")
        self._breath_curve = self.breathing.plot(pen=pen(GREEN), connect="finite")
        self._coh_curve = self.coherence.plot(pen=pen(ORANGE), connect="finite")
        self._band_top = pg.InfiniteLine(angle=0, pen=pg.mkPen(SKY, style=QtCore.Qt.PenStyle.DashLine))
        self._band_low = pg.InfiniteLine(angle=0, pen=pg.mkPen(SKY, style=QtCore.Qt.PenStyle.DashLine))
        self._above = pg.InfiniteLine(angle=0, pen=pg.mkPen(ORANGE, style=QtCore.Qt.PenStyle.DotLine))
        self._band_region = pg.LinearRegionItem(orientation="horizontal", brush=pg.mkBrush(*BAND_FILL), movable=False)
        self._band_region.setZValue(-10)
        for item in (self._band_region, self._band_top, self._band_low, self._above):
            item.setVisible(False)
            self.band.addItem(item)
        for curve in (self._hr_curve, self._rr_curve, self._breath_curve, self._coh_curve):
            curve.setClipToView(True)
            curve.setDownsampling(auto=True, method="peak")
        # y ranges change with hysteresis (see _fit_y): re-laying out an axis on every beat is what costs
        self._y_series = {self.band: (self.hr,), self.tachogram: (self.rr, self.flagged),
                          self.rmssd: (self.rmssd_valid, self.rmssd_invalid), self.breathing: (self.breath,),
                          self.coherence: (self.coh,)}
        for plot in self._y_series:
            plot.enableAutoRange(y=False)
        self.now_s = 0.0

    # -- data in ---------------------------------------------------------------------------
    def add_metrics(self, m: BeatMetrics) -> None:
        """One beat's metric set (the beat itself included)."""
        self.now_s = max(self.now_s, m.t_s)
        if m.rr_ms is None:  # a gap: no line may bridge it
            for series in (self.hr, self.rr, self.breath, self.coh):
                series.break_line(m.t_s)
            return
        (self.flagged if m.flagged else self.rr).append(m.t_s, m.rr_ms)
        if m.time.hr_valid and m.time.hr_bpm is not None:
            self.hr.append(m.t_s, m.time.hr_bpm)
        else:
            self.hr.break_line(m.t_s)
        if m.time.rmssd_ms is not None:
            shown, other = (self.rmssd_valid, self.rmssd_invalid) if m.time.validity.valid else (self.rmssd_invalid, self.rmssd_valid)
            shown.append(m.t_s, m.time.rmssd_ms)
            other.break_line(m.t_s)
        b = m.breathing
        if b is not None and b.computed_at_s != self._rsa_at:
            self._rsa_at = b.computed_at_s
            rsa = f"{b.rsa_p2t_ms:.0f} ms" if b.validity.valid and b.rsa_p2t_ms is not None else "--"
            self.breathing.setTitle(f"Breathing rate estimate (breaths/min); RSA peak-to-trough {rsa} (64 s)")
        for series, measure, value in ((self.breath, m.breathing, m.breathing and m.breathing.rate_bpm),
                                       (self.coh, m.coherence, m.coherence and m.coherence.ratio)):
            if measure is None or (series.n and measure.computed_at_s <= series.x[series.n - 1]):
                continue  # not recomputed since the last point
            if measure.validity.valid and value is not None:
                series.append(measure.computed_at_s, value)
            else:
                series.break_line(measure.computed_at_s)

    def set_band(self, hr_ref: float, band_top: float, above: float) -> None:
        """The client's usual range (from the baseline) and the above-band line."""
        low = hr_ref - (band_top - hr_ref)
        self._band_region.setRegion((low, band_top))
        self._band_top.setValue(band_top)
        self._band_low.setValue(low)
        self._above.setValue(above)
        for item in (self._band_region, self._band_top, self._band_low, self._above):
            item.setVisible(True)

    # -- drawing (once per frame) --------------------------------------------------------------
    def redraw(self) -> None:
        since = self.now_s - self.span_s
        for series, curve in ((self.hr, self._hr_curve), (self.rr, self._rr_curve), (self.flagged, self._flag_dots),
                              (self.rmssd_valid, self._rmssd_curve), (self.rmssd_invalid, self._rmssd_grey),
                              (self.breath, self._breath_curve), (self.coh, self._coh_curve)):
            if series.dirty:
                curve.setData(*series.view(since))
                series.dirty = False
        for plot, series_list in self._y_series.items():
            self._fit_y(plot, series_list, since)
        start = max(0.0, since)
        if abs(start - self._x_start) >= self.span_s / 1000:  # scroll only when it shows (about a pixel)
            self._x_start = start
            self.band.setXRange(start, start + self.span_s, padding=0)

    def _fit_y(self, plot: pg.PlotItem, series_list: tuple[Series, ...], since: float) -> None:
        """Refit the y range only when the data leave it, or fill less than half of it."""
        values = [v for series in series_list for v in (series.view(since)[1],) if v.size]
        if not values:
            return
        data = np.concatenate(values)
        data = data[np.isfinite(data)]
        if not data.size:
            return
        low, high = float(data.min()), float(data.max())
        (view_low, view_high) = plot.viewRange()[1]
        span = max(high - low, 1e-6)
        if low < view_low or high > view_high or span < 0.5 * (view_high - view_low):
            pad = 0.1 * span + 1e-3
            plot.setYRange(low - pad, high + pad, padding=0)
