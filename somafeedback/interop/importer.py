"""Import RR recordings made elsewhere as ordinary sessions in the library.

:func:`import_file` reads one RR file (every layout :func:`~somafeedback.interop.rr_files.read_rr_file`
accepts: plain RR text in ms or s, Kubios RR text, HRV Logger RR CSV, Polar Sensor Logger files,
two-column arrival-time/RR CSVs), optionally an HRV Logger events CSV, and writes one new
session file (``*.session.sqlite``) into the library folder. Nothing else in the library is
touched, and a file that cannot be imported leaves nothing behind.

What an imported session holds
    An imported recording becomes an ordinary session, replayed and analysed exactly like a
    live one, because every beat is stored the way a strap would have sent it:

    * one Heart Rate Measurement (0x2A37) notification per beat, ``strap1``, sequence numbers
      from 1, payload ``encode_measurement(bpm, [ticks], contact=None)`` (contact "not
      supported": the file cannot tell; ``bpm`` is ``60 / RR`` rounded);
    * RR at the strap's resolution: ``ticks = round(rr_ms * 1024 / 1000)`` (halves round up).
      Values from whole-ms files move by at most 0.49 ms; values on the 1/1024 s grid (and
      the 1/128 s PhysioNet grid) are exact. RR that round to 0 ticks or exceed 65535 ticks
      (63.999 s, the most a uint16 can hold) cannot be stored and fail the import;
    * each notification stamped at its beat's own time: ``host_ns`` is the cumulative sum of
      the stored ticks from the session start (the beat *before* the first RR is at host time
      0, so the first beat is at its own RR), and ``wall_time = started_wall + host_ns``.
      The live beat timing (``BeatTimer``) anchors the first packet at its arrival and then
      places beat k at the cumulative tick sum, so every decoded beat lands exactly on its
      cumulative time and all beats form one segment. When the file has true beat times (a
      Kubios time column whose steps match the RR), notifications are stamped at those times
      instead (shifted so the first beat stays at its RR); the decoded beats still follow the
      cumulative sum, re-anchoring only if the two drift apart by seconds;
    * around the beats: ``LinkEvent(connecting)``, ``StrapInfo("imported RR", address "",
      battery None, location None)`` and ``LinkEvent(streaming)`` at host time 0, and
      ``LinkEvent(stopped)`` at the last beat; markers from an events CSV as
      ``TimelineEvent("marker", ..., {"label": ...})`` at their times, after any beat stamped
      at the same nanosecond.

    Because each RR is rounded on its own, beat times (the cumulative sum of the stored RR)
    drift from the cumulative sum of the file's values by a random walk of the rounding
    errors (about 0.3 ms x sqrt(beats); ~13 ms after 2000 whole-ms beats). The manifest
    records the largest RR change and the largest beat-time shift.

Manifest
    ``client`` (a pseudonym, or None), ``practitioner`` None, ``mode`` "imported",
    ``devices`` ``[{"strap_id": "strap1", "name": "imported RR"}]``, ``started_host_ns`` 0,
    ``tags``, ``recorder`` ``{"kind": "import"}`` (no host name or process id), and
    ``source``: ``{"kind": "import", "file": <file name>, "format", "unit", "unit_detected",
    "notes": [...], "beats", "beat_timing", "start_wall_from", "quantised_to_1_1024_s": true,
    "max_quantisation_ms", "max_beat_time_shift_ms", "events_file", "markers"}`` plus any
    ``origin`` the caller gives (e.g. where public data came from).

    ``started_wall`` is the wall time of host time 0. Files that give the phone time of their
    first beat (HRV Logger, Polar Sensor Logger) put host time 0 one RR before it, so the
    first beat's ``wall_time`` is the file's own time; otherwise the file's modification
    time is used (the manifest says which), unless the caller passes ``start_wall``.

Events CSV (HRV Logger)
    HRV Logger (Marco Altini) exports events as ``date, timestamp, annotation, manual`` rows,
    e.g. ``2025-03-11 09:58:28 +0000, 60.651170, Start Ruhe, 1``: ``date`` is the phone's
    wall time (whole seconds), ``timestamp`` the seconds since the recording started,
    ``annotation`` the label. :func:`read_events_csv` also takes other event tables: a
    header row (separated by ``,`` ``;`` or tab) with a label column (annotation, event,
    tag, label, marker, note, description, comment, name, text) and at least one time
    column (date, datetime, time, timestamp, phone timestamp). A time cell is a date and
    time (ISO 8601 or ``YYYY-MM-DD HH:MM:SS +ZZZZ``; without a zone it is read in this
    computer's time zone, as the RR files are), Unix seconds or milliseconds, or a plain
    number of seconds from the session start. When a row gives both a wall time and such an
    offset and they agree within ``OFFSET_AGREEMENT_S``, the (finer) offset is used; if they
    disagree the wall time wins and the manifest notes it. Rows without a label are skipped
    (noted). Markers before the session start or after the last beat are kept, placed at the
    nearest end of the session, with their own time in ``data["file_time_s"]`` and a note.

Failure
    Every problem with the input raises one :class:`ImportFileError` (a ``ValueError``) whose
    message starts with the offending file's path. The session is written to a hidden
    temporary file in the library folder (a name the library does not list) and moved into
    place with ``os.replace`` only when complete; any failure removes it (and SQLite's side
    files), and a library folder this call created is removed again if it stayed empty.
    Sessions are created 0600 by :class:`~somafeedback.sessions.file.SessionWriter`.

Thread: any; synchronous (file I/O only).
"""

