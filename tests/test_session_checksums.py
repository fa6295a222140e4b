"""Row checksums (format 2): every stored row verifies; a flipped byte inside a row is reported, not read.

The checksum is recomputed here independently, from docs/recording-format.md's description
(zlib's CRC-32 over the canonical JSON head, a zero byte and the payload), over every row of a
real H10 recording made through the simulated strap (ECG, chest motion and heart-rate rows).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sqlite3
import zlib
from pathlib import Path

import pytest
from recording_helpers import record_simulated
from session_helpers import REPO

from somafeedback.cli.main import main as cli_main
from somafeedback.sessions.file import FORMAT_VERSION, read_session
from somafeedback.sessions.review_notes import add_review_note
from somafeedback.sessions.verify import DAMAGED, UNVERIFIABLE, VERIFIED, verify_session

SAMPLE = REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite"
PMD_DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"


@pytest.fixture(scope="module")
def h10(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record_simulated(tmp_path_factory.mktemp("h10") / "h10.session.sqlite", "calm", 60.0, h10=True)


def _rows(path: Path, table: str) -> list[tuple]:
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        return db.execute(f"SELECT * FROM {table} ORDER BY timeline_seq").fetchall()
    finally:
        db.close()


def _crc_notification(seq, strap, n, characteristic, host_ns, wall, payload) -> int:  # type: ignore[no-untyped-def]
    head = "[" + ", ".join([str(seq), json.dumps(strap), str(n), json.dumps(characteristic), str(host_ns),
                            json.dumps(float(wall).hex())]) + "]"
    return zlib.crc32(head.encode() + b"\0" + payload)


def _crc_event(seq, host_ns, wall, kind, strap, data) -> int:  # type: ignore[no-untyped-def]
    fields = [str(seq), str(host_ns), "null" if wall is None else json.dumps(float(wall).hex()), json.dumps(kind),
              "null" if strap is None else json.dumps(strap), json.dumps(data)]
    return zlib.crc32(("[" + ", ".join(fields) + "]").encode())


def test_every_row_of_a_recording_carries_the_documented_checksum(h10) -> None:
    notifications, events = _rows(h10, "notifications"), _rows(h10, "events")
    assert len(notifications) > 150 and len(events) > 3
    assert {r[3] for r in notifications} >= {PMD_DATA}  # raw ECG / chest motion frames are covered too
    assert all(r[7] == _crc_notification(*r[:7]) for r in notifications)
    assert all(r[6] == _crc_event(*r[:6]) for r in events)
    session = read_session(h10)
    assert session.manifest["format_version"] == FORMAT_VERSION == 2
    assert session.verifiable and session.problems == [] and session.rows_set_aside == 0
    assert verify_session(h10).status == VERIFIED


def test_a_flipped_byte_inside_a_stored_notification_is_reported_not_read(h10, tmp_path) -> None:
    rows = _rows(h10, "notifications")
    target = max((r for r in rows if r[3] == PMD_DATA), key=lambda r: len(r[6]))  # a long ECG frame
    data = bytearray(h10.read_bytes())
    at = data.find(target[6])
    assert at > 0 and data.find(target[6], at + 1) < 0  # found once: this is the row's payload
    data[at + len(target[6]) // 2] ^= 0x04
    damaged = tmp_path / "flipped.session.sqlite"
    damaged.write_bytes(bytes(data))
    session = read_session(damaged)
    assert session.rows_set_aside == 1
    assert any("checksum does not match" in p and f"#{target[0]}" in p for p in session.problems)
    kept = {(n.host_ns, n.seq, n.strap_id) for n in session.notifications}
    assert (target[4], target[2], target[1]) not in kept and len(kept) == len(rows) - 1
    verdict = verify_session(damaged)
    assert verdict.status == DAMAGED and any("checksum does not match" in line for line in verdict.lines)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert cli_main(["sessions", "--recordings", str(tmp_path), "verify", str(damaged)]) == 1
    assert "damaged" in out.getvalue()


def test_a_format_1_session_still_reads_and_says_it_cannot_be_verified(tmp_path) -> None:
    session = read_session(SAMPLE)
    assert session.manifest["format_version"] == 1 and not session.verifiable
    assert len(session.notifications) == 620 and session.problems == []
    verdict = verify_session(SAMPLE)
    assert verdict.status == UNVERIFIABLE and "format 1" in verdict.lines[0]
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert cli_main(["sessions", "--recordings", str(tmp_path), "verify", str(SAMPLE)]) == 0
    assert "cannot be verified" in out.getvalue()


def test_a_review_note_carries_its_checksum(h10, tmp_path) -> None:
    copy = tmp_path / "h10.session.sqlite"
    shutil.copyfile(h10, copy)
    add_review_note(copy, read_session(copy).manifest["started_host_ns"] + 10**9, "a felt shift here")
    note = _rows(copy, "events")[-1]
    assert json.loads(note[5])["review"] is True and note[6] == _crc_event(*note[:6])
    assert verify_session(copy).status == VERIFIED


def test_a_computer_up_for_weeks_records_events_stamped_on_the_session_clock(tmp_path: Path) -> None:
    """The writer's start is a monotonic stamp (weeks since the computer started), the replayed
    items' stamps count from 0: every row reads back (a 24-hour window around the start set them aside)."""
    from manual_clock import ManualClock

    from somafeedback.devices.events import TimelineEvent
    from somafeedback.sessions.file import SessionWriter

    weeks_up = ManualClock(t=21 * 24 * 3600.0)
    path = tmp_path / "up.session.sqlite"
    writer = SessionWriter(path, weeks_up, {"mode": "practitioner"})
    events = [TimelineEvent("marker", int(k * 1e9), 1.7e9 + k, {"label": f"m{k}"}) for k in range(3)]
    for event in events:
        writer.event(event)
    writer.close()
    session = read_session(path)
    assert session.problems == [] and session.rows_set_aside == 0
    assert [(e.host_ns, e.data["label"]) for e in session.events if isinstance(e, TimelineEvent)] == \
        [(e.host_ns, e.data["label"]) for e in events]
