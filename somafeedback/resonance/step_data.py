"""What one assessment step measured, gathered for :func:`somafeedback.resonance.criteria.measure_step`.

Times are session seconds (the beat-time axis of the live analysis: beat times rebuilt from the
RR sum, never BLE arrival times). ``t0_s``..``t1_s`` is the scored span (after settling).

Thread: any (plain values; the arrays are not changed after construction).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from somafeedback.regulation.pacer import Pacer


@dataclass(frozen=True, slots=True)
class StepData:
    """One step's inputs.

    * beats: ``beat_t_s`` (end time of each beat), ``rr_ms``, ``flagged`` (True: the artifact rule
      flagged or corrected the beat); the beats ending inside ``[t0_s, t1_s]``, in order;
    * breathing (None arrays when no breathing signal): valid breathing estimates only, their
      ``breath_t_s``, ``breath_phase`` (0..1, 0 = start of inhale) and ``breath_rate_bpm``;
      ``breath_source`` "acc" (chest motion), "ecg" (ECG-derived respiration) or "" (none);
    * following: ``following`` = (t_s, valid, following) of each pacer-following estimate in the span;
    * ``pacer``: the pacer that ran (None for a step-free span scored at ``rate_bpm``);
      ``rate_bpm`` and ``inhale_share``: the step's paced rate and breath shape.
    """

    rate_bpm: float
    inhale_share: float
    t0_s: float
    t1_s: float
    beat_t_s: np.ndarray
    rr_ms: np.ndarray
    flagged: np.ndarray
    breath_t_s: np.ndarray | None = None
    breath_phase: np.ndarray | None = None
    breath_rate_bpm: np.ndarray | None = None
    breath_source: str = ""
    following: tuple[tuple[float, bool, bool], ...] = ()
    pacer: Pacer | None = None
    index: int = 0  # the step's position in the run (a repeated step gets a new index)
    step: int = 0  # the step's position in the protocol's list of rates
    extra: dict[str, object] = field(default_factory=dict)  # anything a caller wants recorded with the step
