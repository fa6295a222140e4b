"""A recording that ends cleanly stores the report's pass; a report uses it only when it is exactly the pass it
would compute, and computes afresh otherwise.

A Polar H10 (raw ECG and chest motion, the client's strap) and a plain strap are recorded through the
real BLE path, the writer's close storing the pass (:func:`store_pass`, no time limit here). Checked:
the stored pass equals the pass computed from the finished file, bit for bit (a typed comparison
written here); a report with it runs no pass and shows exactly what a fresh one shows; a changed
byte, a pass made otherwise, or bytes the codec refuses lead to a fresh pass (the damage said);
stop signals, long recordings and a pass out of time store nothing; a finisher that fails (even by
a second Ctrl-C) leaves a finished file; the command line's recording stores it and its report file
is the same byte for byte.
"""

from __future__ import annotations

import functools
import json
import shutil
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
from killed_recordings import write_beats
from manual_clock import ManualClock
from recording_helpers import record_straps
from test_analysis_codec import same

from somafeedback.devices.events import Notification
from somafeedback.devices.gatt_uuids import HEART_RATE_MEASUREMENT
from somafeedback.live.analysis import LiveAnalysis
from somafeedback.live.stored_pass import (
    CLEAN_ENDS,
    MAX_STORED_ITEMS,
    PASS_NAME,
    finisher,
    pass_made_with,
    store_pass,
    stored_pass,
)
from somafeedback.live.strap_pass import StrapPass, analyze_strap
from somafeedback.progress import Progress
from somafeedback.reports.content import session_content
from somafeedback.sessions.file import Session, SessionWriter, read_session
from somafeedback.sessions.span import report_span
from somafeedback.sessions.stored_analyses import analysis_crc
from somafeedback.sessions.verify import DAMAGED, VERIFIED, verify_session

DURATION_S = 240.0
WALL_ORIGIN = 1_715_955_785.0
ORIGIN_BEFORE_S = 30.0  # the live session began this long before the recording (the report counts from it)
EVENTS = ((60.0, "marker", {"label": "resource"}), (120.0, "note", {"text": "slower breath"}))
CLI = [sys.executable, "-m", "somafeedback.cli"]
LAUNCHER = [sys.executable, "-m", "somafeedback.ui.launcher"]  # the `somafeedback` command (report included)
WAIT_S = 300.0  # bound on a command line run (a loaded 2-core CI box)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stored") / "stored.session.sqlite"
    manifest = {"client": "Client S", "mode": "session", "session_origin_host_ns": -int(ORIGIN_BEFORE_S * 1e9)}
    return record_straps(path, [("calm", 5, True), ("artifacts", 6, False)], manifest, EVENTS, DURATION_S,
                         WALL_ORIGIN, finish=functools.partial(store_pass, within_s=None))


@pytest.fixture
def copy(recorded: Path, tmp_path: Path) -> Path:
    target = tmp_path / recorded.name
    shutil.copyfile(recorded, target)
    return target


class Counted:
    """The report's live analysis, counted (the factory session_content takes)."""

    def __init__(self) -> None:
        self.made = 0

    def __call__(self) -> LiveAnalysis:
        self.made += 1
        return LiveAnalysis(metrics=True)


def _fresh(session: Session) -> StrapPass:
    span = report_span(session)
    return analyze_strap(session, "strap1", span.origin_s, span.duration_s, Progress(None), span.start_s)


def _rewrite(path: Path, made_with: dict[str, Any] | None = None, data: bytes | None = None,
             keep_crc: bool = False) -> None:
    """Change the stored pass's row (its checksum made to match, unless ``keep_crc``)."""
    with sqlite3.connect(path) as db:
        old_made_with, old_data, crc = db.execute("SELECT made_with, data, crc FROM analyses WHERE name = ?",
                                                  (PASS_NAME,)).fetchone()
        text = old_made_with if made_with is None else json.dumps(made_with, sort_keys=True)
        blob = old_data if data is None else data
        db.execute("UPDATE analyses SET made_with = ?, data = ?, crc = ? WHERE name = ?",
                   (text, blob, crc if keep_crc else analysis_crc(PASS_NAME, text, blob), PASS_NAME))
    db.close()


