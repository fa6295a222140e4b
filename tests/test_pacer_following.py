"""PacerFollowing: phase locking, lag and rate difference of breathing against the pacer.

Breathing phases are built from the pacer itself (a known lag, noise) or from other
rhythms, so the truth is known by construction. One sample per second, as with the
breathing estimates.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from somafeedback.regulation.pacer import Pacer, PacerSettings
from somafeedback.signals.pacer_following import MAX_RATE_DIFFERENCE_BPM, MIN_LOCKING, FollowingEstimate, PacerFollowing

SIX = PacerSettings.from_rate(6.0)  # 4 s in, 6 s out


def follow(pacer: Pacer, breath_phase, breath_rate, t0: float = 0.0, t1: float = 120.0,
           following: PacerFollowing | None = None) -> FollowingEstimate:
    """Push one sample per second; breath_phase(t) and breath_rate(t) give the breathing."""
    following = following or PacerFollowing(60.0)
    result = None
    for t in np.arange(t0, t1, 1.0):
        state = pacer.at(float(t))
        result = following.push(float(t), breath_phase(t), breath_rate(t), state.cycle_fraction,
                                state.settings.breaths_per_min)
    assert result is not None
    return result


def test_locked_one_second_behind_a_6_per_minute_pacer() -> None:
    pacer = Pacer(SIX, start_s=0.0)
    rng = np.random.default_rng(1)
    result = follow(pacer, lambda t: (pacer.at(t - 1.0).cycle_fraction + 0.03 * rng.standard_normal()) % 1.0,
                    lambda t: 6.0 + 0.2 * rng.standard_normal())
    assert result.valid and result.reason == "" and result.n_samples == 60
    assert result.following
    assert result.phase_locking >= 0.95
    assert result.mean_lag_s == pytest.approx(1.0, abs=0.15)  # 0.1 breath of the 10 s pacer breath
    assert result.rate_difference_bpm == pytest.approx(0.0, abs=0.3)


def test_leading_gives_a_negative_lag() -> None:
    pacer = Pacer(SIX, start_s=0.0)
    result = follow(pacer, lambda t: pacer.at(t + 2.0).cycle_fraction, lambda t: 6.0)
    assert result.following and result.phase_locking == pytest.approx(1.0)
    assert result.mean_lag_s == pytest.approx(-2.0, abs=1e-6)


def test_breathing_at_12_with_a_6_per_minute_pacer_is_not_following() -> None:
    pacer = Pacer(SIX, start_s=0.0)
    result = follow(pacer, lambda t: (t * 12.0 / 60.0) % 1.0, lambda t: 12.0)
    assert result.valid and not result.following
    assert result.phase_locking < 0.3  # the difference turns once every 10 s: no fixed relation
    assert result.rate_difference_bpm == pytest.approx(6.0)


def test_random_phase_is_not_following() -> None:
    pacer = Pacer(SIX, start_s=0.0)
    rng = np.random.default_rng(2)
    result = follow(pacer, lambda t: float(rng.uniform()), lambda t: 6.0)
    assert result.valid and not result.following
    assert result.phase_locking < MIN_LOCKING / 2.0  # ~1/sqrt(60) = 0.13 expected


def test_locked_phase_but_a_different_rate_is_not_following() -> None:
    """The rule needs both: locking and a rate within 1 breath/min."""
    pacer = Pacer(SIX, start_s=0.0)
    result = follow(pacer, lambda t: pacer.at(t).cycle_fraction, lambda t: 6.0 + 1.5 * MAX_RATE_DIFFERENCE_BPM)
    assert result.phase_locking == pytest.approx(1.0) and not result.following


def test_following_survives_a_pacer_change() -> None:
    pacer = Pacer(SIX, start_s=0.0)
    pacer.set_settings(PacerSettings.from_rate(5.5), at_s=90.0)  # phase-continuous switch
    result = follow(pacer, lambda t: pacer.at(t - 1.0).cycle_fraction, lambda t: pacer.at(t).settings.breaths_per_min,
                    t1=140.0)
    assert result.following and result.phase_locking >= 0.98
    assert result.mean_lag_s == pytest.approx(1.0, abs=0.1)


def test_window_validity_and_skipped_samples() -> None:
    pacer = Pacer(SIX, start_s=0.0)
    following = PacerFollowing(60.0)
    early = follow(pacer, lambda t: pacer.at(t).cycle_fraction, lambda t: 6.0, t1=9.0, following=following)
    assert not early.valid and early.reason == "too few breathing samples" and math.isnan(early.phase_locking)
    short = follow(pacer, lambda t: pacer.at(t).cycle_fraction, lambda t: 6.0, t0=9.0, t1=15.0, following=following)
    assert not short.valid and short.reason == "window too short for the pacer period"  # 14 s < 2 breaths of 10 s
    ok = follow(pacer, lambda t: pacer.at(t).cycle_fraction, lambda t: 6.0, t0=15.0, t1=25.0, following=following)
    assert ok.valid and ok.following
    # nan breathing (the breathing estimate invalid, e.g. movement) is skipped, and the window empties
    gone = follow(pacer, lambda t: math.nan, lambda t: math.nan, t0=25.0, t1=90.0, following=following)
    assert not gone.valid and gone.n_samples == 0
    # after locked breathing, 60 s of unrelated breathing replace it completely
    follow(pacer, lambda t: pacer.at(t).cycle_fraction, lambda t: 6.0, t0=90.0, t1=200.0, following=following)
    rng = np.random.default_rng(3)
    after = follow(pacer, lambda t: float(rng.uniform()), lambda t: 6.0, t0=200.0, t1=261.0, following=following)
    assert after.valid and not after.following and after.n_samples == 60
    no_pacer = following.push(261.0, 0.5, 6.0, math.nan, math.nan)
    assert not no_pacer.valid and no_pacer.reason == "no pacer rate"
    following.reset()
    assert following.push(300.0, 0.1, 6.0, 0.1, 6.0).n_samples == 1


def test_running_sums_match_a_fresh_computation_after_a_long_session() -> None:
    pacer = Pacer(SIX, start_s=0.0)
    rng = np.random.default_rng(4)
    following = PacerFollowing(60.0)
    phases: list[tuple[float, float]] = []
    result = None
    for t in np.arange(0.0, 5000.0, 0.5):
        locked = (pacer.at(t - 0.5).cycle_fraction + 0.05 * rng.standard_normal()) % 1.0
        breath = float(rng.uniform()) if t % 600 < 300 else locked
        state = pacer.at(float(t))
        phases.append((breath, state.cycle_fraction))
        result = following.push(float(t), breath, 6.0, state.cycle_fraction, 6.0)
    last = np.array(phases[-120:])  # the window's samples: (t - 60, t] at 2 per second
    mean = np.exp(2j * np.pi * (last[:, 1] - last[:, 0])).mean()
    assert result is not None and result.n_samples == 120
    assert result.phase_locking == pytest.approx(abs(mean), abs=1e-9)
    assert result.mean_lag_s == pytest.approx(np.angle(mean) / (2 * np.pi) * 10.0, abs=1e-7)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 0.999), st.floats(0.0, 0.999), st.floats(3.0, 30.0)), min_size=1, max_size=80),
       st.floats(3.0, 30.0))
def test_values_stay_in_range(samples: list[tuple[float, float, float]], pacer_rate: float) -> None:
    following = PacerFollowing(60.0)
    period = 60.0 / pacer_rate
    for i, (breath, pacer_phase, rate) in enumerate(samples):
        result = following.push(float(i), breath, rate, pacer_phase, pacer_rate)
        assert result.n_samples == min(i + 1, 60)
        if result.valid:
            assert 0.0 <= result.phase_locking <= 1.0
            assert -period / 2.0 - 1e-9 <= result.mean_lag_s <= period / 2.0 + 1e-9
            assert result.following == (result.phase_locking >= MIN_LOCKING
                                        and abs(result.rate_difference_bpm) <= MAX_RATE_DIFFERENCE_BPM)
        else:
            assert not result.following and result.reason
