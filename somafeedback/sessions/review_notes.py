"""Review notes: what a practitioner (or a supervisor) writes while reviewing a recorded session.

A review note is an ordinary ``note`` event of the session file (docs/recording-format.md)
whose data say it was written afterwards::

    {"text": "...", "review": true, "author": "..." | null}

Where it goes:

* ``host_ns`` is the **reviewed moment** (the session-clock time the note is about), and
  ``wall_time`` the wall-clock time of that moment (from the manifest's start), so exports
  and the replay strip place it where it belongs;
* ``timeline_seq`` is the next one after everything already recorded (max over both tables
  + 1): the recorded order of what *happened* is never renumbered. Review notes therefore
  come **at the end of the timeline order**; a reader that wants them in time order sorts
  by ``host_ns`` (as :func:`review_notes` does).

Nothing else changes: the manifest, the recorded rows and every other file stay as they
are (SQLite's ``-wal``/``-shm`` side files exist only while the note is being written, with
the session's own mode), the file keeps its mode, and the note is written in one
transaction. A session that is still being recorded, or that is damaged, is refused with a
:class:`~somafeedback.sessions.file.SessionFileError` naming the file.

Which file gets the notes: only the user's own session, directly in their library folder and
writable (:func:`notes_in_place`). Any other session (the sample shipped with the app, a file
marked read-only, one opened from elsewhere) is kept as it is: :func:`copy_for_review` makes a
faithful copy of it in the library (0600; the folder made 0700 when it is created) and the
notes go there; :func:`find_review_copy` finds such a copy again (same ``session_id``). The
original is only ever read as bytes, so neither it nor anything beside it changes (an SQLite
read-only connection would leave ``-wal``/``-shm`` files beside a WAL-mode file).

Thread: any (each call opens and closes its own connection).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TypeGuard

from somafeedback.devices.events import TimelineEvent
from .file import SUFFIX, Session, SessionFileError, manifest_rows, read_manifest, recorder_alive
from .integrity import event_crc
from .opening import NotASession, open_read_only
from .private import private_folder

SQLITE_HEADER = b"SQLite format 3\x00"


def add_review_note(path: Path, at_host_ns: int, text: str, author: str | None = None) -> None:
    """Append a review note about the moment ``at_host_ns`` (session clock) to an existing session file."""
    _add_note(path, at_host_ns, text, author, None)


PHASE_MARKS = ("baseline", "practice", "recovery")  # the phases a review can mark (somafeedback.sessions.segments.PHASES)


def add_phase_mark(path: Path, at_host_ns: int, phase: str, author: str | None = None) -> None:
    """Mark, in review, that the phase ``phase`` starts at ``at_host_ns``: a review note carrying ``"phase"``.

    Stored like :func:`add_review_note` (the same file rules, one transaction) with the data
    ``{"text": "phase: <phase> starts", "review": true, "author": ..., "phase": "<phase>"}``, so it
    is listed with the review notes everywhere and read as a phase mark by
    :func:`somafeedback.sessions.segments.session_phases`.
    """
    if phase not in PHASE_MARKS:
        raise ValueError(f"phase must be one of {PHASE_MARKS}, not {phase!r}")
    _add_note(path, at_host_ns, f"phase: {phase} starts", author, phase)


def _add_note(path: Path, at_host_ns: int, text: str, author: str | None, phase: str | None) -> None:
    path = Path(path)
    if isinstance(at_host_ns, bool) or not isinstance(at_host_ns, int):
        raise TypeError(f"at_host_ns must be an integer number of nanoseconds, not {at_host_ns!r}")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a review note needs some text")
    if author is not None and not isinstance(author, str):
        raise TypeError(f"author must be a string or None, not {author!r}")
    if not path.exists():
        raise SessionFileError(f"{path}: no such session file")
    if not path.is_file():
        raise SessionFileError(f"{path}: not a session file")
    with open(path, "rb") as handle:
        if handle.read(16) != SQLITE_HEADER:
            raise SessionFileError(f"{path}: not a somafeedback session (not an SQLite file)")
    try:
        # mode=rw: never creates a file; autocommit mode, the transaction is explicit below
        db = sqlite3.connect(f"file:{path}?mode=rw", uri=True, isolation_level=None, timeout=5.0)
    except sqlite3.Error as error:
        raise SessionFileError(f"{path}: cannot open the session file ({error})") from error
    try:
        try:
            problem = _damage(db)
            if problem is not None:
                raise SessionFileError(f"{path}: damaged ({problem}); not adding a note to it")
            db.execute("BEGIN IMMEDIATE")  # the write lock first: nobody slips a row in between
            try:
                manifest = _manifest(db, path)
                if "ended_wall" not in manifest and recorder_alive(manifest):
                    raise SessionFileError(f"{path}: still being recorded; add review notes once it has stopped")
                next_seq = db.execute(
                    "SELECT max(coalesce((SELECT max(timeline_seq) FROM notifications), 0),"
                    " coalesce((SELECT max(timeline_seq) FROM events), 0)) + 1"
                ).fetchone()[0]
                wall = _wall_time(manifest, at_host_ns)
                data = {"text": text, "review": True, "author": author}
                if phase is not None:
                    data["phase"] = phase
                row = (next_seq, at_host_ns, wall, "note", None, json.dumps(data))
                if _has_checksums(db):  # format 2 on: the note carries its checksum like every row
                    db.execute("INSERT INTO events (timeline_seq, host_ns, wall_time, kind, strap_id, data, crc)"
                               " VALUES (?, ?, ?, ?, ?, ?, ?)", (*row, event_crc(*row)))
                else:
                    db.execute("INSERT INTO events (timeline_seq, host_ns, wall_time, kind, strap_id, data)"
                               " VALUES (?, ?, ?, ?, ?, ?)", row)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as error:
            raise SessionFileError(f"{path}: cannot add a review note ({error})") from error
    finally:
        db.close()


SIDE_FILES = ("-wal", "-journal")  # copied with the file: what SQLite has not yet put into it
COPY_MARK = "review copy"


def notes_in_place(path: Path, library: Path) -> bool:
    """True when review notes may go into ``path`` itself: a file directly in the library folder, writable.

    Writable means its write bit is set (a file marked read-only stays as it is, even for an
    administrator, whom the system would let write) and the system lets this user write both
    the file and its folder (SQLite writes side files there while a note is saved).
    """
    try:
        path, folder = Path(path).resolve(strict=True), Path(library).resolve(strict=True)
        mode = path.stat().st_mode
    except (OSError, RuntimeError):
        return False
    return (path.parent == folder and stat.S_ISREG(mode)
            and bool(mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
            and os.access(path, os.W_OK) and os.access(folder, os.W_OK | os.X_OK))


def find_review_copy(library: Path, session_id: str, besides: Path | None = None) -> Path | None:
    """A session in the library (other than ``besides``) with this ``session_id`` that takes notes in place, or None.

    Reads only manifests, opened ``immutable`` (nothing is written beside any file).
    """
    library = Path(library)
    if not session_id or not library.is_dir():
        return None
    skip = Path(besides).resolve() if besides is not None else None
    for candidate in sorted(library.glob(f"*{SUFFIX}")):
        if skip is not None and candidate.resolve() == skip:
            continue
        try:
            db = sqlite3.connect(f"{candidate.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
            try:
                rows = manifest_rows(db, "session_id")
            finally:
                db.close()
            found = json.loads(rows[0][1]) if rows else None
        except (sqlite3.DatabaseError, json.JSONDecodeError, OSError):
            continue
        if found == session_id and notes_in_place(candidate, library):
            return candidate
    return None


def copy_for_review(path: Path, library: Path) -> Path:
    """A faithful copy of the session ``path``, made in the library folder; its path. The original is only read.

    The file (with its ``-wal``/``-journal``, if any) is copied byte for byte into a private
    folder in the library, opened there and checkpointed, checked, and moved in as
    ``<name> (review copy).session.sqlite`` (``… (review copy 2)…`` and so on, never
    replacing a file), mode 0600. A damaged session, one that is not a somafeedback session
    and one still being recorded are refused with a SessionFileError, leaving nothing behind.
    """
    path, library = Path(path), Path(library)
    if not path.is_file():
        raise SessionFileError(f"{path}: no such session file")
    with open(path, "rb") as handle:
        if handle.read(16) != SQLITE_HEADER:
            raise SessionFileError(f"{path}: not a somafeedback session (not an SQLite file)")
    _private_folder(library)
    stage = Path(tempfile.mkdtemp(prefix=".review-copy-", dir=library))  # 0700, removed below
    try:
        staged = stage / f"session{SUFFIX}"
        for suffix in ("", *SIDE_FILES):
            try:
                _copy_bytes(Path(f"{path}{suffix}"), Path(f"{staged}{suffix}"))
            except FileNotFoundError:
                if not suffix:
                    raise SessionFileError(f"{path}: no such session file") from None
        _settle(staged, path)
        target = _reserve(library, path.name.removesuffix(SUFFIX).removesuffix(".sqlite"))
        os.replace(staged, target)
        os.chmod(target, 0o600)
        return target
    except OSError as error:
        raise SessionFileError(f"{path}: cannot copy it into {library} ({error})") from error
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def stored_review_notes(path: Path) -> list[TimelineEvent]:
    """The review notes already in a session file, in time order (reads only its note events)."""
    try:
        with open_read_only(Path(path)) as opened:  # as read_session: nothing written, an interrupted one read whole
            rows = opened.db.execute("SELECT host_ns, wall_time, strap_id, data FROM events WHERE kind = 'note'"
                                     " ORDER BY timeline_seq").fetchall()
    except (NotASession, sqlite3.DatabaseError) as error:
        raise SessionFileError(f"{path}: cannot read its review notes ({error})") from error
    notes = []
    for host_ns, wall_time, strap_id, data in rows:
        try:
            details = json.loads(data)
        except (TypeError, json.JSONDecodeError):
            continue
        if isinstance(details, dict):
            notes.append(TimelineEvent("note", host_ns, wall_time or 0.0, details, strap_id))
    return sorted((n for n in notes if is_review_note(n)), key=lambda n: n.host_ns)


def _private_folder(folder: Path) -> None:
    """The library folder, 0700: created so, or tightened with a message (:func:`~.private.private_folder`)."""
    private_folder(folder)


def _copy_bytes(source: Path, target: Path) -> None:
    """``source``'s bytes into a new file ``target`` (0600); ``source`` is opened for reading only."""
    with open(source, "rb") as reader:
        handle = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        with os.fdopen(handle, "wb") as writer:
            shutil.copyfileobj(reader, writer)


