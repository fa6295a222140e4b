"""Readers never write: finished and interrupted recordings, read-only folders, foreign side files, repair.

The promise tested is the one a clinic relies on: every reader leaves every byte and the set of
files in the library exactly as it found them (sha256 of every file, and the names), whether
the session was finished or its recording was killed; a finished session is one file.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from killed_recordings import ManualClock, killed_recording, write_beats
from session_helpers import REPO

from somafeedback.cli.main import main as cli_main
from somafeedback.devices.events import TimelineEvent
from somafeedback.sessions.analysis import session_series
from somafeedback.sessions.file import SUFFIX, SessionWriter, read_session
from somafeedback.sessions.library import client_baselines, list_sessions, summarize_file
from somafeedback.sessions.repair import repair_session
from somafeedback.sessions.review_notes import stored_review_notes
from somafeedback.sessions.verify import verify_session

SAMPLE = REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite"


def _digest(folder: Path) -> dict[str, str]:
    """Every file's name and sha256 (the folder as a reader must leave it)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _finished(folder: Path, name: str, client: str, beats: int = 100) -> Path:
    clock = ManualClock(start_wall=1_700_000_000.0)
    writer = SessionWriter(folder / f"{name}{SUFFIX}", clock, {"client": client, "mode": "recording"})
    write_beats(writer, clock, beats)
    writer.event(TimelineEvent("baseline", clock.now_ns(), clock.wall_time(), {"rmssd_ms": 40.0}))
    writer.close()
    return writer.path


def _every_reader(path: Path, library: Path) -> None:
    read_session(path)
    list_sessions(library)
    summarize_file(path)
    session_series(path)
    verify_session(path)
    stored_review_notes(path)
    client_baselines(library, "Client A")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        cli_main(["sessions", "--recordings", str(library)])
        cli_main(["sessions", "--recordings", str(library), "verify"])
        cli_main(["analyze", str(path)])


def test_a_finished_session_is_one_file_in_a_rollback_journal(tmp_path) -> None:
    path = _finished(tmp_path, "done", "Client A")
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    header = path.read_bytes()[:20]
    assert header[18:20] == b"\x01\x01"  # rollback journal (2, 2 would be WAL: it needs side files)


def test_readers_leave_a_library_of_finished_and_killed_recordings_byte_identical(tmp_path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    finished = _finished(library, "done", "Client A")
    killed = killed_recording(library, "killed", "Client A")
    shutil.copyfile(SAMPLE, library / SAMPLE.name)
    before = _digest(library)
    assert any(name.endswith("-wal") for name in before)
    for path in (finished, killed, library / SAMPLE.name):
        _every_reader(path, library)
        assert _digest(library) == before, path.name


def test_a_killed_recording_is_read_whole_with_its_wal(tmp_path) -> None:
    killed = killed_recording(tmp_path, "killed", "Client A", beats=300)
    session = read_session(killed)
    assert len(session.notifications) == 300 and session.wal == "applied"
    assert session.ended_unexpectedly and session.problems == []
    assert [s.status for s in list_sessions(tmp_path)] == ["ended unexpectedly"]


def test_a_wal_of_another_session_is_never_applied(tmp_path) -> None:
    one, other = tmp_path / "one", tmp_path / "other"
    one.mkdir(), other.mkdir()
    mine = killed_recording(one, "mine", "Client A", beats=50)
    foreign = killed_recording(other, "theirs", "Client B", beats=120)
    mine_alone = tmp_path / "alone"  # what the file says without any side file
    mine_alone.mkdir()
    shutil.copyfile(mine, mine_alone / mine.name)
    # make the file's own manifest readable without its -wal (a checkpoint happened), then swap the -wal
    repair_session(mine)
    shutil.copyfile(f"{foreign}-wal", f"{mine}-wal")
    before = _digest(one)
    session = read_session(mine)
    assert len(session.notifications) == 50 and session.manifest["client"] == "Client A"
    assert session.wal == "foreign" and any("does not belong" in p for p in session.problems)
    summary = summarize_file(mine)
    assert summary.status == "damaged" and "does not belong" in summary.problem
    with pytest.raises(Exception, match="does not belong"):
        repair_session(mine)
    assert _digest(one) == before


def test_a_wal_whose_header_checksum_does_not_match_is_never_applied(tmp_path) -> None:
    killed = killed_recording(tmp_path, "killed", "Client A", beats=80, checkpoint_after=30)
    wal = Path(f"{killed}-wal")
    data = bytearray(wal.read_bytes())
    data[16] ^= 0x01  # salt-1: the header checksum no longer matches
    wal.write_bytes(bytes(data))
    before = _digest(tmp_path)
    session = read_session(killed)
    assert session.wal == "foreign" and "checksum" in " ".join(session.problems)
    assert len(session.notifications) == 30  # what only the -wal held was not taken from it
    assert _digest(tmp_path) == before


def test_a_read_only_folder_lists_healthy_sessions_as_complete(tmp_path) -> None:
    library = tmp_path / "stick"
    library.mkdir()
    _finished(library, "a", "Client A")
    shutil.copyfile(SAMPLE, library / SAMPLE.name)
    before = _digest(library)
    for path in library.iterdir():
        path.chmod(0o444)
    library.chmod(0o555)
    try:
        if os.geteuid() != 0:  # root ignores permissions: then the byte-identical check is the promise tested
            with pytest.raises(PermissionError):
                (library / "probe").write_bytes(b"")
        assert [s.status for s in list_sessions(library)] == ["complete", "complete"]
        for path in sorted(library.iterdir()):
            _every_reader(path, library)
        assert _digest(library) == before
    finally:
        library.chmod(0o700)
        for path in library.iterdir():
            path.chmod(0o600)


def test_repair_makes_a_killed_recording_one_file_and_says_so(tmp_path) -> None:
    killed = killed_recording(tmp_path, "killed", "Client A", beats=150)
    before = read_session(killed)
    said = repair_session(killed)
    assert "merged" in said and "self-contained" in said
    assert sorted(p.name for p in tmp_path.iterdir() if not p.is_dir()) == [killed.name]
    after = read_session(killed)
    assert after.notifications == before.notifications and after.wal == "none"
    assert after.ended_unexpectedly and isinstance(after.manifest["repaired"], dict)
    assert verify_session(killed).status == "verified"
    assert "nothing to repair" in repair_session(killed)


def test_cli_sessions_repair_and_verify(tmp_path) -> None:
    killed = killed_recording(tmp_path, "killed", "Client A", beats=60)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli_main(["sessions", "--recordings", str(tmp_path), "verify"]) == 0
        assert cli_main(["sessions", "--recordings", str(tmp_path), "repair", str(killed)]) == 0
    assert "verified" in out.getvalue() and "merged" in out.getvalue()
    assert not Path(f"{killed}-wal").exists()
    listing = io.StringIO()
    with contextlib.redirect_stdout(listing):
        cli_main(["sessions", "--recordings", str(tmp_path), "--json"])
    assert json.loads(listing.getvalue())["status"] == "ended unexpectedly"


def test_files_created_by_the_writer_stay_private(tmp_path) -> None:
    path = _finished(tmp_path, "done", "Client A")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
