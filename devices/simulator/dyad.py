"""Dyad scenarios: two simulated people (client = strap1, practitioner = strap2) and their coupling.

Loading and the ground truth. The file format is documented in :mod:`.scenario` (checked by
:mod:`.dyad_format`); the coupling model in :mod:`.coupling`.
:func:`dyad_truth` is the simulator's ground truth (the coupled spans with lag, strength and
sign), :func:`write_truth` puts it in a JSON file a test or a benchmark can read.
Pure data and validation: no clock, no threads.

Dyad time. Both people's models read one shared process at the **dyad time** ``t`` (the times of the
scenario: its phases, its coupled spans, the ground truth). In the room both straps run on one
computer, each from its own start (a fraction of a second apart). In a remote session each computer
simulates one person (``remote join --simulate DYAD --person client``; the practitioner's engine
simulates the ``practitioner`` of the same scenario), and the dyad time is **the client's session
clock**: the client's strap reads its session loop's clock from 0 (the clock that stamps its items);
the practitioner's strap starts once the engine's clock has moved onto the client's (the measured clock
offset, see ``somafeedback/live/remote_timebase.py``) and reads that clock. So both models see the same
shared process at the same dyad time, and the practitioner's recording holds both people on that
timeline: a coupled span of the scenario is where the recording says, to within the offset's uncertainty.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .coupling import ROLES
from .scenario import DyadScenario, ScenarioError, parse_dyad, read_toml
from .scenario_fields import fail


@dataclass(frozen=True, slots=True)
class CouplingSpan:
    """Ground truth of one coupled span (leader time; the follower shows it ``lag_s`` later)."""

    start_s: float  # the coupling starts easing in
    end_s: float  # it has eased out
    full_start_s: float  # full strength from here ...
    full_end_s: float  # ... to here
    leader: str
    follower: str
    lag_s: float  # > 0: the follower's slow heart rate shows the leader's this much later
    strength: float  # correlation of the two slow fluctuations at full strength (0..1)
    sign: str  # "in-phase" | "anti-phase"

    def lag_from(self, a_role: str) -> float:
        """The lag as seen from ``a_role`` (the A of a pair): positive when the other person follows A."""
        return self.lag_s if self.leader == a_role else -self.lag_s


def dyad_truth(scenario: DyadScenario | str | Path) -> list[CouplingSpan]:
    """The coupled spans of a dyad scenario (a loaded one, a built-in name or a path), in time order."""
    dyad = scenario if isinstance(scenario, DyadScenario) else load_dyad(scenario)
    return [
        CouplingSpan(
            start_s=c.at_s, end_s=c.at_s + c.duration_s, full_start_s=c.at_s + c.ramp_s,
            full_end_s=c.at_s + c.duration_s - c.ramp_s, leader=c.leader, follower=c.follower,
            lag_s=c.lag_s, strength=c.strength, sign=c.sign,
        )
        for c in dyad.couplings
    ]


def truth_json(scenario: DyadScenario | str | Path) -> dict[str, Any]:
    """The ground truth as a JSON-ready object: spans, pacers and the straps' roles."""
    dyad = scenario if isinstance(scenario, DyadScenario) else load_dyad(scenario)
    return {
        "scenario": dyad.name,
        "duration_s": dyad.duration_s,
        "straps": {"strap1": "client", "strap2": "practitioner"},
        "couplings": [asdict(span) for span in dyad_truth(dyad)],
        "pacers": [{"start_s": p.at_s, "end_s": p.at_s + p.duration_s, "bpm": p.bpm} for p in dyad.pacers],
    }


def write_truth(scenario: DyadScenario | str | Path, path: Path) -> Path:
    """Write :func:`truth_json` to ``path`` (mode 0600) and return it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(truth_json(scenario), out, indent=2)
    return path


def is_dyad(name_or_path: str | Path) -> bool:
    """True when the scenario (built-in name or path) is a dyad file; errors as :func:`load_dyad`."""
    return "people" in read_toml(name_or_path)[0]


def person_index(name_or_path: str | Path, person: str) -> int:
    """Which strap of the dyad ``person`` is (0 the client's, 1 the practitioner's); ScenarioError, in words,
    when the scenario is not a dyad or the person is neither."""
    if not is_dyad(name_or_path):
        raise ScenarioError(f"{name_or_path}: not a dyad scenario, so it has no {person!r} to simulate on its own "
                            f"(a dyad scenario has a client and a practitioner)")
    if person not in ROLES:
        raise ScenarioError(f"{name_or_path}: a dyad's person is 'client' or 'practitioner', not {person!r}")
    return ROLES.index(person)


def load_dyad(name_or_path: str | Path) -> DyadScenario:
    """Load a dyad scenario by built-in name or path; raises :class:`ScenarioError`."""
    data, source, default_name = read_toml(name_or_path)
    if "people" not in data:
        raise fail(source, "people", "not a dyad scenario (it needs [people.client] and [people.practitioner])")
    return parse_dyad(data, source, default_name)


__all__ = ["CouplingSpan", "DyadScenario", "ScenarioError", "dyad_truth", "is_dyad", "load_dyad", "parse_dyad", "person_index",
           "truth_json", "write_truth"]
