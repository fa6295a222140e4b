"""Session import: real RR files become ordinary sessions whose decoded beats are the file's beats."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from somafeedback.interop import importer
from somafeedback.hrv.artifacts import ArtifactDetector
from somafeedback.devices.events import LinkEvent, LinkState, Notification, StrapInfo, TimelineEvent
from somafeedback.devices.gatt_uuids import HEART_RATE_MEASUREMENT
from somafeedback.devices.heart_rate import decode_measurement
from somafeedback.interop.importer import ImportFileError, import_file, read_events_csv, rr_timeline
from somafeedback.interop.rr_files import write_kubios_rr
from somafeedback.sessions.beats import decode_beats
from somafeedback.sessions.file import SUFFIX, read_session

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
RR_DIR = DATA / "rr"
RECORDINGS = REPO / "recordings"
SAMPLE = RECORDINGS / "polar-h10-slow-breathing.session.sqlite"
HALF_TICK_MS = 500.0 / 1024  # 0.48828125 ms: the most rounding to 1/1024 s can move an RR


def real(name: str) -> Path:
    path = RR_DIR / name
    assert path.is_file(), f"real record missing: {path} (../shared/data beside the checkout)"
    return path


def head(source: Path, lines: int, target: Path) -> Path:
    """The first ``lines`` lines of a real file, byte for byte."""
    with open(source, "rb") as stream:
        chunk = b"".join(stream.readline() for _ in range(lines))
    target.write_bytes(chunk)
    return target


def ticks_of(rr_ms: np.ndarray) -> np.ndarray:
    return np.floor(np.asarray(rr_ms) * 1024 / 1000 + 0.5).astype(np.int64)


def detector_flags(rr_ms: np.ndarray) -> list[bool]:
    detector = ArtifactDetector()
    return [detector.judge(float(x)).flagged for x in rr_ms]


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry of a folder (hidden ones too) with a digest of its bytes."""
    if not folder.exists():
        return {}
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "<dir>"
            for p in folder.iterdir()}


def check_import(session_path: Path, library: Path, rr_file_ms: np.ndarray) -> dict:
    """Properties every import of a clean real record must have; returns the manifest."""
    assert session_path.parent == library and session_path.name.endswith(SUFFIX)
    assert stat.S_IMODE(session_path.stat().st_mode) == 0o600
    assert sorted(p.name for p in library.iterdir()) == [session_path.name]  # no temporary or side files
    session = read_session(session_path)
    assert session.problems == []
    strap = decode_beats(session.timeline)["strap1"]
    expected_ticks = ticks_of(rr_file_ms)
    # Every RR is the file's, at the strap's 1/1024 s resolution.
    assert [b.rr_1024 for b in strap.beats] == expected_ticks.tolist()
    assert np.max(np.abs(strap.rr_ms - rr_file_ms)) <= HALF_TICK_MS
    # Every beat sits at the cumulative sum of the stored RR, in one segment (no re-anchoring).
    assert set(strap.segments.tolist()) == {0}
    np.testing.assert_allclose(strap.t_s, np.cumsum(expected_ticks) / 1024, rtol=0, atol=1e-6)
    shift_ms = np.max(np.abs(strap.t_s * 1000 - np.cumsum(rr_file_ms)))
    assert shift_ms <= session.manifest["source"]["max_beat_time_shift_ms"] + 1e-3
    # No artifact invented: the live rule flags exactly what it flags on the file's own values.
    assert strap.flagged == detector_flags(rr_file_ms)
    assert sum(strap.flagged) <= 0.02 * len(strap.beats)
    assert strap.malformed == []
    # Each notification is a real Heart Rate Measurement stamped at its own beat.
    notes = session.notifications
    assert [n.seq for n in notes] == list(range(1, len(rr_file_ms) + 1))
    assert all(n.characteristic == HEART_RATE_MEASUREMENT for n in notes)
    first = decode_measurement(notes[0].payload)
    assert first.contact is None and first.rr_1024 == (int(expected_ticks[0]),)
    assert first.bpm == round(60 * 1024 / expected_ticks[0])
    host_s = np.array([n.host_ns for n in notes]) / 1e9
    np.testing.assert_allclose(host_s, np.cumsum(expected_ticks) / 1024, rtol=0, atol=1e-9)
    start = session.manifest["started_wall"]
    np.testing.assert_allclose([n.wall_time for n in notes], start + host_s, rtol=0, atol=1e-5)
    # Link events around the beats, the strap's info at the start.
    events = session.events
    assert isinstance(events[0], LinkEvent) and events[0].state is LinkState.CONNECTING and events[0].host_ns == 0
    info = next(e for e in events if isinstance(e, StrapInfo))
    assert (info.name, info.address, info.battery_percent, info.body_location) == ("imported RR", "", None, None)
    assert any(isinstance(e, LinkEvent) and e.state is LinkState.STREAMING and e.host_ns == 0 for e in events)
    last = session.timeline[-1]
    assert isinstance(last, LinkEvent) and last.state is LinkState.STOPPED and last.host_ns == notes[-1].host_ns
    assert session.manifest["ended_host_ns"] == notes[-1].host_ns
    assert session.manifest["end_reason"] == "imported"
    stamps = [getattr(item, "host_ns") for item in session.timeline]
    assert stamps == sorted(stamps)  # replay seeks by host time
    manifest = session.manifest
    assert manifest["mode"] == "imported" and manifest["practitioner"] is None
    assert manifest["started_host_ns"] == 0
    assert [(d["strap_id"], d["name"]) for d in manifest["devices"]] == [("strap1", "imported RR")]
    assert "host" not in manifest["recorder"] and "pid" not in manifest["recorder"]
    source = manifest["source"]
    assert source["kind"] == "import" and source["quantised_to_1_1024_s"] is True
    assert source["beats"] == len(rr_file_ms)
    assert source["max_quantisation_ms"] == pytest.approx(np.max(np.abs(expected_ticks * 1000 / 1024 - rr_file_ms)))
    assert source["max_quantisation_ms"] <= HALF_TICK_MS
    return manifest


