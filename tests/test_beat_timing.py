"""Beat times from the cumulative RR sum, anchored to arrival, re-anchored beyond the bounds."""

from __future__ import annotations

import numpy as np
import pytest

from somafeedback.devices.beat_timing import EARLY_TOLERANCE_S, LATE_TOLERANCE_S, BeatTimer


def _packets_from_truth(rr_ticks: list[int], period_s: float = 1.0, latency_s: float = 0.04):
    """Pack true beats into 1-s notifications the way a strap does: (arrival, [ticks])."""
    ends = np.cumsum(rr_ticks) / 1024
    packets, k, t = [], 0, period_s
    while k < len(rr_ticks):
        batch = []
        while k < len(rr_ticks) and ends[k] <= t:
            batch.append(rr_ticks[k])
            k += 1
        packets.append((t + latency_s, batch))
        t += period_s
    return packets, ends


def test_beats_are_exactly_one_rr_apart_and_never_share_the_arrival_time() -> None:
    rng = np.random.default_rng(3)
    truth = [int(x) for x in rng.integers(700, 1100, size=600)]
    packets, ends = _packets_from_truth(truth)
    timer = BeatTimer()
    times = [t for arrival, batch in packets for t in timer.place(arrival, batch)]
    assert timer.segment == 0  # one continuous segment: no spurious re-anchor
    assert np.diff(times) * 1024 == pytest.approx(truth[1:], abs=1e-6)
    offsets = np.array(times) - ends  # constant offset = latency of the first anchor
    assert np.ptp(offsets) < 1e-9
    assert 0 <= offsets[0] <= 1.0 + 0.04
    multi = [(a, b) for a, b in packets if len(b) > 1]
    assert multi, "the test must include packets with several RR"


def test_lost_rr_values_force_a_new_anchor() -> None:
    timer = BeatTimer()
    timer.place(1.0, [1024])
    timer.place(2.0, [1024])
    # 5 s pass with no RR delivered: the next packet's beat cannot be 1 s after the last
    times = timer.place(8.0, [1024])
    assert timer.segment == 1
    assert times == [8.0]


def test_cumulative_sum_running_ahead_of_the_host_clock_re_anchors() -> None:
    timer = BeatTimer()
    timer.place(1.0, [1024])
    within = timer.place(3.0 - EARLY_TOLERANCE_S + 0.1, [2048])  # last beat 1.4 s after arrival: tolerated
    assert timer.segment == 0 and within == [3.0]
    timer.place(3.0, [4096])  # would be at 7.0 s, 4 s after its arrival: impossible
    assert timer.segment == 1


def test_bounds_are_inclusive_and_break_segment_starts_a_new_one() -> None:
    timer = BeatTimer()
    timer.place(10.0, [1024])
    assert timer.place(11.0 + LATE_TOLERANCE_S, [1024]) == [11.0]
    assert timer.segment == 0
    timer.break_segment()
    assert timer.place(20.0, [512, 512]) == [19.5, 20.0]
    assert timer.segment == 1
    assert timer.place(21.0, []) == []
