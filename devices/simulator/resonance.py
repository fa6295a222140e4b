"""The simulated person's resonance frequency and how they breathe with an on-screen pacer.

Pure functions and value types, no clock: :class:`~.physiology.HeartModel` asks them beat by beat.

Resonance (scenario key ``resonance_bpm``, ground truth). The breath-linked heart-rate swing follows a
2nd-order band-pass centred on the person's resonance frequency ``f_res`` with damping ``zeta``::

    r = f / f_res;  |H(f)| = 2 zeta r / sqrt((1 - r²)² + (2 zeta r)²);  phase(f) = atan2(1 - r², 2 zeta r)

``|H|`` is 1 at resonance; the model scales the state's swing by ``|H(f)| / |H(f_state)|`` (the state's
own breathing rate), clipped to :data:`GAIN_RANGE`. The phase is 0 at resonance (heart rate in phase with
lung volume: peak at the end of an inhale), positive below it (heart rate leads breathing) and negative
above it (heart rate lags). With the default damping a settled person's swing at resonance is ~3.5 times
their spontaneous one (a peak-to-trough heart rate of ~15-20 bpm per breath), and adjacent 0.5/min steps
of an assessment differ by 5-12 % (Lehrer: a broad curve, steps still told apart in two minutes).

Following a pacer (scenario table ``[follow_pacer]``): while the pacer view shows a pacer, the person's
breathing rate is ``fidelity * pacer + (1 - fidelity) * own`` and its phase is pulled (with
:func:`.coupling.phase_pull_hz`, strength times ``fidelity``) toward the pacer's phase ``lag_s`` earlier;
the breath-linked swing and chest motion are scaled by ``1 + fidelity * (depth - 1)``, and the breath takes
the pacer's shape: inhale share ``0.5 + fidelity * (share - 0.5)`` (see :mod:`.breath_shape`). The pacer's
cycle fraction 0 (start of inhale) is the model's phase 0.25 (longest RR, lung volume lowest).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from ..pacer_view import PacerView
from .breath_shape import INHALE_START_PHASE, SYMMETRIC_SHARE
from .coupling import phase_pull_hz
from .scenario_fields import fail, number, show

RESONANCE_BPM_RANGE: Final = (3.0, 10.0)  # breaths/min a person's resonance frequency may be set to
DEFAULT_DAMPING: Final = 0.3  # zeta: adjacent 0.5/min steps near 5/min differ by 5-12 % in swing
DAMPING_RANGE: Final = (0.1, 1.0)  # below: an implausibly sharp peak; above: no peak to find
GAIN_RANGE: Final = (0.3, 5.0)  # clip of the swing relative to the state's own breathing rate
DEFAULT_LAG_S: Final = 1.0  # s a person's breathing trails the pacer they watch
LAG_RANGE_S: Final = (0.0, 5.0)
DEPTH_RANGE: Final = (0.25, 2.5)  # breath depth factor while following
_FOLLOW_KEYS: Final = ("lag_s", "depth", "fidelity")


def band_pass(breaths_per_min: float, resonance_bpm: float, damping: float) -> tuple[float, float]:
    """(``|H|``, phase in radians) of the resonance band-pass at a breathing rate (1, 0 at resonance)."""
    r = breaths_per_min / resonance_bpm
    two_zeta_r = 2.0 * damping * r
    return two_zeta_r / math.hypot(1.0 - r * r, two_zeta_r), math.atan2(1.0 - r * r, two_zeta_r)


def relative_gain(actual_bpm: float, native_bpm: float, resonance_bpm: float, damping: float) -> float:
    """Factor on a state's breath-linked swing breathing at ``actual_bpm`` instead of its own ``native_bpm``."""
    ratio = band_pass(actual_bpm, resonance_bpm, damping)[0] / band_pass(native_bpm, resonance_bpm, damping)[0]
    return min(GAIN_RANGE[1], max(GAIN_RANGE[0], ratio))


@dataclass(frozen=True, slots=True)
class FollowPacer:
    """How a simulated person breathes with the pacer on the screen (scenario table ``[follow_pacer]``)."""

    lag_s: float = DEFAULT_LAG_S  # breathing trails the pacer by this
    depth: float = 1.0  # breath depth factor while following (swing and chest motion)
    fidelity: float = 1.0  # 0..1: 0 ignores the pacer

    def depth_factor(self) -> float:
        """The depth factor while a pacer runs, weighted by fidelity."""
        return 1.0 + self.fidelity * (self.depth - 1.0)