# ---------------------------------------------------------------------------------------------
# Real records


def test_polar_h10_csv_imports_as_an_ordinary_session(tmp_path: Path) -> None:
    source = tmp_path / "polar.csv"
    source.write_bytes(real("polar_h10_slow_breathing_ibi.csv").read_bytes())
    mtime = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc).timestamp()
    os.utime(source, (mtime, mtime))
    library = tmp_path / "library"
    rr = np.loadtxt(source, delimiter=",")[:, 1]  # column 1 is BLE arrival time, never used
    assert rr.size == 620
    path = import_file(source, library, client="Fox 7", tags=["first", "polar", "first"])
    manifest = check_import(path, library, rr)
    assert manifest["client"] == "Fox 7" and "Fox-7" in path.name
    assert manifest["tags"] == ["first", "polar"]
    assert manifest["started_wall"] == mtime  # the file gives no start time
    source_info = manifest["source"]
    assert source_info["file"] == "polar.csv" and source_info["format"] == "plain" and source_info["unit"] == "ms"
    assert "modification time" in source_info["start_wall_from"]
    assert source_info["beat_timing"] == "cumulative sum of the stored RR"
    assert any("last column" in note for note in source_info["notes"])
    assert source_info["events_file"] is None and source_info["markers"] == 0
    assert 0.4 < source_info["max_quantisation_ms"] <= HALF_TICK_MS  # whole ms: up to half a tick moved


def test_irurzun_whole_ms_record(tmp_path: Path) -> None:
    source = head(real("irurzun_000_ms.txt"), 2000, tmp_path / "irurzun_head.txt")
    rr = np.loadtxt(source)
    assert rr.size == 2000
    library = tmp_path / "lib"
    manifest = check_import(import_file(source, library), library, rr)
    assert manifest["client"] is None and manifest["tags"] == []
    # The rounding errors add up along the record, and the manifest says by how much.
    assert 0 < manifest["source"]["max_beat_time_shift_ms"] < 60


def test_nsr001_seconds_with_offset_line_is_exact(tmp_path: Path) -> None:
    source = head(real("nsr001_rr_secs.txt"), 2000, tmp_path / "nsr001_head.txt")
    values = np.loadtxt(source)
    rr = values[1:] * 1000.0  # the first line is the offset of the first beat, not an RR
    library = tmp_path / "lib"
    manifest = check_import(import_file(source, library), library, rr)
    info = manifest["source"]
    assert info["beats"] == 1999 and info["unit"] == "s"
    assert any("start offset" in note for note in info["notes"])
    # 1/128 s values lie on the 1/1024 s grid: nothing moves at all.
    assert info["max_quantisation_ms"] == 0 and info["max_beat_time_shift_ms"] == 0
    strap = decode_beats(read_session(next(library.iterdir())).timeline)["strap1"]
    assert np.array_equal(strap.rr_ms, rr)
    assert np.array_equal(strap.t_s * 1000, np.cumsum(rr))


