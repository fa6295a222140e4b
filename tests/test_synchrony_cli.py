"""`somafeedback synchrony A B`: two simulated sessions and two RR files, --json, --series, --offset,
and one clear message for a file it cannot read."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from real_records import irurzun_ms, nsr001_ms
from recording_helpers import record_simulated

from somafeedback.cli.main import main

SUMMARY_KEYS = {"effect_size", "lag_s", "share_above_chance", "windows"}
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
