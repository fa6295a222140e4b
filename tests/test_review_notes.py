"""Review notes appended to existing session files: where they go, what they leave alone, what they refuse."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
from session_helpers import REPO

from somafeedback.devices.events import TimelineEvent
from somafeedback.sessions.review_notes import (
    add_review_note,
    copy_for_review,
    find_review_copy,
    is_review_note,
    notes_in_place,
    review_notes,
    stored_review_notes,
)
from somafeedback.sessions.file import SessionFileError, read_session

SAMPLE = REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite"


@pytest.fixture
def session_path(tmp_path: Path) -> Path:
    path = tmp_path / "library" / "sample.session.sqlite"
    path.parent.mkdir()
    shutil.copyfile(SAMPLE, path)
    path.chmod(0o600)
    return path


def rows(path: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def set_manifest(path: Path, **values: object) -> None:
    db = sqlite3.connect(path)
    with db:
        for key, value in values.items():
            if value is None:
                db.execute("DELETE FROM manifest WHERE key = ?", (key,))
            else:
                db.execute("INSERT OR REPLACE INTO manifest VALUES (?, ?)", (key, json.dumps(value)))
    db.close()


def test_a_note_is_appended_at_the_reviewed_moment(session_path: Path) -> None:
    before = read_session(session_path)
    last_seq = max(rows(session_path, "SELECT max(timeline_seq) FROM notifications")[0][0],
                   rows(session_path, "SELECT max(timeline_seq) FROM events")[0][0])
    add_review_note(session_path, 120_000_000_000, "breath deepened here", author="supervisor B")
    after = read_session(session_path)
    assert after.problems == []
    (note,) = [i for i in after.timeline if is_review_note(i)]
    assert [i for i in after.timeline if i is not note] == before.timeline  # everything recorded is unchanged, in order
    assert after.manifest == before.manifest
    assert isinstance(note, TimelineEvent) and note.kind == "note"
    assert note.host_ns == 120_000_000_000  # at the reviewed moment...
    at = after.timeline.index(note)  # ...and read back in its place on the timeline
    assert after.timeline[at - 1].host_ns <= note.host_ns <= after.timeline[at + 1].host_ns
    assert dict(note.data) == {"text": "breath deepened here", "review": True, "author": "supervisor B"}
    assert note.wall_time == pytest.approx(before.manifest["started_wall"] + 120.0)
    assert note.strap_id is None
    assert rows(session_path, "SELECT timeline_seq, kind FROM events ORDER BY timeline_seq DESC LIMIT 1") == [
        (last_seq + 1, "note")]
    assert review_notes(after) == [note] and is_review_note(note)


def test_review_notes_come_back_in_time_order(session_path: Path) -> None:
    add_review_note(session_path, 300_000_000_000, "later moment, written first")
    add_review_note(session_path, 100_000_000_000, "earlier moment, written second")
    add_review_note(session_path, 100_000_000_000, "same moment, written third", author=None)
    session = read_session(session_path)
    placed = [e.data["text"] for e in session.timeline if is_review_note(e)]
    assert placed == [  # read back in time order; ties keep the order they were written in
        "earlier moment, written second", "same moment, written third", "later moment, written first"]
    assert [(n.host_ns, n.data["text"]) for n in review_notes(session)] == [  # by moment; ties keep their order
        (100_000_000_000, "earlier moment, written second"),
        (100_000_000_000, "same moment, written third"),
        (300_000_000_000, "later moment, written first"),
    ]
    seqs = [s for (s,) in rows(session_path, "SELECT timeline_seq FROM events WHERE kind = 'note' ORDER BY timeline_seq")]
    assert seqs == [seqs[0], seqs[0] + 1, seqs[0] + 2]
    # notes written during the session are not review notes
    in_session = TimelineEvent("note", 5, 0.0, {"text": "said during the session"})
    assert not is_review_note(in_session)
    assert sum(is_review_note(i) for i in session.timeline) == 3


def test_the_file_keeps_its_mode_and_nothing_else_is_touched(session_path: Path) -> None:
    folder = session_path.parent
    other = folder / "other.session.sqlite"
    shutil.copyfile(SAMPLE, other)
    other.chmod(0o600)
    (folder / "notes.txt").write_text("unrelated")
    session_path.chmod(0o640)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns, stat.S_IMODE(p.stat().st_mode))
              for p in folder.iterdir() if p != session_path}
    add_review_note(session_path, 1_000_000_000, "first minute")
    assert stat.S_IMODE(session_path.stat().st_mode) == 0o640
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns, stat.S_IMODE(p.stat().st_mode))
             for p in folder.iterdir() if p != session_path}
    assert after == before  # no side file left behind, no other file changed
    session_path.chmod(0o600)
    add_review_note(session_path, 2_000_000_000, "again")
    assert stat.S_IMODE(session_path.stat().st_mode) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt", "other.session.sqlite", "sample.session.sqlite"]


def test_clear_errors_and_the_file_is_left_as_it_was(tmp_path: Path, session_path: Path) -> None:
    with pytest.raises(SessionFileError, match="no such session file"):
        add_review_note(tmp_path / "missing.session.sqlite", 0, "x")
    assert not (tmp_path / "missing.session.sqlite").exists()  # never created
    with pytest.raises(SessionFileError, match="not a session file"):
        add_review_note(tmp_path, 0, "x")
    text = tmp_path / "text.session.sqlite"
    text.write_text("hello")
    with pytest.raises(SessionFileError, match="not an SQLite file"):
        add_review_note(text, 0, "x")
    assert text.read_text() == "hello"
    other_db = tmp_path / "other.sqlite"
    db = sqlite3.connect(other_db)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(SessionFileError, match="not a somafeedback session"):
        add_review_note(other_db, 0, "x")
    assert rows(other_db, "SELECT name FROM sqlite_master") == [("t",)]

    damaged = tmp_path / "damaged.session.sqlite"
    data = SAMPLE.read_bytes()
    damaged.write_bytes(data[:4096] + b"\xff" * 4096 + data[8192:len(data) // 2])  # a wrecked page, cut short
    before = damaged.read_bytes()
    with pytest.raises(SessionFileError, match="damaged"):
        add_review_note(damaged, 0, "x")
    assert damaged.read_bytes() == before

    original = session_path.read_bytes()
    with pytest.raises(ValueError, match="needs some text"):
        add_review_note(session_path, 0, "   ")
    with pytest.raises(TypeError):
        add_review_note(session_path, 1.5, "x")  # type: ignore[arg-type]
    assert session_path.read_bytes() == original


def test_a_newer_format_and_a_live_recording_are_refused(session_path: Path) -> None:
    set_manifest(session_path, format_version=99)
    with pytest.raises(SessionFileError, match="newer somafeedback"):
        add_review_note(session_path, 0, "x")
    set_manifest(session_path, format_version=1, ended_wall=None,
                 recorder={"pid": os.getpid(), "host": socket.gethostname()})  # this very process "records" it
    count = rows(session_path, "SELECT count(*) FROM events")
    with pytest.raises(SessionFileError, match="still being recorded"):
        add_review_note(session_path, 0, "x")
    assert rows(session_path, "SELECT count(*) FROM events") == count
    gone = subprocess.Popen(["true"])  # a process that has ended: the session "ended unexpectedly"
    gone.wait()
    set_manifest(session_path, recorder={"pid": gone.pid, "host": socket.gethostname()})
    add_review_note(session_path, 0, "reviewing what was saved")
    assert [n.data["text"] for n in review_notes(read_session(session_path))] == ["reviewing what was saved"]


def fingerprint(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file in ``folder``: its sha256 and mode (what "unchanged" means below)."""
    import hashlib

    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), stat.S_IMODE(p.stat().st_mode))
            for p in sorted(folder.iterdir())}


