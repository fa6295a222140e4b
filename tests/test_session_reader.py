"""The streaming session reader gives exactly what read_session gives, a batch of rows at a time.

For every file (the shipped sample, a recording with a flipped payload byte and a review note,
a killed recording read with its -wal, a truncated file read by salvage) the items of a walk
equal ``read_session(path).timeline``, and the problems, the rows set aside, the manifest and the
duration are the same, with the ordinary batch and with a batch of a few rows.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from killed_recordings import killed_recording
from recording_helpers import record_simulated
from session_helpers import REPO

from somafeedback.sessions.file import read_session
from somafeedback.sessions.reader import SessionReader, iter_timeline
from somafeedback.sessions.review_notes import add_review_note

SAMPLE = REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite"
PMD_DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
SMALL_BATCH = 7  # rows fetched at a time: many batches even for a short file
PAGE_BYTES = 4096  # SQLite page size of a recording


@pytest.fixture(scope="module")
def h10(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record_simulated(tmp_path_factory.mktemp("h10") / "h10.session.sqlite", "calm", 40.0, h10=True)


def _same_as_whole(path: Path, streamed_expected: bool = True) -> None:
    whole = read_session(path)
    for batch in (5000, SMALL_BATCH):
        with SessionReader(path, batch) as reader:
            first, second = list(reader.timeline), list(reader.timeline)
            assert first == whole.timeline and second == whole.timeline
            assert reader.problems == whole.problems
            assert reader.rows_set_aside == whole.rows_set_aside
            assert (reader.manifest, reader.wal, reader.verifiable) == (whole.manifest, whole.wal, whole.verifiable)
            assert reader.duration_s == whole.duration_s
            assert reader.ended_unexpectedly == whole.ended_unexpectedly
            assert (reader._whole is None) == streamed_expected  # streamed, not read whole behind the scenes
    assert list(iter_timeline(path, SMALL_BATCH)) == whole.timeline


def test_the_shipped_sample_streams_as_it_reads_whole() -> None:
    _same_as_whole(SAMPLE)


def test_a_flipped_payload_byte_and_a_review_note_stream_as_they_read_whole(h10: Path, tmp_path: Path) -> None:
    db = sqlite3.connect(f"{h10.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    payload = db.execute("SELECT payload FROM notifications WHERE characteristic = ? ORDER BY length(payload) DESC",
                         (PMD_DATA,)).fetchone()[0]
    db.close()
    data = bytearray(h10.read_bytes())
    at = data.find(payload)
    assert at > 0 and data.find(payload, at + 1) < 0
    data[at + len(payload) // 2] ^= 0x04
    flipped = tmp_path / "flipped.session.sqlite"
    flipped.write_bytes(bytes(data))
    start_ns = read_session(flipped).manifest["started_host_ns"]
    add_review_note(flipped, start_ns + 12 * 10**9, "breathing slowed here")
    whole = read_session(flipped)
    assert whole.rows_set_aside == 1 and any("checksum" in p for p in whole.problems)
    assert [i for i in whole.timeline if getattr(i, "kind", None) == "note"] != whole.timeline[-1:]  # placed inside
    _same_as_whole(flipped)


def test_a_killed_recording_streams_with_its_wal(tmp_path: Path) -> None:
    path = killed_recording(tmp_path, "killed", "client-a", beats=120, checkpoint_after=40)
    assert read_session(path).wal == "applied"
    _same_as_whole(path)


def test_a_truncated_file_is_read_whole_and_gives_the_same(h10: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.session.sqlite"
    cut.write_bytes(h10.read_bytes()[: h10.stat().st_size * 2 // 3])
    whole = read_session(cut)
    assert any("recovered" in p for p in whole.problems)
    with SessionReader(cut, SMALL_BATCH) as reader:
        assert list(reader.timeline) == whole.timeline
        assert reader.problems == whole.problems and reader.rows_set_aside == whole.rows_set_aside


def test_a_page_lost_mid_file_is_found_during_the_walk_and_the_walk_ends_as_read_whole(h10: Path,
                                                                                      tmp_path: Path) -> None:
    data = bytearray(h10.read_bytes())
    pages = len(data) // PAGE_BYTES
    middle = pages // 2
    data[middle * PAGE_BYTES:(middle + 1) * PAGE_BYTES] = bytes(PAGE_BYTES)  # a page of notifications zeroed
    damaged = tmp_path / "page-lost.session.sqlite"
    damaged.write_bytes(bytes(data))
    whole = read_session(damaged)
    assert any("damaged" in p for p in whole.problems)
    with SessionReader(damaged, SMALL_BATCH) as reader:
        assert reader._whole is None  # opened as a stream: the damage lies further on
        assert list(reader.timeline) == whole.timeline
        assert reader._whole is not None  # found on the way: the rest came from the whole read
        assert reader.problems == whole.problems and reader.rows_set_aside == whole.rows_set_aside
