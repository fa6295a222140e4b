"""Beat generator of the simulated chest strap.

The model never reads a clock: it is driven by session time in seconds, and every beat is
placed on an exact integer grid of 1/1024 s ticks (the unit a BLE strap reports RR in).
Given the same scenario, seed and ``start_s`` it produces the same beats, however the
caller slices the calls.

Model
-----
A sinus beat that starts at session time ``t`` has the interval

    RR(t) = 60000 / (hr_bpm + drift(t))
            + v(t) * g(t) * d_k * (rsa_ms / 2) * sin(2 pi phi_breath(t))
            + mayer_ms * sin(2 pi 0.1 t + phi0)
            + v(t) * noise_ms * e(t)

clipped to 300..2000 ms and rounded to integer ticks. All parameters are the blended
:class:`StateParams` at ``t`` (see "States and blending" below).

* ``phi_breath`` is the breathing oscillator, in cycles. It integrates its rate, so it is
  continuous whenever the rate changes (a scenario ramp or :meth:`HeartModel.set_breathing_rate`).
  Each breath draws a slight rate variation (factor ``1 + breath_cv * N(0, 1)``) and a depth
  factor ``d_k`` (``1 + 0.12 * N(0, 1)``). By the sign above, RR is longest at phase 0.25
  and shortest at 0.75 (the end of an inhale, when heart rate peaks).
* ``g`` is a resonance gain on the breath-linked swing when breathing is held at a rate other
  than the state's own (a phase ``breathing_bpm`` override, or a pacer): the ratio of a damped
  resonance at 0.1 Hz (damping 0.35, peak near 5.2 breaths/min) at the actual and the state's
  rate, clipped to 0.3..2.5. So pacing a settled person at 6/min roughly multiplies the swing
  by 2.5, and making them breathe fast shrinks it. After a pacer change the gain eases to its
  new value with a 10 s time constant.
* A person with a resonance frequency (scenario ``resonance_bpm``) takes ``g`` from a band-pass
  centred there instead, and the breath-linked term becomes ``sin(2 pi phi_breath + theta)``, the
  band-pass phase ``theta`` at the rate breathed (0 at resonance, > 0 below: heart rate leads; < 0
  above: it lags), easing with the same 10 s time constant (see :mod:`.resonance`); ``phi_breath``
  is then read at the beat's expected end, so heart rate on the beat times (where a recording puts
  it) shows exactly that phase against lung volume.
* A person given a pacer view (:meth:`HeartModel.follow_pacer`, scenario ``[follow_pacer]``)
  breathes at the pacer's rate while it runs, pulled toward its phase ``lag_s`` later, with the
  breath depth factor on ``g`` and on :attr:`SimBeat.breath_depth` (the chest motion), and with
  the pacer's breath shape: :attr:`SimBeat.inhale_share` eases (4 s time constant) to the pacer's
  inhale share (0.4 at 40:60; back to 0.5 without a pacer), the chest motion and ECG render that
  shape (:mod:`.breath_shape`), and the breath-linked term gains ``pi (0.5 - share)``, so heart
  rate at resonance peaks where that lung volume's fundamental peaks, not at 0.75.
* The Mayer term is the ~0.1 Hz baroreflex wave, with a random phase ``phi0`` per seed.
* ``e`` is unit-variance AR(1) noise (coefficient 0.3) so ``noise_ms`` is its SD.
* ``drift`` is a slow Ornstein-Uhlenbeck wander of the mean heart rate (SD ``drift_bpm``,
  time constant 40 s), which gives the 10-s HR means a realistic spread. The breath-linked
  and noise terms are scaled by ``v = exp(-0.06 * drift)``: when HR wanders up, variability
  falls a little (HR and RMSSD are coupled), so 60-s RMSSD windows vary like real ones.
* A dyad person (a scenario with ``coupling``, see :mod:`.dyad`) replaces ``drift(t)`` by its
  slow fluctuation: its own drift plus its own 2.5-s slow wave, mixed in coupled spans with a
  process shared with the other person (lagged for the follower), and breathes with any shared
  pacer, pulled toward the pacer's phase (see :mod:`.coupling`). Both come from seeded
  processes on a fixed time grid, so the slicing rule below still holds. A lone heart
  (``coupling`` None) is unchanged.

States and blending
-------------------
:data:`.state_params.STATES` holds named parameter sets. A scenario lists phases; when a phase starts,
every parameter moves from the value in force towards the phase's state (with its optional
breathing override) along a smoothstep over the phase's ``ramp_s`` seconds, never a jump.

Beat-level faults
-----------------
Scenario faults of kind ``ectopic``, ``missed`` and ``extra`` are placed at seeded times
(``count`` of them spread over ``[at_s, at_s + duration_s]``; all on consecutive beats when
``duration_s`` is 0) and change what the strap reports, never the underlying sinus rhythm:

* ``ectopic``: a premature beat ``RR1 * U(0.60, 0.75)`` (kind ``"ectopic"``) then a
  compensatory pause (kind ``"compensatory"``); the pair sums exactly to ``RR1 + RR2``.
* ``missed``: a beat goes undetected, so ``RR1 + RR2`` is reported once (kind ``"missed"``).
* ``extra``: a spurious detection splits ``RR1`` at ``U(0.3, 0.7)``; both halves are
  reported with kind ``"extra"``.

``SimBeat.t_end_s`` is always ``start_s + (sum of reported ticks) / 1024``. Transport faults
(contact loss, link drops, malformed packets) are the BLE peripheral's business.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

import numpy as np

from .beat_faults import ECTOPIC_FRACTION, EXTRA_SPLIT
from .breath_shape import SYMMETRIC_SHARE, shape_shift_rad
from .coupling import pull_hz
from .resonance import Following, PacerFollower, band_pass, relative_gain
from .state_params import BREATHING_BPM_MAX, BREATHING_BPM_MIN, STATES, StateParams

if TYPE_CHECKING:
    from ..pacer_view import PacerView
    from .scenario import Scenario

TICKS_PER_S: Final = 1024
RR_MIN_MS: Final = 300.0
RR_MAX_MS: Final = 2000.0
MAYER_HZ: Final = 0.1
NOISE_AR: Final = 0.3
DRIFT_TAU_S: Final = 40.0
VAGAL_COUPLING: Final = 0.06  # per bpm of drift: ln of the variability scale
BREATH_DEPTH_CV: Final = 0.12
RESONANCE_HZ: Final = 0.1
RESONANCE_DAMPING: Final = 0.35
RSA_GAIN_MIN: Final = 0.3
RSA_GAIN_MAX: Final = 2.5
RSA_GAIN_TAU_S: Final = 10.0
SHAPE_TAU_S: Final = 4.0  # s: time constant of a follower's breath shape easing to the pacer's (a breath or so)

BEAT_KINDS: Final = ("normal", "ectopic", "compensatory", "missed", "extra")


@dataclass(frozen=True, slots=True)
class SimBeat:
    """One RR interval as the strap reports it, with its ground truth."""

    t_end_s: float  # session time the beat completes (exact tick sum from start_s)
    rr_1024: int  # reported RR in ticks of 1/1024 s
    kind: str  # "normal" | "ectopic" | "compensatory" | "missed" | "extra"
    state: str  # the dominant named state at this beat
    breath_cycles: float = 0.0  # breathing oscillator at the beat's end, unwrapped cycles since the start
    breath_depth: float = 1.0  # breath depth factor from following a pacer (1: as the scenario breathes)
    inhale_share: float = SYMMETRIC_SHARE  # breath shape: share of the breath spent breathing in (0.5: symmetric)

    @property
    def rr_ms(self) -> float:
        """The reported RR in milliseconds."""
        return self.rr_1024 * 1000.0 / TICKS_PER_S


def smoothstep(x: float) -> float:
    """0 below 0, 1 above 1, and 3x² - 2x³ in between."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    return x * x * (3.0 - 2.0 * x)


