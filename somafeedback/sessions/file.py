"""One session = one SQLite file: every raw notification, every event, and a manifest.

The format (version 1) is documented in docs/recording-format.md. In short:

* ``manifest(key, value)``: JSON values (format, format_version, session_id, client,
  practitioner, mode, devices, source, app_version, started/ended times, tags, ...);
* ``notifications(timeline_seq, strap_id, seq, characteristic, host_ns, wall_time, payload)``:
  every GATT notification exactly as received;
* ``events(timeline_seq, host_ns, wall_time, kind, strap_id, data)``: connection states,
  gaps, strap info, markers, notes, cues, state and settings changes (``data`` is JSON).

``timeline_seq`` is one counter across both tables, so a replay restores the exact order
in which things happened. The writer uses WAL and commits at least once per second of
session time: a process killed with SIGKILL loses at most the last second. A session whose
writer never closed it reads back as "ended unexpectedly".

Thread: a writer belongs to the thread that feeds it (the BLE loop); readers are independent.
"""

from __future__ import annotations

import bisect
import json
import os
import socket
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from somafeedback import __version__
from somafeedback.clock import Clock
from somafeedback.devices.events import (
    GapEvent,
    LinkEvent,
    LinkState,
    Notification,
    SourceEvent,
    StrapInfo,
    TimelineEvent,
)
from somafeedback.progress import Progress

FORMAT: Final = "somafeedback-session"
FORMAT_VERSION: Final = 1
SUFFIX: Final = ".session.sqlite"
COMMIT_INTERVAL_S: Final = 0.5  # session seconds between commits: a SIGKILL loses at most about this (<= 1 s loaded)
FILE_MODE: Final = 0o600  # sessions are personal data: owner read/write only
READ_BATCH: Final = 5000  # rows read at a time (a damaged page costs at most one batch)

SCHEMA: Final = """
CREATE TABLE manifest (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE notifications (
    timeline_seq INTEGER PRIMARY KEY,
    strap_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    characteristic TEXT NOT NULL,
    host_ns INTEGER NOT NULL,
    wall_time REAL NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE events (
    timeline_seq INTEGER PRIMARY KEY,
    host_ns INTEGER NOT NULL,
    wall_time REAL,
    kind TEXT NOT NULL,
    strap_id TEXT,
    data TEXT NOT NULL
);
"""

TimelineItem = Notification | SourceEvent


class SessionFileError(ValueError):
    """A session file that cannot be read (the message names the file and the problem)."""


class _DamagedFile(SessionFileError):
    """An SQLite file that SQLite cannot open as a database: its pages may still be salvaged."""


# -- events <-> rows -------------------------------------------------------------------------
def _event_row(event: SourceEvent) -> tuple[int, float | None, str, str | None, str]:
    """(host_ns, wall_time, kind, strap_id, data JSON) of an event."""
    if isinstance(event, LinkEvent):
        data = {"state": str(event.state), "attempt": event.attempt, "detail": event.detail}
        return event.host_ns, event.wall_time, "link", event.strap_id, json.dumps(data)
    if isinstance(event, GapEvent):
        data = {"start_ns": event.start_ns, "end_ns": event.end_ns}
        return event.end_ns, None, "gap", event.strap_id, json.dumps(data)
    if isinstance(event, StrapInfo):
        data = {k: v for k, v in asdict(event).items() if k not in ("strap_id", "host_ns")}
        return event.host_ns, None, "strap", event.strap_id, json.dumps(data)
    return event.host_ns, event.wall_time, event.kind, event.strap_id, json.dumps(dict(event.data))


def _event_from_row(host_ns: int, wall_time: float | None, kind: str, strap_id: str | None, data: str) -> SourceEvent:
    details = json.loads(data)
    if kind == "link":
        return LinkEvent(strap_id or "", LinkState(details["state"]), host_ns, wall_time or 0.0,
                         details.get("attempt", 0), details.get("detail", ""))
    if kind == "gap":
        return GapEvent(strap_id or "", details["start_ns"], details["end_ns"])
    if kind == "strap":
        return StrapInfo(strap_id or "", details.get("name", ""), details.get("address", ""), host_ns,
                         details.get("battery_percent"), details.get("body_location"))
    return TimelineEvent(kind, host_ns, wall_time or 0.0, details, strap_id)


