"""Export a recorded session for other tools: Kubios RR text, CSV tables, EDF+.

:func:`export_session` turns one :class:`~somafeedback.session_file.Session` into files in one
of :data:`FORMATS`. Beats are decoded exactly as the live path decodes them
(:func:`~somafeedback.session_beats.decode_beats`), so an export shows what the app showed.

Time bases
    Every "time" below is in seconds since the session start on the host clock
    (``(host_ns - manifest.started_host_ns) / 1e9``; beats: ``Beat.t_s - started_host_ns / 1e9``).
    Wall times are ISO 8601 in UTC with milliseconds (``2024-05-17T14:23:05.375Z``): a
    notification's own recorded wall time, an event's recorded wall time when it has one, and
    otherwise (beats, gaps, strap info) ``manifest.started_wall + time``.

Output names and places
    ``<stem>`` is the session file's name without ``.session.sqlite`` (de-identified:
    ``session_<first 8 characters of the session id>_deidentified``). ``out`` is a folder (an
    existing one; for ``csv`` it is created when missing) or, for ``kubios`` and ``edf``, a file
    path (the format's suffix is added when it has none; with several straps, kubios adds
    ``_<strap>`` to its stem). ``out=None`` writes next to the session file. An existing file is
    never overwritten (:class:`ExportError`). Every file is written under a temporary name
    (``.<name>.<random>.partial``) in its final folder and moved into place only when all of
    them are complete, by a hard link that cannot replace an existing file (or, where the file
    system has no hard links, ``os.replace`` after a check); any failure, or an exception raised
    by ``progress`` (a cancel), removes every temporary file and any folder the export created.
    Files are created owner read/write only (0600): they are personal data.

``kubios``: one RR text file per strap with beats, ``<stem>.txt`` (one strap) or ``<stem>_<strap>.txt``
    Written by :func:`~somafeedback.rr_files.write_kubios_rr` (UTF-8, CRLF, ``#`` header lines,
    one RR in seconds per line; :func:`~somafeedback.rr_files.read_rr_file` reads back exactly
    the recorded values, which are multiples of 1/1024 s). Every beat as recorded, raw: beats
    the app flagged are kept (Kubios does its own correction), and RR intervals on both sides of
    a gap simply follow each other. Header entries: ``session id``, ``client`` (not when
    de-identified and only when known), ``session start (UTC)`` (``YYYY-MM-DD HH:MM:SS.fff``),
    ``strap``, ``beats``, ``beats flagged as artifacts by somafeedback (kept in the data)``,
    ``timing segments`` and ``new segment at beats`` (1-based numbers of the beats that start a
    new timing segment after a gap, contact loss or re-anchoring; the RR before each is not
    continuous with it), ``first beat (s after session start)``, ``exported by``.

``csv``: one table per stream in the folder ``out`` (UTF-8 without BOM, comma separated, CRLF, a header row)
    * ``<stem>_notifications.csv``: every notification in timeline order: ``timeline_index``
      (1-based position in the session's timeline of notifications and events together),
      ``strap``, ``seq``, ``characteristic`` (UUID), ``time_s``, ``wall_time_utc``,
      ``payload_hex`` (the bytes as received, lowercase hex).
    * ``<stem>_<strap>_beats.csv`` per strap: ``time_s``, ``wall_time_utc``, ``rr_ms``,
      ``rr_1024`` (raw 1/1024 s ticks), ``flagged`` (the live artifact rule), ``segment``,
      ``contact`` (empty: the strap cannot tell), ``strap_bpm`` (the HR field of the packet),
      ``seq`` (the notification that carried the beat).
    * ``<stem>_events.csv``: ``timeline_index``, ``time_s``, ``wall_time_utc``, ``kind``,
      ``strap``, ``details`` (JSON). Kinds: the recorded events (``link``: state, attempt,
      detail; ``gap``: start_s, end_s, duration_s, and time_s is the start; ``strap``: name,
      address, battery_percent, body_location; ``marker``, ``note``, ``cue``, ``state``,
      ``settings``, ``seek``: their data) and, decoded from the notifications (with the
      timeline_index of the notification), ``contact`` (``{"contact": true|false|null}``) and
      ``malformed`` (``{"seq", "error", "payload_hex"}``). Rows in timeline order.
    * ``<stem>_<strap>_metrics.csv`` per strap: the columns of
      :data:`~somafeedback.metrics_output.METRIC_COLUMNS`, one row per beat, from a fresh
      :class:`~somafeedback.pipeline.MetricsPipeline` fed every beat (``t_s`` is the time above)
      with ``push_gap`` at each gap event of the strap and at every other change of timing
      segment (contact loss, re-anchoring).
    * ``<stem>_manifest.json``: the manifest (de-identified: see below), UTF-8, indented.

    Cells: booleans ``true``/``false``, missing values empty, floats in Python's shortest
    round-trip form (``rr_ms`` is exact), times with 6 decimals.

``edf``: one EDF+ file (``EDF+C``) with every strap, ``<stem>.edf``
    * Signals per strap with beats, in order: ``RR <strap>`` (unit ``ms``, physical 0 to
      6553.5, resolution 0.1 ms) and ``HR <strap>`` (unit ``bpm``, physical 0 to 655.35,
      resolution 0.01 bpm), at :data:`EDF_FS_HZ` (4 Hz), 1 s data records. Labels are at most 16
      characters (the strap id is cut to fit).
    * The tachogram: each beat is a point (beat time, its RR); samples between two consecutive
      beats of one timing segment are linearly interpolated; HR is ``60000 / RR`` per sample.
      Every other sample (before a strap's first beat, after its last, in a gap, a contact loss,
      a timing break, or between the beats of a one-beat segment) is :data:`EDF_FILL` (0:
      no data; RR 0 ms and HR 0 bpm cannot be real). Values are clipped to the physical range.
    * Sample 0 is at the start date/time in the header: the session start, rounded down to the
      whole second, in UTC (EDF has no time zone field). So an event at time ``t`` has the
      onset ``t + (started_wall - floor(started_wall))``.
    * Header: patient code = the client pseudonym (ASCII, spaces as ``_``; ``X`` when unknown
      or de-identified), technician = the practitioner (omitted when de-identified), equipment
      ``somafeedback_<version>`` (EDF+ writes spaces as ``_``).
    * Annotations (UTF-8, at most :data:`EDF_ANNOTATION_BYTES` bytes each, longer text is cut
      and ends in ``...``; the CSV export keeps full texts); ``<strap>`` is appended only when
      the session has more than one strap: ``marker: <label>``, ``note: <text>``,
      ``cue: ...``, ``state: ...``, ``settings: ...`` (other kinds likewise ``<kind>: ...``),
      ``gap (no data) <strap>`` with the gap's duration, ``link <state> <strap>``
      (connecting, streaming, lost, reconnecting, stopped), ``contact lost <strap>`` with the
      duration until ``contact regained <strap>`` (or the end), ``malformed packet <strap>``.
      Onsets before sample 0 are put at 0.

De-identification (``deidentify=True``)
    No client or practitioner name anywhere: file names use the de-identified stem; the
    manifest keeps only ``format``, ``format_version``, ``session_id``, ``app_version``,
    ``mode``, ``started_*``, ``ended_*``, ``end_reason``, ``tags`` and ``devices`` (without
    ``address``/``name``/``host``/``pid``/``path`` entries), plus ``"deidentified": true``;
    every other string written (tags, event details, link details) has the client's and
    practitioner's names (the full name and each word of 3 or more letters, any case) replaced
    by ``[client]``/``[practitioner]``; a note's text is replaced by ``[note]``; strap
    info events lose the strap's name and address; the EDF patient code is ``X``. Every wall
    time is shifted by one offset so the session starts at 2000-01-01 00:00:00 UTC
    (:data:`DEIDENTIFIED_START_WALL`): intervals are preserved and the offset is written
    nowhere. The session id is kept (it lets the practitioner match the export to the record;
    it is random and means nothing to anyone else).

Thread: any (pure apart from file I/O; ``progress`` is called on the caller's thread).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from . import __version__
from .devices.events import GapEvent, LinkEvent, Notification, StrapInfo, TimelineEvent
from .metrics_output import METRIC_COLUMNS, metrics_row
from .pipeline import MetricsPipeline
from .rr_files import write_kubios_rr
from .session_beats import StrapBeats, decode_beats
from .session_file import SUFFIX, Session

FORMATS: Final = ("kubios", "csv", "edf")
SUFFIXES: Final = {"kubios": ".txt", "edf": ".edf"}
DEIDENTIFIED_START_WALL: Final = 946684800.0  # 2000-01-01 00:00:00 UTC: de-identified sessions start here
EDF_FS_HZ: Final = 4  # Hz; tachogram sampling rate of the EDF+ signals
EDF_FILL: Final = 0.0  # value of EDF samples without data (gaps, contact loss, before/after the beats)
EDF_RR_MAX_MS: Final = 6553.5  # physical maximum of the RR signals (0.1 ms resolution over int16)
EDF_HR_MAX_BPM: Final = 655.35  # physical maximum of the HR signals (0.01 bpm resolution over int16)
EDF_ANNOTATION_BYTES: Final = 40  # edflib keeps at most this many bytes of an annotation's text
EDF_LABEL_CHARS: Final = 16  # EDF signal labels are at most 16 characters
EDF_CHUNK_RECORDS: Final = 600  # data records written per call (progress and cancel between chunks)
EDF_MAX_ANNOTATION_SIGNALS: Final = 64  # edflib's maximum annotation signals (one annotation per record each)
EDF_YEARS: Final = (1985, 2084)  # the years an EDF header's dd.mm.yy start date can express
FILE_MODE: Final = 0o600  # exports are personal data: owner read/write only
PROGRESS_STEP: Final = 0.01  # progress is reported when it advanced at least this much (<= ~100 calls)
METRICS_WORK: Final = 20  # work units of one beat through the metrics pipeline (vs 1 per CSV row)
_DEID_MANIFEST_KEYS: Final = ("format", "format_version", "session_id", "app_version", "mode", "started_wall",
                              "started_host_ns", "ended_wall", "ended_host_ns", "end_reason", "tags", "devices")
_DEID_DROPPED_KEYS: Final = frozenset({"address", "name", "host", "pid", "path"})
_SUMMARY_KEYS: Final = ("label", "text", "state", "cue", "name", "action", "decision")

ProgressCallback = Callable[[float], None]


class ExportError(ValueError):
    """An export that cannot be made; the message names the session file and the problem."""


# -- small helpers -----------------------------------------------------------------------------
def _safe_name(text: str) -> str:
    """``text`` as a file-name part: letters, digits, '-' and '_' only."""
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in text).strip("-")
    return cleaned[:40] or "strap"


def _ascii_field(text: str, limit: int) -> str:
    """An EDF header field: printable ASCII without spaces (spaces become '_'), at most ``limit`` chars."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    cleaned = "".join(c if 32 < ord(c) < 127 else "_" for c in ascii_text.strip())
    return cleaned[:limit]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return repr(number) if math.isfinite(number) else ""
    return str(value)


