"""The simulated heart: determinism, exact timing, per-state realism, blending and faults."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import interpolate, signal

from somafeedback.devices.simulator.physiology import HeartModel, SimBeat, rsa_gain, smoothstep
from somafeedback.devices.simulator.state_params import STATES, StateParams
from somafeedback.devices.simulator.scenario import Fault, Phase, Scenario, load_scenario

TICKS = 1024


# ---------------------------------------------------------------- helpers


def rr_ms(beats: list[SimBeat]) -> np.ndarray:
    return np.array([b.rr_1024 for b in beats], dtype=float) * 1000.0 / TICKS


def t_end(beats: list[SimBeat]) -> np.ndarray:
    return np.array([b.t_end_s for b in beats])


def rmssd(rr: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.diff(rr) ** 2)))


def mean_hr(rr: np.ndarray) -> float:
    return 60000.0 / float(np.mean(rr))


def breathing_peak_bpm(beats: list[SimBeat]) -> float:
    """Dominant tachogram frequency in 0.05-0.5 Hz (4 Hz resampling + Welch), in breaths/min."""
    t, rr = t_end(beats), rr_ms(beats)
    grid = np.arange(t[0], t[-1], 0.25)
    series = interpolate.CubicSpline(t, rr)(grid)
    freqs, power = signal.welch(signal.detrend(series), fs=4.0, nperseg=min(512, len(series)))
    band = (freqs >= 0.05) & (freqs <= 0.5)
    return float(freqs[band][np.argmax(power[band])] * 60.0)


def steady_run(state: str, duration_s: float = 1800.0, seed: int = 11) -> list[SimBeat]:
    model = HeartModel(Scenario.steady(state, duration_s), seed=seed)
    return model.beats_until(duration_s)


@pytest.fixture(scope="module")
def state_runs() -> dict[str, list[SimBeat]]:
    return {name: steady_run(name) for name in STATES}


# ---------------------------------------------------------------- API shape


def test_dataclasses_are_frozen_and_slotted() -> None:
    for cls in (StateParams, SimBeat):
        assert dataclasses.is_dataclass(cls)
        assert hasattr(cls, "__slots__")
    beat = SimBeat(t_end_s=1.0, rr_1024=1024, kind="normal", state="settled")
    with pytest.raises(dataclasses.FrozenInstanceError):
        beat.rr_1024 = 3  # type: ignore[misc]
    assert beat.rr_ms == 1000.0


def test_required_states_exist() -> None:
    assert {"settled", "activated", "shutdown-like", "slow-breathing"} <= set(STATES)
    s, a, q, b = (STATES[n] for n in ("settled", "activated", "shutdown-like", "slow-breathing"))
    assert 64 <= s.hr_bpm <= 70
    assert 20 <= a.hr_bpm - s.hr_bpm <= 30
    assert 16 <= a.breathing_bpm <= 20
    assert q.hr_bpm < s.hr_bpm
    assert b.breathing_bpm == pytest.approx(6.0, abs=0.5)
    assert 100 <= b.rsa_ms <= 200


def test_state_params_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        StateParams(hr_bpm=500, rsa_ms=10, breathing_bpm=12, mayer_ms=1, noise_ms=1)
    with pytest.raises(ValueError):
        StateParams(hr_bpm=60, rsa_ms=-1, breathing_bpm=12, mayer_ms=1, noise_ms=1)
    with pytest.raises(ValueError):
        StateParams(hr_bpm=60, rsa_ms=10, breathing_bpm=0, mayer_ms=1, noise_ms=1)


def test_smoothstep_and_blend() -> None:
    assert smoothstep(-1) == 0 and smoothstep(0) == 0 and smoothstep(1) == 1 and smoothstep(7) == 1
    assert smoothstep(0.5) == pytest.approx(0.5)
    xs = np.linspace(0, 1, 101)
    assert np.all(np.diff([smoothstep(x) for x in xs]) >= 0)
    s, a = STATES["settled"], STATES["activated"]
    mid = s.blend(a, 0.5)
    assert mid.hr_bpm == pytest.approx((s.hr_bpm + a.hr_bpm) / 2)
    assert mid.rsa_ms == pytest.approx((s.rsa_ms + a.rsa_ms) / 2)
    assert s.blend(a, 0.0) == s and s.blend(a, 1.0) == a


# ---------------------------------------------------------------- determinism and exact timing


def test_same_seed_same_beats_different_seed_different() -> None:
    scn = load_scenario("artifacts")
    one = HeartModel(scn, seed=5).beats_until(300)
    two = HeartModel(scn, seed=5).beats_until(300)
    other = HeartModel(scn, seed=6).beats_until(300)
    assert len(one) > 250
    assert one == two
    assert [b.rr_1024 for b in one[:50]] != [b.rr_1024 for b in other[:50]]


def test_seed_none_uses_the_scenario_seed() -> None:
    scn = load_scenario("calm")
    assert HeartModel(scn).beats_until(120) == HeartModel(scn, seed=scn.seed).beats_until(120)
    assert HeartModel(scn).seed == scn.seed


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    start_s=st.floats(0, 5000, allow_nan=False),
    chunks=st.lists(st.floats(0.01, 20, allow_nan=False), min_size=1, max_size=25),
)
def test_slicing_does_not_change_the_beats(seed: int, start_s: float, chunks: list[float]) -> None:
    """beats_until in arbitrary slices, next_beat one by one: the same beat sequence."""
    scn = load_scenario("artifacts")
    sliced_model = HeartModel(scn, seed=seed, start_s=start_s)
    sliced: list[SimBeat] = []
    t = start_s
    for dt in chunks:
        t += dt
        got = sliced_model.beats_until(t)
        assert all(b.t_end_s <= t for b in got)
        sliced.extend(got)
    # nothing left behind that should have been delivered
    assert sliced_model.next_beat().t_end_s > t
    single = HeartModel(scn, seed=seed, start_s=start_s)
    assert [single.next_beat() for _ in sliced] == sliced


def test_t_end_is_the_exact_tick_sum() -> None:
    start_s = 1234.5678
    model = HeartModel(load_scenario("artifacts"), seed=3, start_s=start_s)
    beats = [model.next_beat() for _ in range(6000)]
    ticks = np.cumsum([b.rr_1024 for b in beats])
    assert all(isinstance(b.rr_1024, int) and b.rr_1024 > 0 for b in beats)
    for b, total in zip(beats, ticks):
        assert b.t_end_s == start_s + int(total) / TICKS
        assert round((b.t_end_s - start_s) * TICKS) == total
    assert model.now_s == beats[-1].t_end_s


def test_beats_until_is_inclusive_and_continues() -> None:
    model = HeartModel(load_scenario("calm"), seed=1)
    first = model.beats_until(60.0)
    assert first and first[-1].t_end_s <= 60.0
    assert model.beats_until(60.0) == []
    assert model.beats_until(10.0) == []  # the past is gone
    later = model.beats_until(120.0)
    assert later[0].t_end_s > 60.0 and later[-1].t_end_s <= 120.0
    # the beat straddling 120 s is delivered next, not lost
    nxt = model.next_beat()
    assert nxt.t_end_s > 120.0
    assert nxt.t_end_s - nxt.rr_1024 / TICKS <= 120.0
    # a beat ending exactly on the boundary is included
    m2 = HeartModel(load_scenario("calm"), seed=1)
    b0 = m2.next_beat()
    m3 = HeartModel(load_scenario("calm"), seed=1)
    assert m3.beats_until(b0.t_end_s) == [b0]


# ---------------------------------------------------------------- per-state realism


@pytest.mark.parametrize("state", sorted(STATES))
def test_mean_hr_matches_the_state(state: str, state_runs: dict[str, list[SimBeat]]) -> None:
    beats = state_runs[state]
    rr = rr_ms(beats)
    assert mean_hr(rr) == pytest.approx(STATES[state].hr_bpm, abs=2.0)
    assert rr.min() >= 300 and rr.max() <= 2000
    assert {b.kind for b in beats} == {"normal"}
    assert {b.state for b in beats} == {state}


def test_rmssd_levels_and_ordering(state_runs: dict[str, list[SimBeat]]) -> None:
    r = {name: rmssd(rr_ms(beats)) for name, beats in state_runs.items()}
    assert 30 <= r["settled"] <= 50
    assert r["activated"] < r["settled"] < r["slow-breathing"]
    assert math.log(r["settled"]) - math.log(r["activated"]) >= 0.35
    assert r["shutdown-like"] < 0.5 * r["settled"]


@pytest.mark.parametrize("state", ["settled", "slow-breathing"])
def test_breathing_rate_recovered_from_spectrum(state: str, state_runs: dict[str, list[SimBeat]]) -> None:
    assert breathing_peak_bpm(state_runs[state]) == pytest.approx(STATES[state].breathing_bpm, abs=1.0)


def test_slow_breathing_has_a_large_rsa(state_runs: dict[str, list[SimBeat]]) -> None:
    """Peak-to-trough of the breath-linked swing: fit a sinusoid at the breathing rate."""

    def swing(beats: list[SimBeat], bpm: float) -> float:
        t, rr = t_end(beats), rr_ms(beats)
        f = bpm / 60.0
        design = np.column_stack([np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t), np.ones_like(t)])
        # breathing rate wanders a little, so fit breath-sized pieces and average
        amps = []
        for start in np.arange(t[0], t[-1] - 60, 60):
            sel = (t >= start) & (t < start + 60)
            coef, *_ = np.linalg.lstsq(design[sel], rr[sel], rcond=None)
            amps.append(2 * math.hypot(coef[0], coef[1]))
        return float(np.median(amps))

    slow = swing(state_runs["slow-breathing"], 6.0)
    settled = swing(state_runs["settled"], 12.0)
    assert 100 <= slow <= 220
    assert slow > 2 * settled


def test_ten_second_hr_means_spread_realistically(state_runs: dict[str, list[SimBeat]]) -> None:
    """Baseline sigma_HR of 10-s means: above zero, but well below the 8 bpm activation floor."""
    beats = state_runs["settled"]
    t, rr = t_end(beats), rr_ms(beats)
    means = [mean_hr(rr[(t >= a) & (t < a + 10)]) for a in range(0, 1790, 10)]
    assert 0.5 <= float(np.std(means)) <= 3.0


# ---------------------------------------------------------------- blending and breathing


def test_params_blend_smoothly_in_activation() -> None:
    scn = load_scenario("activation")
    model = HeartModel(scn)
    rise = scn.phases[1]
    s, a = STATES[scn.phases[0].state], STATES[rise.state]
    assert model.params_at(rise.at_s - 1) == s
    assert model.params_at(rise.at_s + rise.ramp_s + 1).hr_bpm == pytest.approx(a.hr_bpm)
    assert model.params_at(rise.at_s + rise.ramp_s / 2).hr_bpm == pytest.approx((s.hr_bpm + a.hr_bpm) / 2)
    grid = np.arange(0, scn.duration_s, 0.5)
    hr = np.array([model.params_at(t).hr_bpm for t in grid])
    steepest = max(p.ramp_s for p in scn.phases[1:])  # any ramp is >= 90 s here
    assert steepest >= 90
    assert np.max(np.abs(np.diff(hr))) < 0.5  # bpm per half second: no jumps anywhere


def test_no_jump_in_local_mean_hr_at_phase_changes() -> None:
    scn = load_scenario("activation")
    beats = HeartModel(scn).beats_until(scn.duration_s)
    hr = 60000.0 / rr_ms(beats)
    moving = np.convolve(hr, np.ones(10) / 10, mode="valid")
    assert np.max(np.abs(np.diff(moving))) < 3.0
    assert moving.max() - moving.min() > 20  # and the activation is really there
    states = [b.state for b in beats]
    assert states[0] == "settled" and "activated" in states and states[-1] == "settled"


def test_set_breathing_rate_is_phase_continuous_and_takes_effect() -> None:
    model = HeartModel(Scenario.steady("settled", 1200), seed=21)
    model.beats_until(120.0)
    before = model.breathing_phase
    model.set_breathing_rate(6.0)
    assert model.breathing_phase == before  # setting the rate never moves the phase

    phases = [model.breathing_phase]
    beats: list[SimBeat] = []
    while model.now_s < 600.0:
        beats.append(model.next_beat())
        phases.append(model.breathing_phase)
    advance = np.mod(np.diff(phases), 1.0)
    expected = np.array([6.0 / 60.0 * b.rr_1024 / TICKS for b in beats])
    # every beat moves the phase forward by about rate x RR: no jumps (first beat may still run at 12/min)
    assert np.all(advance[1:] <= 1.5 * expected[1:])
    assert np.all(advance[1:] >= 0.5 * expected[1:])
    assert advance[0] <= 2.5 * expected[0]

    after = [b for b in beats if b.t_end_s >= 150.0]
    assert breathing_peak_bpm(after) == pytest.approx(6.0, abs=1.0)
    p = model.params_at(300.0)
    assert p.breathing_bpm == 6.0
    assert p.rsa_ms > 1.5 * STATES["settled"].rsa_ms  # pacing near resonance enlarges RSA
    assert model.params_at(60.0).breathing_bpm == STATES["settled"].breathing_bpm

    model.set_breathing_rate(15.0)
    fast = model.beats_until(1200.0)
    assert breathing_peak_bpm([b for b in fast if b.t_end_s >= 660.0]) == pytest.approx(15.0, abs=1.0)


def test_set_breathing_rate_rejects_nonsense() -> None:
    model = HeartModel(load_scenario("calm"))
    for bad in (0.0, -6.0, 100.0, float("nan")):
        with pytest.raises(ValueError):
            model.set_breathing_rate(bad)


def test_clear_breathing_rate_hands_back_to_the_scenario() -> None:
    model = HeartModel(Scenario.steady("settled", 600), seed=2)
    model.beats_until(60)
    model.set_breathing_rate(6.0)
    model.beats_until(120)
    model.clear_breathing_rate()
    model.beats_until(180)
    assert model.params_at(90).breathing_bpm == 6.0
    assert model.params_at(170) == STATES["settled"]


def test_phase_breathing_override_is_followed() -> None:
    # fixed paced phases (what resonance-steps was before it breathed with the app's pacer)
    paced = [Phase(at_s=300.0 + 120.0 * k, state="slow-breathing", ramp_s=20.0 if k == 0 else 10.0, breathing_bpm=bpm)
             for k, bpm in enumerate((6.5, 6.0, 5.5, 5.0, 4.5))]
    scn = Scenario(name="stepped", description="", duration_s=960.0, seed=5,
                   phases=(Phase(at_s=0.0, state="settled"), *paced, Phase(at_s=900.0, state="settled", ramp_s=30.0)))
    model = HeartModel(scn)
    beats = model.beats_until(scn.duration_s)
    for ph in scn.phases:
        if ph.breathing_bpm is None:
            continue
        window = [b for b in beats if ph.at_s + 20 <= b.t_end_s < ph.at_s + 120]
        assert breathing_peak_bpm(window) == pytest.approx(ph.breathing_bpm, abs=1.0)
        assert model.params_at(ph.at_s + 60).breathing_bpm == pytest.approx(ph.breathing_bpm)


def test_resonance_gain() -> None:
    assert rsa_gain(12, 12) == pytest.approx(1.0)
    assert rsa_gain(6, 12) > 2.0
    assert rsa_gain(20, 12) < 1.0
    assert rsa_gain(5.5, 6) > rsa_gain(6.5, 6)


# ---------------------------------------------------------------- faults


@pytest.fixture(scope="module")
def artifact_runs() -> tuple[Scenario, list[SimBeat], list[SimBeat]]:
    scn = load_scenario("artifacts")
    faulty = HeartModel(scn).beats_until(scn.duration_s)
    clean = HeartModel(dataclasses.replace(scn, faults=())).beats_until(scn.duration_s)
    return scn, faulty, clean


def test_fault_kinds_appear_near_their_times_in_the_right_counts(artifact_runs) -> None:
    scn, beats, _ = artifact_runs
    assert scn.beat_faults()
    for fault in scn.beat_faults():
        lo, hi = fault.at_s, fault.at_s + fault.duration_s + 5.0
        near = [b for b in beats if b.kind == fault.kind and lo <= b.t_end_s <= hi]
        per_event = 2 if fault.kind == "extra" else 1
        assert len(near) == fault.count * per_event, fault
    totals = Counter(b.kind for b in beats)
    assert totals["ectopic"] == totals["compensatory"] == sum(f.count for f in scn.faults if f.kind == "ectopic")
    assert totals["missed"] == sum(f.count for f in scn.faults if f.kind == "missed")
    assert totals["extra"] == 2 * sum(f.count for f in scn.faults if f.kind == "extra")
    bad = len(beats) - totals["normal"]
    assert 0.02 <= bad / len(beats) <= 0.08  # "a few percent", in bursts
    first_fault = min(f.at_s for f in scn.faults)
    assert all(b.kind == "normal" for b in beats if b.t_end_s < first_fault)


def test_fault_shapes_against_the_clean_rhythm(artifact_runs) -> None:
    """Faults change what is reported, not the heart: compare with the same seed without faults."""
    _, beats, clean = artifact_runs
    clean_end = {round(b.t_end_s * TICKS): b.rr_1024 for b in clean}
    clean_ticks = sorted(clean_end)
    index = {tick: i for i, tick in enumerate(clean_ticks)}
    i = 0
    while i < len(beats):
        b = beats[i]
        end = round(b.t_end_s * TICKS)
        if b.kind == "normal":
            assert clean_end[end] == b.rr_1024
            i += 1
        elif b.kind == "ectopic":
            comp = beats[i + 1]
            assert comp.kind == "compensatory"
            k = index[round(comp.t_end_s * TICKS)]
            rr1, rr2 = clean_end[clean_ticks[k - 1]], clean_end[clean_ticks[k]]
            assert 0.59 <= b.rr_1024 / rr1 <= 0.76
            assert b.rr_1024 + comp.rr_1024 == rr1 + rr2  # about two normal RRs, exactly
            assert comp.rr_1024 > rr1
            i += 2
        elif b.kind == "missed":
            k = index[end]
            rr1, rr2 = clean_end[clean_ticks[k - 1]], clean_end[clean_ticks[k]]
            assert b.rr_1024 == rr1 + rr2
            assert 1.7 <= b.rr_1024 / np.median(list(clean_end.values())) <= 2.4
            i += 1
        elif b.kind == "extra":
            second = beats[i + 1]
            assert second.kind == "extra"
            whole = clean_end[round(second.t_end_s * TICKS)]
            assert b.rr_1024 + second.rr_1024 == whole
            assert 0.29 <= b.rr_1024 / whole <= 0.71
            i += 2
        else:
            pytest.fail(f"unexpected kind {b.kind!r}")


def test_burst_with_zero_duration_hits_consecutive_beats() -> None:
    scn = Scenario(
        name="burst", description="", duration_s=120, seed=1,
        phases=(Phase(0, "settled"),),
        faults=(Fault("missed", at_s=30.0, count=3),),
    )
    beats = HeartModel(scn).beats_until(120)
    idx = [i for i, b in enumerate(beats) if b.kind == "missed"]
    assert len(idx) == 3 and idx == list(range(idx[0], idx[0] + 3))
    assert beats[idx[0]].t_end_s - beats[idx[0]].rr_1024 / TICKS >= 30.0


def test_start_s_offsets_the_session() -> None:
    scn = load_scenario("artifacts")
    model = HeartModel(scn, start_s=400.0)
    beats = model.beats_until(scn.duration_s)
    assert beats[0].t_end_s > 400.0
    assert all(t >= 400.0 for t, _ in model.fault_schedule)
    assert all(b.t_end_s > 400.0 - 1e-9 for b in beats if b.kind != "normal")
    scheduled = Counter(kind for _, kind in model.fault_schedule)
    assert scheduled["ectopic"] == 0  # all of them were before 400 s
    assert scheduled["missed"] == sum(f.count for f in scn.beat_faults() if f.kind == "missed" and f.at_s >= 400)
    assert scheduled["missed"] > 0
    assert Counter(b.kind for b in beats)["missed"] == scheduled["missed"]
