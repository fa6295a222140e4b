"""The ``hrv-logger`` reader.

``hrv-logger``
    HRV Logger (Marco Altini) RR CSV: comma-separated header with an ``rr`` column in ms
    and a ``date`` or ``timestamp`` column, e.g. ``date,rr,since start`` over rows
    ``2025-04-25 06:37:37 +0000,823,823`` (classic) or ``timestamp,rr,since_start`` over
    ``1742229480012,823,823`` (Unix ms). The first date/timestamp (phone time of the first
    beat's arrival) gives ``start_wall_time``; ``since start`` (a running sum of RR) is
    ignored. Every row must have as many fields as the header.

Thread: any.
"""

from __future__ import annotations

from pathlib import Path

from ._layout import RR_NAMES, Layout, find_column, name_parts
from ._text import quote
from ._values import check_positive, column_numbers, data_rows, make_series, resolve_unit, to_ms
from .series import RRSeries
from .wall_time import read_start_wall_time


def read_hrv_logger(layout: Layout, path: Path) -> RRSeries:
    names = layout.names or []
    rr_index = find_column(names, RR_NAMES)
    assert rr_index is not None  # the layout's _classify saw an RR column
    rows = data_rows(layout, len(names), rr_index + 1, lenient=False)
    rr_name = names[rr_index]
    values, lines = column_numbers(layout, rows, rr_index, rr_name, allow_empty=False)
    stated_unit = name_parts(rr_name)[1]
    stated = ((stated_unit, f"stated by column {quote(rr_name)}") if stated_unit
              else ("ms", "HRV Logger writes RR in ms"))
    unit, detected = resolve_unit(values, stated, layout.notes)
    rr_ms = to_ms(values, unit)
    check_positive(layout.label, rr_ms, values, lines, unit)
    since_index = find_column(names, frozenset({"sincestart"}))
    if since_index is not None:
        layout.notes.append(f"column {quote(names[since_index])} ignored (a running sum of the RR intervals)")
    time_index = find_column(names, frozenset({"date", "timestamp", "datetime"}))
    start = None
    if time_index is not None:
        start = read_start_wall_time(rows, time_index, names[time_index], lines, layout.notes, arrival=True)
    return make_series(layout, path, rr_ms, unit, detected, start)
