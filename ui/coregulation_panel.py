"""The practitioner's co-regulation panel: two heart rates on one time axis, and how they moved together.

A plot tab of the practitioner window, added when a second strap streams as the practitioner's
(never on the client view). Top to bottom: the latest window in words
(:meth:`~somafeedback.synchrony.pair_window.PairWindow.text`: "heart rates moved together, client ~2.0 s
after you, r = 0.61, above chance"), the session so far (the effect size against chance and the share of
windows that stand out), then three linked plots over the last :data:`SPAN_S` of session time: both
people's heart rate (from the beats the window already gets per strap), the signed peak r per window
and its lag (:class:`~.synchrony_plots.SynchronyPlots`). With three or more straps a selector picks
which pair (the practitioner and one other person) is shown.

It is a reflection aid: what was measured, never a score of either person or of the relationship.
Items arrive through :meth:`CoregulationPanel.take` / :meth:`~CoregulationPanel.take_metrics` (the
window's ``_take``); :meth:`~CoregulationPanel.redraw` draws once per frame, only what changed.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from typing import Any, Final

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.reports.relationship import PRACTITIONER_STRAP
from somafeedback.synchrony.pair_window import PairWindow

from .device_panel import ROLES
from .live_plots import MIN_Y_SPAN, SKY, Series
from .synchrony_plots import LEGEND_HTML, SynchronyPlots
from .time_axis import MinutesSecondsAxis

COREGULATION_TAB: Final = "Co-regulation"
SPAN_S: Final = 600.0  # session seconds shown (the last ten minutes)
PRACTITIONER_HR: Final = SKY  # the practitioner's heart rate (dashed)
OTHER_HR: Final = (204, 121, 167)  # the other person's heart rate (Okabe-Ito reddish purple)
WAITING_WORDS: Final = "Waiting for the first 30-s window of both heart rates (about 40 s after both straps stream)."
CAVEAT: Final = ("What was measured, not a score: heart rates also move together by chance (hence the chance level) "
                 "and with shared events in the room; a lag is the best alignment, not proof of who leads.")


def person(strap: str) -> str:
    """How a strap's wearer is named in the words: "client", or the strap's name for a third person."""
    role = ROLES.get(strap)
    return role if role == "client" else f"person on {strap}"


def so_far_text(item: PairWindow) -> str:
    """The session so far: effect size against chance and the share of windows that stand out."""
    if item.effect_size is None or item.share_above_chance is None:
        return "Session so far: chance level not known yet (it is set after the first minute of windows)."
    return (f"Session so far: {100 * item.share_above_chance:.0f} % of windows beyond chance; "
            f"effect size against chance {item.effect_size:.2f} (0: as strangers' heart rates)")


class CoregulationPanel(QtWidgets.QWidget):
    """Both heart rates and the synchrony timeline of the selected pair (the practitioner and one other)."""

    def __init__(self, practitioner: str = PRACTITIONER_STRAP, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.practitioner = practitioner
        self.hr: dict[str, Series] = {}
        self.windows: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.latest: dict[tuple[str, str], PairWindow] = {}
        self.now_s = 0.0
        self._dirty = False  # heart rates changed
        self._windows_dirty = False  # windows or the pair changed
        layout = QtWidgets.QVBoxLayout(self)
        top = QtWidgets.QHBoxLayout()
        self.pair_label = QtWidgets.QLabel("Pair")
        self.pair_box = QtWidgets.QComboBox()
        self.pair_box.currentIndexChanged.connect(lambda _i: self._select())
        top.addWidget(self.pair_label)
        top.addWidget(self.pair_box)
        self.words = QtWidgets.QLabel(WAITING_WORDS)
        self.words.setWordWrap(True)
        self.words.setStyleSheet("font-size: 13pt;")
        top.addWidget(self.words, 1)
        layout.addLayout(top)
        self.so_far = QtWidgets.QLabel("")
        self.so_far.setWordWrap(True)
        layout.addWidget(self.so_far)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("w")
        self.hr_plot = self.plots.addPlot(row=0, col=0, axisItems={"bottom": MinutesSecondsAxis("bottom")})
        self.hr_plot.setTitle("Heart rate, bpm: you (dashed) and the client", size="9pt")
        self.hr_plot.setMouseEnabled(x=False, y=False)
        self.r_plot = self.plots.addPlot(row=1, col=0, axisItems={"bottom": MinutesSecondsAxis("bottom")})
        self.lag_plot = self.plots.addPlot(row=2, col=0, axisItems={"bottom": MinutesSecondsAxis("bottom")})
        self.r_plot.setXLink(self.hr_plot)
        self.sync = SynchronyPlots(self.r_plot, self.lag_plot)
        self.a_curve = self.hr_plot.plot(pen=pg.mkPen(PRACTITIONER_HR, width=2, style=QtCore.Qt.PenStyle.DashLine))
        self.b_curve = self.hr_plot.plot(pen=pg.mkPen(OTHER_HR, width=2))
        layout.addWidget(self.plots, 1)
        legend = QtWidgets.QLabel(LEGEND_HTML + "<br>" + CAVEAT)
        legend.setWordWrap(True)
        legend.setStyleSheet("color: #555;")
        layout.addWidget(legend)
        self._show_selector()

    # -- input (the window's _take) ---------------------------------------------------------------------
    def take_metrics(self, strap_id: str, metrics: BeatMetrics) -> None:
        """One strap's beat metric set: its heart rate (a gap breaks the line)."""
        series = self.hr.setdefault(strap_id, Series())
        self.now_s = max(self.now_s, metrics.t_s)
        if metrics.rr_ms is None or not metrics.time.hr_valid or metrics.time.hr_bpm is None:
            series.break_line(metrics.t_s)
        else:
            series.append(metrics.t_s, metrics.time.hr_bpm)
        self._dirty = True

    def take(self, item: PairWindow) -> None:
        """One new window of one pair (with the session so far)."""
        pair = item.pair
        if pair not in self.windows:
            self.windows[pair] = []
            self.pair_box.addItem(f"you and the {person(item.b_strap)} ({item.b_strap})", pair)
            self._show_selector()
        self.windows[pair].append(item.window.row())
        self.latest[pair] = item
        self.now_s = max(self.now_s, item.window.end_s)
        if pair == self.pair():
            self._show_words()
        self._dirty = self._windows_dirty = True

    # -- what is shown --------------------------------------------------------------------------------
    def pair(self) -> tuple[str, str] | None:
        """The pair shown (practitioner's strap, other person's strap), or None before the first window."""
        data = self.pair_box.currentData()
        return (str(data[0]), str(data[1])) if data is not None else None

    def select_pair(self, b_strap: str) -> None:
        """Show the pair of the practitioner and ``b_strap`` (as choosing it in the selector)."""
        index = next(i for i in range(self.pair_box.count()) if self.pair_box.itemData(i)[1] == b_strap)
        self.pair_box.setCurrentIndex(index)

    def words_text(self) -> str:
        return self.words.text()

    def _select(self) -> None:
        self._show_words()
        self._dirty = self._windows_dirty = True

    def _show_selector(self) -> None:
        several = self.pair_box.count() >= 2  # three or more straps: choose the pair
        self.pair_box.setVisible(several)
        self.pair_label.setVisible(several)

    def _show_words(self) -> None:
        pair = self.pair()
        item = self.latest.get(pair) if pair is not None else None
        if item is None:
            self.words.setText(WAITING_WORDS)
            self.so_far.setText("")
            return
        self.words.setText("Latest window: " + item.text("you", person(item.b_strap)))
        self.so_far.setText(so_far_text(item))

    def redraw(self) -> None:
        """Draw what changed since the last frame (GUI thread; cheap when nothing did)."""
        if not self._dirty:
            return
        self._dirty = False
        pair = self.pair()
        b_strap = pair[1] if pair is not None else next((s for s in self.hr if s != self.practitioner), None)
        since = self.now_s - SPAN_S
        for curve, strap in ((self.a_curve, self.practitioner), (self.b_curve, b_strap)):
            series = self.hr.get(strap) if strap is not None else None
            if series is None:
                curve.setData([], [])
            else:
                curve.setData(*series.view(since), connect="finite")
        if self._windows_dirty:  # a new window every 5 s: the bars are rebuilt only then
            self._windows_dirty = False
            if b_strap is not None:
                self.hr_plot.setTitle(f"Heart rate, bpm: you (dashed) and the {person(b_strap)}", size="9pt")
                self.sync.set_names("you", person(b_strap))
            self.sync.set_windows([row for row in self.windows.get(pair, []) if row["end_s"] >= since] if pair else [])
        self.hr_plot.setXRange(max(0.0, since), max(self.now_s, SPAN_S if since < 0 else self.now_s), padding=0.01)
        self._keep_hr_span()

    def _keep_hr_span(self) -> None:
        """The heart-rate axis spans at least the live plots' minimum (flat data is not blown up)."""
        low, high = self.hr_plot.getViewBox().childrenBounds()[1] or (60.0, 70.0)
        middle, span = (low + high) / 2.0, max(high - low, MIN_Y_SPAN["band"])
        self.hr_plot.setYRange(middle - span / 2.0, middle + span / 2.0, padding=0.05)
