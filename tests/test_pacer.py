"""The breathing pacer: a pure function of session time, phase-continuous settings changes."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from somafeedback.regulation.pacer import PHASES, Pacer, PacerSettings, PhaseChange

DEFAULT = PacerSettings()  # 4 s in, 6 s out


def _valid_settings() -> st.SearchStrategy[PacerSettings]:
    seconds = st.floats(min_value=0.5, max_value=10.0, allow_nan=False)
    holds = st.one_of(st.just(0.0), st.floats(min_value=0.1, max_value=4.0, allow_nan=False))
    return (
        st.tuples(seconds, seconds, holds, holds)
        .filter(lambda v: 2.0 <= sum(v) <= 30.0)
        .map(lambda v: PacerSettings(inhale_s=v[0], exhale_s=v[1], hold_in_s=v[2], hold_out_s=v[3]))
    )


def _sample_phases(pacer: Pacer, t0: float, t1: float, dt: float) -> list[tuple[float, str]]:
    """(time, phase) at every phase change seen when sampling every dt."""
    seen: list[tuple[float, str]] = []
    previous = None
    for i in range(int(round((t1 - t0) / dt)) + 1):
        t = t0 + i * dt
        phase = pacer.at(t).phase
        if phase != previous:
            seen.append((t, phase))
            previous = phase
    return seen


# --- settings ---------------------------------------------------------------------------

def test_breaths_per_minute() -> None:
    assert DEFAULT.breaths_per_min == pytest.approx(6.0)
    assert DEFAULT.period_s == pytest.approx(10.0)
    assert PacerSettings(5, 5).breaths_per_min == pytest.approx(6.0)
    assert PacerSettings(2, 3).breaths_per_min == pytest.approx(12.0)
    assert PacerSettings(4, 6, hold_in_s=1, hold_out_s=1).breaths_per_min == pytest.approx(5.0)


def test_from_rate_gives_40_60_by_default() -> None:
    six = PacerSettings.from_rate(6)
    assert (six.inhale_s, six.exhale_s, six.hold_in_s, six.hold_out_s) == pytest.approx((4, 6, 0, 0))
    assert PacerSettings.from_rate(4.5, inhale_share=0.5).period_s == pytest.approx(60 / 4.5)
    with pytest.raises(ValueError):
        PacerSettings.from_rate(0)
    with pytest.raises(ValueError):
        PacerSettings.from_rate(6, inhale_share=1.0)


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"inhale_s": 0}, "inhale_s"),
        ({"exhale_s": -1}, "exhale_s"),
        ({"hold_in_s": -0.5}, "hold_in_s"),
        ({"hold_out_s": -0.1}, "hold_out_s"),
        ({"inhale_s": 0.5, "exhale_s": 1.0}, "2 to 30 s"),  # period 1.5 s: too fast
        ({"inhale_s": 15, "exhale_s": 15, "hold_out_s": 1}, "2 to 30 s"),  # period 31 s
        ({"inhale_s": math.nan}, "inhale_s"),
        ({"exhale_s": math.inf}, "exhale_s"),
        ({"inhale_s": True}, "inhale_s"),
        ({"exhale_s": "6"}, "exhale_s"),
    ],
)
def test_invalid_settings_raise(kwargs: dict, names: str) -> None:
    with pytest.raises(ValueError, match=names):
        PacerSettings(**kwargs)


def test_period_limits_are_inclusive() -> None:
    assert PacerSettings(1, 1).period_s == 2
    assert PacerSettings(12, 18).period_s == 30


# --- shape over one breath --------------------------------------------------------------

def test_default_breath_shape() -> None:
    pacer = Pacer(DEFAULT, start_s=100.0)
    start = pacer.at(100.0)
    assert (start.phase, start.progress, start.cycle_fraction, start.breath_index) == ("inhale", 0, 0, 0)
    assert start.target_level == pytest.approx(0.0)
    mid_inhale = pacer.at(102.0)
    assert mid_inhale.phase == "inhale" and mid_inhale.progress == pytest.approx(0.5)
    assert mid_inhale.target_level == pytest.approx(0.5)
    top = pacer.at(104.0)
    assert top.phase == "exhale" and top.progress == pytest.approx(0) and top.target_level == pytest.approx(1.0)
    assert pacer.at(103.999).target_level == pytest.approx(1.0, abs=1e-5)
    mid_exhale = pacer.at(107.0)
    assert mid_exhale.phase == "exhale" and mid_exhale.progress == pytest.approx(0.5)
    assert mid_exhale.target_level == pytest.approx(0.5)
    assert mid_exhale.cycle_fraction == pytest.approx(0.7)
    assert mid_exhale.phase_remaining_s == pytest.approx(3.0)
    again = pacer.at(110.0)
    assert again.phase == "inhale" and again.breath_index == 1 and again.cycle_fraction == pytest.approx(0)


def test_before_the_start_is_the_start() -> None:
    pacer = Pacer(DEFAULT, start_s=5.0)
    assert pacer.at(-100.0) == pacer.at(5.0)


@settings(max_examples=40, deadline=None)
@given(_valid_settings(), st.floats(min_value=-1e4, max_value=1e4), st.floats(min_value=0, max_value=500))
def test_period_equals_the_settings(pacer_settings: PacerSettings, start: float, offset: float) -> None:
    pacer = Pacer(pacer_settings, start)
    t = start + offset
    now, next_breath = pacer.at(t), pacer.at(t + pacer_settings.period_s)
    # one period later: exactly one more breath, at the same place in it (up to rounding)
    assert (next_breath.breath_index + next_breath.cycle_fraction) - (now.breath_index + now.cycle_fraction) \
        == pytest.approx(1.0, abs=1e-6)
    assert next_breath.target_level == pytest.approx(now.target_level, abs=1e-5)
    half = pacer.at(t + pacer_settings.period_s / 2)
    assert (half.breath_index + half.cycle_fraction) - (now.breath_index + now.cycle_fraction) == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize(
    "pacer_settings",
    [DEFAULT, PacerSettings(5, 5), PacerSettings(4, 6, hold_in_s=2, hold_out_s=3), PacerSettings(3, 4, hold_out_s=1.5)],
)
def test_phases_come_in_order_with_their_durations(pacer_settings: PacerSettings) -> None:
    dt = 0.001
    pacer = Pacer(pacer_settings, start_s=0.0)
    seen = _sample_phases(pacer, 0.0, 3 * pacer_settings.period_s - dt, dt)
    lengths = {"inhale": pacer_settings.inhale_s, "hold_in": pacer_settings.hold_in_s,
               "exhale": pacer_settings.exhale_s, "hold_out": pacer_settings.hold_out_s}
    expected_cycle = [phase for phase in PHASES if lengths[phase] > 0]
    assert [phase for _, phase in seen] == expected_cycle * 3
    ends = [t for t, _ in seen[1:]] + [3 * pacer_settings.period_s]
    for (start, phase), end in zip(seen, ends):
        assert end - start == pytest.approx(lengths[phase], abs=2 * dt)


def test_holds_hold_the_level() -> None:
    pacer = Pacer(PacerSettings(4, 6, hold_in_s=2, hold_out_s=3), start_s=0.0)
    for t in (4.0, 4.5, 5.9):
        state = pacer.at(t)
        assert state.phase == "hold_in" and state.target_level == pytest.approx(1.0)
    assert pacer.at(5.0).progress == pytest.approx(0.5)
    for t in (12.0, 13.0, 14.9):
        state = pacer.at(t)
        assert state.phase == "hold_out" and state.target_level == pytest.approx(0.0)
    assert pacer.at(15.0).phase == "inhale" and pacer.at(15.0).breath_index == 1


@pytest.mark.parametrize(
    "pacer_settings", [DEFAULT, PacerSettings(1, 1), PacerSettings(4, 6, hold_in_s=2, hold_out_s=3), PacerSettings(12, 18)]
)
def test_target_level_is_continuous_in_time(pacer_settings: PacerSettings) -> None:
    dt = 0.0005
    pacer = Pacer(pacer_settings, start_s=3.0)
    # the steepest point of a half-cosine over T seconds is pi / (2 T) per second
    max_step = math.pi / (2 * min(pacer_settings.inhale_s, pacer_settings.exhale_s)) * dt + 1e-9
    previous = pacer.at(3.0).target_level
    for i in range(1, int(2 * pacer_settings.period_s / dt) + 1):
        level = pacer.at(3.0 + i * dt).target_level
        assert 0.0 <= level <= 1.0
        assert abs(level - previous) <= max_step
        previous = level


# --- purity -----------------------------------------------------------------------------

def test_at_is_independent_of_call_order_and_rate() -> None:
    def make() -> Pacer:
        pacer = Pacer(DEFAULT, start_s=2.0)
        pacer.set_settings(PacerSettings(5, 5), at_s=33.3)
        pacer.set_settings(PacerSettings(4, 6, hold_out_s=2), at_s=71.0)
        return pacer

    rng = random.Random(7)
    times = [rng.uniform(-5, 200) for _ in range(2000)] + [2.0, 33.3, 71.0, 42.0]
    pacer = make()
    in_order = {t: pacer.at(t) for t in sorted(times)}
    shuffled = times[:]
    rng.shuffle(shuffled)
    assert {t: pacer.at(t) for t in shuffled} == in_order
    other = make()  # a fresh pacer sampled only at a few times (a slow timer) agrees too
    for t in times[::97]:
        assert other.at(t) == in_order[t]
    assert pacer.at(42.0) == pacer.at(42.0)


def test_long_sessions_keep_counting_breaths() -> None:
    pacer = Pacer(DEFAULT, start_s=0.0)
    state = pacer.at(6 * 3600 + 2.0)  # six hours in
    assert state.breath_index == 6 * 360
    assert state.phase == "inhale" and state.progress == pytest.approx(0.5)


# --- settings changes -------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(_valid_settings(), _valid_settings(), st.floats(min_value=0.01, max_value=120))
def test_set_settings_keeps_the_breath_position(old: PacerSettings, new: PacerSettings, switch_after: float) -> None:
    start = 10.0
    switch = start + switch_after
    reference = Pacer(old, start)
    pacer = Pacer(old, start)
    pacer.set_settings(new, at_s=switch)
    before = reference.at(switch)
    at_switch = pacer.at(switch)
    assert at_switch.settings == new
    assert at_switch.breath_index == before.breath_index
    assert at_switch.cycle_fraction == before.cycle_fraction  # exactly: no jump
    # before the switch nothing changed
    assert pacer.at(switch - 0.5 * old.period_s) == reference.at(switch - 0.5 * old.period_s)
    # just around the switch the fraction moves only by the time elapsed
    eps = 1e-4
    left, right = pacer.at(switch - eps), pacer.at(switch + eps)
    total_left = left.breath_index + left.cycle_fraction
    total_right = right.breath_index + right.cycle_fraction
    assert total_right - total_left == pytest.approx(eps / old.period_s + eps / new.period_s, abs=1e-7)
    # afterwards the new period applies
    later = pacer.at(switch + 3.3 * new.period_s)
    assert later.breath_index + later.cycle_fraction == pytest.approx(
        at_switch.breath_index + at_switch.cycle_fraction + 3.3, abs=1e-7)


def test_rate_steps_at_the_same_proportions_keep_the_level_continuous() -> None:
    # A resonance-frequency assessment: 6.5 -> 6.0 -> 5.5 bpm, all at 40:60.
    pacer = Pacer(PacerSettings.from_rate(6.5), start_s=0.0)
    pacer.set_settings(PacerSettings.from_rate(6.0), at_s=120.0)
    pacer.set_settings(PacerSettings.from_rate(5.5), at_s=241.3)
    for switch in (120.0, 241.3):
        eps = 1e-6
        assert pacer.at(switch - eps).target_level == pytest.approx(pacer.at(switch).target_level, abs=1e-5)
    # after the last change, inhales start every 60/5.5 s
    inhales = [c.t_s for c in pacer.phase_changes(241.3, 400.0) if c.phase == "inhale"]
    gaps = [b - a for a, b in zip(inhales, inhales[1:])]
    assert gaps and all(g == pytest.approx(60 / 5.5) for g in gaps)


def test_settings_changes_come_in_time_order() -> None:
    pacer = Pacer(DEFAULT, start_s=0.0)
    pacer.set_settings(PacerSettings(5, 5), at_s=30.0)
    with pytest.raises(ValueError, match="time order"):
        pacer.set_settings(DEFAULT, at_s=29.0)
    pacer.set_settings(PacerSettings(3, 7), at_s=30.0)  # same time: replaces
    assert pacer.changes == ((0.0, DEFAULT), (30.0, PacerSettings(3, 7)))
    assert pacer.settings == PacerSettings(3, 7)
    assert pacer.settings_at(29.9) == DEFAULT
    with pytest.raises(TypeError):
        pacer.set_settings((4, 6), at_s=40.0)  # type: ignore[arg-type]


# --- phase changes (for chimes) ---------------------------------------------------------

def test_phase_changes_match_dense_sampling() -> None:
    pacer = Pacer(PacerSettings(4, 6, hold_in_s=1), start_s=1.0)
    pacer.set_settings(PacerSettings(5, 5), at_s=23.7)  # lands mid-breath
    pacer.set_settings(PacerSettings(3, 5, hold_out_s=2), at_s=50.0)
    dt = 0.001
    sampled = _sample_phases(pacer, 0.0, 90.0, dt)
    changes = pacer.phase_changes(-1.0, 90.0)
    assert changes[0] == PhaseChange(1.0, "inhale", 0)
    # the sampled list starts with the clamped pre-start inhale at t=0, not a change
    assert [c.phase for c in changes] == [phase for _, phase in sampled]
    for change, (t, _) in zip(changes[1:], sampled[1:]):
        assert t - dt <= change.t_s <= t + 1e-9
    for change in changes:
        state = pacer.at(change.t_s + 1e-6)
        assert state.phase == change.phase and state.breath_index == change.breath_index


def test_phase_changes_split_without_loss_or_repeats() -> None:
    pacer = Pacer(DEFAULT, start_s=0.0)
    pacer.set_settings(PacerSettings(5, 5, hold_in_s=1), at_s=17.0)
    whole = pacer.phase_changes(-3.0, 100.0)
    rng = random.Random(3)
    cuts = sorted({-3.0, 100.0, 4.0, 10.0, 17.0, *(rng.uniform(-3, 100) for _ in range(40))})
    pieces = [c for a, b in zip(cuts, cuts[1:]) for c in pacer.phase_changes(a, b)]
    assert pieces == whole
    assert pacer.phase_changes(5.0, 5.0) == [] and pacer.phase_changes(6.0, 5.0) == []


def test_a_settings_change_can_start_a_phase() -> None:
    # 0.45 of a 4/6 breath is early exhale; in a 5/5 breath it is late inhale.
    pacer = Pacer(DEFAULT, start_s=0.0)
    pacer.set_settings(PacerSettings(5, 5), at_s=4.5)
    assert pacer.phase_changes(3.0, 4.9) == [PhaseChange(4.0, "exhale", 0), PhaseChange(4.5, "inhale", 0)]
    assert pacer.at(4.6).phase == "inhale"
    assert pacer.phase_changes(4.9, 5.0) == [PhaseChange(5.0, "exhale", 0)]
