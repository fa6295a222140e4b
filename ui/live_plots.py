"""The practitioner's live plots: the client's band, tachogram, RMSSD, breathing, coherence.

Data arrive in batches from the engine (drained by the window's frame timer); each plot
keeps growable numpy buffers and redraws once per frame at most, only when something
changed. The x axis is session time in ``m:ss`` (:class:`~.time_axis.MinutesSecondsAxis`), linked
across plots, showing the last ``span_s``. Every y range keeps a minimum span
(:data:`MIN_Y_SPAN`) so flat data is not blown up to 0.1 bpm per gridline; an empty plot shows
"waiting for data" and no ticks. Beside the plots, a column of big numbers readable across a
room: the latest heart rate, RMSSD (or why it is not valid) and breathing rate.

Colours are colour-blind-safe (Okabe-Ito); state is shown by position and shape, never by
red/green alone.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from somafeedback.hrv.pipeline import BeatMetrics, BreathingMetrics, CoherenceMetrics

from .time_axis import MinutesSecondsAxis

BLUE = (0, 114, 178)
ORANGE = (230, 159, 0)
SKY = (86, 180, 233)
GREY = (150, 150, 150)
GREEN = (0, 158, 115)
BAND_FILL = (86, 180, 233, 45)
MIN_Y_SPAN: Final = {"band": 10.0, "tachogram": 100.0, "rmssd": 10.0, "breathing": 4.0,
                     "coherence": 1.0}  # smallest y span per plot (bpm, ms, ms, breaths/min, ratio)
WAITING_TEXT: Final = "waiting for data"
READOUT_PT: Final = 32  # the big numbers, pt (readable across a room)
READOUT_WIDTH_PX: Final = 200  # the column of big numbers, logical px
LEFT_AXIS_PX: Final = 48  # every plot's y axis, so the linked time axes line up
ROW_STRETCH: Final = (3, 2, 2, 2, 2)  # heart rate the tallest plot, then tachogram, RMSSD, breathing, coherence
ROW_TITLE_PX: Final = 28  # a plot's title and its margins: taken before the rows share the height
BOTTOM_AXIS_PX: Final = 40  # the shared time axis under the last plot, with its label
MARK_COLOURS: Final = {"marker": (213, 94, 0), "note": (0, 114, 178), "cue": (204, 121, 167)}  # Okabe-Ito
MARK_LABEL_HEIGHTS: Final = (0.92, 0.72, 0.52)  # where successive marks' labels sit (share of the plot's height)
MARK_LABEL_CHARS: Final = 22  # a mark's label on the plot is cut to this (the log has the whole text)
VALID_TEXT = "#1a1a1a"
INVALID_TEXT = "#969696"


class EmptyNote:
    """An empty plot shows "waiting for data" and no y ticks, not pyqtgraph's 0-1 placeholder ticks.

    Thread: the Qt GUI thread.
    """

    def __init__(self, plot: pg.PlotItem, text: str = WAITING_TEXT) -> None:
        self.plot = plot
        self.label = pg.TextItem(text, color=GREY, anchor=(0.5, 0.5))
        self.label.setParentItem(plot.getViewBox())  # in the view box's pixels: centred whatever the data range
        plot.getViewBox().sigResized.connect(self._centre)
        self.empty: bool | None = None
        self.set(True)

    def _centre(self, *_: object) -> None:
        self.label.setPos(self.plot.getViewBox().rect().center())

    def set(self, empty: bool) -> None:
        """Show the note and hide the y ticks (and grid) while ``empty``; cheap when unchanged."""
        if empty == self.empty:
            return
        self.empty = empty
        self.label.setVisible(empty)
        self.plot.getAxis("left").setTicks([] if empty else None)
        self._centre()


def readout_html(caption: str, value: str, unit: str, status: str, valid: bool) -> str:
    """One big number: a small caption, the value at :data:`READOUT_PT`, a small status line (greyed when not valid)."""
    colour = VALID_TEXT if valid else INVALID_TEXT
    unit_html = f"<span style='font-size:14pt'> {unit}</span>" if unit else ""
    return (f"<div style='color:{colour}'><span style='font-size:13pt'>{caption}</span><br>"
            f"<span style='font-size:{READOUT_PT}pt; font-weight:bold'>{value}</span>{unit_html}<br>"
            f"<span style='font-size:11pt'>{status}</span></div>")


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


# The coherence plot carries its caveat on screen (issue #14): short with the title, longer as a tooltip.
COHERENCE_TITLE: Final = "Coherence ratio (McCraty), 64 s"
COHERENCE_CAVEAT: Final = "a breathing-pattern measure, not a measure of calm or of emotional state"
COHERENCE_TITLE_HTML: Final = f"{COHERENCE_TITLE} <span style='color:#555555; font-size:8pt'>· {COHERENCE_CAVEAT}</span>"
COHERENCE_TOOLTIP: Final = ("Coherence ratio: how much of the heart-rate rhythm sits in one slow peak (0.04–0.26 Hz), "
                            "over the last 64 s. It rises with slow, even breathing; it is a breathing-pattern "
                            "measure, not a measure of calm, relaxation or of emotional state.")


class LivePlots(pg.GraphicsLayoutWidget):
    """Five linked plots over the last ``span_s`` seconds of session time, and the big numbers.

    ``readout``: show the column of big current values (the live and replay windows; a report
    of a finished session may leave it out). ``empty_text``: what an empty plot says.
    """

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 - Qt API
        """Share the height by :data:`ROW_STRETCH` (the heart-rate plot the tallest), whatever the titles and labels need.

        pyqtgraph's row stretch only shares the space left over after each row's own preferred
        height, which made the heart-rate plot no taller than the others; a minimum per row and a
        maximum for the others fix the shares (the last row's share includes the time axis).
        """
        super().resizeEvent(event)
        if getattr(self, "closed", True) or not hasattr(self, "ci"):  # not built yet, or closed (its layout is gone)
            return
        usable = max(0, self.height() - BOTTOM_AXIS_PX)
        free = max(0, usable - len(ROW_STRETCH) * ROW_TITLE_PX)  # what the plots' areas share
        for row, stretch in enumerate(ROW_STRETCH):
            share = ROW_TITLE_PX + free * stretch / sum(ROW_STRETCH) + (BOTTOM_AXIS_PX if row == len(ROW_STRETCH) - 1 else 0)
            self.ci.layout.setRowMinimumHeight(row, 0.92 * share)
            if row > 0:  # the others no taller than their share: the heart-rate plot takes the rest
                self.ci.layout.setRowMaximumHeight(row, share)

    def __init__(self, span_s: float = 600.0, parent: QtCore.QObject | None = None, readout: bool = True,
                 empty_text: str = WAITING_TEXT) -> None:
        super().__init__(parent=parent)
        del self.clear  # pyqtgraph binds its layout's clear() (remove every plot) here; ours empties the data
        self.span_s = span_s
        self.setBackground("w")
        add = lambda row, title: self.addPlot(row=row, col=0, title=title,  # noqa: E731
                                              axisItems={"bottom": MinutesSecondsAxis("bottom")})
        self.band = add(0, "Heart rate and the client's usual range (bpm)")
        self.tachogram = add(1, "Beat-to-beat intervals (ms); flagged beats ×")
        self.rmssd = add(2, "RMSSD, 60 s window (ms); grey = not valid")
        self.breathing = add(3, "Breathing rate estimate (breaths/min)")
        self.coherence = add(4, COHERENCE_TITLE_HTML)
        self.coherence.titleLabel.setToolTip(COHERENCE_TOOLTIP)  # the caveat's longer version
        for row, stretch in enumerate(ROW_STRETCH):
            self.ci.layout.setRowStretchFactor(row, stretch)
        for plot in (self.tachogram, self.rmssd, self.breathing, self.coherence):
            plot.setXLink(self.band)
        for plot in (self.band, self.tachogram, self.rmssd, self.breathing, self.coherence):
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.getAxis("left").setWidth(LEFT_AXIS_PX)  # the linked time axes line up, data or not
        self.coherence.setLabel("bottom", "session time (min:sec)")
        for plot in (self.band, self.tachogram, self.rmssd, self.breathing):
            plot.getAxis("bottom").setStyle(showValues=False)  # one set of time labels, at the bottom
        self._x_start = -1.0
        self._rsa_at = -1.0
        self._breathing_title: str | None = None  # a new breathing title, set on the next redraw (None: unchanged)
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
        self._min_span = {self.band: MIN_Y_SPAN["band"], self.tachogram: MIN_Y_SPAN["tachogram"],
                          self.rmssd: MIN_Y_SPAN["rmssd"], self.breathing: MIN_Y_SPAN["breathing"],
                          self.coherence: MIN_Y_SPAN["coherence"]}
        self.empty_notes: dict[pg.PlotItem, EmptyNote] = {}
        for plot in self._y_series:
            plot.enableAutoRange(y=False)
            plot.setLimits(minYRange=self._min_span[plot])  # also for anything else that sets a y range
            self.empty_notes[plot] = EmptyNote(plot, empty_text)
        self.band.setXRange(0.0, span_s, padding=0)  # session time from the start, not 0-1 placeholder ticks
        self.marks: dict[object, pg.InfiniteLine] = {}  # markers, notes and cues on the heart-rate plot, by key
        self._marks_added = 0  # how many marks were drawn: their labels are staggered in turn
        self.now_s = 0.0
        self.latest: BeatMetrics | None = None  # the newest metric set: the big numbers
        self.readout_text: dict[str, str] = {}  # what the big numbers say, one line each (hr, rmssd, breathing)
        self.readouts: dict[str, pg.LabelItem] = {}
        self._readout_html: dict[str, str] = {}
        self._readout_of: BeatMetrics | None = None  # the metric set the big numbers show
        self.computed_note = ""  # said under each big number, e.g. "computed on the client's computer" (remote)
        self.readout_column: pg.GraphicsLayout | None = None
        if readout:
            self.readout_column = self.addLayout(row=0, col=1, rowspan=len(ROW_STRETCH))
            self.readout_column.setFixedWidth(READOUT_WIDTH_PX)
            for row, key in enumerate(("hr", "rmssd", "breathing")):
                label = pg.LabelItem("", justify="left")
                label.item.setTextWidth(READOUT_WIDTH_PX - 10)  # a long reason wraps inside the column
                self.readout_column.addItem(label, row=row, col=0)
                self.readouts[key] = label
            self.readout_column.layout.setRowStretchFactor(3, 1)  # the numbers at the top, the rest empty
        self._show_readouts()

    def clear(self) -> None:
        """Start afresh (a new session or a replay seek): every series emptied, no current values."""
        for series in vars(self).values():
            if isinstance(series, Series):
                series.n = 0
                series.dirty = True
        self.now_s = 0.0
        self._x_start = self._rsa_at = -1.0
        self.latest = None
        for key in list(self.marks):
            self.remove_mark(key)

    # -- markers, notes, cues -------------------------------------------------------------------
    def add_mark(self, key: object, t_s: float, kind: str, text: str) -> None:
        """A vertical line with a small label at ``t_s`` (the beats' clock) on the heart-rate plot."""
        self.remove_mark(key)
        colour = MARK_COLOURS.get(kind, GREY)
        label = text if len(text) <= MARK_LABEL_CHARS else text[:MARK_LABEL_CHARS - 1] + "…"
        self._marks_added += 1
        height = MARK_LABEL_HEIGHTS[self._marks_added % len(MARK_LABEL_HEIGHTS)]  # staggered: close marks stay legible
        line = pg.InfiniteLine(pos=t_s, angle=90, movable=False,
                               pen=pg.mkPen(colour, width=1.5, style=QtCore.Qt.PenStyle.DashLine),
                               label=label, labelOpts={"position": height, "color": colour})
        line.setZValue(5)
        line.mark_kind, line.mark_text = kind, text
        self.band.addItem(line)
        self.marks[key] = line

    def remove_mark(self, key: object) -> None:
        """Take a mark off the plot (e.g. an undone marker); nothing when there is none."""
        line = self.marks.pop(key, None)
        if line is not None:
            self.band.removeItem(line)

    # -- data in ---------------------------------------------------------------------------
    def add_metrics(self, m: BeatMetrics) -> None:
        """One beat's metric set (the beat itself included); GUI thread, nothing drawn until :meth:`redraw`."""
        self.now_s = max(self.now_s, m.t_s)
        if self.latest is None or m.t_s >= self.latest.t_s:
            self.latest = m
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
            self._breathing_title = f"Breathing rate estimate (breaths/min); RSA peak-to-trough {rsa} (64 s)"
        measures: tuple[tuple[Series, BreathingMetrics | CoherenceMetrics | None, float | None], ...] = (
            (self.breath, m.breathing, m.breathing.rate_bpm if m.breathing is not None else None),
            (self.coh, m.coherence, m.coherence.ratio if m.coherence is not None else None))
        for series, measure, value in measures:
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
        """Draw what changed since the last frame (GUI thread, from the window's frame timer)."""
        if self.latest is not None and self.now_s < self.latest.t_s:
            self.latest = None  # the series were emptied in place (a replay seek): no current values
        since = self.now_s - self.span_s
        for series, curve in ((self.hr, self._hr_curve), (self.rr, self._rr_curve), (self.flagged, self._flag_dots),
                              (self.rmssd_valid, self._rmssd_curve), (self.rmssd_invalid, self._rmssd_grey),
                              (self.breath, self._breath_curve), (self.coh, self._coh_curve)):
            if series.dirty:
                curve.setData(*series.view(since))
                series.dirty = False
        for plot, series_list in self._y_series.items():
            self.empty_notes[plot].set(not self._fit_y(plot, series_list, since))
        self._show_readouts()
        if self._breathing_title is not None:  # laid out once a frame, not once a metric set (a report adds an hour's)
            self.breathing.setTitle(self._breathing_title)
            self._breathing_title = None
        start = max(0.0, since)
        if abs(start - self._x_start) >= self.span_s / 1000:  # scroll only when it shows (about a pixel)
            self._x_start = start
            self.band.setXRange(start, start + self.span_s, padding=0)

    def _fit_y(self, plot: pg.PlotItem, series_list: tuple[Series, ...], since: float) -> bool:
        """Refit the y range only when the data leave it, or fill less than half of it; False when no data.

        The range spans at least the plot's :data:`MIN_Y_SPAN`, centred on the data.
        """
        values = [v for series in series_list for v in (series.view(since)[1],) if v.size]
        if not values:
            return False
        data = np.concatenate(values)
        data = data[np.isfinite(data)]
        if not data.size:
            return False
        low, high = float(data.min()), float(data.max())
        pad = 0.1 * (high - low)
        low, high = low - pad, high + pad
        min_span = self._min_span[plot]
        if high - low < min_span:
            centre = 0.5 * (low + high)
            low, high = centre - 0.5 * min_span, centre + 0.5 * min_span
        (view_low, view_high) = plot.viewRange()[1]
        if low < view_low or high > view_high or high - low < 0.5 * (view_high - view_low):
            plot.setYRange(low, high, padding=0)
        return True

    def _show_readouts(self) -> None:
        """The big numbers from :attr:`latest` (GUI thread); a label is re-set only when its text changes."""
        m = self.latest
        if self.readout_text and m is self._readout_of:
            return  # no new metric set since the last frame
        self._readout_of = m
        rows: dict[str, tuple[str, str, str, str, bool]] = {}  # key: caption, value, unit, status, valid
        if m is None:
            for key, caption in (("hr", "Heart rate"), ("rmssd", "RMSSD"), ("breathing", "Breathing")):
                rows[key] = (caption, "—", "", WAITING_TEXT, False)
        else:
            t, b = m.time, m.breathing
            if t.hr_valid and t.hr_bpm is not None:
                rows["hr"] = ("Heart rate", f"{t.hr_bpm:.0f}", "bpm", "60 s average", True)
            else:
                rows["hr"] = ("Heart rate", "—", "", t.validity.reason or "not valid", False)
            if t.validity.valid and t.rmssd_ms is not None:
                rows["rmssd"] = ("RMSSD", f"{t.rmssd_ms:.0f}", "ms", "60 s window, valid", True)
            else:
                rows["rmssd"] = ("RMSSD", "—", "", t.validity.reason or "not valid", False)
            if b is not None and b.validity.valid and b.rate_bpm is not None:
                rows["breathing"] = ("Breathing", f"{b.rate_bpm:.1f}", "/min", "from the heart rhythm, 64 s", True)
            else:
                reason = (b.validity.reason or "not valid") if b is not None else "not computed yet"
                rows["breathing"] = ("Breathing", "—", "", reason, False)
        for key, (caption, value, unit, status, valid) in rows.items():
            status = f"{status}; {self.computed_note}" if self.computed_note and m is not None else status
            self.readout_text[key] = f"{caption} {value}{' ' + unit if unit else ''} ({status})"
            html = readout_html(caption, value, unit, status, valid)
            label = self.readouts.get(key)
            if label is not None and html != self._readout_html.get(key):
                self._readout_html[key] = html
                label.setText(html)
