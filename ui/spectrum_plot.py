"""The power spectrum of segments A and B (Welch PSD of the RR intervals), LF and HF bands shaded.

The curves are :attr:`SegmentStats.spectrum` (``somafeedback.hrv.spectral.power_spectrum``, the
default spectral settings) in ms²/Hz over 0-0.5 Hz; the LF (0.04-0.15 Hz) and HF
(0.15-0.40 Hz) bands are shaded and named, so the table's LF and HF powers can be read as the
areas under the curve. A stretch without a spectrum (too short, a gap inside) is said so in
the title.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from somafeedback.sessions.segments import SegmentStats
from somafeedback.hrv.spectral import SpectralSettings

from .review_plots import SEGMENT_COLOURS

MAX_HZ: Final = 0.5
BAND_BRUSHES: Final = {"LF": (120, 120, 120, 40), "HF": (86, 180, 233, 40)}


class SpectrumPlot(pg.PlotWidget):
    """PSD (ms²/Hz) against frequency (Hz), segment A and segment B."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent=parent, background="w")
        plot = self.getPlotItem()
        plot.setLabel("bottom", "Frequency (Hz)")
        plot.getAxis("bottom").enableAutoSIPrefix(False)  # 0.1 Hz, not 100 mHz
        plot.setLabel("left", "Power density (ms²/Hz)")
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setMouseEnabled(x=False, y=False)
        plot.setXRange(0.0, MAX_HZ, padding=0.0)
        plot.addLegend(offset=(-5, 5))
        settings = SpectralSettings()
        self.bands: dict[str, pg.LinearRegionItem] = {}
        for name, band in (("LF", settings.lf_band), ("HF", settings.hf_band)):
            region = pg.LinearRegionItem(band, movable=False, brush=pg.mkBrush(*BAND_BRUSHES[name]),
                                         pen=pg.mkPen(None))
            region.setZValue(-10)
            plot.addItem(region, ignoreBounds=True)
            pg.InfLineLabel(region.lines[0], name, position=0.95, anchors=[(0, 0), (0, 0)], color=(90, 90, 90))
            region.setToolTip(f"{name}: {band[0]:.2f}–{band[1]:.2f} Hz")
            self.bands[name] = region
        self.curves: dict[str, pg.PlotDataItem] = {
            name: plot.plot([], [], pen=pg.mkPen(colour, width=2), name=f"segment {name}")
            for name, colour in SEGMENT_COLOURS.items()}
        self.stats: dict[str, SegmentStats | None] = {"A": None, "B": None}
        self._title()

    def set_stats(self, name: str, stats: SegmentStats | None) -> None:
        """Show segment ``name``'s spectrum (None or no spectrum: an empty curve)."""
        self.stats[name] = stats
        spectrum = stats.spectrum if stats is not None else None
        if spectrum is None:
            self.curves[name].setData([], [])
        else:
            keep = spectrum.freqs_hz <= MAX_HZ
            self.curves[name].setData(np.asarray(spectrum.freqs_hz[keep]), np.asarray(spectrum.psd_ms2_hz[keep]))
        self._title()
        plot = self.getPlotItem()
        plot.enableAutoRange(axis="y")
        plot.setXRange(0.0, MAX_HZ, padding=0.0)

    def title_text(self) -> str:
        parts = []
        for name in ("A", "B"):
            stats = self.stats[name]
            if stats is None:
                parts.append(f"{name}: no segment")
            elif stats.spectrum is None:
                parts.append(f"{name}: no spectrum")
            else:
                parts.append(f"{name}: {stats.spectrum.window_s:.0f} s analysed")
        return "Power spectrum of RR — " + " | ".join(parts)

    def _title(self) -> None:
        self.getPlotItem().setTitle(self.title_text().replace(" — ", "<br>").replace(" | ", "<br>"), size="9pt")
