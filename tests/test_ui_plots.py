"""The plots readable across a room (issue #13), offscreen: m:ss time axes, minimum y spans,
no placeholder ticks on empty plots, and the big current values beside the live plots.

Data come from the real metric pipeline fed real RR records (../shared/data/rr), or, for the
flat-data cases, from constant metric sets built with the pipeline's own dataclasses.

Thread: the Qt GUI thread (the tests').
"""

from __future__ import annotations

import os
import re
from functools import cache

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets
from real_records import nsr001_ms, polar_slow_breathing_ms

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pyqtgraph as pg  # noqa: E402

from somafeedback.devices.events import EcgChunk  # noqa: E402
from somafeedback.hrv.pipeline import BeatMetrics, BreathingMetrics, CoherenceMetrics, MetricsPipeline  # noqa: E402
from somafeedback.signals.raw_signals import BreathingTrace  # noqa: E402
from somafeedback.hrv.time_domain import TimeDomain, WindowValidity  # noqa: E402
from somafeedback.ui.live_plots import LivePlots  # noqa: E402
from somafeedback.ui.raw_plots import RawPlots  # noqa: E402
from somafeedback.ui.time_axis import MinutesSecondsAxis  # noqa: E402

CLOCK = re.compile(r"^-?\d{1,2}:\d\d(:\d\d)?$")  # m:ss, mm:ss or h:mm:ss
HOURS = re.compile(r"^\d+:\d\d:\d\d$")
PLOT_NAMES = ("band", "tachogram", "rmssd", "breathing", "coherence")


@pytest.fixture(autouse=True)
def _app(qapp: QtWidgets.QApplication) -> QtWidgets.QApplication:
    return qapp


def settle(widget: QtWidgets.QWidget, width: int = 960, height: int = 800) -> None:
    """Lay ``widget`` out at a window's size without showing it on screen, and paint it once."""
    widget.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    widget.resize(width, height)
    widget.show()
    for _ in range(3):
        QtWidgets.QApplication.processEvents()
    widget.grab()  # a paint: the view boxes finish any pending range update


def drawn_labels(axis: pg.AxisItem) -> list[str]:
    """The tick labels the axis paints at its current range and size."""
    image = QtGui.QImage(16, 16, QtGui.QImage.Format.Format_RGB32)
    painter = QtGui.QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [] if specs is None else [text for _, _, text in specs[2]]


@cache
def nsr_metrics(until_s: float = 5000.0) -> tuple[BeatMetrics, ...]:
    """The real pipeline over the first ``until_s`` of a real 24 h RR record."""
    pipeline, t, out = MetricsPipeline(), 0.0, []
    for rr in nsr001_ms():
        t += rr / 1000.0
        if t > until_s:
            break
        out.append(pipeline.push_beat(t, float(rr)))
    return tuple(out)


def flat_metrics(n: int, rr_ms: float = 909.0) -> list[BeatMetrics]:
    """Constant values on every beat: HR 66 bpm, RMSSD 32.2265 ms, 6 breaths/min, coherence 2."""
    valid = WindowValidity(60.0, 66, 0, True)
    out, t = [], 0.0
    for _ in range(n):
        t += rr_ms / 1000.0
        time = TimeDomain(66.0, rr_ms, 32.2265, float(np.log(32.2265)), 30.0, 10.0, True, valid)
        out.append(BeatMetrics(t, rr_ms, False, None, time, None, BreathingMetrics(6.0, 80.0, valid, t),
                               CoherenceMetrics(2.0, 0.1, valid, t)))
    return out


