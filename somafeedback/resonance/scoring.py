"""The ranking of an assessment's steps: a visible, editable weighting of the criteria.

Each criterion is scored 0..1 across the steps that count (:func:`criterion_scores`):

* ``peak_trough_hr``, ``lf_peak_amplitude``, ``lf_power``: the step's value / the largest among
  the steps that count (magnitudes relative to the best step);
* ``single_peak``: 1 / the number of spectral peaks in 0.04-0.15 Hz (0 when there is none);
* ``phase``: (1 + cos phase) / 2: 1 when heart rate and breathing are in phase (0°), 0 at 180°.

A step's score is the weighted mean of its criterion scores; a criterion a step lacks (nan: e.g.
no phase without a breathing signal) is left out of that step's mean and the other weights are
renormalised, so a missing measure neither rewards nor penalises the step.

Steps that count: the assessable ones; when a rate was run more than once (a repeated step) only
its latest assessable run counts (the practitioner repeated it because the earlier run was
disturbed). An earlier run keeps its measures, ``assessable`` True, ``rank`` None and no score.

:data:`DEFAULT_WEIGHTS` (sum 1): the two amplitude criteria that Lehrer, Vaschillo & Vaschillo
(2000) and Lehrer (2013) name first, heart-rate swing per breath and LF peak height, weigh most
and equally (BioGraph's automatic assessment uses the peak height alone; Fuller et al. 2011 found
HRmax - HRmin less repeatable, so it does not outweigh the peak); HR-breath phase, Shaffer &
Meehan's (2020) first criterion, 0.15 because our breathing phase comes from chest motion or the
ECG, not a belt (and is left out when there is none); LF power 0.15 (it largely repeats the peak
height); a single clear peak 0.10 (a tie-breaker). The app's settings pass their own weights.

Thread: any (pure).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from somafeedback.regulation.assessment_protocol import ResonanceProtocol
from .result import ResonanceResult, StepMeasures

__all__ = ["CRITERIA", "DEFAULT_WEIGHTS", "WEIGHT_LABELS", "criterion_scores", "rank", "score_breakdown",
           "validate_weights"]

CRITERIA: Final = ("peak_trough_hr", "lf_peak_amplitude", "lf_power", "single_peak", "phase")
DEFAULT_WEIGHTS: Final[Mapping[str, float]] = {
    "peak_trough_hr": 0.30, "lf_peak_amplitude": 0.30, "lf_power": 0.15, "single_peak": 0.10, "phase": 0.15,
}
WEIGHT_LABELS: Final[Mapping[str, str]] = {
    "peak_trough_hr": "Heart-rate swing per breath (peak to trough, beats/min)",
    "lf_peak_amplitude": "Height of the slow-rhythm peak (LF peak, ms²/Hz)",
    "lf_power": "Power of the slow rhythm (LF power, ms²)",
    "single_peak": "One clear rhythm (a single LF peak)",
    "phase": "Heart rate and breathing in step (phase near 0°)",
}
_MAGNITUDES: Final = {"peak_trough_hr": "peak_trough_hr_bpm", "lf_peak_amplitude": "lf_peak_amplitude_ms2_per_hz",
                      "lf_power": "lf_power_ms2"}


def validate_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """All :data:`CRITERIA` with their weights (a missing one weighs 0; None: the defaults).
    ValueError, in words, for an unknown criterion, a negative or non-numeric weight, or all zero."""
    if weights is None:
        return dict(DEFAULT_WEIGHTS)
    unknown = sorted(set(weights) - set(CRITERIA))
    if unknown:
        raise ValueError(f"unknown criteria in the weights: {', '.join(unknown)} (known: {', '.join(CRITERIA)})")
    out: dict[str, float] = {}
    for name in CRITERIA:
        value = weights.get(name, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"the weight of '{WEIGHT_LABELS[name]}' must be a number of 0 or more, got {value!r}")
        out[name] = float(value)
    if not any(out.values()):
        raise ValueError("at least one criterion needs a weight above 0")
    return out


def counted(steps: Sequence[StepMeasures]) -> list[StepMeasures]:
    """The steps that count: assessable, and for each rate only its latest (highest ``index``) run."""
    latest: dict[float, StepMeasures] = {}
    for step in steps:
        if step.assessable and (step.rate_bpm not in latest or step.index >= latest[step.rate_bpm].index):
            latest[step.rate_bpm] = step
    return [s for s in steps if s.assessable and latest.get(s.rate_bpm) is s]


def _finite(value: float | None) -> float:
    return math.nan if value is None or not math.isfinite(value) else float(value)


def criterion_scores(steps: Sequence[StepMeasures]) -> list[dict[str, float]]:
    """Each step's criterion scores, 0..1 (nan: not measured), relative to these steps."""
    largest = {name: max((_finite(getattr(s, attr)) for s in steps if _finite(getattr(s, attr)) > 0), default=math.nan)
               for name, attr in _MAGNITUDES.items()}
    out = []
    for s in steps:
        scores = {name: _finite(getattr(s, attr)) / largest[name] if largest[name] > 0 else math.nan
                  for name, attr in _MAGNITUDES.items()}
        scores = {k: max(v, 0.0) if math.isfinite(v) else math.nan for k, v in scores.items()}
        peaks = s.spectral_peaks
        scores["single_peak"] = math.nan if peaks is None else (1.0 / peaks if peaks > 0 else 0.0)
        phase = _finite(s.hr_breath_phase_deg)
        scores["phase"] = (1.0 + math.cos(math.radians(phase))) / 2.0 if math.isfinite(phase) else math.nan
        out.append(scores)
    return out


