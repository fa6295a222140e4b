"""Read whole recordings of RR intervals from the text files users bring, and write Kubios files.

:func:`read_rr_file` turns one file into an :class:`RRSeries`: the RR intervals in ms, in file
order, never sorted or filtered for plausibility (artifact handling happens downstream). Bad
input raises one :class:`RRFileError` whose message starts with the file path and, where a line
is at fault, names it: ``data/x.txt: line 14: 'abc' is not a number``.

Text in general
    UTF-8 (with or without BOM), UTF-16 with BOM, or else Windows-1252; CR, LF or CRLF line
    ends. Lines whose first non-blank character is ``#`` are comments and blank lines are
    skipped anywhere; inline comments are not supported. Line numbers in errors are physical,
    1-based lines. Header lines are the text lines before the first line that starts with a
    number; after that every line is data. Columns are split on ``;``, else tab, else ``,``,
    else runs of spaces (decided by the first data line); cells may be wrapped in double quotes
    but may not contain the separator. In ``;``- and tab-separated files a decimal comma is
    accepted in RR cells, as it is in a single column of ``0,781``-style values. Files over
    ``MAX_FILE_BYTES`` are refused. A file that is binary (NUL or other control bytes, undecodable
    bytes, a NumPy ``.npy`` or a zip/xlsx archive) is rejected: ``.npy`` arrays are
    deliberately not read, save them with ``numpy.savetxt`` first.

Formats (``RRSeries.format``), in the order they are recognised
    ``polar-sensor-logger``
        Polar Sensor Logger ``*_RR.txt``: first line ``Phone timestamp;RR-interval [ms]``, rows
        ``2026-06-01T21:17:07.832;1111``. Also its HR-stream variant when it carries an
        ``RR-interval [ms]``-like column (rows with an empty RR cell are skipped); an HR file
        without one (``Phone timestamp;HR [bpm];HRV [ms];Breathing interval [rpm];``) is an
        error. The phone timestamp is the Bluetooth *arrival* time: it only gives
        ``start_wall_time`` (naive times are read in this computer's time zone), never beat
        times.
    ``kubios``
        Kubios HRV RR text input: any header lines (any line mentioning "Kubios", or two or
        more header lines, or a header naming a time and an RR column), then one RR column,
        or a time column and an RR column (named, or unnamed: then RR is the last column and
        the first is time). Unit from the RR column name (``RR (s)``, ``RR [ms]``), a
        ``unit: s``/``units = ms`` header line, or inferred. A time column becomes
        ``beat_times_s`` (time of the beat that ends each RR) only when its steps match the
        RR intervals within ``BEAT_TIME_TOLERANCE_S``; otherwise it is ignored with a note.
        :func:`write_kubios_rr` writes the layout documented there, which reads back exactly.
    ``hrv-logger``
        HRV Logger (Marco Altini) RR CSV: comma-separated header with an ``rr`` column in ms
        and a ``date`` or ``timestamp`` column, e.g. ``date,rr,since start`` over rows
        ``2025-04-25 06:37:37 +0000,823,823`` (classic) or ``timestamp,rr,since_start`` over
        ``1742229480012,823,823`` (Unix ms). The first date/timestamp (phone time of the first
        beat's arrival) gives ``start_wall_time``; ``since start`` (a running sum of RR) is
        ignored. Every row must have as many fields as the header.
    ``plain``
        Everything else: one RR per line (at most one header line of text, e.g. ``RR (ms)``),
        or several columns per line with the RR in the column named like RR in the header,
        or, with no header, in the *last* column (e.g. a Polar IBI CSV ``0.2211,936``: host
        arrival time, RR ms); other columns are ignored and never used as beat times.

Units
    A unit stated by the file (column name, ``unit:`` line, or a format that fixes it) wins
    (``unit_detected`` False); otherwise the median decides: below ``SECONDS_MEDIAN_LIMIT`` the
    values are seconds, else ms (``unit_detected`` True). Seconds are converted to ms by a
    single multiplication (0.6953125 s -> 695.3125 ms exactly).

Start offset
    In single-column files (``plain``, ``kubios``) a first value that is implausible as an RR
    (outside ``PLAUSIBLE_RR_MIN_MS``..``PLAUSIBLE_RR_MAX_MS``) is taken as a start offset and
    skipped with a note, when the rest of the file is plausible (their median is plausible
    and the first value is above the maximum, or at least ``PLAUSIBLE_FRACTION`` of them are
    plausible). PhysioNet-style exports such as ``nsr001_rr_secs.txt`` start like that.

Errors
    Missing file, directory, empty file or no RR values, a non-numeric, non-finite or empty
    value in the RR column, an RR that is zero or negative (after any start offset is skipped),
    binary content, a header without an RR column, rows whose field count differs from the
    header. A truncated last line is accepted: a lone ``8`` cut from ``812`` is just a value;
    a last CSV row that stops before its RR field is dropped with a note.

Thread: none of its own; functions are pure apart from file I/O and may run on any thread.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

FORMATS: tuple[str, ...] = ("plain", "kubios", "hrv-logger", "polar-sensor-logger")
UNITS: tuple[str, ...] = ("ms", "s")

SECONDS_MEDIAN_LIMIT = 10.0  # unitless values whose median is below this are seconds, else ms
PLAUSIBLE_RR_MIN_MS = 200.0  # ms; shortest RR called plausible when judging a start offset (300 bpm)
PLAUSIBLE_RR_MAX_MS = 3000.0  # ms; longest RR called plausible when judging a start offset (20 bpm)
PLAUSIBLE_FRACTION = 0.9  # share of the other values that must be plausible to drop a first value
MIN_VALUES_TO_JUDGE_OFFSET = 2  # count of other values needed before a first value may be dropped
BEAT_TIME_TOLERANCE_S = 0.005  # s; a time column is beat times only if its steps match RR within this
KUBIOS_DECIMALS = 10  # decimals of seconds written; exact for the 1/1024 s steps of BLE straps
MAX_QUOTED_CHARS = 40  # characters of an offending value quoted in an error message
MAX_FILE_BYTES = 256 * 2**20  # bytes; larger files are refused (a week of RR as text is ~10 MB)

_MS_PER_S = 1000.0  # ms in one second
_OWN_KUBIOS_MARKER = "Kubios HRV RR interval data (somafeedback)"  # first line of write_kubios_rr files

_NUMERIC_START = re.compile(r"""^["']?\s*[+-]?(?:\d|\.\d)""")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_UNIT_IN_NAME = re.compile(r"[\[(]\s*(ms|msec|millisec\w*|s|sec|secs|seconds?)\s*[\])]")
_UNIT_STATEMENT = re.compile(r"\bunits?\s*[:=]\s*(ms|msec|milliseconds?|s|sec|secs|seconds?)\b", re.IGNORECASE)
_UNIT_WORDS = {"ms": "ms", "msec": "ms", "millisecond": "ms", "milliseconds": "ms",
               "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s"}