def _damage(db: sqlite3.Connection) -> str | None:
    """SQLite's own check of an open session: None when sound, else what it found."""
    try:
        check = db.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError as error:
        return str(error)
    return None if check is not None and check[0] == "ok" else (check[0] if check else "no answer")


def _settle(staged: Path, original: Path) -> None:
    """Open the staged copy: SQLite takes in its side files; check it is a finished session, and close it."""
    try:
        db = sqlite3.connect(f"file:{staged}?mode=rw", uri=True, isolation_level=None)
    except sqlite3.Error as error:
        raise SessionFileError(f"{original}: cannot open the session file ({error})") from error
    try:
        problem = _damage(db)
        if problem is not None:
            raise SessionFileError(f"{original}: damaged ({problem}); not copying it")
        try:
            manifest = _manifest(db, original)
            if "ended_wall" not in manifest and recorder_alive(manifest):
                raise SessionFileError(f"{original}: still being recorded; add review notes once it has stopped")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.DatabaseError as error:
            raise SessionFileError(f"{original}: cannot copy it ({error})") from error
    finally:
        db.close()


def _reserve(library: Path, stem: str) -> Path:
    """A new, empty 0600 file in the library named for a review copy of ``stem`` (never an existing one)."""
    for number in range(1, 1000):
        mark = COPY_MARK if number == 1 else f"{COPY_MARK} {number}"
        target = library / f"{stem} ({mark}){SUFFIX}"
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            continue
        return target
    raise SessionFileError(f"{library}: too many review copies of {stem}")