# -- time axes ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("until_s", [1500.0, 5000.0])
@pytest.mark.parametrize("span", ["live", "whole"])
def test_time_axes_are_minutes_and_seconds(qtbot, until_s: float, span: str) -> None:
    metrics = [m for m in nsr_metrics() if m.t_s <= until_s]
    plots = LivePlots(span_s=600.0 if span == "live" else until_s)  # the live window, or a report's whole session
    qtbot.addWidget(plots)
    for m in metrics:
        plots.add_metrics(m)
    plots.redraw()
    settle(plots)
    axis = plots.coherence.getAxis("bottom")  # the one that shows the time labels
    labels = drawn_labels(axis)
    assert len(labels) >= 3, labels
    assert all(CLOCK.match(text) for text in labels), labels
    assert not any("ks" in text or "e+" in text for text in labels), labels
    if until_s > 3600:  # past an hour every label reads h:mm:ss
        assert all(HOURS.match(text) for text in labels), labels
    label = axis.labelString()
    assert "session time" in label and "(ks)" not in label and "(s)" not in label and "x1e" not in label, label
    assert "(x" not in label, label
    major = axis.tickSpacing(*plots.coherence.viewRange()[0], axis.width())[0][0]
    assert major in (10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0), major
    for name in PLOT_NAMES:  # the same clock on every linked plot (their grid lines)
        assert isinstance(getattr(plots, name).getAxis("bottom"), MinutesSecondsAxis), name


def test_raw_plots_time_axes_are_minutes_and_seconds(qtbot) -> None:
    raw = RawPlots()
    qtbot.addWidget(raw)
    t = np.arange(1500.0, 1506.0, 1 / 130)
    raw.add(EcgChunk("client", 0, t, 800.0 * np.sin(2 * np.pi * t), 130.0, True, 0))
    tb = np.arange(1446.0, 1506.0, 1 / 25)
    raw.add(BreathingTrace("client", tb, 30.0 * np.sin(2 * np.pi * tb / 10.0)))
    raw.redraw()
    settle(raw, 960, 380)
    for plot in (raw.ecg_plot, raw.breath_plot):
        labels = drawn_labels(plot.getAxis("bottom"))
        assert len(labels) >= 2 and all(CLOCK.match(text) for text in labels), labels
        assert any(text.startswith("25:0") or text.startswith("24:") for text in labels), labels


# -- minimum y spans -----------------------------------------------------------------------------------
def test_flat_data_keeps_a_minimum_y_span_centred_on_the_data(qtbot) -> None:
    plots = LivePlots()
    qtbot.addWidget(plots)
    metrics = flat_metrics(200)
    minimum = {"band": (10.0, 66.0), "tachogram": (100.0, 909.0), "rmssd": (10.0, 32.2265),
               "breathing": (4.0, 6.0), "coherence": (1.0, 2.0)}
    for chunk in (metrics[:120], metrics[120:]):  # applied on every redraw, not once
        for m in chunk:
            plots.add_metrics(m)
        plots.redraw()
        settle(plots)
        for name, (span, value) in minimum.items():
            low, high = getattr(plots, name).viewRange()[1]
            assert high - low >= span - 1e-9, (name, low, high)
            assert abs(0.5 * (low + high) - value) < 0.05 * span, (name, low, high)  # centred on the data
            assert low < value < high, name


def test_flat_raw_signals_keep_a_minimum_y_span(qtbot) -> None:
    raw = RawPlots()
    qtbot.addWidget(raw)
    t = np.arange(0.0, 8.0, 1 / 130)
    raw.add(EcgChunk("client", 0, t, np.full(len(t), 120.0), 130.0, True, 0))  # a loose strap: a flat line
    tb = np.arange(0.0, 70.0, 1 / 25)
    raw.add(BreathingTrace("client", tb, np.full(len(tb), 3.0)))
    raw.redraw()
    settle(raw, 960, 380)
    ecg_low, ecg_high = raw.ecg_plot.viewRange()[1]
    breath_low, breath_high = raw.breath_plot.viewRange()[1]
    assert ecg_high - ecg_low >= 200.0 and ecg_low < 120.0 < ecg_high, (ecg_low, ecg_high)
    assert breath_high - breath_low >= 10.0 and breath_low < 3.0 < breath_high, (breath_low, breath_high)


