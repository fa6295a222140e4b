"""A recorded breathing-rate (resonance-frequency) assessment, as the review and the session report show it.

:func:`session_resonance` reads a session's timeline events (``resonance-step`` and ``resonance``,
:mod:`somafeedback.resonance.events`) and the client strap's beats, and gives a
:class:`ResonanceRecord`: the recorded result (the latest ``resonance`` event,
:meth:`ResonanceResult.from_dict`), and each step's instantaneous heart rate (60000 / RR of the beats
the artifact rule did not flag) over its scored span, for the per-step oscillation plots. A
recording that ended before the result was recorded keeps the steps done (their ``end`` /
``skipped`` measures, unranked) and says so; a result that cannot be read is reported in words.
A session without an assessment gives None (no tab, no report page).

The words shared by the review tab (``ui/resonance_results.py``) and the report page
(``ui/report/resonance_html.py``) are here: the table's headers and cells, the best rates and the
fine-tuning suggestion, the weights used. They say what was measured (breaths/min, bpm, ms²), never
judge the person, and make no health claim.

Times: the events' step spans are on the live analysis's beat-time axis (session seconds); the caller
gives ``shift_s``, subtracted to put them on the axis of the beats it passes (seconds since the start).

Thread: any (pure).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np

from somafeedback.devices.events import TimelineEvent
from somafeedback.resonance.events import RESULT_EVENT, STEP_EVENT
from somafeedback.resonance.result import CONVENTIONS, ResonanceResult, StepMeasures
from somafeedback.resonance.scoring import WEIGHT_LABELS

PAGE_TITLE: Final = "Breathing-rate assessment"
HEADERS: Final = ("Rate\n(breaths/min)", "HR peak–trough\n(bpm)", "LF power\n(ms²)", "LF peak\n(breaths/min)",
                  "LF peak height\n(ms²/Hz)", "Peaks", "HR–breath\nphase (°)", "Following\nthe pacer", "Score",
                  "Rank")
NOT_ASSESSABLE: Final = "not assessable"
CONVENTION_LABELS: Final = {
    "peak_trough_hr_bpm": "HR peak–trough (bpm)", "lf_power_ms2": "LF power (ms²)", "lf_peak_hz": "LF peak",
    "lf_peak_amplitude_ms2_per_hz": "LF peak height (ms²/Hz)", "spectral_peaks": "Peaks",
    "hr_breath_phase_deg": "HR–breath phase (°)", "following_share": "Following the pacer",
    "scored": "Scored part of each step"}
UNREADABLE_TEXT: Final = ("The assessment's recorded result could not be read ({error}); the beats and the rest of "
                          "the session are shown as recorded.")
ABOUT_TEXT: Final = (
    "A stepped paced-breathing assessment: each breathing rate was paced for a few minutes and its first seconds "
    "left out while breathing and heart settled. Per step: the heart-rate swing with each breath (peak-to-trough), "
    "the low-frequency power of the beat-to-beat intervals and its peak, the number of spectral peaks, the phase of "
    "heart rate against breathing and how closely the breathing followed the pacer. The steps are ranked by a "
    "weighted score of these measures; it describes how this recording's heart rhythm went with each rate, not the "
    "person.")


@dataclass(frozen=True)
class StepSeries:
    """One step's instantaneous heart rate over its scored span (``t_s`` on the caller's axis)."""

    index: int
    rate_bpm: float
    t0_s: float
    t1_s: float
    t_s: np.ndarray
    hr_bpm: np.ndarray  # 60000 / RR of the unflagged beats ending in [t0_s, t1_s]


@dataclass(frozen=True)
class ResonanceRecord:
    """What a session recorded of an assessment (see the module docstring)."""

    result: ResonanceResult | None  # None: nothing readable (``problem`` says why)
    series: tuple[StepSeries, ...] = ()
    problem: str = ""  # the recorded result could not be read, in words ("" when it could)
    unfinished: str = ""  # the recording ended before the assessment finished: the steps done ("" otherwise)
    ranked: bool = True  # False: steps gathered from the step events (no ``resonance`` event was recorded)


def _steps_done(events: list[TimelineEvent]) -> tuple[StepMeasures, ...]:
    """The measures of each step that ended or was skipped, in run order (the latest per run index)."""
    done: dict[int, StepMeasures] = {}
    for event in events:
        if event.kind == STEP_EVENT and event.data.get("action") in ("end", "skipped"):
            try:
                measures = StepMeasures.from_dict(event.data["measures"])
            except (KeyError, TypeError, ValueError):
                continue  # one damaged step event: the others still count
            done[measures.index] = measures
    return tuple(done[k] for k in sorted(done))


def _planned_rates(events: list[TimelineEvent]) -> list[float]:
    begin = next((e for e in events if e.kind == STEP_EVENT and e.data.get("action") == "begin"), None)
    protocol = begin.data.get("protocol") if begin is not None else None
    rates = protocol.get("rates_bpm") if isinstance(protocol, Mapping) else None
    try:
        return [float(r) for r in rates] if isinstance(rates, list) else []
    except (TypeError, ValueError):
        return []


def read_assessment(events: Iterable[object]) -> ResonanceRecord | None:
    """The recorded assessment (without series), or None when the timeline holds none."""
    ordered = sorted((e for e in events if isinstance(e, TimelineEvent) and e.kind in (STEP_EVENT, RESULT_EVENT)),
                     key=lambda e: e.host_ns)
    if not ordered:
        return None
    results = [e for e in ordered if e.kind == RESULT_EVENT]
    problem = ""
    if results:
        try:
            return ResonanceRecord(ResonanceResult.from_dict(results[-1].data))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            problem = UNREADABLE_TEXT.format(error=_error_words(error))
    steps = _steps_done(ordered)
    planned = _planned_rates(ordered)
    of = f" of {len(planned)}" if planned else ""
    rates = ", ".join(f"{s.rate_bpm:g}" for s in steps)
    unfinished = "" if problem else (
        f"The recording ended before the assessment finished: {len(steps)}{of} steps done"
        + (f" ({rates} breaths/min)." if steps else "."))
    result = ResonanceResult(steps=steps, weights={}, complete=False,
                             reason="the assessment's result was not recorded") if steps else None
    return ResonanceRecord(result, (), problem, unfinished, ranked=False)


def _error_words(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"the value {error.args[0]!r} is missing"
    return "a value has the wrong form"


def step_series(steps: Iterable[StepMeasures], t_s: np.ndarray, rr_ms: np.ndarray, flagged: np.ndarray,
                shift_s: float) -> tuple[StepSeries, ...]:
    """Each step's unflagged beats over its scored span as instantaneous heart rate (bpm)."""
    t, rr, bad = np.asarray(t_s, dtype=float), np.asarray(rr_ms, dtype=float), np.asarray(flagged, dtype=bool)
    out = []
    for step in steps:
        t0, t1 = step.t0_s - shift_s, step.t1_s - shift_s
        keep = (t >= t0) & (t <= t1) & ~bad & (rr > 0)
        out.append(StepSeries(step.index, step.rate_bpm, t0, t1, t[keep], 60000.0 / rr[keep]))
    return tuple(out)


