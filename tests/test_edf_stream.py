"""The EDF+ export writes data record by data record: the same samples, bounded memory.

A Polar H10 session is recorded through the real BLE path. The exported file is read back with
pyedflib's reader and compared with what the test computes on its own: the ECG frames' samples
decoded here from the stored notification bytes (Polar PMD layout: type 0, an 8-byte stamp,
frame type 0, then 3-byte little-endian signed µV samples), placed at their recorded times as
the whole-array export placed them; the annotations against the recorded events. The memory test
exports a short and a three-times longer session and compares tracemalloc's peaks.
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
from somafeedback.sessions.raw_signals import decode_signals

ECG_TYPE = 0  # PMD measurement type of ECG
MARKERS = [(40.0, "marker", {"label": "resource"}), (100.0, "note", {"text": "calmer now"})]
SHORT_S, LONG_S = 300.0, 900.0  # s recorded for the memory comparison
PEAK_GROWTH_LIMIT_B = 1_500_000  # bytes the export's peak may grow by from SHORT_S to LONG_S (whole arrays: ~6.4 MB)


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


def test_the_export_memory_does_not_grow_with_the_recording(tmp_path: Path) -> None:
    short = record_simulated(tmp_path / "short.session.sqlite", "calm", SHORT_S, h10=True)
    long = record_simulated(tmp_path / "long.session.sqlite", "calm", LONG_S, h10=True)
    small, large = _export_peak(short, tmp_path / "short.edf"), _export_peak(long, tmp_path / "long.edf")
    assert large - small < PEAK_GROWTH_LIMIT_B, (small, large)
