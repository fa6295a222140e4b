"""The session library: the folder of session files, listed, filtered, tagged and deleted.

Sessions live in the user's data directory (platformdirs: e.g. ~/.local/share/somafeedback/
sessions on Linux) unless ``--recordings DIR`` (or ``SOMAFEEDBACK_RECORDINGS``) says
otherwise. Listing reads only each file's manifest (and its last stamp), opened read-only
(``opening.open_read_only``: nothing is written beside any file, a read-only folder lists
normally); a damaged file is listed as damaged with its reason and never stops the listing.
Tagging, repairing and deleting are the only operations that write, each to its own file.

Thread: any (each call opens and closes its own connections).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .file import SUFFIX, SessionFileError, manifest_rows, recorder_alive
from .integrity import checked_manifest
from .opening import NotASession, open_read_only, wal_note

ENV_RECORDINGS = "SOMAFEEDBACK_RECORDINGS"


def default_library() -> Path:
    """Where sessions go when no folder is given."""
    override = os.environ.get(ENV_RECORDINGS)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_path

    return user_data_path("somafeedback", appauthor=False) / "sessions"


@dataclass
class SessionSummary:
    """A session as the library lists it (from its manifest)."""

    path: Path
    session_id: str
    client: str | None
    practitioner: str | None
    mode: str | None
    started_wall: float | None
    duration_s: float | None
    tags: list[str] = field(default_factory=list)
    status: str = "complete"  # complete | recording | ended unexpectedly | damaged
    problem: str = ""  # for a damaged session: what is wrong, in one line

    @property
    def started(self) -> dt.datetime | None:
        return dt.datetime.fromtimestamp(self.started_wall).astimezone() if self.started_wall else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.session_id, "path": str(self.path), "client": self.client, "practitioner": self.practitioner,
            "mode": self.mode, "started": self.started.isoformat(timespec="seconds") if self.started else None,
            "duration_s": None if self.duration_s is None else round(self.duration_s, 1),
            "tags": self.tags, "status": self.status, "problem": self.problem,
        }


def summarize_file(path: Path) -> SessionSummary:
    """The library's view of one file, read-only; never raises for a bad file (it is listed as damaged)."""
    problems: list[str] = []
    try:
        with open_read_only(path) as opened:
            note = wal_note(opened)
            if note:
                problems.append(note)
            raw = {}
            for key, value in manifest_rows(opened.db):
                try:
                    raw[str(key)] = json.loads(value)
                except (TypeError, ValueError, RecursionError):
                    problems.append(f"the session's {key!r} cannot be read")
            manifest = checked_manifest(raw, problems)
            last = opened.db.execute("SELECT max(host_ns) FROM notifications").fetchone()  # walks every row: finds damage
            if opened.wal == "none" and _cut_short(path):
                problems.append("the file is cut short (it ends before its last page)")
    except NotASession as error:
        return _damaged(path, str(error))
    except sqlite3.DatabaseError as error:
        return _damaged(path, "the file is damaged" + ("" if str(error) == "interrupted" else f" ({error})"))
    except UnicodeDecodeError:  # SQLite's message or a text quotes damaged bytes
        return _damaged(path, "the file is damaged (some of its text cannot be read)")
    except (OSError, OverflowError, ValueError, MemoryError) as error:
        return _damaged(path, f"the file cannot be read ({error})")
    if manifest.get("format", "somafeedback-session") != "somafeedback-session" or not manifest:
        return _damaged(path, "not a somafeedback session")
    last_ns = last[0] if last is not None and isinstance(last[0], int) else None
    started_ns, ended_ns = manifest.get("started_host_ns"), manifest.get("ended_host_ns")
    status = "complete"
    if ended_ns is None:
        status = "recording" if recorder_alive(manifest) else "ended unexpectedly"
        ended_ns = last_ns
    duration = (ended_ns - started_ns) / 1e9 if started_ns is not None and ended_ns is not None else None
    if duration is not None and not 0 <= duration <= 31 * 24 * 3600:
        problems.append("its recorded times are impossible")
        duration = None
    if problems:
        status = "damaged"
    return SessionSummary(
        path, str(manifest.get("session_id", path.name)), manifest.get("client"), manifest.get("practitioner"),
        manifest.get("mode"), manifest.get("started_wall"), duration, list(manifest.get("tags") or []), status,
        "; ".join(problems),
    )


