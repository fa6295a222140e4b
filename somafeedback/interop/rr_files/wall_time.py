"""Wall-clock times in RR files: a date/timestamp cell as Unix seconds, and a recording's start.

:func:`parse_wall_time` reads Unix milliseconds or seconds, ISO 8601 and a few common date
layouts (naive times in this computer's time zone); the importer uses it for event files too.

Thread: any.
"""

from __future__ import annotations

import re
from datetime import datetime

import numpy as np

from ._text import quote
from .series import MS_PER_S


def parse_wall_time(text: str) -> tuple[float | None, str]:
    """(Unix seconds, how it was read) for a date/timestamp cell; None when unreadable."""
    value = text.strip().strip("\"'")
    if re.fullmatch(r"\d{12,14}", value):
        return int(value) / MS_PER_S, "Unix milliseconds"
    if re.fullmatch(r"\d{9,10}(\.\d+)?", value):
        return float(value), "Unix seconds"
    candidates = [value, re.sub(r"\s+([+-]\d{2}:?\d{2})$", r"\1", value)]
    parsed: datetime | None = None
    for candidate in candidates:
        try:
            parsed = datetime.fromisoformat(candidate)
            break
        except ValueError:
            continue
    if parsed is None:
        for pattern in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S.%f %z", "%d.%m.%Y %H:%M:%S", "%Y/%m/%d %H:%M:%S"):
            try:
                parsed = datetime.strptime(value, pattern)
                break
            except ValueError:
                continue
    if parsed is None:
        return None, "unreadable"
    try:
        stamp = parsed.timestamp()
    except (OverflowError, OSError, ValueError):
        return None, "out of range"
    if parsed.tzinfo is None:
        return stamp, "local time: the file gives no time zone, read in this computer's time zone"
    return stamp, "with its time zone"


def read_start_wall_time(rows: list[tuple[int, list[str]]], index: int, name: str, kept_lines: np.ndarray,
                         notes: list[str], arrival: bool) -> float | None:
    """Unix seconds from the wall-time column of the first row that gave an RR."""
    if kept_lines.size == 0:
        return None
    first_line = int(kept_lines[0])
    for number, fields in rows:
        if number == first_line:
            cell = fields[index] if len(fields) > index else ""
            break
    else:
        return None
    stamp, how = parse_wall_time(cell)
    if stamp is None:
        notes.append(f"start time not read: {quote(cell)} in column {quote(name)} on line {first_line} is {how}")
        return None
    what = "phone time when the first beat arrived over Bluetooth" if arrival else "time of the first beat"
    notes.append(f"start time {cell} from column {quote(name)}, line {first_line} ({what}; {how})")
    return stamp
