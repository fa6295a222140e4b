"""The live pipeline: same values as the reference on the same windows, validity, gaps."""

from __future__ import annotations

import numpy as np
import pytest
from real_records import clean_segments, irurzun_ms, nsr001_ms

from somafeedback.devices.simulator.beat_faults import inject_beat_faults
from somafeedback.hrv.pipeline import MetricsPipeline, PipelineConfig
from somafeedback.hrv.spectral import band_powers


def _feed(rr: np.ndarray, pipeline: MetricsPipeline | None = None):
    pipeline = pipeline or MetricsPipeline()
    t = np.cumsum(rr) / 1000.0
    return pipeline, t, [pipeline.push_beat(float(tk), float(rk)) for tk, rk in zip(t, rr, strict=True)]


def test_time_domain_equals_neurokit2_with_flagged_beats_as_gaps() -> None:
    import neurokit2 as nk

    rr, _ = inject_beat_faults(irurzun_ms()[10000:11200], 0.02, "mixed", np.random.default_rng(3))
    _, t, out = _feed(rr)
    flagged = np.array([m.flagged for m in out])
    assert flagged.any()
    for k in range(150, len(rr), 97):
        window = (t > t[k] - 60.0) & (t <= t[k])
        rri = np.where(flagged, np.nan, rr)[window]  # neurokit2 skips differences touching a NaN
        ref = nk.hrv_time({"RRI": rri, "RRI_Time": t[window]}).iloc[0]
        got = out[k].time
        assert got.rmssd_ms == pytest.approx(ref["HRV_RMSSD"], rel=1e-9)
        assert got.sdnn_ms == pytest.approx(ref["HRV_SDNN"], rel=1e-9)
        assert got.mean_rr_ms == pytest.approx(ref["HRV_MeanNN"], rel=1e-9)


def test_frequency_measures_use_the_accepted_beats_of_their_window() -> None:
    rr = clean_segments(nsr001_ms(), 1, 30000, length_s=600.0)[0]
    pipeline, t, out = _feed(rr)
    last = out[-1].frequency
    assert last is not None and last.validity.valid
    window = (t > last.computed_at_s - 300.0) & (t <= last.computed_at_s)
    direct = band_powers(t[window], rr[window])
    assert last.lf_ms2 == pytest.approx(direct.lf_ms2, rel=1e-12)
    assert last.hf_ms2 == pytest.approx(direct.hf_ms2, rel=1e-12)
    assert out[-1].coherence.validity.valid and out[-1].breathing.computed_at_s > t[-1] - 10


def test_spectral_refreshes_are_staggered_one_per_beat_and_every_few_seconds() -> None:
    rr = clean_segments(nsr001_ms(), 1, 30000, length_s=600.0)[0]
    _, t, out = _feed(rr)
    stamps = [(m.frequency.computed_at_s, m.breathing.computed_at_s, m.coherence.computed_at_s) for m in out[20:]]
    for before, after in zip(stamps, stamps[1:], strict=False):
        assert sum(a != b for a, b in zip(before, after, strict=True)) <= 1  # at most one recomputed per beat
    for m in out[20:]:
        for measure in (m.frequency, m.breathing, m.coherence):
            assert m.t_s - measure.computed_at_s <= PipelineConfig().refresh_s + 3.0


