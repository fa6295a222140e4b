"""Per-step measures of a resonance-frequency assessment, and its ranked result.

Units and conventions (they travel with the numbers, :data:`CONVENTIONS`):

* ``peak_trough_hr_bpm``: per breath, maximum minus minimum instantaneous heart rate
  (60000 / RR, beats not flagged by the artifact rule), averaged over the complete breaths of the
  scored span; breaths are the pacer's cycles when a pacer ran, else the measured breathing's;
* ``lf_power_ms2``: power of the RR tachogram (resampled at 4 Hz, linearly detrended, Hann
  window) in 0.04-0.15 Hz, ms² (absolute, not normalised);
* ``lf_peak_hz`` / ``lf_peak_amplitude_ms2_per_hz``: the frequency and height of the highest
  spectral peak in that band (ms²/Hz);
* ``spectral_peaks``: local maxima in 0.04-0.15 Hz at least :data:`PEAK_SHARE` of the highest
  (one clear peak is better);
* ``hr_breath_phase_deg``: phase of heart rate relative to breathing (lung volume) at the paced
  frequency, degrees in (-180, 180]; positive = heart rate leads breathing; 0 = in phase (at
  resonance heart rate and breathing are in phase, Vaschillo 2002);
* ``following_share``: share of the step's valid pacer-following estimates that said "following";
  a step with ``following_checked`` and ``following`` False is **not assessable**.

Thread: any (immutable values).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Final

PEAK_SHARE: Final = 0.25  # a local maximum counts as a spectral peak at >= this share of the highest
LF_BAND_HZ: Final = (0.04, 0.15)
RESAMPLE_HZ: Final = 4.0
FINE_TUNE_BPM: Final = 0.25  # the fine-tuning suggested around the best rate, breaths/min
CONVENTIONS: Final = {
    "peak_trough_hr_bpm": "per breath: max - min of 60000/RR (unflagged beats), mean over complete breaths",
    "lf_power_ms2": "RR tachogram at 4 Hz, linear detrend, Hann window; power in 0.04-0.15 Hz, ms² (absolute)",
    "lf_peak_hz": "frequency of the highest spectral peak in 0.04-0.15 Hz",
    "lf_peak_amplitude_ms2_per_hz": "height of that peak, ms²/Hz",
    "spectral_peaks": f"local maxima in 0.04-0.15 Hz at >= {PEAK_SHARE:g} of the highest",
    "hr_breath_phase_deg": "heart rate relative to breathing (lung volume) at the paced rate; + = HR leads; 0 = in phase",
    "following_share": "share of valid pacer-following estimates (60 s window) saying 'following'",
    "scored": "each step's first settle_s seconds left out",
}


def _number(value: float | None, digits: int) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


@dataclass(frozen=True, slots=True)
class StepMeasures:
    """One step's measures (None/nan when not measurable) and its verdict and score."""

    index: int
    step: int
    rate_bpm: float
    t0_s: float
    t1_s: float
    beats: int = 0
    flagged_share: float = math.nan
    breaths: int = 0
    peak_trough_hr_bpm: float = math.nan
    lf_power_ms2: float = math.nan
    lf_peak_hz: float = math.nan
    lf_peak_amplitude_ms2_per_hz: float = math.nan
    spectral_peaks: int | None = None
    hr_breath_phase_deg: float = math.nan
    breathing_source: str = ""  # "acc", "ecg" or "" (no breathing signal)
    following_share: float = math.nan
    following_checked: bool = False
    following: bool | None = None
    assessable: bool = False
    reason: str = ""  # why not assessable, in words ("" when assessable)
    score: float = math.nan  # 0..1, set by the ranking
    rank: int | None = None  # 1 = best, set by the ranking (None: not assessable)

    @property
    def scored_s(self) -> float:
        return self.t1_s - self.t0_s

    def with_score(self, score: float, rank: int | None) -> StepMeasures:
        return replace(self, score=score, rank=rank)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (nan -> None), as recorded and printed."""
        out: dict[str, Any] = {
            "index": self.index, "step": self.step, "rate_bpm": self.rate_bpm,
            "t0_s": _number(self.t0_s, 3), "t1_s": _number(self.t1_s, 3), "scored_s": _number(self.scored_s, 1),
            "assessable": self.assessable, "reason": self.reason,
            "beats": self.beats, "flagged_share": _number(self.flagged_share, 4), "breaths": self.breaths,
            "peak_trough_hr_bpm": _number(self.peak_trough_hr_bpm, 2),
            "lf_power_ms2": _number(self.lf_power_ms2, 1), "lf_peak_hz": _number(self.lf_peak_hz, 4),
            "lf_peak_amplitude_ms2_per_hz": _number(self.lf_peak_amplitude_ms2_per_hz, 1),
            "spectral_peaks": self.spectral_peaks,
            "hr_breath_phase_deg": _number(self.hr_breath_phase_deg, 1), "breathing_source": self.breathing_source,
            "following_share": _number(self.following_share, 3), "following_checked": self.following_checked,
            "following": self.following, "score": _number(self.score, 4), "rank": self.rank,
        }
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepMeasures:
        """From :meth:`as_dict` (None -> nan); KeyError/TypeError/ValueError for malformed data."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            if f.type in ("float",) and value is None:
                value = math.nan
            values[f.name] = value
        for name in ("index", "step", "beats", "breaths"):
            values[name] = int(values.get(name, 0))
        for name in ("rate_bpm", "t0_s", "t1_s"):
            values[name] = float(values[name])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class ResonanceResult:
    """The ranked assessment: every step run (in run order) with its score and rank, the best and
    second rates (None when fewer assessable steps), the weights used and the protocol."""

    steps: tuple[StepMeasures, ...]
    weights: Mapping[str, float]
    protocol: Mapping[str, Any] = field(default_factory=dict)
    complete: bool = True  # every planned step ran (False after a stop)
    best_rate_bpm: float | None = None
    second_rate_bpm: float | None = None
    reason: str = ""  # when there is no best rate: why, in words

    @property
    def fine_tune_bpm(self) -> tuple[float, float] | None:
        """The rates to try in a later session: the best ± :data:`FINE_TUNE_BPM`."""
        if self.best_rate_bpm is None:
            return None
        return (round(self.best_rate_bpm - FINE_TUNE_BPM, 2), round(self.best_rate_bpm + FINE_TUNE_BPM, 2))

    def as_dict(self) -> dict[str, Any]:
        """The result as recorded (``resonance`` event) and printed (``--json``)."""
        fine = self.fine_tune_bpm
        return {
            "best_rate_bpm": self.best_rate_bpm, "second_rate_bpm": self.second_rate_bpm,
            "fine_tune_bpm": None if fine is None else list(fine),
            "complete": self.complete, "reason": self.reason,
            "steps": [s.as_dict() for s in self.steps],
            "weights": dict(self.weights), "protocol": dict(self.protocol), "conventions": dict(CONVENTIONS),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResonanceResult:
        """From :meth:`as_dict`; KeyError/TypeError/ValueError for malformed data."""
        steps = tuple(StepMeasures.from_dict(s) for s in data["steps"])
        best, second = data.get("best_rate_bpm"), data.get("second_rate_bpm")
        return cls(steps=steps, weights={str(k): float(v) for k, v in dict(data.get("weights", {})).items()},
                   protocol=dict(data.get("protocol", {})), complete=bool(data.get("complete", True)),
                   best_rate_bpm=None if best is None else float(best),
                   second_rate_bpm=None if second is None else float(second), reason=str(data.get("reason", "")))


__all__ = ["CONVENTIONS", "ResonanceResult", "StepMeasures"]
