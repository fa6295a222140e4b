"""The EDF+ export writes data record by data record: the same samples, bounded memory.

A Polar H10 session is recorded through the real BLE path. The exported file is read back with
pyedflib's reader and compared with what the test computes on its own: the ECG frames' samples
decoded here from the stored notification bytes (Polar PMD layout: type 0, an 8-byte stamp,
frame type 0, then 3-byte little-endian signed µV samples), placed at their recorded times as
the whole-array export placed them; the annotations against the recorded events. The memory tests
export a short and a three-times longer session and compare tracemalloc's peaks: of writing the
EDF with the session already in memory, and of the whole export streamed from the file
(:class:`~somafeedback.sessions.reader.SessionReader`, a batch of rows at a time).
"""

from __future__ import annotations

import math
import tracemalloc
from pathlib import Path

import numpy as np
import pyedflib
import pytest
from recording_helpers import record_simulated

from somafeedback.devices.events import Notification
from somafeedback.devices.gatt_uuids import POLAR_PMD_DATA
from somafeedback.interop.export import export_session
from somafeedback.interop.export._context import make_context
from somafeedback.interop.export._writing import Outputs, Progress
from somafeedback.interop.export.edf import export_edf
from somafeedback.sessions.file import read_session
from somafeedback.sessions.beat_series import session_beats
from somafeedback.sessions.raw_signals import decode_signals
from somafeedback.sessions.reader import SessionReader

ECG_TYPE = 0  # PMD measurement type of ECG
MARKERS = [(40.0, "marker", {"label": "resource"}), (100.0, "note", {"text": "calmer now"})]
SHORT_S, LONG_S = 300.0, 900.0  # s recorded for the memory comparison
PEAK_GROWTH_LIMIT_B = 1_500_000  # bytes the export's peak may grow by from SHORT_S to LONG_S (whole arrays: ~6.4 MB)
STREAM_BATCH = 200  # rows the streamed reader fetches at a time (a short session holds many batches)
STREAM_GROWTH_LIMIT_B = 400_000  # bytes a streamed export's peak may grow by from SHORT_S to LONG_S (~0.14 MB:
# the 4 Hz tachograms and the beat columns; reading the file whole adds ~1.3 MB)


