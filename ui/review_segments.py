"""Segments A and B of a reviewed session: how they are chosen, and their statistics side by side.

A segment is either the stretch selected on the whole-session plot (a region dragged by its
edges, :class:`~.review_plots.SessionPlots`) or one of the session's phases (baseline /
practice / recovery, :func:`somafeedback.sessions.segments.session_phases`) picked in its combo box,
which moves the region there. Whenever a region settles, the segment's statistics
(:func:`somafeedback.sessions.segments.segment_stats`, on the recorded beats) go into the
:class:`~.segment_table.SegmentTable`, the :class:`~.poincare_plot.PoincarePlot` and the
:class:`~.spectrum_plot.SpectrumPlot`.

Thread: the Qt GUI thread (the statistics of one stretch take milliseconds).
"""

from __future__ import annotations

from typing import Final

from PySide6 import QtWidgets

from somafeedback.hrv.conventions import DEFAULT_FOR_RECORDS, conventions as conventions_named
from somafeedback.progress import ProgressCallback
from somafeedback.sessions.segments import Segment, SegmentStats, SessionBeatSeries, segment_stats

from .poincare_plot import PoincarePlot
from .review_plots import SessionPlots
from .segment_table import SegmentTable
from .spectrum_plot import SpectrumPlot
from .time_axis import clock_label

SELECTION: Final = "the selection on the plot"
NONE: Final = "none"
DEFAULT_A: Final = (0.1, 0.4)  # segment A at first: this share of the session
DEFAULT_B: Final = (0.6, 0.9)