# -- empty plots ---------------------------------------------------------------------------------------
def test_empty_plots_show_no_placeholder_ticks(qtbot) -> None:
    plots = LivePlots()
    raw = RawPlots()
    for widget in (plots, raw):
        qtbot.addWidget(widget)
    plots.redraw()
    raw.redraw()
    settle(plots)
    settle(raw, 960, 380)
    empty = [getattr(plots, name) for name in PLOT_NAMES] + [raw.ecg_plot, raw.breath_plot]
    for plot in empty:
        assert drawn_labels(plot.getAxis("left")) == [], plot.titleLabel.text
        notes = [item for item in plot.getViewBox().childItems() if isinstance(item, pg.TextItem)]
        assert any(n.isVisible() and n.toPlainText() == "waiting for data" for n in notes), plot.titleLabel.text
    time_labels = drawn_labels(plots.coherence.getAxis("bottom"))
    assert time_labels and all(CLOCK.match(text) for text in time_labels), time_labels  # 0:00 .. 10:00, not 0.2 .. 0.8

    for m in flat_metrics(120):
        plots.add_metrics(m)
    plots.redraw()
    settle(plots)
    assert drawn_labels(plots.band.getAxis("left")), "ticks come back with data"
    assert not any(item.isVisible() for item in plots.band.getViewBox().childItems() if isinstance(item, pg.TextItem))


# -- the big numbers -----------------------------------------------------------------------------------
def _shown(plots: LivePlots, key: str) -> str:
    return plots.readouts[key].item.toPlainText()


def _font_pt(plots: LivePlots, key: str) -> float:
    return max(float(pt) for pt in re.findall(r"font-size:\s*([\d.]+)pt", plots.readouts[key].item.toHtml()))


def test_big_current_values_beside_the_plots(qtbot) -> None:
    plots = LivePlots()
    qtbot.addWidget(plots)
    pipeline, t = MetricsPipeline(), 0.0
    rr = polar_slow_breathing_ms()
    for value in rr[:25]:  # ~25 s: the 60 s window is still filling
        t += value / 1000.0
        plots.add_metrics(pipeline.push_beat(t, float(value)))
    plots.redraw()
    settle(plots)
    assert plots.readout_text["rmssd"] == "RMSSD — (filling the window)"
    assert "—" in _shown(plots, "rmssd") and "filling the window" in _shown(plots, "rmssd")
    assert "#969696" in plots.readouts["rmssd"].item.toHtml().lower()  # greyed while not valid
    assert plots.readout_text["hr"].startswith("Heart rate —")

    for value in rr[25:]:
        t += value / 1000.0
        latest = pipeline.push_beat(t, float(value))
        plots.add_metrics(latest)
    plots.redraw()
    settle(plots)
    assert latest.time.hr_valid and latest.time.validity.valid
    hr, rmssd = f"{latest.time.hr_bpm:.0f}", f"{latest.time.rmssd_ms:.0f}"
    assert plots.readout_text["hr"].startswith(f"Heart rate {hr} bpm")
    assert plots.readout_text["rmssd"].startswith(f"RMSSD {rmssd} ms")
    assert hr in _shown(plots, "hr") and "bpm" in _shown(plots, "hr")
    assert rmssd in _shown(plots, "rmssd") and "ms" in _shown(plots, "rmssd")
    assert "#969696" not in plots.readouts["rmssd"].item.toHtml().lower()
    b = latest.breathing
    assert b is not None
    if b.validity.valid:
        assert f"{b.rate_bpm:.1f}" in _shown(plots, "breathing") and "/min" in _shown(plots, "breathing")
    else:
        assert b.validity.reason in _shown(plots, "breathing")
    for key in ("hr", "rmssd", "breathing"):
        assert _font_pt(plots, key) >= 28.0, key
        rect = plots.readouts[key].sceneBoundingRect()
        assert rect.left() >= plots.band.sceneBoundingRect().right() - 1, key  # beside the plots
        assert plots.sceneRect().contains(rect), key

    plots.add_metrics(pipeline.push_gap(t, t + 10.0))  # a link loss: nothing current to show
    plots.redraw()
    assert plots.readout_text["rmssd"] == "RMSSD — (no data since the gap)"
    assert "no data since the gap" in _shown(plots, "rmssd")

    plots.clear()  # a replay seek
    plots.redraw()
    assert all("—" in text and "waiting for data" in text for text in plots.readout_text.values())


