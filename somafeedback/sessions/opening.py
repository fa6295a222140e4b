"""Opening a session file for reading without ever writing beside it or into it.

* A finished session (no ``-wal`` beside it) is opened ``mode=ro&immutable=1``: SQLite then
  creates no ``-wal``/``-shm`` files, takes no locks and works from a read-only folder.
* An interrupted recording (a ``-wal`` beside it: the writer was killed, or is still writing)
  is read whole, its committed WAL frames included, from a **private temporary copy** of the
  file and its ``-wal`` (a 0700 folder of the system's temporary folder, removed afterwards):
  the original is only read as bytes, never opened by SQLite.
* A ``-wal`` that does not belong to the file is never applied: its header must be a valid
  SQLite WAL header (magic, version, header checksum) with the file's page size, and, when
  both the file alone and the file with the WAL name a ``session_id``, they must agree.

Every connection gets a work budget (SQLite virtual-machine steps, in proportion to the file's
size): a damaged file whose structure loops ends with an "interrupted" error, never a hang.

Thread: any (each call opens and closes its own connection).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

SQLITE_HEADER: Final = b"SQLite format 3\x00"
WAL_HEADER_BYTES: Final = 32
WAL_MAGIC: Final = (0x377F0682, 0x377F0683)  # little- / big-endian checksums
WAL_VERSION: Final = 3007000
STEPS_PER_CHECK: Final = 1000  # SQLite VM instructions between two budget checks
STEPS_PER_BYTE: Final = 20  # budget: VM instructions per byte of file (a sound read needs well under 1)
STEPS_MINIMUM: Final = 20_000_000  # budget floor (a few tenths of a second of work)

WAL_NONE: Final = "none"  # no -wal beside the file
WAL_APPLIED: Final = "applied"  # an interrupted recording: its committed -wal frames were read
WAL_FOREIGN: Final = "foreign"  # a -wal that does not belong to the file: not applied


class NotASession(ValueError):
    """The path is missing, a folder, or not an SQLite file (the message says which, without the path)."""


@dataclass
class Opened:
    """A read-only connection to a session and what was done with its side file."""

    db: sqlite3.Connection
    wal: str = WAL_NONE  # WAL_NONE | WAL_APPLIED | WAL_FOREIGN
    wal_problem: str = ""  # why a -wal was not applied (WAL_FOREIGN)


def wal_path(path: Path) -> Path:
    """The SQLite write-ahead log beside ``path``."""
    return Path(f"{path}-wal")


def has_wal(path: Path) -> bool:
    """True when a non-empty ``-wal`` lies beside the file (an interrupted or running recording)."""
    try:
        return wal_path(path).stat().st_size > 0
    except OSError:
        return False


def check_sqlite_file(path: Path) -> None:
    """Raise :class:`NotASession` unless ``path`` is a readable file starting with the SQLite header."""
    if not path.exists():
        raise NotASession("no such session file")
    if path.is_dir():
        raise NotASession("is a folder, not a session file")
    try:
        with open(path, "rb") as handle:
            header = handle.read(16)
    except OSError as error:
        raise NotASession(f"cannot be read ({error.strerror or error})") from error
    if header != SQLITE_HEADER:
        raise NotASession("not a somafeedback session (not an SQLite file)")


def wal_header_problem(path: Path) -> str | None:
    """None when the ``-wal`` beside ``path`` has a valid header with the file's page size, else why not."""
    try:
        with open(wal_path(path), "rb") as handle:
            header = handle.read(WAL_HEADER_BYTES)
        with open(path, "rb") as handle:
            main = handle.read(100)
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    if len(header) < WAL_HEADER_BYTES:
        return "too short to be a write-ahead log"
    magic = int.from_bytes(header[:4], "big")
    if magic not in WAL_MAGIC or int.from_bytes(header[4:8], "big") != WAL_VERSION:
        return "not an SQLite write-ahead log"
    if wal_checksum(header[:24], magic == WAL_MAGIC[1]) != (int.from_bytes(header[24:28], "big"),
                                                             int.from_bytes(header[28:32], "big")):
        return "its header checksum does not match"
    page_size = int.from_bytes(main[16:18], "big") if len(main) >= 18 else 0
    page_size = 65536 if page_size == 1 else page_size
    if page_size and int.from_bytes(header[8:12], "big") != page_size:
        return "its page size differs from the session file's"
    return None


