"""One session, one beat series (#22): analyze, replay, the report and the exports measure the same beats.

For a Polar H10 the live analysis measures the ECG R-peak beats while the ECG streams and the
strap's RR elsewhere. Every reader of a recording must measure exactly those beats and say so.
The reference here is the replay path itself: the recorded timeline through ``LiveAnalysis``
(what ``replay``, the app and the report run), with its beats' gap-free segments tracked by this
test and the whole-session RMSSD computed by this test (adjacent accepted beats of one segment).
Sessions: the shipped sample (strap RR only), a 5.5-minute simulated H10 recorded through the
real BLE simulator (contact loss, link drop, malformed packets: ECG beats), and a copy of it whose
raw ECG frames of 60-100 s are missing (the strap's RR take over there: both sources).
"""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from recording_helpers import record_simulated
from session_helpers import REPO

from somafeedback.cli.main import main
from somafeedback.devices.events import Beat, Notification
from somafeedback.devices.gatt_uuids import POLAR_PMD_DATA
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.interop.export import export_session
from somafeedback.interop.rr_files import read_rr_file
from somafeedback.live.analysis import LiveAnalysis
from somafeedback.reports.content import session_content
from somafeedback.sessions.beat_series import session_beats
from somafeedback.sessions.file import read_session

SAMPLE = REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite"
H10_S = 330.0  # s recorded of the simulated H10 ("dropout": contact loss at 2:00, link drop at 5:00)
NO_ECG_S = (60.0, 100.0)  # s after the first notification whose raw ECG frames the "mixed" copy lacks


@dataclass
class LiveBeats:
    """The beats the live analysis measured for one strap, with this test's own bookkeeping."""

    t_s: np.ndarray
    rr_ms: np.ndarray
    flagged: np.ndarray
    runs: np.ndarray  # gap-free run of each beat: a new one after every gap snapshot or beat segment change
    ecg: int
    strap: int

    @property
    def rmssd_ms(self) -> float:
        """Whole-session RMSSD: successive differences of adjacent accepted beats of one run."""
        same = (self.runs[1:] == self.runs[:-1]) & ~self.flagged[1:] & ~self.flagged[:-1]
        diffs = np.diff(self.rr_ms)[same]
        return math.sqrt(float(np.mean(diffs ** 2)))


def live_beats(path: Path, strap: str = "strap1") -> LiveBeats:
    """The recording through ``LiveAnalysis`` (metrics on) as replay runs it: the measured beats."""
    analysis = LiveAnalysis(metrics=True)
    source: dict[tuple[float, float], tuple[int, str]] = {}
    rows: list[tuple[float, float, bool, int]] = []
    run_of: dict[tuple[int, int], int] = {}
    gaps = 0
    for item in read_session(path).timeline:
        produced = analysis.on_notification(item) if isinstance(item, Notification) else analysis.on_event(item)
        for strap_id, output in produced:
            if strap_id != strap:
                continue
            if isinstance(output, Beat):
                source[(output.t_s, output.rr_ms)] = (output.segment, output.source)
            elif isinstance(output, BeatMetrics) and output.rr_ms is None:
                gaps += 1
            elif isinstance(output, BeatMetrics):
                segment, kind = source[(output.t_s, output.rr_ms)]
                run = run_of.setdefault((gaps, segment), len(run_of))
                rows.append((output.t_s, output.rr_ms, output.flagged, run if kind == "ecg" else -1 - run))
    t, rr, flagged, runs = (np.array(column) for column in zip(*rows, strict=True))
    return LiveBeats(t, rr, flagged.astype(bool), runs, int(np.sum(runs >= 0)), int(np.sum(runs < 0)))


def source_words(live: LiveBeats) -> str:
    """What every reader must say about the beats' source (written out here, not imported)."""
    if live.ecg and live.strap:
        return f"ECG R-peaks ({live.ecg} beats) + strap RR ({live.strap} beats)"
    return f"ECG R-peaks ({live.ecg} beats)" if live.ecg else f"strap RR ({live.strap} beats)"


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("one_beat_series")
    h10 = record_simulated(folder / "h10.session.sqlite", "dropout", H10_S, seed=7, h10=True)
    mixed = folder / "mixed.session.sqlite"
    shutil.copyfile(h10, mixed)
    with sqlite3.connect(mixed) as db:  # raw ECG frames lost for a while: the strap's RR must take over there
        first = db.execute("SELECT min(host_ns) FROM notifications").fetchone()[0]
        deleted = db.execute("DELETE FROM notifications WHERE characteristic = ? AND host_ns BETWEEN ? AND ?",
                             (POLAR_PMD_DATA, first + int(NO_ECG_S[0] * 1e9), first + int(NO_ECG_S[1] * 1e9))).rowcount
    assert deleted > 50
    sample = folder / SAMPLE.name
    shutil.copyfile(SAMPLE, sample)
    return {"sample": sample, "h10": h10, "mixed": mixed}


@pytest.fixture(scope="module")
def reference(sessions: dict[str, Path]) -> dict[str, LiveBeats]:
    return {name: live_beats(path) for name, path in sessions.items()}


NAMES = ("sample", "h10", "mixed")


