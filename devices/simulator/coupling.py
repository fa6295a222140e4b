"""Coupling of two simulated people (a dyad): the slow heart-rate fluctuations they share, and a shared pacer.

Pure functions of session time, no clock and no threads: each person's :class:`~.physiology.HeartModel`
holds its own :class:`PersonCoupling` and asks it, beat by beat, for the slow part of its heart rate.

Design (documented in :mod:`.scenario` too)
-------------------------------------------
A person's slow fluctuation is ``drift_bpm * D(t) + slow_wave_bpm * W(t)``: ``D`` the model's own
unit drift (Ornstein-Uhlenbeck, 40 s), ``W`` a unit "slow wave" (OU, 2.5 s: most power below
~0.1 Hz, the band a heart-rate synchrony measure sees, with a sharp enough autocorrelation that
the lag between two people can be read to a fraction of a second). Neither person reads the
other's model. Instead both draw from one **shared** seeded process ``(Ds, Ws)`` (the dyad's seed),
laid on a fixed 0.25 s grid and interpolated, so any ``t`` gives the same value however calls are sliced.
During a coupling block with weight ``c(t) = strength * ramp(t)``:

* the leader shows ``sqrt(1 - c(t)) * own(t) + sqrt(c(t)) * shared(t)``;
* the follower shows ``sqrt(1 - c') * own(t) + sign * sqrt(c') * shared(t - lag_s)``, ``c' = c(t - lag_s)``.

So the follower's slow part at ``t`` holds exactly the leader's shared part at ``t - lag_s`` (sign -1
for anti-phase), each person's slow variance is unchanged, and the two slow fluctuations correlate
at ``r = sign * strength`` at that lag (less in the raw heart rate, where breathing and beat-to-beat
noise add their own variance). The person's own ``W`` has its own stream (the person's seed), apart
from the physiology stream, so the beats stay deterministic given both seeds.

A pacer block holds both people's breathing at ``bpm`` and pulls each breathing phase toward the
pacer's (a shared rhythm: entrainment, not spontaneous synchrony).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

GRID_S: Final = 0.25  # s between grid points of the slow processes
DRIFT_TAU_S: Final = 40.0  # s, the same time constant as the model's own drift
WAVE_TAU_S: Final = 2.5  # s, time constant of the slow wave
DEFAULT_SLOW_WAVE_BPM: Final = 4.5  # SD of a dyad person's slow wave, bpm
PACER_PULL_PER_S: Final = 0.15  # breathing-phase correction toward the pacer, (cycles/s) per cycle of error
SHARED_STREAM: Final = 0xD7AD  # spawn key of the dyad's shared process
OWN_WAVE_STREAM: Final = 0x5A5E  # spawn key of a person's own slow wave
ROLES: Final = ("client", "practitioner")
SIGNS: Final = {"in-phase": 1.0, "anti-phase": -1.0}


def _ramp(x: float) -> float:
    """Smoothstep: 0 below 0, 1 above 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    return x * x * (3.0 - 2.0 * x)


@dataclass(frozen=True, slots=True)
class Coupling:
    """A span where ``leader``'s slow heart-rate fluctuation reappears in the other person ``lag_s`` later."""

    at_s: float
    duration_s: float
    leader: str  # "client" | "practitioner"
    lag_s: float
    strength: float  # 0..1: the correlation of the two slow fluctuations at the lag, at full ramp
    sign: str = "in-phase"  # "in-phase" | "anti-phase"
    ramp_s: float = 30.0  # s to ease in at the start and out at the end

    @property
    def follower(self) -> str:
        """The other person."""
        return ROLES[1] if self.leader == ROLES[0] else ROLES[0]

    @property
    def sign_value(self) -> float:
        """+1 in-phase, -1 anti-phase."""
        return SIGNS[self.sign]

    def weight(self, t_s: float) -> float:
        """``strength`` times the ramp in and out at leader time ``t_s`` (0 outside the span)."""
        end = self.at_s + self.duration_s
        if t_s <= self.at_s or t_s >= end:
            return 0.0
        if self.ramp_s <= 0.0:
            return self.strength
        return self.strength * _ramp((t_s - self.at_s) / self.ramp_s) * _ramp((end - t_s) / self.ramp_s)


