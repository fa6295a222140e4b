"""neurokit2's nonlinear HRV indices, off the beat path: Poincaré SD1, SD2 and SD1/SD2, DFA α1
and α2, and sample entropy, per 5-min segment of accepted beats.

Computed lazily (``analyze --full``, the session report, the review window's segment table),
never per beat: neurokit2 costs 2-4 s to import and sample entropy is slow on long series, so
each index runs once per segment and the caller hears progress per segment.

Conventions (neurokit2 0.2.x ``hrv_nonlinear`` defaults, called function by function so that
the slow indices it also computes are skipped):

* **Poincaré** (``SD1``, ``SD2``, ``SD1/SD2``): neurokit2's Poincaré geometry (Brennan 2001) on
  the accepted beats with their beat times, so a pair of intervals counts only when the two
  beats are adjacent (a flagged beat between them breaks the pair), as for RMSSD.
* **DFA** (``nk.fractal_dfa``, monofractal): α1 over box sizes 4-11 beats, α2 over 12 beats up
  to a tenth of the beats (at least 13); the series is the accepted beats joined end to end
  (a flagged beat is left out, not interpolated). α1 needs about 2 min of beats; α2 needs a
  long stretch (a 5-min segment gives box sizes up to ~35 beats only: read it as a rough value).
  Kubios uses 4-16 and 16-64 beats, so its values differ.
* **Sample entropy** (``nk.entropy_sample``): embedding dimension 2, delay 1, tolerance 0.2 x
  the segment's SD of RR, on the accepted beats joined end to end.

A segment's indices are given only when it has at least ``MIN_BEATS`` accepted beats (None
otherwise, with the reason); the whole-record value of each index is the mean over the segments
that gave one. These describe the rhythm's structure; none of them is a diagnosis.

Thread: any (pure); the first call imports neurokit2.
"""

from __future__ import annotations

import warnings
from typing import Any, Final

import numpy as np

ALPHA1_BEATS: Final = (4, 11)  # DFA α1 box sizes, beats (neurokit2's hrv_nonlinear default)
ALPHA2_FIRST_BEATS: Final = 12  # DFA α2 smallest box, beats; the largest is a tenth of the beats
MIN_BEATS: Final = 100  # fewer accepted beats in a segment: no nonlinear indices (about 2 min at rest)
ENTROPY_DIMENSION: Final = 2
ENTROPY_TOLERANCE_SD: Final = 0.2  # tolerance r as a fraction of the segment's SD of RR
CONVENTIONS: Final = ("neurokit2 0.2 hrv_nonlinear defaults: Poincaré on adjacent accepted beats; "
                      "DFA α1 4-11 beats, α2 12 to N/10 beats; SampEn m=2, r=0.2 SD; per 5-min segment, mean of segments")
INDICES: Final = ("sd1_ms", "sd2_ms", "sd1_sd2", "dfa_alpha1", "dfa_alpha2", "sample_entropy")


def load_neurokit2() -> None:
    """Import neurokit2 now (2-4 s), e.g. under a progress dialog, so the first segment does not pay for it."""
    import neurokit2  # noqa: F401

    del neurokit2


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None


def segment_indices(rr_ms: np.ndarray, t_s: np.ndarray) -> dict[str, float | None]:
    """The nonlinear indices of one segment's accepted beats (RR in ms, beat times in s, in order)."""
    import neurokit2 as nk  # lazily: 2-4 s to import
    from neurokit2.hrv.hrv_nonlinear import _hrv_nonlinear_poincare  # the Poincaré part alone (hrv_nonlinear computes ~40 more indices)

    rr = np.asarray(rr_ms, dtype=float)
    out: dict[str, float | None] = dict.fromkeys(INDICES)
    if len(rr) < MIN_BEATS:
        return out
    with warnings.catch_warnings():  # neurokit2 warns about what the module docstring already states
        warnings.simplefilter("ignore")
        poincare = _hrv_nonlinear_poincare(rr, rri_time=np.asarray(t_s, dtype=float), rri_missing=True, out={})
        out["sd1_ms"], out["sd2_ms"], out["sd1_sd2"] = (_finite(poincare[k]) for k in ("SD1", "SD2", "SD1SD2"))
        out["dfa_alpha1"] = _finite(nk.fractal_dfa(rr, multifractal=False, scale=np.arange(ALPHA1_BEATS[0], ALPHA1_BEATS[1] + 1))[0])
        largest = int((len(rr) + 1) / 10)
        if largest > ALPHA2_FIRST_BEATS:
            scale = np.linspace(ALPHA2_FIRST_BEATS, largest, largest - ALPHA2_FIRST_BEATS + 1).astype(int)
            out["dfa_alpha2"] = _finite(nk.fractal_dfa(rr, multifractal=False, scale=scale)[0])
        tolerance = ENTROPY_TOLERANCE_SD * float(np.std(rr, ddof=1))
        out["sample_entropy"] = _finite(nk.entropy_sample(rr, delay=1, dimension=ENTROPY_DIMENSION, tolerance=tolerance)[0])
    return out


def mean_indices(rows: list[dict[str, float | None]]) -> dict[str, float | None]:
    """Each index's mean over the segments that gave it (None when none did)."""
    means: dict[str, float | None] = {}
    for key in INDICES:
        values = [value for row in rows if (value := row.get(key)) is not None]
        means[key] = float(np.mean(values)) if values else None
    return means
