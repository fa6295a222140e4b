"""A session clock the test moves by hand (the :class:`somafeedback.clock.Clock` protocol)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ManualClock:
    """``t`` seconds of session time (set or :meth:`advance`); wall time is ``start_wall + t``."""

    t: float = 0.0
    start_wall: float = 1_780_000_000.0

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def now(self) -> float:
        return self.t

    def now_ns(self) -> int:
        return round(self.t * 1e9)

    def wall_time(self) -> float:
        return self.start_wall + self.t
