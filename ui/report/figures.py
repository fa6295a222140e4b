"""The reports' figures, drawn by the app's own plotting code and grabbed as PNG images.

Session report:

* **overview**: the app's :class:`~somafeedback.ui.live_plots.LivePlots` (heart rate against the client's
  usual range, tachogram with flagged beats, RMSSD with validity, breathing rate, coherence)
  fed every metric set of the session and showing the whole session; the breathing rate
  measured from chest movement (Polar H10) is added to the breathing plot as a dashed line,
  and markers, notes and cue suggestions as thin vertical lines;
* **timeline**: the review window's :class:`~somafeedback.ui.timeline_strip.TimelineStrip` (state ribbon,
  gaps, markers, cues, notes, review notes), with its legend: the states it drew, in their
  colours (none for a session without states);
* **raw excerpts** of a Polar H10 session: the app's :class:`~somafeedback.ui.raw_plots.RawPlots` (the last
  6 s of ECG with its R peaks and the last 60 s of the chest's breathing movement) at the
  excerpt's end;
* **resonance**, when the session holds a breathing-rate assessment: the review tab's
  :class:`~somafeedback.ui.resonance_results.ResonancePlots` (each step's heart rate over its scored part, the
  scores against the rates).

Progress report: the home window's :class:`~somafeedback.ui.home_window.TrendChart` (minutes per week,
resting ln RMSSD from weeks with enough readings) and a chart of the time in the usual range
and the cues per week.

Every time axis reads m:ss at clock-like steps (:class:`~somafeedback.ui.time_axis.MinutesSecondsAxis`); the
cue-count axis has whole-number ticks, and the cue bars' legend is drawn from the bars themselves.

Widgets are laid out without appearing on screen (``WA_DontShowOnScreen``) and grabbed at a
fixed size, so the images are the same with a display or on the offscreen platform.

Thread: the Qt GUI thread (a QApplication must exist).
"""

from __future__ import annotations

from collections.abc import Callable
import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Final

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from somafeedback.reports.practice_history import MIN_RESTING_READINGS, WeekRow
from somafeedback.reports.common import clock
from somafeedback.reports.content import SessionReportContent
from somafeedback.reports.progress_content import ProgressContent
from somafeedback.regulation.states import band_of

from ..live_plots import BLUE, GREEN, LivePlots
from ..raw_plots import RawPlots
from ..relationship_timeline import RelationshipTimeline
from ..resonance_results import ResonancePlots
from ..time_axis import MinutesSecondsAxis
from ..timeline_strip import OTHER_STATE, STATE_STYLE, TimelineStrip

FIGURE_WIDTH_PX: Final = 960  # logical px, every figure (laid out as on a screen of this width)
PIXEL_RATIO: Final = 2.0  # image px per logical px (the PNG is 1920 px wide: sharp on paper)
PNG_QUALITY: Final = 80  # Qt's PNG "quality": 0 = smallest file, 100 = no compression; -1 = zlib's default (slower)
OVERVIEW_HEIGHT_PX: Final = 860  # logical px, the five linked plots
STRIP_HEIGHT_PX: Final = 130  # logical px, the state timeline strip
RAW_HEIGHT_PX: Final = 380  # logical px, one raw excerpt (ECG strip and breathing movement)
RELATIONSHIP_HEIGHT_PX: Final = 420  # logical px, the relationship timeline (marks, r, lag)
RESONANCE_HEIGHT_PX: Final = 440  # logical px, the assessment's per-step heart rate and scores
TREND_HEIGHT_PX: Final = 420  # logical px, each progress chart
EVENT_LINE = (110, 110, 110, 170)  # marker/note/cue lines across the overview plots
CHEST_PEN = (204, 121, 167)  # Okabe-Ito reddish purple: chest-motion breathing rate (dashed)
SUGGESTED_COLOUR = (86, 180, 233)  # cues suggested (sky blue bars)
APPROVED_COLOUR = GREEN  # cues approved (bluish green bars)
CUE_TICKS: Final = 5  # at most about this many whole-number ticks on the cue-count axis