def resonance_gain(breathing_bpm: float) -> float:
    """Relative size of the breath-linked RR swing at a breathing rate (damped resonance at 0.1 Hz)."""
    r = breathing_bpm / 60.0 / RESONANCE_HZ
    return 1.0 / math.sqrt((1.0 - r * r) ** 2 + (2.0 * RESONANCE_DAMPING * r) ** 2)


def rsa_gain(actual_bpm: float, native_bpm: float) -> float:
    """Factor on a state's RSA when breathing at ``actual_bpm`` instead of its own ``native_bpm``."""
    ratio = resonance_gain(actual_bpm) / resonance_gain(native_bpm)
    return min(RSA_GAIN_MAX, max(RSA_GAIN_MIN, ratio))


@dataclass(frozen=True, slots=True)
class _Step:
    """One sinus beat as generated: ticks, and the breathing phase/rate across it."""

    ticks: int
    phase0: float  # breathing phase (cycles, [0, 1)) at the start
    whole_cycles: int  # breaths completed before the start
    rate_hz: float  # breathing rate used across the beat (cycles/s)
    state: str
    depth: float = 1.0  # breath depth factor from following a pacer
    share: float = SYMMETRIC_SHARE  # breath shape (inhale share) from following a pacer


class HeartModel:
    """Generates the beats of one scenario, driven by session time (see module docstring).

    ``start_s`` is the session time of the first beat's start; phases and faults are read in
    session time, and faults before ``start_s`` are skipped. Past ``scenario.duration_s``
    the last phase simply continues (the caller decides when the session ends). The seed
    feeds two independent streams, physiology and fault placement, so the same seed with
    and without faults gives the same underlying sinus rhythm.
    """

    def __init__(self, scenario: Scenario, seed: int | None = None, start_s: float = 0.0,
                 pacer_view: PacerView | None = None, pacer_offset_s: float = 0.0) -> None:
        self._scenario = scenario
        self._seed = scenario.seed if seed is None else int(seed)
        self._start_s = float(start_s)
        self._phys_rng, fault_rng = np.random.default_rng(self._seed).spawn(2)
        self._fault_rng = fault_rng

        # Per-phase targets (state with its breathing override and matching RSA gain).
        self._targets: list[StateParams] = []
        for ph in scenario.phases:
            base = STATES[ph.state]
            if ph.breathing_bpm is not None and ph.breathing_bpm != base.breathing_bpm:
                base = self._with_breathing(base, ph.breathing_bpm)
            self._targets.append(base)

        rng = self._phys_rng
        self._mayer_phase0 = float(rng.uniform(0.0, 2.0 * math.pi))
        self._phase = float(rng.uniform(0.0, 1.0))  # breathing phase, cycles [0, 1)
        self._breath_rate_factor = self._draw_rate_factor(self._scenario_params(self._start_s).breath_cv)
        self._breath_depth = self._draw_depth()
        self._noise = float(rng.standard_normal())  # unit AR(1) state
        self._drift = float(rng.standard_normal())  # unit OU state, scaled by drift_bpm
        self._gain = 1.0  # current (lagged) pacer resonance gain

        self._gen_ticks = 0  # sinus time: ticks from start_s to the start of the next step
        self._out_ticks = 0  # ticks of all beats delivered so far
        self._pending: deque[tuple[SimBeat, float]] = deque()  # (beat, phase at its end)
        self._delivered_phase = self._phase
        self._whole_cycles = 0  # breaths completed by the generator
        self._overrides: list[tuple[float, float]] = []  # (from session time, breathing bpm)

        self._faults: deque[tuple[float, str]] = deque(self._schedule_faults())
        self._fault_times: tuple[tuple[float, str], ...] = tuple(self._faults)
        # a dyad person: shared slow fluctuation and pacer (see .coupling); None keeps a lone heart unchanged
        self._coupling = None if scenario.coupling is None else scenario.coupling.start(self._seed)
        start_shift = self.resonance_at(self._scenario_params(self._start_s).breathing_bpm)
        self._shift = 0.0 if start_shift is None else start_shift[1]  # current (lagged) band-pass phase, radians
        self._depth_level = 1.0  # current (lagged) breath depth factor from following a pacer
        self._share_level = SYMMETRIC_SHARE  # current (eased) breath shape from following a pacer
        self._follower: PacerFollower | None = None
        if pacer_view is not None:
            self.follow_pacer(pacer_view, pacer_offset_s)

    # ------------------------------------------------------------------ public API

    @property
    def scenario(self) -> Scenario:
        """The scenario being played."""
        return self._scenario

    @property
    def seed(self) -> int:
        """The seed in use."""
        return self._seed

    @property
    def start_s(self) -> float:
        """Session time of the model's first beat start."""
        return self._start_s

    @property
    def now_s(self) -> float:
        """Session time at which the last delivered beat completed (start_s before any)."""
        return self._start_s + self._out_ticks / TICKS_PER_S

    @property
    def fault_schedule(self) -> tuple[tuple[float, str], ...]:
        """Planned beat faults as (session time, kind): each hits the first beat starting at or after it."""
        return self._fault_times

    @property
    def breathing_phase(self) -> float:
        """Breathing phase in cycles [0, 1) at :attr:`now_s` (RR longest at 0.25, shortest at 0.75)."""
        return self._delivered_phase % 1.0

    @property
    def resonance_bpm(self) -> float | None:
        """The person's resonance frequency in breaths/min (ground truth), None for the legacy model."""
        return self._scenario.resonance_bpm

    def resonance_at(self, breaths_per_min: float) -> tuple[float, float] | None:
        """(gain 0..1, phase in radians) of the person's resonance at a breathing rate: gain 1 and phase 0 at
        resonance, phase > 0 below it (heart rate leads breathing), < 0 above; None without a resonance."""
        res = self._scenario.resonance_bpm
        return None if res is None else band_pass(breaths_per_min, res, self._scenario.resonance_damping)

    def follow_pacer(self, view: PacerView | None, offset_s: float = 0.0) -> None:
        """Breathe with ``view`` as the scenario's ``[follow_pacer]`` says (None, or no such table: ignore it).

        ``offset_s``: the view's session-clock time at model time 0 (view time = model time + offset).
        Set it before the first beat for reproducible beats; the view is read at each beat's start.
        """
        spec = self._scenario.follow_pacer
        self._follower = None if view is None or spec is None else PacerFollower(spec, view, offset_s)

    def next_beat(self) -> SimBeat:
        """Deliver the next beat."""
        if not self._pending:
            self._generate()
        beat, phase_end = self._pending.popleft()
        self._out_ticks += beat.rr_1024
        self._delivered_phase = phase_end
        return beat

    def beats_until(self, t_s: float) -> list[SimBeat]:
        """All beats completing at or before session time ``t_s``, in order (continues across calls)."""
        out: list[SimBeat] = []
        while True:
            if not self._pending:
                self._generate()
            if self._pending[0][0].t_end_s > t_s:
                return out
            out.append(self.next_beat())

    def set_breathing_rate(self, breaths_per_min: float) -> None:
        """Override the scenario's breathing rate from now on (phase stays continuous).

        Takes effect at the next beat the model generates (at most one already generated
        beat or fault pair later than :attr:`now_s`); :meth:`params_at` reports it from there.
        """
        bpm = float(breaths_per_min)
        if not (math.isfinite(bpm) and BREATHING_BPM_MIN <= bpm <= BREATHING_BPM_MAX):
            raise ValueError(
                f"breathing rate {breaths_per_min!r} outside {BREATHING_BPM_MIN:g}..{BREATHING_BPM_MAX:g}/min"
            )
        t_from = self._start_s + self._gen_ticks / TICKS_PER_S
        while self._overrides and self._overrides[-1][0] >= t_from:
            self._overrides.pop()
        self._overrides.append((t_from, bpm))

    def clear_breathing_rate(self) -> None:
        """Hand the breathing rate back to the scenario from now on."""
        t_from = self._start_s + self._gen_ticks / TICKS_PER_S
        while self._overrides and self._overrides[-1][0] >= t_from:
            self._overrides.pop()
        self._overrides.append((t_from, math.nan))

    def params_at(self, t_s: float) -> StateParams:
        """Blended parameters at session time ``t_s``, with any breathing override in force.

        After a :meth:`set_breathing_rate` (or while following a pacer view), ``rsa_ms`` is the
        steady-state value the model eases into (10 s time constant).
        """
        p = self._scenario_params(t_s)
        bpm, following = self._held(t_s, p, 0.0)
        if bpm is None:
            return p
        held = self._with_breathing(p, bpm)
        return held if following is None else replace(held, rsa_ms=held.rsa_ms * following.depth)

    # ------------------------------------------------------------------ internals

    def _scenario_params(self, t_s: float) -> StateParams:
        phases = self._scenario.phases
        p = self._targets[0]
        for ph, target in zip(phases[1:], self._targets[1:]):
            if t_s <= ph.at_s:
                break
            w = smoothstep((t_s - ph.at_s) / ph.ramp_s) if ph.ramp_s > 0 else 1.0
            p = p.blend(target, w)
        return p

    def _breathing_held_at(self, t_s: float) -> float | None:
        """The breathing rate held by an override, else by a dyad's shared pacer, else None."""
        bpm = self._override_at(t_s)
        if bpm is None and self._coupling is not None:
            pacer = self._coupling.pacer_at(t_s)
            bpm = None if pacer is None else pacer.bpm
        return bpm

    def _held(self, t_s: float, p: StateParams, phase: float) -> tuple[float | None, Following | None]:
        """The breathing rate held at ``t_s`` (override, dyad pacer, else a followed pacer view) and the following."""
        bpm = self._breathing_held_at(t_s)
        if bpm is not None or self._follower is None:
            return bpm, None
        following = self._follower.at(t_s, p.breathing_bpm, phase)
        return (None, None) if following is None else (following.breaths_per_min, following)

    def _override_at(self, t_s: float) -> float | None:
        bpm: float | None = None
        for t_from, value in self._overrides:
            if t_from > t_s:
                break
            bpm = None if math.isnan(value) else value
        return bpm

    def _with_breathing(self, p: StateParams, bpm: float) -> StateParams:
        """``p`` breathing at ``bpm``, with the RSA that rate gives (resonance gain)."""
        return replace(p, rsa_ms=p.rsa_ms * self._rsa_gain(bpm, p.breathing_bpm), breathing_bpm=bpm)

    def _rsa_gain(self, actual_bpm: float, native_bpm: float) -> float:
        """The person's resonance gain if the scenario sets one, else the legacy :func:`rsa_gain`."""
        res = self._scenario.resonance_bpm
        if res is None:
            return rsa_gain(actual_bpm, native_bpm)
        return relative_gain(actual_bpm, native_bpm, res, self._scenario.resonance_damping)

    def _draw_rate_factor(self, cv: float) -> float:
        f = 1.0 + cv * float(self._phys_rng.standard_normal())
        return min(1.4, max(0.6, f))

    def _draw_depth(self) -> float:
        d = 1.0 + BREATH_DEPTH_CV * float(self._phys_rng.standard_normal())
        return min(1.4, max(0.6, d))

    def _schedule_faults(self) -> list[tuple[float, str]]:
        planned: list[tuple[float, str]] = []
        for fault in self._scenario.beat_faults():
            n = max(1, int(fault.count))
            if fault.duration_s <= 0.0:
                times = [fault.at_s] * n
            else:
                slot = fault.duration_s / n
                times = [
                    fault.at_s + slot * (k + float(self._fault_rng.uniform(0.1, 0.9))) for k in range(n)
                ]
            planned.extend((t, fault.kind) for t in times if t >= self._start_s)
        planned.sort(key=lambda item: item[0])
        return planned

    def _step(self) -> _Step:
        """Advance the sinus rhythm by one beat."""
        rng = self._phys_rng
        t = self._start_s + self._gen_ticks / TICKS_PER_S
        p = self._scenario_params(t)
        override, following = self._held(t, p, self._phase)
        if override is None:
            rate_bpm, gain_target, cv = p.breathing_bpm, 1.0, p.breath_cv
        else:
            rate_bpm = override
            cv = 0.5 * p.breath_cv  # following a pacer is more regular
            if following is not None:  # the rate breathed: the mixed rate plus the pull toward the pacer's phase
                rate_bpm = 60.0 * max(0.5 * override / 60.0 * self._breath_rate_factor,
                                      override / 60.0 * self._breath_rate_factor + following.pull_hz)
            gain_target = self._rsa_gain(rate_bpm, p.breathing_bpm)
        resonance = self.resonance_at(rate_bpm)

        if self._coupling is None:
            drift = p.drift_bpm * self._drift
        else:  # a dyad person: own drift and slow wave, mixed with the shared one in coupled spans
            drift = self._coupling.slow_bpm(t, self._drift, p.drift_bpm)
        hr = max(25.0, p.hr_bpm + drift)
        vagal = math.exp(-VAGAL_COUPLING * drift)  # faster wander, less variability
        rsa_amp = 0.5 * p.rsa_ms * self._gain * self._breath_depth * vagal
        if resonance is None:
            breath = 2.0 * math.pi * self._phase
        else:  # read at the beat's expected end (rate_bpm / hr cycles on), the time a tachogram puts it at
            breath = 2.0 * math.pi * (self._phase + rate_bpm / hr) + self._shift
        if self._follower is not None:  # heart rate peaks with this breath shape's lung volume fundamental
            breath += shape_shift_rad(self._share_level)
        rr_ms = (
            60000.0 / hr
            + rsa_amp * math.sin(breath)
            + p.mayer_ms * math.sin(2.0 * math.pi * MAYER_HZ * t + self._mayer_phase0)
            + p.noise_ms * vagal * self._noise
        )
        rr_ms = min(RR_MAX_MS, max(RR_MIN_MS, rr_ms))
        ticks = max(1, round(rr_ms * TICKS_PER_S / 1000.0))
        dt = ticks / TICKS_PER_S

        phase0, whole_cycles = self._phase, self._whole_cycles
        rate_hz = rate_bpm / 60.0 * self._breath_rate_factor
        coupling = self._coupling
        pacer = None if coupling is None or self._override_at(t) is not None else coupling.pacer_at(t)
        if pacer is not None:  # breathing with a shared pacer: pulled toward its phase
            rate_hz = max(0.5 * rate_hz, rate_hz + pull_hz(pacer, t, phase0))
        elif following is not None:  # breathing with the pacer on the screen: rate_bpm already holds the pull
            rate_hz = rate_bpm / 60.0
        self._phase = phase0 + rate_hz * dt
        if self._phase >= 1.0:  # a new breath began
            self._whole_cycles += math.floor(self._phase)
            self._phase -= math.floor(self._phase)
            self._breath_rate_factor = self._draw_rate_factor(cv)
            self._breath_depth = self._draw_depth()

        a = NOISE_AR
        self._noise = a * self._noise + math.sqrt(1.0 - a * a) * float(rng.standard_normal())
        e = math.exp(-dt / DRIFT_TAU_S)
        self._drift = e * self._drift + math.sqrt(1.0 - e * e) * float(rng.standard_normal())
        ease = 1.0 - math.exp(-dt / RSA_GAIN_TAU_S)
        if self._follower is not None:  # (a legacy model never reaches here: its beats stay bit for bit)
            depth = 1.0 if following is None else following.depth
            self._depth_level += (depth - self._depth_level) * ease
            gain_target *= depth
            share = SYMMETRIC_SHARE if following is None else following.inhale_share
            self._share_level += (share - self._share_level) * (1.0 - math.exp(-dt / SHAPE_TAU_S))
        if resonance is not None:
            self._shift += (resonance[1] - self._shift) * ease
        self._gain += (gain_target - self._gain) * ease

        self._gen_ticks += ticks
        return _Step(ticks=ticks, phase0=phase0, whole_cycles=whole_cycles, rate_hz=rate_hz,
                     state=self._scenario.state_at(t), depth=self._depth_level, share=self._share_level)

    def _generate(self) -> None:
        """Append the next beat, or the beats of one fault, to the pending queue."""
        t = self._start_s + self._gen_ticks / TICKS_PER_S
        kind = None
        if self._faults and self._faults[0][0] <= t:
            kind = self._faults.popleft()[1]

        s1 = self._step()
        if kind is None:
            self._emit(s1, [(s1.ticks, "normal")])
        elif kind == "ectopic":
            s2 = self._step()
            early = max(1, round(s1.ticks * float(self._fault_rng.uniform(*ECTOPIC_FRACTION))))
            self._emit(s1, [(early, "ectopic"), (s1.ticks + s2.ticks - early, "compensatory")], s2)
        elif kind == "missed":
            s2 = self._step()
            self._emit(s1, [(s1.ticks + s2.ticks, "missed")], s2)
        elif kind == "extra":
            first = max(1, min(s1.ticks - 1, round(s1.ticks * float(self._fault_rng.uniform(*EXTRA_SPLIT)))))
            self._emit(s1, [(first, "extra"), (s1.ticks - first, "extra")])
        else:  # pragma: no cover - the scenario validates kinds
            raise ValueError(f"unknown beat fault kind {kind!r}")

    def _emit(self, s1: _Step, beats: list[tuple[int, str]], s2: _Step | None = None) -> None:
        """Queue reported beats covering the step(s), with the breathing phase at each end."""
        offset = 0
        for ticks, kind in beats:
            offset += ticks
            step, into = (s1, offset) if s2 is None or offset <= s1.ticks else (s2, offset - s1.ticks)
            phase_end = step.phase0 + step.rate_hz * into / TICKS_PER_S
            total = self._out_ticks + sum(b.rr_1024 for b, _ in self._pending) + ticks
            beat = SimBeat(
                t_end_s=self._start_s + total / TICKS_PER_S, rr_1024=ticks, kind=kind, state=s1.state,
                breath_cycles=step.whole_cycles + phase_end, breath_depth=step.depth, inhale_share=step.share,
            )
            self._pending.append((beat, phase_end))
