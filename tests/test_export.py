"""Session export (Kubios RR text, CSV, EDF+) of sessions recorded through the real BLE stack.

Sessions are made the way the app makes them: simulated straps -> bumble link -> bleak ->
StrapSupervisor -> SessionWriter, on a max-speed session loop with a fixed wall-clock origin,
plus markers, a note naming the client, a cue and a state change written as the app writes them.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyedflib
import pytest

from recording_helpers import record_straps
from somafeedback.devices.events import GapEvent, Notification, TimelineEvent
from somafeedback.devices.supervisor import StrapSupervisor
from somafeedback.interop.export import DEIDENTIFIED_START_WALL, FORMATS, ExportError, export_session
from somafeedback.hrv.metric_rows import METRIC_COLUMNS
from somafeedback.interop.rr_files import read_rr_file
from somafeedback.sessions.beats import decode_beats
from somafeedback.sessions.file import Session, SessionWriter, read_session

WALL_ORIGIN = 1715955785.375  # 2024-05-17 14:23:05.375 UTC: the (fixed) real start of the test sessions
FRACTION = 0.375  # EDF sample 0 is the whole second before the start
CLIENT = "Wren Halloway"
PRACTITIONER = "Ilse Marchetti"
NAME_WORDS = ("wren", "halloway", "ilse", "marchetti")
REAL_DATES = ("2024-05-17", "20240517", "2024/05/17", "17.05.24", "17.05.2024", "17-may-2024", "17/05/2024",
              "05/17/2024", "17 may 2024", "may 17", "1715955785")
EVENTS = (  # (session s, kind, data)
    (60.0, "marker", {"label": "resource"}),
    (130.0, "note", {"text": f"{CLIENT} felt dizzy, 2024-05-17"}),
    (200.0, "cue", {"text": "slow exhale", "decision": "accepted"}),
    (250.0, "state", {"state": "activated"}),
    (400.0, "marker", {"label": "grounding"}),
)
DURATION_S = 480.0  # the dropout scenario's length


def _record(path: Path, scenarios: Sequence[tuple[str, int | None]], duration_s: float = DURATION_S,
            events: Sequence[tuple[float, str, dict]] = EVENTS) -> Path:
    manifest = {"client": CLIENT, "practitioner": PRACTITIONER, "mode": "session", "tags": ["wren follow-up"],
                "source": f"/home/{PRACTITIONER}/2024-05-17"}  # the writer adds the devices it meets
    return record_straps(path, [(name, seed, False) for name, seed in scenarios], manifest, events, duration_s, WALL_ORIGIN)


@pytest.fixture(scope="module")
def one_strap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Dropout scenario (contact loss, two malformed packets, an 8 s link drop) on one strap."""
    return _record(tmp_path_factory.mktemp("one") / "2024-05-17_142305_Wren-Halloway_0001.session.sqlite",
                   [("dropout", None)])