def test_kubios_round_trip_keeps_every_tick(tmp_path: Path) -> None:
    ticks = ticks_of(np.loadtxt(real("polar_h10_slow_breathing_ibi.csv"), delimiter=",")[:, 1])
    kubios = write_kubios_rr(tmp_path / "polar_kubios.txt", ticks * 1000.0 / 1024, {"source": "Polar H10"})
    library = tmp_path / "lib"
    path = import_file(kubios, library)
    session = read_session(path)
    strap = decode_beats(session.timeline)["strap1"]
    assert [b.rr_1024 for b in strap.beats] == ticks.tolist()
    assert session.manifest["source"]["format"] == "kubios"
    assert session.manifest["source"]["max_quantisation_ms"] == 0


def test_kubios_time_column_stamps_beats_at_their_own_times(tmp_path: Path) -> None:
    rr = np.loadtxt(real("irurzun_000_ms.txt"))[:300]
    times = 3600.0 + np.cumsum(rr) / 1000  # an excerpt that starts an hour into a recording
    lines = ["Time (s)\tRR (ms)"] + [f"{t:.3f}\t{r:.0f}" for t, r in zip(times, rr, strict=True)]
    source = tmp_path / "excerpt.txt"
    source.write_text("\n".join(lines) + "\n")
    library = tmp_path / "lib"
    session = read_session(import_file(source, library))
    assert session.manifest["source"]["beat_timing"] == "the file's beat times"
    ticks = ticks_of(rr)
    host_s = np.array([n.host_ns for n in session.notifications]) / 1e9
    np.testing.assert_allclose(host_s, times - times[0] + ticks[0] / 1024, rtol=0, atol=1e-6)
    strap = decode_beats(session.timeline)["strap1"]
    assert [b.rr_1024 for b in strap.beats] == ticks.tolist()
    assert set(strap.segments.tolist()) == {0}


# ---------------------------------------------------------------------------------------------
# HRV Logger: RR CSV and events CSV


