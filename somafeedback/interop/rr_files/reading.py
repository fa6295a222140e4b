"""Reading one RR file in any supported format: sniff its layout, then run that format's reader.

Thread: any.
"""

from __future__ import annotations

import os
from pathlib import Path

from ._layout import Layout, scan
from ._text import read_text
from .hrv_logger import read_hrv_logger
from .polar_sensor_logger import read_polar_sensor_logger
from .series import RRSeries
from .table import read_table


def _load(path: str | os.PathLike[str]) -> tuple[Layout, Path]:
    text, file, label, notes = read_text(path)
    return scan(label, text, notes), file


def detect_format(path: str | os.PathLike[str]) -> str:
    """The format :func:`read_rr_file` would read ``path`` as (one of :data:`FORMATS`).

    Classifies by layout only; the values are checked by :func:`read_rr_file`.
    """
    layout, _ = _load(path)
    return layout.format


def read_rr_file(path: str | os.PathLike[str]) -> RRSeries:
    """Read one RR file in any supported format; raise :class:`RRFileError` on bad input."""
    layout, file = _load(path)
    if layout.format == "polar-sensor-logger":
        return read_polar_sensor_logger(layout, file)
    if layout.format == "hrv-logger":
        return read_hrv_logger(layout, file)
    return read_table(layout, file)