@pytest.fixture(scope="module")
def two_straps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Dropout on strap1 and the artifacts scenario (ectopic, missed, extra beats) on strap2."""
    return _record(tmp_path_factory.mktemp("two") / "2024-05-17_142305_Wren-Halloway_0002.session.sqlite",
                   [("dropout", None), ("artifacts", None)])


def _stem(session: Session) -> str:
    return session.path.name.removesuffix(".session.sqlite")


def _rel(session: Session, host_ns: int) -> float:
    return (host_ns - session.manifest["started_host_ns"]) / 1e9


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def _edf(path: Path) -> dict:
    with pyedflib.EdfReader(str(path)) as reader:
        n = reader.signals_in_file
        onsets, durations, texts = reader.readAnnotations()
        return {
            "start": reader.getStartdatetime(), "labels": reader.getSignalLabels(),
            "fs": list(reader.getSampleFrequencies()), "units": [reader.getPhysicalDimension(i) for i in range(n)],
            "signals": [reader.readSignal(i) for i in range(n)], "patient": reader.getPatientCode(),
            "equipment": reader.getEquipment(),
            "annotations": list(zip(onsets.tolist(), durations.tolist(), [str(t) for t in texts], strict=True)),
        }


def _annotation(edf: dict, prefix: str) -> list[tuple[float, float, str]]:
    return [a for a in edf["annotations"] if a[2].startswith(prefix)]


# -- kubios -------------------------------------------------------------------------------------
def test_kubios_round_trips_every_recorded_rr_exactly_with_a_descriptive_header(two_straps: Path, tmp_path: Path) -> None:
    session = read_session(two_straps)
    beats = decode_beats(session.timeline)
    paths = export_session(session, "kubios", tmp_path)
    assert [p.name for p in paths] == [f"{_stem(session)}_strap1.txt", f"{_stem(session)}_strap2.txt"]
    for path, strap in zip(paths, ("strap1", "strap2"), strict=True):
        record = beats[strap]
        series = read_rr_file(path)
        assert series.format == "kubios" and series.unit == "s"
        assert np.array_equal(series.rr_ms, record.rr_ms)  # exact: raw, flagged beats and all
        header = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")]
        assert f"# session id: {session.session_id}" in header
        assert f"# client: {CLIENT}" in header
        assert "# session start (UTC): 2024-05-17 14:23:05.375" in header
        assert f"# strap: {strap}" in header
        assert f"# beats: {len(record.beats)}" in header
        assert f"# beats flagged as artifacts by somafeedback (kept in the data): {sum(record.flagged)}" in header
        starts = [i + 1 for i in range(1, len(record.beats)) if record.beats[i].segment != record.beats[i - 1].segment]
        assert f"# new segment at beats: {', '.join(map(str, starts)) or 'none'}" in header
    assert sum(beats["strap2"].flagged) > 0  # the artifact scenario's bad beats are counted ...
    assert len(read_rr_file(paths[1]).rr_ms) == len(beats["strap2"].beats)  # ... and kept
    assert len({b.segment for b in beats["strap1"].beats}) == 3  # contact loss and link drop broke the timing


def test_kubios_names_a_single_strap_file_after_the_session_or_the_given_path(one_strap: Path, tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    copy = Path(shutil.copy(one_strap, library / one_strap.name))
    session = read_session(copy)
    (beside,) = export_session(session, "kubios")  # out=None: next to the session file
    assert beside == library / f"{_stem(session)}.txt"
    (named,) = export_session(session, "kubios", tmp_path / "client-rr")  # no suffix: .txt added
    assert named == tmp_path / "client-rr.txt"
    (explicit,) = export_session(read_session(copy), "kubios", tmp_path / "sub" / "rr.dat")  # folder made
    assert explicit == tmp_path / "sub" / "rr.dat"
    expected = decode_beats(session.timeline)["strap1"].rr_ms
    for path in (beside, named, explicit):
        assert np.array_equal(read_rr_file(path).rr_ms, expected)
        assert path.stat().st_mode & 0o777 == 0o600


# -- csv ----------------------------------------------------------------------------------------
def test_csv_writes_every_stream_and_each_table_matches_the_session(one_strap: Path, tmp_path: Path) -> None:
    session = read_session(one_strap)
    stem = _stem(session)
    out = tmp_path / "tables"  # created
    paths = export_session(session, "csv", out)
    names = {f"{stem}_notifications.csv", f"{stem}_strap1_beats.csv", f"{stem}_events.csv",
             f"{stem}_strap1_metrics.csv", f"{stem}_manifest.json"}
    assert {p.name for p in paths} == names and {p.name for p in out.iterdir()} == names

    # notifications: every one, in order, bytes intact, times on both clocks
    rows = _csv(out / f"{stem}_notifications.csv")
    notifications = session.notifications
    assert len(rows) == len(notifications) > 400
    assert [bytes.fromhex(r["payload_hex"]) for r in rows] == [n.payload for n in notifications]
    assert [(r["strap"], int(r["seq"]), r["characteristic"]) for r in rows] == [
        (n.strap_id, n.seq, n.characteristic) for n in notifications]
    indexes = [int(r["timeline_index"]) for r in rows]
    assert indexes == sorted(indexes) and len(set(indexes)) == len(indexes)
    for row, n in zip(rows, notifications, strict=True):
        assert float(row["time_s"]) == pytest.approx(_rel(session, n.host_ns), abs=1e-6)
        wall = dt.datetime.fromisoformat(row["wall_time_utc"].replace("Z", "+00:00")).timestamp()
        assert wall == pytest.approx(n.wall_time, abs=0.0011)
    assert rows[0]["wall_time_utc"].startswith("2024-05-17T14:23:0") and rows[0]["wall_time_utc"].endswith("Z")

    # beats: exactly decode_beats
    record = decode_beats(session.timeline)["strap1"]
    beat_rows = _csv(out / f"{stem}_strap1_beats.csv")
    assert len(beat_rows) == len(record.beats) > 400
    for row, beat, flagged in zip(beat_rows, record.beats, record.flagged, strict=True):
        assert float(row["time_s"]) == pytest.approx(beat.t_s - session.manifest["started_host_ns"] / 1e9, abs=1e-6)
        assert float(row["rr_ms"]) == beat.rr_ms and int(row["rr_1024"]) == beat.rr_1024
        assert row["flagged"] == ("true" if flagged else "false")
        assert (int(row["segment"]), row["contact"], int(row["strap_bpm"]), int(row["seq"])) == (
            beat.segment, {True: "true", False: "false", None: ""}[beat.contact], beat.strap_bpm, beat.seq)

    # events: recorded ones with their data, plus contact changes and malformed packets
    events = _csv(out / f"{stem}_events.csv")
    by_kind: dict[str, list[dict]] = {}
    for row in events:
        by_kind.setdefault(row["kind"], []).append(row)
    assert [json.loads(r["details"])["label"] for r in by_kind["marker"]] == ["resource", "grounding"]
    assert float(by_kind["marker"][0]["time_s"]) == pytest.approx(60.0, abs=1e-6)
    assert json.loads(by_kind["note"][0]["details"]) == {"text": f"{CLIENT} felt dizzy, 2024-05-17"}
    assert json.loads(by_kind["cue"][0]["details"])["decision"] == "accepted"
    assert json.loads(by_kind["state"][0]["details"]) == {"state": "activated"}
    (gap_row,) = by_kind["gap"]
    (gap,) = [e for e in session.events if isinstance(e, GapEvent)]
    assert json.loads(gap_row["details"])["duration_s"] == pytest.approx(gap.duration_s, abs=1e-6) and gap.duration_s > 7
    assert float(gap_row["time_s"]) == pytest.approx(_rel(session, gap.start_ns), abs=1e-6)
    assert [json.loads(r["details"])["contact"] for r in by_kind["contact"]] == [True, False, True]
    assert float(by_kind["contact"][1]["time_s"]) == pytest.approx(120, abs=2)
    assert len(by_kind["malformed"]) == 2 and all(json.loads(r["details"])["payload_hex"] for r in by_kind["malformed"])
    assert {"lost", "streaming", "stopped"} <= {json.loads(r["details"])["state"] for r in by_kind["link"]}
    event_indexes = [int(r["timeline_index"]) for r in events]
    assert event_indexes == sorted(event_indexes)

    # metrics: one row per beat, every column, validity as the live pipeline reports it
    metrics_path = out / f"{stem}_strap1_metrics.csv"
    with open(metrics_path, encoding="utf-8", newline="") as stream:
        assert tuple(next(csv.reader(stream))) == METRIC_COLUMNS
    metrics = _csv(metrics_path)
    assert len(metrics) == len(record.beats)
    assert [float(m["rr_ms"]) for m in metrics] == record.rr_ms.tolist()
    assert metrics[0]["time_reason"] == "filling the window" and metrics[0]["time_valid"] == "false"
    valid = [m for m in metrics if m["time_valid"] == "true"]
    assert len(valid) > len(metrics) // 2 and all(40 < float(m["hr_bpm"]) < 120 and float(m["rmssd_ms"]) > 0 for m in valid)
    assert any(m["frequency_valid"] == "true" and float(m["lf_ms2"]) > 0 for m in metrics)
    gap_end = _rel(session, gap.end_ns)
    after_gap = next(m for m in metrics if float(m["t_s"]) > gap_end)
    assert after_gap["time_valid"] == "false" and after_gap["time_reason"] == "refilling after a gap"

    # manifest: as recorded
    assert json.loads((out / f"{stem}_manifest.json").read_text(encoding="utf-8")) == session.manifest


# -- edf ----------------------------------------------------------------------------------------
def test_edf_has_the_tachogram_and_every_annotation_at_its_time(one_strap: Path, tmp_path: Path) -> None:
    session = read_session(one_strap)
    (path,) = export_session(session, "edf", tmp_path / "session.edf")
    assert path == tmp_path / "session.edf"
    edf = _edf(path)
    assert edf["start"] == dt.datetime(2024, 5, 17, 14, 23, 5)
    assert edf["labels"] == ["RR strap1", "HR strap1"] and edf["units"] == ["ms", "bpm"] and edf["fs"] == [4.0, 4.0]
    assert edf["patient"] == CLIENT and edf["equipment"].startswith("somafeedback ")
    rr, hr = edf["signals"]
    assert abs(len(rr) - (DURATION_S + FRACTION) * 4) <= 4

    # the signal follows the beats: between two beats of a segment it stays between their RR values
    record = decode_beats(session.timeline)["strap1"]
    times = record.t_s - session.manifest["started_host_ns"] / 1e9 + FRACTION
    grid = np.arange(len(rr)) / 4.0
    checked = 0
    for i in range(len(record.beats) - 1):
        if record.beats[i].segment != record.beats[i + 1].segment:
            continue
        inside = (grid >= times[i]) & (grid <= times[i + 1])
        low, high = sorted((record.beats[i].rr_ms, record.beats[i + 1].rr_ms))
        assert np.all(rr[inside] >= low - 0.051) and np.all(rr[inside] <= high + 0.051)  # 0.1 ms resolution
        checked += int(inside.sum())
    assert checked > 0.9 * np.count_nonzero(rr)
    # no data (before the first beat, contact loss, link gap) is 0, never NaN; HR is 60000 / RR
    assert np.all(np.isfinite(rr)) and np.all(np.isfinite(hr))
    assert np.all(rr[grid < times[0] - 0.01] == 0)
    (gap,) = [e for e in session.events if isinstance(e, GapEvent)]
    gap_start, gap_end = _rel(session, gap.start_ns) + FRACTION, _rel(session, gap.end_ns) + FRACTION
    loss = next(c for c in record.contact_changes if c.contact is False)
    regain = next(c for c in record.contact_changes if c.contact is True and c.host_ns > loss.host_ns)
    breaks = [i for i in range(1, len(record.beats)) if record.beats[i].segment != record.beats[i - 1].segment]
    holes = [(times[i - 1], times[i]) for i in breaks]  # from a segment's last beat to the next one's first
    assert len(holes) == 2
    for (hole_start, hole_end), (start, end) in zip(holes, [
            (_rel(session, loss.host_ns) + FRACTION, _rel(session, regain.host_ns) + FRACTION), (gap_start, gap_end)]):
        assert hole_start < start + 1.6 and hole_end > end - 1.6  # the hole is the contact loss / the link gap
        inside = (grid > hole_start) & (grid < hole_end)
        assert inside.sum() > 4 * (end - start - 3.2) and np.all(rr[inside] == 0) and np.all(hr[inside] == 0)
    data = rr > 0
    assert np.allclose(hr[data], 60000.0 / rr[data], atol=0.02)
    assert np.all(hr[~data] == 0)

    # annotations at the right onsets (relative to the EDF start)
    for at, kind, data_ in EVENTS:
        text = {"marker": f"marker: {data_.get('label')}", "note": f"note: {CLIENT} felt dizzy",
                "cue": "cue: slow exhale", "state": "state: activated"}[kind]
        (match,) = [a for a in _annotation(edf, text) if abs(a[0] - (at + FRACTION)) < 0.25]
        assert len(match[2].encode()) <= 40
    (gap_annotation,) = _annotation(edf, "gap (no data)")
    assert gap_annotation[2] == "gap (no data)"  # one strap: no strap name appended
    assert gap_annotation[0] == pytest.approx(gap_start, abs=0.25)
    assert gap_annotation[1] == pytest.approx(gap.duration_s, abs=0.01)
    (lost,) = _annotation(edf, "contact lost")
    assert lost[0] == pytest.approx(_rel(session, loss.host_ns) + FRACTION, abs=0.25)
    assert lost[1] == pytest.approx((regain.host_ns - loss.host_ns) / 1e9, abs=0.01) and lost[0] == pytest.approx(120 + FRACTION, abs=2)
    (regained,) = _annotation(edf, "contact regained")
    assert regained[0] == pytest.approx(_rel(session, regain.host_ns) + FRACTION, abs=0.25)
    malformed = _annotation(edf, "malformed packet")
    assert len(malformed) == 2 and all(a[0] == pytest.approx(210 + FRACTION, abs=2) for a in malformed)
    assert [a[0] for a in _annotation(edf, "link lost")] == pytest.approx([gap_start], abs=0.25)


def test_edf_of_two_straps_has_both_tachograms_and_names_the_strap_in_annotations(two_straps: Path, tmp_path: Path) -> None:
    session = read_session(two_straps)
    (path,) = export_session(session, "edf", tmp_path)
    assert path == tmp_path / f"{_stem(session)}.edf"
    edf = _edf(path)
    assert edf["labels"] == ["RR strap1", "HR strap1", "RR strap2", "HR strap2"]
    beats = decode_beats(session.timeline)
    for k, strap in enumerate(("strap1", "strap2")):
        rr = edf["signals"][2 * k]
        assert np.median(rr[rr > 0]) == pytest.approx(np.median(beats[strap].rr_ms), rel=0.03)
    assert [a[2] for a in _annotation(edf, "gap (no data)")] == ["gap (no data) strap1"]
    assert len(_annotation(edf, "link streaming strap2")) == 1


# -- de-identification ---------------------------------------------------------------------------
def _all_outputs(session: Session, root: Path, deidentify: bool) -> list[Path]:
    paths = []
    for fmt in FORMATS:
        (root / fmt).mkdir(parents=True)  # an existing folder: files named after the session
        paths += export_session(session, fmt, root / fmt, deidentify=deidentify)
    return paths


def _identifying(paths: Sequence[Path]) -> list[str]:
    found = []
    for path in paths:
        for text, where in ((path.name.lower().encode(), "name"), (path.read_bytes().lower(), "content")):
            found += [f"{path.name} ({where}): {w}" for w in NAME_WORDS if w.encode() in text]
            found += [f"{path.name} ({where}): {d}" for d in REAL_DATES if d.encode() in text]
    return found


def test_deidentified_exports_carry_no_name_and_no_real_date(two_straps: Path, tmp_path: Path) -> None:
    session = read_session(two_straps)
    identified = _all_outputs(session, tmp_path / "identified", deidentify=False)
    found = _identifying(identified)  # the check itself finds what is there
    assert any("wren" in f for f in found) and any("17.05.24" in f for f in found) and any("2024-05-17" in f for f in found)

    paths = _all_outputs(session, tmp_path / "deidentified", deidentify=True)
    assert len(paths) == len(identified) == 2 + 7 + 1
    assert _identifying(paths) == []
    assert all(p.name.startswith(f"session_{session.session_id[:8]}_deidentified") for p in paths)

    # dates start at 2000-01-01 00:00:00 UTC, intervals unchanged
    kubios = [p for p in paths if p.suffix == ".txt"]
    assert all("# session start (UTC): 2000-01-01 00:00:00.000" in p.read_text() for p in kubios)
    assert all(np.array_equal(read_rr_file(p).rr_ms, decode_beats(session.timeline)[s].rr_ms)
               for p, s in zip(kubios, ("strap1", "strap2"), strict=True))
    folder = tmp_path / "deidentified" / "csv"
    stem = f"session_{session.session_id[:8]}_deidentified"
    walls = np.array([dt.datetime.fromisoformat(r["wall_time_utc"].replace("Z", "+00:00")).timestamp()
                      for r in _csv(folder / f"{stem}_notifications.csv")])
    real = np.array([n.wall_time for n in session.timeline if isinstance(n, Notification)])
    assert np.ptp(walls - real) < 0.002 and (walls - real)[0] == pytest.approx(DEIDENTIFIED_START_WALL - WALL_ORIGIN, abs=0.001)
    manifest = json.loads((folder / f"{stem}_manifest.json").read_text())
    assert manifest["started_wall"] == DEIDENTIFIED_START_WALL and manifest["deidentified"] is True
    assert manifest["ended_wall"] - manifest["started_wall"] == pytest.approx(DURATION_S)
    assert "client" not in manifest and "practitioner" not in manifest and "source" not in manifest
    assert manifest["tags"] == [] and manifest["devices"] == [{"strap_id": "strap1"}, {"strap_id": "strap2"}]
    assert manifest["free_text_removed"] == {"notes": 1, "review notes": 0, "marker labels": 0, "cue texts": 1,
                                             "tags": 1, "other texts": 0}  # typed text (tests/test_privacy.py)
    events = _csv(folder / f"{stem}_events.csv")
    assert [json.loads(r["details"]) for r in events if r["kind"] == "note"] == [{"text": "[note]"}]
    assert [r["wall_time_utc"] for r in events if r["kind"] == "marker"] == ["2000-01-01T00:01:00.000Z", "2000-01-01T00:06:40.000Z"]
    strap_info = [json.loads(r["details"]) for r in events if r["kind"] == "strap"]
    assert strap_info and all("address" not in d and "name" not in d for d in strap_info)

    (edf_path,) = [p for p in paths if p.suffix == ".edf"]
    assert edf_path.read_bytes()[:16] == b"0       X X X X "
    edf = _edf(edf_path)
    assert edf["start"] == dt.datetime(2000, 1, 1, 0, 0, 0) and edf["patient"] in ("", "X")
    assert [a[0] for a in _annotation(edf, "marker: resource")] == pytest.approx([60.0], abs=0.25)
    assert [a[2] for a in _annotation(edf, "note")] == ["note: [note]"]


# -- all or nothing ------------------------------------------------------------------------------
class Cancelled(Exception):
    pass


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("cancel_at", [0.5, 1.0])
def test_a_cancel_from_progress_leaves_no_file_behind(one_strap: Path, tmp_path: Path, fmt: str, cancel_at: float) -> None:
    session = read_session(one_strap)
    seen: list[float] = []

    def progress(fraction: float) -> None:
        seen.append(fraction)
        if fraction >= cancel_at:
            raise Cancelled

    out = tmp_path / "new" / "folder"
    with pytest.raises(Cancelled):
        export_session(session, fmt, out if fmt == "csv" else out / f"x.{fmt}", progress=progress)
    assert 0.0 < seen[-1] and list(tmp_path.iterdir()) == []  # no file, no temporary, no folder it made

    done: list[float] = []
    paths = export_session(session, fmt, tmp_path, progress=done.append)
    assert done[0] == 0.0 and done[-1] == 1.0 and done == sorted(done) and len(done) <= 102
    assert sorted(tmp_path.iterdir()) == sorted(paths)  # and nothing else (no leftovers)


def test_existing_files_are_never_overwritten(one_strap: Path, tmp_path: Path) -> None:
    session = read_session(one_strap)
    stem = _stem(session)
    existing = tmp_path / f"{stem}.edf"
    existing.write_bytes(b"keep me")
    with pytest.raises(ExportError, match="already exists") as error:
        export_session(session, "edf", tmp_path)
    assert str(session.path) in str(error.value)
    assert existing.read_bytes() == b"keep me"

    taken = tmp_path / f"{stem}_events.csv"
    taken.write_text("mine")
    with pytest.raises(ExportError, match="already exists"):
        export_session(session, "csv", tmp_path)
    assert taken.read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == sorted([existing.name, taken.name])

    (first,) = export_session(session, "kubios", tmp_path)
    before = first.read_bytes()
    with pytest.raises(ExportError, match="already exists"):
        export_session(session, "kubios", tmp_path)
    with pytest.raises(ExportError, match="already exists"):
        export_session(session, "kubios", first)
    assert first.read_bytes() == before and len(list(tmp_path.iterdir())) == 3


# -- errors -------------------------------------------------------------------------------------
def test_a_session_without_beats_and_an_unknown_format_are_errors_naming_the_file(one_strap: Path, tmp_path: Path) -> None:
    empty = read_session(_record(tmp_path / "no-beats.session.sqlite", [("calm", 1)], duration_s=0.15, events=()))
    assert empty.timeline and not empty.notifications  # connecting, but stopped before any data
    for fmt in ("kubios", "edf"):
        with pytest.raises(ExportError, match="no heartbeats") as error:
            export_session(empty, fmt, tmp_path / "out")
        assert str(empty.path) in str(error.value)
    assert not (tmp_path / "out").exists()
    paths = export_session(empty, "csv", tmp_path / "out")  # the tables of what there is
    assert len(paths) == 3 and _csv(tmp_path / "out" / "no-beats_notifications.csv") == []

    session = read_session(one_strap)
    with pytest.raises(ExportError, match="unknown export format 'xlsx'") as error:
        export_session(session, "xlsx", tmp_path)
    assert str(session.path) in str(error.value)


def test_edf_keeps_every_annotation_even_many_per_second_and_cuts_long_text(tmp_path: Path) -> None:
    burst = [(0.5 + 0.02 * k, "marker", {"label": f"m{k}"}) for k in range(400)]  # far more than one per record
    long_note = (9.0, "note", {"text": "ä" * 10 + "x" * 200})
    session = read_session(_record(tmp_path / "busy.session.sqlite", [("calm", 1)], duration_s=12.0,
                                   events=[*burst, long_note]))
    (path,) = export_session(session, "edf", tmp_path)
    edf = _edf(path)
    markers = _annotation(edf, "marker: m")
    assert sorted(int(a[2].removeprefix("marker: m")) for a in markers) == list(range(400))
    assert all(abs(a[0] - (0.5 + 0.02 * int(a[2].removeprefix("marker: m")) + FRACTION)) < 0.25 for a in markers)
    (note,) = _annotation(edf, "note: ")
    assert note[2] == "note: " + "ä" * 10 + "x" * 11 + "..." and len(note[2].encode()) <= 40
    assert len(edf["signals"][0]) == pytest.approx((12.0 + FRACTION) * 4, abs=4)
