"""Scenarios for the simulated strap: data model, TOML loading and validation.

A scenario is a TOML file. Times are seconds of session time, written either as a number
(``330``) or as a ``"m:ss"`` / ``"h:mm:ss"`` string (``"5:30"``)::

    name = "my-session"               # optional, defaults to the file name
    description = "Settled, then a short activation."
    duration = "12:00"                # session length
    seed = 7                          # optional (default 0); same seed, same beats

    [[phase]]                         # the first phase starts at 0
    at = 0
    state = "settled"                 # settled | activated | slow-breathing | shutdown-like | moving

    [[phase]]
    at = "5:30"
    state = "activated"
    ramp = 100                        # seconds to blend into this state (default 60, >= 1)
    breathing_bpm = 18                # optional: hold breathing at this rate (3..30/min)

    [[fault]]                         # beat faults: ectopic | missed | extra
    kind = "ectopic"
    at = "2:00"
    duration = 20                     # optional: spread `count` faults over this long
    count = 3                         # optional (default 1)

    [[fault]]                         # transport faults, played by the BLE peripheral:
    kind = "link_drop"                # contact_loss | link_drop | movement (all need a duration)
    at = "8:00"                       # malformed (count = garbage notifications)
    duration = 8                      # pmd_stop (the H10 ends its raw streams by itself)
                                      # unresponsive (needs a duration): still advertising, it answers
                                      # no connection request (a link it had times out), so connecting hangs

    resonance_bpm = 5.0               # optional: this person's resonance frequency (3..10 breaths/min)
    resonance_damping = 0.3           # optional (default 0.3, 0.1..1): how broad the resonance peak is

    [follow_pacer]                    # optional: the person breathes with the pacer on the screen
    lag_s = 0.8                       # breathing trails the pacer by this (0..5 s, default 1)
    depth = 1.0                       # breath depth factor while following (0.25..2.5, default 1)
    fidelity = 0.95                   # 0..1 (default 1): 0 ignores the pacer

With ``resonance_bpm`` the breath-linked heart-rate swing follows a band-pass centred there (size and
phase: heart rate in phase with lung volume at resonance, leading below, lagging above; see
:mod:`.resonance`); without it the model is as it always was. ``[follow_pacer]`` only matters when
the strap is given a pacer view (``SimulatedRadio.add_strap(..., pacer_view=...)``): while a pacer
runs, breathing moves to its rate and locks to its phase ``lag_s`` later (by ``fidelity``).

``movement`` is the wearer moving (large chest accelerations on a simulated H10; the
beats go on); ``pmd_stop`` only affects a strap that streams raw ECG/acceleration.

Every problem raises :class:`ScenarioError` naming the file and the field, e.g.
``calm.toml: phase[2].state: unknown state 'anxious' (known: ...)``; ``phase[i]`` and
``fault[i]`` count the ``[[phase]]`` / ``[[fault]]`` blocks from 0.

Dyads: two people whose heart rates move together
-------------------------------------------------
A dyad file holds two people, the client (strap1) and the practitioner (strap2), each with
their own phases, faults and seed, plus the spans where their slow heart-rate fluctuations are
coupled, and any pacer both breathe with (checked by :mod:`.dyad_format`, run by :mod:`.coupling`)::

    name = "my-dyad"
    description = "..."
    duration = "20:00"                # both people
    seed = 21                         # the shared slow process the coupling draws from

    [people.client]                   # and [people.practitioner]: both are needed
    seed = 1                          # this person's own beats
    slow_wave_bpm = 4.5               # optional: SD of this person's slow heart-rate wave (0..10 bpm)
    [[people.client.phase]]           # phases and faults exactly as above
    at = 0
    state = "settled"

    [[coupling]]                      # spans never overlap (nor come within a lag of each other)
    at = "3:00"
    duration = "4:00"
    leader = "practitioner"           # client | practitioner; the other one follows
    lag_s = 2                         # the follower's slow HR shows the leader's this much later (0..10 s)
    strength = 0.7                    # 0..1: correlation of the two slow fluctuations at full ramp
    sign = "in-phase"                 # in-phase | anti-phase (optional, default in-phase)
    ramp = 30                         # optional: seconds to ease in and out (default 30)

    [[pacer]]                         # optional: both breathe with one pacer (entrainment)
    at = "5:00"
    duration = "6:00"
    bpm = 6

Errors name the field the same way, e.g. ``d.toml: people.client: phase[0].state: ...`` or
``d.toml: coupling[1].leader: ...``. :func:`load_scenario` on a dyad file gives the client's
side (a whole scenario on its own); :func:`.dyad.load_dyad` (or :func:`parse_dyad`) gives both, and
:func:`.dyad.dyad_truth` the coupled spans (the simulator's ground truth).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, replace
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final

from .coupling import Coupling, Pacer, PersonCoupling
from .dyad_format import parse_dyad_parts
from .resonance import DEFAULT_DAMPING, FollowPacer, check_resonance, parse_resonance
from .scenario_fields import ScenarioError, heading
from .scenario_fields import array_of_tables as _array_of_tables
from .scenario_fields import fail as _fail
from .scenario_fields import integer as _integer
from .scenario_fields import number as _number
from .scenario_fields import seconds as _seconds
from .scenario_fields import show as _show
from .scenario_fields import string as _string
from .scenario_fields import table as _table
from .state_params import BREATHING_BPM_MAX, BREATHING_BPM_MIN, STATES

DEFAULT_SCENARIO: Final = "calm"
DEFAULT_RAMP_S: Final = 60.0
MIN_RAMP_S: Final = 1.0

BEAT_FAULT_KINDS: Final = ("ectopic", "missed", "extra")
TRANSPORT_FAULT_KINDS: Final = ("contact_loss", "link_drop", "malformed", "movement", "pmd_stop", "unresponsive")
NEEDS_DURATION: Final = ("contact_loss", "link_drop", "movement", "unresponsive")
FAULT_KINDS: Final = BEAT_FAULT_KINDS + TRANSPORT_FAULT_KINDS

_TOP_KEYS: Final = ("name", "description", "duration", "seed", "resonance_bpm", "resonance_damping", "follow_pacer",
                     "phase", "fault")
_PHASE_KEYS: Final = ("at", "state", "ramp", "breathing_bpm")
_FAULT_KEYS: Final = {
    "ectopic": ("kind", "at", "duration", "count"),
    "missed": ("kind", "at", "duration", "count"),
    "extra": ("kind", "at", "duration", "count"),
    "malformed": ("kind", "at", "count"),
    "contact_loss": ("kind", "at", "duration"),
    "link_drop": ("kind", "at", "duration"),
    "movement": ("kind", "at", "duration"),
    "pmd_stop": ("kind", "at"),
    "unresponsive": ("kind", "at", "duration"),
}


@dataclass(frozen=True, slots=True)
class Phase:
    """From ``at_s`` on, blend into ``state`` over ``ramp_s`` seconds."""

    at_s: float
    state: str
    ramp_s: float = DEFAULT_RAMP_S
    breathing_bpm: float | None = None  # optional breathing-rate override


@dataclass(frozen=True, slots=True)
class Fault:
    """A beat fault (ectopic/missed/extra) or one the peripheral plays
    (contact_loss/link_drop/malformed/movement/pmd_stop/unresponsive)."""

    kind: str
    at_s: float
    duration_s: float = 0.0
    count: int = 1

    @property
    def is_transport(self) -> bool:
        """True for faults the BLE peripheral plays rather than the heart model."""
        return self.kind in TRANSPORT_FAULT_KINDS


@dataclass(frozen=True, slots=True)
class Scenario:
    """A scripted session: timed physiological phases plus faults."""

    name: str
    description: str
    duration_s: float
    seed: int
    phases: tuple[Phase, ...]
    faults: tuple[Fault, ...] = ()
    coupling: PersonCoupling | None = None  # a dyad person's side of the coupling (see .dyad)
    resonance_bpm: float | None = None  # the person's resonance frequency (ground truth); None: the legacy model
    resonance_damping: float = DEFAULT_DAMPING
    follow_pacer: FollowPacer | None = None  # how the person breathes with a pacer view; None: ignores it

    def __post_init__(self) -> None:
        _check(self.name or "<scenario>", self.duration_s, self.seed, self.phases, self.faults)
        check_resonance(self.name or "<scenario>", self.resonance_bpm, self.resonance_damping, self.follow_pacer)

    @classmethod
    def steady(cls, state: str, duration_s: float, seed: int = 0) -> Scenario:
        """A scenario holding one state throughout (handy for tests and calibration)."""
        return cls(
            name=f"steady-{state}",
            description=f"{state} throughout",
            duration_s=float(duration_s),
            seed=seed,
            phases=(Phase(at_s=0.0, state=state, ramp_s=0.0),),
        )

    def transport_faults(self) -> tuple[Fault, ...]:
        """The faults the peripheral plays (contact_loss, link_drop, malformed, movement, pmd_stop,
        unresponsive), by ``at_s``."""
        return tuple(sorted((f for f in self.faults if f.is_transport), key=lambda f: f.at_s))

    def beat_faults(self) -> tuple[Fault, ...]:
        """ectopic / missed / extra faults, sorted by ``at_s``."""
        return tuple(sorted((f for f in self.faults if not f.is_transport), key=lambda f: f.at_s))

    def state_at(self, t_s: float) -> str:
        """The named state in force: a phase's state once its ramp is more than half done."""
        state = self.phases[0].state
        for ph in self.phases[1:]:
            if t_s >= ph.at_s + 0.5 * ph.ramp_s:
                state = ph.state
        return state