_RR_NAMES = frozenset({"rr", "rri", "rrinterval", "rrintervals", "ibi", "ibis", "interbeatinterval",
                       "interbeatintervals", "nn", "nni", "nninterval", "nnintervals", "rrvalue", "rrvalues"})
_HR_NAMES = frozenset({"hr", "hrbpm", "heartrate", "heartratebpm", "bpm", "pulse", "pulserate"})
_TIME_NAMES = frozenset({"time", "t", "beattime", "beattimes", "rtime", "rpeaktime", "peaktime", "timeindex"})
_WALL_TIME_NAMES = frozenset({"date", "timestamp", "phonetimestamp", "datetime"})
_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x93NUMPY", "a NumPy .npy array, not a text file; save it as text first "
                   "(numpy.savetxt(path, rr_ms, fmt='%g'))"),
    (b"PK\x03\x04", "a zip archive (an .xlsx workbook?), not a text file; export it as CSV first"),
    (b"%PDF", "a PDF document, not an RR text file"),
)


class RRFileError(ValueError):
    """An RR file that cannot be read; the message starts with the file path."""

    def __init__(self, path: str | os.PathLike[str], problem: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{self.path}: {where}{problem}")


@dataclass(frozen=True, slots=True, eq=False)
class RRSeries:
    """One recording's RR intervals, as found in one file (arrays are read-only)."""

    rr_ms: np.ndarray  # float64, RR intervals in ms, in file order (never sorted or filtered)
    source: Path
    format: str  # one of FORMATS
    unit: str  # "ms" or "s": the unit found in the file
    unit_detected: bool  # True when the unit was inferred from the values (not stated by the file)
    notes: tuple[str, ...]  # human-readable remarks on how the file was read
    start_wall_time: float | None = None  # Unix seconds of the first beat, when the file says so
    beat_times_s: np.ndarray | None = None  # s; time of the beat ending each RR, only if the file gives true beat times

    def __post_init__(self) -> None:
        rr = np.array(self.rr_ms, dtype=np.float64)
        if rr.ndim != 1:
            raise ValueError(f"rr_ms must be one-dimensional, not shape {rr.shape}")
        rr.flags.writeable = False
        object.__setattr__(self, "rr_ms", rr)
        if self.beat_times_s is not None:
            times = np.array(self.beat_times_s, dtype=np.float64)
            if times.shape != rr.shape:
                raise ValueError(f"beat_times_s has shape {times.shape}, rr_ms {rr.shape}")
            times.flags.writeable = False
            object.__setattr__(self, "beat_times_s", times)
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, not {self.format!r}")
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}, not {self.unit!r}")
        object.__setattr__(self, "source", Path(self.source))
        object.__setattr__(self, "notes", tuple(self.notes))