def test_the_heart_rate_plot_is_the_biggest(qtbot) -> None:
    plots = LivePlots()
    qtbot.addWidget(plots)
    for m in nsr_metrics()[:800]:
        plots.add_metrics(m)
    plots.redraw()
    settle(plots, 960, 800)
    heights = {name: getattr(plots, name).getViewBox().sceneBoundingRect().height() for name in PLOT_NAMES}
    assert all(heights["band"] > heights[name] * 1.2 for name in PLOT_NAMES[1:]), heights


def test_a_replay_seek_empties_the_raw_plots_but_keeps_them(qtbot) -> None:
    raw = RawPlots()
    qtbot.addWidget(raw)
    t = np.arange(0.0, 8.0, 1 / 130)
    raw.add(EcgChunk("client", 0, t, 800.0 * np.sin(2 * np.pi * t), 130.0, True, 0))
    raw.redraw()
    raw.clear()  # what the replay window does on a seek
    raw.redraw()
    assert raw.ecg_plot.scene() is raw.scene() and raw.breath_plot.scene() is raw.scene()  # still laid out
    assert raw._ecg_curve.getData()[0] is None or len(raw._ecg_curve.getData()[0]) == 0
    assert raw.ecg_empty.empty and not raw.has_data
    raw.add(EcgChunk("client", 1, t + 240.0, 800.0 * np.sin(2 * np.pi * t), 130.0, True, 0))
    raw.redraw()
    assert len(raw._ecg_curve.getData()[0]) > 500 and not raw.ecg_empty.empty


def test_live_plots_clear_keeps_the_plots(qtbot) -> None:
    plots = LivePlots()
    qtbot.addWidget(plots)
    for m in flat_metrics(30):
        plots.add_metrics(m)
    plots.redraw()
    plots.clear()
    plots.redraw()
    assert all(getattr(plots, name).scene() is plots.scene() for name in PLOT_NAMES)
    assert plots.rr.n == 0 and plots.latest is None and plots.empty_notes[plots.tachogram].empty


def test_a_report_can_leave_the_big_numbers_out(qtbot) -> None:
    plots = LivePlots(span_s=1500.0, readout=False, empty_text="no data")
    qtbot.addWidget(plots)
    plots.redraw()
    settle(plots)
    assert plots.readouts == {} and plots.readout_column is None
    assert plots.band.sceneBoundingRect().right() > 900  # the plots take the whole width
    assert plots.empty_notes[plots.coherence].label.toPlainText() == "no data"


@pytest.mark.parametrize("height", [320, 440, 700])
def test_the_heart_rate_plot_is_the_tallest_at_every_height(qtbot, height: int) -> None:
    """Readable across a room: the heart-rate plot gets the largest share of the height (it was no taller
    than the others: pyqtgraph's row stretch only shared what was left after the titles and axes)."""
    plots = LivePlots()
    qtbot.addWidget(plots)
    plots.resize(900, height)
    plots.show()
    qtbot.waitExposed(plots)
    QtWidgets.QApplication.processEvents()
    heights = {name: getattr(plots, name).getViewBox().height()
               for name in ("band", "tachogram", "rmssd", "breathing", "coherence")}
    others = max(h for name, h in heights.items() if name != "band")
    assert heights["band"] > 1.2 * others, heights


def test_raw_plots_draw_the_following_the_engine_publishes(qtbot) -> None:
    """The breathing line shows the following estimate it is given (computed by the core), and drops it when the pacer stops."""
    from somafeedback.signals.chest_motion import BreathingEstimate
    from somafeedback.signals.pacer_following import FollowingEstimate, invalid_estimate

    raw = RawPlots()
    qtbot.addWidget(raw)
    raw.add(BreathingEstimate(70.0, 6.1, 0.3, 12.0, True, "", False, "acc"))
    assert raw.summary == "6.1 breaths/min from chest motion, depth 12 mG"
    raw.add(FollowingEstimate(70.0, 0.83, 0.9, 0.12, True, True, "", 40, 60.0, 6.0, "acc"))
    assert raw.summary.endswith("; following the pacer (phase locking 0.83, rate +0.1 breaths/min, 60 s)")
    raw.add(invalid_estimate(75.0, "the pacer stopped", 0, 60.0))
    assert raw.summary == "6.1 breaths/min from chest motion, depth 12 mG"
