"""``sessions repair``: turn an interrupted recording into a finished, self-contained file.

A recording whose writer was killed leaves its last committed data in a ``-wal`` side file.
Readers read it whole without changing anything (``opening.py``); repairing is the one explicit
step that writes: a copy of the file and its ``-wal`` is made in a private folder beside it, SQLite
merges the committed changes there, the copy goes back to a rollback journal and records
``"repaired"`` in its manifest, and then replaces the original in one rename; the side files go.
The session keeps reading as "ended unexpectedly" (that is what happened). A ``-wal`` that does
not belong to the file, a recording still running, and a damaged file are refused, untouched.

Thread: any (the caller's).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from somafeedback import __version__
from .file import SUFFIX, SessionFileError, read_manifest, recorder_alive
from .integrity import checked_manifest
from .opening import NotASession, check_sqlite_file, has_wal, open_read_only, wal_path


def _copy(source: Path, target: Path) -> None:
    with open(source, "rb") as reader, open(target, "xb") as writer:
        shutil.copyfileobj(reader, writer)
        writer.flush()
        os.fsync(writer.fileno())
    target.chmod(0o600)


def repair_session(path: Path) -> str:
    """Repair one session file; returns what was done, in one line. Raises :class:`SessionFileError` when refused."""
    path = Path(path)
    try:
        check_sqlite_file(path)
    except NotASession as error:
        raise SessionFileError(f"{path}: {error}") from error
    if not has_wal(path):
        return f"{path.name}: nothing to repair; it is already one self-contained file"
    try:
        with open_read_only(path) as opened:
            if opened.wal != "applied":
                raise SessionFileError(f"{path}: its side file {wal_path(path).name} does not belong to it "
                                       f"({opened.wal_problem}); nothing was changed")
            manifest = checked_manifest(read_manifest(opened.db, path))
    except sqlite3.DatabaseError as error:
        raise SessionFileError(f"{path}: damaged ({error}); nothing was changed") from error
    if "ended_wall" not in manifest and recorder_alive(manifest):
        raise SessionFileError(f"{path}: still being recorded; stop the recording first")
    wal_bytes = wal_path(path).stat().st_size
    try:
        stage = Path(tempfile.mkdtemp(prefix=".repair-", dir=path.parent))  # 0700, same disk: one rename
    except OSError as error:
        raise SessionFileError(f"{path}: cannot repair it here ({error.strerror or error}); nothing was changed") from error
    try:
        staged = stage / path.name
        _copy(wal_path(path), wal_path(staged))
        _copy(path, staged)
        db = sqlite3.connect(staged, isolation_level=None)
        try:
            check = db.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise SessionFileError(f"{path}: damaged ({check[0] if check else 'no answer'}); nothing was changed")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.execute("PRAGMA journal_mode=DELETE")
            repaired = {"wall": time.time(), "app_version": __version__, "merged_wal_bytes": wal_bytes}
            db.execute("INSERT OR REPLACE INTO manifest VALUES ('repaired', ?)", (json.dumps(repaired),))
        finally:
            db.close()
        with open(staged, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(staged, path)
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    except sqlite3.DatabaseError as error:
        raise SessionFileError(f"{path}: damaged ({error}); nothing was changed") from error
    except OSError as error:
        raise SessionFileError(f"{path}: cannot repair it ({error.strerror or error}); nothing was changed") from error
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return (f"{path.name}: merged the side file's committed data ({wal_bytes} bytes) into the session file; it is "
            "now one self-contained file (it still reads as ended unexpectedly: the recording was not stopped)")


def interrupted_recordings(library: Path) -> list[Path]:
    """Recordings in the library that a crash or power cut left with a side file to merge (their
    recorder is not running), oldest name first: what the app offers to repair on its next start.
    Reads only; a damaged or foreign file is not offered (``sessions verify`` reports it)."""
    found = []
    for side in sorted(Path(library).glob(f"*{SUFFIX}-wal")):
        path = Path(str(side).removesuffix("-wal"))
        try:
            with open_read_only(path) as opened:
                if opened.wal != "applied":
                    continue
                manifest = checked_manifest(read_manifest(opened.db, path))
        except (SessionFileError, NotASession, sqlite3.DatabaseError, OSError):
            continue
        if "ended_wall" not in manifest and not recorder_alive(manifest):
            found.append(path)
    return found
