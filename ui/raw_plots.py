"""The raw-signal strip of a Polar H10: a scrolling ECG and the chest's breathing movement.

Shown under the live plots once a strap streams raw ECG or acceleration; hidden
otherwise. The ECG strip shows the last ``ECG_SPAN_S`` seconds with each R peak the app
found marked; the breathing plot shows the chest movement along its main axis over the last
``BREATH_SPAN_S`` seconds, the pacer's target shape when a pacer runs, and a line of what
was measured: breaths/min from chest motion (or from the ECG), depth, movement, and how
closely the breathing follows the pacer (phase locking and rate difference over 60 s). The
following is computed by the engine's analysis (:class:`~somafeedback.live.analysis.LiveAnalysis`,
from the pacer handed to :meth:`~somafeedback.live.engine.Engine.set_pacer`) and arrives here
as a :class:`FollowingEstimate`, like every other measure; this widget only draws it.

Samples are kept in fixed-size ring buffers; the window's frame timer calls
:meth:`RawPlots.redraw`, which draws only what changed. Time is labelled ``m:ss`` (session
time); each y range spans at least :data:`MIN_ECG_SPAN_UV` / :data:`MIN_BREATH_SPAN_MG`, so a
flat signal (a loose strap) is not blown up to fill the plot; an empty plot says so.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from somafeedback.signals.chest_motion import BreathingEstimate
from somafeedback.devices.events import Beat, EcgChunk
from somafeedback.regulation.pacer import Pacer
from somafeedback.signals.pacer_following import FollowingEstimate
from somafeedback.signals.raw_signals import BreathingTrace

from .live_plots import LEFT_AXIS_PX, EmptyNote
from .time_axis import MinutesSecondsAxis

ECG_SPAN_S: Final = 6.0  # s of ECG on screen
BREATH_SPAN_S: Final = 60.0  # s of breathing movement on screen
ECG_CAPACITY: Final = 4096  # samples kept (about 30 s at 130 Hz)
BREATH_CAPACITY: Final = 4096  # samples kept (about 160 s at 25 Hz)
BLUE = (0, 114, 178)
ORANGE = (230, 159, 0)
GREEN = (0, 158, 115)
GREY = (150, 150, 150)
MIN_ECG_SPAN_UV: Final = 500.0  # smallest ECG y span, µV (a QRS is about 1000-2500 µV on a chest strap)
MIN_BREATH_SPAN_MG: Final = 20.0  # smallest chest-movement y span, mG (a calm breath moves a few to tens of mG)
RAW_OUTPUTS: Final = (EcgChunk, Beat, BreathingTrace, BreathingEstimate, FollowingEstimate)  # what this widget draws


class Ring:
    """A fixed-size ring of (t, y) samples, read back in time order."""

    def __init__(self, capacity: int) -> None:
        self.t = np.full(capacity, np.nan)
        self.y = np.full(capacity, np.nan)
        self.end = 0  # samples written so far
        self.dirty = False

    def extend(self, t: np.ndarray, y: np.ndarray) -> None:
        n = min(len(t), len(self.t))
        index = (self.end + np.arange(n)) % len(self.t)
        self.t[index], self.y[index] = t[-n:], y[-n:]
        self.end += n
        self.dirty = True

    def view(self, since: float) -> tuple[np.ndarray, np.ndarray]:
        if self.end < len(self.t):
            t, y = self.t[:self.end], self.y[:self.end]
        else:
            order = np.roll(np.arange(len(self.t)), -(self.end % len(self.t)))
            t, y = self.t[order], self.y[order]
        keep = t >= since
        return t[keep], y[keep]


class RawPlots(pg.GraphicsLayoutWidget):
    """ECG strip and breathing movement of the client's strap."""

    def __init__(self, pacer: Callable[[], Pacer | None] = lambda: None, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent=parent)
        del self.clear  # pyqtgraph binds its layout's clear() (remove every plot) here; ours empties the data
        self.setBackground("w")
        self.setMinimumHeight(170)  # two strips; the live plots above keep the larger share
        self._pacer = pacer
        self.ecg_plot = self.addPlot(row=0, col=0, title=f"ECG from the chest strap (µV), last {ECG_SPAN_S:g} s; R peaks ▲",
                                     axisItems={"bottom": MinutesSecondsAxis("bottom")})
        self.breath_plot = self.addPlot(row=1, col=0, title="Breathing movement of the chest (mG)",
                                        axisItems={"bottom": MinutesSecondsAxis("bottom")})
        for plot, min_span in ((self.ecg_plot, MIN_ECG_SPAN_UV), (self.breath_plot, MIN_BREATH_SPAN_MG)):
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.getAxis("left").setWidth(LEFT_AXIS_PX)
            plot.setLimits(minYRange=min_span)  # the y auto-range keeps this span at least, centred on the data
        self.ecg_empty = EmptyNote(self.ecg_plot)
        self.breath_empty = EmptyNote(self.breath_plot)
        self.ecg_plot.setXRange(0.0, ECG_SPAN_S, padding=0)
        self.breath_plot.setXRange(0.0, BREATH_SPAN_S, padding=0)
        self.ecg = Ring(ECG_CAPACITY)
        self.peaks = Ring(256)
        self.breath = Ring(BREATH_CAPACITY)
        self._ecg_curve = self.ecg_plot.plot(pen=pg.mkPen(BLUE, width=1.2), connect="finite")
        self._peak_dots = self.ecg_plot.plot(pen=None, symbol="t1", symbolSize=8, symbolBrush=ORANGE, symbolPen=None)
        self._breath_curve = self.breath_plot.plot(pen=pg.mkPen(GREEN, width=2), connect="finite")
        self._pacer_curve = self.breath_plot.plot(pen=pg.mkPen(GREY, width=1.5, style=QtCore.Qt.PenStyle.DashLine))
        self.latest_breathing: BreathingEstimate | None = None
        self.latest_following: FollowingEstimate | None = None
        self.now_s = 0.0
        self.summary = "no chest motion yet"
        self._summary_changed = False  # the breathing title shows a new summary on the next redraw

    @property
    def has_data(self) -> bool:
        return self.ecg.end > 0 or self.breath.end > 0

    def clear(self) -> None:
        """Start afresh (a replay seek)."""
        self.ecg, self.peaks, self.breath = Ring(ECG_CAPACITY), Ring(256), Ring(BREATH_CAPACITY)
        self.ecg.dirty = self.breath.dirty = True  # the next redraw empties the plots
        self.latest_breathing = self.latest_following = None
        self.now_s = 0.0
        self.summary = "no chest motion yet"

    # -- data in ---------------------------------------------------------------------------------
    def add(self, item: object) -> None:
        if isinstance(item, EcgChunk):
            uv = item.uv if item.contiguous or self.ecg.end == 0 else np.concatenate(([np.nan], item.uv[1:]))
            self.ecg.extend(item.t_s, uv)
            self.now_s = max(self.now_s, float(item.t_s[-1]))
        elif isinstance(item, Beat) and item.source == "ecg":
            self.peaks.extend(np.array([item.t_s]), np.array([np.nan]))
        elif isinstance(item, BreathingTrace):
            self.breath.extend(item.t_s, item.mg)
            self.now_s = max(self.now_s, float(item.t_s[-1]))
        elif isinstance(item, BreathingEstimate):
            self._breathing(item)
        elif isinstance(item, FollowingEstimate):
            self.latest_following = item  # "the pacer stopped" is an invalid estimate: the line drops the following
            self._show_summary()

    def _breathing(self, estimate: BreathingEstimate) -> None:
        if estimate.source == "ecg" and self.latest_breathing is not None and self.latest_breathing.source == "acc":
            return  # chest motion is the better measure while both exist
        self.latest_breathing = estimate
        self._show_summary()

    def _show_summary(self) -> None:
        self.summary = self._summary()
        self._summary_changed = True  # titled on the next redraw: once a frame, not once an estimate

    def _summary(self) -> str:
        b = self.latest_breathing
        if b is None:
            return "no chest motion yet"
        source = "chest motion" if b.source == "acc" else "ECG"
        if not b.valid:
            text = f"breathing not measured: {b.reason}"
        else:
            depth = f", depth {b.amplitude_mg:.0f} mG" if b.source == "acc" and math.isfinite(b.amplitude_mg) else ""
            text = f"{b.rate_bpm:.1f} breaths/min from {source}{depth}"
        f = self.latest_following
        if f is not None and f.valid:
            verdict = "following the pacer" if f.following else "not following the pacer"
            text += (f"; {verdict} (phase locking {f.phase_locking:.2f}, "
                     f"rate {f.rate_difference_bpm:+.1f} breaths/min, 60 s)")
        return text

    # -- drawing (once per frame) ---------------------------------------------------------------
    def redraw(self) -> None:
        """Draw what changed since the last frame (GUI thread, from the window's frame timer)."""
        if self._summary_changed:
            self.breath_plot.setTitle(f"Breathing movement of the chest (mG) — {self.summary}")
            self._summary_changed = False
        if self.ecg.dirty:
            end = max(self.now_s, ECG_SPAN_S)  # the first seconds fill from the left
            t, y = self.ecg.view(end - ECG_SPAN_S)
            self._ecg_curve.setData(t, y)
            self.ecg.dirty = False
            finite = y[np.isfinite(y)]
            peak_t, _ = self.peaks.view(end - ECG_SPAN_S)
            top = float(finite.max()) if finite.size else 0.0
            self._peak_dots.setData(peak_t, np.full(len(peak_t), top * 1.08))
            self.ecg_plot.setXRange(end - ECG_SPAN_S, end, padding=0)
            self.ecg_empty.set(not finite.size)
        if self.breath.dirty:
            end = max(self.now_s, BREATH_SPAN_S)
            since = end - BREATH_SPAN_S
            t, y = self.breath.view(since)
            self._breath_curve.setData(t, y)
            self.breath.dirty = False
            self._draw_pacer(since, y)
            self.breath_plot.setXRange(since, end, padding=0)
            self.breath_empty.set(not np.isfinite(y).any())

    def _draw_pacer(self, since: float, breath: np.ndarray) -> None:
        """The pacer's target shape, scaled to the breathing trace (inhale up)."""
        pacer = self._pacer()
        finite = breath[np.isfinite(breath)]
        if pacer is None or not finite.size:
            self._pacer_curve.setData([], [])
            return
        grid = np.linspace(max(since, pacer.start_s), self.now_s, 400)
        level = np.array([pacer.at(float(t)).target_level for t in grid])
        low, high = np.percentile(finite, [5, 95])
        self._pacer_curve.setData(grid, low + level * (high - low))
