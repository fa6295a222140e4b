"""`somafeedback synchrony A B`: two simulated sessions and two RR files, --json, --series, --offset,
and one clear message for a file it cannot read."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from real_records import irurzun_ms, nsr001_ms
from recording_helpers import record_simulated, record_straps

from somafeedback.cli.main import main
from somafeedback.live.analysis import pacer_event_data
from somafeedback.regulation.pacer import Pacer, PacerSettings

SUMMARY_KEYS = {"effect_size", "lag_s", "share_above_chance", "windows"}
AXIS_SLACK_S = 3.0  # a session's first beat comes this soon or sooner after its start
WINDOW_KEYS = {"start_s", "end_s", "r", "z", "lag_s", "r_at_zero_lag", "above_chance", "confounds"}


@pytest.fixture(scope="module")
def rr_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("rr")
    a, b = folder / "a.txt", folder / "b.txt"
    np.savetxt(a, irurzun_ms()[:900], fmt="%.0f")  # ~12 min each, two different people
    np.savetxt(b, nsr001_ms()[5000:5900], fmt="%.3f")
    return a, b


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("sessions")
    return (record_simulated(folder / "a.session.sqlite", "calm", 150.0, seed=1),
            record_simulated(folder / "b.session.sqlite", "calm", 150.0, seed=2))


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["synchrony", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_on_two_rr_files_has_the_summary_settings_conventions_and_windows(capsys, rr_files) -> None:
    code, out, _ = _run(capsys, *rr_files, "--json")
    assert code == 0
    result = json.loads(out)
    assert SUMMARY_KEYS <= set(result["summary"])
    assert {"settings", "conventions", "windows", "chance", "alignment"} <= set(result)
    assert result["settings"]["window_s"] == 30.0 and result["settings"]["surrogates"] == 500
    assert result["summary"]["windows"] == len(result["windows"]) > 100
    assert all(set(w) == WINDOW_KEYS for w in result["windows"])
    assert result["alignment"]["offset_s"] == 0.0  # plain files carry no clock time: first beats together


def test_series_is_csv_and_offset_moves_b(capsys, rr_files) -> None:
    code, out, _ = _run(capsys, *rr_files, "--series", "--surrogates", "100", "--seed", "3")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert set(rows[0]) == WINDOW_KEYS and len(rows) > 100
    code, out, _ = _run(capsys, *rr_files, "--json", "--offset", "60", "--window", "20", "--step", "4")
    shifted = json.loads(out)
    assert code == 0 and shifted["alignment"]["offset_s"] == 60.0
    assert shifted["windows"][0]["start_s"] >= 60.0  # B starts a minute in: no window before it
    assert shifted["windows"][1]["start_s"] - shifted["windows"][0]["start_s"] == 4.0


def test_two_session_files_are_aligned_on_their_recorded_start_times(capsys, sessions) -> None:
    code, out, _ = _run(capsys, *sessions, "--json", "--surrogates", "100")
    assert code == 0
    result = json.loads(out)
    assert result["alignment"]["how"] == "recorded start times"
    assert result["summary"]["windows"] >= 10 and SUMMARY_KEYS <= set(result["summary"])
    code, out, _ = _run(capsys, *sessions)
    assert code == 0 and "windows of 30 s every 5 s" in out and "strap strap1" in out


def test_a_missing_or_damaged_file_gives_one_clear_message(capsys, rr_files, tmp_path: Path) -> None:
    damaged = tmp_path / "x.session.sqlite"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\x07" * 200)
    words = tmp_path / "words.txt"
    words.write_text("hello\nthere\n")
    for other in (tmp_path / "missing.txt", damaged, words):
        code, out, err = _run(capsys, rr_files[0], other)
        assert code == 2 and out == ""
        assert len(err.strip().splitlines()) == 1 and str(other.name) in err and "Traceback" not in err
    code, _, err = _run(capsys, *rr_files, "--offset", "100000")
    assert code == 2 and "do not overlap" in err


# ---------------------------------------------------------------- recorded dyads and the confounds a session holds


def _record(folder: Path, *args: str) -> Path:
    """`somafeedback record --simulate ... --speed max` (two H10 straps: strap1 the client, strap2 the practitioner)."""
    result = subprocess.run([sys.executable, "-m", "somafeedback.cli", "record", "--simulate", *args, "--speed", "max",
                             "--recordings", str(folder)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    (path,) = folder.glob("*.session.sqlite")
    return path


@pytest.fixture(scope="session")
def pacer_dyad(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _record(tmp_path_factory.mktemp("pacer"), "dyad-shared-pacer", "--duration", "600")


@pytest.fixture(scope="session")
def in_phase_dyad(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _record(tmp_path_factory.mktemp("in-phase"), "dyad-in-phase", "--duration", "600")


def _pair_json(capsys, path: Path, *more: str) -> dict:
    code, out, err = _run(capsys, path, path, "--strap-a", "strap2", "--strap-b", "strap1", "--json", *more)
    assert code == 0, err
    return json.loads(out)


def test_a_recorded_shared_pacer_marks_its_windows_with_a_shared_breathing_rhythm(capsys, pacer_dyad) -> None:
    """Both straps of one recording (A the practitioner, B the client): from 6:00 (a minute into the pacer)
    most windows carry "shared breathing rhythm", before 5:00 few; the values are kept."""
    result = _pair_json(capsys, pacer_dyad)
    assert "strap strap2" in result["alignment"]["a"] and "strap strap1" in result["alignment"]["b"]
    pacer_s = 300.0  # the pacer starts 5:00 into the scenario (window times count from A's first beat, ~2 s)
    paced = [w for w in result["windows"] if w["start_s"] >= pacer_s + 60]
    before = [w for w in result["windows"] if w["end_s"] <= pacer_s - AXIS_SLACK_S]
    assert len(paced) >= 40 and len(before) >= 40
    assert np.mean(["shared breathing rhythm" in w["confounds"] for w in paced]) >= 0.8
    assert np.mean(["shared breathing rhythm" in w["confounds"] for w in before]) <= 0.1
    assert result["summary"]["confounded_windows"]["shared breathing rhythm"] >= 40
    assert sum(w["r"] is not None for w in paced if "shared breathing rhythm" in w["confounds"]) >= 30  # kept


def test_a_recorded_in_phase_dyad_gives_the_injected_lag_with_its_sign(capsys, in_phase_dyad) -> None:
    """dyad-in-phase's first 10 min (one span, the client ~2 s after the practitioner): with 60 s windows
    summary.lag_s is within ±0.5 s of +2 s; swapping A and B turns the sign."""
    result = _pair_json(capsys, in_phase_dyad, "--window", "60")
    assert result["summary"]["lag_s"] == pytest.approx(2.0, abs=0.5)
    flagged = result["summary"]["confounded_windows"]["shared breathing rhythm"]
    assert flagged <= 0.15 * result["summary"]["windows"]  # coupled heart rates, breaths on their own: rarely marked
    code, out, _ = _run(capsys, in_phase_dyad, in_phase_dyad, "--strap-a", "strap1", "--strap-b", "strap2", "--json",
                        "--window", "60")
    assert code == 0 and json.loads(out)["summary"]["lag_s"] == pytest.approx(-2.0, abs=0.5)


def test_pacer_movement_and_clock_spans_recorded_in_a_session_mark_the_windows(capsys, tmp_path: Path) -> None:
    """A session with a pacer (started 1:00, stopped 4:00), a remote clock check less certain than 50 ms at
    5:00 (certain again at 5:30) and the client moving 7:00-8:30 (chest accelerometer): each marks the
    windows it overlaps, and only those."""
    pacer = pacer_event_data(Pacer(PacerSettings(4.0, 6.0), 60.0))
    clock = {"offset_s": 0.1, "rtt_s": 0.4, "uncertainty_s": 0.2}
    events = [(60.0, "pacer", pacer), (240.0, "pacer", pacer_event_data(None)),
              (300.0, "remote-clock", clock), (330.0, "remote-clock", clock | {"uncertainty_s": 0.01})]
    path = record_straps(tmp_path / "s.session.sqlite", [("movement-plain-strap", 3, True), ("calm", 4, True)],
                         {"client": "Client A", "mode": "session"}, events, 560.0, 1.8e9)
    result = _pair_json(capsys, path, "--surrogates", "100")

    def marked(name: str) -> list[tuple[float, float]]:
        return [(w["start_s"], w["end_s"]) for w in result["windows"] if name in w["confounds"]]

    def overlapping(lo: float, hi: float) -> list[tuple[float, float]]:
        return [(w["start_s"], w["end_s"]) for w in result["windows"] if w["start_s"] < hi and w["end_s"] > lo]

    # window times count from A's first beat, 1-3 s into the session: spans are compared with AXIS_SLACK_S
    pacer_windows = marked("shared pacer")
    assert pacer_windows and all(s < 240 + AXIS_SLACK_S and e > 60 - AXIS_SLACK_S for s, e in pacer_windows)
    assert len(pacer_windows) >= len(overlapping(60 + AXIS_SLACK_S, 240 - AXIS_SLACK_S))
    clock_windows = marked("clock uncertain")
    assert clock_windows and all(s < 330 + AXIS_SLACK_S and e > 300 - AXIS_SLACK_S for s, e in clock_windows)
    moving = marked("movement")  # the scenario moves 7:00-8:30; the detector needs a few seconds either side
    assert moving and all(s < 510 + AXIS_SLACK_S and e > 420 - AXIS_SLACK_S for s, e in moving)
    assert len(moving) >= len(overlapping(430, 500))


def test_a_following_estimate_that_says_not_following_lifts_the_shared_pacer_mark() -> None:
    from somafeedback.cli.synchrony_spans import confound_spans, timeline_spans
    from somafeedback.devices.events import TimelineEvent

    def event(at_s: float, kind: str, data: dict, strap: str | None = None) -> TimelineEvent:
        return TimelineEvent(kind, int(at_s * 1e9), 1.8e9 + at_s, data, strap)

    pacer = pacer_event_data(Pacer(PacerSettings(4.0, 6.0), 10.0))
    timeline = [event(10.0, "pacer", pacer), event(200.0, "pacer", {"running": False}),
                event(70.0, "pacer-following", {"valid": True, "following": True}, "strap1"),
                event(100.0, "pacer-following", {"valid": True, "following": False}, "strap1"),
                event(150.0, "pacer-following", {"valid": False, "following": False}, "strap1"),
                event(120.0, "pacer-following", {"valid": True, "following": False}, "strap9")]
    spans = timeline_spans(timeline, ["strap1", "strap2"], 50.0)
    assert spans.pacer == ((10.0, 200.0),) and spans.not_following == ((100.0, 150.0),)
    assert confound_spans([spans]).shared_pacer == ((10.0, 100.0), (150.0, 200.0))
    assert confound_spans([spans.shifted(-10.0)]).shared_pacer == ((0.0, 90.0), (140.0, 190.0))
