"""Dyad scenarios: the file format, determinism, the ground truth, and the coupling as it shows in the beats."""

from __future__ import annotations

import dataclasses
import json
import stat
from pathlib import Path

import numpy as np
import pytest

from somafeedback.devices.simulator.dyad import dyad_truth, is_dyad, load_dyad, truth_json, write_truth
from somafeedback.devices.simulator.physiology import HeartModel
from somafeedback.devices.simulator.scenario import Scenario, ScenarioError, builtin_scenarios, load_scenario

DYADS = ("dyad-in-phase", "dyad-anti-phase", "dyad-uncoupled", "dyad-shared-pacer")
FS_HZ = 4.0  # the HR series' sampling rate
WINDOW_S = 30.0
STEP_S = 5.0
MAX_LAG_S = 5.0


# ---------------------------------------------------------------- a cross-correlation written for the test


def hr_series(scn: Scenario, until_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Instantaneous HR (bpm) of the model's beats, resampled at 4 Hz."""
    beats = HeartModel(scn).beats_until(until_s)
    t = np.array([b.t_end_s for b in beats])
    hr = 60.0 / (np.array([b.rr_1024 for b in beats]) / 1024.0)
    grid = np.arange(t[0], t[-1], 1.0 / FS_HZ)
    return grid, np.interp(grid, t, hr)


def _detrend(x: np.ndarray) -> np.ndarray:
    n = np.arange(len(x))
    return x - np.polyval(np.polyfit(n, x, 1), n)


def mean_xcorr(grid: np.ndarray, a: np.ndarray, b: np.ndarray, *spans: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Lags (s; > 0: b after a) and the Fisher-z mean of corr(a(t), b(t + lag)) over 30 s windows (5 s steps) in the spans."""
    lags = np.arange(-int(MAX_LAG_S * FS_HZ), int(MAX_LAG_S * FS_HZ) + 1)
    zs = []
    for lo_s, hi_s in spans:
        for start in np.arange(lo_s, hi_s - WINDOW_S + 1e-9, STEP_S):
            m = (grid >= start) & (grid < start + WINDOW_S)
            x, y = _detrend(a[m]), _detrend(b[m])
            r = [np.corrcoef(x[: len(x) - k], y[k:])[0, 1] if k >= 0 else np.corrcoef(x[-k:], y[: len(y) + k])[0, 1]
                 for k in lags]
            zs.append(np.arctanh(np.clip(r, -0.999, 0.999)))
    return lags / FS_HZ, np.tanh(np.mean(zs, axis=0))


def _pair(name: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    dyad = load_dyad(name)
    grid, client = hr_series(dyad.client, dyad.duration_s)
    grid_p, practitioner = hr_series(dyad.practitioner, dyad.duration_s)
    common = np.arange(max(grid[0], grid_p[0]), min(grid[-1], grid_p[-1]), 1.0 / FS_HZ)
    return common, {"client": np.interp(common, grid, client), "practitioner": np.interp(common, grid_p, practitioner)}


# ---------------------------------------------------------------- the coupling is in the beats


@pytest.mark.parametrize("name", ["dyad-in-phase", "dyad-anti-phase"])
def test_the_injected_lag_and_sign_are_in_the_beats(name: str) -> None:
    grid, hr = _pair(name)
    spans = dyad_truth(name)
    assert spans
    for span in spans:
        lags, r = mean_xcorr(grid, hr[span.leader], hr[span.follower], (span.full_start_s, span.full_end_s))
        sign = 1.0 if span.sign == "in-phase" else -1.0
        peak = int(np.argmax(np.abs(r)))
        assert abs(lags[peak] - span.lag_s) <= 0.5, (span, lags[peak])
        assert sign * r[peak] >= 0.3, (span, r[peak])  # the right sign, clearly
        # the leader really leads: the mirror lag is weaker
        assert abs(r[int(np.argmin(np.abs(lags + span.lag_s)))]) < abs(r[peak]) - 0.1


def test_coupled_spans_stand_out_from_the_uncoupled_ones() -> None:
    grid, hr = _pair("dyad-in-phase")
    spans = dyad_truth("dyad-in-phase")
    lags = mean_xcorr(grid, hr["practitioner"], hr["client"], (0.0, WINDOW_S))[0]
    for span in spans:
        r = mean_xcorr(grid, hr["practitioner"], hr["client"], (span.full_start_s, span.full_end_s))[1]
        assert r[int(np.argmin(np.abs(lags - span.lag_s)))] >= 0.35
    edges = [0.0, *(x for s in spans for x in (s.start_s, s.end_s + s.lag_s)), load_dyad("dyad-in-phase").duration_s]
    gaps = list(zip(edges[::2], edges[1::2]))
    assert len(gaps) == len(spans) + 1 and all(hi - lo >= 150 for lo, hi in gaps)  # drifting in and out
    r = mean_xcorr(grid, hr["practitioner"], hr["client"], *gaps)[1]
    assert abs(r[int(np.argmin(np.abs(lags - 2.0)))]) <= 0.2 and np.max(np.abs(r)) <= 0.25


def test_an_uncoupled_pair_stays_low() -> None:
    dyad = load_dyad("dyad-uncoupled")
    assert dyad_truth(dyad) == [] and dyad.pacers == ()
    grid, hr = _pair("dyad-uncoupled")
    _, r = mean_xcorr(grid, hr["practitioner"], hr["client"], (0.0, dyad.duration_s))
    assert np.max(np.abs(r)) <= 0.15


def test_a_shared_pacer_puts_both_breaths_and_heart_rates_in_step() -> None:
    dyad = load_dyad("dyad-shared-pacer")
    assert dyad_truth(dyad) == []  # entrainment is not coupling
    (pacer,) = dyad.pacers
    assert pacer.bpm == 6 and truth_json(dyad)["pacers"] == [
        {"start_s": pacer.at_s, "end_s": pacer.at_s + pacer.duration_s, "bpm": 6.0}]
    settled = pacer.at_s + 60.0
    grid = np.arange(settled, pacer.at_s + pacer.duration_s, 1.0)
    cycles = []
    for person in dyad.people():
        model = HeartModel(person)
        beats = model.beats_until(grid[-1] + 5)
        assert model.params_at(settled).breathing_bpm == 6.0
        cycles.append(np.interp(grid, [b.t_end_s for b in beats], [b.breath_cycles for b in beats]))
    apart = (cycles[0] - cycles[1] + 0.5) % 1.0 - 0.5  # breathing phase difference, cycles
    assert np.mean(np.abs(apart) <= 0.05) >= 0.95  # in step with the pacer and with each other
    grid, hr = _pair("dyad-shared-pacer")
    lags, paced = mean_xcorr(grid, hr["practitioner"], hr["client"], (settled, pacer.at_s + pacer.duration_s))
    _, before = mean_xcorr(grid, hr["practitioner"], hr["client"], (0.0, pacer.at_s))
    near_zero = np.abs(lags) <= 1.0
    assert np.max(paced[near_zero]) >= 0.5  # heart rates swing together with the shared breath
    assert np.max(np.abs(before)) <= 0.2


# ---------------------------------------------------------------- determinism and ground truth


def test_same_seeds_same_beats_whatever_the_slicing() -> None:
    dyad = load_dyad("dyad-in-phase")
    for person in dyad.people():
        whole = HeartModel(person).beats_until(420)
        model = HeartModel(person)
        sliced: list = []
        for edge in (0.3, 1.7, 2.0, 55.5, 118.0, 119.99, 150.0, 301.0, 420.0):
            sliced.extend(model.beats_until(edge))
        one_by_one = HeartModel(person)
        stepped = [one_by_one.next_beat() for _ in range(len(whole))]
        assert sliced == whole == stepped


def test_the_shared_seed_only_matters_where_people_are_coupled() -> None:
    dyad = load_dyad("dyad-in-phase")
    first = dyad_truth(dyad)[0]
    other = dataclasses.replace(dyad.client, coupling=dataclasses.replace(dyad.client.coupling, shared_seed=dyad.seed + 1))
    a = HeartModel(dyad.client).beats_until(first.full_start_s + 60)
    b = HeartModel(other).beats_until(first.full_start_s + 60)
    before = [x for x in a if x.t_end_s < first.start_s]
    assert before and b[: len(before)] == before
    assert a[len(before) + 40:] != b[len(before) + 40:]


def test_the_client_and_practitioner_differ_and_a_dyad_differs_from_a_lone_heart() -> None:
    dyad = load_dyad("dyad-uncoupled")
    client = HeartModel(dyad.client).beats_until(60)
    assert client != HeartModel(dyad.practitioner).beats_until(60)
    lone = dataclasses.replace(dyad.client, coupling=None)
    assert HeartModel(lone).beats_until(60) != client  # a dyad person has its own slow wave


def test_ground_truth_function_and_file(tmp_path: Path) -> None:
    spans = dyad_truth("dyad-in-phase")
    assert [(s.leader, s.follower, s.sign) for s in spans] == [("practitioner", "client", "in-phase")] * 3
    assert all(abs(s.lag_s - 2.0) <= 0.5 and 0.5 <= s.strength <= 1 for s in spans)
    assert all(s.start_s < s.full_start_s < s.full_end_s < s.end_s for s in spans)
    assert spans[0].lag_from("client") == -spans[0].lag_s and spans[0].lag_from("practitioner") == spans[0].lag_s
    anti = dyad_truth("dyad-anti-phase")
    assert {s.sign for s in anti} == {"anti-phase"} and {s.leader for s in anti} == {"client", "practitioner"}
    path = write_truth("dyad-anti-phase", tmp_path / "truth.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["straps"] == {"strap1": "client", "strap2": "practitioner"}
    assert [c["lag_s"] for c in data["couplings"]] == [s.lag_s for s in anti]


def test_builtin_dyads_load_and_a_dyad_file_read_alone_gives_the_client() -> None:
    assert set(DYADS) <= set(builtin_scenarios())
    for name in DYADS:
        assert is_dyad(name)
        dyad = load_dyad(name)
        assert 10 * 60 <= dyad.duration_s <= 30 * 60
        assert load_scenario(name) == dyad.client
        assert dyad.client.coupling is not None and dyad.client.coupling.role == "client"
        assert dyad.practitioner.coupling is not None and dyad.practitioner.coupling.role == "practitioner"
    assert not is_dyad("calm")
    with pytest.raises(ScenarioError, match=r"calm\.toml: people: not a dyad scenario"):
        load_dyad("calm")
