"""The breathing pacer: where in the breath the pacer is at any moment of session time.

The pacer is driven by the clock, not by timer ticks. A :class:`Pacer` keeps only its
start time and the settings changes made so far (each stamped with the session time it
took effect); :meth:`Pacer.at` computes the state at a session time ``t`` from those
alone. Consequences the callers rely on:

- ``at(t)`` is **pure in t**: the same ``t`` gives the same answer, whatever was asked
  before, in any order and at any sampling rate. The UI samples it from its frame timer,
  the audio chimes from their own timer, a replay from recorded times, and they all agree.
- Nothing drifts or accumulates: a dropped frame skips nothing, a late tick is never
  "caught up", and a session clock that runs faster, slower or pauses (simulation at
  ``--speed 10``, replay, a paused session) just works, because time is whatever the
  caller passes in.
- :meth:`Pacer.phase_changes` lists the phase starts in a time interval, so a chime
  player that wakes up at irregular moments still plays every phase start exactly once
  (ask for ``(last_t, now]`` each time).

One breath (a *cycle*) is, in order: inhale, hold after inhale (``hold_in``), exhale, hold
after exhale (``hold_out``); zero-length holds are skipped. The first cycle starts with
an inhale at ``start_s``; before ``start_s`` the pacer reports the state at ``start_s``.

``target_level`` is the lung-volume shape for drawing: 0 at the end of an exhale, 1 at
the end of an inhale, a half-cosine within the inhale and the exhale, flat during holds.
It is continuous in t within a settings block.

Changing settings (:meth:`Pacer.set_settings`) is phase-continuous: the position in the
breath (``cycle_fraction``) and the breath count carry over at the switch time, and the
new period applies from there on. The drawn level is also continuous across a change that
keeps the proportions of the breath (e.g. the resonance-frequency steps 6.5 → 4.5 bpm, all
at 40:60); a change of the inhale:exhale proportion can move it a little at the switch.

Defaults follow the design brief (§1.6, §5): 6 breaths/min at 40:60 (4 s in, 6 s out)
with no breath holds.

Thread: ``at`` and ``phase_changes`` may be called from any thread; ``set_settings``
from one thread at a time (it replaces an immutable history in one assignment).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple, TypeAlias

Phase: TypeAlias = Literal["inhale", "hold_in", "exhale", "hold_out"]
PHASES: Final[tuple[Phase, ...]] = ("inhale", "hold_in", "exhale", "hold_out")

MIN_PERIOD_S: Final = 2.0  # 30 breaths/min
MAX_PERIOD_S: Final = 30.0  # 2 breaths/min


def _check_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number of seconds, got {value!r}")
    return number


@dataclass(frozen=True, slots=True)
class PacerSettings:
    """One breath's timing, in seconds.

    ``inhale_s`` and ``exhale_s`` must be > 0, the holds >= 0, and the whole breath
    (the period) between 2 and 30 s (30 to 2 breaths per minute); otherwise ValueError.
    """

    inhale_s: float = 4.0
    exhale_s: float = 6.0
    hold_in_s: float = 0.0
    hold_out_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("inhale_s", "exhale_s", "hold_in_s", "hold_out_s"):
            object.__setattr__(self, name, _check_number(name, getattr(self, name)))
        for name in ("inhale_s", "exhale_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name):g}")
        for name in ("hold_in_s", "hold_out_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name):g}")
        period = self.period_s
        if not MIN_PERIOD_S <= period <= MAX_PERIOD_S:
            raise ValueError(
                f"one breath must last {MIN_PERIOD_S:g} to {MAX_PERIOD_S:g} s "
                f"(inhale + holds + exhale), got {period:g} s"
            )

    @classmethod
    def from_rate(cls, breaths_per_min: float, inhale_share: float = 0.4) -> PacerSettings:
        """Settings for a breathing rate with no holds; ``inhale_share`` 0.4 is 40:60."""
        rate = _check_number("breaths_per_min", breaths_per_min)
        if not rate > 0:
            raise ValueError(f"breaths_per_min must be > 0, got {rate:g}")
        share = _check_number("inhale_share", inhale_share)
        if not 0 < share < 1:
            raise ValueError(f"inhale_share must be between 0 and 1, got {share:g}")
        period = 60.0 / rate
        return cls(inhale_s=period * share, exhale_s=period * (1 - share))

    @property
    def period_s(self) -> float:
        """Length of one whole breath, holds included."""
        return self.inhale_s + self.hold_in_s + self.exhale_s + self.hold_out_s

    @property
    def breaths_per_min(self) -> float:
        return 60.0 / self.period_s

    def phase_starts(self) -> tuple[tuple[float, Phase], ...]:
        """(seconds into the breath, phase) for each phase that lasts > 0 s, in order."""
        starts: list[tuple[float, Phase]] = [(0.0, "inhale")]
        at = self.inhale_s
        if self.hold_in_s > 0:
            starts.append((at, "hold_in"))
            at += self.hold_in_s
        starts.append((at, "exhale"))
        at += self.exhale_s
        if self.hold_out_s > 0:
            starts.append((at, "hold_out"))
        return tuple(starts)


@dataclass(frozen=True, slots=True)
class PacerState:
    """The pacer at one moment.

    ``progress`` runs 0..1 within the current phase, ``cycle_fraction`` 0..1 within the
    breath (0 = start of inhale), ``breath_index`` counts breaths from 0 at the start, and
    ``target_level`` is the lung-volume shape to draw (0 empty .. 1 full).
    """

    phase: Phase
    progress: float
    cycle_fraction: float
    breath_index: int
    target_level: float
    settings: PacerSettings

    @property
    def phase_remaining_s(self) -> float:
        """Seconds left in the current phase (for a countdown)."""
        return (1.0 - self.progress) * _phase_length(self.settings, self.phase)


class PhaseChange(NamedTuple):
    """A phase starting at session time ``t_s``."""

    t_s: float
    phase: Phase
    breath_index: int


def _phase_length(settings: PacerSettings, phase: Phase) -> float:
    return {
        "inhale": settings.inhale_s, "hold_in": settings.hold_in_s,
        "exhale": settings.exhale_s, "hold_out": settings.hold_out_s,
    }[phase]


def _level(phase: Phase, progress: float) -> float:
    if phase == "inhale":
        return (1.0 - math.cos(math.pi * progress)) / 2.0
    if phase == "exhale":
        return (1.0 + math.cos(math.pi * progress)) / 2.0
    return 1.0 if phase == "hold_in" else 0.0


def _phase_at(settings: PacerSettings, s: float) -> tuple[Phase, float]:
    """Phase and progress ``s`` seconds into a breath (0 <= s < period)."""
    for start, phase in reversed(settings.phase_starts()):
        if s >= start:
            length = _phase_length(settings, phase)
            return phase, min(max((s - start) / length, 0.0), 1.0)
    return "inhale", 0.0  # pragma: no cover - s >= 0 always matches the inhale


def _phase_left(settings: PacerSettings, s: float) -> Phase:
    """The phase just before ``s`` seconds into a breath (the one ending there, at a boundary)."""
    starts = settings.phase_starts()
    if s <= 0:
        return starts[-1][1]
    for start, phase in reversed(starts):
        if s > start:
            return phase
    return "inhale"  # pragma: no cover - s > 0 always passes the inhale start


@dataclass(frozen=True, slots=True)
class _Block:
    """Settings in force from ``t0`` on, with ``cycles0`` breaths completed at ``t0``."""

    t0: float
    cycles0: float
    settings: PacerSettings

    def cycles_at(self, t: float) -> float:
        return self.cycles0 + (t - self.t0) / self.settings.period_s

    def time_of(self, cycles: float) -> float:
        return self.t0 + (cycles - self.cycles0) * self.settings.period_s


def _split(cycles: float) -> tuple[int, float]:
    index = math.floor(cycles)
    fraction = cycles - index
    if fraction >= 1.0:  # floating-point edge
        index, fraction = index + 1, 0.0
    return index, fraction


class Pacer:
    """A breathing pacer over session time; see the module docstring."""

    def __init__(self, settings: PacerSettings, start_s: float) -> None:
        if not isinstance(settings, PacerSettings):
            raise TypeError(f"settings must be PacerSettings, got {type(settings).__name__}")
        start = _check_number("start_s", start_s)
        self._blocks: tuple[_Block, ...] = (_Block(start, 0.0, settings),)

    @property
    def start_s(self) -> float:
        return self._blocks[0].t0

    @property
    def settings(self) -> PacerSettings:
        """The latest settings (in force from the last change on)."""
        return self._blocks[-1].settings

    @property
    def changes(self) -> tuple[tuple[float, PacerSettings], ...]:
        """(session time, settings) of the start and of every change, in time order."""
        return tuple((block.t0, block.settings) for block in self._blocks)

    def settings_at(self, t_s: float) -> PacerSettings:
        return self._block_at(t_s).settings

    def set_settings(self, settings: PacerSettings, at_s: float) -> None:
        """New settings from session time ``at_s`` on, keeping the breath position there.

        Changes come in time order: ``at_s`` earlier than the last change raises ValueError
        (answers already given for later times would otherwise change). A change at the
        same time as the last one replaces it.
        """
        if not isinstance(settings, PacerSettings):
            raise TypeError(f"settings must be PacerSettings, got {type(settings).__name__}")
        at = _check_number("at_s", at_s)
        blocks = self._blocks
        last = blocks[-1]
        if at < last.t0:
            raise ValueError(f"settings changes must come in time order: {at:g} s is before the last change at {last.t0:g} s")
        if at == last.t0:
            self._blocks = (*blocks[:-1], _Block(last.t0, last.cycles0, settings))
        else:
            self._blocks = (*blocks, _Block(at, last.cycles_at(at), settings))

    def _block_at(self, t: float, blocks: tuple[_Block, ...] | None = None) -> _Block:
        blocks = self._blocks if blocks is None else blocks
        i = bisect.bisect_right([block.t0 for block in blocks], t) - 1
        return blocks[max(i, 0)]

    def at(self, t_s: float) -> PacerState:
        """The pacer at session time ``t_s`` (pure in ``t_s``; before the start: the start)."""
        blocks = self._blocks
        t = max(float(t_s), blocks[0].t0)
        block = self._block_at(t, blocks)
        index, fraction = _split(block.cycles_at(t))
        settings = block.settings
        phase, progress = _phase_at(settings, fraction * settings.period_s)
        return PacerState(phase, progress, fraction, index, _level(phase, progress), settings)

    def phase_changes(self, t_from: float, t_to: float) -> list[PhaseChange]:
        """Every phase start in ``(t_from, t_to]``, in time order (for chimes and tones).

        Includes the first inhale at ``start_s``, and a settings change that lands the
        pacer in a different phase than it was in just before. Splitting an interval
        never loses or repeats a change: ``(a, b]`` plus ``(b, c]`` is ``(a, c]``.
        """
        lo, hi = float(t_from), float(t_to)
        blocks = self._blocks
        out: list[PhaseChange] = []
        if hi <= lo:
            return out
        for i, block in enumerate(blocks):
            end = blocks[i + 1].t0 if i + 1 < len(blocks) else math.inf
            first, last = max(lo, block.t0), min(hi, end)
            if first > last:
                continue
            period = block.settings.period_s
            starts = block.settings.phase_starts()
            natural: list[PhaseChange] = []
            for k in range(max(math.floor(block.cycles_at(first)) - 1, 0), math.floor(block.cycles_at(last)) + 2):
                for offset, phase in starts:
                    t = block.time_of(k + offset / period)
                    if block.t0 <= t < end and lo < t <= hi:
                        natural.append(PhaseChange(t, phase, k))
            if i > 0 and lo < block.t0 <= hi:
                # At a settings change the phase may change without a natural boundary.
                before = blocks[i - 1]
                phase_before = _phase_left(before.settings, _split(before.cycles_at(block.t0))[1] * before.settings.period_s)
                natural = [c for c in natural if c.t_s != block.t0 or c.phase != phase_before]
                if not any(c.t_s == block.t0 for c in natural):
                    index, fraction = _split(block.cycles0)
                    phase_after = _phase_at(block.settings, fraction * period)[0]
                    if phase_after != phase_before:
                        out.append(PhaseChange(block.t0, phase_after, index))
            out.extend(sorted(natural))
        return out
