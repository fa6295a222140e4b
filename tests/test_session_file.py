"""The session file format: round trip, damaged and foreign files, library listing."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from recording_helpers import record_simulated

from somafeedback.sessions.library import filter_sessions, list_sessions, set_tags, summarize_file
from somafeedback.sessions.file import FORMAT_VERSION, SessionFileError, manifest_rows, read_manifest, read_session


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record_simulated(tmp_path_factory.mktemp("rec") / "base.session.sqlite", "dropout", 480.0,
                            markers=[(30.0, "marker", {"label": "resource"})])


def _copy(recorded: Path, tmp_path: Path, name: str = "copy.session.sqlite") -> Path:
    target = tmp_path / name
    shutil.copy(recorded, target)
    return target


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "not an SQLite file"),
        (b"plain text that is no database\n" * 20, "not an SQLite file"),
        (b"SQLite format 3\x00" + b"\x00" * 50, "damaged beyond reading"),
    ],
)
def test_foreign_or_broken_files_give_one_clear_error(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "bad.session.sqlite"
    path.write_bytes(content)
    with pytest.raises(SessionFileError, match=problem) as error:
        read_session(path)
    assert str(path) in str(error.value)


def test_an_sqlite_file_that_is_no_session_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
    db.close()
    with pytest.raises(SessionFileError, match="not a somafeedback session"):
        read_session(path)


def test_a_newer_format_is_refused_with_its_version(recorded: Path, tmp_path: Path) -> None:
    path = _copy(recorded, tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE manifest SET value = ? WHERE key = 'format_version'", (json.dumps(FORMAT_VERSION + 1),))
    db.close()
    with pytest.raises(SessionFileError, match="newer somafeedback"):
        read_session(path)


def test_a_truncated_file_recovers_what_it_can_and_says_so(recorded: Path, tmp_path: Path) -> None:
    whole = read_session(recorded)
    data = recorded.read_bytes()
    path = tmp_path / "cut.session.sqlite"
    path.write_bytes(data[: int(len(data) * 0.6)])
    try:
        session = read_session(path)
    except SessionFileError as error:  # a cut through the schema pages is beyond reading, and says so
        assert str(path) in str(error) and "damaged" in str(error)
        return
    assert session.problems, "a truncated file must report what it could not read"
    assert 0 < len(session.notifications) < len(whole.notifications)
    assert session.notifications == whole.notifications[: len(session.notifications)]  # what is read is right


def test_a_damaged_page_in_the_middle_costs_only_that_stretch(recorded: Path, tmp_path: Path) -> None:
    whole = read_session(recorded)
    path = _copy(recorded, tmp_path)
    data = bytearray(path.read_bytes())
    page = 4096
    middle = (len(data) // page // 2) * page
    data[middle:middle + page] = b"\xff" * page
    path.write_bytes(bytes(data))
    try:
        session = read_session(path)
    except SessionFileError as error:
        assert "damaged" in str(error)
        return
    assert session.problems
    recovered = {(n.seq, n.payload) for n in session.notifications}
    assert recovered <= {(n.seq, n.payload) for n in whole.notifications}  # nothing invented
    assert len(recovered) >= len(whole.notifications) // 3


def test_corrupt_session_commands_give_one_line_and_touch_nothing_else(recorded: Path, tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    good = _copy(recorded, library, "good.session.sqlite")
    before = good.read_bytes()
    bad = library / "bad.session.sqlite"
    bad.write_bytes(b"garbage" * 100)
    for command in (["replay", str(bad), "--speed", "max"], ["analyze", str(bad)], ["export", str(bad), "--format", "csv"]):
        result = subprocess.run([sys.executable, "-m", "somafeedback.cli", *command, "--recordings", str(library)]
                                if command[0] != "analyze" else [sys.executable, "-m", "somafeedback.cli", *command],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, (command, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "bad.session.sqlite" in lines[0], lines
    listed = subprocess.run([sys.executable, "-m", "somafeedback.cli", "sessions", "--json", "--recordings", str(library)],
                            capture_output=True, text=True, timeout=60)
    statuses = {json.loads(line)["path"].rsplit("/", 1)[-1]: json.loads(line)["status"] for line in listed.stdout.splitlines()}
    assert statuses == {"good.session.sqlite": "complete", "bad.session.sqlite": "damaged"}
    assert good.read_bytes() == before


def test_library_filters_by_client_mode_tag_and_date(recorded: Path, tmp_path: Path) -> None:
    for name, client, mode in (("a", "Ann", "practitioner"), ("b", "Ben", "home"), ("c", "ann", "home")):
        path = _copy(recorded, tmp_path, f"{name}.session.sqlite")
        with sqlite3.connect(path) as db:
            db.execute("UPDATE manifest SET value = ? WHERE key = 'client'", (json.dumps(client),))
            db.execute("UPDATE manifest SET value = ? WHERE key = 'mode'", (json.dumps(mode),))
        db.close()
    set_tags(tmp_path / "c.session.sqlite", add=["resourcing"])
    sessions = list_sessions(tmp_path)
    assert {s.path.name for s in filter_sessions(sessions, client="ANN")} == {"a.session.sqlite", "c.session.sqlite"}
    assert {s.path.name for s in filter_sessions(sessions, mode="home")} == {"b.session.sqlite", "c.session.sqlite"}
    assert [s.path.name for s in filter_sessions(sessions, tag="Resourcing")] == ["c.session.sqlite"]
    day = summarize_file(tmp_path / "a.session.sqlite").started.date()
    assert len(filter_sessions(sessions, since=day, until=day)) == 3
    assert filter_sessions(sessions, since=day.replace(year=day.year + 1)) == []


def _manifest_db(rows: dict[str, str] | None) -> sqlite3.Connection:
    """An in-memory database with a manifest table of raw (key, JSON text) rows, or no manifest table (None)."""
    db = sqlite3.connect(":memory:")
    if rows is not None:
        db.execute("CREATE TABLE manifest (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.executemany("INSERT INTO manifest VALUES (?, ?)", list(rows.items()))
    return db


def test_the_one_manifest_reader_notes_or_leaves_out_values_that_are_not_json() -> None:
    db = _manifest_db({"format": '"somafeedback-session"', "format_version": "1", "client": '"C"', "tags": "[oops"})
    problems: list[str] = []
    assert read_manifest(db, Path("x"), problems) == {"format": "somafeedback-session", "format_version": 1, "client": "C"}
    assert problems == ["manifest value of 'tags' is not JSON"]
    assert read_manifest(db, Path("x")) == {"format": "somafeedback-session", "format_version": 1, "client": "C"}
    assert manifest_rows(db, "client", "tags") == [("client", '"C"'), ("tags", "[oops")]
    assert manifest_rows(db, "missing") == []


def test_the_one_manifest_reader_refuses_foreign_newer_and_manifestless_files() -> None:
    with pytest.raises(SessionFileError, match=r"x: not a somafeedback session \(no manifest\)"):
        read_manifest(_manifest_db(None), Path("x"), [])
    with pytest.raises(SessionFileError, match=r"not a somafeedback session \(format 'other'\)"):
        read_manifest(_manifest_db({"format": '"other"'}), Path("x"))
    newer = _manifest_db({"format_version": str(FORMAT_VERSION + 1)})
    with pytest.raises(SessionFileError, match=f"newer somafeedback .*this one reads {FORMAT_VERSION}"):
        read_manifest(newer, Path("x"))
    with pytest.raises(SessionFileError, match=f"newer somafeedback .*this one writes {FORMAT_VERSION}"):
        read_manifest(newer, Path("x"), for_writing=True)
