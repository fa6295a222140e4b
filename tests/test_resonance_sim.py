"""The simulated person of a resonance assessment: a resonance frequency (ground truth) and breathing
with the pacer on the screen (closed loop), at model level and through the simulated radio."""

from __future__ import annotations

import asyncio
import dataclasses
import math

import numpy as np
import pytest
from scipy import interpolate, signal

from somafeedback.clock import MAX_SPEED, SessionEventLoop
from somafeedback.devices.events import Notification, SourceEvent
from somafeedback.devices.gatt_uuids import HEART_RATE_MEASUREMENT
from somafeedback.devices.heart_rate import decode_measurement
from somafeedback.devices.pacer_view import PacerPoint, PacerView
from somafeedback.devices.simulator.acc_synth import AccSynth
from somafeedback.devices.simulator.physiology import HeartModel, SimBeat
from somafeedback.devices.simulator.scenario import (Scenario, ScenarioError, builtin_scenarios, load_scenario,
                                                     parse_scenario)
from somafeedback.live.sources import StrapSource, stream_straps

RES_BPM = 5.0
ZETA = 0.3


def blocks_view(blocks: list[tuple[float, float, float]], inhale_share: float = 0.4) -> PacerView:
    """A pacer on the screen: (start_s, end_s, bpm) blocks of session time, each starting at its inhale."""
    def view(t_s: float) -> PacerPoint | None:
        for start, end, bpm in blocks:
            if start <= t_s < end:
                return PacerPoint(((t_s - start) * bpm / 60.0) % 1.0, bpm, inhale_share)
        return None
    return view


def person(fidelity: float = 1.0, lag_s: float = 0.8, depth: float = 1.0) -> Scenario:
    base = load_scenario("resonance-steps")
    return dataclasses.replace(base, follow_pacer=dataclasses.replace(base.follow_pacer, fidelity=fidelity,
                                                                        lag_s=lag_s, depth=depth))


def paced_beats(bpm: float, fidelity: float = 1.0, seconds: float = 240.0, offset_s: float = 0.0) -> list[SimBeat]:
    """Beats of a person shown a pacer at ``bpm`` from session time 30 s (the model's time + ``offset_s``)."""
    view = blocks_view([(30.0, 30.0 + seconds, bpm)])
    model = HeartModel(person(fidelity), seed=3, pacer_view=view, pacer_offset_s=offset_s)
    return [b for b in model.beats_until(30.0 + seconds - offset_s) if b.t_end_s + offset_s >= 90.0]


def rate_bpm(beats: list[SimBeat]) -> float:
    return (beats[-1].breath_cycles - beats[0].breath_cycles) / (beats[-1].t_end_s - beats[0].t_end_s) * 60.0


def phase_error(beats: list[SimBeat], view: PacerView, lag_s: float, offset_s: float = 0.0) -> np.ndarray:
    """Breathing phase minus the pacer's ``lag_s`` earlier (cycles, wrapped): inhale start = model phase 0.25."""
    pacer = np.array([view(b.t_end_s + offset_s - lag_s).cycle_fraction for b in beats])  # type: ignore[union-attr]
    own = np.array([b.breath_cycles - 0.25 for b in beats])
    return (own - pacer + 0.5) % 1.0 - 0.5


def swing_bpm(beats: list[SimBeat]) -> float:
    """Median peak-to-trough heart rate within each whole breath (bpm)."""
    hr = np.array([60000.0 / b.rr_ms for b in beats])
    breath = np.floor([b.breath_cycles for b in beats]).astype(int)
    return float(np.median([np.ptp(hr[breath == k]) for k in np.unique(breath)[1:-1]]))


# ---------------------------------------------------------------- the resonance curve (ground truth)


def test_the_resonance_peaks_at_its_rate_in_phase_and_leads_below_lags_above() -> None:
    model = HeartModel(person())
    assert model.resonance_bpm == RES_BPM
    rates = np.arange(3.0, 10.01, 0.25)
    for f in rates:  # an independent band-pass: H(s) = 2ζω0 s / (s² + 2ζω0 s + ω0²) at s = jω
        w, w0 = 2 * math.pi * f, 2 * math.pi * RES_BPM
        h = 2 * ZETA * w0 * 1j * w / (w0 * w0 - w * w + 2j * ZETA * w0 * w)
        gain, phase = model.resonance_at(float(f))  # type: ignore[misc]
        assert gain == pytest.approx(abs(h), rel=1e-9) and phase == pytest.approx(np.angle(h), abs=1e-9)
    gains = [model.resonance_at(float(f))[0] for f in rates]  # type: ignore[index]
    assert rates[int(np.argmax(gains))] == RES_BPM and max(gains) == pytest.approx(1.0)
    assert model.resonance_at(RES_BPM)[1] == pytest.approx(0.0, abs=1e-12)  # type: ignore[index]
    assert model.resonance_at(4.5)[1] > 0.1 and model.resonance_at(6.0)[1] < -0.1  # type: ignore[index]
    steps = [model.resonance_at(f)[0] for f in (6.5, 6.0, 5.5, 5.0, 4.5)]  # type: ignore[index]
    assert all(0.02 < abs(a - b) < 0.2 for a, b in zip(steps, steps[1:]))  # adjacent steps: a few %, told apart
    assert HeartModel(Scenario.steady("settled", 60)).resonance_at(5.0) is None