from __future__ import annotations

import csv
import math
import os
import re
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from somafeedback.devices.events import LinkEvent, LinkState, Notification, StrapInfo, TimelineEvent
from somafeedback.devices.gatt_uuids import HEART_RATE_MEASUREMENT
from somafeedback.devices.heart_rate import encode_measurement
from somafeedback.progress import Progress, ProgressCallback
from .rr_files import RRFileError, RRSeries, parse_wall_time as _parse_wall_time, read_rr_file
from somafeedback.sessions.file import SUFFIX, TimelineItem, new_session_path, write_session
from somafeedback.sessions.private import private_folder

__all__ = [
    "DEVICE_NAME",
    "ImportFileError",
    "OFFSET_AGREEMENT_S",
    "import_file",
    "read_events_csv",
    "rr_timeline",
]

TICKS_PER_S: Final = 1024  # RR resolution of the Heart Rate Measurement characteristic
MAX_TICKS: Final = 0xFFFF  # largest RR a uint16 field holds (63.999 s)
NS_PER_S: Final = 1_000_000_000
DEVICE_NAME: Final = "imported RR"  # the StrapInfo name and manifest device name of imports
STRAP_ID: Final = "strap1"
OFFSET_AGREEMENT_S: Final = 2.0  # s; an event's offset and wall time "agree" within this (date has whole seconds)
MAX_EVENTS_BYTES: Final = 16 * 2**20  # events files larger than this are refused
END_REASON: Final = "imported"
TEMP_PREFIX: Final = ".importing-"  # temporary files: hidden, and never ending in SUFFIX

_LABEL_NAMES: Final = frozenset({"annotation", "annotations", "event", "events", "eventname", "tag", "tags",
                                 "label", "marker", "markers", "note", "notes", "description", "comment", "name",
                                 "text"})
_TIME_NAMES: Final = ("date", "datetime", "phonetimestamp", "walltime", "time", "timestamp")  # order = preference
_CONTROL_CHARS: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PLAIN_NUMBER: Final = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class ImportFileError(ValueError):
    """A file that cannot be imported; the message starts with the file's path when known."""

    def __init__(self, problem: str, path: str | os.PathLike[str] | None = None, line: int | None = None) -> None:
        self.path = None if path is None else str(path)
        self.problem = problem
        self.line = line
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{self.path}: {where}{problem}" if self.path is not None else f"{where}{problem}")


# ---------------------------------------------------------------------------------------------
# RR -> timeline


