"""Whole-recording analysis: the summary behind ``somafeedback analyze``.

The same artifact rule as the live pipeline judges every beat in order; the summary then
reports textbook values on the series as given ("uncorrected") and on the accepted beats
("corrected": successive differences only between adjacent accepted beats). The corrected
values carry a validity under the live pipeline's rule: more than 5 % of beats flagged and
the record's HRV is not valid (the values are still given, marked so).

Frequency values are computed on the accepted beats (spline-bridged over flagged ones) per
5-min segment and averaged (each analysed segment counts once). Segments are laid from the
start of the recording (the start of the first beat's interval): every full 5-min segment,
then the remainder, analysed as its own segment when it lasts at least
``MIN_REMAINDER_S`` (the 2 min LF needs) and otherwise stated as not analysed. A recording
of at most 5 min is one segment. A segment with more than 5 % of its beats flagged, or a gap
inside, is stated and left out of the mean. ``frequency_segments`` lists every segment
with what happened to it: nothing is dropped silently.

Thread: any (pure); vectorised with numpy, about a second for 24 h of beats.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Final

import numpy as np

from .artifacts import flag_artifacts
from .pipeline import BeatMetrics, MetricsPipeline, PipelineConfig
from somafeedback.progress import Progress
from .conventions import DEFAULT_FOR_RECORDS, conventions
from .spectral import SpectralSettings, band_powers
from .time_domain import NN50_MS
from .nonlinear import CONVENTIONS as NONLINEAR_CONVENTIONS, mean_indices, segment_indices

SEGMENT_S: Final = 300.0  # frequency-domain segment length for long recordings, s
MIN_REMAINDER_S: Final = 120.0  # a shorter last segment is stated, not analysed (LF needs 2 min), s
MAX_ARTIFACT_PCT: Final = 5.0  # more flagged beats than this: HRV not valid (the live pipeline's rule)


def _time_domain(rr_ms: np.ndarray, diffs: np.ndarray) -> dict[str, float | None]:
    n = len(rr_ms)
    return {
        "mean_rr_ms": float(np.mean(rr_ms)) if n else None,
        "mean_hr_bpm": float(np.mean(60000.0 / rr_ms)) if n else None,
        "sdnn_ms": float(np.std(rr_ms, ddof=1)) if n > 1 else None,
        "rmssd_ms": float(np.sqrt(np.mean(diffs**2))) if len(diffs) else None,
        "pnn50_pct": float(100.0 * np.mean(np.abs(diffs) > NN50_MS)) if len(diffs) else None,
    }


def segment_bounds(start_s: float, end_s: float) -> list[tuple[float, float]]:
    """The 5-min segments ``(from_s, to_s]`` of a recording from ``start_s`` to ``end_s``: every
    full one from the start, then the remainder (if any); at most 5 min is one segment."""
    if end_s - start_s <= SEGMENT_S:
        return [(start_s, end_s)]
    full = int((end_s - start_s) // SEGMENT_S)
    bounds = [(start_s + k * SEGMENT_S, start_s + (k + 1) * SEGMENT_S) for k in range(full)]
    if end_s > bounds[-1][1]:
        bounds.append((bounds[-1][1], end_s))
    return bounds


def _segment_row(t_s: np.ndarray, rr_ms: np.ndarray, flagged: np.ndarray, breaks: np.ndarray,
                 bounds: tuple[float, float], whole: bool, settings: SpectralSettings,
                 full: bool) -> dict[str, Any]:
    """One segment's frequency values (and with ``full`` its nonlinear indices), or why it was
    not analysed (``used`` False)."""
    from_s, to_s = bounds
    mask = (t_s > from_s) & (t_s <= to_s)
    n = int(mask.sum())
    artifact_pct = 100.0 * float(flagged[mask].sum()) / n if n else 0.0
    row: dict[str, Any] = {"start_s": from_s, "end_s": to_s, "n_beats": n, "artifact_pct": artifact_pct,
                           "lf_ms2": None, "hf_ms2": None, "used": False, "reason": ""}
    if full:
        row["nonlinear"] = None
    if not whole and to_s - from_s < MIN_REMAINDER_S:
        row["reason"] = f"the last {to_s - from_s:.0f} s: shorter than the {MIN_REMAINDER_S / 60:.0f} min LF needs"
    elif n == 0:
        row["reason"] = "no beats"
    elif artifact_pct > MAX_ARTIFACT_PCT:
        row["reason"] = f"{artifact_pct:.2f} % of beats flagged (over {MAX_ARTIFACT_PCT:.0f} %)"
    elif breaks[mask][1:].any():
        row["reason"] = "a gap inside (no spectrum across it)"
    else:
        keep = mask & ~flagged
        if full:
            row["nonlinear"] = segment_indices(rr_ms[keep], t_s[keep])
        try:
            powers = band_powers(t_s[keep], rr_ms[keep], settings)
        except ValueError as error:
            row["reason"] = str(error)
        else:
            row.update(lf_ms2=powers.lf_ms2, hf_ms2=powers.hf_ms2, used=True)
    return row


def _frequency(t_s: np.ndarray, rr_ms: np.ndarray, flagged: np.ndarray, breaks: np.ndarray,
               settings: SpectralSettings, progress: Progress, full: bool) -> tuple[dict[str, float | None], list[dict[str, Any]]]:
    """The mean LF, HF and LF/HF over the analysed segments, and every segment's row."""
    if not len(t_s):
        return {"lf_ms2": None, "hf_ms2": None, "lf_hf": None}, []
    bounds = segment_bounds(float(t_s[0] - rr_ms[0] / 1000.0), float(t_s[-1]))
    progress.set_total(float(len(bounds)))
    rows = []
    for segment in bounds:
        rows.append(_segment_row(t_s, rr_ms, flagged, breaks, segment, len(bounds) == 1, settings, full))
        progress.advance()
    used = [(row["lf_ms2"], row["hf_ms2"]) for row in rows if row["used"]]
    if not used:
        return {"lf_ms2": None, "hf_ms2": None, "lf_hf": None}, rows
    lf, hf = (float(np.mean(column)) for column in zip(*used, strict=True))
    return {"lf_ms2": lf, "hf_ms2": hf, "lf_hf": lf / hf if hf > 0 else None}, rows


