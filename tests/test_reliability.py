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

    figures = run(3, seed=4)
    assert figures["sessions_open"] == 3
    assert figures["max_loss_s"] <= 1.0
    assert figures["notifications_kept_min"] > 0
