"""Sliding time-domain measures: exact against a from-scratch computation and neurokit2."""

from __future__ import annotations

import math

import numpy as np
import pytest
from real_records import clean_segments, irurzun_ms, nsr001_ms, polar_slow_breathing_ms

from somafeedback.hrv.artifacts import flag_artifacts
from somafeedback.devices.simulator.beat_faults import inject_beat_faults
from somafeedback.hrv.time_domain import SlidingTimeDomain


def _from_scratch(t: np.ndarray, rr: np.ndarray, ok: np.ndarray, now: float, window: float) -> dict[str, float]:
    inside = (t > now - window) & (t <= now)
    idx = np.flatnonzero(inside)
    acc = rr[idx][ok[idx]]
    pairs = [(rr[i] - rr[i - 1]) for i in idx[1:] if ok[i] and ok[i - 1] and inside[i - 1]]
    d = np.array(pairs)
    return {
        "mean_rr_ms": acc.mean(), "hr_bpm": np.mean(60000 / acc), "sdnn_ms": acc.std(ddof=1),
        "rmssd_ms": math.sqrt(np.mean(d**2)), "pnn50_pct": 100 * np.mean(np.abs(d) > 50),
    }


def test_incremental_values_equal_a_from_scratch_computation_at_every_beat() -> None:
    rng = np.random.default_rng(7)
    rr, _ = inject_beat_faults(irurzun_ms()[3000:4200], 0.03, "mixed", rng)
    ok = ~flag_artifacts(rr)
    t = np.cumsum(rr) / 1000
    window = SlidingTimeDomain(60.0)
    for k in range(len(rr)):
        window.push(t[k], rr[k], bool(ok[k]))
        if k < 100 or k % 7:
            continue
        got = window.metrics(t[k])
        want = _from_scratch(t, rr, ok, t[k], 60.0)
        for name, value in want.items():
            assert getattr(got, name) == pytest.approx(value, rel=1e-12), (k, name)
        assert got.ln_rmssd == pytest.approx(math.log(want["rmssd_ms"]), rel=1e-12)


@pytest.mark.parametrize("record", ["nsr001", "irurzun", "polar"])
def test_matches_neurokit2_hrv_time_on_real_windows(record: str) -> None:
    import neurokit2 as nk

    rr_all = {"nsr001": nsr001_ms, "irurzun": irurzun_ms, "polar": polar_slow_breathing_ms}[record]()
    segments = [rr_all[:400]] if record == "polar" else clean_segments(rr_all, 3, 10000)
    for seg in segments:
        t = np.cumsum(seg) / 1000
        window = SlidingTimeDomain(window_s=t[-1] + 1.0)  # one window over the whole segment
        for k in range(len(seg)):
            window.push(t[k], seg[k], True)
        got = window.metrics(t[-1])
        ref = nk.hrv_time({"RRI": seg, "RRI_Time": t}).iloc[0]
        assert got.rmssd_ms == pytest.approx(ref["HRV_RMSSD"], rel=1e-9)
        assert got.sdnn_ms == pytest.approx(ref["HRV_SDNN"], rel=1e-9)
        assert got.mean_rr_ms == pytest.approx(ref["HRV_MeanNN"], rel=1e-9)
        # neurokit2 divides NN50 by the number of intervals, the textbook by the differences
        assert got.pnn50_pct == pytest.approx(ref["HRV_pNN50"] * len(seg) / (len(seg) - 1), rel=1e-9)


def test_validity_fills_then_rejects_artifact_heavy_windows_then_refills_after_a_gap() -> None:
    window = SlidingTimeDomain(60.0, max_artifact_pct=5.0)
    t = 0.0
    assert window.metrics(0.0).validity.reason == "no beats yet"
    for k in range(200):  # 160 s of steady beats
        t += 0.8
        window.push(t, 800.0 + 10 * math.sin(k), True)
        m = window.metrics(t)
        assert m.validity.valid == (t >= 60.0 - 1e-9)
        if t < 60.0 - 1e-9:
            assert m.validity.reason == "filling the window" and not m.hr_valid
    for k in range(8):  # 8 of the last 75 beats flagged: > 5 %
        t += 0.8
        window.push(t, 1500.0, False)
    m = window.metrics(t)
    assert not m.validity.valid and m.hr_valid and "rejected" in m.validity.reason
    assert m.validity.artifact_pct > 5.0
    gap_end = t + 10.0
    window.gap(end_s=gap_end)
    assert window.metrics(gap_end).validity.reason == "no data since the gap"
    t = gap_end
    for _ in range(100):
        t += 0.8
        window.push(t, 800.0, True)
        m = window.metrics(t)
        if t < gap_end + 60.0 - 1e-9:
            assert not m.validity.valid and m.validity.reason == "refilling after a gap"
        else:
            assert m.validity.valid and m.hr_valid and m.validity.n_flagged == 0
    assert t > gap_end + 60.0