def _check(
    source: str,
    duration_s: float,
    seed: int,
    phases: tuple[Phase, ...],
    faults: tuple[Fault, ...],
) -> None:
    """Semantic checks shared by the loader and direct construction."""
    if isinstance(duration_s, bool) or not (isinstance(duration_s, (int, float)) and math.isfinite(duration_s) and duration_s > 0):
        raise _fail(source, "duration", f"must be a positive time, got {_show(duration_s)}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise _fail(source, "seed", f"must be a whole number >= 0, got {_show(seed)}")
    if not phases:
        raise _fail(source, "phase", "at least one [[phase]] is needed")
    known = ", ".join(sorted(STATES))
    prev_at = -math.inf
    for i, ph in enumerate(phases):
        where = f"phase[{i}]"
        if ph.state not in STATES:
            raise _fail(source, f"{where}.state", f"unknown state {ph.state!r} (known: {known})")
        if not math.isfinite(ph.at_s) or ph.at_s < 0:
            raise _fail(source, f"{where}.at", f"must be >= 0, got {ph.at_s:g}")
        if i == 0 and ph.at_s != 0:
            raise _fail(source, f"{where}.at", f"the first phase must start at 0, not {ph.at_s:g}")
        if ph.at_s <= prev_at:
            raise _fail(
                source, f"{where}.at",
                f"phases must start in increasing order ({ph.at_s:g} s is not after {prev_at:g} s)",
            )
        if ph.at_s >= duration_s:
            raise _fail(source, f"{where}.at", f"{ph.at_s:g} s is not before the end ({duration_s:g} s)")
        if not math.isfinite(ph.ramp_s) or ph.ramp_s < 0:
            raise _fail(source, f"{where}.ramp", f"must be >= 0, got {ph.ramp_s:g}")
        if i > 0 and ph.ramp_s < MIN_RAMP_S:
            raise _fail(
                source, f"{where}.ramp",
                f"must be at least {MIN_RAMP_S:g} s (a heart never jumps between states), got {ph.ramp_s:g}",
            )
        if ph.breathing_bpm is not None and not (
            math.isfinite(ph.breathing_bpm) and BREATHING_BPM_MIN <= ph.breathing_bpm <= BREATHING_BPM_MAX
        ):
            raise _fail(
                source, f"{where}.breathing_bpm",
                f"must be between {BREATHING_BPM_MIN:g} and {BREATHING_BPM_MAX:g} breaths/min, got {ph.breathing_bpm:g}",
            )
        prev_at = ph.at_s
    for i, f in enumerate(faults):
        where = f"fault[{i}]"
        if f.kind not in FAULT_KINDS:
            raise _fail(source, f"{where}.kind", f"unknown fault kind {f.kind!r} (known: {', '.join(FAULT_KINDS)})")
        if not math.isfinite(f.at_s) or f.at_s < 0:
            raise _fail(source, f"{where}.at", f"must be >= 0, got {f.at_s:g}")
        if not math.isfinite(f.duration_s) or f.duration_s < 0:
            raise _fail(source, f"{where}.duration", f"must be >= 0, got {f.duration_s:g}")
        if f.kind in NEEDS_DURATION and f.duration_s <= 0:
            raise _fail(source, f"{where}.duration", f"a {f.kind} needs a duration > 0")
        if isinstance(f.count, bool) or not isinstance(f.count, int) or f.count < 1:
            raise _fail(source, f"{where}.count", f"must be a whole number >= 1, got {_show(f.count)}")
        if f.kind in NEEDS_DURATION and f.count != 1:
            raise _fail(source, f"{where}.count", f"not used by {f.kind}; leave it out")
        if f.at_s + f.duration_s > duration_s:
            raise _fail(
                source, f"{where}.at",
                f"fault runs to {f.at_s + f.duration_s:g} s, beyond the end ({duration_s:g} s)",
            )


def parse_scenario(data: dict[str, Any], source: str, default_name: str = "") -> Scenario:
    """Validate parsed TOML data and build a :class:`Scenario` (``source`` prefixes errors)."""
    _table(data, source, "", _TOP_KEYS, ("duration", "phase"))
    name, description, duration_s = heading(data, source, default_name)
    seed = _integer(data.get("seed", 0), source, "seed")

    phases: list[Phase] = []
    for i, raw in enumerate(_array_of_tables(data["phase"], source, "phase")):
        where = f"phase[{i}]"
        _table(raw, source, where, _PHASE_KEYS, ("at", "state"))
        breathing = raw.get("breathing_bpm")
        phases.append(
            Phase(
                at_s=_seconds(raw["at"], source, f"{where}.at"),
                state=_string(raw["state"], source, f"{where}.state"),
                ramp_s=_seconds(raw.get("ramp", DEFAULT_RAMP_S), source, f"{where}.ramp"),
                breathing_bpm=None if breathing is None else _number(breathing, source, f"{where}.breathing_bpm"),
            )
        )

    faults: list[Fault] = []
    for i, raw in enumerate(_array_of_tables(data.get("fault", []), source, "fault")):
        where = f"fault[{i}]"
        if not isinstance(raw, dict):
            raise _fail(source, where, f"expected a table (use [[fault]]), got {_show(raw)}")
        kind = _string(raw.get("kind"), source, f"{where}.kind") if "kind" in raw else None
        if kind is None:
            raise _fail(source, f"{where}.kind", "missing")
        if kind not in FAULT_KINDS:
            raise _fail(source, f"{where}.kind", f"unknown fault kind {kind!r} (known: {', '.join(FAULT_KINDS)})")
        _table(raw, source, where, _FAULT_KEYS[kind], ("kind", "at"))
        faults.append(
            Fault(
                kind=kind,
                at_s=_seconds(raw["at"], source, f"{where}.at"),
                duration_s=_seconds(raw.get("duration", 0.0), source, f"{where}.duration"),
                count=_integer(raw.get("count", 1), source, f"{where}.count"),
            )
        )

    _check(source, duration_s, seed, tuple(phases), tuple(faults))
    resonance_bpm, damping, follow = parse_resonance(data, source)
    check_resonance(source, resonance_bpm, damping, follow)
    return Scenario(
        name=name,
        description=description,
        duration_s=duration_s,
        seed=seed,
        phases=tuple(phases),
        faults=tuple(faults),
        resonance_bpm=resonance_bpm,
        resonance_damping=damping,
        follow_pacer=follow,
    )


@dataclass(frozen=True, slots=True)
class DyadScenario:
    """Two people (each scenario carrying its side of the coupling) and the dyad's coupling and pacers."""

    name: str
    description: str
    duration_s: float
    seed: int  # the shared slow process the coupling draws from
    client: Scenario
    practitioner: Scenario
    couplings: tuple[Coupling, ...] = ()
    pacers: tuple[Pacer, ...] = ()

    def people(self) -> tuple[Scenario, Scenario]:
        """(client, practitioner): the order of the straps (strap1, strap2)."""
        return self.client, self.practitioner


def parse_dyad(data: dict[str, Any], source: str, default_name: str = "") -> DyadScenario:
    """Validate a parsed dyad file and build a :class:`DyadScenario` (``source`` prefixes errors)."""
    parts = parse_dyad_parts(data, source, default_name)
    people = []
    for role, (single, wave) in parts.people.items():
        scenario = parse_scenario(single, f"{source}: people.{role}", parts.name)
        side = PersonCoupling(role, parts.seed, parts.couplings, parts.pacers, wave)
        people.append(replace(scenario, coupling=side))
    client, practitioner = people
    return DyadScenario(parts.name, parts.description, parts.duration_s, parts.seed, client, practitioner,
                        parts.couplings, parts.pacers)


def _builtin_dir() -> Traversable:
    return resources.files(__package__).joinpath("scenarios")


def builtin_scenarios() -> list[str]:
    """Names of the built-in scenarios, sorted."""
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in _builtin_dir().iterdir()
        if entry.is_file() and entry.name.endswith(".toml")
    )