def _quantise(rr_ms: np.ndarray) -> np.ndarray:
    """RR in ms to 1/1024 s ticks (halves round up), checked to fit a uint16 RR field."""
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.ndim != 1 or rr.size == 0:
        raise ImportFileError(f"no RR intervals to import (shape {rr.shape})")
    bad = np.flatnonzero(~np.isfinite(rr) | ~(rr > 0))
    if bad.size:
        k = int(bad[0])
        raise ImportFileError(f"RR #{k + 1} is {rr[k]!r} ms; RR intervals must be finite and positive")
    ticks = np.floor(rr * TICKS_PER_S / 1000.0 + 0.5)
    bad = np.flatnonzero((ticks < 1) | (ticks > MAX_TICKS))
    if bad.size:
        k = int(bad[0])
        limit = (f"longer than {MAX_TICKS / TICKS_PER_S:.3f} s, the most a Heart Rate Measurement can carry"
                 if ticks[k] > MAX_TICKS else f"shorter than half a 1/{TICKS_PER_S} s tick")
        raise ImportFileError(f"RR #{k + 1} is {rr[k]:g} ms: {limit}; it cannot be stored as a strap RR")
    return ticks.astype(np.int64)


def _beat_ns(ticks: np.ndarray, beat_times_s: np.ndarray | None) -> np.ndarray:
    """host_ns of every beat: the cumulative tick sum, or the file's beat times (first beat kept at its RR)."""
    cumulative = np.cumsum(ticks)
    cum_ns = (cumulative * NS_PER_S + TICKS_PER_S // 2) // TICKS_PER_S  # exact integer rounding
    if beat_times_s is None:
        return cum_ns
    times = np.asarray(beat_times_s, dtype=np.float64)
    if times.shape != ticks.shape:
        raise ImportFileError(f"beat_times_s has shape {times.shape}, RR {ticks.shape}")
    if not np.all(np.isfinite(times)) or np.any(np.diff(times) < 0):
        raise ImportFileError("beat times must be finite and non-decreasing")
    return np.rint((times - times[0]) * NS_PER_S).astype(np.int64) + cum_ns[0]


def _place_marker(t_s: float, end_ns: int) -> tuple[int, str | None]:
    """(host_ns where a marker goes, why it was moved or None)."""
    ns = round(t_s * NS_PER_S)
    if ns < 0:
        return 0, "before the session start"
    if ns > end_ns:
        return end_ns, "after the last beat"
    return ns, None


def rr_timeline(rr_ms: np.ndarray, start_wall: float, strap_id: str = STRAP_ID,
                beat_times_s: np.ndarray | None = None,
                markers: Sequence[tuple[float, str]] = ()) -> list[TimelineItem]:
    """The timeline of a recording that consists of RR intervals (see the module docstring).

    ``start_wall`` is the wall time of host time 0 (one RR before the first beat);
    ``markers`` are ``(seconds from host time 0, label)``. Raises :class:`ImportFileError`
    (without a path) for RR that cannot be stored.
    """
    ticks = _quantise(rr_ms)
    return list(_iter_timeline(ticks, _beat_ns(ticks, beat_times_s), start_wall, strap_id, markers))


def _iter_timeline(ticks: np.ndarray, beat_ns: np.ndarray, start_wall: float, strap_id: str,
                   markers: Sequence[tuple[float, str]]) -> Iterator[TimelineItem]:
    """:func:`rr_timeline` one item at a time (an import holds one beat's objects at a time, not the
    whole recording's); beats are in time order, markers merged in after any beat at the same ns."""
    if not math.isfinite(start_wall):
        raise ImportFileError(f"start_wall must be finite, not {start_wall!r}")
    end_ns = int(beat_ns[-1])
    placed: list[tuple[int, int, TimelineItem]] = []  # (host_ns, index, marker)
    for j, (t_s, label) in enumerate(markers):
        if not math.isfinite(t_s):
            raise ImportFileError(f"marker {label!r} has no finite time ({t_s!r})")
        ns, moved = _place_marker(float(t_s), end_ns)
        data: dict[str, Any] = {"label": str(label)}
        if moved is not None:
            data.update(file_time_s=float(t_s), outside=moved)
        placed.append((ns, j, TimelineEvent("marker", ns, start_wall + ns / NS_PER_S, data)))
    placed.sort(key=lambda entry: entry[:2])
    yield LinkEvent(strap_id, LinkState.CONNECTING, 0, start_wall)
    yield StrapInfo(strap_id, DEVICE_NAME, "", 0, None, None)
    yield LinkEvent(strap_id, LinkState.STREAMING, 0, start_wall)
    next_marker = 0
    for i in range(ticks.size):
        tick, ns = int(ticks[i]), int(beat_ns[i])
        while next_marker < len(placed) and placed[next_marker][0] < ns:
            yield placed[next_marker][2]
            next_marker += 1
        bpm = min(MAX_TICKS, round(60 * TICKS_PER_S / tick))
        yield Notification(strap_id, HEART_RATE_MEASUREMENT, i + 1, ns, start_wall + ns / NS_PER_S,
                           encode_measurement(bpm, [tick], contact=None))
    for _ns, _j, marker in placed[next_marker:]:
        yield marker
    yield LinkEvent(strap_id, LinkState.STOPPED, end_ns, start_wall + end_ns / NS_PER_S,
                    detail="end of the imported file")


# ---------------------------------------------------------------------------------------------
# Events CSV


def _key(name: str) -> str:
    return "".join(re.findall(r"[a-z0-9]+", name.strip().strip("\"'").lower()))


def _events_text(path: Path, label: str) -> str:
    if not path.exists():
        raise ImportFileError("events file not found", label)
    if not path.is_file():
        raise ImportFileError("not a regular file (a folder?); expected an events CSV", label)
    size = path.stat().st_size
    if size > MAX_EVENTS_BYTES:
        raise ImportFileError(f"the events file is {size / 2**20:.0f} MiB; larger than an events CSV can be", label)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImportFileError(f"cannot read the events file: {error.strerror or error}", label) from None
    if not data.strip():
        raise ImportFileError("the events file is empty", label)
    try:
        text = data.decode("utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise ImportFileError("not a text file (undecodable bytes); expected an events CSV", label) from None
    bad = _CONTROL_CHARS.search(text.rstrip("\x1a"))
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        raise ImportFileError(f"not a text file: control character 0x{ord(bad.group()):02x} (binary data?); "
                              "expected an events CSV", label, line)
    return text.rstrip("\x1a")


@dataclass
class _EventColumns:
    label: int
    times: list[tuple[int, str]]  # (index, name) of time columns, most preferred first


def _event_columns(names: list[str], label: str, line: int) -> _EventColumns:
    keys = [_key(name) for name in names]
    label_index = next((i for i, k in enumerate(keys) if k in _LABEL_NAMES), None)
    times = sorted(((i, names[i].strip()) for i, k in enumerate(keys) if k in _TIME_NAMES),
                   key=lambda pair: _TIME_NAMES.index(keys[pair[0]]))
    listed = ", ".join(repr(n.strip()) for n in names)
    if label_index is None:
        raise ImportFileError(f"no event label column in the header ({listed}); expected one named like "
                              "'annotation', 'event', 'tag' or 'label'", label, line)
    if not times:
        raise ImportFileError(f"no time column in the header ({listed}); expected one named like 'date' or "
                              "'timestamp'", label, line)
    return _EventColumns(label_index, times)


def _read_events(path: str | os.PathLike[str], start_wall: float) -> tuple[list[tuple[float, str]], list[str]]:
    """Markers ``(seconds from host time 0, label)`` and notes on how the file was read."""
    label = str(path)
    text = _events_text(Path(path).expanduser(), label)
    lines = [(number, line) for number, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n")
                                                           .split("\n"), 1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise ImportFileError("no events: the file holds only blank lines and comments", label)
    header_line, header = lines[0]
    delimiter = next((d for d in (";", "\t", ",") if d in header), ",")
    rows = [next(csv.reader([line], delimiter=delimiter, skipinitialspace=True), []) for _, line in lines]
    names = rows[0]
    columns = _event_columns(names, label, header_line)
    notes: list[str] = []
    markers: list[tuple[float, str]] = []
    noted: set[str] = set()

    def note_once(key: str, message: str) -> None:
        if key not in noted:
            noted.add(key)
            notes.append(message)

    for (number, _), fields in zip(lines[1:], rows[1:], strict=True):
        fields = [field.strip() for field in fields]
        if len(fields) <= columns.label or not fields[columns.label]:
            note_once("nolabel", f"events rows without a label skipped (first: line {number})")
            continue
        name = fields[columns.label]
        wall: tuple[float, str] | None = None
        offset: tuple[float, str] | None = None
        for index, column in columns.times:
            cell = fields[index].strip("\"'") if index < len(fields) else ""
            if not cell:
                continue
            stamp, how = _parse_wall_time(cell)
            if stamp is not None:
                if wall is None:
                    wall = (stamp, column)
                    if "local time" in how:
                        note_once("local", f"event times in column {column!r} have no time zone: read in this "
                                  "computer's time zone")
            elif _PLAIN_NUMBER.fullmatch(cell):
                if offset is None:
                    offset = (float(cell), column)
            else:
                raise ImportFileError(f"{cell!r} in column {column!r} is not a date, time or number of seconds",
                                      label, number)
        if wall is None and offset is None:
            raise ImportFileError(f"event {name!r} has no time", label, number)
        if wall is not None and offset is not None:
            from_wall = wall[0] - start_wall
            if abs(offset[0] - from_wall) <= OFFSET_AGREEMENT_S:
                note_once("offset", f"event times from column {offset[1]!r} (seconds from the start; they agree "
                          f"with column {wall[1]!r} within {OFFSET_AGREEMENT_S:g} s)")
                t_s = offset[0]
            else:
                note_once("disagree", f"column {offset[1]!r} disagrees with column {wall[1]!r} by "
                          f"{offset[0] - from_wall:+.1f} s (line {number}); event times taken from {wall[1]!r}")
                t_s = from_wall
        elif wall is not None:
            t_s = wall[0] - start_wall
        else:
            assert offset is not None
            note_once("offset-only", f"event times from column {offset[1]!r}, read as seconds from the start")
            t_s = offset[0]
        if not math.isfinite(t_s):
            raise ImportFileError(f"event {name!r} has no finite time", label, number)
        markers.append((t_s, name))
    return markers, notes


def read_events_csv(path: str | os.PathLike[str], start_wall: float) -> list[tuple[float, str]]:
    """An events CSV (HRV Logger's, or any table with a time and a label column) as markers.

    Returns ``(seconds from start_wall, label)`` in file order; raises :class:`ImportFileError`.
    """
    return _read_events(path, start_wall)[0]


# ---------------------------------------------------------------------------------------------
# Import


@dataclass(frozen=True)
class _StillClock:
    """A clock that does not advance: the writer commits once, when the import is complete."""

    wall: float

    def now(self) -> float:
        return 0.0

    def now_ns(self) -> int:
        return 0

    def wall_time(self) -> float:
        return self.wall


def _read_series(path: Path) -> RRSeries:
    try:
        return read_rr_file(path)
    except RRFileError as error:
        raise ImportFileError(error.problem, error.path, error.line) from error
    except OSError as error:
        raise ImportFileError(f"cannot read the file: {error.strerror or error}", path) from error


def _unique(values: Sequence[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        text = str(value).strip()
        if text and text not in out:
            out.append(text)
    return out


def _remove_quietly(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        except OSError:
            pass


def import_file(path: str | os.PathLike[str], library: Path, client: str | None = None,
                events_path: str | os.PathLike[str] | None = None, tags: Sequence[str] = (), *,
                start_wall: float | None = None, origin: Mapping[str, Any] | None = None,
                progress: ProgressCallback | None = None) -> Path:
    """Import one RR file (and optionally its events CSV) as a new session in ``library``.

    ``start_wall`` (Unix seconds of host time 0) overrides the file's own start time;
    ``origin`` is stored as ``manifest["source"]["origin"]`` (e.g. attribution of public
    data). Returns the new session file. Raises :class:`ImportFileError`; on any failure the
    library is left as it was. ``progress(fraction)`` hears how far it is and may raise to
    cancel (nothing is left behind then either).
    """
    path = Path(path)
    library = Path(library)
    reporter = Progress(progress)
    reporter.start()
    series = _read_series(path)
    try:
        ticks = _quantise(series.rr_ms)
    except ImportFileError as error:
        raise ImportFileError(error.problem, path) from None
    stored_ms = ticks * 1000.0 / TICKS_PER_S
    first_rr_s = float(ticks[0]) / TICKS_PER_S

    if start_wall is not None:
        if not math.isfinite(start_wall):
            raise ImportFileError(f"start time {start_wall!r} is not a finite Unix time", path)
        session_start, start_from = float(start_wall), "given by the importer"
    elif series.start_wall_time is not None:
        session_start = series.start_wall_time - first_rr_s
        start_from = "the file's time of the first beat, less its RR"
    else:
        try:
            session_start = path.stat().st_mtime
        except OSError as error:
            raise ImportFileError(f"cannot read the file's time: {error.strerror or error}", path) from error
        start_from = "the file's modification time (the file gives no start time)"

    notes = list(series.notes)
    markers: list[tuple[float, str]] = []
    if events_path is not None:
        markers, event_notes = _read_events(events_path, session_start)
        notes.extend(event_notes)
    try:
        beat_ns = _beat_ns(ticks, series.beat_times_s)
        if not math.isfinite(session_start):
            raise ImportFileError(f"start time {session_start!r} is not a finite Unix time")
    except ImportFileError as error:
        raise ImportFileError(error.problem, path) from None
    end_ns = int(beat_ns[-1])
    for t_s, name in markers:
        _, moved = _place_marker(t_s, end_ns)
        if moved is not None:
            notes.append(f"marker {name!r} at {t_s:.1f} s is {moved}: kept, placed at the nearest end")

    rr_cum_ms = np.cumsum(series.rr_ms)
    source: dict[str, Any] = {
        "kind": "import",
        "file": path.name,
        "format": series.format,
        "unit": series.unit,
        "unit_detected": series.unit_detected,
        "notes": notes,
        "beats": int(ticks.size),
        "beat_timing": ("the file's beat times" if series.beat_times_s is not None
                        else "cumulative sum of the stored RR"),
        "start_wall_from": start_from,
        "quantised_to_1_1024_s": True,
        "max_quantisation_ms": float(np.max(np.abs(stored_ms - series.rr_ms))),
        "max_beat_time_shift_ms": float(np.max(np.abs(np.cumsum(stored_ms) - rr_cum_ms))),
        "events_file": None if events_path is None else Path(events_path).name,
        "markers": len(markers),
    }
    if origin:
        source["origin"] = dict(origin)
    manifest = {
        "client": (client or "").strip() or None,
        "practitioner": None,
        "mode": "imported",
        "devices": [{"strap_id": STRAP_ID, "name": DEVICE_NAME}],
        "started_wall": session_start,
        "started_host_ns": 0,
        "tags": _unique(tags),
        "recorder": {"kind": "import"},
        "source": source,
    }
    writing = reporter.part(0.1, 1.0)
    timeline = _iter_timeline(ticks, beat_ns, session_start, STRAP_ID, markers)
    writing.set_total(int(ticks.size) + len(markers) + 4)  # the beats, markers, 3 link/strap events before, 1 after
    target = _write_atomically(path, library, manifest, timeline, int(ticks.size), writing)
    reporter.finish()
    return target


def _write_atomically(path: Path, library: Path, manifest: Mapping[str, Any], timeline: Iterable[TimelineItem],
                      beats: int, progress: Progress) -> Path:
    created: list[Path] = []  # folders this call made (removed again on failure if empty)
    probe = library
    while not probe.exists() and probe != probe.parent:
        created.append(probe)
        probe = probe.parent
    temporary = library / f"{TEMP_PREFIX}{uuid.uuid4().hex}.tmp"
    try:
        if library.exists() and not library.is_dir():
            raise ImportFileError(f"the library {library} is not a folder", path)
        private_folder(library)  # 0700 (made so, with a message, when it was open to others)
        write_session(temporary, manifest, timeline, _StillClock(float(manifest["started_wall"])), END_REASON, progress)
        db = sqlite3.connect(temporary)  # read-write: its close removes SQLite's -wal and -shm files
        try:
            stored = db.execute("SELECT count(*) FROM notifications").fetchone()[0]
        finally:
            db.close()
        if stored != beats:
            raise ImportFileError(f"the new session holds {stored} beats instead of {beats}", path)
        target = new_session_path(library, float(manifest["started_wall"]), manifest.get("client"))
        while target.exists():  # a fresh random id makes this all but impossible
            target = new_session_path(library, float(manifest["started_wall"]), manifest.get("client"))
        assert target.name.endswith(SUFFIX)
        os.replace(temporary, target)
        _remove_quietly(temporary)  # side files SQLite may have left under the temporary name
        return target
    except BaseException as error:
        _remove_quietly(temporary)
        for folder in created:
            try:
                folder.rmdir()
            except OSError:
                break
        if isinstance(error, (OSError, sqlite3.Error)):
            raise ImportFileError(f"could not write the session into {library}: {error}", path) from error
        raise
