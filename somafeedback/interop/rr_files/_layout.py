"""Sniffing a file's layout: header, comment and data lines, separator, column names, format.

:func:`scan` splits decoded text into a :class:`Layout` and classifies it as one of
:data:`~somafeedback.interop.rr_files.FORMATS` (the rules are the "Text in general" and "Formats"
sections of the :mod:`somafeedback.interop.rr_files` docstring); the column-name helpers here are
shared by the format readers.

Thread: any.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ._text import quote
from .series import RRFileError

_NUMERIC_START = re.compile(r"""^["']?\s*[+-]?(?:\d|\.\d)""")
_UNIT_IN_NAME = re.compile(r"[\[(]\s*(ms|msec|millisec\w*|s|sec|secs|seconds?)\s*[\])]")
UNIT_WORDS = {"ms": "ms", "msec": "ms", "millisecond": "ms", "milliseconds": "ms",
              "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s"}
RR_NAMES = frozenset({"rr", "rri", "rrinterval", "rrintervals", "ibi", "ibis", "interbeatinterval",
                      "interbeatintervals", "nn", "nni", "nninterval", "nnintervals", "rrvalue", "rrvalues"})
HR_NAMES = frozenset({"hr", "hrbpm", "heartrate", "heartratebpm", "bpm", "pulse", "pulserate"})
TIME_NAMES = frozenset({"time", "t", "beattime", "beattimes", "rtime", "rpeaktime", "peaktime", "timeindex"})
WALL_TIME_NAMES = frozenset({"date", "timestamp", "phonetimestamp", "datetime"})


@dataclass(slots=True)
class Layout:
    """A file split into its parts: header, comments and data lines, and how the data is laid out."""

    label: str  # the path as the user gave it, for messages
    format: str
    header: list[tuple[int, str]]  # (line number, stripped text) of the text lines before the data
    comments: list[tuple[int, str]]  # (line number, text) of '#' lines
    data: list[tuple[int, str]]  # (line number, stripped text) of the data lines
    delimiter: str | None  # None: runs of whitespace
    names: list[str] | None  # column names from the last header line, when they line up with the data
    names_line: int | None
    decimal_comma: bool
    notes: list[str]


def split_fields(text: str, delimiter: str | None) -> list[str]:
    """One line's cells, stripped of blanks and surrounding double quotes."""
    if delimiter is None:
        return text.split()
    if '"' in text:
        return [cell.strip().strip('"').strip() for cell in text.split(delimiter)]
    return [cell.strip() for cell in text.split(delimiter)]


def _split_header(text: str, delimiter: str | None, width: int) -> list[str]:
    """A header line's names; with whitespace-separated data, names may hold single spaces."""
    names = split_fields(text, delimiter)
    if delimiter is None and len(names) != width:
        wide = [name for name in re.split(r"\t|\s{2,}", text.strip()) if name]
        if len(wide) == width:
            return wide
    return names


def trimmed_width(fields: Sequence[str]) -> int:
    """Number of fields, not counting empty ones at the end (a trailing separator)."""
    width = len(fields)
    while width and not fields[width - 1]:
        width -= 1
    return width


def name_parts(name: str) -> tuple[str, str | None]:
    """A column name reduced to its letters and digits, and the unit it states, if any."""
    text = name.strip().strip("\"'").lower()
    unit = None
    match = _UNIT_IN_NAME.search(text)
    if match is not None:
        unit = "ms" if match.group(1).startswith("m") else "s"
        text = text[: match.start()] + " " + text[match.end():]
    tokens = re.findall(r"[a-z0-9]+", text)
    if unit is None and len(tokens) > 1 and tokens[-1] in UNIT_WORDS:
        unit = UNIT_WORDS[tokens.pop()]
    return "".join(tokens), unit


def find_column(names: Sequence[str], wanted: frozenset[str]) -> int | None:
    """Index of the first column whose name is in ``wanted``."""
    for index, name in enumerate(names):
        if name_parts(name)[0] in wanted:
            return index
    return None


def _is_decimal_comma_column(data: Sequence[tuple[int, str]]) -> bool:
    """True for single-column data written with a decimal comma (``0,781``), not 'time,RR' pairs."""
    sample = data[:50]
    return all(re.fullmatch(r"[+-]?\d,\d+", text) for _, text in sample)


def scan(label: str, text: str, notes: list[str]) -> Layout:
    """Split text into header, comments and data; find the separator, column names and format."""
    stripped = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    header: list[tuple[int, str]] = []
    first_data = len(stripped)
    for index, line in enumerate(stripped):
        if not line or line[0] == "#":
            continue
        if _NUMERIC_START.match(line):
            first_data = index
            break
        header.append((index + 1, line))
    comments = [(number, line) for number, line in enumerate(stripped, 1) if line and line[0] == "#"]
    data = [(number, line) for number, line in enumerate(stripped[first_data:], first_data + 1)
            if line and line[0] != "#"]
    if not data:
        if header:
            first_line, first = header[0]
            raise RRFileError(label, f"no RR values: the {len(header)} non-comment line(s) are all text, "
                              f"starting with line {first_line}: {quote(first)}")
        raise RRFileError(label, "no RR values: the file holds only blank lines and comments")

    first_data_text = data[0][1]
    decimal_comma = False
    if ";" in first_data_text:
        delimiter: str | None = ";"
    elif "\t" in first_data_text:
        delimiter = "\t"
    elif "," in first_data_text:
        delimiter = ","
        if _is_decimal_comma_column(data):
            delimiter, decimal_comma = None, True
            notes.append("values use a decimal comma")
    else:
        delimiter = None
    if delimiter in (";", "\t"):
        decimal_comma = True

    width = trimmed_width(split_fields(first_data_text, delimiter))
    names: list[str] | None = None
    names_line: int | None = None
    if header:
        names_line, last = header[-1]
        candidate = _split_header(last, delimiter, width)
        candidate = candidate[: trimmed_width(candidate)]
        psl = name_parts(candidate[0])[0] == "phonetimestamp" if candidate else False
        if len(candidate) == width or psl or (len(candidate) > 1 and delimiter is not None):
            names = candidate
        else:
            names_line = None

    layout = Layout(label, "plain", header, comments, data, delimiter, names, names_line, decimal_comma, notes)
    layout.format = _classify(layout)
    return layout


def _classify(layout: Layout) -> str:
    """The format name for a scanned file."""
    names = layout.names or []
    bases = {name_parts(name)[0] for name in names}
    if "phonetimestamp" in bases:
        return "polar-sensor-logger"
    header_text = [text for _, text in layout.header] + [text for _, text in layout.comments]
    if any("kubios" in text.lower() for text in header_text):
        return "kubios"
    has_rr = bool(bases & RR_NAMES)
    if has_rr and bases & {"date", "timestamp"}:
        return "hrv-logger"
    if len(layout.header) >= 2:
        return "kubios"
    if has_rr and bases & TIME_NAMES:
        return "kubios"
    return "plain"
