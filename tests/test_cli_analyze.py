"""`somafeedback analyze`: the JSON summary, the CSV series, and one-line errors."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from real_records import RR, nsr001_ms

from somafeedback.hrv.artifacts import flag_artifacts
from somafeedback.cli.main import main
from somafeedback.hrv.metric_rows import METRIC_COLUMNS

KEYS = {"conventions", "n_beats", "duration_s", "artifact_pct", "uncorrected", "corrected", "frequency_segments"}
TIME_KEYS = {"mean_rr_ms", "mean_hr_bpm", "sdnn_ms", "rmssd_ms", "pnn50_pct"}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "somafeedback.cli", *args], capture_output=True, text=True, timeout=120)


def _published(report: Path, label: str) -> float:
    for line in report.read_text().splitlines():
        if line.startswith(label):
            return float(line.split(";")[1])
    raise AssertionError(f"{label!r} not in {report}")


def test_json_summary_of_the_24h_record_has_exactly_the_keys_and_textbook_values() -> None:
    result = _run("analyze", str(RR / "nsr001_rr_secs.txt"), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert set(summary) == KEYS
    assert set(summary["uncorrected"]) == TIME_KEYS
    assert set(summary["corrected"]) == TIME_KEYS | {"lf_ms2", "hf_ms2", "lf_hf", "validity"}
    assert "seconds" in result.stderr and "start offset" in result.stderr  # the unit is stated
    rr = nsr001_ms()
    d = np.diff(rr)
    assert summary["n_beats"] == len(rr) == 106_459
    assert summary["duration_s"] == pytest.approx(rr.sum() / 1000)
    raw = summary["uncorrected"]
    assert raw["rmssd_ms"] == pytest.approx(np.sqrt(np.mean(d**2)), rel=1e-12)
    assert raw["sdnn_ms"] == pytest.approx(np.std(rr, ddof=1), rel=1e-12)
    assert raw["pnn50_pct"] == pytest.approx(100 * np.mean(np.abs(d) > 50), rel=1e-12)
    flagged = flag_artifacts(rr)
    assert summary["artifact_pct"] == pytest.approx(100 * flagged.mean())
    pairs = ~flagged[1:] & ~flagged[:-1]
    assert summary["corrected"]["rmssd_ms"] == pytest.approx(np.sqrt(np.mean(d[pairs] ** 2)), rel=1e-12)
    assert summary["corrected"]["rmssd_ms"] < raw["rmssd_ms"]  # ectopic beats inflate the raw value
    assert 0 < summary["corrected"]["lf_hf"] < 20 and summary["corrected"]["hf_ms2"] > 0


def test_matches_pyhrvs_published_report(tmp_path: Path) -> None:
    nn = np.load(RR / "SampleNNISeriesLong.npy")
    text = tmp_path / "sample_nn_ms.txt"
    np.savetxt(text, nn, fmt="%g")
    result = _run("analyze", str(text), "--json")
    assert result.returncode == 0, result.stderr
    raw = json.loads(result.stdout)["uncorrected"]
    report = RR / "SampleReport.txt"
    assert raw["sdnn_ms"] == pytest.approx(_published(report, "SDNN (ms)"), abs=5e-4)
    assert raw["rmssd_ms"] == pytest.approx(_published(report, "RMSSD (ms)"), abs=5e-4)
    assert raw["pnn50_pct"] == pytest.approx(_published(report, "pNN50 (%)"), abs=5e-4)
    assert raw["mean_rr_ms"] == pytest.approx(_published(report, "Mean NNI (ms)"), abs=5e-4)


def test_text_report_states_the_unit_and_the_caveats(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(RR / "polar_h10_slow_breathing_ibi.csv")]) == 0
    out = capsys.readouterr().out
    assert "620 beats" in out and "milliseconds" in out and "not a stress index" in out


def test_series_is_csv_with_validity_columns(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(RR / "polar_h10_slow_breathing_ibi.csv"), "--series", "--step", "10"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == list(METRIC_COLUMNS)
    assert 55 <= len(rows) <= 62  # ten minutes, a row every 10 s
    assert rows[0]["time_valid"] == "False" and rows[0]["time_reason"] == "filling the window"
    valid = [r for r in rows if r["time_valid"] == "True"]
    assert valid and all(float(r["rmssd_ms"]) > 0 for r in valid)
    assert any(r["breathing_valid"] == "True" and float(r["breathing_bpm"]) < 8 for r in rows)  # slow breathing


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "no RR"), (b"812\nabc\n790\n", "line 2"), (b"\x00\x01\x02\xff" * 50, "")],
)
def test_unreadable_input_is_one_line_naming_the_file_and_exit_2(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "broken.txt"
    path.write_bytes(content)
    result = _run("analyze", str(path), "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and problem in lines[0]


def test_missing_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = _run("analyze", str(tmp_path / "nope.txt"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1 and "nope.txt" in result.stderr


def test_a_session_id_from_the_library_is_analysed_like_its_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from session_helpers import REPO

    from somafeedback.sessions.library import list_sessions

    library = tmp_path / "library"
    library.mkdir()
    session = library / "polar-h10-slow-breathing.session.sqlite"
    session.write_bytes((REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite").read_bytes())
    session_id = list_sessions(library)[0].session_id
    assert main(["analyze", str(session), "--json"]) == 0
    by_path = json.loads(capsys.readouterr().out)
    assert main(["analyze", session_id[:8], "--recordings", str(library), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == by_path and by_path["n_beats"] > 100
    assert main(["analyze", "no-such-id", "--recordings", str(library)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-such-id" in err[0]