ProgressCallback = Callable[[float], None]


@dataclass(frozen=True)
class ReportImage:
    """One figure of a report: the image drawn, and its PNG encoding made when first asked for (an HTML report
    embeds it; a PDF lays the image out without any PNG)."""

    key: str  # overview | timeline | raw-1 | ... | trend | in-band
    caption: str
    picture: QtGui.QImage = field(compare=False, repr=False)
    width: int
    height: int
    legend: tuple[tuple[str, tuple[int, int, int]], ...] = ()  # (name, RGB) of each colour drawn (empty: no legend)

    @cached_property
    def png(self) -> bytes:
        """The figure as PNG bytes (GUI thread; encoded once, ~50 ms for the overview)."""
        return png_bytes(self.picture)

    def qimage(self) -> QtGui.QImage:
        """The figure as a QImage (GUI thread)."""
        return self.picture


def png_bytes(image: QtGui.QImage) -> bytes:
    """``image`` encoded as PNG, lightly compressed (:data:`PNG_QUALITY`: the same pixels as the default in
    about 60 % of its time, ~15 % more bytes)."""
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG", PNG_QUALITY):  # type: ignore[call-overload]  # the stub says bytes; it takes str
        raise OSError("the figure could not be encoded as PNG")
    buffer.close()
    return bytes(buffer.data().data())


def grab(widget: QtWidgets.QWidget, key: str, caption: str, width: int, height: int) -> ReportImage:
    """Lay ``widget`` out at ``width`` x ``height`` (logical px) without showing it; an image at :data:`PIXEL_RATIO` x.

    Every pending event is processed first, the widget's own first paint included: that paint sizes
    the axes that fit their labels (pyqtgraph's AxisItem), so skipping it changes a chart's pixels.
    """
    widget.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    widget.setFixedSize(width, height)
    widget.show()
    QtWidgets.QApplication.processEvents()
    image = QtGui.QImage(round(width * PIXEL_RATIO), round(height * PIXEL_RATIO), QtGui.QImage.Format.Format_RGB32)
    image.setDevicePixelRatio(PIXEL_RATIO)
    image.fill(QtGui.QColor("white"))
    painter = QtGui.QPainter(image)
    try:
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        QtWidgets.QWidget.render(widget, painter, QtCore.QPoint())  # the widget itself (a view's render() would draw its scene)
    finally:
        painter.end()
    widget.close()
    image.setDevicePixelRatio(1.0)
    return ReportImage(key, caption, image, image.width(), image.height())


