"""The statistics of segment A and segment B, side by side, with units and how they were made.

One row per measure (what was measured, its unit), one column per segment. Each cell shows
the value as text and keeps the number itself (``QtCore.Qt.ItemDataRole.UserRole``; None when it
cannot be had); the stretch, its length and whether its HRV is valid come first, and the
notes of :class:`~somafeedback.sessions.segments.SegmentStats` (why a value is missing, what to read
with care) last. Words of a wellness tool: what was measured, no judgement of it.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from PySide6 import QtCore, QtWidgets

from somafeedback.sessions.segments import MAX_ARTIFACT_PCT, SegmentStats

from .time_axis import clock_label

Row = tuple[str, str, Callable[[SegmentStats], float | None], int]  # key, label (unit), value, decimals
ROWS: Final[tuple[Row, ...]] = (
    ("hr", "Mean heart rate (bpm)", lambda s: s.mean_hr_bpm, 1),
    ("rmssd", "RMSSD (ms)", lambda s: s.rmssd_ms, 1),
    ("sdnn", "SDNN (ms)", lambda s: s.sdnn_ms, 1),
    ("pnn50", "pNN50 (%)", lambda s: s.pnn50_pct, 1),
    ("lf", "LF power, 0.04–0.15 Hz (ms²)", lambda s: s.lf_ms2, 0),
    ("hf", "HF power, 0.15–0.40 Hz (ms²)", lambda s: s.hf_ms2, 0),
    ("lf_hf", "LF/HF (ratio of the two powers)", lambda s: s.lf_hf, 2),
    ("breathing", "Breathing rate, RSA peak of RR (/min)", lambda s: s.breathing_bpm, 1),
    ("artifacts", "Flagged beats, left out (%)", lambda s: s.artifact_pct, 1),
    ("sd1", "Poincaré SD1 (ms)", lambda s: s.sd1_ms, 1),
    ("sd2", "Poincaré SD2 (ms)", lambda s: s.sd2_ms, 1),
    ("dfa1", "DFA α1, 4–11 beats (neurokit2)", lambda s: (s.nonlinear or {}).get("dfa_alpha1"), 2),
    ("dfa2", "DFA α2, 12 beats to N/10 (neurokit2)", lambda s: (s.nonlinear or {}).get("dfa_alpha2"), 2),
    ("sampen", "Sample entropy, m 2, r 0.2 SD (neurokit2)", lambda s: (s.nonlinear or {}).get("sample_entropy"), 2),
)
NONLINEAR_KEYS: Final = frozenset({"dfa1", "dfa2", "sampen"})
NOT_ASKED: Final = "press Nonlinear indices"  # the nonlinear rows before they are computed
HEAD_ROWS: Final = ("stretch", "beats", "validity")  # before the measures
MISSING: Final = "—"


class SegmentTable(QtWidgets.QTableWidget):
    """Rows of measures, columns "A" and "B"."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        keys = [*HEAD_ROWS, *(key for key, *_ in ROWS), "notes"]
        super().__init__(len(keys), 2, parent)
        self.keys = keys
        self.setHorizontalHeaderLabels(["Segment A", "Segment B"])
        labels = ["Stretch (length)", "Beats (used / all)", "HRV values",
                  *(label for _, label, *_ in ROWS), "Notes"]
        self.setVerticalHeaderLabels(labels)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(True)
        self.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.setToolTip("Accepted beats only (flagged beats left out); successive differences never across a gap; "
                        f"LF/HF from the Welch spectrum of the stretch. HRV values are marked not valid when more than "
                        f"{MAX_ARTIFACT_PCT:.0f} % of the beats were flagged.")
        self.stats: dict[str, SegmentStats | None] = {"A": None, "B": None}
        for column in range(2):
            self._clear(column)

    def row_of(self, key: str) -> int:
        return self.keys.index(key)

    def set_stats(self, name: str, stats: SegmentStats | None) -> None:
        """Show ``stats`` in the column of segment ``name`` ("A" / "B"); None empties it."""
        column = 0 if name == "A" else 1
        self.stats[name] = stats
        if stats is None:
            self._clear(column)
            return
        seg = stats.segment
        phase = "" if seg.label in ("A", "B") else f" · {seg.label}"
        self._put("stretch", column, f"{clock_label(seg.start_s)}–{clock_label(seg.end_s)} "
                  f"({clock_label(seg.duration_s)}){phase}", seg.duration_s)
        self._put("beats", column, f"{stats.n_accepted} / {stats.n_beats}", stats.n_accepted)
        self._put("validity", column, "valid" if stats.valid else "not valid", stats.valid)
        for key, _, value_of, decimals in ROWS:
            value = value_of(stats)
            item = self._put(key, column, MISSING if value is None else f"{value:.{decimals}f}", value)
            if key in NONLINEAR_KEYS and stats.nonlinear is None:
                item.setToolTip(f"Not computed: {NOT_ASKED} (neurokit2, computed once per segment; a few seconds "
                                "the first time). Needs a valid stretch without a gap and 100 accepted beats.")
        notes = "; ".join(stats.notes) or "—"
        self._put("notes", column, notes, notes).setToolTip(f"{notes}\nHow: {stats.conventions}")
        self.resizeRowToContents(self.row_of("notes"))

    def value(self, name: str, key: str) -> object:
        """The number behind a cell (None where it cannot be had)."""
        item = self.item(self.row_of(key), 0 if name == "A" else 1)
        return None if item is None else item.data(QtCore.Qt.ItemDataRole.UserRole)

    def text(self, name: str, key: str) -> str:
        item = self.item(self.row_of(key), 0 if name == "A" else 1)
        return "" if item is None else item.text()

    def _put(self, key: str, column: int, text: str, value: object) -> QtWidgets.QTableWidgetItem:
        item = QtWidgets.QTableWidgetItem(text)
        item.setData(QtCore.Qt.ItemDataRole.UserRole, value)
        item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
                              if key in {k for k, *_ in ROWS} else QtCore.Qt.AlignmentFlag.AlignLeft
                              | QtCore.Qt.AlignmentFlag.AlignVCenter)
        if key == "notes":
            item.setToolTip(text)
        self.setItem(self.row_of(key), column, item)
        return item

    def _clear(self, column: int) -> None:
        for key in self.keys:
            self._put(key, column, "no segment" if key == "stretch" else "", None)