def hrv_logger_files(tmp_path: Path, beats: int = 300) -> tuple[Path, Path, np.ndarray, float]:
    """An HRV Logger RR CSV of real Polar H10 RR, and the session start it implies."""
    rr = np.loadtxt(real("polar_h10_slow_breathing_ibi.csv"), delimiter=",")[:beats, 1].astype(int)
    first_beat = dt.datetime(2025, 4, 25, 6, 37, 37, tzinfo=dt.timezone.utc).timestamp()
    beat_walls = first_beat + (np.cumsum(rr) - rr[0]) / 1000
    rows = ["date,rr,since start"]
    for wall, value, since in zip(beat_walls, rr, np.cumsum(rr), strict=True):
        stamp = dt.datetime.fromtimestamp(int(wall), dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S +0000")
        rows.append(f"{stamp},{value},{since}")
    rr_path = tmp_path / "2025-04-25 RR.csv"
    rr_path.write_text("\n".join(rows) + "\n")
    session_start = first_beat - (ticks_of(rr[:1])[0] / 1024)
    return rr_path, tmp_path / "2025-04-25 Events.csv", rr.astype(float), session_start


def utc(wall: float) -> str:
    return dt.datetime.fromtimestamp(int(wall), dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S +0000")


def test_hrv_logger_rr_and_events_give_markers_at_their_times(tmp_path: Path) -> None:
    rr_path, events_path, rr, start = hrv_logger_files(tmp_path)
    end_s = np.sum(ticks_of(rr)) / 1024
    events_path.write_text(
        "date, timestamp, annotation, manual\n"
        f"{utc(start + 60.651170)}, 60.651170, Start Ruhe, 1\n"
        f"{utc(start + 150.25)}, 150.250000, \"breathing, slow\", 1\n"
        f"{utc(start + 200.0)}, 200000.0, offset in ms, 0\n"  # disagrees with its date: the date wins
        f"{utc(start - 30.0)}, -30.000000, before the start, 1\n"
        f"{utc(start + end_s + 100)}, {end_s + 100:.6f}, after the end, 1\n"
    )
    library = tmp_path / "lib"
    path = import_file(rr_path, library, events_path=events_path, tags=["hrv logger"])
    session = read_session(path)
    manifest = session.manifest
    assert manifest["source"]["format"] == "hrv-logger"
    assert manifest["started_wall"] == pytest.approx(start, abs=1e-6)
    # The first beat's wall time is the file's time of the first beat.
    assert session.notifications[0].wall_time == pytest.approx(start + ticks_of(rr[:1])[0] / 1024, abs=1e-6)
    markers = [e for e in session.events if isinstance(e, TimelineEvent) and e.kind == "marker"]
    by_label = {m.data["label"]: m for m in markers}
    assert list(by_label) == ["before the start", "Start Ruhe", "breathing, slow", "offset in ms", "after the end"]
    assert by_label["Start Ruhe"].host_ns == 60_651_170_000  # the offset column, finer than the date
    assert by_label["breathing, slow"].host_ns == 150_250_000_000
    assert abs(by_label["offset in ms"].host_ns / 1e9 - 200.0) <= 1.0  # the date (whole seconds)
    assert by_label["before the start"].host_ns == 0
    assert by_label["before the start"].data["file_time_s"] == -30.0
    assert by_label["after the end"].host_ns == session.notifications[-1].host_ns
    assert "outside" in by_label["after the end"].data and "outside" not in by_label["Start Ruhe"].data
    for marker in markers:
        assert marker.wall_time == pytest.approx(start + marker.host_ns / 1e9, abs=1e-5)
    # Markers sit on the timeline in time order, among the beats.
    stamps = [getattr(item, "host_ns") for item in session.timeline]
    assert stamps == sorted(stamps)
    notes = manifest["source"]["notes"]
    assert any("before the session start" in n for n in notes) and any("after the last beat" in n for n in notes)
    assert any("disagrees" in n for n in notes)
    assert manifest["source"]["events_file"] == events_path.name and manifest["source"]["markers"] == 5
    # The beats are untouched by the markers.
    strap = decode_beats(session.timeline)["strap1"]
    assert [b.rr_1024 for b in strap.beats] == ticks_of(rr).tolist()


def test_read_events_csv_other_layouts(tmp_path: Path) -> None:
    start = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc).timestamp()
    semicolons = tmp_path / "events.csv"
    semicolons.write_text("# exported\nTime;Event\n2025-01-02T03:05:05.500+00:00;eyes closed\n"
                          "2025-01-02T03:06:05+00:00;eyes open\n;\n")
    assert read_events_csv(semicolons, start) == [(60.5, "eyes closed"), (120.0, "eyes open")]
    unix_ms = tmp_path / "tags.csv"
    unix_ms.write_text(f"timestamp,tag\n{int((start + 12.25) * 1000)},hum\n")
    assert read_events_csv(unix_ms, start) == [(pytest.approx(12.25), "hum")]
    offsets = tmp_path / "labels.tsv"
    offsets.write_text("label\ttimestamp\nstart\t0\nshake\t42.5\n")
    assert read_events_csv(offsets, start) == [(0.0, "start"), (42.5, "shake")]


# ---------------------------------------------------------------------------------------------
# Bad input leaves the library as it was


@pytest.fixture()
def library_with_session(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    library = tmp_path / "library"
    existing = head(real("irurzun_000_ms.txt"), 200, tmp_path / "existing.txt")
    import_file(existing, library, client="Owl")
    return library, snapshot(library)


def bad_inputs(tmp_path: Path) -> dict[str, Path]:
    files: dict[str, bytes] = {
        "empty.txt": b"",
        "binary.dat": bytes(range(256)) * 8,
        "rr.npy": b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
        "letters.txt": b"812\n790\nabc\n801\n",
        "header_only.txt": b"Phone timestamp;RR-interval [ms]\n",
        "hr_only.txt": b"Phone timestamp;HR [bpm];HRV [ms];Breathing interval [rpm];\n2026-06-01T21:17:07.832;60;40;12;\n",
        "zero_rr.txt": b"812\n0\n790\n",
        "too_long.txt": b"812\n64000\n790\n",  # 64 s: more than a uint16 of 1/1024 s ticks holds
        "not_sqlite.session.sqlite": b"SQLite format 3\x00" + bytes(100),
    }
    out = {}
    for name, data in files.items():
        path = tmp_path / "incoming" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        out[name] = path
    zipped = tmp_path / "incoming" / "workbook.xlsx"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("sheet.csv", "812\n790\n")
    out["workbook.xlsx"] = zipped
    out["missing.txt"] = tmp_path / "incoming" / "missing.txt"
    out["a_folder"] = tmp_path / "incoming"
    truncated = tmp_path / "incoming" / "truncated_session.sqlite"
    truncated.write_bytes(next((tmp_path / "library").glob(f"*{SUFFIX}")).read_bytes()[:3000])
    out["truncated_session.sqlite"] = truncated
    return out


def test_bad_import_files_raise_and_leave_the_library_alone(tmp_path: Path, library_with_session) -> None:
    library, before = library_with_session
    for name, path in bad_inputs(tmp_path).items():
        with pytest.raises(ImportFileError) as caught:
            import_file(path, library, client="Owl")
        message = str(caught.value)
        assert message.startswith(str(path)), (name, message)
        assert len(message) > len(str(path)) + 5, (name, message)
        assert snapshot(library) == before, name
    # A library folder that did not exist is not created by a failed import.
    fresh = tmp_path / "new" / "library"
    with pytest.raises(ImportFileError):
        import_file(bad_inputs(tmp_path)["empty.txt"], fresh)
    assert not (tmp_path / "new").exists()


def test_too_long_rr_names_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("812\n70000\n790\n")
    with pytest.raises(ImportFileError, match=r"RR #2 is 70000 ms: longer than 63\.999 s"):
        import_file(path, tmp_path / "lib")
    assert not (tmp_path / "lib").exists()


def test_bad_events_files_raise_and_leave_the_library_alone(tmp_path: Path, library_with_session) -> None:
    library, before = library_with_session
    rr_path, _, _, _ = hrv_logger_files(tmp_path)
    cases = {
        "missing.csv": None,
        "no_label.csv": "date, timestamp\n2025-04-25 06:38:00 +0000, 20.0\n",
        "no_time.csv": "annotation, manual\nStart, 1\n",
        "bad_time.csv": "date, annotation\nyesterday, Start\n",
        "binary.csv": "date, annotation\n\x00\x01\x02\n",
        "empty.csv": "",
    }
    for name, text in cases.items():
        events = tmp_path / name
        if text is not None:
            events.write_text(text)
        with pytest.raises(ImportFileError) as caught:
            import_file(rr_path, library, events_path=events)
        assert str(caught.value).startswith(str(events)), (name, str(caught.value))
        assert snapshot(library) == before, name


def test_a_failure_while_writing_leaves_nothing(tmp_path: Path, library_with_session, monkeypatch) -> None:
    library, before = library_with_session
    source = head(real("irurzun_000_ms.txt"), 500, tmp_path / "ok.txt")
    real_write = importer.write_session

    def write_then_fail(path, *args, **kwargs):
        real_write(path, *args, **kwargs)
        assert path.exists() and path.parent == library  # the temporary file was really there
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(importer, "write_session", write_then_fail)
    with pytest.raises(RuntimeError, match="disk on fire"):
        import_file(source, library)
    assert snapshot(library) == before

    def write_oserror(path, *args, **kwargs):
        path.write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(importer, "write_session", write_oserror)
    with pytest.raises(ImportFileError, match="No space left on device") as caught:
        import_file(source, library)
    assert str(caught.value).startswith(str(source))
    assert snapshot(library) == before


def test_a_library_that_is_a_file_is_refused(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "library"
    not_a_folder.write_text("keep me")
    source = head(real("irurzun_000_ms.txt"), 50, tmp_path / "ok.txt")
    with pytest.raises(ImportFileError, match="not a folder"):
        import_file(source, not_a_folder)
    assert not_a_folder.read_text() == "keep me"


def test_imports_never_touch_other_sessions(tmp_path: Path, library_with_session) -> None:
    library, before = library_with_session
    source = head(real("irurzun_000_ms.txt"), 100, tmp_path / "next.txt")
    made = import_file(source, library, client="Owl")
    after = snapshot(library)
    assert {k: v for k, v in after.items() if k != made.name} == before
    assert set(after) == set(before) | {made.name}


# ---------------------------------------------------------------------------------------------
# rr_timeline


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0.5, max_value=63_999.0, allow_nan=False), min_size=1, max_size=40))
def test_rr_timeline_any_storable_rr_decodes_within_half_a_tick(rr: list[float]) -> None:
    rr_ms = np.array(rr)
    timeline = rr_timeline(rr_ms, 1_700_000_000.0)
    strap = decode_beats(timeline)["strap1"]
    assert len(strap.beats) == len(rr)
    assert np.all(np.abs(strap.rr_ms - rr_ms) <= HALF_TICK_MS + 1e-9)
    np.testing.assert_allclose(strap.t_s, np.cumsum(ticks_of(rr_ms)) / 1024, rtol=0, atol=1e-6)
    assert set(strap.segments.tolist()) == {0}


