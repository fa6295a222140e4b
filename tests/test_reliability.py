"""Short versions of the reliability harness in benchmarks/ (the full runs print the figures in docs/reliability.md)."""

from __future__ import annotations

import sys

from session_helpers import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

from bench_fuzz import fuzz  # noqa: E402


def test_fuzzed_payloads_never_crash_a_decoder() -> None:
    figures = fuzz(20_000, seed=7)
    assert figures["uncaught_exceptions"] == 0
    assert 0.5 < figures["accepted_pct"] < 50.0  # the mutations reach both the accept and the reject paths


def test_a_recording_killed_at_random_opens_and_loses_at_most_a_second() -> None:
    from bench_kill import run

    from somafeedback.sessions.file import COMMIT_INTERVAL_S

    # --speed max: a virtual session clock, so what a kill can lose depends on the commit rule and the
    # strap's notification spacing, not on how busy the computer is; each kill comes after the first beat
    figures = run(3, seed=4, speed="max")
    assert figures["sessions_open"] == 3
    assert figures["max_loss_s"] <= 2 * COMMIT_INTERVAL_S  # a commit on the first write 0.5 session-s after the last
    assert figures["notifications_kept_min"] > 0


def test_a_soak_with_link_drops_loses_nothing_and_never_claims_validity_across_a_gap(tmp_path) -> None:
    from bench_soak import soak

    f = soak(8, seed=5, folder=tmp_path)
    assert f["drops_injected"] == 8 and f["reconnects"] == 8 and f["crashes"] == 0
    assert f["hr_received"] == f["hr_sent"] > 300
    assert f["pmd_frames_received"] == f["pmd_frames_sent"] > 500
    assert f["notifications_recorded"] == f["notifications_received"]
    assert f["gap_events"] == 8
    assert f["metrics_valid"] > 50 and f["metrics_valid_across_a_gap"] == 0


def test_a_long_accelerated_session_stays_within_its_memory_and_disk_budgets() -> None:
    """15 min of an H10 session in a fresh process (the full 8 h run is benchmarks/bench_longrun.py)."""
    import subprocess

    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_longrun.py"), "0.25"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert float(figures["peak_rss_mb"]) <= 250.0
    assert 0.5 < float(figures["recording_mb_per_h"]) <= 30.0
    assert int(figures["ecg_beats"]) > 800  # the raw ECG really streamed and was analysed


def test_corrupt_sessions_and_import_files_give_one_clear_error_and_leave_the_library_alone(tmp_path) -> None:
    from bench_corrupt import corrupt_sweep

    f = corrupt_sweep(tmp_path)
    assert f["runs"] > 30 and f["crashes"] == 0 and f["unclear_errors"] == 0
    assert f["clear_errors"] > 10 and f["recovered"] > 5  # both outcomes are exercised
    assert f["good_sessions_listed"] == 2 and f["damaged_sessions_listed_as_damaged"] == 9
    assert f["library_untouched"] is True