# ---------------------------------------------------------------------------------------------
# Reading text


@dataclass(slots=True)
class _Layout:
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


def _quote(text: str) -> str:
    """``text`` quoted for an error message, shortened when long."""
    if len(text) > MAX_QUOTED_CHARS:
        text = text[: MAX_QUOTED_CHARS - 3] + "..."
    return repr(text)


def _decode(label: str, data: bytes) -> tuple[str, list[str]]:
    """Bytes to text (UTF-8, UTF-16 with BOM, or Windows-1252), refusing binary data."""
    for magic, what in _BINARY_MAGIC:
        if data.startswith(magic):
            raise RRFileError(label, f"this is {what}")
    notes: list[str] = []
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise RRFileError(label, "not a text file: it starts like UTF-16 but does not decode as UTF-16") from None
        notes.append("text decoded as UTF-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                line = data.count(b"\n", 0, error.start) + 1
                raise RRFileError(label, f"not a text file: undecodable byte 0x{data[error.start]:02x} "
                                  f"(binary data?); expected RR intervals as text", line) from None
            notes.append("text decoded as Windows-1252 (it is not valid UTF-8)")
    text = text.rstrip("\x1a")  # a DOS end-of-file mark
    bad = _CONTROL_CHARS.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        raise RRFileError(label, f"not a text file: control character 0x{ord(bad.group()):02x} "
                          f"(binary data?); expected RR intervals as text", line)
    return text, notes


def _read_text(path: str | os.PathLike[str]) -> tuple[str, Path, str, list[str]]:
    """The file's text, its Path, the label for messages, and decoding notes."""
    label = str(path)
    file = Path(path).expanduser()
    if not file.exists():
        raise RRFileError(label, "file not found")
    if file.is_dir():
        raise RRFileError(label, "is a directory, not an RR file")
    if not file.is_file():
        raise RRFileError(label, "not a regular file (a device or pipe?)")
    try:
        size = file.stat().st_size
    except OSError as error:
        raise RRFileError(label, f"cannot read the file: {error.strerror or error}") from None
    if size > MAX_FILE_BYTES:
        raise RRFileError(label, f"the file is {size / 2**20:.0f} MiB; RR files over "
                          f"{MAX_FILE_BYTES / 2**20:.0f} MiB are not read (is it really RR intervals?)")
    try:
        data = file.read_bytes()
    except PermissionError:
        raise RRFileError(label, "permission denied: the file cannot be read") from None
    except OSError as error:
        raise RRFileError(label, f"cannot read the file: {error.strerror or error}") from None
    if not data:
        raise RRFileError(label, "the file is empty (0 bytes); no RR values")
    text, notes = _decode(label, data)
    return text, file, label, notes


def _split_fields(text: str, delimiter: str | None) -> list[str]:
    """One line's cells, stripped of blanks and surrounding double quotes."""
    if delimiter is None:
        return text.split()
    if '"' in text:
        return [cell.strip().strip('"').strip() for cell in text.split(delimiter)]
    return [cell.strip() for cell in text.split(delimiter)]


def _split_header(text: str, delimiter: str | None, width: int) -> list[str]:
    """A header line's names; with whitespace-separated data, names may hold single spaces."""
    names = _split_fields(text, delimiter)
    if delimiter is None and len(names) != width:
        wide = [name for name in re.split(r"\t|\s{2,}", text.strip()) if name]
        if len(wide) == width:
            return wide
    return names


def _trimmed_width(fields: Sequence[str]) -> int:
    """Number of fields, not counting empty ones at the end (a trailing separator)."""
    width = len(fields)
    while width and not fields[width - 1]:
        width -= 1
    return width


def _name_parts(name: str) -> tuple[str, str | None]:
    """A column name reduced to its letters and digits, and the unit it states, if any."""
    text = name.strip().strip("\"'").lower()
    unit = None
    match = _UNIT_IN_NAME.search(text)
    if match is not None:
        unit = "ms" if match.group(1).startswith("m") else "s"
        text = text[: match.start()] + " " + text[match.end():]
    tokens = re.findall(r"[a-z0-9]+", text)
    if unit is None and len(tokens) > 1 and tokens[-1] in _UNIT_WORDS:
        unit = _UNIT_WORDS[tokens.pop()]
    return "".join(tokens), unit


def _find_column(names: Sequence[str], wanted: frozenset[str]) -> int | None:
    """Index of the first column whose name is in ``wanted``."""
    for index, name in enumerate(names):
        if _name_parts(name)[0] in wanted:
            return index
    return None


def _is_decimal_comma_column(data: Sequence[tuple[int, str]]) -> bool:
    """True for single-column data written with a decimal comma (``0,781``), not 'time,RR' pairs."""
    sample = data[:50]
    return all(re.fullmatch(r"[+-]?\d,\d+", text) for _, text in sample)


def _scan(label: str, text: str, notes: list[str]) -> _Layout:
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
                              f"starting with line {first_line}: {_quote(first)}")
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

    width = _trimmed_width(_split_fields(first_data_text, delimiter))
    names: list[str] | None = None
    names_line: int | None = None
    if header:
        names_line, last = header[-1]
        candidate = _split_header(last, delimiter, width)
        candidate = candidate[: _trimmed_width(candidate)]
        psl = _name_parts(candidate[0])[0] == "phonetimestamp" if candidate else False
        if len(candidate) == width or psl or (len(candidate) > 1 and delimiter is not None):
            names = candidate
        else:
            names_line = None

    layout = _Layout(label, "plain", header, comments, data, delimiter, names, names_line, decimal_comma, notes)
    layout.format = _classify(layout)
    return layout