def test_the_sessions_cover_both_sources(reference: dict[str, LiveBeats]) -> None:
    assert reference["sample"].ecg == 0 and reference["sample"].strap > 500
    assert reference["h10"].ecg > 250
    mixed = reference["mixed"]
    assert mixed.ecg > 200 and mixed.strap > 20  # the strap's RR filled the ECG's 40 s
    ecg_runs, strap_runs = mixed.runs >= 0, mixed.runs < 0
    strap_times = mixed.t_s[strap_runs] - mixed.t_s[0]
    assert strap_times.min() > NO_ECG_S[0] - 10 and strap_times.max() < NO_ECG_S[1] + 10
    assert ecg_runs[0] and ecg_runs[-1]


@pytest.mark.parametrize("name", NAMES)
def test_session_beats_are_the_beats_the_live_analysis_measures(name: str, sessions: dict[str, Path],
                                                                 reference: dict[str, LiveBeats]) -> None:
    live = reference[name]
    (record,) = [r for r in session_beats(read_session(sessions[name]).timeline).values() if r.beats]
    assert np.array_equal(record.t_s, live.t_s) and np.array_equal(record.rr_ms, live.rr_ms)  # to the ns
    assert record.flagged == live.flagged.tolist()
    same = record.segments[1:] == record.segments[:-1]
    assert np.array_equal(same, live.runs[1:] == live.runs[:-1])  # the same gap-free runs
    assert (record.ecg_beats, record.strap_beats) == (live.ecg, live.strap)
    assert record.beat_source == source_words(live)


@pytest.mark.parametrize("name", NAMES)
def test_analyze_reports_the_replay_beats_and_says_their_source(name: str, sessions: dict[str, Path],
                                                                reference: dict[str, LiveBeats],
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    live = reference[name]
    assert main(["analyze", str(sessions[name]), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["beat_source"] == source_words(live) and summary["strap"] == "strap1"
    assert summary["n_beats"] == len(live.rr_ms)
    assert summary["corrected"]["rmssd_ms"] == pytest.approx(live.rmssd_ms, rel=1e-12)
    assert main(["analyze", str(sessions[name])]) == 0
    assert f"beat source: {source_words(live)}" in capsys.readouterr().out


@pytest.mark.parametrize("name", NAMES)
def test_replay_prints_the_same_beats(name: str, sessions: dict[str, Path], reference: dict[str, LiveBeats],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    live = reference[name]
    assert main(["replay", str(sessions[name]), "--speed", "max", "--json", "--metrics"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    measured = [line for line in lines if line.get("type") == "metrics" and line.get("rr_ms") is not None]
    assert [m["rr_ms"] for m in measured] == live.rr_ms.tolist()
    assert np.allclose([m["t_s"] for m in measured], live.t_s, rtol=0, atol=0.0005 + 1e-9)  # printed to the ms
    assert [m["flagged"] for m in measured] == live.flagged.tolist()
    ecg_beats = [line for line in lines if line.get("type") == "beat" and line.get("source") == "ecg"]
    assert bool(ecg_beats) == bool(live.ecg)


@pytest.mark.parametrize("name", NAMES)
def test_the_report_measures_the_same_beats_and_says_so(name: str, sessions: dict[str, Path],
                                                        reference: dict[str, LiveBeats]) -> None:
    live = reference[name]
    content = session_content(sessions[name])
    assert content.figure("beats").value == len(live.rr_ms)
    assert content.figure("rmssd_session").value == pytest.approx(live.rmssd_ms, rel=1e-12)
    assert content.beat_source.startswith(source_words(live))


@pytest.mark.parametrize("name", NAMES)
def test_the_exports_hold_the_same_beats_and_say_their_source(name: str, sessions: dict[str, Path],
                                                              reference: dict[str, LiveBeats], tmp_path: Path) -> None:
    live = reference[name]
    session = read_session(sessions[name])
    (kubios,) = export_session(session, "kubios", tmp_path / "kubios.txt")
    assert np.allclose(read_rr_file(kubios).rr_ms, live.rr_ms, rtol=0, atol=1e-6)  # ms
    header = [line for line in kubios.read_text(encoding="utf-8").splitlines() if line.startswith("# beat source:")]
    assert header == [f"# beat source: {source_words(live)}"]
    csv_folder = tmp_path / "csv"
    csv_folder.mkdir()
    (beats_csv,) = [p for p in export_session(session, "csv", csv_folder) if p.name.endswith("_beats.csv")]
    rows = beats_csv.read_text(encoding="utf-8").splitlines()
    assert rows[0].split(",")[-1] == "source"
    cells = [row.split(",") for row in rows[1:]]
    start_s = session.manifest["started_host_ns"] / 1e9
    assert np.allclose([float(c[0]) for c in cells], live.t_s - start_s, rtol=0, atol=1e-6)  # s, to the µs
    assert [float(c[2]) for c in cells] == live.rr_ms.tolist()
    assert sum(c[-1] == "ecg" for c in cells) == live.ecg and sum(c[-1] == "strap" for c in cells) == live.strap


@pytest.mark.parametrize("name", NAMES)
def test_the_review_window_measures_its_phases_on_the_same_beats(name: str, sessions: dict[str, Path],
                                                                 reference: dict[str, LiveBeats]) -> None:
    from somafeedback.sessions.segments import session_beat_series

    live = reference[name]
    series = session_beat_series(read_session(sessions[name]).timeline, 0, "strap1")
    assert np.array_equal(series.t_s, live.t_s) and np.array_equal(series.rr_ms, live.rr_ms)
    assert series.flagged.tolist() == live.flagged.tolist()