def _cut_short(path: Path) -> bool:
    """True when the file is shorter than its header's page count says (a copy or a disk write cut short)."""
    with open(path, "rb") as handle:
        header = handle.read(100)
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid = header[24:28] == header[92:96]  # the header's page count is valid only when these agree
    return valid and pages > 0 and path.stat().st_size < pages * page_size


def _damaged(path: Path, problem: str) -> SessionSummary:
    return SessionSummary(path, path.name.removesuffix(SUFFIX), None, None, None, None, None, [], "damaged", problem)


def list_sessions(library: Path) -> list[SessionSummary]:
    """Every session file in the library folder, oldest first."""
    if not library.is_dir():
        return []
    sessions = [summarize_file(path) for path in library.glob(f"*{SUFFIX}")]
    return sorted(sessions, key=lambda s: (s.started_wall or 0.0, s.path.name))


def filter_sessions(
    sessions: Iterable[SessionSummary],
    client: str | None = None,
    mode: str | None = None,
    tag: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> list[SessionSummary]:
    """Sessions matching every given criterion (client and tag compare case-insensitively)."""
    def keep(s: SessionSummary) -> bool:
        day = s.started.date() if s.started else None
        return (
            (client is None or (s.client or "").casefold() == client.casefold())
            and (mode is None or s.mode == mode)
            and (tag is None or tag.casefold() in (t.casefold() for t in s.tags))
            and (since is None or (day is not None and day >= since))
            and (until is None or (day is not None and day <= until))
        )

    return [s for s in sessions if keep(s)]


def find_session(reference: str, library: Path) -> Path:
    """A session file from a path, or from (a unique prefix of) its id or file name in the library."""
    path = Path(reference).expanduser()
    if path.exists():
        return path
    matches = [
        s.path for s in list_sessions(library)
        if s.session_id.startswith(reference) or s.path.name.startswith(reference)
    ]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise SessionFileError(f"{reference}: no such session file, and no session in {library} has that id")
    raise SessionFileError(f"{reference}: matches {len(matches)} sessions in {library}; give more of the id")


def set_tags(path: Path, add: Sequence[str] = (), remove: Sequence[str] = ()) -> list[str]:
    """Add and remove tags of one session; returns its tags."""
    db = sqlite3.connect(path)
    try:
        rows = manifest_rows(db, "tags")
        tags = list(json.loads(rows[0][1])) if rows else []
        tags = [t for t in tags if t not in remove] + [t for t in add if t not in tags]
        db.execute("INSERT OR REPLACE INTO manifest VALUES ('tags', ?)", (json.dumps(tags),))
        db.commit()
    except sqlite3.DatabaseError as error:
        raise SessionFileError(f"{path}: cannot change tags ({error})") from error
    finally:
        db.close()
    return tags


def delete_session(path: Path) -> None:
    """Remove one session file (and SQLite's side files); refuses while it is being recorded."""
    summary = summarize_file(path)
    if summary.status == "recording":
        raise SessionFileError(f"{path}: still being recorded; stop the recording first")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def client_baselines(library: Path, client: str) -> list[dict[str, Any]]:
    """Baselines measured in this client's earlier sessions, oldest first (for a rolling baseline)."""
    found = []
    for summary in filter_sessions(list_sessions(library), client=client):
        try:
            with open_read_only(summary.path) as opened:
                rows = manifest_rows(opened.db, "baseline")
            baseline = json.loads(rows[0][1]) if rows else None
        except (NotASession, sqlite3.DatabaseError, TypeError, ValueError, RecursionError):
            continue
        if isinstance(baseline, dict):
            found.append(baseline)
    return found