@dataclass(frozen=True, slots=True)
class Following:
    """What following the pacer asks of the breathing at one moment."""

    breaths_per_min: float  # the rate breathed (fidelity-weighted)
    pull_hz: float  # phase correction toward the (lagged) pacer, cycles/s
    depth: float  # breath depth factor
    inhale_share: float = SYMMETRIC_SHARE  # the breath's shape (share breathed in), fidelity-weighted


class PacerFollower:
    """A person following a :data:`~somafeedback.devices.pacer_view.PacerView`: model time + ``offset_s``
    is the view's session-clock time. Pure in its inputs (the view must be). Thread: the model's."""

    def __init__(self, spec: FollowPacer, view: PacerView, offset_s: float = 0.0) -> None:
        self.spec = spec
        self.view = view
        self.offset_s = float(offset_s)

    def at(self, t_model_s: float, own_bpm: float, phase: float) -> Following | None:
        """The breathing asked for at model time ``t_model_s`` (None: no pacer, or fidelity 0)."""
        fidelity = self.spec.fidelity
        if fidelity <= 0.0:
            return None
        t_session = t_model_s + self.offset_s
        now = self.view(t_session)
        if now is None:
            return None
        lagged = self.view(t_session - self.spec.lag_s)
        if lagged is None:  # the pacer started less than lag_s ago: where it was, at its present rate
            lagged = now._replace(cycle_fraction=now.cycle_fraction - self.spec.lag_s * now.breaths_per_min / 60.0)
        target = lagged.cycle_fraction + INHALE_START_PHASE
        bpm = fidelity * now.breaths_per_min + (1.0 - fidelity) * own_bpm
        share = SYMMETRIC_SHARE + fidelity * (lagged.inhale_share - SYMMETRIC_SHARE)
        return Following(bpm, fidelity * phase_pull_hz(target, phase), self.spec.depth_factor(), share)


def parse_resonance(data: dict, source: str) -> tuple[float | None, float, FollowPacer | None]:
    """``resonance_bpm``, ``resonance_damping`` and ``[follow_pacer]`` of a scenario's top level."""
    bpm = data.get("resonance_bpm")
    resonance_bpm = None if bpm is None else number(bpm, source, "resonance_bpm")
    damping = number(data.get("resonance_damping", DEFAULT_DAMPING), source, "resonance_damping")
    raw = data.get("follow_pacer")
    if raw is None:
        return resonance_bpm, damping, None
    if not isinstance(raw, dict):
        raise fail(source, "follow_pacer", f"expected a table ([follow_pacer]), got {show(raw)}")
    for key in raw:
        if key not in _FOLLOW_KEYS:
            raise fail(source, f"follow_pacer.{key}", f"unknown key {key!r} (allowed: {', '.join(_FOLLOW_KEYS)})")
    follow = FollowPacer(
        lag_s=number(raw.get("lag_s", DEFAULT_LAG_S), source, "follow_pacer.lag_s"),
        depth=number(raw.get("depth", 1.0), source, "follow_pacer.depth"),
        fidelity=number(raw.get("fidelity", 1.0), source, "follow_pacer.fidelity"),
    )
    return resonance_bpm, damping, follow


def check_resonance(source: str, resonance_bpm: float | None, damping: float, follow: FollowPacer | None) -> None:
    """Range checks of the resonance keys and the follow_pacer table (a :class:`ScenarioError` naming the field)."""
    checks: list[tuple[str, float | None, tuple[float, float], str]] = [
        ("resonance_bpm", resonance_bpm, RESONANCE_BPM_RANGE, " breaths/min"),
        ("resonance_damping", damping, DAMPING_RANGE, ""),
    ]
    if follow is not None:
        checks += [("follow_pacer.lag_s", follow.lag_s, LAG_RANGE_S, " s"),
                   ("follow_pacer.depth", follow.depth, DEPTH_RANGE, ""),
                   ("follow_pacer.fidelity", follow.fidelity, (0.0, 1.0), "")]
    for field, value, (lo, hi), unit in checks:
        if value is None:
            continue
        if isinstance(value, bool) or not (math.isfinite(value) and lo <= value <= hi):
            raise fail(source, field, f"must be between {lo:g} and {hi:g}{unit}, got {show(value)}")