# -- writing ------------------------------------------------------------------------------------
def new_session_path(directory: Path, started_wall: float, client: str | None) -> Path:
    """A fresh file name: date, time, client pseudonym (if any) and a short unique id."""
    import time

    stamp = time.strftime("%Y-%m-%d_%H%M%S", time.localtime(started_wall))
    who = "".join(c if c.isalnum() or c in "-_" else "-" for c in client)[:32] + "_" if client else ""
    return directory / f"{stamp}_{who}{uuid.uuid4().hex[:8]}{SUFFIX}"


class SessionWriter:
    """Appends a session as it happens; also a :class:`StrapSink` (record what straps send)."""

    def __init__(self, path: Path, clock: Clock, manifest: Mapping[str, Any]) -> None:
        self.path = Path(path)
        self.clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)  # never overwrite
        os.close(fd)
        self._db = sqlite3.connect(self.path, isolation_level="DEFERRED", check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a killed process loses nothing committed
        self._db.executescript(SCHEMA)
        self._timeline_seq = 0
        self.notifications = 0
        self.events = 0
        self._last_commit_s = clock.now()
        self._pending = False
        self.closed = False
        started = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "session_id": uuid.uuid4().hex,
            "app_version": __version__,
            "started_wall": clock.wall_time(),
            "started_host_ns": clock.now_ns(),
            "recorder": {"pid": os.getpid(), "host": socket.gethostname()},
            "tags": [],
        }
        self.manifest: dict[str, Any] = {**started, **dict(manifest)}
        self._db.executemany("INSERT INTO manifest VALUES (?, ?)",
                             [(k, json.dumps(v)) for k, v in self.manifest.items()])
        self._db.commit()

    # -- StrapSink ------------------------------------------------------------------------
    def notification(self, notification: Notification) -> None:
        self._timeline_seq += 1
        self._db.execute(
            "INSERT INTO notifications VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self._timeline_seq, notification.strap_id, notification.seq, notification.characteristic,
             notification.host_ns, notification.wall_time, notification.payload),
        )
        self.notifications += 1
        self._wrote()

    def event(self, event: SourceEvent) -> None:
        if isinstance(event, TimelineEvent) and event.kind == "baseline":  # found by the library for later sessions
            self.set_manifest(baseline=dict(event.data))
        if isinstance(event, StrapInfo):  # the manifest names every strap as soon as it is known
            devices = {d["strap_id"]: d for d in self.manifest.get("devices", [])}
            devices[event.strap_id] = {"strap_id": event.strap_id, "name": event.name, "address": event.address}
            self.set_manifest(devices=list(devices.values()))
        self._timeline_seq += 1
        self._db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", (self._timeline_seq, *_event_row(event)))
        self.events += 1
        self._wrote()

    # -- durability ------------------------------------------------------------------------
    def _wrote(self) -> None:
        self._pending = True
        self.commit_if_due()

    def commit_if_due(self) -> None:
        """Commit when a second of session time has passed since the last commit."""
        now = self.clock.now()
        if self._pending and now - self._last_commit_s >= COMMIT_INTERVAL_S:
            self.commit()

    def commit(self) -> None:
        if self._pending:
            self._db.commit()
            self._pending = False
        self._last_commit_s = self.clock.now()

    def set_manifest(self, **values: Any) -> None:
        self.manifest.update(values)
        self._db.executemany("INSERT OR REPLACE INTO manifest VALUES (?, ?)",
                             [(k, json.dumps(v)) for k, v in values.items()])
        self._pending = True

    def close(self, end_reason: str = "stopped", ended_wall: float | None = None, ended_host_ns: int | None = None) -> None:
        """Write the end of the session (now, unless given) and close the file (idempotent)."""
        if self.closed:
            return
        self.set_manifest(
            ended_wall=self.clock.wall_time() if ended_wall is None else ended_wall,
            ended_host_ns=self.clock.now_ns() if ended_host_ns is None else ended_host_ns,
            end_reason=end_reason,
        )
        self.commit()
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()
        self.closed = True


# -- reading ------------------------------------------------------------------------------------
@dataclass
class Session:
    """A session read back from its file."""

    path: Path
    manifest: dict[str, Any]
    timeline: list[TimelineItem]  # notifications and events in the order they happened
    problems: list[str] = field(default_factory=list)  # what could not be read (recovered the rest)

    @property
    def notifications(self) -> list[Notification]:
        return [item for item in self.timeline if isinstance(item, Notification)]

    @property
    def events(self) -> list[SourceEvent]:
        return [item for item in self.timeline if not isinstance(item, Notification)]

    @property
    def session_id(self) -> str:
        return str(self.manifest.get("session_id", self.path.name))

    @property
    def ended_unexpectedly(self) -> bool:
        return "ended_wall" not in self.manifest

    @property
    def duration_s(self) -> float:
        start = self.manifest.get("started_host_ns")
        end = self.manifest.get("ended_host_ns")
        if end is None:
            stamps = [getattr(i, "host_ns", None) for i in self.timeline[-50:]]
            end = max((s for s in stamps if s is not None), default=start)
        return (end - start) / 1e9 if start is not None and end is not None else 0.0