def _classify(layout: _Layout) -> str:
    """The format name for a scanned file."""
    names = layout.names or []
    bases = {_name_parts(name)[0] for name in names}
    if "phonetimestamp" in bases:
        return "polar-sensor-logger"
    header_text = [text for _, text in layout.header] + [text for _, text in layout.comments]
    if any("kubios" in text.lower() for text in header_text):
        return "kubios"
    has_rr = bool(bases & _RR_NAMES)
    if has_rr and bases & {"date", "timestamp"}:
        return "hrv-logger"
    if len(layout.header) >= 2:
        return "kubios"
    if has_rr and bases & _TIME_NAMES:
        return "kubios"
    return "plain"


# ---------------------------------------------------------------------------------------------
# Columns to numbers


def _rows(layout: _Layout, width: int, needed: int, lenient: bool) -> list[tuple[int, list[str]]]:
    """Split data lines into cells; every row must be ``width`` wide unless ``lenient``.

    A narrower last row is a truncated line: kept when it has ``needed`` fields (it reaches the
    RR column), else dropped with a note.
    """
    delimiter = layout.delimiter
    rows = [(number, _split_fields(text, delimiter)) for number, text in layout.data]
    if lenient:
        return rows
    for index, (number, fields) in enumerate(rows):
        if len(fields) == width:
            continue
        found = _trimmed_width(fields)
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
        raise RRFileError(layout.label, f"{found} field(s), but {reference}: {_quote(layout.data[index][1])}",
                          number)
    return rows