def test_the_stored_pass_is_the_pass_computed_from_the_finished_file(recorded: Path) -> None:
    session = read_session(recorded)
    assert not session.problems and PASS_NAME in session.analyses
    span = report_span(session)
    assert span.start_s == pytest.approx(ORIGIN_BEFORE_S, abs=0.01) and span.duration_s == pytest.approx(DURATION_S, abs=1.0)
    assert session.analyses[PASS_NAME].made_with == pass_made_with(session, "strap1", span)
    stored = stored_pass(session, "strap1", span)
    fresh = _fresh(session)
    assert stored is not None
    same(fresh, stored, "pass")
    # a pass worth storing: ECG beats, chest breathing, raw excerpts at the middle and the end
    assert fresh.ecg_beats > 150 and len(fresh.chest) > 100 and fresh.has_raw and all(fresh.excerpts)


@pytest.mark.parametrize("deidentify", [False, True])
def test_a_report_with_the_stored_pass_runs_none_and_shows_what_a_fresh_pass_shows(recorded: Path,
                                                                                 deidentify: bool) -> None:
    counted = Counted()
    with_stored = session_content(recorded, deidentify, new_analysis=counted)
    assert counted.made == 0
    fresh = session_content(recorded, deidentify, new_analysis=counted, use_stored=False)
    assert counted.made == 1
    same(fresh, with_stored, "content")
    assert len(with_stored.metrics) > 150 and with_stored.raw_excerpts