def _scaled(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is not None:
        progress(min(1.0, done / max(total, 1)))


# -- session -----------------------------------------------------------------------------------------
def overview_image(content: SessionReportContent) -> ReportImage:
    """The app's live plots over the whole session."""
    plots = LivePlots(span_s=max(content.duration_s, 1.0), readout=False)  # a report: no "current" values
    for metrics in content.metrics:
        plots.add_metrics(metrics)
    band = band_of(content.baseline) if content.baseline else None
    if band is not None:
        plots.set_band(*band)
    plots.redraw()
    plots.band.setXRange(content.start_s, content.start_s + max(content.duration_s, 1.0), padding=0)  # session time
    series = content.series
    if series.chest_breathing_t_s.size:
        plots.breathing.plot(series.chest_breathing_t_s, series.chest_breathing_bpm,
                             pen=pg.mkPen(CHEST_PEN, width=1.5, style=QtCore.Qt.PenStyle.DashLine))
        shown = np.concatenate([series.breathing_bpm, series.chest_breathing_bpm])
        low, high = float(shown.min()), float(shown.max())
        pad = 0.1 * max(high - low, 1.0)
        plots.breathing.setYRange(low - pad, high + pad, padding=0)
        plots.breathing.setTitle("Breathing rate (breaths/min): heart-rate rhythm (solid, 64 s), chest movement (dashed)")
    for t_s in (*series.marker_times, *series.note_times, *series.cue_times):
        for plot in (plots.band, plots.tachogram, plots.rmssd, plots.breathing, plots.coherence):
            line = pg.InfiniteLine(t_s, angle=90, pen=pg.mkPen(EVENT_LINE, width=1.5, style=QtCore.Qt.PenStyle.DotLine))
            line.setZValue(-20)
            plot.addItem(line)
    caption = ("The session as the app shows it: heart rate against the client's usual range (when a baseline "
               "was measured), beat-to-beat intervals with flagged beats (×), RMSSD over 60 s (grey where the "
               "window was not valid), breathing rate and coherence; dotted lines: markers, notes and cues.")
    return grab(plots, "overview", caption, FIGURE_WIDTH_PX, OVERVIEW_HEIGHT_PX)


def timeline_image(content: SessionReportContent) -> ReportImage:
    """The review window's timeline strip: states, gaps, markers, cues and notes."""
    duration = max(content.duration_s, 1.0)
    strip = TimelineStrip(duration, lambda _t: None)
    strip.position.setVisible(False)
    use_clock_axis(strip.getPlotItem())
    strip.getPlotItem().setXRange(content.start_s, content.start_s + duration, padding=0.01)  # session time, as live
    strip.set_states([(i.start_s, i.end_s, i.state) for i in content.series.states])
    strip.set_gaps([*content.series.gaps, *content.series.contact_lost])
    suggested = [(d.t_s, f"cue {d.kind}") for d in content.cue_decisions if d.kind != "script" or d.outcome == "script-paused"]
    strip.set_marks({
        "marker": [(m.t_s, m.text) for m in content.markers],
        "cue": suggested,
        "note": [(n.t_s, n.text) for n in content.notes if n.kind == "note"],
        "review": [(n.t_s, n.text) for n in content.notes if n.kind == "review"],
    })
    strip.getPlotItem().setXRange(content.start_s, content.start_s + duration, padding=0.01)  # session time, as live
    states = list(dict.fromkeys(i.state for i in content.series.states if i.end_s - i.start_s > 0.0))
    caption = ("The whole session: " + ("states (colour and height), " if states else "")
               + "gaps in grey, markers ▼, cues ◆, notes ■, review notes ★.")
    image = grab(strip, "timeline", caption, FIGURE_WIDTH_PX, STRIP_HEIGHT_PX)
    return replace(image, legend=tuple((state, STATE_STYLE.get(state, OTHER_STATE)[0]) for state in states))


def use_clock_axis(plot: pg.PlotItem) -> MinutesSecondsAxis:
    """Give ``plot`` a bottom axis labelled m:ss at clock-like steps (the report's time axes); the axis."""
    axis = plot.getAxis("bottom")
    if not isinstance(axis, MinutesSecondsAxis):
        axis = MinutesSecondsAxis("bottom")
        plot.setAxisItems({"bottom": axis})
    return axis


def raw_images(content: SessionReportContent) -> list[ReportImage]:
    """The app's raw-signal strip at the end of each raw excerpt."""
    images = []
    for k, excerpt in enumerate(content.raw_excerpts, start=1):
        raw = RawPlots()
        for item in excerpt.items:
            raw.add(item)
        if not raw.has_data:
            continue
        raw.redraw()
        caption = (f"Up to {clock(excerpt.end_s)}: the last 6 s of ECG with the R peaks found (▲), and the last 60 s "
                   "of the chest's breathing movement with what was measured from it.")
        images.append(grab(raw, f"raw-{k}", caption, FIGURE_WIDTH_PX, RAW_HEIGHT_PX))
    return images


def relationship_image(content: SessionReportContent) -> ReportImage | None:
    """The review's relationship timeline (practitioner's and client's straps), or None for one person's session."""
    if content.relationship is None or not content.relationship.windows:
        return None
    timeline = RelationshipTimeline()
    timeline.set_relationship(content.relationship)
    timeline.set_marks({"marker": [(m.t_s, m.text) for m in content.markers],
                        "cue": [(d.t_s, f"cue {d.kind}") for d in content.cue_decisions],
                        "note": [(n.t_s, n.text) for n in content.notes if n.kind == "note"],
                        "review": [(n.t_s, n.text) for n in content.notes if n.kind == "review"]})
    caption = ("How the practitioner's and the client's heart rates moved together: per 30-s window the signed peak r "
               "(up: in phase, down: anti-phase; ★ and solid: beyond chance; pale: within chance; hatched: "
               "marked) and its lag (above 0: the client after the practitioner), with markers ▼, cues ◆ and notes ■.")
    return grab(timeline, "relationship", caption, FIGURE_WIDTH_PX, RELATIONSHIP_HEIGHT_PX)


def resonance_image(content: SessionReportContent) -> ReportImage | None:
    """The review's breathing-rate plots (each step's heart rate, the scores), or None without an assessment."""
    if content.resonance is None or content.resonance.result is None:
        return None
    plots = ResonancePlots()
    plots.set_record(content.resonance)
    caption = ("Top: each step's instantaneous heart rate (60000/RR of the beats not set aside) over its scored part, "
               "m:ss since the start; grey: a step that could not be assessed. Bottom: each assessable step's score "
               "against its breathing rate (orange: rank 1; n/a: not assessable).")
    return grab(plots, "resonance", caption, FIGURE_WIDTH_PX, RESONANCE_HEIGHT_PX)


def session_images(content: SessionReportContent, progress: ProgressCallback | None = None) -> list[ReportImage]:
    """Every figure of a session report, in order (timeline, overview, raw excerpts, relationship, breathing rate)."""
    total = 2 + len(content.raw_excerpts)
    _scaled(progress, 0, total)
    images = [timeline_image(content)]
    _scaled(progress, 1, total)
    images.append(overview_image(content))
    _scaled(progress, 2, total)
    for k, image in enumerate(raw_images(content), start=1):
        images.append(image)
        _scaled(progress, 2 + k, total)
    relationship = relationship_image(content)
    if relationship is not None:
        images.append(relationship)
    resonance = resonance_image(content)
    if resonance is not None:
        images.append(resonance)
    _scaled(progress, total, total)
    return images


# -- progress ----------------------------------------------------------------------------------------
class WeeklyBandChart(pg.GraphicsLayoutWidget):
    """Per ISO week: the share of judged time in the usual range, and the cues suggested and approved."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.setBackground("w")
        self.band_plot = self.addPlot(row=0, col=0, title="Time in the usual range, % of the time the state model judged")
        self.cue_plot = self.addPlot(row=1, col=0, title="Cues per week: suggested and approved")
        self.cue_plot.setXLink(self.band_plot)
        for plot in (self.band_plot, self.cue_plot):
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.showGrid(x=False, y=True, alpha=0.2)

    def set_weeks(self, content: ProgressContent) -> None:
        weeks = content.weeks
        x = np.arange(len(weeks), dtype=float)
        share = np.array([w.in_band_pct if w.in_band_pct is not None else np.nan for w in weeks], dtype=float)
        if np.isfinite(share).any():  # (no week with judged time: nothing to draw)
            self.band_plot.plot(x, share, pen=pg.mkPen(BLUE, width=2), symbol="o", symbolSize=8,
                                symbolBrush=pg.mkBrush(*BLUE), connect="finite")
        self.band_plot.setYRange(0.0, 105.0, padding=0)
        suggested = [float(w.cues_suggested) for w in weeks]
        approved = [float(w.cues_approved) for w in weeks]
        self.suggested_bars = pg.BarGraphItem(x=x - 0.17, height=suggested, width=0.32,
                                              brush=pg.mkBrush(*SUGGESTED_COLOUR), pen=pg.mkPen(None))
        self.approved_bars = pg.BarGraphItem(x=x + 0.17, height=approved, width=0.32,
                                             brush=pg.mkBrush(*APPROVED_COLOUR), pen=pg.mkPen(None))
        self.cue_plot.addItem(self.suggested_bars)
        self.cue_plot.addItem(self.approved_bars)
        top = max([*suggested, *approved, 3.0])
        step = max(1, math.ceil(top / CUE_TICKS))  # counts: whole-number ticks only
        self.cue_plot.getAxis("left").setTickSpacing(major=float(step), minor=float(step))
        self.cue_plot.setYRange(0.0, top * 1.15, padding=0)
        self.legend = pg.LegendItem(offset=(-10, 5), labelTextColor=(40, 40, 40), brush=pg.mkBrush(255, 255, 255, 220))
        self.legend.setParentItem(self.cue_plot.getViewBox())
        self.legend.addItem(self.suggested_bars, "suggested")  # the samples draw the bars' own brushes
        self.legend.addItem(self.approved_bars, "approved")
        step = max(1, -(-len(weeks) // 12))
        ticks = [[(i, w.label) for i, w in enumerate(weeks) if i % step == 0 or i == len(weeks) - 1]]
        for plot in (self.band_plot, self.cue_plot):
            plot.getAxis("bottom").setTicks(ticks)
        self.band_plot.setXRange(-0.6, len(weeks) - 0.4, padding=0)


def trend_image(content: ProgressContent) -> ReportImage:
    """The home window's weekly trend chart, with every recorded minute of the client."""
    from ..home_window import TrendChart  # only progress reports draw it: session reports skip the home window's import

    chart = TrendChart()
    chart.set_rows([WeekRow(w.year, w.week, w.start, w.minutes, w.sessions, w.resting_ln_rmssd, w.resting_readings)
                    for w in content.weeks])
    chart.minutes_plot.setTitle("Minutes recorded per week (every session)")
    chart.resting_plot.setTitle(f"Resting ln RMSSD, weekly median (shown for weeks with {MIN_RESTING_READINGS} "
                                "or more readings)")
    chart.line.setPen(pg.mkPen(BLUE, width=2))
    if not chart.resting_shown():
        chart.resting_plot.setYRange(0.0, 1.0, padding=0)
        chart.resting_plot.getAxis("left").setStyle(showValues=False)
        note = pg.TextItem(f"No week has {MIN_RESTING_READINGS} or more resting readings yet.", color=(90, 90, 90),
                           anchor=(0.5, 0.5))
        note.setPos((len(content.weeks) - 1) / 2, 0.5)
        chart.resting_plot.addItem(note)
    caption = (f"Minutes recorded per week, and the weekly median of the resting ln RMSSD where a week has "
               f"{MIN_RESTING_READINGS} or more readings (fewer readings are listed in the table, not drawn).")
    return grab(chart, "trend", caption, FIGURE_WIDTH_PX, TREND_HEIGHT_PX)


def band_image(content: ProgressContent) -> ReportImage:
    chart = WeeklyBandChart()
    chart.set_weeks(content)
    caption = ("Time in the usual range as a share of the time the state model judged (in band, rising, above band, "
               "settling, quiet drop), and the cues suggested and approved, per week.")
    return grab(chart, "in-band", caption, FIGURE_WIDTH_PX, TREND_HEIGHT_PX)  # its legend is drawn in the chart


def progress_images(content: ProgressContent, progress: ProgressCallback | None = None) -> list[ReportImage]:
    _scaled(progress, 0, 2)
    images = [trend_image(content)]
    _scaled(progress, 1, 2)
    images.append(band_image(content))
    _scaled(progress, 2, 2)
    return images


__all__ = ["APPROVED_COLOUR", "FIGURE_WIDTH_PX", "SUGGESTED_COLOUR", "ReportImage", "WeeklyBandChart", "grab",
           "png_bytes", "progress_images", "session_images", "use_clock_axis"]
