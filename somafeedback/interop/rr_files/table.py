"""The ``kubios`` and ``plain`` readers: one RR column, or a column picked by name or position.

``kubios``
    Kubios HRV RR text input: any header lines (any line mentioning "Kubios", or two or
    more header lines, or a header naming a time and an RR column), then one RR column,
    or a time column and an RR column (named, or unnamed: then RR is the last column and
    the first is time). Unit from the RR column name (``RR (s)``, ``RR [ms]``), a
    ``unit: s``/``units = ms`` header line, or inferred. A time column becomes
    ``beat_times_s`` (time of the beat that ends each RR) only when its steps match the
    RR intervals within ``BEAT_TIME_TOLERANCE_S``; otherwise it is ignored with a note.
    :func:`~somafeedback.interop.rr_files.write_kubios_rr`
    writes the layout documented there, which reads back exactly.
``plain``
    Everything else: one RR per line (at most one header line of text, e.g. ``RR (ms)``),
    or several columns per line with the RR in the column named like RR in the header,
    or, with no header, in the *last* column (e.g. a Polar IBI CSV ``0.2211,936``: host
    arrival time, RR ms); other columns are ignored and never used as beat times.

Thread: any.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._layout import HR_NAMES, RR_NAMES, TIME_NAMES, Layout, find_column, name_parts, split_fields, trimmed_width
from ._text import quote
from ._values import (
    check_positive,
    column_numbers,
    data_rows,
    is_start_offset,
    make_series,
    resolve_unit,
    to_ms,
    to_numbers,
    unit_stated_in_text,
)
from .kubios_writer import OWN_KUBIOS_MARKER
from .series import MS_PER_S, RRFileError, RRSeries

MAX_UNNAMED_COLUMNS = 2  # values per line without a header naming them: the RR, optionally after a time
BEAT_TIME_TOLERANCE_S = 0.005  # s; a time column is beat times only if its steps match RR within this


def _beat_times(layout: Layout, rows: list[tuple[int, list[str]]], index: int, name: str | None,
                rr_ms: np.ndarray, lines: np.ndarray) -> np.ndarray | None:
    """A Kubios time column as beat times (s), if its steps match the RR intervals."""
    label = quote(name) if name is not None else str(index + 1)
    cells = [fields[index] for _, fields in rows]
    try:
        times, _ = to_numbers(layout, cells, [number for number, _ in rows], "", allow_empty=False)
    except RRFileError as error:
        layout.notes.append(f"time column {label} ignored: {error.problem} (line {error.line})")
        return None
    stated = name_parts(name)[1] if name is not None else None
    rr_s = rr_ms / MS_PER_S
    for unit in ([stated] if stated else ["s", "ms"]) if rr_s.size >= 2 else []:
        times_s = times / MS_PER_S if unit == "ms" else times
        steps = np.diff(times_s)
        if np.all(np.abs(steps - rr_s[1:]) <= BEAT_TIME_TOLERANCE_S):
            layout.notes.append(f"beat times from time column {label} (time of the beat ending each RR, {unit})")
            return times_s
        if np.all(np.abs(steps - rr_s[:-1]) <= BEAT_TIME_TOLERANCE_S):
            layout.notes.append(f"beat times from time column {label} (its times start each RR, {unit}; "
                                "shifted by one RR to the beat ending it)")
            return times_s + rr_s
    layout.notes.append(f"time column {label} ignored: its steps do not match the RR intervals, "
                        "so it is not taken as beat times")
    return None


def read_table(layout: Layout, path: Path) -> RRSeries:
    """``plain`` and ``kubios``: one RR column, or a column picked by name or position."""
    first_fields = split_fields(layout.data[0][1], layout.delimiter)
    width = trimmed_width(first_fields)
    names = layout.names
    rr_index: int | None
    time_index: int | None = None
    rr_name: str | None = None
    if names is not None and len(names) != width:
        raise RRFileError(layout.label, f"{width} field(s), but the header (line {layout.names_line}) names "
                          f"{len(names)}: {quote(layout.data[0][1])}", layout.data[0][0])
    if names is not None and width > 1:
        rr_index = find_column(names, RR_NAMES)
        if rr_index is None:
            raise RRFileError(layout.label, f"no RR-interval column in the header {quote(layout.header[-1][1])}; "
                              "expected a column named like 'rr', 'RR (ms)', 'RR-interval [ms]' or 'IBI'",
                              layout.names_line)
        rr_name = names[rr_index]
        time_index = find_column(names, TIME_NAMES)
    elif names is not None:  # one column under one header line
        rr_index = 0
        base = name_parts(names[0])[0]
        if base in HR_NAMES:
            raise RRFileError(layout.label, f"column {quote(names[0])} holds heart rate, not RR intervals",
                              layout.names_line)
        if base in RR_NAMES:
            rr_name = names[0]
        else:
            layout.notes.append(f"header line {layout.names_line} {quote(names[0])} skipped")
    else:
        rr_index = width - 1
        if width > MAX_UNNAMED_COLUMNS:
            raise RRFileError(layout.label, f"the line holds {width} values, but an RR file holds one beat per "
                              "line (its RR interval, optionally after a time); with no header naming the columns, "
                              f"which one is the RR? {quote(layout.data[0][1])}", layout.data[0][0])
        if width > 1 and layout.format == "kubios":
            time_index = 0
            layout.notes.append(f"{width} columns without names: RR taken from the last column, "
                                "the first read as time")
        elif width > 1:
            layout.notes.append(f"{width} columns per line: RR taken from the last column; column 1 ignored "
                                "(e.g. Bluetooth arrival times, which are not beat times)")
        for number, text in layout.header:
            layout.notes.append(f"header line {number} {quote(text)} skipped")

    if width == 1 and layout.delimiter is None:  # the 24 h files: no per-line lists
        rows: list[tuple[int, list[str]]] = []
        column = f" in column {quote(rr_name)}" if rr_name is not None else ""
        values, lines = to_numbers(layout, [text for _, text in layout.data], [number for number, _ in layout.data],
                                   column, allow_empty=False)
    else:
        rows = data_rows(layout, width, rr_index + 1, lenient=False)
        values, lines = column_numbers(layout, rows, rr_index, rr_name, allow_empty=False)

    name_unit = name_parts(rr_name)[1] if rr_name is not None else None
    stated: tuple[str, str] | None
    if name_unit and rr_name is not None:
        stated = (name_unit, f"stated by column {quote(rr_name)}")
    else:
        stated = unit_stated_in_text(layout)
    unit, detected = resolve_unit(values, stated, layout.notes)
    rr_ms = to_ms(values, unit)

    own_export = bool(layout.comments) and OWN_KUBIOS_MARKER in layout.comments[0][1]
    if width == 1 and not own_export and is_start_offset(rr_ms):
        shown = f"{values[0]:g} {unit}"
        layout.notes.append(f"skipped first value {shown} (line {int(lines[0])}): not a plausible RR, "
                            "taken as the start offset")
        values, lines, rr_ms = values[1:], lines[1:], rr_ms[1:]
    check_positive(layout.label, rr_ms, values, lines, unit)

    beat_times = None
    if time_index is not None and time_index != rr_index:
        beat_times = _beat_times(layout, rows, time_index, names[time_index] if names else None, rr_ms, lines)
    return make_series(layout, path, rr_ms, unit, detected, beat_times=beat_times)
