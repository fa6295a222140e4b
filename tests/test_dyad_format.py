"""The dyad scenario file format: what it accepts and the messages naming what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from somafeedback.devices.simulator.dyad import dyad_truth, load_dyad
from somafeedback.devices.simulator.scenario import ScenarioError, load_scenario

PEOPLE = """
[people.client]
seed = 1
[[people.client.phase]]
at = 0
state = "settled"

[people.practitioner]
seed = 2
[[people.practitioner.phase]]
at = 0
state = "settled"
"""

COUPLING = """
[[coupling]]
at = "1:00"
duration = "3:00"
leader = "client"
lag_s = 1.5
strength = 0.6
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pair.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_minimal_dyad_with_defaults(tmp_path: Path) -> None:
    dyad = load_dyad(_write(tmp_path, 'duration = "10:00"\nseed = 3\n' + PEOPLE + COUPLING))
    assert dyad.name == "pair" and dyad.duration_s == 600 and dyad.seed == 3
    assert dyad.client.seed == 1 and dyad.practitioner.seed == 2
    assert dyad.client.duration_s == dyad.practitioner.duration_s == 600
    (span,) = dyad_truth(dyad)
    assert (span.start_s, span.end_s, span.full_start_s, span.full_end_s) == (60, 240, 90, 210)  # ramp 30 s
    assert (span.leader, span.follower, span.sign, span.lag_s, span.strength) == ("client", "practitioner", "in-phase", 1.5, 0.6)
    assert load_scenario(tmp_path / "pair.toml") == dyad.client


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('duration = "10:00"\n[people.client]\nseed = 1\n[[people.client.phase]]\nat = 0\nstate = "settled"\n',
         r"pair\.toml: people\.practitioner: missing"),
        ('duration = "10:00"\n' + PEOPLE.replace('state = "settled"', 'state = "anxious"', 1),
         r"pair\.toml: people\.client: phase\[0\]\.state: unknown state 'anxious'"),
        ('duration = "10:00"\n' + PEOPLE.replace("seed = 2", "seed = 2\nmood = 3"),
         r"pair\.toml: people\.practitioner\.mood: unknown key 'mood'"),
        ('duration = "10:00"\n' + PEOPLE.replace("seed = 1", "slow_wave_bpm = 40"),
         r"people\.client\.slow_wave_bpm: must be between 0 and 10 bpm"),
        ('duration = "10:00"\n' + PEOPLE.replace('[[people.client.phase]]\nat = 0\nstate = "settled"\n', ""),
         r"people\.client\.phase: missing"),
        ('duration = "10:00"\n[people]\nclient = 1\npractitioner = 2\n', r"people\.client: expected a table"),
        ('duration = "10:00"\n' + PEOPLE + COUPLING.replace('"client"', '"therapist"'),
         r"coupling\[0\]\.leader: must be one of client, practitioner, got 'therapist'"),
        ('duration = "10:00"\n' + PEOPLE + COUPLING.replace("lag_s = 1.5", "lag_s = 12"),
         r"coupling\[0\]\.lag_s: must be between 0 and 10 s, got 12"),
        ('duration = "10:00"\n' + PEOPLE + COUPLING.replace("strength = 0.6", "strength = 1.2"),
         r"coupling\[0\]\.strength: must be above 0 and at most 1, got 1\.2"),
        ('duration = "10:00"\n' + PEOPLE + COUPLING + 'sign = "sideways"\n',
         r"coupling\[0\]\.sign: must be one of in-phase, anti-phase, got 'sideways'"),
        ('duration = "10:00"\n' + PEOPLE + COUPLING + "ramp = 100\n",
         r"coupling\[0\]\.ramp: easing in and out \(200 s\) is longer than the span \(180 s\)"),
        ('duration = "10:00"\n' + PEOPLE + COUPLING.replace('duration = "3:00"', 'duration = "9:30"'),
         r"coupling\[0\]\.at: runs to 630 s, beyond the end \(600 s\)"),
        ('duration = "10:00"\n' + PEOPLE + COUPLING.replace("strength = 0.6\n", ""), r"coupling\[0\]\.strength: missing"),
        ('duration = "10:00"\n' + PEOPLE + COUPLING + COUPLING.replace('at = "1:00"', 'at = "4:01"'),
         r"coupling\[1\]\.at: starts at 241 s, before the previous coupling has ended for the follower \(241\.5 s"),
        ('duration = "10:00"\n' + PEOPLE + '[[pacer]]\nat = 60\nduration = 120\nbpm = 40\n',
         r"pacer\[0\]\.bpm: must be between 3 and 30 breaths/min, got 40"),
        ('duration = "10:00"\n' + PEOPLE + '[[pacer]]\nat = 60\nbpm = 6\n', r"pacer\[0\]\.duration: missing"),
        ('duration = "10:00"\ncoupling = 3\n' + PEOPLE, r"pair\.toml: coupling: expected \[\[coupling\]\] blocks"),
        ('duration = "10:00"\nmood = 1\n' + PEOPLE, r"pair\.toml: mood: unknown key 'mood'"),
        (PEOPLE, r"pair\.toml: duration: missing"),
    ],
)
def test_errors_name_the_file_and_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError, match=message):
        load_dyad(path)
    with pytest.raises(ScenarioError, match=message):  # the same message when read as one scenario
        load_scenario(path)
