"""``somafeedback resonance``: re-scoring a recorded assessment (= the live result, read-only, damage
said in words), the client's own rate (the latest assessment, the practitioner's 0600 override), the
stream's words for the assessment, and the closed loop end to end on the simulated person.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from resonance_fakes import fake_measure, fake_rank, record_assessment

from somafeedback.cli.main import main
from somafeedback.devices.events import TimelineEvent
from somafeedback.live.resonance_rescore import rescore
from somafeedback.live.stream_printer import StreamPrinter
from somafeedback.resonance.client_rate import OVERRIDES_FILE, clear_client_rate, client_pacer, client_rate, set_client_rate
from somafeedback.resonance.events import RESULT_EVENT, STEP_EVENT
from somafeedback.sessions.file import read_session



@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library folder holding one recorded home assessment of "Client A"."""
    folder = tmp_path_factory.mktemp("library")
    record_assessment(folder / "assessment.session.sqlite")
    return folder


def _session_file(library: Path) -> Path:
    return library / "assessment.session.sqlite"


def test_rescoring_gives_the_live_result_and_never_changes_the_file(library: Path) -> None:
    path = _session_file(library)
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    session = read_session(path)
    live = next(e for e in session.timeline if isinstance(e, TimelineEvent) and e.kind == RESULT_EVENT)
    rescored = rescore(session.timeline, measure=fake_measure, rank=fake_rank)
    assert rescored.assessment and rescored.strap == "strap1"
    assert rescored.result.as_dict() == live.data
    assert rescored.line() == {"type": RESULT_EVENT, "strap": "strap1", "t_s": live.host_ns / 1e9, **live.data}
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime


def test_the_command_prints_the_json_line_and_a_table(library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _session_file(library)
    mtime = path.stat().st_mtime_ns
    assert main(["resonance", str(path), "--json"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["type"] == "resonance" and [s["rate_bpm"] for s in line["steps"]] == [6.0, 5.0]
    assert main(["resonance", str(path)]) == 0
    table = capsys.readouterr().out
    assert "result:" in table and "rate" in table
    assert path.stat().st_mtime_ns == mtime


def test_a_recording_without_an_assessment_is_scored_as_one_span(capsys: pytest.CaptureFixture[str]) -> None:
    sample = Path(__file__).resolve().parents[1] / "recordings" / "polar-h10-slow-breathing.session.sqlite"
    before = sample.read_bytes()
    assert main(["resonance", str(sample), "--json"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["best_rate_bpm"] is None and "no assessment" in line["reason"] and len(line["steps"]) == 1
    assert sample.read_bytes() == before
    # the same real beats as the shared CSV they were recorded from, scored there directly (docs/resonance.md §3)
    import numpy as np
    from real_records import polar_slow_breathing_ms

    from somafeedback.resonance.criteria import score_span

    rr = polar_slow_breathing_ms()
    direct = score_span(np.cumsum(rr) / 1000.0, rr)
    step = line["steps"][0]
    assert step["rate_bpm"] == pytest.approx(direct.rate_bpm, abs=0.05) and 3.0 <= step["rate_bpm"] <= 5.0
    assert step["peak_trough_hr_bpm"] == pytest.approx(direct.peak_trough_hr_bpm, rel=0.02)
    assert step["lf_power_ms2"] == pytest.approx(direct.lf_power_ms2, rel=0.02)


def test_a_damaged_file_is_said_in_words(tmp_path: Path) -> None:
    damaged = tmp_path / "broken.session.sqlite"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\x13" * 300)
    done = subprocess.run([sys.executable, "-m", "somafeedback.cli", "resonance", str(damaged)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert str(damaged) in done.stderr or damaged.name in done.stderr
    assert damaged.read_bytes() == b"SQLite format 3\x00" + b"\x13" * 300


def test_client_rate_from_the_library_and_the_practitioners_override(library: Path, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    own = tmp_path / "library"
    own.mkdir()
    shutil.copy(_session_file(library), own / "assessment.session.sqlite")
    live = next(e for e in read_session(own / "assessment.session.sqlite").timeline
                if isinstance(e, TimelineEvent) and e.kind == RESULT_EVENT)
    measured = client_rate(own, "client a")
    assert measured is not None and measured.source == "assessment" and measured.rate_bpm == live.data["best_rate_bpm"]
    assert "from the assessment of" in measured.describe()
    assert client_rate(own, "Client B") is None
    set_client_rate(own, "Client A", 5.25)
    assert stat.S_IMODE(os.stat(own / OVERRIDES_FILE).st_mode) == 0o600
    override = client_rate(own, "Client A")
    assert override is not None and (override.rate_bpm, override.source) == (5.25, "practitioner")
    assert client_pacer(override).breaths_per_min == pytest.approx(5.25)
    with pytest.raises(ValueError):
        set_client_rate(own, "Client A", 12.0)
    assert clear_client_rate(own, "Client A") and client_rate(own, "Client A") == measured
    assert main(["resonance", "--set-rate", "5.5", "--client", "Client A", "--recordings", str(own)]) == 0
    assert "5.5 breaths/min" in capsys.readouterr().out


def test_the_stream_says_the_steps_and_the_result_in_words() -> None:
    from io import StringIO

    out = StringIO()
    printer = StreamPrinter(beats=False, out=out)
    printer.event(TimelineEvent(STEP_EVENT, 10**9, 0.0, {"action": "start", "index": 1, "step": 1, "planned_steps": 5,
                                                          "rate_bpm": 6.0, "inhale_share": 0.4}, "strap1"))
    printer.event(TimelineEvent(RESULT_EVENT, 2 * 10**9, 0.0, {"best_rate_bpm": 5.0, "second_rate_bpm": 5.5, "steps": []}, "strap1"))
    text = out.getvalue()
    assert "step 2 of 5: 6.0 breaths/min" in text and "result: best 5.0, then 5.5 breaths/min" in text


def _assess(seed: int, scenario: str, *extra: str) -> tuple[int, list[dict]]:
    done = subprocess.run([sys.executable, "-m", "somafeedback.cli", "session", "--mode", "home", "--script",
                           "resonance-assessment", "--simulate", scenario, "--speed", "max", "--json", "--seed", str(seed),
                           *extra], capture_output=True, text=True, timeout=600)
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_the_simulated_person_at_resonance_5_is_found_in_9_of_10_seeds() -> None:
    found = 0
    for seed in range(1, 11):
        code, lines = _assess(seed, "resonance-steps")
        results = [line for line in lines if line["type"] == "resonance"]
        assert code == 0 and len(results) == 1
        best = results[0]["best_rate_bpm"]
        found += best is not None and abs(best - 5.0) <= 0.5
    assert found >= 9


def test_a_person_who_ignores_the_pacer_gets_no_best_rate() -> None:
    code, lines = _assess(1, "resonance-ignores-pacer")
    result = next(line for line in lines if line["type"] == "resonance")
    assert code == 0 and result["best_rate_bpm"] is None
    assert result["steps"] and all(not s["assessable"] and s["reason"] for s in result["steps"])


def test_a_recorded_assessment_rescores_to_the_line_the_session_printed(tmp_path: Path) -> None:
    code, lines = _assess(3, "resonance-steps", "--record", "--recordings", str(tmp_path), "--client", "Client A")
    printed = next(line for line in lines if line["type"] == "resonance")
    (path,) = tmp_path.glob("*.session.sqlite")
    done = subprocess.run([sys.executable, "-m", "somafeedback.cli", "resonance", str(path), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert code == 0 and done.returncode == 0 and json.loads(done.stdout) == printed
    rate = client_rate(tmp_path, "Client A")
    assert rate is not None and rate.rate_bpm == printed["best_rate_bpm"]


def test_a_home_practice_paces_at_the_clients_own_rate(tmp_path: Path) -> None:
    set_client_rate(tmp_path, "Client A", 5.25)
    done = subprocess.run([sys.executable, "-m", "somafeedback.cli", "session", "--mode", "home", "--script",
                           "low-and-slow-breathing", "--simulate", "--speed", "max", "--duration", "5", "--client", "Client A",
                           "--recordings", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "pacer at your rate set by your practitioner on" in done.stdout and ": 5.25 breaths/min" in done.stdout