def test_resonance_keys_are_checked_in_words() -> None:
    base = {"duration": 60, "phase": [{"at": 0, "state": "settled"}]}
    assert parse_scenario({**base, "resonance_bpm": 5.5}, "r.toml", "r").resonance_bpm == 5.5
    for bad, field in (({"resonance_bpm": 12}, "resonance_bpm"), ({"resonance_damping": 0}, "resonance_damping"),
                       ({"follow_pacer": {"fidelity": 1.5}}, "follow_pacer.fidelity"),
                       ({"follow_pacer": {"speed": 1}}, "follow_pacer.speed")):
        with pytest.raises(ScenarioError, match=f"r.toml: {field}"):
            parse_scenario({**base, **bad}, "r.toml", "r")
    assert {"resonance-steps", "resonance-ignores-pacer"} <= set(builtin_scenarios())


# ---------------------------------------------------------------- breathing with the pacer


@pytest.mark.parametrize("bpm", [5.0, 6.5])
def test_the_person_breathes_at_the_pacer_rate_locked_to_its_phase_with_the_lag(bpm: float) -> None:
    offset = 12.5  # the strap started 12.5 s into the session: the view reads session time
    beats = paced_beats(bpm, offset_s=offset)
    assert rate_bpm(beats) == pytest.approx(bpm, abs=0.05)
    view = blocks_view([(30.0, 270.0, bpm)])
    error = phase_error(beats, view, lag_s=0.8, offset_s=offset)
    assert abs(float(np.mean(error))) < 0.03 and float(np.std(error)) < 0.05  # locked, 0.8 s behind
    assert abs(float(np.mean(phase_error(beats, view, lag_s=0.8 + 60.0 / bpm / 4, offset_s=offset)))) > 0.2


def test_fidelity_zero_ignores_the_pacer() -> None:
    beats = paced_beats(5.0, fidelity=0.0)
    assert rate_bpm(beats) == pytest.approx(12.0, abs=1.0)
    assert rate_bpm(beats) == pytest.approx(rate_bpm([b for b in HeartModel(person(0.0), seed=3).beats_until(270.0)
                                                      if b.t_end_s >= 90.0]))
    assert load_scenario("resonance-ignores-pacer").follow_pacer.fidelity == 0.0  # type: ignore[union-attr]


def test_the_breath_linked_swing_is_largest_at_resonance() -> None:
    at = {bpm: swing_bpm(paced_beats(bpm)) for bpm in (4.0, 5.0, 6.0)}
    assert 10.0 <= at[5.0] <= 25.0  # a settled person at resonance, peak to trough per breath
    assert at[5.0] > 1.1 * at[6.0] and at[5.0] > 1.05 * at[4.0]
    spontaneous = [b for b in HeartModel(person(), seed=3).beats_until(240.0) if b.t_end_s >= 60.0]
    assert at[6.0] > 2.0 * swing_bpm(spontaneous)


def test_depth_scales_the_swing_and_the_chest_motion() -> None:
    view = blocks_view([(0.0, 300.0, 6.0)])
    models = [HeartModel(person(depth=d), seed=3, pacer_view=view) for d in (1.5, 1.0)]
    assert models[0].params_at(200.0).rsa_ms == pytest.approx(1.5 * models[1].params_at(200.0).rsa_ms)
    assert models[1].params_at(200.0).breathing_bpm == 6.0
    deep, plain = (model.beats_until(300.0) for model in models)
    assert deep[-1].breath_depth == pytest.approx(1.5, abs=0.01) and plain[-1].breath_depth == 1.0
    assert swing_bpm(deep[-150:]) > 1.25 * swing_bpm(plain[-150:])
    synth = AccSynth(fs_hz=25.0, seed=1)
    cycles = np.arange(500) / 25.0 * 0.1
    still = synth.render(0, 500, cycles, np.zeros(500))  # posture and sensor noise only (noise is drawn per sample index)
    span = [np.ptp((synth.render(0, 500, cycles, depth) - still) @ synth.breath_direction) for depth in (None, np.full(500, 2.0))]
    assert span[1] == pytest.approx(2.0 * span[0], rel=0.1) and span[0] > 5.0


def rendered_lung(beats: list[SimBeat], t0_s: float, t1_s: float, fs_hz: float = 50.0) -> tuple[np.ndarray, ...]:
    """(times, breath cycles, lung level) of the chest motion the H10 renders from ``beats`` (its breathing
    term alone, projected on the breathing direction), cycles and shape interpolated between beats as the
    strap does."""
    t = np.array([b.t_end_s for b in beats])
    first = int(t0_s * fs_hz)
    n = int((t1_s - t0_s) * fs_hz)
    tg = (first + np.arange(n)) / fs_hz
    cycles = np.interp(tg, t, [b.breath_cycles for b in beats])
    share = np.interp(tg, t, [b.inhale_share for b in beats])
    synth = AccSynth(fs_hz=fs_hz, seed=1, breath_depth_mg=1000.0)
    moving = synth.render(first, n, cycles, None, share) - synth.render(first, n, cycles, np.zeros(n), share)
    return tg, cycles, moving @ synth.breath_direction / 1000.0 + 0.5