def session_resonance(events: Iterable[object], t_s: np.ndarray, rr_ms: np.ndarray, flagged: np.ndarray,
                      shift_s: float) -> ResonanceRecord | None:
    """The recorded assessment with each step's heart-rate series (None: the session holds no assessment)."""
    record = read_assessment(events)
    if record is None or record.result is None:
        return record
    series = step_series(record.result.steps, t_s, rr_ms, flagged, shift_s)
    return ResonanceRecord(record.result, series, record.problem, record.unfinished, record.ranked)


# -- words -------------------------------------------------------------------------------------------
def _num(value: float | None, spec: str) -> str:
    return "—" if value is None or not math.isfinite(value) else format(value, spec)


def step_row(step: StepMeasures) -> tuple[str, ...]:
    """The table's cells of one step (:data:`HEADERS`); a step that could not be assessed says why."""
    peak_bpm = step.lf_peak_hz * 60.0 if math.isfinite(step.lf_peak_hz) else math.nan
    following = ("not checked" if not step.following_checked else
                 f"{'yes' if step.following else 'no'}, {_num(100 * step.following_share, '.0f')} %")
    score = _num(step.score, ".2f") if step.assessable else f"{NOT_ASSESSABLE} — {step.reason or 'no reason recorded'}"
    return (f"{step.rate_bpm:g}", _num(step.peak_trough_hr_bpm, ".1f"), _num(step.lf_power_ms2, ".0f"),
            _num(peak_bpm, ".2f"), _num(step.lf_peak_amplitude_ms2_per_hz, ".0f"),
            "—" if step.spectral_peaks is None else str(step.spectral_peaks), _num(step.hr_breath_phase_deg, ".0f"),
            following, score, "—" if step.rank is None else str(step.rank))


def best_text(record: ResonanceRecord) -> str:
    """The best and second rates and the fine-tuning suggestion, in words."""
    result = record.result
    if result is None:
        return record.problem
    if not record.ranked:
        return "The steps were not ranked (the assessment's result was not recorded); their measures are below."
    if result.best_rate_bpm is None:
        return f"No best rate: {result.reason or 'no step could be assessed'}."
    text = f"Best breathing rate in this assessment: {result.best_rate_bpm:g} breaths/min"
    text += (f"; second: {result.second_rate_bpm:g} breaths/min." if result.second_rate_bpm is not None else ".")
    fine = result.fine_tune_bpm
    if fine is not None:
        text += (f" To fine-tune, a later session could pace {fine[0]:g} and {fine[1]:g} breaths/min "
                 f"(±0.25 around {result.best_rate_bpm:g}), if the client wishes.")
    if not result.complete:
        text += " Not every planned step ran: the ranking is over the steps done."
    return text


def weight_rows(result: ResonanceResult) -> tuple[tuple[str, str], ...]:
    """(measure, weight) of each weight the ranking used."""
    labels = WEIGHT_LABELS
    return tuple((str(labels.get(key, key.replace("_", " "))), f"{value:g}") for key, value in result.weights.items())


def weights_text(result: ResonanceResult) -> str:
    """How the ranking was made, in one sentence."""
    if not result.weights:
        return "No ranking was recorded."
    parts = ", ".join(f"{name} × {weight}" for name, weight in weight_rows(result))
    return (f"How the ranking was made: each assessable step's score (0–1) is the weighted sum of its measures "
            f"compared across the steps ({parts}); rank 1 has the highest score. A step that could not be assessed "
            "is left out of the ranking, not scored low.")


def convention_rows() -> tuple[tuple[str, str], ...]:
    """(measure, how it was computed) of every measure (:data:`~somafeedback.resonance.result.CONVENTIONS`)."""
    return tuple((CONVENTION_LABELS.get(key, key), how) for key, how in CONVENTIONS.items())


__all__ = ["ABOUT_TEXT", "HEADERS", "NOT_ASSESSABLE", "PAGE_TITLE", "ResonanceRecord", "StepSeries", "best_text",
           "convention_rows", "read_assessment", "session_resonance", "step_row", "step_series", "weight_rows",
           "weights_text"]