def test_a_changed_byte_in_the_stored_pass_is_said_and_the_pass_computed_afresh(recorded: Path, copy: Path) -> None:
    with sqlite3.connect(copy) as db:
        (data,) = db.execute("SELECT data FROM analyses").fetchone()
    db.close()
    damaged = bytearray(data)
    damaged[len(damaged) // 2] ^= 0x01
    _rewrite(copy, data=bytes(damaged), keep_crc=True)
    session = read_session(copy)
    assert session.analyses == {}
    (line,) = [p for p in session.problems if "stored analysis" in p]
    assert "report-pass" in line and "computed afresh" in line
    counted = Counted()
    content = session_content(copy, new_analysis=counted)
    assert counted.made == 1 and line in content.problems
    same(session_content(recorded, new_analysis=Counted(), use_stored=False).metrics, content.metrics, "metrics")
    verdict = verify_session(copy)
    assert verdict.status == DAMAGED and line in verdict.lines
    assert verify_session(recorded).status == VERIFIED


@pytest.mark.parametrize("key, value", [("app_version", "0.0.1"), ("pass", 0), ("numpy", "1.0.0"), ("duration_s", 239.0),
                                        ("items", 1), ("strap", "strap2"), ("start_s", 0.0)])
def test_a_pass_made_otherwise_is_not_used(copy: Path, key: str, value: Any) -> None:
    session = read_session(copy)
    made_with = {**session.analyses[PASS_NAME].made_with, key: value}
    _rewrite(copy, made_with=made_with)
    session = read_session(copy)
    assert not session.problems and session.analyses[PASS_NAME].made_with[key] == value  # intact, just other
    assert stored_pass(session, "strap1", report_span(session)) is None
    counted = Counted()
    session_content(session, new_analysis=counted)
    assert counted.made == 1


@pytest.mark.parametrize("blob", [zlib.compress(b'{"d": ["os.system", ["echo unsafe"]]}'),
                                  zlib.compress(b'{"d": ["StrapPass", [1, 2]]}'), zlib.compress(b"[1, 2, 3]"),
                                  b"\x00not zlib"])
def test_bytes_the_codec_refuses_lead_to_a_fresh_pass(copy: Path, blob: bytes) -> None:
    _rewrite(copy, data=blob)
    session = read_session(copy)
    assert stored_pass(session, "strap1", report_span(session)) is None
    counted = Counted()
    session_content(session, new_analysis=counted)
    assert counted.made == 1


def test_only_a_clean_end_stores_it() -> None:
    assert finisher("stopped") is store_pass and finisher("duration reached") is store_pass
    assert finisher("interrupted") is store_pass  # Ctrl-C
    for reason in ("stopped: the system asked it to stop (SIGTERM: logout, shutdown or a service manager)",
                   "stopped: its terminal was closed (SIGHUP)", "no strap found", "pairing failed",
                   "the recording stopped: the disk is full"):
        assert reason not in CLEAN_ENDS and finisher(reason) is None


def test_a_long_recording_or_a_pass_out_of_time_stores_nothing(recorded: Path) -> None:
    session = read_session(recorded)
    assert store_pass(session, within_s=None)  # the recording itself: stored
    beat = next(i for i in session.timeline if isinstance(i, Notification) and i.characteristic == HEART_RATE_MEASUREMENT)
    long = Session(session.path, session.manifest, [beat] * (MAX_STORED_ITEMS + 1))
    assert store_pass(long, within_s=None) == []
    ticks = iter(range(10 ** 6))  # a clock that moves one second per reading: the pass overruns 5 s at once
    assert store_pass(session, within_s=5.0, clock=lambda: float(next(ticks))) == []
    assert next(ticks) > 5  # it did look at the clock while the pass ran


def test_the_command_lines_recording_stores_it_and_its_report_is_the_same_byte_for_byte(tmp_path: Path) -> None:
    library = tmp_path / "library"
    recorded = subprocess.run(CLI + ["record", "--simulate", "calm", "--speed", "max", "--duration", "150",
                                     "--recordings", str(library)], capture_output=True, text=True, timeout=WAIT_S)
    assert recorded.returncode == 0, recorded.stderr
    (path,) = library.glob("*.session.sqlite")
    assert PASS_NAME in read_session(path).analyses
    bare = tmp_path / "bare.session.sqlite"
    shutil.copyfile(path, bare)
    with sqlite3.connect(bare) as db:
        db.execute("DROP TABLE analyses")
    db.close()
    assert read_session(bare).analyses == {}
    pages = []
    for source, out in ((path, tmp_path / "stored.html"), (bare, tmp_path / "fresh.html")):
        made = subprocess.run(LAUNCHER + ["report", str(source), "--format", "html", "--out", str(out)],
                              capture_output=True, text=True, timeout=WAIT_S)
        assert made.returncode == 0, made.stderr
        pages.append(out.read_bytes())
    assert pages[0] == pages[1] and b"<img" in pages[0]


class _Fails:
    """A finisher that fails as given (an analysis's bug, or a second Ctrl-C while it runs)."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.saw: Session | None = None

    def __call__(self, session: Session) -> list[Any]:
        self.saw = session
        raise self.error


@pytest.mark.parametrize("error", [RuntimeError("a bug in an analysis"), MemoryError(), KeyboardInterrupt()])
def test_a_finisher_that_fails_leaves_a_finished_file_without_analyses(tmp_path: Path, error: BaseException) -> None:
    clock = ManualClock(start_wall=WALL_ORIGIN)
    path = tmp_path / "fails.session.sqlite"
    writer = SessionWriter(path, clock, {"client": "Client F", "mode": "recording"})
    write_beats(writer, clock, 30)
    finish = _Fails(error)
    if isinstance(error, KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):  # passed on once the file is finished
            writer.close(finish=finish)
    else:
        writer.close(finish=finish)
    assert finish.saw is not None and len(finish.saw.notifications) == 30  # it read the rows back, ended
    assert finish.saw.manifest["end_reason"] == "stopped"
    assert writer.closed and sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no -wal, no -shm
    session = read_session(path)
    assert not session.ended_unexpectedly and not session.problems and session.analyses == {}
    assert len(session.notifications) == 30


def test_review_notes_and_phase_marks_added_later_keep_the_stored_pass_in_use(recorded: Path, copy: Path) -> None:
    from somafeedback.sessions.review_notes import add_phase_mark, add_review_note

    start_ns = read_session(copy).manifest["started_host_ns"]
    add_review_note(copy, start_ns + 90 * 10 ** 9, "the breath slowed here", author="P")
    add_phase_mark(copy, start_ns + 100 * 10 ** 9, "practice")
    session = read_session(copy)
    assert len(session.timeline) == len(read_session(recorded).timeline) + 2 and not session.problems
    counted = Counted()
    with_stored = session_content(session, new_analysis=counted)
    assert counted.made == 0
    fresh = session_content(session, new_analysis=counted, use_stored=False)
    assert counted.made == 1
    same(fresh, with_stored, "content")
    assert any(n.text == "the breath slowed here" for n in with_stored.notes)  # the notes themselves are shown