def _connect_for_reading(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise SessionFileError(f"{path}: no such session file")
    if path.is_dir():
        raise SessionFileError(f"{path}: is a folder, not a session file")
    with open(path, "rb") as handle:
        header = handle.read(16)
    if header != b"SQLite format 3\x00":
        raise SessionFileError(f"{path}: not a somafeedback session (not an SQLite file)")
    try:
        db = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as error:
        raise _DamagedFile(f"{path}: damaged beyond reading ({error})") from error
    return db


# -- the manifest: the one reader (read_session, review notes, the library) ----------------------
def manifest_rows(db: sqlite3.Connection, *keys: str) -> list[tuple[str, str]]:
    """The manifest table as (key, JSON text) rows: every row, or only those of ``keys``.

    Raw and unchecked (the library lists and tags files with it); raises ``sqlite3.DatabaseError``
    as SQLite does. Thread: the connection's.
    """
    if not keys:
        return db.execute("SELECT key, value FROM manifest").fetchall()
    marks = ", ".join("?" * len(keys))
    return db.execute(f"SELECT key, value FROM manifest WHERE key IN ({marks})", keys).fetchall()


def read_manifest(db: sqlite3.Connection, path: Path, problems: list[str] | None = None,
                  for_writing: bool = False) -> dict[str, Any]:
    """The manifest of an open session file, checked to be a somafeedback session of a format this version knows.

    With ``problems`` (reading a whole session) a manifest table SQLite cannot read and values
    that are not JSON are noted there and reading goes on; without, an unreadable table raises
    ``sqlite3.DatabaseError`` and values that are not JSON are left out. ``for_writing`` names the
    purpose in the "newer format" message. Raises :class:`SessionFileError` for a file without a
    manifest table, of another format, or of a newer format version. Thread: the connection's.
    """
    try:
        rows = manifest_rows(db)
    except sqlite3.DatabaseError as error:
        if "no such table" in str(error):
            raise SessionFileError(f"{path}: not a somafeedback session (no manifest)") from error
        if problems is None:
            raise
        problems.append(f"manifest unreadable ({error})")
        return {}
    manifest = {}
    for key, value in rows:
        try:
            manifest[key] = json.loads(value)
        except json.JSONDecodeError:
            if problems is not None:
                problems.append(f"manifest value of {key!r} is not JSON")
    _check_format(manifest, path)
    version = manifest.get("format_version")
    if isinstance(version, int) and version > FORMAT_VERSION:
        verb = "writes" if for_writing else "reads"
        raise SessionFileError(f"{path}: written by a newer somafeedback (format {version}; this one {verb} {FORMAT_VERSION})")
    return manifest


def _check_format(manifest: Mapping[str, Any], path: Path) -> None:
    """Raise :class:`SessionFileError` when the manifest names another format than a somafeedback session."""
    if manifest.get("format") not in (None, FORMAT):
        raise SessionFileError(f"{path}: not a somafeedback session (format {manifest.get('format')!r})")


def _read_rows(db: sqlite3.Connection, table: str, columns: str, problems: list[str]) -> Iterator[tuple]:
    """Every readable row of ``table`` in timeline order; a damaged stretch is skipped and reported."""
    after = 0
    while True:
        try:
            rows = db.execute(
                f"SELECT {columns} FROM {table} WHERE timeline_seq > ? ORDER BY timeline_seq LIMIT ?", (after, READ_BATCH)
            ).fetchall()
        except sqlite3.DatabaseError as error:
            try:
                last = db.execute(f"SELECT max(timeline_seq) FROM {table}").fetchone()[0] or after
            except sqlite3.DatabaseError:
                last = after
            problems.append(f"{table}: rows after #{after} unreadable ({error})")
            if last <= after + READ_BATCH:
                return
            after += READ_BATCH  # try the stretch after the damage
            continue
        if not rows:
            return
        yield from rows
        after = rows[-1][0]


def read_session(path: str | Path) -> Session:
    """Read a whole session; recovers what it can, and says what it could not read."""
    path = Path(path)
    problems: list[str] = []
    items: dict[int, TimelineItem] = {}
    try:
        db = _connect_for_reading(path)
    except _DamagedFile as error:
        return _salvaged(path, {}, {}, [str(error).split(": ", 1)[1]], error)
    try:
        manifest = read_manifest(db, path, problems)
        for seq, strap_id, n, characteristic, host_ns, wall_time, payload in _read_rows(
            db, "notifications", "timeline_seq, strap_id, seq, characteristic, host_ns, wall_time, payload", problems
        ):
            items[seq] = Notification(strap_id, characteristic, n, host_ns, wall_time, bytes(payload))
        for seq, host_ns, wall_time, kind, strap_id, data in _read_rows(
            db, "events", "timeline_seq, host_ns, wall_time, kind, strap_id, data", problems
        ):
            try:
                items[seq] = _event_from_row(host_ns, wall_time, kind, strap_id, data)
            except (KeyError, ValueError, TypeError) as error:
                problems.append(f"event #{seq} ({kind}) unreadable: {error}")
    finally:
        db.close()
    if problems:
        return _salvaged(path, manifest, items, problems, None)
    return Session(path, manifest, _in_place([items[k] for k in sorted(items)]), problems)


def _in_place(timeline: list[TimelineItem]) -> list[TimelineItem]:
    """Review notes are appended after the session, stamped at the moment they comment on: put them there."""
    notes = [i for i in timeline if isinstance(i, TimelineEvent) and i.kind == "note" and i.data.get("review") is True]
    if not notes:
        return timeline
    rest = [i for i in timeline if not (isinstance(i, TimelineEvent) and i.kind == "note" and i.data.get("review") is True)]
    stamps = [i.end_ns if isinstance(i, GapEvent) else i.host_ns for i in rest]
    for note in sorted(notes, key=lambda n: n.host_ns):
        at = bisect.bisect_right(stamps, note.host_ns)
        rest.insert(at, note)
        stamps.insert(at, note.host_ns)
    return rest


def _salvaged(path: Path, manifest: dict[str, Any], items: dict[int, TimelineItem], problems: list[str],
              error: SessionFileError | None) -> Session:
    """Add what the file's pages still hold to what SQLite could read."""
    from .salvage import salvage

    rows = salvage(path)
    found = 0
    for seq, (strap_id, n, characteristic, host_ns, wall_time, payload) in rows.notifications.items():
        if seq not in items:
            items[seq] = Notification(strap_id, characteristic, n, host_ns, wall_time, payload)
            found += 1
    for seq, (host_ns, wall_time, kind, strap_id, data) in rows.events.items():
        if seq not in items:
            try:
                items[seq] = _event_from_row(host_ns, wall_time, kind, strap_id, data)
                found += 1
            except (KeyError, ValueError, TypeError):
                continue
    for key, value in rows.manifest.items():
        if key not in manifest:
            try:
                manifest[key] = json.loads(value)
            except json.JSONDecodeError:
                continue
    if error is not None and not items:
        raise error
    _check_format(manifest, path)
    problems.append(f"recovered {found} more rows by reading the file's pages directly"
                    + (f"; {rows.unreadable_cells} damaged rows lost" if rows.unreadable_cells else ""))
    return Session(path, manifest, _in_place([items[k] for k in sorted(items)]), problems)


def recorder_alive(manifest: Mapping[str, Any]) -> bool:
    """True while the process that writes this session is still running on this machine."""
    recorder = manifest.get("recorder") or {}
    if recorder.get("host") != socket.gethostname() or not isinstance(recorder.get("pid"), int):
        return False
    try:
        os.kill(recorder["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_session(path: Path, manifest: Mapping[str, Any], timeline: Iterable[TimelineItem], clock: Clock,
                  end_reason: str = "imported", progress: Progress | None = None) -> Path:
    """Write a whole timeline at once (imports, the sample session).

    ``manifest`` should carry ``started_wall`` and ``started_host_ns`` of the data; the end is
    taken from the last item. ``progress`` hears of every item written (its total is the
    caller's to set); the caller removes the file if it cancels.
    """
    writer = SessionWriter(path, clock, manifest)
    last_ns, last_wall = int(writer.manifest["started_host_ns"]), float(writer.manifest["started_wall"])
    for item in timeline:
        if progress is not None:
            progress.advance()
        if isinstance(item, Notification):
            writer.notification(item)
            last_ns, last_wall = item.host_ns, item.wall_time
        else:
            writer.event(item)
    writer.close(end_reason, ended_wall=last_wall, ended_host_ns=last_ns)
    return path