class SegmentReview(QtWidgets.QWidget):
    """The A/B choosers, the statistics table, the Poincaré plot and the spectrum."""

    def __init__(self, beats: SessionBeatSeries, plots: SessionPlots,
                 parent: QtWidgets.QWidget | None = None, conventions: str = DEFAULT_FOR_RECORDS) -> None:
        """``conventions``: the frequency-domain convention set of the table's LF, HF and spectrum."""
        super().__init__(parent)
        self.settings = conventions_named(conventions)
        self.nonlinear = False  # the table also shows neurokit2's nonlinear indices
        self.beats = beats
        self.plots = plots
        self.duration_s = plots.duration_s
        self.phases: list[Segment] = []
        self.stats: dict[str, SegmentStats | None] = {"A": None, "B": None}
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        controls = QtWidgets.QHBoxLayout()
        self.choosers: dict[str, QtWidgets.QComboBox] = {}
        for name in ("A", "B"):
            controls.addWidget(QtWidgets.QLabel(f"Segment {name}:"))
            box = QtWidgets.QComboBox()
            box.setToolTip(f"Segment {name}: the stretch dragged on the whole-session plot, or a phase of the session")
            box.activated.connect(lambda _index, name=name: self._chosen(name))
            self.choosers[name] = box
            controls.addWidget(box, 1)
        self.add_b_button = QtWidgets.QPushButton("Add segment B")
        self.add_b_button.setToolTip("A second stretch on the plot, to compare with A")
        self.add_b_button.clicked.connect(self.add_segment_b)
        controls.addWidget(self.add_b_button)
        self.nonlinear_button = QtWidgets.QPushButton("Nonlinear indices")
        self.nonlinear_button.setCheckable(True)
        self.nonlinear_button.setToolTip("Add DFA α1/α2 and sample entropy (neurokit2) to the table for both segments; "
                                         "a few seconds the first time")
        self.nonlinear_button.toggled.connect(self.set_nonlinear)
        controls.addWidget(self.nonlinear_button)
        layout.addLayout(controls)
        row = QtWidgets.QHBoxLayout()
        self.table = SegmentTable()
        self.poincare = PoincarePlot()
        self.spectrum = SpectrumPlot()
        row.addWidget(self.table, 4)
        row.addWidget(self.poincare, 3)
        row.addWidget(self.spectrum, 3)
        layout.addLayout(row, 1)
        self.set_phases([])
        a0, a1 = DEFAULT_A
        self.plots.region("A", a0 * self.duration_s, a1 * self.duration_s, self.region_moved)
        self.update_segment("A")

    # -- choosing ---------------------------------------------------------------------------------
    def set_phases(self, phases: list[Segment]) -> None:
        """The phases offered in both combo boxes (the current choices kept where they still exist)."""
        self.phases = list(phases)
        for name, box in self.choosers.items():
            current = box.currentText()
            box.blockSignals(True)
            box.clear()
            if name == "B":
                box.addItem(NONE if "B" not in self.plots.regions else SELECTION, None)
                if "B" not in self.plots.regions:
                    box.addItem(SELECTION, None)
            else:
                box.addItem(SELECTION, None)
            for index, phase in enumerate(self.phases):
                box.addItem(self.phase_text(phase), index)
            found = box.findText(current)
            box.setCurrentIndex(max(found, 0))
            box.blockSignals(False)

    @staticmethod
    def phase_text(phase: Segment) -> str:
        return f"{phase.label} {clock_label(phase.start_s)}–{clock_label(phase.end_s)}"

    def choose(self, name: str, text: str) -> None:
        """Pick ``text`` (a phase's text or :data:`SELECTION`) for segment ``name``, as the combo box does."""
        box = self.choosers[name]
        index = box.findText(text)
        if index < 0:
            raise ValueError(f"segment {name}: no choice {text!r}")
        box.setCurrentIndex(index)
        self._chosen(name)

    def _chosen(self, name: str) -> None:
        box = self.choosers[name]
        phase_index = box.currentData()
        if box.currentText() == NONE:
            return
        if phase_index is not None:
            phase = self.phases[int(phase_index)]
            self.plots.region(name, phase.start_s, phase.end_s, self.region_moved)
        elif name not in self.plots.regions:
            b0, b1 = DEFAULT_B
            self.plots.region(name, b0 * self.duration_s, b1 * self.duration_s, self.region_moved)
        if box.findText(NONE) >= 0:
            self.set_phases(self.phases)  # B exists now: "none" is no longer a choice
        if name == "B":
            self.add_b_button.setEnabled(False)
        self.update_segment(name)

    def add_segment_b(self) -> None:
        """Segment B on the plot (a second stretch to compare with A)."""
        self.choose("B", SELECTION)

    def region_moved(self, name: str) -> None:
        """A region was dragged (or set): its combo box says "selection" unless it sits on the chosen phase."""
        box = self.choosers[name]
        bounds = self.plots.segment_bounds(name)
        phase_index = box.currentData()
        if phase_index is not None and bounds is not None:
            phase = self.phases[int(phase_index)]
            if abs(bounds[0] - phase.start_s) > 1e-6 or abs(bounds[1] - phase.end_s) > 1e-6:
                box.setCurrentIndex(box.findText(SELECTION))
        self.update_segment(name)

    # -- the statistics ---------------------------------------------------------------------------
    def segment(self, name: str) -> Segment | None:
        bounds = self.plots.segment_bounds(name)
        if bounds is None:
            return None
        box = self.choosers[name]
        phase_index = box.currentData()
        label = self.phases[int(phase_index)].label if phase_index is not None else name
        return Segment(label, bounds[0], bounds[1])

    def set_nonlinear(self, on: bool) -> None:
        """Show (or stop computing) neurokit2's nonlinear indices; the first time under a progress dialog,
        as neurokit2 takes a few seconds to load."""
        self.nonlinear = on
        if not on:
            return
        from .progress_dialog import run_with_progress

        def load(progress: ProgressCallback) -> bool:
            from somafeedback.hrv.nonlinear import load_neurokit2

            load_neurokit2()
            progress(1.0)
            return True

        if run_with_progress(self, "Loading neurokit2 for the nonlinear indices…", load) is None:  # cancelled
            self.nonlinear_button.setChecked(False)
            return
        for name in ("A", "B"):
            if self.stats.get(name) is not None:
                self.update_segment(name)

    def update_segment(self, name: str) -> None:
        """Recompute segment ``name``'s statistics and show them in the table and both plots."""
        segment = self.segment(name)
        stats = None
        if segment is not None:
            b = self.beats
            stats = segment_stats(segment, b.t_s, b.rr_ms, b.flagged, b.gap_segments, self.settings, self.nonlinear)
        self.stats[name] = stats
        self.table.set_stats(name, stats)
        self.poincare.set_stats(name, stats)
        self.spectrum.set_stats(name, stats)
