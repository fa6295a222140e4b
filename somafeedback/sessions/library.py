"""The session library: the folder of session files, listed, filtered, tagged and deleted.

Sessions live in the user's data directory (platformdirs: e.g. ~/.local/share/somafeedback/
sessions on Linux) unless ``--recordings DIR`` (or ``SOMAFEEDBACK_RECORDINGS``) says
otherwise. Listing reads only each file's manifest; a damaged file is listed as damaged
and never stops the listing, and no operation touches any file but its own.

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
    problem: str = ""

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
    """The library's view of one file; never raises for a bad file (it is listed as damaged)."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            manifest = {k: json.loads(v) for k, v in manifest_rows(db)}
            last_ns = db.execute("SELECT max(host_ns) FROM notifications").fetchone()[0]
        finally:
            db.close()
    except (sqlite3.DatabaseError, json.JSONDecodeError) as error:
        return SessionSummary(path, path.name.removesuffix(SUFFIX), None, None, None, None, None, [], "damaged", str(error))
    started_ns, ended_ns = manifest.get("started_host_ns"), manifest.get("ended_host_ns")
    status = "complete"
    if ended_ns is None:
        status = "recording" if recorder_alive(manifest) else "ended unexpectedly"
        ended_ns = last_ns
    duration = (ended_ns - started_ns) / 1e9 if started_ns is not None and ended_ns is not None else None
    return SessionSummary(
        path, str(manifest.get("session_id", path.name)), manifest.get("client"), manifest.get("practitioner"),
        manifest.get("mode"), manifest.get("started_wall"), duration, list(manifest.get("tags") or []), status,
    )


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
            db = sqlite3.connect(f"file:{summary.path}?mode=ro", uri=True)
            try:
                rows = manifest_rows(db, "baseline")
            finally:
                db.close()
        except sqlite3.DatabaseError:
            continue
        if rows:
            found.append(json.loads(rows[0][1]))
    return found
