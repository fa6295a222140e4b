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
:class:`~somafeedback.session_file.SessionFileError` naming the file.

Thread: any (each call opens and closes its own connection).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from .devices.events import TimelineEvent
from .session_file import FORMAT, FORMAT_VERSION, Session, SessionFileError, recorder_alive

SQLITE_HEADER = b"SQLite format 3\x00"


def add_review_note(path: Path, at_host_ns: int, text: str, author: str | None = None) -> None:
    """Append a review note about the moment ``at_host_ns`` (session clock) to an existing session file."""
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
            try:
                check = db.execute("PRAGMA quick_check").fetchone()
                problem = None if check is not None and check[0] == "ok" else (check[0] if check else "no answer")
            except sqlite3.DatabaseError as error:
                problem = str(error)
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
                db.execute("INSERT INTO events (timeline_seq, host_ns, wall_time, kind, strap_id, data)"
                           " VALUES (?, ?, ?, 'note', NULL, ?)", (next_seq, at_host_ns, wall, json.dumps(data)))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as error:
            raise SessionFileError(f"{path}: cannot add a review note ({error})") from error
    finally:
        db.close()


def review_notes(session: Session) -> list[TimelineEvent]:
    """The session's review notes, in time order (by the reviewed moment)."""
    notes = [event for event in session.events if is_review_note(event)]
    return sorted(notes, key=lambda event: event.host_ns)  # stable: notes on one moment keep their order


def is_review_note(item: object) -> bool:
    """True for a note written while reviewing (not during the session)."""
    return isinstance(item, TimelineEvent) and item.kind == "note" and item.data.get("review") is True


def _manifest(db: sqlite3.Connection, path: Path) -> dict:
    try:
        rows = db.execute("SELECT key, value FROM manifest").fetchall()
        db.execute("SELECT timeline_seq FROM notifications LIMIT 0")
        db.execute("SELECT timeline_seq, host_ns, wall_time, kind, strap_id, data FROM events LIMIT 0")
    except sqlite3.OperationalError as error:
        raise SessionFileError(f"{path}: not a somafeedback session ({error})") from error
    manifest = {}
    for key, value in rows:
        try:
            manifest[key] = json.loads(value)
        except json.JSONDecodeError:
            continue
    if manifest.get("format") not in (None, FORMAT):
        raise SessionFileError(f"{path}: not a somafeedback session (format {manifest.get('format')!r})")
    version = manifest.get("format_version")
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise SessionFileError(f"{path}: written by a newer somafeedback (format {version}; this one writes {FORMAT_VERSION})")
    return manifest


def _wall_time(manifest: dict, at_host_ns: int) -> float | None:
    """The wall-clock time of a session-clock moment (None when the manifest cannot tell)."""
    started_wall, started_ns = manifest.get("started_wall"), manifest.get("started_host_ns")
    if isinstance(started_wall, int | float) and isinstance(started_ns, int) and not isinstance(started_ns, bool):
        return float(started_wall) + (at_host_ns - started_ns) / 1e9
    return None