def test_notes_go_in_place_only_into_a_writable_session_of_the_library(tmp_path: Path, session_path: Path) -> None:
    library = session_path.parent
    assert notes_in_place(session_path, library)
    assert notes_in_place(library / ".." / library.name / session_path.name, library)  # the same file, however named
    session_path.chmod(0o444)  # marked read-only: kept as it is (even for an administrator the system lets write)
    assert not notes_in_place(session_path, library)
    session_path.chmod(0o600)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    outside = elsewhere / session_path.name
    shutil.copyfile(session_path, outside)
    assert not notes_in_place(outside, library)  # writable, but not in the library
    nested = library / "old"
    nested.mkdir()
    shutil.copyfile(session_path, nested / "x.session.sqlite")
    assert not notes_in_place(nested / "x.session.sqlite", library)  # the library is one folder
    assert not notes_in_place(SAMPLE, library)  # the sample shipped with the app
    assert not notes_in_place(library / "missing.session.sqlite", library)
    assert not notes_in_place(session_path, tmp_path / "no library yet")


def test_a_copy_for_review_is_faithful_private_and_leaves_the_original_alone(tmp_path: Path) -> None:
    # a WAL-mode session whose last commit is still in its -wal (its writer died): read-only, outside the library
    work = tmp_path / "work.session.sqlite"
    shutil.copyfile(SAMPLE, work)
    db = sqlite3.connect(work)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("INSERT OR REPLACE INTO manifest VALUES ('tags', ?)", (json.dumps(["only in the wal"]),))
    db.commit()
    shared = tmp_path / "shared"
    shared.mkdir()
    original = shared / "colleague.session.sqlite"
    for suffix in ("", "-wal"):  # what a crashed writer leaves behind
        shutil.copyfile(f"{work}{suffix}", f"{original}{suffix}")
        Path(f"{original}{suffix}").chmod(0o444)
    db.close()
    shared.chmod(0o555)
    before = fingerprint(shared)
    assert sorted(before) == ["colleague.session.sqlite", "colleague.session.sqlite-wal"]
    library = tmp_path / "data" / "library"  # not there yet

    copy = copy_for_review(original, library)
    assert copy == library / "colleague (review copy).session.sqlite"
    assert stat.S_IMODE(library.stat().st_mode) == 0o700 and stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert [p.name for p in library.iterdir()] == [copy.name]  # no staging folder or side file left
    assert fingerprint(shared) == before  # the original and what is beside it: byte for byte, mode for mode
    reference = read_session(work)
    copied = read_session(copy)
    assert copied.problems == [] and copied.timeline == reference.timeline
    assert copied.manifest == reference.manifest and copied.manifest["tags"] == ["only in the wal"]
    assert notes_in_place(copy, library) and find_review_copy(library, reference.session_id, original) == copy

    add_review_note(copy, 60_000_000_000, "noted in the copy")
    assert [n.data["text"] for n in stored_review_notes(copy)] == ["noted in the copy"]
    assert fingerprint(shared) == before
    again = copy_for_review(original, library)  # never replaces the first copy
    assert again.name == "colleague (review copy 2).session.sqlite" and stored_review_notes(again) == []
    assert [n.data["text"] for n in stored_review_notes(copy)] == ["noted in the copy"]
    shared.chmod(0o755)


def test_no_copy_of_a_live_damaged_or_foreign_file(tmp_path: Path, session_path: Path) -> None:
    library = tmp_path / "mine"
    set_manifest(session_path, ended_wall=None, recorder={"pid": os.getpid(), "host": socket.gethostname()})
    with pytest.raises(SessionFileError, match="still being recorded"):
        copy_for_review(session_path, library)
    damaged = tmp_path / "damaged.session.sqlite"
    data = SAMPLE.read_bytes()
    damaged.write_bytes(data[:4096] + b"\xff" * 4096 + data[8192:len(data) // 2])
    with pytest.raises(SessionFileError, match="damaged"):
        copy_for_review(damaged, library)
    text = tmp_path / "text.session.sqlite"
    text.write_text("hello")
    with pytest.raises(SessionFileError, match="not an SQLite file"):
        copy_for_review(text, library)
    with pytest.raises(SessionFileError, match="no such session file"):
        copy_for_review(tmp_path / "missing.session.sqlite", library)
    assert list(library.iterdir()) == []  # nothing left behind