@pytest.fixture(scope="module")
def h10(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record_simulated(tmp_path_factory.mktemp("edf") / "h10.session.sqlite", "calm", 200.0, h10=True,
                            markers=MARKERS)


def _ecg_values(payload: bytes) -> list[int] | None:
    """The µV samples of one PMD ECG frame, decoded here (None: not an ECG frame of frame type 0)."""
    if len(payload) < 10 or payload[0] != ECG_TYPE or payload[9] != 0:
        return None
    body = payload[10:]
    return [int.from_bytes(body[k:k + 3], "little", signed=True) for k in range(0, len(body) - len(body) % 3, 3)]


def _read(path: Path) -> dict:
    with pyedflib.EdfReader(str(path)) as reader:
        labels = reader.getSignalLabels()
        return {"labels": labels, "fs": [reader.getSampleFrequency(k) for k in range(len(labels))],
                "digital": [reader.readSignal(k, digital=True) for k in range(len(labels))],
                "annotations": list(zip(*reader.readAnnotations())), "start": reader.getStartdatetime(),
                "records": reader.datarecords_in_file}


def test_the_streamed_edf_holds_every_ecg_sample_at_its_time_and_every_annotation(h10: Path, tmp_path: Path) -> None:
    session = read_session(h10)
    (path,) = export_session(session, "edf", tmp_path / "h10.edf")
    edf = _read(path)
    assert edf["labels"] == ["RR strap1", "HR strap1", "ECG strap1"]
    fs = int(edf["fs"][2])
    assert fs == 130
    ecg = edf["digital"][2]
    assert len(ecg) == edf["records"] * fs

    # the samples: decoded here from the stored bytes, in order
    frames = [_ecg_values(n.payload) for n in session.timeline
              if isinstance(n, Notification) and n.characteristic == POLAR_PMD_DATA]
    values = np.array([v for frame in frames if frame is not None for v in frame], dtype=float)
    t_s, uv = decode_signals(session.timeline)["strap1"].ecg_samples()  # their recorded times
    assert len(values) > 20_000 and np.array_equal(uv, values)  # the decoder agrees with the bytes

    # placed as the whole-array export placed them: at round((t - start + offset) * fs), a later one winning
    start_wall = session.manifest["started_wall"]
    offset_s = start_wall - math.floor(start_wall)
    index = np.round((t_s - session.manifest["started_host_ns"] / 1e9 + offset_s) * fs).astype(np.int64)
    expected = np.zeros(len(ecg))
    inside = (index >= 0) & (index < len(expected))
    expected[index[inside]] = values[inside]
    assert inside.sum() > 0.99 * len(values)
    assert np.array_equal(ecg, np.round(np.clip(expected, -32768, 32767)))

    # annotations: the recorded marker and note at their times since the EDF start
    texts = {text: onset for onset, _, text in edf["annotations"]}
    origin_ns = session.manifest["started_host_ns"]
    for event in (e for e in session.events if getattr(e, "kind", None) in ("marker", "note")):
        text = f"{event.kind}: {event.data.get('label') or event.data.get('text')}"
        assert texts[text] == pytest.approx((event.host_ns - origin_ns) / 1e9 + offset_s, abs=0.01)


def _export_peak(path: Path, out: Path) -> int:
    """tracemalloc's peak (bytes) while the EDF is written, the session and its beats already in memory."""
    ctx = make_context(read_session(path), False)
    assert ctx.beats  # computed before measuring (the beats are the same for any way of writing)
    outputs = Outputs(path)
    tracemalloc.start()
    try:
        export_edf(ctx, out, outputs, Progress(None))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        outputs.discard()
    return peak


@pytest.fixture(scope="module")
def short_and_long(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("lengths")
    return (record_simulated(folder / "short.session.sqlite", "calm", SHORT_S, h10=True),
            record_simulated(folder / "long.session.sqlite", "calm", LONG_S, h10=True))


def test_the_export_memory_does_not_grow_with_the_recording(short_and_long: tuple[Path, Path], tmp_path: Path) -> None:
    short, long = short_and_long
    small, large = _export_peak(short, tmp_path / "short.edf"), _export_peak(long, tmp_path / "long.edf")
    assert large - small < PEAK_GROWTH_LIMIT_B, (small, large)


def test_a_streamed_export_is_the_same_file_in_batches_of_a_few_rows(h10: Path, tmp_path: Path) -> None:
    (whole,) = export_session(read_session(h10), "edf", tmp_path / "whole.edf")
    with SessionReader(h10, batch_rows=STREAM_BATCH) as reader:
        (streamed,) = export_session(reader, "edf", tmp_path / "streamed.edf")
        assert reader._whole is None  # streamed, not read whole behind the scenes
    assert streamed.read_bytes() == whole.read_bytes()


def _streamed_peak(path: Path, out: Path) -> int:
    """tracemalloc's peak (bytes) of the whole export from the file: reading, beats, ECG, writing."""
    tracemalloc.start()
    try:
        with SessionReader(path, batch_rows=STREAM_BATCH) as reader:
            export_session(reader, "edf", out)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_reading_and_exporting_a_three_times_longer_file_needs_no_more_memory(short_and_long: tuple[Path, Path],
                                                                             tmp_path: Path) -> None:
    short, long = short_and_long
    _streamed_peak(short, tmp_path / "warm-up.edf")  # modules imported on first use are not the export's memory
    small, large = _streamed_peak(short, tmp_path / "short.edf"), _streamed_peak(long, tmp_path / "long.edf")
    assert large - small < STREAM_GROWTH_LIMIT_B, (small, large)  # whole timeline in memory: ~1.3 MB more


def test_beats_kept_as_columns_are_the_beats(h10: Path) -> None:
    timeline = read_session(h10).timeline
    objects, columns = session_beats(timeline), session_beats(timeline, columns=True)
    assert list(objects) == list(columns)
    for strap, record in objects.items():
        kept = columns[strap]
        assert kept.beats == [] and kept.count == len(record.beats) > 100
        assert np.array_equal(kept.t_s, record.t_s) and np.array_equal(kept.rr_ms, record.rr_ms)
        assert (kept.flagged, kept.segment_ids, kept.ecg_beats, kept.strap_beats) == \
               (record.flagged, record.segment_ids, record.ecg_beats, record.strap_beats)
