"""One session = one SQLite file: every raw notification, every event, and a manifest.

The format (version 2) is documented in docs/recording-format.md. In short:

* ``manifest(key, value)``: JSON values (format, format_version, session_id, client,
  practitioner, mode, devices, source, app_version, started/ended times, tags, ...);
* ``notifications(timeline_seq, strap_id, seq, characteristic, host_ns, wall_time, payload, crc)``:
  every GATT notification exactly as received;
* ``events(timeline_seq, host_ns, wall_time, kind, strap_id, data, crc)``: connection states,
  gaps, strap info, markers, notes, cues, state and settings changes (``data`` is JSON);
* ``crc``: each row's checksum (``integrity.py``), verified on reading (format 2 on).

``timeline_seq`` is one counter across both tables, so a replay restores the exact order
in which things happened. The writer uses WAL and commits at least once per second of
session time: a process killed with SIGKILL loses at most the last second. A session whose
writer never closed it reads back as "ended unexpectedly". A clean close checkpoints and goes
back to a rollback journal, so a finished session is one file with no side files.

Reading never writes: files are opened through ``opening.open_read_only`` (immutable, or a
private copy of an interrupted recording with its -wal); damage is reported in
``Session.problems``, never raised as anything but :class:`SessionFileError`.

Thread: a writer belongs to the thread that feeds it (the BLE loop); readers are independent.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import os
import socket
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, TypeGuard

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
from .integrity import (
    MAX_SESSION_S,
    NS_PER_S,
    checked_manifest,
    event_crc,
    event_row_problem,
    notification_crc,
    notification_row_problem,
    stamp_problem,
)
from .opening import NotASession, check_sqlite_file, open_read_only, wal_note
from .private import create_private_file, private_folder
from .stored_analyses import StoredAnalysis, read_analyses, store_analyses

FORMAT: Final = "somafeedback-session"
FORMAT_VERSION: Final = 2  # 2: every row carries a checksum (crc)
CHECKSUMS_SINCE: Final = 2  # the first format version whose rows carry checksums
SUFFIX: Final = ".session.sqlite"
COMMIT_INTERVAL_S: Final = 0.5  # session seconds between commits: a SIGKILL loses at most about this (<= 1 s loaded)
FILE_MODE: Final = 0o600  # sessions are personal data: owner read/write only
READ_BATCH: Final = 5000  # rows read at a time
LISTED_ROWS: Final = 5  # row numbers named in one problem line
MAX_GAP_NS: Final = MAX_SESSION_S * NS_PER_S  # the longest gap a session can hold (ns)

SCHEMA: Final = """
CREATE TABLE manifest (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE notifications (
    timeline_seq INTEGER PRIMARY KEY,
    strap_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    characteristic TEXT NOT NULL,
    host_ns INTEGER NOT NULL,
    wall_time REAL NOT NULL,
    payload BLOB NOT NULL,
    crc INTEGER NOT NULL
);
CREATE TABLE events (
    timeline_seq INTEGER PRIMARY KEY,
    host_ns INTEGER NOT NULL,
    wall_time REAL,
    kind TEXT NOT NULL,
    strap_id TEXT,
    data TEXT NOT NULL,
    crc INTEGER NOT NULL
);
"""

TimelineItem = Notification | SourceEvent
Finisher = Callable[["Session"], list[StoredAnalysis]]  # what a cleanly ended recording stores for its readers


class SessionFileError(ValueError):
    """A session file that cannot be read (the message names the file and the problem)."""


class _DamagedFile(SessionFileError):
    """An SQLite file that SQLite cannot open as a database: its pages may still be salvaged."""


# -- events <-> rows -------------------------------------------------------------------------
def event_row(event: SourceEvent) -> tuple[int, float | None, str, str | None, str]:
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


def event_from_row(host_ns: int, wall_time: float | None, kind: str, strap_id: str | None, data: str) -> SourceEvent:
    """The event of a stored row; ValueError/TypeError/KeyError for details of the wrong shape."""
    details = json.loads(data)
    if not isinstance(details, dict):
        raise ValueError("its details are not a JSON object")
    if kind == "link":
        attempt, detail = details.get("attempt", 0), details.get("detail", "")
        if not isinstance(attempt, int) or not isinstance(detail, str):
            raise ValueError("link details of the wrong kind")
        return LinkEvent(strap_id or "", LinkState(details["state"]), host_ns, wall_time or 0.0, attempt, detail)
    if kind == "gap":
        start_ns, end_ns = details["start_ns"], details["end_ns"]
        if not (isinstance(start_ns, int) and isinstance(end_ns, int) and 0 <= end_ns - start_ns <= MAX_GAP_NS):
            raise ValueError("gap times of the wrong kind")
        return GapEvent(strap_id or "", start_ns, end_ns)
    if kind == "strap":
        name, address = details.get("name", ""), details.get("address", "")
        battery, location = details.get("battery_percent"), details.get("body_location")
        if not (isinstance(name, str) and isinstance(address, str) and (battery is None or isinstance(battery, int))):
            raise ValueError("strap details of the wrong kind")
        return StrapInfo(strap_id or "", name, address, host_ns, battery, location)
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
        private_folder(self.path.parent)  # 0700 (made so, with a message, when it was open to others)
        os.close(create_private_file(self.path))  # 0600 and never overwrite; SQLite's -wal/-shm take its mode
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
        row = (self._timeline_seq, notification.strap_id, notification.seq, notification.characteristic,
               notification.host_ns, float(notification.wall_time), bytes(notification.payload))
        self._db.execute("INSERT INTO notifications VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (*row, notification_crc(*row)))
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
        host_ns, wall, kind, strap_id, data = event_row(event)
        row = (self._timeline_seq, host_ns, None if wall is None else float(wall), kind, strap_id, data)
        self._db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)", (*row, event_crc(*row)))
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
        """Commit what is pending. Every commit also rewrites the manifest's ``last_commit_host_ns``, so
        every ``-wal`` holds the manifest page and names its session (a foreign ``-wal`` is recognised)."""
        if self._pending:
            self._db.execute("INSERT OR REPLACE INTO manifest VALUES ('last_commit_host_ns', ?)",
                             (json.dumps(self.clock.now_ns()),))
            self._db.commit()
            self._pending = False
        self._last_commit_s = self.clock.now()

    def set_manifest(self, **values: Any) -> None:
        self.manifest.update(values)
        self._db.executemany("INSERT OR REPLACE INTO manifest VALUES (?, ?)",
                             [(k, json.dumps(v)) for k, v in values.items()])
        self._pending = True

    def close(self, end_reason: str = "stopped", ended_wall: float | None = None, ended_host_ns: int | None = None,
              finish: Finisher | None = None) -> None:
        """Write the end of the session (now, unless given) and close the file (idempotent).

        ``finish`` then reads the session back from this file, as a reader would, and gives the
        analyses to keep with it (:mod:`.stored_analyses`); whatever goes wrong there, the
        session still closes, without them. The WAL is then checkpointed and the file goes back
        to a rollback journal: a finished session is one self-contained file, no ``-wal``/``-shm``.
        """
        if self.closed:
            return
        self.set_manifest(
            ended_wall=self.clock.wall_time() if ended_wall is None else ended_wall,
            ended_host_ns=self.clock.now_ns() if ended_host_ns is None else ended_host_ns,
            end_reason=end_reason,
        )
        self.commit()
        interrupted: KeyboardInterrupt | None = None
        if finish is not None:
            try:
                self._store_finished(finish)
            except KeyboardInterrupt as error:  # a second Ctrl-C meanwhile: the file is finished first, without them
                interrupted = error
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.execute("PRAGMA journal_mode=DELETE")
        self._db.close()
        self.closed = True
        if interrupted is not None:
            raise interrupted

    def _store_finished(self, finish: Finisher) -> None:
        """Store what ``finish`` makes of the session as committed (see :meth:`close`)."""
        problems: list[str] = []
        session = _session_in(self._db, self.path, problems)
        if session is None or problems:  # unreadable rows: a reader would not see what was recorded
            return
        try:
            analyses = finish(session)
        except Exception:  # noqa: BLE001 - an analysis that fails (or runs out of time) leaves the session as it is
            return
        if not analyses:
            return
        try:
            store_analyses(self._db, analyses)
            self._db.commit()
        except sqlite3.Error:  # e.g. a full disk: the session is committed already; it ends without them
            with contextlib.suppress(sqlite3.Error):
                self._db.rollback()

    def abandon(self) -> None:
        """Let go of the file after a failed write (e.g. a full disk): nothing more is written and
        no end; what was committed stays readable (it reads as ended unexpectedly). Idempotent."""
        if self.closed:
            return
        self.closed = True
        try:
            self._db.rollback()
            self._db.close()
        except sqlite3.Error:
            pass


# -- reading ------------------------------------------------------------------------------------
class ManifestFacts:
    """What a session's manifest says of it, for :class:`Session` and the streaming reader."""

    path: Path
    manifest: dict[str, Any]

    @property
    def session_id(self) -> str:
        return str(self.manifest.get("session_id", self.path.name))

    @property
    def ended_unexpectedly(self) -> bool:
        return "ended_wall" not in self.manifest


@dataclass
class Session(ManifestFacts):
    """A session read back from its file."""

    path: Path
    manifest: dict[str, Any]
    timeline: list[TimelineItem]  # notifications and events in the order they happened
    problems: list[str] = field(default_factory=list)  # what could not be read (recovered the rest)
    verifiable: bool = False  # its rows carry checksums (format 2 on), and they were checked
    rows_set_aside: int = 0  # stored rows not read as data (checksum mismatch, impossible values)
    wal: str = "none"  # its -wal: "none", "applied" (an interrupted recording read whole), "foreign" (not applied)
    analyses: dict[str, StoredAnalysis] = field(default_factory=dict)  # kept at a clean end (stored_analyses.py)

    @property
    def notifications(self) -> list[Notification]:
        return [item for item in self.timeline if isinstance(item, Notification)]

    @property
    def events(self) -> list[SourceEvent]:
        return [item for item in self.timeline if not isinstance(item, Notification)]

    @property
    def duration_s(self) -> float:
        start = self.manifest.get("started_host_ns")
        end = self.manifest.get("ended_host_ns")
        if end is None:
            stamps = [getattr(i, "host_ns", None) for i in self.timeline[-50:]]
            end = max((s for s in stamps if s is not None), default=start)
        return (end - start) / 1e9 if start is not None and end is not None else 0.0


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
            if not isinstance(key, str):
                raise TypeError("key is not text")
            manifest[key] = json.loads(value)
        except (TypeError, ValueError, RecursionError):
            if problems is not None:
                problems.append(f"manifest value of {key!r} is not JSON")
    _check_format(manifest, path)
    _check_version(manifest, path, for_writing)
    return manifest


def _check_version(manifest: Mapping[str, Any], path: Path, for_writing: bool = False) -> None:
    """Raise :class:`SessionFileError` for a format version newer than this one reads (or writes)."""
    version = manifest.get("format_version")
    if isinstance(version, int) and version > FORMAT_VERSION:
        verb = "writes" if for_writing else "reads"
        raise SessionFileError(f"{path}: written by a newer somafeedback (format {version}; this one {verb} {FORMAT_VERSION})")


def _check_format(manifest: Mapping[str, Any], path: Path) -> None:
    """Raise :class:`SessionFileError` when the manifest names another format than a somafeedback session."""
    if manifest.get("format") not in (None, FORMAT):
        raise SessionFileError(f"{path}: not a somafeedback session (format {manifest.get('format')!r})")


class _Rows:
    """Rows accepted on reading, and the ones set aside, by reason (one problem line per reason)."""

    def __init__(self, verify: bool, started_host_ns: int | None) -> None:
        self.verify = verify
        self.started_host_ns = started_host_ns
        self.items: dict[int, TimelineItem] = {}
        self.set_aside: dict[str, list[int]] = {}  # reason -> row numbers
        self.rejected: set[int] = set()

    def _reject(self, seq: Any, reason: str) -> None:
        self.set_aside.setdefault(reason, []).append(seq if isinstance(seq, int) else -1)
        if isinstance(seq, int):
            self.rejected.add(seq)

    def checked_notification(self, row: tuple[Any, ...], crc: Any) -> Notification | None:
        """The notification of one (timeline_seq, strap_id, seq, characteristic, host_ns, wall_time, payload)
        row, checked; None when set aside (noted here). Kept nowhere (the streaming reader's step)."""
        problem = notification_row_problem(row)
        if problem is None and self.verify and crc != notification_crc(*row):
            problem = "its checksum does not match what was recorded"
        if problem is None:
            problem = stamp_problem(row[4], self.started_host_ns)
        if problem is not None:
            self._reject(row[0], f"notifications set aside: {problem}")
            return None
        _, strap_id, n, characteristic, host_ns, wall_time, payload = row
        return Notification(strap_id, characteristic, n, host_ns, float(wall_time), bytes(payload))

    def checked_event(self, row: tuple[Any, ...], crc: Any) -> SourceEvent | None:
        """The event of one (timeline_seq, host_ns, wall_time, kind, strap_id, data) row, checked; None when set aside."""
        problem = event_row_problem(row)
        if problem is None and self.verify and crc != event_crc(*row):
            problem = "its checksum does not match what was recorded"
        if problem is None:
            problem = stamp_problem(row[1], self.started_host_ns)
        if problem is None:
            try:
                return event_from_row(row[1], None if row[2] is None else float(row[2]), *row[3:])
            except (KeyError, ValueError, TypeError, AttributeError, RecursionError):
                problem = "its details cannot be read"
        self._reject(row[0], f"events set aside: {problem}")
        return None

    def notification(self, row: tuple[Any, ...], crc: Any) -> bool:
        """Take one notification row into ``items``; False if set aside."""
        item = self.checked_notification(row, crc)
        if item is not None:
            self.items[row[0]] = item
        return item is not None

    def event(self, row: tuple[Any, ...], crc: Any) -> bool:
        """Take one event row into ``items``; False if set aside."""
        item = self.checked_event(row, crc)
        if item is not None:
            self.items[row[0]] = item
        return item is not None

    def problems(self, by_table: bool = False) -> list[str]:
        """One line per reason, in the order first met; ``by_table``: notification reasons first (the
        order :func:`read_session` meets them in, for a reader that reads both tables together)."""
        lines = []
        reasons = list(self.set_aside.items())
        if by_table:
            reasons.sort(key=lambda entry: not entry[0].startswith("notifications"))
        for reason, seqs in reasons:
            shown = ", ".join(f"#{n}" for n in seqs[:LISTED_ROWS]) + (", ..." if len(seqs) > LISTED_ROWS else "")
            what, why = reason.split(": ", 1)
            lines.append(f"{len(seqs)} {what} ({why}): rows {shown}")
        return lines

    @property
    def count_set_aside(self) -> int:
        return sum(len(v) for v in self.set_aside.values())


def _read_rows(db: sqlite3.Connection, table: str, columns: str, problems: list[str],
               batch: int = READ_BATCH) -> Iterator[tuple]:
    """Every row of ``table`` SQLite can walk, in timeline order, ``batch`` rows fetched at a time; at
    damage, a problem line and the end.

    What lies beyond the damage is read from the file's pages afterwards (:func:`_salvaged`).
    """
    after: Any = None
    while True:
        try:
            if after is None:
                rows = db.execute(f"SELECT {columns} FROM {table} ORDER BY timeline_seq LIMIT ?", (batch,)).fetchall()
            else:
                rows = db.execute(f"SELECT {columns} FROM {table} WHERE timeline_seq > ? ORDER BY timeline_seq LIMIT ?",
                                  (after, batch)).fetchall()
        except sqlite3.DatabaseError as error:
            problems.append(f"{table}: the file is damaged after row #{after or 0} ({_plain(error)})")
            return
        except (OverflowError, ValueError) as error:  # a value SQLite stores but Python cannot take
            problems.append(f"{table}: a row after #{after or 0} cannot be read ({error})")
            return
        if not rows:
            return
        yield from rows
        last = rows[-1][0]
        if not isinstance(last, int) or (after is not None and last <= after):
            problems.append(f"{table}: the file's row numbers are damaged after row #{after or 0}")
            return
        after = last


def _plain(error: BaseException) -> str:
    """SQLite's message in words: an aborted endless read becomes what it means."""
    text = str(error)
    return "its structure loops; reading was stopped" if text == "interrupted" else text


def read_session(path: str | Path) -> Session:
    """Read a whole session without changing anything; recovers what it can, and says what it could not read.

    Raises :class:`SessionFileError` only when nothing of a session can be read (not an SQLite
    file, no manifest, another format, a newer format version). Thread: any.
    """
    path = Path(path)
    try:
        check_sqlite_file(path)
    except NotASession as error:
        raise SessionFileError(f"{path}: {error}") from error
    problems: list[str] = []
    manifest: dict[str, Any] = {}
    rows = _Rows(False, None)
    complete = False
    use_wal = True
    wal_state = "none"
    analyses: dict[str, StoredAnalysis] = {}
    try:
        with open_read_only(path) as opened:
            wal_state, use_wal = opened.wal, opened.wal != "foreign"
            note = wal_note(opened)
            if note:
                problems.append(note)
            manifest, rows, complete = _read_in(opened.db, path, problems)
            analyses = read_analyses(opened.db, problems) if complete else {}
    except SessionFileError as error:
        if "newer somafeedback" in str(error) or "(format " in str(error):
            raise
        problems.append(str(error).split(": ", 1)[-1])
    except sqlite3.DatabaseError as error:
        problems.append(f"SQLite cannot open it ({_plain(error)})")
    except UnicodeDecodeError:  # SQLite's message or a text quotes damaged bytes
        problems.append("some of its text cannot be read (damaged bytes)")
    except (OverflowError, ValueError, MemoryError) as error:
        problems.append(f"a value cannot be read ({error})")
    if not complete:
        return _salvaged(path, manifest, rows, problems, use_wal, wal_state)
    problems.extend(rows.problems())
    return Session(path, manifest, _in_place([rows.items[k] for k in sorted(rows.items)]), problems,
                   rows.verify, rows.count_set_aside, wal_state, analyses)


def _read_in(db: sqlite3.Connection, path: Path, problems: list[str]) -> tuple[dict[str, Any], _Rows, bool]:
    """The checked manifest and the rows of the open ``db``, and whether SQLite walked its tables completely."""
    manifest = checked_manifest(read_manifest(db, path, problems), problems)
    rows = _Rows(_verifiable(manifest), manifest.get("started_host_ns"))
    return manifest, rows, _read_tables(db, rows, problems) and bool(manifest)


def _session_in(db: sqlite3.Connection, path: Path, problems: list[str]) -> Session | None:
    """The session of the open ``db`` as :func:`read_session` reads it (without stored analyses); None when
    SQLite could not walk its tables (``problems`` says why)."""
    manifest, rows, complete = _read_in(db, path, problems)
    if not complete:
        return None
    problems.extend(rows.problems())
    return Session(path, manifest, _in_place([rows.items[k] for k in sorted(rows.items)]), problems,
                   rows.verify, rows.count_set_aside)


def _verifiable(manifest: Mapping[str, Any]) -> bool:
    version = manifest.get("format_version", 1)
    return isinstance(version, int) and version >= CHECKSUMS_SINCE


def _read_tables(db: sqlite3.Connection, rows: _Rows, problems: list[str]) -> bool:
    """Read both tables into ``rows``; True when SQLite walked them completely."""
    before = len(problems)
    crc = ", crc" if rows.verify else ", NULL"
    for row in _read_rows(db, "notifications",
                          f"timeline_seq, strap_id, seq, characteristic, host_ns, wall_time, payload{crc}", problems):
        rows.notification(tuple(row[:7]), row[7])
    for row in _read_rows(db, "events", f"timeline_seq, host_ns, wall_time, kind, strap_id, data{crc}", problems):
        rows.event(tuple(row[:6]), row[6])
    return len(problems) == before

def is_review_note(item: TimelineItem) -> TypeGuard[TimelineEvent]:
    """A review note: appended after the session, stamped at the moment it comments on."""
    return isinstance(item, TimelineEvent) and item.kind == "note" and item.data.get("review") is True


def stamp_ns(item: TimelineItem) -> int:
    """The host time an item is placed by (a gap: its end)."""
    return item.end_ns if isinstance(item, GapEvent) else item.host_ns


def _in_place(timeline: list[TimelineItem]) -> list[TimelineItem]:
    """Review notes are appended after the session, stamped at the moment they comment on: put them there."""
    notes = [i for i in timeline if is_review_note(i)]
    if not notes:
        return timeline
    rest = [i for i in timeline if not is_review_note(i)]
    stamps = [stamp_ns(i) for i in rest]
    for note in sorted(notes, key=lambda n: n.host_ns):
        at = bisect.bisect_right(stamps, note.host_ns)
        rest.insert(at, note)
        stamps.insert(at, note.host_ns)
    return rest


def _salvaged(path: Path, manifest: dict[str, Any], rows: _Rows, problems: list[str], use_wal: bool,
              wal_state: str) -> Session:
    """Add what the file's pages still hold to what SQLite could read (the file is only read as bytes)."""
    from .salvage import salvage

    try:
        found_rows = salvage(path, use_wal=use_wal)
    except (OSError, MemoryError) as error:
        raise SessionFileError(f"{path}: cannot be read ({error})") from error
    if not manifest:
        raw: dict[str, Any] = {}
        for key, value in found_rows.manifest.items():
            try:
                raw[key] = json.loads(value)
            except (json.JSONDecodeError, RecursionError):
                continue
        if raw.get("format") != FORMAT:
            first = problems[0] if problems else "no session found in it"
            if first.startswith("not a somafeedback session"):
                raise SessionFileError(f"{path}: {first}")
            raise SessionFileError(f"{path}: damaged beyond reading ({first})")
        manifest = checked_manifest(raw, problems)
        _check_version(manifest, path)
        rows.verify, rows.started_host_ns = _verifiable(manifest), manifest.get("started_host_ns")
    found = 0
    for seq, values in found_rows.notifications.items():
        if seq not in rows.items and seq not in rows.rejected:
            found += rows.notification((seq, *values[:6]), values[6] if len(values) > 6 else None)
    for seq, values in found_rows.events.items():
        if seq not in rows.items and seq not in rows.rejected:
            found += rows.event((seq, *values[:5]), values[5] if len(values) > 5 else None)
    problems.extend(rows.problems())
    problems.append(f"recovered {found} more rows by reading the file's pages directly"
                    + (f"; {found_rows.unreadable_cells} damaged rows lost" if found_rows.unreadable_cells else ""))
    return Session(path, manifest, _in_place([rows.items[k] for k in sorted(rows.items)]), problems,
                   rows.verify, rows.count_set_aside, wal_state)

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
