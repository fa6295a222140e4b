"""Scenario files: the built-ins, loading, validation messages, and what the detectors will see."""

from __future__ import annotations

import dataclasses
import math
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from somafeedback.devices.simulator.physiology import HeartModel
from somafeedback.devices.simulator.state_params import STATES
from somafeedback.devices.simulator.scenario import (
    DEFAULT_SCENARIO,
    Fault,
    Phase,
    Scenario,
    ScenarioError,
    builtin_scenarios,
    load_scenario,
)

REQUIRED = {"calm", "activation", "sustained-activation", "slow-breathing", "artifacts", "dropout"}


# ---------------------------------------------------------------- built-ins


def test_required_builtins_exist_and_are_sorted() -> None:
    names = builtin_scenarios()
    assert REQUIRED <= set(names)
    assert names == sorted(names)
    assert DEFAULT_SCENARIO == "calm" and DEFAULT_SCENARIO in names


@pytest.mark.parametrize("name", builtin_scenarios())
def test_every_builtin_loads_and_is_commented(name: str) -> None:
    scn = load_scenario(name)
    assert scn.name == name
    assert scn.description
    assert scn.phases[0].at_s == 0
    assert 5 * 60 <= scn.duration_s <= 30 * 60
    for cls in (Scenario, Phase, Fault):
        assert hasattr(cls, "__slots__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        scn.seed = 3  # type: ignore[misc]
    text = resources.files("somafeedback.devices.simulator").joinpath("scenarios", f"{name}.toml").read_text()
    assert text.startswith("#"), "each built-in file opens with a comment for practitioners"


def test_calm_is_settled_for_about_ten_minutes() -> None:
    scn = load_scenario("calm")
    assert {p.state for p in scn.phases} == {"settled"}
    assert 540 <= scn.duration_s <= 720
    assert scn.faults == ()


def test_activation_layout() -> None:
    scn = load_scenario("activation")
    rise = next(p for p in scn.phases if p.state == "activated")
    assert 300 <= rise.at_s <= 360  # room for 1 min settling + 4 min baseline
    assert 90 <= rise.ramp_s <= 120
    back = scn.phases[scn.phases.index(rise) + 1]
    held = back.at_s - (rise.at_s + rise.ramp_s)
    assert 120 <= held <= 360
    assert back.ramp_s >= 120
    assert scn.state_at(scn.duration_s) == "settled"
    assert 1080 <= scn.duration_s <= 1320


def test_sustained_activation_never_returns() -> None:
    scn = load_scenario("sustained-activation")
    rise = next(p for p in scn.phases if p.state == "activated")
    assert 300 <= rise.at_s <= 360
    assert scn.phases[-1].state == "activated"
    assert scn.duration_s - (rise.at_s + rise.ramp_s) >= 8 * 60


def test_slow_breathing_layout() -> None:
    scn = load_scenario("slow-breathing")
    paced = [p for p in scn.phases if p.state == "slow-breathing"]
    assert paced and paced[0].at_s >= 240
    assert all(p.breathing_bpm is None or abs(p.breathing_bpm - 6) <= 0.5 for p in paced)
    after = scn.phases[scn.phases.index(paced[-1]) + 1].at_s if paced[-1] is not scn.phases[-1] else scn.duration_s
    assert after - paced[0].at_s >= 4 * 60


def test_shutdown_like_appears_somewhere() -> None:
    assert any(
        any(p.state == "shutdown-like" for p in load_scenario(n).phases) for n in builtin_scenarios()
    )


def test_artifacts_sprinkles_all_beat_fault_kinds() -> None:
    scn = load_scenario("artifacts")
    assert {f.kind for f in scn.beat_faults()} == {"ectopic", "missed", "extra"}
    assert scn.transport_faults() == ()
    assert {p.state for p in scn.phases} == {"settled"}


def test_dropout_transport_faults() -> None:
    scn = load_scenario("dropout")
    faults = scn.transport_faults()
    assert [f.at_s for f in faults] == sorted(f.at_s for f in faults)
    kinds = {f.kind: f for f in faults}
    assert 10 <= kinds["contact_loss"].duration_s <= 20
    assert 3 <= kinds["link_drop"].duration_s <= 20
    assert kinds["malformed"].count >= 2
    assert scn.beat_faults() == ()
    assert 300 <= scn.duration_s <= 600


def test_fault_partition_and_sorting() -> None:
    faults = (
        Fault("link_drop", 50, 5), Fault("ectopic", 40), Fault("malformed", 10, count=2),
        Fault("missed", 5), Fault("contact_loss", 20, 10), Fault("extra", 30, 4, 2),
    )
    scn = Scenario("mix", "", 100, 0, (Phase(0, "settled"),), faults)
    assert [f.kind for f in scn.transport_faults()] == ["malformed", "contact_loss", "link_drop"]
    assert [f.kind for f in scn.beat_faults()] == ["missed", "extra", "ectopic"]
    assert set(scn.transport_faults()) | set(scn.beat_faults()) == set(faults)


def test_state_at_switches_half_way_through_the_ramp() -> None:
    scn = Scenario(
        "ramp", "", 600, 0,
        (Phase(0, "settled"), Phase(100, "activated", ramp_s=60), Phase(300, "shutdown-like", ramp_s=20)),
    )
    assert scn.state_at(0) == "settled"
    assert scn.state_at(129.9) == "settled"
    assert scn.state_at(130) == "activated"
    assert scn.state_at(309) == "activated"
    assert scn.state_at(310) == "shutdown-like"
    assert scn.state_at(10_000) == "shutdown-like"


def test_steady_helper() -> None:
    scn = Scenario.steady("activated", 300, seed=4)
    assert scn.state_at(150) == "activated" and scn.duration_s == 300 and scn.seed == 4


# ---------------------------------------------------------------- what the detectors will see


def _hr30_and_ln60(scn: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    beats = HeartModel(scn).beats_until(scn.duration_s)
    t = np.array([b.t_end_s for b in beats])
    rr = np.array([b.rr_1024 for b in beats]) * 1000.0 / 1024
    grid = np.arange(60.0, scn.duration_s, 5.0)
    hr30 = np.array([np.median(60000.0 / rr[(t > g - 30) & (t <= g)]) for g in grid])
    ln60 = np.array([math.log(np.sqrt(np.mean(np.diff(rr[(t > g - 60) & (t <= g)]) ** 2))) for g in grid])
    return grid, hr30, ln60


@pytest.mark.parametrize("name", ["activation", "sustained-activation"])
def test_activation_is_detectable_against_a_baseline(name: str) -> None:
    """A 1 + 4 min baseline, then HR >= max(8, 2.5 SD) above it for 30 s with ln RMSSD down >= 0.35."""
    scn = load_scenario(name)
    grid, hr30, ln60 = _hr30_and_ln60(scn)
    beats = HeartModel(scn).beats_until(300)
    t = np.array([b.t_end_s for b in beats])
    rr = np.array([b.rr_1024 for b in beats]) * 1000.0 / 1024
    base = (t >= 60) & (t <= 300)
    hr_ref = float(np.median(60000.0 / rr[base]))
    sd_hr = float(np.std([60000.0 / np.mean(rr[(t >= a) & (t < a + 10)]) for a in range(60, 300, 10)]))
    in_base = (grid >= 120) & (grid <= 300)
    ln_ref = float(np.median(ln60[in_base]))
    threshold = hr_ref + max(8.0, 2.5 * sd_hr)
    assert threshold == pytest.approx(hr_ref + 8.0)  # a steady baseline: the 8 bpm floor rules

    # quiet during the baseline
    assert np.all(hr30[grid <= 300] < threshold)
    above = hr30 >= threshold
    first = int(np.argmax(above))
    assert above.any() and np.all(above[first : first + 7])  # held for >= 30 s
    assert ln60[first + 12] <= ln_ref - 0.35  # and corroborated within a minute
    assert np.min(ln60) <= ln_ref - 0.7  # "well over" 0.35
    if name == "sustained-activation":
        assert np.all(above[first:])
        assert grid[-1] - grid[first] >= 8 * 60
    else:
        assert not above[-1]
        assert abs(hr30[-1] - hr_ref) < 5
        assert ln60[-1] >= ln_ref - 0.3


def test_quiet_drop_lowers_hr_and_variability() -> None:
    scn = load_scenario("quiet-drop")
    grid, hr30, ln60 = _hr30_and_ln60(scn)
    base = (grid >= 120) & (grid <= 300)
    drop = next(p for p in scn.phases if p.state == "shutdown-like")
    low = (grid >= drop.at_s + drop.ramp_s + 30) & (grid <= drop.at_s + drop.ramp_s + 150)
    assert np.median(hr30[base]) - np.median(hr30[low]) >= 6
    assert np.median(ln60[base]) - np.median(ln60[low]) >= 0.7


# ---------------------------------------------------------------- loading and errors


GOOD = """\
name = "mine"
description = "a test"
duration = "10:00"
seed = 3

[[phase]]
at = 0
state = "settled"

[[phase]]
at = "5:30"
state = "activated"
ramp = 100
breathing_bpm = 18

[[fault]]
kind = "ectopic"
at = 60
duration = 20
count = 3

[[fault]]
kind = "link_drop"
at = "8:00"
duration = 8
"""


def test_load_by_path_and_clock_times(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(GOOD)
    for arg in (path, str(path)):
        scn = load_scenario(arg)
        assert scn.name == "mine" and scn.seed == 3 and scn.duration_s == 600
        assert scn.phases[1] == Phase(at_s=330, state="activated", ramp_s=100, breathing_bpm=18)
        assert scn.faults[0] == Fault(kind="ectopic", at_s=60, duration_s=20, count=3)
        assert scn.transport_faults() == (Fault(kind="link_drop", at_s=480, duration_s=8),)
    nameless = tmp_path / "nameless.toml"
    nameless.write_text(GOOD.replace('name = "mine"\n', "").replace("seed = 3\n", ""))
    scn = load_scenario(nameless)
    assert scn.name == "nameless" and scn.seed == 0
    hours = tmp_path / "long.toml"
    hours.write_text(GOOD.replace('duration = "10:00"', 'duration = "1:02:03.5"'))
    assert load_scenario(hours).duration_s == 3723.5


def _broken(tmp_path: Path, text: str, name: str = "bad.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return str(info.value)


BROKEN = [
    # (what to replace in GOOD, with what, expected start of the message)
    ('state = "activated"', 'state = "anxious"', "bad.toml: phase[1].state: unknown state 'anxious' (known: "),
    ("ramp = 100", "ramp = 100\nspeed = 2", "bad.toml: phase[1].speed: unknown key 'speed'"),
    ("seed = 3", "seed = 3\ncolour = 'red'", "bad.toml: colour: unknown key 'colour'"),
    ('at = "5:30"', "at = 0", "bad.toml: phase[1].at: phases must start in increasing order"),
    ('kind = "ectopic"', 'kind = "hiccup"', "bad.toml: fault[0].kind: unknown fault kind 'hiccup'"),
    ("seed = 3", 'seed = "three"', "bad.toml: seed: expected a whole number, got 'three'"),
    ("ramp = 100", "ramp = true", "bad.toml: phase[1].ramp: expected seconds"),
    ("count = 3", "count = 2.5", "bad.toml: fault[0].count: expected a whole number"),
    ("count = 3", "count = 0", "bad.toml: fault[0].count: must be a whole number >= 1"),
    ("breathing_bpm = 18", 'breathing_bpm = "fast"', "bad.toml: phase[1].breathing_bpm: expected a number"),
    ("breathing_bpm = 18", "breathing_bpm = 60", "bad.toml: phase[1].breathing_bpm: must be between"),
    ("at = 60", "at = -5", "bad.toml: fault[0].at: must be >= 0"),
    ('at = "8:00"', 'at = "9:55"', "bad.toml: fault[1].at: fault runs to 603 s, beyond the end"),
    ('at = "5:30"', 'at = "12:00"', "bad.toml: phase[1].at: 720 s is not before the end"),
    ("ramp = 100", "ramp = 0", "bad.toml: phase[1].ramp: must be at least 1 s"),
    ('at = "5:30"', 'at = "5:75"', "bad.toml: phase[1].at: not a valid clock time"),
    ('at = "5:30"', 'at = "soon"', "bad.toml: phase[1].at: expected seconds"),
    ("at = 0\n", "at = 10\n", "bad.toml: phase[0].at: the first phase must start at 0"),
    ('duration = "10:00"', "", "bad.toml: duration: missing"),
    ('duration = "10:00"', "duration = 0", "bad.toml: duration: must be a positive time"),
    ("duration = 8\n", "duration = 8\ncount = 2\n", "bad.toml: fault[1].count: unknown key 'count'"),
    ('kind = "link_drop"\nat = "8:00"\nduration = 8', 'kind = "link_drop"\nat = "8:00"', "bad.toml: fault[1].duration: a link_drop needs a duration > 0"),
    ('description = "a test"', "description = 5", "bad.toml: description: expected a string"),
    ("seed = 3", "seed = [", "bad.toml: not valid TOML"),
]


@pytest.mark.parametrize(("old", "new", "expected"), BROKEN)
def test_errors_name_the_file_and_the_field(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in GOOD
    message = _broken(tmp_path, GOOD.replace(old, new, 1))
    assert message.startswith(expected), message


def test_unknown_state_lists_the_known_ones(tmp_path: Path) -> None:
    message = _broken(tmp_path, GOOD.replace('state = "activated"', 'state = "anxious"'), "calm.toml")
    assert message.startswith("calm.toml: phase[1].state: unknown state 'anxious'")
    for state in STATES:
        assert state in message


def test_malformed_blocks_are_errors(tmp_path: Path) -> None:
    assert _broken(tmp_path, "duration = 60\nphase = []\n").startswith("bad.toml: phase: at least one")
    assert _broken(tmp_path, 'duration = 60\nphase = "settled"\n').startswith(
        "bad.toml: phase: expected [[phase]] blocks, got 'settled'"
    )
    assert _broken(tmp_path, 'duration = 60\nphase = ["settled"]\n').startswith(
        "bad.toml: phase[0]: expected a table (use [[phase]])"
    )
    assert _broken(tmp_path, 'duration = 60\n[[phase]]\nstate = "settled"\n').startswith(
        "bad.toml: phase[0].at: missing"
    )
    assert _broken(tmp_path, GOOD.replace("ramp = 100", "ramp = true")).endswith("got true")


def test_missing_file_and_unknown_builtin(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="nope.toml: file not found"):
        load_scenario(tmp_path / "nope.toml")
    with pytest.raises(ScenarioError, match="unknown scenario 'anxious-day'.*calm"):
        load_scenario("anxious-day")
    assert issubclass(ScenarioError, ValueError)


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(ScenarioError, match=r"x: phase\[0\]\.state: unknown state 'calmish'"):
        Scenario("x", "", 60, 0, (Phase(0, "calmish"),))
    with pytest.raises(ScenarioError, match=r"x: phase\[2\]\.at: phases must start in increasing order"):
        Scenario("x", "", 600, 0, (Phase(0, "settled"), Phase(100, "activated"), Phase(50, "settled")))
    with pytest.raises(ScenarioError, match=r"x: fault\[0\]\.kind"):
        Scenario("x", "", 60, 0, (Phase(0, "settled"),), (Fault("gremlin", 1),))
