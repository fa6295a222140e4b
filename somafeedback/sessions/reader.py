"""A session read as a stream: the manifest at once, the timeline in order, a batch of rows at a time.

:class:`SessionReader` gives what :func:`~somafeedback.sessions.file.read_session` gives (the
manifest, the timeline, the problems, the rows set aside) without holding the timeline: every
walk over :attr:`SessionReader.timeline` reads both tables again, ``batch_rows`` rows of each at
a time, merged by ``timeline_seq``, each row checked by the same code as ``read_session``
(``file._Rows``, ``file._read_rows``), review notes placed where ``_in_place`` places them.
Memory: two batches of rows and the review notes, whatever the session's length.

The same promises as ``read_session``: read-only (``opening.open_read_only``; an interrupted
recording is read from a private copy with its ``-wal``), and for every file the items of a
walk equal ``read_session(path).timeline``, the problems and the set-aside count are the same.
What cannot be streamed is read whole by ``read_session`` instead (memory then grows with the
session): a file SQLite cannot open or walk to the end (damaged: its pages are salvaged), a
file without a readable manifest, and review notes among stamps that do not advance. A file
found damaged during a first walk continues from the whole read (``SessionFileError`` if the
whole read disagrees with what was already given, which salvage of rows SQLite skipped can cause).

Thread: any, one at a time (a reader owns its SQLite connection).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from somafeedback.devices.events import TimelineEvent

from .file import (
    ManifestFacts,
    Session,
    SessionFileError,
    TimelineItem,
    _read_rows,
    _Rows,
    _verifiable,
    is_review_note,
    read_manifest,
    read_session,
    stamp_ns,
)
from .integrity import checked_manifest
from .opening import NotASession, check_sqlite_file, open_read_only, wal_note

BATCH_ROWS: Final = 1000  # rows of each table fetched at a time: a walk holds two batches (~1 MB of rows)
TAIL_ITEMS: Final = 50  # last items whose stamps give an unfinished session's end (as Session.duration_s)
_NOTIFICATION_COLUMNS: Final = "timeline_seq, strap_id, seq, characteristic, host_ns, wall_time, payload"
_EVENT_COLUMNS: Final = "timeline_seq, host_ns, wall_time, kind, strap_id, data"


class _Damaged(Exception):
    """SQLite stopped walking a table mid-way: the rest comes from the whole-file reader."""


class SessionReader(ManifestFacts):
    """One session file, open for streamed reading (a context manager; :meth:`close` when done).

    ``timeline`` can be walked any number of times, each walk reading the file again.
    ``problems`` and ``rows_set_aside`` are complete once a walk has ended (reading them first
    makes one walk). Thread: one at a time.
    """

    def __init__(self, path: str | Path, batch_rows: int = BATCH_ROWS) -> None:
        self.path = Path(path)
        self.batch_rows = max(1, int(batch_rows))
        self._stack = contextlib.ExitStack()
        self._whole: Session | None = None
        self._head: list[str] = []  # problems known on opening (the -wal, the manifest)
        self._rows = _Rows(False, None)
        self._verify = False  # rows carry checksums (known from the manifest)
        self._walked = False
        self._tail: list[int | None] = []  # stamps of the last items of a walk
        self.manifest: dict[str, Any] = {}
        self.wal = "none"
        self._notes: list[TimelineEvent] = []
        self._note_seqs: set[int] = set()
        try:
            self._open()
        except (SessionFileError, NotASession, sqlite3.DatabaseError, OverflowError, ValueError, MemoryError, _Damaged):
            self._read_whole()

    def _open(self) -> None:
        check_sqlite_file(self.path)
        opened = self._stack.enter_context(open_read_only(self.path))
        self.db, self.wal = opened.db, opened.wal
        note = wal_note(opened)
        if note:
            self._head.append(note)
        problems: list[str] = []
        self.manifest = checked_manifest(read_manifest(self.db, self.path, problems), problems)
        if not self.manifest:  # unreadable: read_session salvages the file's pages
            raise _Damaged
        self._head += problems
        self._verify = _verifiable(self.manifest)
        self._find_review_notes()

    def _find_review_notes(self) -> None:
        """The review notes (few), read ahead: a walk puts each before the first item stamped after it."""
        scratch = _Rows(self._verify, self.manifest.get("started_host_ns"))
        crc = ", crc" if self._verify else ", NULL"
        rows = self.db.execute(f"SELECT {_EVENT_COLUMNS}{crc} FROM events WHERE kind = 'note' ORDER BY timeline_seq")
        for row in rows:
            event = scratch.checked_event(tuple(row[:6]), row[6])
            if event is not None and is_review_note(event):
                self._notes.append(event)
                self._note_seqs.add(row[0])
        if self._notes:
            self._notes.sort(key=lambda note: note.host_ns)
            self._check_stamps_advance()

    def _check_stamps_advance(self) -> None:
        """Review notes are placed by bisection, which a stream can follow only when the stamps never go back."""
        problems: list[str] = []
        previous: int | None = None
        for seq, stamp in self._merged(_read_rows(self.db, "notifications", "timeline_seq, host_ns", problems,
                                                  self.batch_rows),
                                       _read_rows(self.db, "events", "timeline_seq, host_ns", problems, self.batch_rows)):
            if seq in self._note_seqs:
                continue
            if problems or not isinstance(stamp, int) or (previous is not None and stamp < previous):
                raise _Damaged
            previous = stamp
        if problems:
            raise _Damaged

    @staticmethod
    def _merged(notifications: Iterator[tuple], events: Iterator[tuple]) -> Iterator[tuple]:
        """Rows of both tables in ``timeline_seq`` order (a notification before an event of the same number)."""
        note, event = next(notifications, None), next(events, None)
        while note is not None or event is not None:
            if note is not None and (event is None or note[0] <= event[0]):
                yield note
                note = next(notifications, None)
            elif event is not None:
                yield event
                event = next(events, None)

    def whole(self) -> Session:
        """The session read whole (:func:`read_session`; for readers that need a list)."""
        return self._whole if self._whole is not None else read_session(self.path)

    def _read_whole(self) -> Session:
        self.close()
        self._whole = read_session(self.path)
        self.manifest, self.wal = self._whole.manifest, self._whole.wal
        return self._whole

    # -- the timeline ---------------------------------------------------------------------------
    @property
    def timeline(self) -> _Timeline:
        """Every item in order, read afresh at every walk."""
        return _Timeline(self)

    def _walk(self) -> Iterator[TimelineItem]:
        if self._whole is not None:
            yield from self._whole.timeline
            return
        given = 0
        last: TimelineItem | None = None
        try:
            for item in self._stream():
                given, last = given + 1, item
                yield item
        except _Damaged:
            whole = self._read_whole()
            if given and (len(whole.timeline) < given or whole.timeline[given - 1] != last):
                raise SessionFileError(f"{self.path}: damaged; read it again (it reads differently as a whole)") from None
            yield from whole.timeline[given:]

    def _stream(self) -> Iterator[TimelineItem]:
        rows = _Rows(self._verify, self.manifest.get("started_host_ns"))
        problems: list[str] = []
        crc = ", crc" if rows.verify else ", NULL"
        notes = list(self._notes)
        tail: list[int | None] = []
        merged = self._merged(
            _read_rows(self.db, "notifications", f"{_NOTIFICATION_COLUMNS}{crc}", problems, self.batch_rows),
            _read_rows(self.db, "events", f"{_EVENT_COLUMNS}{crc}", problems, self.batch_rows))
        pending: TimelineItem | None = None  # a notification whose number an event may still take (as read_session's dict)
        pending_seq = -1
        for row in merged:
            if problems:
                raise _Damaged
            seq = row[0]
            if len(row) == 8:  # a notification
                item: TimelineItem | None = rows.checked_notification(tuple(row[:7]), row[7])
            elif seq in self._note_seqs:
                continue
            else:
                item = rows.checked_event(tuple(row[:6]), row[6])
            if pending is not None and seq != pending_seq:
                yield from self._with_notes(pending, notes, tail)
                pending = None
            if item is not None:
                pending, pending_seq = item, seq
        if problems:
            raise _Damaged
        if pending is not None:
            yield from self._with_notes(pending, notes, tail)
        yield from notes
        self._rows, self._walked = rows, True
        self._tail = tail + [note.host_ns for note in notes]

    @staticmethod
    def _with_notes(item: TimelineItem, notes: list[TimelineEvent], tail: list[int | None]) -> Iterator[TimelineItem]:
        """``item``, after the review notes stamped before it (consumed from ``notes``)."""
        stamp = stamp_ns(item)
        while notes and notes[0].host_ns < stamp:
            note = notes.pop(0)
            tail.append(note.host_ns)
            yield note
        tail.append(getattr(item, "host_ns", None))
        del tail[:-TAIL_ITEMS]
        yield item

    # -- what a walk found ----------------------------------------------------------------------
    def _ensure_walked(self) -> None:
        if self._whole is None and not self._walked:
            for _ in self.timeline:
                pass

    @property
    def problems(self) -> list[str]:
        """What could not be read, as ``read_session`` says it (makes a walk when none was made)."""
        self._ensure_walked()
        if self._whole is not None:
            return self._whole.problems
        return self._head + self._rows.problems(by_table=True)

    @property
    def rows_set_aside(self) -> int:
        self._ensure_walked()
        return self._whole.rows_set_aside if self._whole is not None else self._rows.count_set_aside

    @property
    def verifiable(self) -> bool:
        return self._whole.verifiable if self._whole is not None else self._verify

    @property
    def duration_s(self) -> float:
        """As :attr:`Session.duration_s` (an unfinished session: the last items' stamps; makes a walk then)."""
        if self._whole is not None:
            return self._whole.duration_s
        start, end = self.manifest.get("started_host_ns"), self.manifest.get("ended_host_ns")
        if end is None:
            self._ensure_walked()
            if self._whole is not None:
                return self._whole.duration_s
            end = max((s for s in self._tail[-TAIL_ITEMS:] if s is not None), default=start)
        return (end - start) / 1e9 if start is not None and end is not None else 0.0

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> SessionReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class _Timeline:
    """A walk-again view of a reader's timeline (each ``iter`` reads the file afresh)."""

    def __init__(self, reader: SessionReader) -> None:
        self._reader = reader

    def __iter__(self) -> Iterator[TimelineItem]:
        return self._reader._walk()


def iter_timeline(path: str | Path, batch_rows: int = BATCH_ROWS) -> Iterator[TimelineItem]:
    """The items of ``read_session(path).timeline``, streamed (see :class:`SessionReader`)."""
    with SessionReader(path, batch_rows) as reader:
        yield from reader.timeline