def read_toml(name_or_path: str | Path) -> tuple[dict[str, Any], str, str]:
    """A built-in scenario by name, or a file by path, as parsed TOML with its source and default name."""
    text_arg = str(name_or_path)
    is_path = isinstance(name_or_path, Path) or text_arg.endswith(".toml") or "/" in text_arg or "\\" in text_arg
    if not is_path:
        names = builtin_scenarios()
        if text_arg not in names:
            raise ScenarioError(f"unknown scenario {text_arg!r} (built-in: {', '.join(names)}; or give a .toml path)")
        text = _builtin_dir().joinpath(f"{text_arg}.toml").read_text(encoding="utf-8")
        source, default_name = f"{text_arg}.toml", text_arg
    else:
        path = Path(name_or_path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ScenarioError(f"{path.name}: file not found ({path})") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError(f"{path.name}: cannot read: {exc}") from None
        source, default_name = path.name, path.stem
    try:
        return tomllib.loads(text), source, default_name
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a built-in scenario by name, or a scenario file by path; raises :class:`ScenarioError`.

    A dyad file gives its client's side (see :func:`.dyad.load_dyad` for both people).
    """
    data, source, default_name = read_toml(name_or_path)
    if "people" in data:
        return parse_dyad(data, source, default_name).client
    return parse_scenario(data, source, default_name)
