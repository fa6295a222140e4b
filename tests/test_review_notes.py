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
from somafeedback.review_notes import add_review_note, is_review_note, review_notes
from somafeedback.session_file import SessionFileError, read_session

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