def fundamental_rad(cycles: np.ndarray, y: np.ndarray, t_s: np.ndarray) -> float:
    """Where ``y``'s fundamental over the breath peaks (rad from the inhale's start: model phase 0.25)."""
    angle = 2.0 * math.pi * (cycles - 0.25)
    design = np.column_stack((np.ones(len(y)), t_s - t_s.mean(), np.cos(angle), np.sin(angle)))
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    return math.atan2(coef[3], coef[2])


@pytest.mark.parametrize("share", [0.4, 0.5])
def test_a_person_following_the_pacer_breathes_in_for_its_inhale_share(share: float) -> None:
    view = blocks_view([(0.0, 300.0, 6.0)], inhale_share=share)
    beats = HeartModel(person(), seed=3, pacer_view=view).beats_until(200.0)
    assert beats[-1].inhale_share == pytest.approx(share)
    tg, _, lung = rendered_lung(beats, 60.0, 195.0)
    troughs = signal.find_peaks(-lung, distance=int(0.6 * 10.0 * 50.0))[0]
    inhale_shares = [(int(np.argmax(lung[a:b])) / (b - a)) for a, b in zip(troughs, troughs[1:])]
    assert len(inhale_shares) >= 11 and float(np.median(inhale_shares)) == pytest.approx(share, abs=0.02)
    assert float(np.ptp(lung)) == pytest.approx(1.0, abs=0.02)  # the level still spans empty to full lungs


def test_heart_rate_is_in_phase_with_lung_volume_at_resonance_and_leads_below_it() -> None:
    lead = {}
    for bpm in (4.5, 5.0, 5.5):
        beats = [b for b in paced_beats(bpm) if b.t_end_s <= 260.0]
        tg, cycles, lung = rendered_lung(beats, beats[0].t_end_s, beats[-1].t_end_s)
        t = np.array([b.t_end_s for b in beats])
        hr_rad = fundamental_rad(np.array([b.breath_cycles for b in beats]), 60000.0 / np.array([b.rr_ms for b in beats]), t)
        lead[bpm] = (math.degrees(fundamental_rad(cycles, lung, tg) - hr_rad) + 180.0) % 360.0 - 180.0
    assert abs(lead[5.0]) < 5.0  # the symmetric breath's heart rate peak would be 18 degrees late
    assert lead[4.5] > 10.0 and lead[5.5] < -10.0


def test_same_view_and_seed_give_the_same_beats() -> None:
    assert [b.rr_1024 for b in paced_beats(5.5)] == [b.rr_1024 for b in paced_beats(5.5)]


# ---------------------------------------------------------------- through the simulated radio


class _RrSink:
    def __init__(self) -> None:
        self.rr_1024: list[int] = []

    def notification(self, notification: Notification) -> None:
        if notification.characteristic == HEART_RATE_MEASUREMENT:
            self.rr_1024.extend(decode_measurement(notification.payload).rr_1024)

    def event(self, event: SourceEvent) -> None:
        pass


def _peak_bpm(rr_1024: list[int]) -> float:
    """Dominant tachogram frequency (breaths/min) of a run of RR intervals."""
    rr = np.array(rr_1024, dtype=float) / 1024.0
    t = np.cumsum(rr)
    grid = np.arange(t[0], t[-1], 0.25)
    series = signal.detrend(interpolate.CubicSpline(t, rr)(grid))
    freqs, power = signal.welch(series, fs=4.0, nperseg=len(series))
    band = (freqs >= 0.04) & (freqs <= 0.4)
    return float(freqs[band][np.argmax(power[band])] * 60.0)


def test_a_simulated_strap_breathes_with_a_pacer_that_changes_rate() -> None:
    view = blocks_view([(0.0, 100.0, 9.0), (100.0, 200.0, 4.0)])
    sink = _RrSink()

    async def main() -> None:
        await stream_straps(StrapSource(simulate="resonance-steps", seed=2, simulated_model="hr"), sink, 200.0,
                            pacer_view=view)

    with asyncio.Runner(loop_factory=lambda: SessionEventLoop(MAX_SPEED)) as runner:
        runner.run(main())
    t_end = np.cumsum(sink.rr_1024) / 1024.0  # from the first beat received (a few s into the session)
    first = [rr for rr, t in zip(sink.rr_1024, t_end) if 30.0 <= t < 90.0]
    second = [rr for rr, t in zip(sink.rr_1024, t_end) if 130.0 <= t < 190.0]
    assert _peak_bpm(first) == pytest.approx(9.0, abs=1.0)
    assert _peak_bpm(second) == pytest.approx(4.0, abs=1.0)
