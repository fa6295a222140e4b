"""What a simulated person can know of the breathing pacer on the screen: a read-only view.

The core owns the pacer (:mod:`somafeedback.regulation.pacer`); devices sit below it, so a
simulated strap whose person breathes with the pacer is handed a :data:`PacerView`: a function of
session time (seconds on the session clock, the axis of beat times and of ``pacer`` events) that
says where the pacer is then, or None when no pacer runs. It must be pure in ``t_s`` and safe to
call from the loop that runs the simulated radio.

Thread: any (a value type and a type alias).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, TypeAlias


class PacerPoint(NamedTuple):
    """The pacer at one moment: ``cycle_fraction`` 0..1 within the breath (0 = start of inhale),
    its rate and the share of each breath spent breathing in."""

    cycle_fraction: float
    breaths_per_min: float
    inhale_share: float


PacerView: TypeAlias = Callable[[float], PacerPoint | None]