def _numbers(layout: _Layout, cells: list[str], lines: list[int], column: str, allow_empty: bool
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
                raise RRFileError(layout.label, f"{_quote(cell)}{column} is not a number", line) from None
        raise AssertionError("unreachable: a cell failed to parse only in bulk")
    finite = np.isfinite(values)
    if not finite.all():
        index = int(np.flatnonzero(~finite)[0])
        raise RRFileError(layout.label, f"{_quote(cells[index])}{column} is not a finite number",
                          int(line_numbers[index]))
    return values, line_numbers


def _column(layout: _Layout, rows: list[tuple[int, list[str]]], index: int, name: str | None,
            allow_empty: bool) -> tuple[np.ndarray, np.ndarray]:
    """The numbers of one column; rows too short to reach it count as empty."""
    cells = [fields[index] if len(fields) > index else "" for _, fields in rows]
    lines = [number for number, _ in rows]
    column = f" in column {_quote(name)}" if name is not None else ""
    return _numbers(layout, cells, lines, column, allow_empty)


# ---------------------------------------------------------------------------------------------
# Units, start offset, sign


def _stated_unit(layout: _Layout) -> tuple[str, str] | None:
    """(unit, where) from a ``unit: s`` line in the header or comments."""
    for number, text in sorted(layout.comments + layout.header):
        match = _UNIT_STATEMENT.search(text)
        if match is not None:
            return _UNIT_WORDS[match.group(1).lower()], f"stated on line {number}"
    return None


def _resolve_unit(values: np.ndarray, stated: tuple[str, str] | None, notes: list[str]) -> tuple[str, bool]:
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


def _is_start_offset(rr_ms: np.ndarray) -> bool:
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


def _check_positive(label: str, rr_ms: np.ndarray, values: np.ndarray, lines: np.ndarray, unit: str) -> None:
    """Raise on the first RR that is zero or negative."""
    bad = np.flatnonzero(~(rr_ms > 0))
    if bad.size:
        index = int(bad[0])
        value = float(values[index])
        what = "zero" if value == 0 else "negative"
        raise RRFileError(label, f"RR interval {value:g} {unit} is {what}; RR intervals must be positive",
                          int(lines[index]))


def _to_ms(values: np.ndarray, unit: str) -> np.ndarray:
    return values * _MS_PER_S if unit == "s" else values.astype(np.float64, copy=True)


# ---------------------------------------------------------------------------------------------
# Wall-clock times


def _parse_wall_time(text: str) -> tuple[float | None, str]:
    """(Unix seconds, how it was read) for a date/timestamp cell; None when unreadable."""
    value = text.strip().strip("\"'")
    if re.fullmatch(r"\d{12,14}", value):
        return int(value) / _MS_PER_S, "Unix milliseconds"
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


def _start_wall_time(rows: list[tuple[int, list[str]]], index: int, name: str, kept_lines: np.ndarray,
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
    stamp, how = _parse_wall_time(cell)
    if stamp is None:
        notes.append(f"start time not read: {_quote(cell)} in column {_quote(name)} on line {first_line} is {how}")
        return None
    what = "phone time when the first beat arrived over Bluetooth" if arrival else "time of the first beat"
    notes.append(f"start time {cell} from column {_quote(name)}, line {first_line} ({what}; {how})")
    return stamp


# ---------------------------------------------------------------------------------------------
# Formats


def _series(layout: _Layout, path: Path, rr_ms: np.ndarray, unit: str, detected: bool,
            start: float | None = None, beat_times: np.ndarray | None = None) -> RRSeries:
    return RRSeries(rr_ms=rr_ms, source=path, format=layout.format, unit=unit, unit_detected=detected,
                    notes=tuple(layout.notes), start_wall_time=start, beat_times_s=beat_times)


def _read_polar_sensor_logger(layout: _Layout, path: Path) -> RRSeries:
    names = layout.names or []
    rr_index = _find_column(names, _RR_NAMES)
    if rr_index is None:
        listed = ", ".join(names)
        hr_file = _find_column(names, _HR_NAMES) is not None
        hint = " (this is the HR file; open the matching *_RR.txt file)" if hr_file else ""
        raise RRFileError(layout.label, f"the file has no RR intervals: Polar Sensor Logger columns are {listed}, "
                          f"with no 'RR-interval [ms]' column{hint}", layout.names_line)
    rows = _rows(layout, len(names), rr_index + 1, lenient=True)
    rr_name = names[rr_index]
    values, lines = _column(layout, rows, rr_index, rr_name, allow_empty=True)
    if values.size == 0:
        raise RRFileError(layout.label,
                          f"the file has no RR intervals: column {_quote(rr_name)} is empty on every line")
    skipped = len(rows) - values.size
    if skipped:
        layout.notes.append(f"{skipped} row(s) without an RR value skipped")
    unit = _name_parts(rr_name)[1] or "ms"
    layout.notes.append(f"unit: {'milliseconds' if unit == 'ms' else 'seconds'} (stated by column {_quote(rr_name)})")
    rr_ms = _to_ms(values, unit)
    _check_positive(layout.label, rr_ms, values, lines, unit)
    time_index = _find_column(names, _WALL_TIME_NAMES)
    start = None
    if time_index is not None:
        start = _start_wall_time(rows, time_index, names[time_index], lines, layout.notes, arrival=True)
    layout.notes.append("phone timestamps are Bluetooth arrival times: not used as beat times")
    return _series(layout, path, rr_ms, unit, False, start)


def _read_hrv_logger(layout: _Layout, path: Path) -> RRSeries:
    names = layout.names or []
    rr_index = _find_column(names, _RR_NAMES)
    assert rr_index is not None  # _classify saw an RR column
    rows = _rows(layout, len(names), rr_index + 1, lenient=False)
    rr_name = names[rr_index]
    values, lines = _column(layout, rows, rr_index, rr_name, allow_empty=False)
    stated_unit = _name_parts(rr_name)[1]
    stated = ((stated_unit, f"stated by column {_quote(rr_name)}") if stated_unit
              else ("ms", "HRV Logger writes RR in ms"))
    unit, detected = _resolve_unit(values, stated, layout.notes)
    rr_ms = _to_ms(values, unit)
    _check_positive(layout.label, rr_ms, values, lines, unit)
    since_index = _find_column(names, frozenset({"sincestart"}))
    if since_index is not None:
        layout.notes.append(f"column {_quote(names[since_index])} ignored (a running sum of the RR intervals)")
    time_index = _find_column(names, frozenset({"date", "timestamp", "datetime"}))
    start = None
    if time_index is not None:
        start = _start_wall_time(rows, time_index, names[time_index], lines, layout.notes, arrival=True)
    return _series(layout, path, rr_ms, unit, detected, start)


def _beat_times(layout: _Layout, rows: list[tuple[int, list[str]]], index: int, name: str | None,
                rr_ms: np.ndarray, lines: np.ndarray) -> np.ndarray | None:
    """A Kubios time column as beat times (s), if its steps match the RR intervals."""
    label = _quote(name) if name is not None else str(index + 1)
    cells = [fields[index] for _, fields in rows]
    try:
        times, _ = _numbers(layout, cells, [number for number, _ in rows], "", allow_empty=False)
    except RRFileError as error:
        layout.notes.append(f"time column {label} ignored: {error.problem} (line {error.line})")
        return None
    stated = _name_parts(name)[1] if name is not None else None
    rr_s = rr_ms / _MS_PER_S
    for unit in ([stated] if stated else ["s", "ms"]) if rr_s.size >= 2 else []:
        times_s = times / _MS_PER_S if unit == "ms" else times
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


def _read_table(layout: _Layout, path: Path) -> RRSeries:
    """``plain`` and ``kubios``: one RR column, or a column picked by name or position."""
    first_fields = _split_fields(layout.data[0][1], layout.delimiter)
    width = _trimmed_width(first_fields)
    names = layout.names
    rr_index: int | None
    time_index: int | None = None
    rr_name: str | None = None
    if names is not None and len(names) != width:
        raise RRFileError(layout.label, f"{width} field(s), but the header (line {layout.names_line}) names "
                          f"{len(names)}: {_quote(layout.data[0][1])}", layout.data[0][0])
    if names is not None and width > 1:
        rr_index = _find_column(names, _RR_NAMES)
        if rr_index is None:
            raise RRFileError(layout.label, f"no RR-interval column in the header {_quote(layout.header[-1][1])}; "
                              "expected a column named like 'rr', 'RR (ms)', 'RR-interval [ms]' or 'IBI'",
                              layout.names_line)
        rr_name = names[rr_index]
        time_index = _find_column(names, _TIME_NAMES)
    elif names is not None:  # one column under one header line
        rr_index = 0
        base = _name_parts(names[0])[0]
        if base in _HR_NAMES:
            raise RRFileError(layout.label, f"column {_quote(names[0])} holds heart rate, not RR intervals",
                              layout.names_line)
        if base in _RR_NAMES:
            rr_name = names[0]
        else:
            layout.notes.append(f"header line {layout.names_line} {_quote(names[0])} skipped")
    else:
        rr_index = width - 1
        if width > 1 and layout.format == "kubios":
            time_index = 0
            layout.notes.append(f"{width} columns without names: RR taken from the last column, "
                                "the first read as time")
        elif width > 1:
            layout.notes.append(f"{width} columns per line: RR taken from the last column; column 1 ignored "
                                "(e.g. Bluetooth arrival times, which are not beat times)")
        for number, text in layout.header:
            layout.notes.append(f"header line {number} {_quote(text)} skipped")

    if width == 1 and layout.delimiter is None:  # the 24 h files: no per-line lists
        rows: list[tuple[int, list[str]]] = []
        column = f" in column {_quote(rr_name)}" if rr_name is not None else ""
        values, lines = _numbers(layout, [text for _, text in layout.data], [number for number, _ in layout.data],
                                 column, allow_empty=False)
    else:
        rows = _rows(layout, width, rr_index + 1, lenient=False)
        values, lines = _column(layout, rows, rr_index, rr_name, allow_empty=False)

    name_unit = _name_parts(rr_name)[1] if rr_name is not None else None
    stated = (name_unit, f"stated by column {_quote(rr_name)}") if name_unit else _stated_unit(layout)
    unit, detected = _resolve_unit(values, stated, layout.notes)
    rr_ms = _to_ms(values, unit)

    own_export = bool(layout.comments) and _OWN_KUBIOS_MARKER in layout.comments[0][1]
    if width == 1 and not own_export and _is_start_offset(rr_ms):
        shown = f"{values[0]:g} {unit}"
        layout.notes.append(f"skipped first value {shown} (line {int(lines[0])}): not a plausible RR, "
                            "taken as the start offset")
        values, lines, rr_ms = values[1:], lines[1:], rr_ms[1:]
    _check_positive(layout.label, rr_ms, values, lines, unit)

    beat_times = None
    if time_index is not None and time_index != rr_index:
        beat_times = _beat_times(layout, rows, time_index, names[time_index] if names else None, rr_ms, lines)
    return _series(layout, path, rr_ms, unit, detected, beat_times=beat_times)


def _load(path: str | os.PathLike[str]) -> tuple[_Layout, Path]:
    text, file, label, notes = _read_text(path)
    return _scan(label, text, notes), file


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
        return _read_polar_sensor_logger(layout, file)
    if layout.format == "hrv-logger":
        return _read_hrv_logger(layout, file)
    return _read_table(layout, file)


# ---------------------------------------------------------------------------------------------
# Writing Kubios files


def _header_text(value: object) -> str:
    """``value`` as one header line's worth of text: whitespace runs to one space, control characters to '?'."""
    return " ".join(_CONTROL_CHARS.sub("?", str(value)).split())


def write_kubios_rr(path: str | os.PathLike[str], rr_ms: Sequence[float] | np.ndarray,
                    header: Mapping[str, str] | None = None) -> Path:
    """Write RR intervals as a Kubios HRV RR text file; :func:`read_rr_file` reads it back exactly.

    Layout (UTF-8, CRLF line ends): every header line starts with ``#``::

        # Kubios HRV RR interval data (somafeedback): N header lines, then one RR interval per line in seconds
        # unit: s
        # <key>: <value>            one line per ``header`` entry, in order
        # RR interval (s)
        0.7890000000

    Header keys and values are flattened to one line each (control characters become ``?``).
    Then one RR per line in seconds with ``KUBIOS_DECIMALS`` decimals (exact for 1/1024 s strap
    values; any RR round-trips to better than 1e-6 ms). In Kubios HRV open it as an RR
    interval ASCII file ("custom" import): skip the N header lines the first line announces,
    one data column, data type RR intervals, unit seconds. Tools that skip ``#`` lines (numpy's
    ``loadtxt``) read it directly. ``rr_ms`` must be one-dimensional, finite and positive.
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.ndim != 1 or rr.size == 0:
        raise ValueError(f"rr_ms must be a non-empty one-dimensional sequence, not shape {rr.shape}")
    if not np.all(np.isfinite(rr)) or not np.all(rr > 0):
        index = int(np.flatnonzero(~(np.isfinite(rr) & (rr > 0)))[0])
        raise ValueError(f"rr_ms[{index}] = {rr[index]!r}: RR intervals must be finite and positive")
    entries: list[str] = []
    for key, value in (header or {}).items():
        key_text = _header_text(key)
        value_text = _header_text(value)
        if not key_text:
            raise ValueError("header keys must not be empty")
        entries.append(f"# {key_text}: {value_text}")
    count = 3 + len(entries)
    lines = [f"# {_OWN_KUBIOS_MARKER}: {count} header lines, "
             "then one RR interval per line in seconds", "# unit: s", *entries, "# RR interval (s)"]
    rr_s = rr / _MS_PER_S
    lines.extend(f"{value:.{KUBIOS_DECIMALS}f}" for value in rr_s)
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8", newline="\r\n") as stream:
            stream.write("\n".join(lines) + "\n")
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()
    return target


__all__ = [
    "BEAT_TIME_TOLERANCE_S",
    "FORMATS",
    "KUBIOS_DECIMALS",
    "RRFileError",
    "RRSeries",
    "detect_format",
    "read_rr_file",
    "write_kubios_rr",
]
