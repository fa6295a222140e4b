"""How closely the measured breathing follows the pacer, over a sliding window.

Fed with pairs of phases (0..1, 0 = start of inhale): the breathing estimate's phase
(:class:`somafeedback.signals.chest_motion.BreathingEstimate`, extrapolated to the sample time if
needed) and the pacer's ``cycle_fraction`` at the same session time, plus both rates.
Over the samples of the last ``window_s`` seconds:

* ``phase_locking``: mean resultant length of the phase differences (breath - pacer), 0..1
  (1 = a constant difference, whatever it is; ~0 = no fixed relation);
* ``mean_lag_s``: the circular mean of (pacer - breath) phase, in seconds at the newest
  pacer period, in (-period/2, period/2]; positive = breathing lags the pacer;
* ``rate_difference_bpm``: median of (breathing rate - pacer rate), breaths/min.

``following`` rule: valid, ``phase_locking >= MIN_LOCKING`` (0.7) and
``|rate_difference_bpm| <= MAX_RATE_DIFFERENCE_BPM`` (1 breath/min). It says nothing about
the lag: someone breathing steadily one second behind the pacer is following it.

``valid`` needs ``MIN_SAMPLES`` samples spanning at least ``MIN_PERIODS`` pacer periods.
Samples whose breathing phase or rate is nan (the breathing estimate was not valid) are
skipped, so a movement simply thins the window out. The samples are weighted equally:
push at a regular rhythm (e.g. with each breathing estimate, about once a second).

The lag is only as good as the breathing phase: ChestMotion's phase is within about
+-0.05 breath of the truth on synthetic 40:60 breaths, i.e. +-0.5 s at 6 breaths/min.

:meth:`FollowingEstimate.as_dict` is the estimate as a session records it (the ``pacer-following``
timeline event the live analysis emits): the values with their window, the pacer's rate and the
rule's thresholds, nan written as null.

Cost: a running sum of unit vectors, plus a median over the window's samples: ~6 µs per
push with 60 samples. No numpy, no scipy.

Thread: any, one at a time (synchronous, no clock of its own).
"""

from __future__ import annotations

import cmath
import math
from collections import deque
from dataclasses import dataclass
from typing import Final

__all__ = ["FollowingEstimate", "PacerFollowing", "invalid_estimate"]

MIN_LOCKING: Final = 0.7  # phase locking needed to be following, 0..1
MAX_RATE_DIFFERENCE_BPM: Final = 1.0  # |breathing - pacer rate| allowed while following, breaths/min
MIN_SAMPLES: Final = 10  # samples needed in the window
MIN_PERIODS: Final = 2.0  # the samples must span this many pacer periods


@dataclass(frozen=True, slots=True)
class FollowingEstimate:
    """Breathing versus pacer over the window ending at ``t_s`` (nan values when not valid).

    Thread: any (immutable).
    """

    t_s: float
    phase_locking: float  # 0..1
    mean_lag_s: float  # s, positive = breathing lags the pacer
    rate_difference_bpm: float  # breathing minus pacer, breaths/min
    following: bool
    valid: bool
    reason: str  # "" when valid
    n_samples: int
    window_s: float = math.nan  # s, the sliding window the values cover
    pacer_bpm: float = math.nan  # the pacer's rate at t_s, breaths/min
    breathing_source: str = ""  # where the breathing phase came from: "acc" (chest motion) or "ecg"

    def as_dict(self) -> dict[str, object]:
        """The estimate as recorded (JSON-ready: nan becomes None), with how it was made."""
        def number(value: float, digits: int) -> float | None:
            return round(value, digits) if math.isfinite(value) else None

        return {"valid": self.valid, "following": self.following,
                "phase_locking": number(self.phase_locking, 3), "mean_lag_s": number(self.mean_lag_s, 2),
                "rate_difference_bpm": number(self.rate_difference_bpm, 2), "reason": self.reason,
                "n_samples": self.n_samples, "window_s": number(self.window_s, 1),
                "pacer_bpm": number(self.pacer_bpm, 3), "breathing_source": self.breathing_source,
                "min_locking": MIN_LOCKING, "max_rate_difference_bpm": MAX_RATE_DIFFERENCE_BPM}


@dataclass(frozen=True, slots=True)
class _Sample:
    t_s: float
    difference: complex  # unit vector at the phase difference (pacer - breath)
    rate_difference_bpm: float


class PacerFollowing:
    """Phase locking, lag and rate difference of breathing against the pacer."""

    def __init__(self, window_s: float = 60.0) -> None:
        if not window_s > 0.0:
            raise ValueError(f"window_s must be positive, got {window_s!r}")
        self.window_s = float(window_s)
        self._samples: deque[_Sample] = deque()
        self._sum = 0j

    def reset(self) -> None:
        """Forget every sample (after a gap, or when a new exercise starts)."""
        self._samples.clear()
        self._sum = 0j

    def push(self, t_s: float, breath_phase: float, breath_rate_bpm: float,
             pacer_phase: float, pacer_rate_bpm: float, source: str = "") -> FollowingEstimate:
        """Add one sample (phases 0..1, rates in breaths/min) and read the window ending at ``t_s``.

        ``source`` names where the breathing came from ("acc" or "ecg"); it travels with the estimate.
        """
        if self._samples and t_s < self._samples[-1].t_s:
            self.reset()  # time ran backwards: a new stream
        values = (breath_phase, breath_rate_bpm, pacer_phase, pacer_rate_bpm)
        if all(math.isfinite(v) for v in values) and pacer_rate_bpm > 0.0:
            unit = cmath.exp(2j * math.pi * (pacer_phase - breath_phase))
            self._samples.append(_Sample(t_s, unit, breath_rate_bpm - pacer_rate_bpm))
            self._sum += unit
        samples = self._samples
        while samples and samples[0].t_s <= t_s - self.window_s:
            self._sum -= samples.popleft().difference
        if not samples:
            self._sum = 0j  # no rounding residue left behind
        n = len(samples)
        made = (self.window_s, pacer_rate_bpm, source)
        if not (math.isfinite(pacer_rate_bpm) and pacer_rate_bpm > 0.0):
            return invalid_estimate(t_s, "no pacer rate", n, *made)
        period_s = 60.0 / pacer_rate_bpm
        if n < MIN_SAMPLES:
            return invalid_estimate(t_s, "too few breathing samples", n, *made)
        if not samples[-1].t_s - samples[0].t_s >= MIN_PERIODS * period_s:
            return invalid_estimate(t_s, "window too short for the pacer period", n, *made)
        mean = self._sum / n
        locking = min(abs(mean), 1.0)
        lag_s = cmath.phase(mean) / (2.0 * math.pi) * period_s
        differences = sorted(s.rate_difference_bpm for s in samples)
        middle = n // 2
        rate_difference = differences[middle] if n % 2 else 0.5 * (differences[middle - 1] + differences[middle])
        following = locking >= MIN_LOCKING and abs(rate_difference) <= MAX_RATE_DIFFERENCE_BPM
        return FollowingEstimate(t_s, locking, lag_s, rate_difference, following, True, "", n, *made)


def invalid_estimate(t_s: float, reason: str, n: int = 0, window_s: float = math.nan,
                     pacer_bpm: float = math.nan, source: str = "") -> FollowingEstimate:
    """An estimate with no values, saying why (e.g. "the pacer stopped")."""
    return FollowingEstimate(t_s, math.nan, math.nan, math.nan, False, False, reason, n, window_s, pacer_bpm, source)
