"""The simulated person's breath shape: lung volume over a breath, and where its fundamental peaks.

The model's phase convention (:mod:`.physiology`): an inhale starts at phase 0.25 (the pacer's cycle
fraction 0). A breath of inhale share ``s`` rises along a half cosine for ``s`` of the cycle and falls
along another for the rest, as the app's pacer draws it (40:60 is ``s`` = 0.4)::

    x = (phase - 0.25) mod 1
    level = (1 - cos(pi x / s)) / 2              for x < s   (0 at the inhale's start, 1 at its end)
            (1 + cos(pi (x - s) / (1 - s))) / 2  otherwise

Its mean over a breath is 0.5 whatever ``s``; its fundamental peaks at ``x = (s + 0.5) / 2``. With
``s`` = 0.5 (or None: a person breathing on their own) it is the symmetric
``(1 - cos 2 pi (phase - 0.25)) / 2``, computed by that very expression, so a symmetric breath renders
bit for bit as before the shape existed.

Thread: any (pure).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

INHALE_START_PHASE: Final = 0.25  # cycles: model phase where an inhale starts (RR longest)
SYMMETRIC_SHARE: Final = 0.5  # inhale share of a person breathing on their own
SHARE_RANGE: Final = (0.2, 0.8)  # inhale shares the simulator renders (clipped to this)


def lung_level(phase: np.ndarray | float, inhale_share: np.ndarray | float | None = None) -> np.ndarray:
    """Lung-volume level 0..1 at breathing ``phase`` (cycles): 0 at an inhale's start (0.25), 1 at its end
    (0.25 + ``inhale_share``, per sample or one for all; None: symmetric)."""
    p = np.asarray(phase, dtype=np.float64)
    if inhale_share is None or np.all(np.asarray(inhale_share) == SYMMETRIC_SHARE):
        return 0.5 * (1.0 - np.cos(2.0 * math.pi * (p - INHALE_START_PHASE)))
    s = np.clip(np.asarray(inhale_share, dtype=np.float64), *SHARE_RANGE)
    x = (p - INHALE_START_PHASE) % 1.0
    rise = 0.5 * (1.0 - np.cos(math.pi * x / s))
    fall = 0.5 * (1.0 + np.cos(math.pi * (x - s) / (1.0 - s)))
    return np.where(x < s, rise, fall)


def shape_shift_rad(inhale_share: float) -> float:
    """Radians to add to the symmetric breath-linked RR term (``sin 2 pi phase``: heart rate peaks at 0.75,
    the symmetric lung volume's peak) so heart rate peaks where this shape's lung fundamental peaks.

    The fundamental of the shape above peaks at ``x = (s + 0.5) / 2`` from the inhale's start (halfway
    between the inhale's end and mid-breath; tests check it with a numeric fit), so the shift is
    ``pi (0.5 - s)``: 0 for a symmetric breath, 18 degrees earlier at 40:60."""
    if inhale_share == SYMMETRIC_SHARE:
        return 0.0
    s = min(SHARE_RANGE[1], max(SHARE_RANGE[0], float(inhale_share)))
    return math.pi * (SYMMETRIC_SHARE - s)
