"""From cells to RR intervals in ms: rows, numbers, unit, start offset, sign.

Implements the "Units" and "Start offset" rules of the :mod:`somafeedback.interop.rr_files` docstring,
the row and number checks behind its "Errors", and builds the :class:`~somafeedback.interop.rr_files.RRSeries`
the format readers return.

Thread: any.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ._layout import UNIT_WORDS, Layout, split_fields, trimmed_width
from ._text import quote
from .series import MS_PER_S, RRFileError, RRSeries

SECONDS_MEDIAN_LIMIT = 10.0  # unitless values whose median is below this are seconds, else ms
PLAUSIBLE_RR_MIN_MS = 200.0  # ms; shortest RR called plausible when judging a start offset (300 bpm)
PLAUSIBLE_RR_MAX_MS = 3000.0  # ms; longest RR called plausible when judging a start offset (20 bpm)
PLAUSIBLE_FRACTION = 0.9  # share of the other values that must be plausible to drop a first value
MIN_VALUES_TO_JUDGE_OFFSET = 2  # count of other values needed before a first value may be dropped
MIXED_SECONDS_BELOW = SECONDS_MEDIAN_LIMIT  # a positive value below this reads as seconds (no RR is under 10 ms)...
MIXED_MS_ABOVE = 200.0  # ...and one above this as milliseconds (no RR lasts 200 s): both in one column is refused

_UNIT_STATEMENT = re.compile(r"\bunits?\s*[:=]\s*(ms|msec|milliseconds?|s|sec|secs|seconds?)\b", re.IGNORECASE)


def data_rows(layout: Layout, width: int, needed: int, lenient: bool) -> list[tuple[int, list[str]]]:
    """Split data lines into cells; every row must be ``width`` wide unless ``lenient``.

    A narrower last row is a truncated line: kept when it has ``needed`` fields (it reaches the
    RR column), else dropped with a note.
    """
    delimiter = layout.delimiter
    rows = [(number, split_fields(text, delimiter)) for number, text in layout.data]
    if lenient:
        return rows
    for index, (number, fields) in enumerate(rows):
        if len(fields) == width:
            continue
        found = trimmed_width(fields)
        if found == width:  # trailing separators only
            continue
        if index == len(rows) - 1 and found < width:
            if found >= needed:
                layout.notes.append(f"last line {number} is incomplete ({found} of {width} fields; truncated file?)")
                return rows
            layout.notes.append(f"dropped the incomplete last line {number} ({found} of {width} fields; "
                                "truncated file?)")
            return rows[:-1]
        if layout.names:
            reference = f"the header (line {layout.names_line}) names {width}"
        else:
            reference = f"line {rows[0][0]} has {width}"
        raise RRFileError(layout.label, f"{found} field(s), but {reference}: {quote(layout.data[index][1])}",
                          number)
    return rows


def to_numbers(layout: Layout, cells: list[str], lines: list[int], column: str, allow_empty: bool
             ) -> tuple[np.ndarray, np.ndarray]:
    """Parse ``cells`` as finite floats; the first bad cell raises, naming its line."""
    if allow_empty:
        kept = [(cell, line) for cell, line in zip(cells, lines, strict=True) if cell]
        cells = [cell for cell, _ in kept]
        lines = [line for _, line in kept]
    numeric = [cell.replace(",", ".") for cell in cells] if layout.decimal_comma else cells
    line_numbers = np.array(lines, dtype=np.int64)
    try:
        values = np.fromiter(map(float, numeric), dtype=np.float64, count=len(numeric))
    except ValueError:
        values = None
    if values is None:  # slow path: find the first bad line for the message
        for cell, text, line in zip(cells, numeric, lines, strict=True):
            try:
                float(text)
            except ValueError:
                if not cell:
                    raise RRFileError(layout.label, f"empty value{column}; expected a number", line) from None
                raise RRFileError(layout.label, f"{quote(cell)}{column} is not a number", line) from None
        raise AssertionError("unreachable: a cell failed to parse only in bulk")
    finite = np.isfinite(values)
    if not finite.all():
        index = int(np.flatnonzero(~finite)[0])
        raise RRFileError(layout.label, f"{quote(cells[index])}{column} is not a finite number",
                          int(line_numbers[index]))
    return values, line_numbers


def column_numbers(layout: Layout, rows: list[tuple[int, list[str]]], index: int, name: str | None,
                   allow_empty: bool) -> tuple[np.ndarray, np.ndarray]:
    """The numbers of one column; rows too short to reach it count as empty."""
    cells = [fields[index] if len(fields) > index else "" for _, fields in rows]
    lines = [number for number, _ in rows]
    column = f" in column {quote(name)}" if name is not None else ""
    return to_numbers(layout, cells, lines, column, allow_empty)


def unit_stated_in_text(layout: Layout) -> tuple[str, str] | None:
    """(unit, where) from a ``unit: s`` line in the header or comments."""
    for number, text in sorted(layout.comments + layout.header):
        match = _UNIT_STATEMENT.search(text)
        if match is not None:
            return UNIT_WORDS[match.group(1).lower()], f"stated on line {number}"
    return None


def resolve_unit(values: np.ndarray, stated: tuple[str, str] | None, notes: list[str]) -> tuple[str, bool]:
    """(unit, detected): the stated unit, or the one the median suggests."""
    median = float(np.median(values))
    if stated is not None:
        unit, where = stated
        notes.append(f"unit: {'seconds' if unit == 's' else 'milliseconds'} ({where})")
        inferred = "s" if median < SECONDS_MEDIAN_LIMIT else "ms"
        if inferred != unit:
            notes.append(f"warning: the values (median {median:.4g}) look like "
                         f"{'seconds' if inferred == 's' else 'milliseconds'}, but the file states {unit}")
        return unit, False
    unit = "s" if median < SECONDS_MEDIAN_LIMIT else "ms"
    notes.append(f"unit: {'seconds' if unit == 's' else 'milliseconds'} (inferred from values: median {median:.4g})")
    return unit, True


def _plausible(rr_ms: np.ndarray) -> np.ndarray:
    return (rr_ms >= PLAUSIBLE_RR_MIN_MS) & (rr_ms <= PLAUSIBLE_RR_MAX_MS)


def is_start_offset(rr_ms: np.ndarray) -> bool:
    """True when the first value is not an RR but a start time (see the module docstring)."""
    if rr_ms.size < 1 + MIN_VALUES_TO_JUDGE_OFFSET:
        return False
    first, rest = float(rr_ms[0]), rr_ms[1:]
    if first < 0 or PLAUSIBLE_RR_MIN_MS <= first <= PLAUSIBLE_RR_MAX_MS:
        return False
    median_plausible = PLAUSIBLE_RR_MIN_MS <= float(np.median(rest)) <= PLAUSIBLE_RR_MAX_MS
    if first > PLAUSIBLE_RR_MAX_MS and median_plausible:
        return True
    return float(np.mean(_plausible(rest))) >= PLAUSIBLE_FRACTION


def check_one_unit(label: str, values: np.ndarray, lines: np.ndarray) -> None:
    """Raise when one column mixes seconds and milliseconds (values below ``MIXED_SECONDS_BELOW``
    next to values above ``MIXED_MS_ABOVE``), naming a line of each. A lone odd value at the very
    end is a truncated last line (``8`` cut from ``812``) and is let through."""
    seconds = np.flatnonzero((values > 0) & (values < MIXED_SECONDS_BELOW))
    millis = np.flatnonzero(values > MIXED_MS_ABOVE)
    if not seconds.size or not millis.size:
        return
    odd, usual = (seconds, millis) if seconds.size <= millis.size else (millis, seconds)
    if odd.size == 1 and int(odd[0]) == values.size - 1:
        return  # only the last value: a line cut short (a truncated file), read as it stands
    first_odd, first_usual = int(odd[0]), int(usual[0])

    def kind(index: int) -> str:
        return "seconds" if values[index] < MIXED_SECONDS_BELOW else "milliseconds"

    raise RRFileError(label, f"mixed units: {values[first_odd]:g} looks like {kind(first_odd)}, but "
                      f"{values[first_usual]:g} on line {int(lines[first_usual])} looks like {kind(first_usual)} "
                      f"({odd.size:,} value(s) of the one, {usual.size:,} of the other); an RR column must hold "
                      "one unit: convert the file to one unit first", int(lines[first_odd]))


def check_positive(label: str, rr_ms: np.ndarray, values: np.ndarray, lines: np.ndarray, unit: str) -> None:
    """Raise on values in two units (:func:`check_one_unit`), then on the first RR that is zero or negative."""
    check_one_unit(label, values, lines)
    bad = np.flatnonzero(~(rr_ms > 0))
    if bad.size:
        index = int(bad[0])
        value = float(values[index])
        what = "zero" if value == 0 else "negative"
        raise RRFileError(label, f"RR interval {value:g} {unit} is {what}; RR intervals must be positive",
                          int(lines[index]))


def to_ms(values: np.ndarray, unit: str) -> np.ndarray:
    return values * MS_PER_S if unit == "s" else values.astype(np.float64, copy=True)


def make_series(layout: Layout, path: Path, rr_ms: np.ndarray, unit: str, detected: bool,
                start: float | None = None, beat_times: np.ndarray | None = None) -> RRSeries:
    return RRSeries(rr_ms=rr_ms, source=path, format=layout.format, unit=unit, unit_detected=detected,
                    notes=tuple(layout.notes), start_wall_time=start, beat_times_s=beat_times)