@dataclass(frozen=True, slots=True)
class Pacer:
    """Both people breathe with one pacer at ``bpm`` from ``at_s`` for ``duration_s``."""

    at_s: float
    duration_s: float
    bpm: float

    def active(self, t_s: float) -> bool:
        return self.at_s <= t_s < self.at_s + self.duration_s

    def phase(self, t_s: float) -> float:
        """The pacer's breathing phase in cycles (0 at its start)."""
        return (t_s - self.at_s) * self.bpm / 60.0


class SlowProcess:
    """Unit-variance drift (OU, 40 s) and slow wave (OU, 2.5 s) on a fixed 0.25 s grid, from one seed.

    ``at(t)`` interpolates linearly between grid points, generated lazily: a pure function of
    ``t`` and the seed. Thread: the owning model's.
    """

    def __init__(self, seed: list[int]) -> None:
        self._rng = np.random.default_rng(seed)
        self._e = (math.exp(-GRID_S / DRIFT_TAU_S), math.exp(-GRID_S / WAVE_TAU_S))
        first = self._rng.standard_normal(2)
        self._drift: list[float] = [float(first[0])]
        self._wave: list[float] = [float(first[1])]

    def _extend(self, k: int) -> None:
        e_d, e_w = self._e
        while len(self._drift) <= k:
            n = self._rng.standard_normal(2)
            self._drift.append(e_d * self._drift[-1] + math.sqrt(1.0 - e_d * e_d) * float(n[0]))
            self._wave.append(e_w * self._wave[-1] + math.sqrt(1.0 - e_w * e_w) * float(n[1]))

    def at(self, t_s: float) -> tuple[float, float]:
        """(drift, wave) at session time ``t_s`` (clamped to 0 before the start)."""
        x = max(0.0, t_s) / GRID_S
        k = int(x)
        self._extend(k + 1)
        f = x - k
        return ((1.0 - f) * self._drift[k] + f * self._drift[k + 1],
                (1.0 - f) * self._wave[k] + f * self._wave[k + 1])


@dataclass(frozen=True, slots=True)
class PersonCoupling:
    """One person's side of a dyad: role, the dyad's shared seed, the coupling blocks and pacers."""

    role: str  # "client" | "practitioner"
    shared_seed: int
    couplings: tuple[Coupling, ...] = ()
    pacers: tuple[Pacer, ...] = ()
    slow_wave_bpm: float = DEFAULT_SLOW_WAVE_BPM

    def start(self, own_seed: int) -> CouplingState:
        """The per-model runtime state (its own processes; the model owns it)."""
        return CouplingState(self, SlowProcess([self.shared_seed, SHARED_STREAM]),
                             SlowProcess([own_seed, OWN_WAVE_STREAM]))


@dataclass(slots=True)
class CouplingState:
    """Runtime of :class:`PersonCoupling` inside one heart model (same thread as the model)."""

    spec: PersonCoupling
    shared: SlowProcess
    own: SlowProcess

    def slow_bpm(self, t_s: float, own_drift: float, drift_bpm: float) -> float:
        """The slow heart-rate deviation (bpm) at ``t_s``, given the model's own unit drift."""
        own_wave = self.own.at(t_s)[1]  # (the own process's drift is unused: the model has its own)
        drift, wave = own_drift, own_wave
        for block in self.spec.couplings:
            leads = block.leader == self.spec.role
            t_ref = t_s if leads else t_s - block.lag_s
            c = block.weight(t_ref)
            if c <= 0.0:
                continue
            s_drift, s_wave = self.shared.at(t_ref)
            sign = 1.0 if leads else block.sign_value
            keep, take = math.sqrt(1.0 - c), sign * math.sqrt(c)
            drift, wave = keep * own_drift + take * s_drift, keep * own_wave + take * s_wave
            break  # blocks never overlap, lags included (the loader checks)
        return drift_bpm * drift + self.spec.slow_wave_bpm * wave

    def pacer_at(self, t_s: float) -> Pacer | None:
        """The pacer breathing is held to at ``t_s``, if any."""
        return next((p for p in self.spec.pacers if p.active(t_s)), None)


def pull_hz(pacer: Pacer, t_s: float, phase: float) -> float:
    """Rate correction (cycles/s) pulling breathing ``phase`` (cycles) toward the pacer's at ``t_s``."""
    return phase_pull_hz(pacer.phase(t_s), phase)


def phase_pull_hz(target: float, phase: float) -> float:
    """Rate correction (cycles/s) pulling breathing ``phase`` toward ``target`` (cycles, either wrapped or not)."""
    error = (target - phase + 0.5) % 1.0 - 0.5
    return PACER_PULL_PER_S * error
