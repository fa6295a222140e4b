"""Dyad scenario files: validating the dyad-level parts (people tables, [[coupling]], [[pacer]]).

The format is documented in :mod:`.scenario`; each person's phases and faults are parsed there
as an ordinary scenario. Pure data and validation: no clock, no threads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

from .coupling import DEFAULT_SLOW_WAVE_BPM, ROLES, SIGNS, Coupling, Pacer
from .scenario_fields import fail, heading, integer, number, seconds, string, table
from .state_params import BREATHING_BPM_MAX, BREATHING_BPM_MIN

MAX_LAG_S: Final = 10.0  # s, the longest lag a coupling may have
MAX_SLOW_WAVE_BPM: Final = 10.0  # bpm, the largest SD of a person's slow wave
DEFAULT_COUPLING_RAMP_S: Final = 30.0
_TOP_KEYS: Final = ("name", "description", "duration", "seed", "people", "coupling", "pacer")
_PERSON_KEYS: Final = ("seed", "slow_wave_bpm", "phase", "fault")
_COUPLING_KEYS: Final = ("at", "duration", "leader", "lag_s", "strength", "sign", "ramp")
_PACER_KEYS: Final = ("at", "duration", "bpm")


@dataclass(frozen=True, slots=True)
class DyadParts:
    """A validated dyad file, before each person's own scenario is parsed."""

    name: str
    description: str
    duration_s: float
    seed: int
    couplings: tuple[Coupling, ...]
    pacers: tuple[Pacer, ...]
    people: dict[str, tuple[dict[str, Any], float]]  # role -> (single-scenario TOML data, slow_wave_bpm)


def parse_dyad_parts(data: dict[str, Any], source: str, default_name: str = "") -> DyadParts:
    """Check the dyad-level fields; ``source`` prefixes errors."""
    table(data, source, "", _TOP_KEYS, ("duration", "people"))
    name, description, duration_s = heading(data, source, default_name)
    if duration_s <= 0:
        raise fail(source, "duration", "must be a positive time")
    seed = integer(data.get("seed", 0), source, "seed")
    if seed < 0:
        raise fail(source, "seed", f"must be a whole number >= 0, got {seed}")
    if not isinstance(data["people"], dict):
        raise fail(source, "people", "expected [people.client] and [people.practitioner] tables")
    table(data["people"], source, "people", ROLES, ROLES)
    people = {}
    for role in ROLES:
        field = f"people.{role}"
        raw = table(data["people"][role], source, field, _PERSON_KEYS, ("phase",))
        wave = number(raw.get("slow_wave_bpm", DEFAULT_SLOW_WAVE_BPM), source, f"{field}.slow_wave_bpm")
        if not 0.0 <= wave <= MAX_SLOW_WAVE_BPM:
            raise fail(source, f"{field}.slow_wave_bpm", f"must be between 0 and {MAX_SLOW_WAVE_BPM:g} bpm, got {wave:g}")
        single = {"name": name, "description": description, "duration": data["duration"],
                  **{key: raw[key] for key in ("seed", "phase", "fault") if key in raw}}
        people[role] = (single, wave)
    return DyadParts(name, description, duration_s, seed, _couplings(data.get("coupling", []), source, duration_s),
                     _pacers(data.get("pacer", []), source, duration_s), people)


def _blocks(value: Any, source: str, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise fail(source, field, f"expected [[{field}]] blocks, got a single value")
    return value


def _span(raw: dict[str, Any], source: str, where: str, duration_s: float) -> tuple[float, float]:
    at = seconds(raw["at"], source, f"{where}.at")
    length = seconds(raw["duration"], source, f"{where}.duration")
    if length <= 0:
        raise fail(source, f"{where}.duration", "must be > 0")
    if at + length > duration_s:
        raise fail(source, f"{where}.at", f"runs to {at + length:g} s, beyond the end ({duration_s:g} s)")
    return at, length


def _couplings(value: Any, source: str, duration_s: float) -> tuple[Coupling, ...]:
    out: list[Coupling] = []
    for i, raw in enumerate(_blocks(value, source, "coupling")):
        where = f"coupling[{i}]"
        table(raw, source, where, _COUPLING_KEYS, ("at", "duration", "leader", "lag_s", "strength"))
        at, length = _span(raw, source, where, duration_s)
        leader = string(raw["leader"], source, f"{where}.leader")
        if leader not in ROLES:
            raise fail(source, f"{where}.leader", f"must be one of {', '.join(ROLES)}, got {leader!r}")
        lag = number(raw["lag_s"], source, f"{where}.lag_s")
        if not (math.isfinite(lag) and 0.0 <= lag <= MAX_LAG_S):
            raise fail(source, f"{where}.lag_s", f"must be between 0 and {MAX_LAG_S:g} s, got {lag:g}")
        strength = number(raw["strength"], source, f"{where}.strength")
        if not (math.isfinite(strength) and 0.0 < strength <= 1.0):
            raise fail(source, f"{where}.strength", f"must be above 0 and at most 1, got {strength:g}")
        sign = string(raw.get("sign", "in-phase"), source, f"{where}.sign")
        if sign not in SIGNS:
            raise fail(source, f"{where}.sign", f"must be one of {', '.join(SIGNS)}, got {sign!r}")
        ramp = seconds(raw.get("ramp", DEFAULT_COUPLING_RAMP_S), source, f"{where}.ramp")
        if 2 * ramp > length:
            raise fail(source, f"{where}.ramp", f"easing in and out ({2 * ramp:g} s) is longer than the span ({length:g} s)")
        if out:
            prev = out[-1]
            free_from = prev.at_s + prev.duration_s + max(prev.lag_s, lag)
            if at < free_from:
                raise fail(source, f"{where}.at", f"starts at {at:g} s, before the previous coupling has ended "
                                                  f"for the follower ({free_from:g} s: its end plus the lag)")
        out.append(Coupling(at, length, leader, lag, strength, sign, ramp))
    return tuple(out)


def _pacers(value: Any, source: str, duration_s: float) -> tuple[Pacer, ...]:
    out: list[Pacer] = []
    for i, raw in enumerate(_blocks(value, source, "pacer")):
        where = f"pacer[{i}]"
        table(raw, source, where, _PACER_KEYS, _PACER_KEYS)
        at, length = _span(raw, source, where, duration_s)
        bpm = number(raw["bpm"], source, f"{where}.bpm")
        if not (math.isfinite(bpm) and BREATHING_BPM_MIN <= bpm <= BREATHING_BPM_MAX):
            raise fail(source, f"{where}.bpm", f"must be between {BREATHING_BPM_MIN:g} and "
                                               f"{BREATHING_BPM_MAX:g} breaths/min, got {bpm:g}")
        if out and at < out[-1].at_s + out[-1].duration_s:
            raise fail(source, f"{where}.at", f"starts at {at:g} s, before the previous pacer ends")
        out.append(Pacer(at, length, bpm))
    return tuple(out)
