"""Named physiological states of the simulated strap: the parameter set of each and their blend.

Pure data and validation, no clock and no threads; both the scenario loader (which checks phase
states and breathing overrides against it) and the beat generator in :mod:`.physiology` read it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Final

BREATHING_BPM_MIN: Final = 3.0  # breaths per minute, lowest a state or a phase override may ask for
BREATHING_BPM_MAX: Final = 30.0  # breaths per minute, highest


@dataclass(frozen=True, slots=True)
class StateParams:
    """Parameters of one physiological state (all RR amounts in ms)."""

    hr_bpm: float  # mean heart rate
    rsa_ms: float  # peak-to-trough RR swing with each breath
    breathing_bpm: float  # breaths per minute
    mayer_ms: float  # amplitude of the ~0.1 Hz wave
    noise_ms: float  # beat-to-beat noise (SD)
    drift_bpm: float = 1.0  # SD of the slow wander of mean HR
    breath_cv: float = 0.08  # breath-to-breath variation of breathing rate (coefficient)

    def __post_init__(self) -> None:
        if not 25.0 <= self.hr_bpm <= 220.0:
            raise ValueError(f"hr_bpm {self.hr_bpm} outside 25..220")
        if not BREATHING_BPM_MIN <= self.breathing_bpm <= BREATHING_BPM_MAX:
            raise ValueError(
                f"breathing_bpm {self.breathing_bpm} outside {BREATHING_BPM_MIN:g}..{BREATHING_BPM_MAX:g}"
            )
        for name in ("rsa_ms", "mayer_ms", "noise_ms", "drift_bpm", "breath_cv"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{name} must be finite and >= 0, got {value}")

    def blend(self, other: StateParams, w: float) -> StateParams:
        """Linear mix: ``self`` at w = 0, ``other`` at w = 1."""
        if w <= 0.0:
            return self
        if w >= 1.0:
            return other
        return StateParams(
            *(
                (1.0 - w) * getattr(self, f.name) + w * getattr(other, f.name)
                for f in fields(StateParams)
            )
        )


STATES: Final[Mapping[str, StateParams]] = MappingProxyType(
    {
        # Seated, resting, spontaneous breathing: RMSSD ~40 ms.
        "settled": StateParams(
            hr_bpm=66.0, rsa_ms=70.0, breathing_bpm=12.0, mayer_ms=12.0, noise_ms=22.0,
            drift_bpm=1.2, breath_cv=0.08,
        ),
        # Sympathetic activation, vagal withdrawal, fast shallow breathing: RMSSD ~13 ms.
        "activated": StateParams(
            hr_bpm=92.0, rsa_ms=16.0, breathing_bpm=18.0, mayer_ms=3.0, noise_ms=9.0,
            drift_bpm=2.0, breath_cv=0.10,
        ),
        # Paced breathing at 6/min: large RSA (resonance), RMSSD ~55 ms.
        "slow-breathing": StateParams(
            hr_bpm=64.0, rsa_ms=160.0, breathing_bpm=6.0, mayer_ms=12.0, noise_ms=28.0,
            drift_bpm=0.8, breath_cv=0.03,
        ),
        # Practitioner-facing name only: lower HR with flat, low variability (RMSSD ~10 ms).
        "shutdown-like": StateParams(
            hr_bpm=57.0, rsa_ms=14.0, breathing_bpm=9.0, mayer_ms=5.0, noise_ms=5.5,
            drift_bpm=0.6, breath_cv=0.06,
        ),
        # Moving on purpose (slow somatic movements, standing, walking): heart rate up from the
        # work of the muscles and faster breathing, variability down; not activation (RMSSD ~15 ms).
        "moving": StateParams(
            hr_bpm=90.0, rsa_ms=20.0, breathing_bpm=16.0, mayer_ms=4.0, noise_ms=10.0,
            drift_bpm=2.0, breath_cv=0.10,
        ),
    }
)