def wal_checksum(data: bytes, big_endian: bool, s0: int = 0, s1: int = 0) -> tuple[int, int]:
    """SQLite's WAL checksum of ``data`` (a multiple of 8 bytes), continuing from (s0, s1)."""
    order: Literal["big", "little"] = "big" if big_endian else "little"
    mask = 0xFFFFFFFF
    for i in range(0, len(data) - 7, 8):
        s0 = (s0 + int.from_bytes(data[i:i + 4], order) + s1) & mask
        s1 = (s1 + int.from_bytes(data[i + 4:i + 8], order) + s0) & mask
    return s0, s1


def _text(raw: bytes) -> str | bytes:
    """A stored text value; its bytes when they are not UTF-8 (damage: the reader sets such a row aside)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def _budget(db: sqlite3.Connection, size_bytes: int) -> None:
    """Abort any statement once the connection has used its work budget (a looping damaged file).

    Also: text that is not UTF-8 comes back as bytes instead of raising.
    """
    db.text_factory = _text
    left = [max(STEPS_MINIMUM, STEPS_PER_BYTE * size_bytes) // STEPS_PER_CHECK]

    def spend() -> int:
        left[0] -= 1
        return 1 if left[0] < 0 else 0

    db.set_progress_handler(spend, STEPS_PER_CHECK)


def _immutable(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    _budget(db, path.stat().st_size)
    return db


def _session_id(db: sqlite3.Connection) -> str | None:
    try:
        row = db.execute("SELECT value FROM manifest WHERE key = 'session_id'").fetchone()
        value = json.loads(row[0]) if row else None
    except (sqlite3.DatabaseError, json.JSONDecodeError, TypeError):
        return None
    return value if isinstance(value, str) else None


def _copy(source: Path, target: Path) -> None:
    with open(source, "rb") as reader, open(target, "xb") as writer:
        shutil.copyfileobj(reader, writer)
    target.chmod(0o600)


@contextmanager
def open_read_only(path: Path) -> Iterator[Opened]:
    """A read-only connection to the session ``path`` (see the module's docstring); closed afterwards.

    Raises :class:`NotASession` for a path that is not an SQLite file and ``sqlite3.DatabaseError``
    when SQLite cannot open it; nothing is ever written beside ``path``.
    """
    path = Path(path)
    check_sqlite_file(path)
    if not has_wal(path):
        db = _immutable(path)
        try:
            yield Opened(db)
        finally:
            db.close()
        return
    problem = wal_header_problem(path)
    if problem is not None:
        db = _immutable(path)
        try:
            yield Opened(db, WAL_FOREIGN, problem)
        finally:
            db.close()
        return
    stage = Path(tempfile.mkdtemp(prefix="somafeedback-read-"))  # 0700; removed below
    try:
        copy = stage / "session.sqlite"
        _copy(wal_path(path), wal_path(copy))  # the -wal first: a running writer checkpoints only what it holds
        _copy(path, copy)
        alone = _immutable(copy)  # the file without its -wal (immutable ignores the -wal)
        try:
            own = _session_id(alone)
        finally:
            alone.close()
        db = sqlite3.connect(f"{copy.as_uri()}?mode=ro", uri=True)
        _budget(db, copy.stat().st_size + wal_path(copy).stat().st_size)
        try:
            merged = _session_id(db)
            if own is not None and merged is not None and own != merged:
                db.close()
                db = _immutable(path)
                yield Opened(db, WAL_FOREIGN, "it names another session")
            else:
                yield Opened(db, WAL_APPLIED)
        finally:
            db.close()
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def wal_note(opened: Opened) -> str | None:
    """One line on what was done with the file's side file, for the session's problems (None: nothing to say)."""
    if opened.wal == WAL_FOREIGN:
        return f"a side file (-wal) beside it does not belong to this session ({opened.wal_problem}); it was not read"
    return None