def _cut_utf8(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` UTF-8 bytes, ending in '...' when cut (never mid-character)."""
    if len(text.encode("utf-8")) <= limit:
        return text
    kept = text.encode("utf-8")[: limit - 3].decode("utf-8", "ignore")
    return kept.rstrip() + "..."


def _dedupe(names: Sequence[str]) -> list[str]:
    """``names`` made unique by appending -2, -3, ... to repeats."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0) + 1
        seen[name] = count
        out.append(name if count == 1 else f"{name}-{count}")
    return out


class _Progress:
    """Reports work done as a fraction 0..1, at most about 1/PROGRESS_STEP times."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self._total = 1.0
        self._done = 0.0
        self._reported = -1.0

    def set_total(self, units: float) -> None:
        """The work units the export will report through :meth:`advance`."""
        self._total = max(float(units), 1.0)

    def start(self) -> None:
        self._emit(0.0)

    def advance(self, units: float = 1.0) -> None:
        self._done += units
        fraction = min(self._done / self._total, 0.999)
        if fraction - self._reported >= PROGRESS_STEP:
            self._emit(fraction)

    def finish(self) -> None:
        self._emit(1.0)

    def _emit(self, fraction: float) -> None:
        self._reported = fraction
        if self._callback is not None:
            self._callback(fraction)


class _Outputs:
    """Files of one export: written under temporary names, all moved into place at the end, or none."""

    def __init__(self, session_path: Path) -> None:
        self.session_path = session_path
        self.planned: list[tuple[Path, Path]] = []  # (final, temporary)
        self.created_dirs: list[Path] = []

    def error(self, problem: str) -> ExportError:
        return ExportError(f"{self.session_path}: {problem}")

    def folder(self, path: Path) -> Path:
        """An existing folder, created (with its parents) when missing; created ones are removed on failure."""
        if path.exists() and not path.is_dir():
            raise self.error(f"{path} is a file, not a folder")
        missing = [p for p in (path, *path.parents) if not p.exists()]
        try:
            for folder in reversed(missing):
                folder.mkdir()
                self.created_dirs.append(folder)
        except OSError as error:
            raise self.error(f"cannot create the folder {folder}: {error.strerror or error}") from error
        return path

    def reserve(self, final: Path) -> Path:
        """The temporary path to write ``final`` to; refuses a name that exists (never overwritten)."""
        if any(final == f for f, _ in self.planned):
            raise self.error(f"two outputs would both be named {final}")
        if final.exists() or final.is_symlink():
            raise self.error(f"{final} already exists (exports never overwrite a file)")
        temporary = final.with_name(f".{final.name}.{uuid.uuid4().hex[:12]}.partial")
        self.planned.append((final, temporary))
        return temporary

    def commit(self) -> list[Path]:
        """Move every file into place (all or none); their final paths."""
        placed: list[Path] = []
        try:
            for final, temporary in self.planned:
                os.chmod(temporary, FILE_MODE)
                try:
                    os.link(temporary, final)  # atomic, and never replaces an existing file
                except FileExistsError:
                    raise self.error(f"{final} already exists (exports never overwrite a file)") from None
                except OSError:  # no hard links on this file system (FAT, some network shares)
                    if final.exists():
                        raise self.error(f"{final} already exists (exports never overwrite a file)") from None
                    os.replace(temporary, final)
                placed.append(final)
        except BaseException:
            for path in placed:
                path.unlink(missing_ok=True)
            raise
        finally:
            for _, temporary in self.planned:
                temporary.unlink(missing_ok=True)
        return [final for final, _ in self.planned]

    def discard(self) -> None:
        for _, temporary in self.planned:
            try:
                temporary.unlink(missing_ok=True)
            except OSError:
                pass
        for folder in reversed(self.created_dirs):
            try:
                folder.rmdir()  # only if still empty
            except OSError:
                pass


# -- the session as an export sees it ------------------------------------------------------------
@dataclass
class _Context:
    session: Session
    deidentify: bool
    start_ns: int  # host clock at the session start
    start_wall: float  # wall time (Unix s) of the session start, shifted when de-identified
    shift_s: float  # added to every recorded wall time (0 unless de-identified)
    stem: str
    beats: dict[str, StrapBeats]
    names: list[tuple[re.Pattern[str], str]]  # (name pattern, replacement) for de-identification

    # times
    def rel_s(self, host_ns: int) -> float:
        return (host_ns - self.start_ns) / 1e9

    def beat_rel_s(self, t_s: float) -> float:
        return t_s - self.start_ns / 1e9

    def wall_at(self, rel_s: float) -> float:
        return self.start_wall + rel_s

    def recorded_wall(self, wall_time: float | None, host_ns: int) -> float:
        """A recorded wall time (shifted), or the one the host clock gives when none was recorded."""
        if wall_time:
            return wall_time + self.shift_s
        return self.wall_at(self.rel_s(host_ns))

    @staticmethod
    def iso(wall: float) -> str:
        stamp = dt.datetime.fromtimestamp(wall, tz=dt.timezone.utc)
        return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    @property
    def duration_s(self) -> float:
        return max(self.session.duration_s, 0.0)

    # de-identification
    def scrub(self, text: str) -> str:
        if not self.deidentify:
            return text
        for pattern, replacement in self.names:
            text = pattern.sub(replacement, text)
        return text

    def scrub_value(self, value: Any, drop_keys: frozenset[str] = frozenset()) -> Any:
        """``value`` with names scrubbed from every string, ``*_wall`` numbers shifted, ``drop_keys`` removed."""
        if not self.deidentify:
            return value
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, Mapping):
            out = {}
            for key, item in value.items():
                if key in drop_keys:
                    continue
                if str(key).endswith("_wall") and isinstance(item, (int, float)) and not isinstance(item, bool):
                    out[self.scrub(str(key))] = item + self.shift_s
                else:
                    out[self.scrub(str(key))] = self.scrub_value(item, drop_keys)
            return out
        if isinstance(value, (list, tuple)):
            return [self.scrub_value(item, drop_keys) for item in value]
        return value

    def event_details(self, event: TimelineEvent) -> dict[str, Any]:
        details = dict(event.data)
        if self.deidentify and event.kind == "note":
            details = {key: ("[note]" if key == "text" else value) for key, value in details.items()}
            details.setdefault("text", "[note]")
        return self.scrub_value(details)

    def manifest(self) -> dict[str, Any]:
        manifest = dict(self.session.manifest)
        if not self.deidentify:
            return manifest
        out: dict[str, Any] = {}
        for key in _DEID_MANIFEST_KEYS:
            if key not in manifest:
                continue
            value = manifest[key]
            if key == "started_wall":
                out[key] = self.start_wall
            elif key.endswith("_wall") and isinstance(value, (int, float)):
                out[key] = value + self.shift_s
            elif key == "devices":
                out[key] = self.scrub_value(value, _DEID_DROPPED_KEYS)
            else:
                out[key] = self.scrub_value(value)
        out["deidentified"] = True
        return out

    @property
    def client(self) -> str | None:
        client = self.session.manifest.get("client")
        return None if self.deidentify or not client else str(client)

    @property
    def practitioner(self) -> str | None:
        practitioner = self.session.manifest.get("practitioner")
        return None if self.deidentify or not practitioner else str(practitioner)


def _name_patterns(manifest: Mapping[str, Any]) -> list[tuple[re.Pattern[str], str]]:
    patterns = []
    for key in ("client", "practitioner"):
        name = manifest.get(key)
        if not isinstance(name, str) or not name.strip():
            continue
        words = [w for w in re.split(r"\W+", name) if len(w) >= 3]
        for part in sorted({name.strip(), *words}, key=len, reverse=True):
            boundary = r"\b" if part[0].isalnum() else ""
            end = r"\b" if part[-1].isalnum() else ""
            patterns.append((re.compile(boundary + re.escape(part) + end, re.IGNORECASE), f"[{key}]"))
    return patterns


def _context(session: Session, deidentify: bool) -> _Context:
    manifest = session.manifest
    start_ns = manifest.get("started_host_ns")
    first_ns = next((getattr(item, "host_ns", None) for item in session.timeline
                     if getattr(item, "host_ns", None) is not None), None)
    if not isinstance(start_ns, int):
        start_ns = first_ns if first_ns is not None else 0
    start_wall = manifest.get("started_wall")
    if not isinstance(start_wall, (int, float)) or isinstance(start_wall, bool):
        first = next((n for n in session.timeline if isinstance(n, Notification) and n.wall_time), None)
        start_wall = first.wall_time - (first.host_ns - start_ns) / 1e9 if first is not None else None
    if start_wall is None:
        start_wall = DEIDENTIFIED_START_WALL if deidentify else 0.0
    shift = DEIDENTIFIED_START_WALL - float(start_wall) if deidentify else 0.0
    if deidentify:
        session_id = manifest.get("session_id")
        ident = _safe_name(str(session_id))[:8] if session_id else uuid.uuid5(uuid.NAMESPACE_URL, session.path.name).hex[:8]
        stem = f"session_{ident}_deidentified"
    else:
        name = session.path.name
        stem = name[: -len(SUFFIX)] if name.endswith(SUFFIX) else session.path.stem
    order: dict[str, int] = {}  # straps in the order the session first mentions them
    for item in session.timeline:
        strap = getattr(item, "strap_id", None)
        if strap is not None:
            order.setdefault(strap, len(order))
    beats = decode_beats(session.timeline)
    beats = {strap: beats[strap] for strap in sorted(beats, key=lambda s: order.get(s, len(order)))}
    start = DEIDENTIFIED_START_WALL if deidentify else float(start_wall)  # exact: never a rounding off 2000-01-01
    return _Context(session, deidentify, int(start_ns), start, shift, stem, beats,
                    _name_patterns(manifest) if deidentify else [])


def _straps_with_beats(ctx: _Context) -> list[StrapBeats]:
    straps = [record for record in ctx.beats.values() if record.beats]
    if not straps:
        raise ExportError(f"{ctx.session.path}: the session has no heartbeats to export "
                          "(no strap sent RR intervals)")
    return straps


def _file_targets(ctx: _Context, outputs: _Outputs, out: Path | None, fmt: str, parts: Sequence[str | None]) -> list[Path]:
    """Final paths for ``kubios``/``edf``: one per part (None: no part suffix)."""
    suffix = SUFFIXES[fmt]
    if out is None or out.is_dir():
        folder, stem = (ctx.session.path.parent if out is None else out), ctx.stem
    else:
        folder = outputs.folder(out.parent)
        stem, suffix = (out.stem, out.suffix) if out.suffix else (out.name, suffix)
    names = _dedupe([stem if part is None else f"{stem}_{_safe_name(part)}" for part in parts])
    return [folder / f"{name}{suffix}" for name in names]


# -- kubios ----------------------------------------------------------------------------------
def _export_kubios(ctx: _Context, out: Path | None, outputs: _Outputs, progress: _Progress) -> None:
    straps = _straps_with_beats(ctx)
    several = len(straps) > 1
    targets = _file_targets(ctx, outputs, out, "kubios", [s.strap_id if several else None for s in straps])
    temporaries = [outputs.reserve(target) for target in targets]
    progress.set_total(len(straps))
    start = dt.datetime.fromtimestamp(ctx.start_wall, tz=dt.timezone.utc)
    for record, temporary in zip(straps, temporaries, strict=True):
        segments = record.segments
        breaks = [int(i) + 1 for i in np.flatnonzero(np.diff(segments) != 0) + 1]
        header: dict[str, str] = {"session id": str(ctx.session.manifest.get("session_id", ctx.stem))}
        if ctx.client:
            header["client"] = ctx.client
        header.update({
            "session start (UTC)": start.strftime("%Y-%m-%d %H:%M:%S.") + f"{start.microsecond // 1000:03d}",
            "strap": record.strap_id,
            "beats": str(len(record.beats)),
            "beats flagged as artifacts by somafeedback (kept in the data)": str(sum(record.flagged)),
            "timing segments": str(len(breaks) + 1),
            "new segment at beats": ", ".join(map(str, breaks)) or "none",
            "first beat (s after session start)": f"{ctx.beat_rel_s(record.beats[0].t_s):.3f}",
            "exported by": f"somafeedback {__version__}",
        })
        write_kubios_rr(temporary, record.rr_ms, header)
        progress.advance()


# -- csv ----------------------------------------------------------------------------------------
def _open_csv(path: Path) -> Any:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    return open(fd, "w", encoding="utf-8", newline="")


def _event_rows(ctx: _Context) -> Iterator[tuple[int, list[Any]]]:
    """(timeline_index, row) of every recorded event and every decoded contact change / malformed packet."""
    by_seq: dict[tuple[str, int], int] = {}  # (strap, seq) -> timeline index of the notification
    by_arrival: dict[tuple[str, int], int] = {}  # (strap, host_ns) -> timeline index of the notification
    for index, item in enumerate(ctx.session.timeline, start=1):
        if isinstance(item, Notification):
            by_seq.setdefault((item.strap_id, item.seq), index)
            by_arrival.setdefault((item.strap_id, item.host_ns), index)
            continue
        if isinstance(item, GapEvent):
            start, end = ctx.rel_s(item.start_ns), ctx.rel_s(item.end_ns)
            details: dict[str, Any] = {"start_s": round(start, 6), "end_s": round(end, 6),
                                       "duration_s": round(item.duration_s, 6)}
            row = [start, ctx.wall_at(start), "gap", item.strap_id, details]
        elif isinstance(item, LinkEvent):
            details = {"state": str(item.state), "attempt": item.attempt, "detail": ctx.scrub(item.detail)}
            row = [ctx.rel_s(item.host_ns), ctx.recorded_wall(item.wall_time, item.host_ns), "link", item.strap_id, details]
        elif isinstance(item, StrapInfo):
            details = {"name": item.name, "address": item.address, "battery_percent": item.battery_percent,
                       "body_location": item.body_location}
            if ctx.deidentify:
                details = {k: v for k, v in details.items() if k not in _DEID_DROPPED_KEYS}
            row = [ctx.rel_s(item.host_ns), ctx.wall_at(ctx.rel_s(item.host_ns)), "strap", item.strap_id, details]
        else:
            row = [ctx.rel_s(item.host_ns), ctx.recorded_wall(item.wall_time, item.host_ns), item.kind,
                   item.strap_id, ctx.event_details(item)]
        yield index, row
    for record in ctx.beats.values():
        for change in record.contact_changes:
            rel = ctx.rel_s(change.host_ns)
            yield by_arrival.get((record.strap_id, change.host_ns), 0), [
                rel, ctx.wall_at(rel), "contact", record.strap_id, {"contact": change.contact}]
        for packet in record.malformed:
            rel = ctx.rel_s(packet.host_ns)
            yield by_seq.get((record.strap_id, packet.seq), 0), [
                rel, ctx.wall_at(rel), "malformed", record.strap_id,
                {"seq": packet.seq, "error": packet.error, "payload_hex": packet.payload.hex()}]


def _metrics_rows(ctx: _Context, record: StrapBeats, progress: _Progress) -> Iterator[dict[str, Any]]:
    """One metrics row per beat from a fresh pipeline, with a gap at each gap event and segment change."""
    gaps = sorted((ctx.rel_s(e.start_ns), ctx.rel_s(e.end_ns)) for e in ctx.session.timeline
                  if isinstance(e, GapEvent) and e.strap_id == record.strap_id)
    pipeline = MetricsPipeline()
    previous: tuple[float, int] | None = None  # (time, segment) of the previous beat
    next_gap = 0
    for beat in record.beats:
        t = ctx.beat_rel_s(beat.t_s)
        broke = False
        while next_gap < len(gaps) and gaps[next_gap][1] <= t:
            pipeline.push_gap(*gaps[next_gap])
            next_gap += 1
            broke = True
        if previous is not None and not broke and (beat.segment != previous[1] or t <= previous[0]):
            pipeline.push_gap(previous[0], max(previous[0], t - beat.rr_ms / 1000.0))
        yield metrics_row(pipeline.push_beat(t, beat.rr_ms, beat.segment))
        previous = (t, beat.segment)
        progress.advance(METRICS_WORK)


def _export_csv(ctx: _Context, out: Path | None, outputs: _Outputs, progress: _Progress) -> None:
    folder = ctx.session.path.parent if out is None else outputs.folder(out)
    straps = list(ctx.beats.values())
    strap_names = _dedupe([_safe_name(s.strap_id) for s in straps])
    notifications_path = outputs.reserve(folder / f"{ctx.stem}_notifications.csv")
    beat_paths = [outputs.reserve(folder / f"{ctx.stem}_{name}_beats.csv") for name in strap_names]
    events_path = outputs.reserve(folder / f"{ctx.stem}_events.csv")
    metric_paths = [outputs.reserve(folder / f"{ctx.stem}_{name}_metrics.csv") for name in strap_names]
    manifest_path = outputs.reserve(folder / f"{ctx.stem}_manifest.json")
    n_beats = sum(len(s.beats) for s in straps)
    rows = sorted(_event_rows(ctx), key=lambda pair: (pair[0], pair[1][0]))
    progress.set_total(len(ctx.session.timeline) + len(rows) + n_beats * (1 + METRICS_WORK) + 1)

    with _open_csv(notifications_path) as stream:
        writer = csv.writer(stream)
        writer.writerow(["timeline_index", "strap", "seq", "characteristic", "time_s", "wall_time_utc", "payload_hex"])
        for index, item in enumerate(ctx.session.timeline, start=1):
            if isinstance(item, Notification):
                writer.writerow([index, item.strap_id, item.seq, item.characteristic,
                                 f"{ctx.rel_s(item.host_ns):.6f}", ctx.iso(ctx.recorded_wall(item.wall_time, item.host_ns)),
                                 item.payload.hex()])
            progress.advance()

    for record, path in zip(straps, beat_paths, strict=True):
        with _open_csv(path) as stream:
            writer = csv.writer(stream)
            writer.writerow(["time_s", "wall_time_utc", "rr_ms", "rr_1024", "flagged", "segment", "contact",
                             "strap_bpm", "seq"])
            for beat, flagged in zip(record.beats, record.flagged, strict=True):
                t = ctx.beat_rel_s(beat.t_s)
                writer.writerow([f"{t:.6f}", ctx.iso(ctx.wall_at(t)), _cell(beat.rr_ms), beat.rr_1024, _cell(flagged),
                                 beat.segment, _cell(beat.contact), beat.strap_bpm, beat.seq])
                progress.advance()

    with _open_csv(events_path) as stream:
        writer = csv.writer(stream)
        writer.writerow(["timeline_index", "time_s", "wall_time_utc", "kind", "strap", "details"])
        for index, (t, wall, kind, strap, details) in rows:
            writer.writerow([index or "", f"{t:.6f}", ctx.iso(wall), kind, strap or "",
                             json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)])
            progress.advance()

    for record, path in zip(straps, metric_paths, strict=True):
        with _open_csv(path) as stream:
            writer = csv.writer(stream)
            writer.writerow(METRIC_COLUMNS)
            for row in _metrics_rows(ctx, record, progress):
                writer.writerow([_cell(row[column]) for column in METRIC_COLUMNS])

    fd = os.open(manifest_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with open(fd, "w", encoding="utf-8") as stream:
        json.dump(ctx.manifest(), stream, indent=2, ensure_ascii=False, default=str)
        stream.write("\n")
    progress.advance()


# -- edf ----------------------------------------------------------------------------------------
def _tachogram(times_s: np.ndarray, rr_ms: np.ndarray, runs: np.ndarray, n_samples: int) -> np.ndarray:
    """RR at every sample: linear between consecutive beats of a run, EDF_FILL elsewhere."""
    signal = np.full(n_samples, EDF_FILL)
    grid = np.arange(n_samples) / EDF_FS_HZ
    boundaries = np.flatnonzero(np.diff(runs)) + 1
    for t, rr in zip(np.split(times_s, boundaries), np.split(rr_ms, boundaries), strict=True):
        if len(t) < 2:
            continue
        first = max(0, math.ceil(t[0] * EDF_FS_HZ - 1e-9))
        last = min(n_samples - 1, math.floor(t[-1] * EDF_FS_HZ + 1e-9))
        if last >= first:
            signal[first:last + 1] = np.interp(grid[first:last + 1], t, rr)
    signal[~np.isfinite(signal)] = EDF_FILL
    return np.clip(signal, 0.0, EDF_RR_MAX_MS)


def _digital(signal: np.ndarray, header: Mapping[str, Any]) -> np.ndarray:
    """Physical values as the nearest digital values (edflib's own conversion truncates toward zero)."""
    low, high = float(header["physical_min"]), float(header["physical_max"])
    d_low, d_high = int(header["digital_min"]), int(header["digital_max"])
    scaled = (np.clip(signal, low, high) - low) * ((d_high - d_low) / (high - low)) + d_low
    return np.clip(np.round(scaled), d_low, d_high).astype(np.int32)


def _runs(times_s: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """A run number per beat: a new run at every segment change or when time does not advance."""
    if len(times_s) == 0:
        return np.zeros(0, dtype=int)
    new = np.concatenate(([False], (np.diff(segments) != 0) | (np.diff(times_s) <= 0)))
    return np.cumsum(new)


def _summary(data: Mapping[str, Any]) -> str:
    for key in _SUMMARY_KEYS:
        value = data.get(key)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value):
            return str(value)
    return ", ".join(f"{k}={v}" for k, v in data.items() if not isinstance(v, (dict, list)))


def _annotations(ctx: _Context, offset_s: float, end_s: float) -> list[tuple[float, float, str]]:
    """(onset, duration or -1, text) of everything the EDF+ file annotates, in time order."""
    several = len(ctx.beats) > 1 or len({getattr(i, "strap_id", None) for i in ctx.session.timeline
                                         if isinstance(i, (Notification, LinkEvent, GapEvent))}) > 1

    def strap(text: str, strap_id: str | None) -> str:
        return f"{text} {strap_id}" if several and strap_id else text

    out: list[tuple[float, float, str]] = []
    for item in ctx.session.timeline:
        if isinstance(item, GapEvent):
            out.append((ctx.rel_s(item.start_ns) + offset_s, item.duration_s, strap("gap (no data)", item.strap_id)))
        elif isinstance(item, LinkEvent):
            out.append((ctx.rel_s(item.host_ns) + offset_s, -1.0, strap(f"link {item.state}", item.strap_id)))
        elif isinstance(item, TimelineEvent):
            details = ctx.event_details(item)
            summary = _summary(details)
            text = f"{item.kind}: {summary}" if summary else item.kind
            out.append((ctx.rel_s(item.host_ns) + offset_s, -1.0, strap(text, item.strap_id)))
    for record in ctx.beats.values():
        lost_at: float | None = None
        for change in record.contact_changes:
            at = ctx.rel_s(change.host_ns) + offset_s
            if change.contact is False and lost_at is None:
                lost_at = at
            elif change.contact is not False and lost_at is not None:
                out.append((lost_at, at - lost_at, strap("contact lost", record.strap_id)))
                out.append((at, -1.0, strap("contact regained", record.strap_id)))
                lost_at = None
        if lost_at is not None:
            out.append((lost_at, max(0.0, end_s - lost_at), strap("contact lost", record.strap_id)))
        for packet in record.malformed:
            out.append((ctx.rel_s(packet.host_ns) + offset_s, -1.0, strap("malformed packet", record.strap_id)))
    cleaned = [(max(0.0, onset), duration, _cut_utf8(" ".join(text.split()), EDF_ANNOTATION_BYTES))
               for onset, duration, text in out]
    return sorted(cleaned, key=lambda a: a[0])


def _export_edf(ctx: _Context, out: Path | None, outputs: _Outputs, progress: _Progress) -> None:
    try:
        import pyedflib
    except ImportError as error:  # pragma: no cover - a dependency of the package
        raise ExportError(f"{ctx.session.path}: EDF+ export needs pyedflib ({error})") from error
    straps = _straps_with_beats(ctx)
    (target,) = _file_targets(ctx, outputs, out, "edf", [None])
    temporary = outputs.reserve(target)

    start = math.floor(ctx.start_wall)
    start_time = dt.datetime.fromtimestamp(start, tz=dt.timezone.utc).replace(tzinfo=None)
    if not EDF_YEARS[0] <= start_time.year <= EDF_YEARS[1]:
        raise ExportError(f"{ctx.session.path}: the session start ({start_time:%Y-%m-%d}) is outside the years "
                          f"EDF can store ({EDF_YEARS[0]}-{EDF_YEARS[1]})")
    offset_s = ctx.start_wall - start  # EDF time of the session start (sample 0 is the whole second before)
    series = []
    for record in straps:
        times = np.array([ctx.beat_rel_s(b.t_s) for b in record.beats]) + offset_s
        series.append((record, times, record.rr_ms, _runs(times, record.segments)))
    end_s = max(ctx.duration_s + offset_s, *(float(t[-1]) for _, t, _, _ in series))
    annotations = _annotations(ctx, offset_s, end_s)
    annotation_signals = EDF_MAX_ANNOTATION_SIGNALS - 1
    n_records = max(1, math.ceil(end_s - 1e-9), math.ceil(len(annotations) / annotation_signals))
    annotation_signals = min(EDF_MAX_ANNOTATION_SIGNALS, math.ceil(len(annotations) / n_records) + 1)
    n_samples = n_records * EDF_FS_HZ
    progress.set_total(len(straps) + n_records)

    signals: list[np.ndarray] = []
    headers: list[dict[str, Any]] = []
    labels = _dedupe([_ascii_field(r.strap_id, EDF_LABEL_CHARS - 3) or "strap" for r, _, _, _ in series])
    for (record, times, rr, runs), label in zip(series, labels, strict=True):
        rr_signal = _tachogram(times, rr, runs, n_samples)
        hr_signal = np.divide(60000.0, rr_signal, out=np.full_like(rr_signal, EDF_FILL), where=rr_signal > 0)
        signals += [rr_signal, np.clip(hr_signal, 0.0, EDF_HR_MAX_BPM)]
        common = {"sample_frequency": EDF_FS_HZ, "physical_min": 0.0, "digital_min": -32768, "digital_max": 32767,
                  "prefilter": "", "transducer": ""}
        headers += [{**common, "label": f"RR {label}", "dimension": "ms", "physical_max": EDF_RR_MAX_MS},
                    {**common, "label": f"HR {label}", "dimension": "bpm", "physical_max": EDF_HR_MAX_BPM}]
        progress.advance()
    # An ECG channel (e.g. a Polar H10's PMD stream at 130 Hz) goes here: one more header with its
    # own sample_frequency (130 samples per 1 s record) and its samples appended to `signals`.

    patient = (_ascii_field(ctx.client, 40) if ctx.client else "") or "X"
    technician = _ascii_field(ctx.practitioner, 20) if ctx.practitioner else ""
    writer = pyedflib.EdfWriter(str(temporary), len(signals), file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        writer.setSignalHeaders(headers)
        writer.setStartdatetime(start_time)
        writer.setPatientCode(patient)
        if technician:
            writer.setTechnician(technician)
        writer.setEquipment(_ascii_field(f"somafeedback_{__version__}", 30))
        writer.set_number_of_annotation_signals(annotation_signals)
        digital = [_digital(signal, header) for signal, header in zip(signals, headers, strict=True)]
        step = EDF_CHUNK_RECORDS * EDF_FS_HZ
        for first in range(0, n_samples, step):
            writer.writeSamples([np.ascontiguousarray(d[first:first + step]) for d in digital], digital=True)
            progress.advance(min(EDF_CHUNK_RECORDS, n_records - first // EDF_FS_HZ))
        for onset, duration, text in annotations:
            writer.writeAnnotation(onset, duration, text)
    finally:
        writer.close()


# -- the entry point ------------------------------------------------------------------------------
_EXPORTERS: Final = {"kubios": _export_kubios, "csv": _export_csv, "edf": _export_edf}


def export_session(session: Session, fmt: str, out: Path | None = None, deidentify: bool = False,
                   progress: ProgressCallback | None = None) -> list[Path]:
    """Write ``session`` as ``fmt`` (one of :data:`FORMATS`); the paths of the files written.

    ``out``: a folder, or for kubios/edf a file path; None: next to the session file (see the
    module docstring for names and layouts). ``progress(fraction)`` is called with 0.0 first,
    then as work advances (at most about 100 calls), then 1.0 just before the files are moved
    into place; if it raises (a cancel), nothing is left behind and the exception propagates.
    Raises :class:`ExportError` (naming the session file) for an unknown format, a session
    without beats (kubios, edf), an output that already exists, or a file that cannot be written.

    Thread: any.
    """
    if fmt not in FORMATS:
        raise ExportError(f"{session.path}: unknown export format {fmt!r} (choose one of {', '.join(FORMATS)})")
    outputs = _Outputs(Path(session.path))
    reporter = _Progress(progress)
    try:
        reporter.start()
        ctx = _context(session, deidentify)
        _EXPORTERS[fmt](ctx, None if out is None else Path(out), outputs, reporter)
        reporter.finish()
        return outputs.commit()
    except OSError as error:
        outputs.discard()
        where = f" {error.filename}" if getattr(error, "filename", None) else ""
        raise ExportError(f"{session.path}: cannot write the {fmt} export{where}: {error.strerror or error}") from error
    except BaseException:
        outputs.discard()
        raise


__all__ = ["DEIDENTIFIED_START_WALL", "EDF_FILL", "EDF_FS_HZ", "FORMATS", "ExportError", "export_session"]
