"""``sessions verify``: is a stored session exactly what was recorded?

Reads the session as every reader does (nothing is written) and checks, in addition, SQLite's
own structure check (``PRAGMA quick_check``). The answer, in words:

* ``verified``: every row's checksum matches (format 2 on) and the file is sound;
* ``cannot be verified``: written before row checksums (format 1); sound as far as SQLite can tell;
* ``damaged``: what could not be read, or which rows do not match what was recorded.

Thread: any.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from .file import Session, SessionFileError, read_session
from .opening import NotASession, open_read_only

VERIFIED: Final = "verified"
UNVERIFIABLE: Final = "cannot be verified"
DAMAGED: Final = "damaged"
MAX_CHECK_LINES: Final = 5  # quick_check findings quoted


@dataclass
class Verification:
    """The verdict on one session file and the lines that explain it."""

    path: Path
    status: str  # VERIFIED | UNVERIFIABLE | DAMAGED
    lines: list[str] = field(default_factory=list)
    rows: int = 0  # rows read as data

    @property
    def damaged(self) -> bool:
        return self.status == DAMAGED


def _structure(path: Path) -> list[str]:
    """SQLite's quick check of the file (read-only): empty when sound."""
    try:
        with open_read_only(path) as opened:
            found = [str(row[0]) for row in opened.db.execute("PRAGMA quick_check").fetchmany(MAX_CHECK_LINES)]
    except NotASession as error:
        return [str(error)]
    except sqlite3.DatabaseError as error:
        return ["its structure cannot be checked" + ("" if str(error) == "interrupted" else f" ({error})")]
    except UnicodeDecodeError:  # SQLite's own message quotes damaged bytes of the schema
        return ["its structure is damaged (its table definitions hold unreadable bytes)"]
    return [] if found == ["ok"] else [f"its structure is damaged ({'; '.join(found)})"]


def verify_session(path: Path) -> Verification:
    """Check one session file (see the module's docstring); never raises for a bad file."""
    path = Path(path)
    try:
        session: Session = read_session(path)
    except SessionFileError as error:
        return Verification(path, DAMAGED, [str(error).split(": ", 1)[-1]])
    lines = list(session.problems)
    structure = _structure(path)
    lines.extend(line for line in structure if not any(line in p for p in lines))
    rows = len(session.timeline)
    if lines:
        return Verification(path, DAMAGED, lines, rows)
    notes = []
    if session.wal == "applied":
        notes.append("an interrupted recording, read with its side file (-wal); `sessions repair` makes it one file")
    if session.verifiable:
        return Verification(path, VERIFIED, [f"all {rows} rows match what was recorded", *notes], rows)
    return Verification(path, UNVERIFIABLE,
                        ["written before rows carried checksums (format 1): readable and sound, but changed bytes "
                         "inside a row could not be noticed", *notes], rows)
