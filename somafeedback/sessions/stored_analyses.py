"""Analyses a recording keeps beside its data: the ``analyses`` table (format 2, optional).

A recording that ends cleanly may store what a later reader would otherwise compute again (the
session report's pass of the live analysis: :mod:`somafeedback.live.strap_pass`), made from the
very rows in the file, before the file is finished. One row per analysis:

``analyses(name TEXT PRIMARY KEY, made_with TEXT, data BLOB, crc INTEGER)``: ``made_with`` is a
JSON object naming everything the result depends on (the app's version, the analysis's version,
the strap, the span, the number of rows it read), ``data`` the result in the byte form of
:mod:`.analysis_codec`, ``crc`` the CRC-32 of ``json.dumps([name, made_with])`` in UTF-8, one zero
byte and ``data``. A reader uses a stored result only when its ``made_with`` equals what it would
use itself, and computes afresh otherwise; a row whose checksum does not match is reported (the
file is damaged) and never used. The data rows never depend on this table.

Thread: the writer's (storing) or any (reading).
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from dataclasses import dataclass
from typing import Any, Final

TABLE: Final = "analyses"
SCHEMA: Final = (f"CREATE TABLE IF NOT EXISTS {TABLE} "
                 "(name TEXT PRIMARY KEY, made_with TEXT NOT NULL, data BLOB NOT NULL, crc INTEGER NOT NULL)")


@dataclass(frozen=True)
class StoredAnalysis:
    """One analysis kept in a session file."""

    name: str
    made_with: dict[str, Any]  # JSON values: what the result depends on
    data: bytes  # the result, in :mod:`.analysis_codec`'s byte form


def analysis_crc(name: str, made_with: str, data: bytes) -> int:
    """The stored checksum of one ``analyses`` row (``made_with`` as stored: JSON text)."""
    return zlib.crc32(json.dumps([name, made_with]).encode("utf-8") + b"\x00" + bytes(data))


def store_analyses(db: sqlite3.Connection, analyses: list[StoredAnalysis]) -> None:
    """Write ``analyses`` into the open session ``db`` (the caller commits). Thread: the writer's."""
    db.execute(SCHEMA)
    for analysis in analyses:
        made_with = json.dumps(analysis.made_with, sort_keys=True)
        db.execute(f"INSERT OR REPLACE INTO {TABLE} VALUES (?, ?, ?, ?)",
                   (analysis.name, made_with, bytes(analysis.data), analysis_crc(analysis.name, made_with, analysis.data)))


def read_analyses(db: sqlite3.Connection, problems: list[str]) -> dict[str, StoredAnalysis]:
    """The analyses stored in ``db`` whose rows are intact, by name; a damaged row adds a line to ``problems``."""
    try:
        if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)).fetchone() is None:
            return {}
        rows = db.execute(f"SELECT name, made_with, data, crc FROM {TABLE}").fetchall()
    except (sqlite3.DatabaseError, ValueError):  # ValueError: SQLite's message quotes damaged bytes
        problems.append("the analyses stored with it cannot be read (they are computed afresh)")
        return {}
    found: dict[str, StoredAnalysis] = {}
    for name, made_with, data, crc in rows:
        intact = isinstance(name, str) and isinstance(made_with, str) and isinstance(data, bytes) \
            and crc == analysis_crc(name, made_with, data)
        settings = _settings(made_with) if intact else None
        if settings is None:
            problems.append(f"a stored analysis ({name if isinstance(name, str) else 'unnamed'}) does not match "
                            "what was written: it is not used (it is computed afresh)")
            continue
        found[name] = StoredAnalysis(name, settings, data)
    return found


def _settings(text: str) -> dict[str, Any] | None:
    try:
        settings = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return settings if isinstance(settings, dict) else None


__all__ = ["SCHEMA", "TABLE", "StoredAnalysis", "analysis_crc", "read_analyses", "store_analyses"]
