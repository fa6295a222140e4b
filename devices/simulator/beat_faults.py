"""The beat faults a strap can report, as shapes on RR values.

Used by the physiology model for scenario faults and to inject faults into real recorded
RR series (tests and benchmarks of artifact handling):

* ectopic: a premature beat ``RR1 * U(0.60, 0.75)`` then a compensatory pause, the pair
  summing to ``RR1 + RR2`` (the sinus rhythm underneath is unchanged);
* missed: a beat goes undetected, ``RR1 + RR2`` is reported once;
* extra: a spurious detection splits ``RR1`` at ``U(0.3, 0.7)``.

Thread: any (pure).
"""

from __future__ import annotations

from typing import Final

import numpy as np

ECTOPIC_FRACTION: Final = (0.60, 0.75)  # premature RR as a fraction of the sinus RR
EXTRA_SPLIT: Final = (0.3, 0.7)  # where a spurious detection splits an RR
BEAT_FAULT_KINDS: Final = ("ectopic", "missed", "extra")


def inject_beat_faults(
    rr_ms: np.ndarray, rate: float, kind: str, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Put faults of ``kind`` ("ectopic", "missed", "extra" or "mixed") at ``rate`` of the beats.

    Returns the reported RR series and a boolean mask of the beats that are faults (both
    beats of an ectopic pair and of a split; the merged beat of a missed one).
    """
    if kind not in (*BEAT_FAULT_KINDS, "mixed"):
        raise ValueError(f"unknown beat fault kind {kind!r}")
    rr = [float(x) for x in rr_ms]
    n_faults = max(1, round(rate * len(rr)))
    # fault sites at least 3 beats apart, so no two faults touch
    sites = np.sort(rng.choice(np.arange(2, len(rr) - 2, 3), size=n_faults, replace=False))
    out: list[float] = []
    faulty: list[bool] = []
    k = 0
    site_set = set(sites.tolist())
    while k < len(rr):
        if k not in site_set:
            out.append(rr[k])
            faulty.append(False)
            k += 1
            continue
        this = str(rng.choice(BEAT_FAULT_KINDS)) if kind == "mixed" else kind
        if this == "ectopic":
            early = rr[k] * rng.uniform(*ECTOPIC_FRACTION)
            out += [early, rr[k] + rr[k + 1] - early]
            faulty += [True, True]
            k += 2
        elif this == "missed":
            out.append(rr[k] + rr[k + 1])
            faulty.append(True)
            k += 2
        else:
            first = rr[k] * rng.uniform(*EXTRA_SPLIT)
            out += [first, rr[k] - first]
            faulty += [True, True]
            k += 1
    return np.array(out), np.array(faulty)
