"""The ``polar-sensor-logger`` reader.

``polar-sensor-logger``
    Polar Sensor Logger ``*_RR.txt``: first line ``Phone timestamp;RR-interval [ms]``, rows
    ``2026-06-01T21:17:07.832;1111``. Also its HR-stream variant when it carries an
    ``RR-interval [ms]``-like column (rows with an empty RR cell are skipped); an HR file
    without one (``Phone timestamp;HR [bpm];HRV [ms];Breathing interval [rpm];``) is an
    error. The phone timestamp is the Bluetooth *arrival* time: it only gives
    ``start_wall_time`` (naive times are read in this computer's time zone), never beat
    times.

Thread: any.
"""

from __future__ import annotations

from pathlib import Path

from ._layout import HR_NAMES, RR_NAMES, WALL_TIME_NAMES, Layout, find_column, name_parts
from ._text import quote
from ._values import check_positive, column_numbers, data_rows, make_series, to_ms
from .series import RRFileError, RRSeries
from .wall_time import read_start_wall_time


def read_polar_sensor_logger(layout: Layout, path: Path) -> RRSeries:
    names = layout.names or []
    rr_index = find_column(names, RR_NAMES)
    if rr_index is None:
        listed = ", ".join(names)
        hr_file = find_column(names, HR_NAMES) is not None
        hint = " (this is the HR file; open the matching *_RR.txt file)" if hr_file else ""
        raise RRFileError(layout.label, f"the file has no RR intervals: Polar Sensor Logger columns are {listed}, "
                          f"with no 'RR-interval [ms]' column{hint}", layout.names_line)
    rows = data_rows(layout, len(names), rr_index + 1, lenient=True)
    rr_name = names[rr_index]
    values, lines = column_numbers(layout, rows, rr_index, rr_name, allow_empty=True)
    if values.size == 0:
        raise RRFileError(layout.label,
                          f"the file has no RR intervals: column {quote(rr_name)} is empty on every line")
    skipped = len(rows) - values.size
    if skipped:
        layout.notes.append(f"{skipped} row(s) without an RR value skipped")
    unit = name_parts(rr_name)[1] or "ms"
    layout.notes.append(f"unit: {'milliseconds' if unit == 'ms' else 'seconds'} (stated by column {quote(rr_name)})")
    rr_ms = to_ms(values, unit)
    check_positive(layout.label, rr_ms, values, lines, unit)
    time_index = find_column(names, WALL_TIME_NAMES)
    start = None
    if time_index is not None:
        start = read_start_wall_time(rows, time_index, names[time_index], lines, layout.notes, arrival=True)
    layout.notes.append("phone timestamps are Bluetooth arrival times: not used as beat times")
    return make_series(layout, path, rr_ms, unit, False, start)
