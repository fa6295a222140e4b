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

Formats (``RRSeries.format``), in the order they are recognised (each described in its reader)
    ``polar-sensor-logger`` (:mod:`~somafeedback.interop.rr_files.polar_sensor_logger`): Polar Sensor
    Logger ``*_RR.txt`` files.
    ``kubios`` (:mod:`~somafeedback.interop.rr_files.table`): Kubios HRV RR text input, including what
    :func:`write_kubios_rr` writes.
    ``hrv-logger`` (:mod:`~somafeedback.interop.rr_files.hrv_logger`): HRV Logger RR CSV.
    ``plain`` (:mod:`~somafeedback.interop.rr_files.table`): everything else, one RR per line or an RR
    column.

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

Modules
    ``series`` (:class:`RRSeries`, :class:`RRFileError`), ``_text`` (file checks and decoding),
    ``_layout`` (sniffing lines, separator, column names and format), ``_values`` (cells to RR
    in ms: numbers, unit, start offset, sign), ``wall_time`` (:func:`parse_wall_time`), the
    readers ``polar_sensor_logger``, ``hrv_logger`` and ``table``, ``reading``
    (:func:`read_rr_file`, :func:`detect_format`) and ``kubios_writer`` (:func:`write_kubios_rr`).

Thread: none of its own; functions are pure apart from file I/O and may run on any thread.
"""

from __future__ import annotations

from ._text import MAX_FILE_BYTES, MAX_QUOTED_CHARS
from ._values import (
    MIN_VALUES_TO_JUDGE_OFFSET,
    PLAUSIBLE_FRACTION,
    PLAUSIBLE_RR_MAX_MS,
    PLAUSIBLE_RR_MIN_MS,
    SECONDS_MEDIAN_LIMIT,
)
from .kubios_writer import KUBIOS_DECIMALS, write_kubios_rr
from .reading import detect_format, read_rr_file
from .series import FORMATS, UNITS, RRFileError, RRSeries
from .table import BEAT_TIME_TOLERANCE_S
from .wall_time import parse_wall_time

# The other public constants (MAX_FILE_BYTES, UNITS, ...) stay importable from here, as before the split.

__all__ = [
    "BEAT_TIME_TOLERANCE_S",
    "FORMATS",
    "KUBIOS_DECIMALS",
    "RRFileError",
    "RRSeries",
    "detect_format",
    "parse_wall_time",
    "read_rr_file",
    "write_kubios_rr",
]