def _weighted(scores: Mapping[str, float], weights: Mapping[str, float]) -> float:
    used = {k: w for k, w in weights.items() if w > 0 and math.isfinite(scores.get(k, math.nan))}
    total = sum(used.values())
    return sum(w * scores[k] for k, w in used.items()) / total if total > 0 else 0.0


def _rate(rate: float) -> str:
    return f"{rate:g}/min"


def rank(steps: Sequence[StepMeasures], weights: Mapping[str, float] | None = None,
         protocol: ResonanceProtocol | Mapping[str, Any] | None = None, complete: bool = True) -> ResonanceResult:
    """Score and rank the steps (in run order in the result); best and second rates, or the reason
    there is none. ValueError for bad weights (:func:`validate_weights`)."""
    w = validate_weights(weights)
    proto = protocol.as_dict() if isinstance(protocol, ResonanceProtocol) else dict(protocol or {})
    chosen = counted(steps)
    scores = {id(s): _weighted(c, w) for s, c in zip(chosen, criterion_scores(chosen), strict=True)}
    order = sorted(chosen, key=lambda s: -scores[id(s)])  # stable: a tie goes to the earlier run
    ranks = {id(s): i + 1 for i, s in enumerate(order)}
    ranked = tuple(s.with_score(scores[id(s)], ranks[id(s)]) if id(s) in ranks else s.with_score(math.nan, None)
                   for s in steps)
    reason = ""
    if not order:
        why = "; ".join(f"{_rate(s.rate_bpm)}: {s.reason}" for s in steps if not s.assessable) or "no step was run"
        reason = f"no step could be assessed: {why}"
    return ResonanceResult(
        steps=ranked, weights=w, protocol=proto, complete=complete,
        best_rate_bpm=order[0].rate_bpm if order else None,
        second_rate_bpm=order[1].rate_bpm if len(order) > 1 else None, reason=reason)


def score_breakdown(step: StepMeasures, among: ResonanceResult | Sequence[StepMeasures] | None = None,
                    weights: Mapping[str, float] | None = None) -> dict[str, Any]:
    """How ``step``'s score was made: per criterion its label, measured value, score 0..1, weight, share
    of the weight after renormalising, and contribution; plus ``score``. ``among``: the result (its
    steps and weights) or steps the magnitudes are relative to (None: the step alone)."""
    if isinstance(among, ResonanceResult):
        steps: Sequence[StepMeasures] = among.steps
        weights = among.weights if weights is None else weights
    else:
        steps = among if among is not None else [step]
    w = validate_weights(weights)
    pool = counted(steps)
    if not any(s is step or s == step for s in pool):
        pool = [*pool, step]
    scores = criterion_scores(pool)[next(i for i, s in enumerate(pool) if s is step or s == step)]
    used = sum(wt for k, wt in w.items() if wt > 0 and math.isfinite(scores[k]))
    values = {"peak_trough_hr": step.peak_trough_hr_bpm, "lf_peak_amplitude": step.lf_peak_amplitude_ms2_per_hz,
              "lf_power": step.lf_power_ms2, "single_peak": step.spectral_peaks, "phase": step.hr_breath_phase_deg}
    criteria = {}
    for name in CRITERIA:
        value, score = values[name], scores[name]
        share = w[name] / used if used > 0 and w[name] > 0 and math.isfinite(score) else 0.0
        criteria[name] = {"label": WEIGHT_LABELS[name], "value": value, "score": score, "weight": w[name],
                          "share": share, "contribution": share * score if share else 0.0}
    return {"rate_bpm": step.rate_bpm, "index": step.index, "criteria": criteria,
            "score": sum(c["contribution"] for c in criteria.values())}