def test_rr_timeline_markers_and_order() -> None:
    timeline = rr_timeline(np.array([1000.0, 1000.0, 1000.0]), 100.0, markers=[(2.0, "two"), (0.5, "half")])
    kinds = [type(item).__name__ if not isinstance(item, TimelineEvent) else item.data["label"] for item in timeline]
    assert kinds == ["LinkEvent", "StrapInfo", "LinkEvent", "half", "Notification", "Notification", "two",
                     "Notification", "LinkEvent"]
    assert all(isinstance(item, (LinkEvent, StrapInfo, Notification, TimelineEvent)) for item in timeline)
    with pytest.raises(ImportFileError, match="finite and positive"):
        rr_timeline(np.array([800.0, -1.0]), 0.0)
    with pytest.raises(ImportFileError, match="63.999 s"):
        rr_timeline(np.array([64_000.0]), 0.0)


# ---------------------------------------------------------------------------------------------
# The shipped sample session


def test_shipped_sample_session_is_the_real_polar_record() -> None:
    assert SAMPLE.is_file(), f"{SAMPLE} missing: run recordings/build_sample.py"
    rr = np.loadtxt(real("polar_h10_slow_breathing_ibi.csv"), delimiter=",")[:, 1]
    session = read_session(SAMPLE)
    assert session.problems == [] and not session.ended_unexpectedly
    strap = decode_beats(session.timeline)["strap1"]
    assert len(strap.beats) == 620
    assert np.max(np.abs(strap.rr_ms - rr)) <= HALF_TICK_MS
    assert [b.rr_1024 for b in strap.beats] == ticks_of(rr).tolist()
    assert set(strap.segments.tolist()) == {0}
    manifest = session.manifest
    assert manifest["client"] is None and manifest["tags"] == ["sample"] and manifest["mode"] == "imported"
    assert manifest["started_wall"] == dt.datetime(2023, 1, 1, tzinfo=dt.timezone.utc).timestamp()
    assert manifest["source"]["origin"]["repository"] == "https://github.com/kbre93/dont-hold-your-breath"
    assert manifest["source"]["origin"]["licence"] == "MIT"
    assert not any(isinstance(e, TimelineEvent) and e.kind == "marker" for e in session.events)  # none invented
    assert list(RECORDINGS.glob(f"{SAMPLE.name}-*")) == []  # no -wal/-shm left beside it