def review_notes(session: Session) -> list[TimelineEvent]:
    """The session's review notes, in time order (by the reviewed moment)."""
    notes = [event for event in session.events if is_review_note(event)]
    return sorted(notes, key=lambda event: event.host_ns)  # stable: notes on one moment keep their order


def is_review_note(item: object) -> TypeGuard[TimelineEvent]:
    """True for a note written while reviewing (not during the session)."""
    return isinstance(item, TimelineEvent) and item.kind == "note" and item.data.get("review") is True


def _manifest(db: sqlite3.Connection, path: Path) -> dict:
    """The checked manifest of a session about to be written into (its tables checked too)."""
    try:
        manifest = read_manifest(db, path, for_writing=True)
        db.execute("SELECT timeline_seq FROM notifications LIMIT 0")
        db.execute("SELECT timeline_seq, host_ns, wall_time, kind, strap_id, data FROM events LIMIT 0")
    except sqlite3.OperationalError as error:
        raise SessionFileError(f"{path}: not a somafeedback session ({error})") from error
    return manifest


def _has_checksums(db: sqlite3.Connection) -> bool:
    """True when the session's events table has the format 2 ``crc`` column."""
    return any(column[1] == "crc" for column in db.execute("PRAGMA table_info(events)").fetchall())


def _wall_time(manifest: dict, at_host_ns: int) -> float | None:
    """The wall-clock time of a session-clock moment (None when the manifest cannot tell)."""
    started_wall, started_ns = manifest.get("started_wall"), manifest.get("started_host_ns")
    if isinstance(started_wall, int | float) and isinstance(started_ns, int) and not isinstance(started_ns, bool):
        return float(started_wall) + (at_host_ns - started_ns) / 1e9
    return None


def undone_markers(events: Iterable[TimelineEvent]) -> set[tuple[int, str]]:
    """The markers taken back live (``undo`` events: ``{"of": "marker", "host_ns", "label"}``), as (host_ns, label).

    A session is a record: an undone marker stays in the file; readers show it as undone.
    """
    return {(int(e.data["host_ns"]), str(e.data.get("label", ""))) for e in events
            if e.kind == "undo" and e.data.get("of") == "marker" and isinstance(e.data.get("host_ns"), int)}


def is_undone_marker(event: TimelineEvent, undone: set[tuple[int, str]]) -> bool:
    """Whether ``event`` is a marker in ``undone`` (see :func:`undone_markers`)."""
    return event.kind == "marker" and (event.host_ns, str(event.data.get("label", ""))) in undone