def test_a_gap_invalidates_everything_until_each_window_refills() -> None:
    rr = clean_segments(nsr001_ms(), 1, 30000, length_s=900.0)[0]
    t = np.cumsum(rr) / 1000.0
    pipeline = MetricsPipeline()
    split = int(np.searchsorted(t, 400.0))
    for k in range(split):
        last = pipeline.push_beat(float(t[k]), float(rr[k]))
    assert last.time.validity.valid and last.frequency.validity.valid
    gap_end = float(t[split - 1] + 20.0)
    during = pipeline.push_gap(float(t[split - 1]), gap_end)
    assert not during.time.validity.valid and not during.time.hr_valid
    assert not (during.frequency.validity.valid or during.breathing.validity.valid or during.coherence.validity.valid)
    first_valid: dict[str, float] = {}
    for k in range(split, len(rr)):
        now = gap_end + float(t[k] - t[split - 1])
        m = pipeline.push_beat(now, float(rr[k]))
        for name, valid in (("time", m.time.validity.valid), ("breathing", m.breathing.validity.valid),
                            ("coherence", m.coherence.validity.valid), ("frequency", m.frequency.validity.valid)):
            if valid:
                first_valid.setdefault(name, now - gap_end)
            elif name == "time":
                assert name not in first_valid, "time-domain validity must not flicker once refilled"
    cfg = PipelineConfig()
    assert cfg.time_window_s <= first_valid["time"] <= cfg.time_window_s + 2.0
    assert cfg.breathing_window_s <= first_valid["breathing"] <= cfg.breathing_window_s + cfg.refresh_s + 2.0
    assert cfg.coherence_window_s <= first_valid["coherence"] <= cfg.coherence_window_s + cfg.refresh_s + 2.0
    assert cfg.frequency_min_s <= first_valid["frequency"] <= cfg.frequency_min_s + cfg.refresh_s + 2.0


def test_a_new_timing_segment_breaks_the_windows_like_a_gap() -> None:
    rr = clean_segments(nsr001_ms(), 1, 30000, length_s=200.0)[0]
    pipeline = MetricsPipeline()
    t = np.cumsum(rr) / 1000.0
    for k in range(len(rr) // 2):
        m = pipeline.push_beat(float(t[k]), float(rr[k]), segment=0)
    assert m.time.validity.valid
    m = pipeline.push_beat(float(t[len(rr) // 2]) + 5.0, float(rr[len(rr) // 2]), segment=1)
    assert m.time.validity.reason == "refilling after a gap"


def test_artifact_heavy_windows_report_hrv_unavailable() -> None:
    rr = clean_segments(irurzun_ms(), 1, 5000, length_s=300.0)[0]
    bad, _ = inject_beat_faults(rr, 0.08, "ectopic", np.random.default_rng(1))
    _, _, out = _feed(bad)
    reasons = {m.time.validity.reason.split(":")[0] for m in out}
    assert "HRV unavailable" in reasons
    assert any(m.time.hr_valid and not m.time.validity.valid for m in out)  # HR stays, HRV goes


def test_the_beat_history_holds_what_a_plain_list_of_the_last_beats_holds() -> None:
    """The numpy history against a deque of (t, rr, accepted), through growth, compaction and clears."""
    from collections import deque

    from somafeedback.hrv.pipeline import _BeatHistory

    rr = irurzun_ms()[5000:7000]
    t = np.cumsum(rr) / 1000.0
    accepted = np.random.default_rng(5).random(len(rr)) > 0.05
    span_s = 64.0
    history = _BeatHistory(span_s, capacity=8)  # small: it must grow and move its beats
    reference: deque[tuple[float, float, bool]] = deque()
    for k, (tk, rk, ok) in enumerate(zip(t.tolist(), rr.tolist(), accepted.tolist(), strict=True)):
        if k in (700, 701, 1500):  # a gap
            history.clear()
            reference.clear()
        history.append(tk, rk, ok)
        reference.append((tk, rk, ok))
        while reference and reference[0][0] <= tk - span_s:
            reference.popleft()
        for start in (tk - 64.0, tk - 30.0, tk - 1000.0, tk):
            got_t, got_rr, n_beats, n_flagged = history.after(start)
            beats = [b for b in reference if b[0] > start]
            kept = [(bt, br) for bt, br, bok in beats if bok]
            assert (n_beats, n_flagged) == (len(beats), len(beats) - len(kept))
            assert got_t.tolist() == [bt for bt, _ in kept] and got_rr.tolist() == [br for _, br in kept]