def _validity(artifact_pct: float) -> dict[str, Any]:
    """The corrected values' validity under the live pipeline's artifact rule."""
    valid = artifact_pct <= MAX_ARTIFACT_PCT
    reason = "" if valid else f"{artifact_pct:.2f} % of beats flagged (over {MAX_ARTIFACT_PCT:.0f} %): HRV not valid"
    return {"valid": valid, "max_artifact_pct": MAX_ARTIFACT_PCT, "reason": reason}


def summarize(
    rr_ms: np.ndarray,
    t_s: np.ndarray | None = None,
    segments: np.ndarray | None = None,
    flagged: np.ndarray | None = None,
    settings: SpectralSettings | None = None,
    progress: Progress | None = None,
    full: bool = False,
) -> dict[str, Any]:
    """The ``analyze --json`` object for one RR series (ms, in order); ``full`` adds neurokit2's
    nonlinear indices (:mod:`somafeedback.hrv.nonlinear`: per segment, and their means).
    ``settings``: the frequency-domain convention set (default ``kubios``, :mod:`.conventions`),
    named in the summary's ``conventions``.

    A contiguous series (an RR file) needs only ``rr_ms``: beat times are its cumulative sum.
    A recorded session also gives its beat times, gap-free ``segments`` (successive
    differences never cross a segment break) and the live rule's ``flagged`` verdicts.
    ``progress`` hears how far the work is (judging beats, then the spectral segments).
    """
    progress = progress if progress is not None else Progress(None)
    settings = settings if settings is not None else conventions(DEFAULT_FOR_RECORDS)
    rr_ms = np.asarray(rr_ms, dtype=float)
    t_s = np.cumsum(rr_ms) / 1000.0 if t_s is None else np.asarray(t_s, dtype=float)
    segments = np.zeros(len(rr_ms), dtype=int) if segments is None else np.asarray(segments)
    flagged = flag_artifacts(rr_ms, progress.part(0.0, 0.6)) if flagged is None else np.asarray(flagged, dtype=bool)
    accepted = ~flagged
    breaks = np.concatenate([[False], segments[1:] != segments[:-1]]) if len(rr_ms) else np.zeros(0, dtype=bool)
    contiguous = ~breaks[1:]
    diffs_all = np.diff(rr_ms)
    pairs = accepted[1:] & accepted[:-1] & contiguous
    corrected: dict[str, Any] = dict(_time_domain(rr_ms[accepted], diffs_all[pairs]))
    frequency, frequency_segments = _frequency(t_s, rr_ms, flagged, breaks, settings, progress.part(0.6, 1.0), full)
    corrected.update(frequency)
    artifact_pct = float(100.0 * flagged.mean()) if len(rr_ms) else 0.0
    corrected["validity"] = _validity(artifact_pct)
    progress.finish()
    spans = [float(rr_ms[segments == k].sum()) / 1000.0 for k in np.unique(segments)] if len(rr_ms) else []
    summary: dict[str, Any] = {
        "conventions": settings.name,
        "n_beats": int(len(rr_ms)),
        "duration_s": float(sum(spans)),
        "artifact_pct": artifact_pct,
        "uncorrected": _time_domain(rr_ms, diffs_all[contiguous]),
        "corrected": corrected,
        "frequency_segments": frequency_segments,
    }
    if full:
        rows = [row["nonlinear"] for row in frequency_segments if row["nonlinear"] is not None]
        summary["nonlinear"] = {**mean_indices(rows), "segments_used": len(rows), "conventions": NONLINEAR_CONVENTIONS}
    return summary


def metric_series(
    rr_ms: np.ndarray,
    step_s: float = 5.0,
    t_s: np.ndarray | None = None,
    segments: np.ndarray | None = None,
    config: PipelineConfig | None = None,
    progress: Progress | None = None,
) -> Iterator[BeatMetrics]:
    """The live pipeline's metrics over a recording, one snapshot every ``step_s`` of beat time."""
    progress = progress if progress is not None else Progress(None)
    progress.set_total(len(rr_ms))
    pipeline = MetricsPipeline(config)  # None: the defaults
    next_s = -math.inf
    times = (np.cumsum(rr_ms) / 1000.0 if t_s is None else np.asarray(t_s, dtype=float)).tolist()
    parts = [0] * len(times) if segments is None else np.asarray(segments).tolist()
    for t, rr, segment in zip(times, np.asarray(rr_ms, dtype=float).tolist(), parts, strict=True):
        metrics = pipeline.push_beat(t, rr, segment)
        progress.advance()
        if t >= next_s:
            next_s = t + step_s
            yield metrics
