"""Mapping a strap's own clock onto the session clock, and ECG beats checked against strap RR."""

from __future__ import annotations

import numpy as np

from somafeedback.devices.device_clock import DeviceClockMap
from somafeedback.devices.events import Beat
from somafeedback.signals.rr_crosscheck import RrCrossCheck


def frames(drift_ppm: float, minutes: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(device stamps, arrivals, true host times) of 73-sample ECG frames from a clock running ``drift_ppm`` fast."""
    rng = np.random.default_rng(seed)
    host_true_s = np.arange(73 / 130, minutes * 60.0, 73 / 130)
    device_ns = (5e17 + host_true_s * (1 + drift_ppm * 1e-6) * 1e9).astype(np.int64)
    latency_s = 0.008 + rng.exponential(0.012, host_true_s.size) + (rng.random(host_true_s.size) < 0.02) * 0.3
    arrival_ns = ((host_true_s + latency_s) * 1e9).astype(np.int64)
    return device_ns, arrival_ns, host_true_s


def test_the_map_tracks_drift_to_within_a_few_milliseconds() -> None:
    device_ns, arrival_ns, truth_s = frames(drift_ppm=50.0, minutes=30.0)
    clock = DeviceClockMap()
    errors = []
    for d, a, t in zip(device_ns, arrival_ns, truth_s, strict=True):
        clock.observe(int(d), int(a))
        errors.append(clock.to_host_ns(int(d)) / 1e9 - t)
    errors_ms = np.array(errors) * 1000
    late = errors_ms[truth_s > 300.0]
    # the offset is the minimum latency (8 ms here); it must not wander by the 90 ms 30 min of drift would give
    assert np.all(np.abs(late - 8.0) < 4.0), (late.min(), late.max())
    assert abs(clock.drift_ppm + 50.0) < 3.0  # host runs slower than the device: negative
    without_drift = (device_ns - device_ns[0]) / 1e9 - (truth_s - truth_s[0])
    assert without_drift[-1] * 1000 > 80.0  # what the map corrects


def test_a_mapped_time_is_never_after_the_arrival() -> None:
    device_ns, arrival_ns, _ = frames(drift_ppm=-20.0, minutes=5.0, seed=1)
    clock = DeviceClockMap()
    for d, a in zip(device_ns, arrival_ns, strict=True):
        clock.observe(int(d), int(a))
        assert clock.to_host_ns(int(d)) <= a


def test_a_device_clock_reset_starts_afresh() -> None:
    clock = DeviceClockMap()
    clock.observe(10_000_000_000, 1_000_000_000)
    clock.observe(10_560_000_000, 1_570_000_000)
    clock.observe(999_000_000_000, 2_130_000_000)  # the strap rebooted: its clock jumped
    assert clock.resets == 1
    assert clock.to_host_ns(999_000_000_000) == 2_130_000_000


def beat(t_s: float, rr_ms: float, source: str = "ecg") -> Beat:
    return Beat("strap1", t_s, round(rr_ms * 1.024), rr_ms, 0, 0, 0, 0, True, source=source)


def test_crosscheck_agrees_when_both_see_the_same_beats_and_flags_a_beat_the_strap_merged() -> None:
    rr = np.array([900.0, 910.0, 890.0, 905.0, 915.0, 900.0, 895.0, 905.0, 910.0, 900.0] * 3)
    t = np.cumsum(rr) / 1000.0 + 10.0
    strap_rr = list(rr)
    strap_rr[15:17] = [rr[15] + rr[16]]  # the strap missed beat 15: it reports one long interval
    strap_t = list(np.delete(t, 15) + 0.4)  # strap beat times sit a constant 0.4 s later
    check = RrCrossCheck()
    decided = []
    ecg = iter(zip(t, rr, strict=True))
    strap = iter(zip(strap_t, strap_rr, strict=True))
    # interleave as they would arrive: ECG first, the strap's RR about a second later
    for (te, re) in ecg:
        decided += check.add_ecg(beat(float(te), float(re)))
        for ts, rs in strap:
            decided += check.add_strap(float(ts), float(rs))
            if ts > te - 0.6:
                break
    decided += check.flush()
    verdicts = {round(c.beat.t_s, 3): c.agrees for c in decided}
    assert len(verdicts) == len(t)
    disagree = [k for k, (tt) in enumerate(t) if verdicts[round(float(tt), 3)] is False]
    assert 15 in disagree and 16 in disagree  # the hidden beat and the one after it
    assert len(disagree) <= 2 and check.agreed >= len(t) - 2


def test_crosscheck_without_strap_rr_leaves_beats_unflagged() -> None:
    check = RrCrossCheck()
    decided = []
    for k in range(10):
        decided += check.add_ecg(beat(10.0 + k, 1000.0))
    decided += check.flush()
    assert len(decided) == 10 and all(c.agrees is None for c in decided)


def test_crosscheck_follows_the_strap_when_its_beat_timing_is_re_anchored() -> None:
    rng = np.random.default_rng(3)
    rr = 900.0 + rng.normal(0, 25, 120)
    t = np.cumsum(rr) / 1000.0 + 10.0
    shift = np.where(np.arange(120) < 60, 0.3, 1.15)  # the strap re-anchored at beat 60: its times moved 0.85 s
    segments = np.where(np.arange(120) < 60, 0, 1)
    check = RrCrossCheck()
    decided = []
    for k in range(120):
        decided += check.add_ecg(beat(float(t[k]), float(rr[k])))
        if k >= 1:
            decided += check.add_strap(float(t[k - 1] + shift[k - 1]), float(rr[k - 1]), int(segments[k - 1]))
    decided += check.flush()
    assert len(decided) == 120
    assert sum(c.agrees is False for c in decided) == 0  # same beats throughout: nothing to flag
    assert check.agreed >= 110