def test_shipped_sample_readme_carries_licence_and_attribution() -> None:
    readme = (RECORDINGS / "README.md").read_text(encoding="utf-8")
    for needed in ("kbre93/dont-hold-your-breath", "0bf570f", "data/sample_data_ibi.csv", "MIT License",
                   "Copyright (c) Kieran Brennan", "Permission is hereby granted, free of charge",
                   "THE SOFTWARE IS PROVIDED \"AS IS\"", "2023-01-01T00:00:00Z",
                   "somafeedback replay recordings/polar-h10-slow-breathing.session.sqlite --speed max --metrics",
                   "somafeedback analyze recordings/polar-h10-slow-breathing.session.sqlite"):
        assert needed in readme, needed
    assert (RECORDINGS / "build_sample.py").is_file()


def test_build_sample_rebuilds_the_same_content(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_sample", RECORDINGS / "build_sample.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.build(DATA, tmp_path / "rebuilt.session.sqlite")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rebuilt.session.sqlite"]
    rebuilt, shipped = read_session(out), read_session(SAMPLE)
    assert rebuilt.timeline == shipped.timeline
    ignore = {"session_id", "app_version", "format_version", "last_commit_host_ns"}  # the sample is format 1 (#22: 2)
    assert {k: v for k, v in rebuilt.manifest.items() if k not in ignore} == \
        {k: v for k, v in shipped.manifest.items() if k not in ignore}
