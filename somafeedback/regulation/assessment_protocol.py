"""The stepped protocol of a resonance-frequency assessment: which rates, how long, in what order.

Defaults (issue #19, after Lehrer 2013 and Shaffer & Meehan 2020): 6.5 -> 6.0 -> 5.5 -> 5.0 -> 4.5
breaths/min, 120 s of paced breathing per step, the first 30 s of each step discarded as settling
(the breath and the heart need a few breaths to find the new rate), 30 s of ordinary breathing
(no pacer) between steps, inhale:exhale 40:60.

Thread: any (immutable values).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

DEFAULT_RATES_BPM: Final = (6.5, 6.0, 5.5, 5.0, 4.5)  # breaths per minute, in the order paced
DEFAULT_STEP_S: Final = 120.0  # s of paced breathing per step
DEFAULT_SETTLE_S: Final = 30.0  # s at the start of each step left out of its measures
DEFAULT_REST_S: Final = 30.0  # s of ordinary breathing (pacer off) between steps
DEFAULT_INHALE_SHARE: Final = 0.4  # inhale:exhale 40:60
RATE_MIN_BPM: Final = 3.0  # the slowest rate a step may ask for
RATE_MAX_BPM: Final = 10.0  # the fastest
MIN_SCORED_S: Final = 45.0  # s: a step must leave at least this much after settling


@dataclass(frozen=True, slots=True)
class ResonanceProtocol:
    """The assessment's steps: ``rates_bpm`` paced in order, each ``step_s`` long (its first
    ``settle_s`` not measured), ``rest_s`` of ordinary breathing between steps, the pacer at
    ``inhale_share`` of each breath breathing in. ValueError for values outside the ranges."""

    rates_bpm: tuple[float, ...] = DEFAULT_RATES_BPM
    step_s: float = DEFAULT_STEP_S
    settle_s: float = DEFAULT_SETTLE_S
    rest_s: float = DEFAULT_REST_S
    inhale_share: float = DEFAULT_INHALE_SHARE

    def __post_init__(self) -> None:
        rates = tuple(float(r) for r in self.rates_bpm)
        object.__setattr__(self, "rates_bpm", rates)
        if not rates:
            raise ValueError("the assessment needs at least one breathing rate")
        for rate in rates:
            if not (math.isfinite(rate) and RATE_MIN_BPM <= rate <= RATE_MAX_BPM):
                raise ValueError(f"breathing rate {rate:g}/min is outside {RATE_MIN_BPM:g}..{RATE_MAX_BPM:g} breaths/min")
        for name in ("step_s", "settle_s", "rest_s", "inhale_share"):
            value = float(getattr(self, name))
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {getattr(self, name)!r}")
            object.__setattr__(self, name, value)
        if self.step_s - self.settle_s < MIN_SCORED_S:
            raise ValueError(f"each step must leave at least {MIN_SCORED_S:g} s after settling "
                             f"(step {self.step_s:g} s, settling {self.settle_s:g} s)")
        if not 0.2 <= self.inhale_share <= 0.6:
            raise ValueError(f"inhale_share must be between 0.2 and 0.6, got {self.inhale_share:g}")

    @property
    def duration_s(self) -> float:
        """The planned length: every step and the rests between them."""
        return len(self.rates_bpm) * self.step_s + (len(self.rates_bpm) - 1) * self.rest_s

    def as_dict(self) -> dict[str, Any]:
        """As recorded in the assessment's events and its result."""
        return {"rates_bpm": list(self.rates_bpm), "step_s": self.step_s, "settle_s": self.settle_s,
                "rest_s": self.rest_s, "inhale_share": self.inhale_share}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResonanceProtocol:
        """From :meth:`as_dict` or an exercise file's ``[assessment]`` table (missing keys: defaults).
        ValueError for unknown keys or bad values."""
        known = {"rates_bpm", "step_s", "settle_s", "rest_s", "inhale_share"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown assessment settings: {', '.join(sorted(unknown))}")
        rates = data.get("rates_bpm", DEFAULT_RATES_BPM)
        if isinstance(rates, (str, bytes)) or not hasattr(rates, "__iter__"):
            raise ValueError("rates_bpm must be a list of breathing rates")
        values: dict[str, Any] = {"rates_bpm": tuple(rates)}
        for name in ("step_s", "settle_s", "rest_s", "inhale_share"):
            if name in data:
                value = data[name]
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError(f"{name} must be a number, got {value!r}")
                values[name] = float(value)
        return cls(**values)
