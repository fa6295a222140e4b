"""The assessment's events and result in words, for the command line (stream and ``resonance``), and the
assessment exercise's whole length as the exercise lists show it (``exercises`` and the app's lists).

Thread: any (pure functions of the recorded data).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _rate(value: Any) -> str:
    return f"{float(value):.1f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "?"


def _measures_text(measures: Any) -> str:
    if not isinstance(measures, Mapping):
        return ""
    if not measures.get("assessable"):
        return f"not assessable: {measures.get('reason') or 'no reason given'}"
    parts = []
    if isinstance(measures.get("peak_trough_hr_bpm"), (int, float)):
        parts.append(f"HR swing {measures['peak_trough_hr_bpm']:.1f} bpm")
    if isinstance(measures.get("lf_power_ms2"), (int, float)):
        parts.append(f"LF power {measures['lf_power_ms2']:.0f} ms²")
    if isinstance(measures.get("following_share"), (int, float)):
        parts.append(f"following {100 * measures['following_share']:.0f} %")
    return ", ".join(parts)


def step_text(data: Mapping[str, Any]) -> str:
    """One ``resonance-step`` event, e.g. ``step 2 of 5: 6.0 breaths/min``."""
    action = data.get("action")
    step = data.get("step")
    where = f"step {step + 1} of {data.get('planned_steps', '?')}" if isinstance(step, int) else "step"
    if action == "begin":
        protocol = data.get("protocol") or {}
        rates = ", ".join(_rate(r) for r in protocol.get("rates_bpm", []))
        return f"assessment begins: {rates} breaths/min, about {float(data.get('planned_s') or 0) / 60:.0f} min"
    if action == "start":
        return f"{where}: {_rate(data.get('rate_bpm'))} breaths/min"
    if action in ("progress", "end", "skipped"):
        label = {"progress": "so far", "end": "done", "skipped": "skipped"}[str(action)]
        return f"{where} {label} ({_rate(data.get('rate_bpm'))} breaths/min): {_measures_text(data.get('measures'))}".rstrip(": ")
    if action == "rest":
        return f"rest: breathe as you like until {float(data.get('ends_s') or 0):.0f} s"
    if action == "repeat":
        return f"{where} again: {_rate(data.get('rate_bpm'))} breaths/min"
    if action == "stopped":
        return f"assessment stopped ({data.get('by')}): {data.get('reason')}"
    return str(action)


def result_text(data: Mapping[str, Any]) -> str:
    """The ``resonance`` result in one line, e.g. ``result: best 5.0, then 5.5 breaths/min``."""
    best, second = data.get("best_rate_bpm"), data.get("second_rate_bpm")
    if best is None:
        return f"result: no best rate ({data.get('reason') or 'no step could be assessed'})"
    then = f", then {_rate(second)}" if second is not None else ""
    return f"result: best {_rate(best)}{then} breaths/min"


def result_table(data: Mapping[str, Any]) -> list[str]:
    """The result as a table a practitioner can read: one row per step, then the result line."""
    rows = [f"{'step':>4}  {'rate':>5}  {'scored':>7}  {'HR swing':>9}  {'LF power':>9}  {'peaks':>5}  "
            f"{'phase':>6}  {'following':>9}  {'score':>5}  {'rank':>4}  note"]

    def cell(value: Any, fmt: str, width: int) -> str:
        return format(value, fmt).rjust(width) if isinstance(value, (int, float)) and not isinstance(value, bool) else "-".rjust(width)

    for step in data.get("steps") or []:
        note = "" if step.get("assessable") else f"not assessable: {step.get('reason') or 'no reason given'}"
        position = step.get("step")
        rows.append(f"{(position + 1 if isinstance(position, int) else 0):>4}  {cell(step.get('rate_bpm'), '.2f', 5)}  "
                    f"{cell(step.get('scored_s'), '.0f', 5)} s  {cell(step.get('peak_trough_hr_bpm'), '.1f', 5)} bpm  "
                    f"{cell(step.get('lf_power_ms2'), '.0f', 5)} ms²  {cell(step.get('spectral_peaks'), 'd', 5)}  "
                    f"{cell(step.get('hr_breath_phase_deg'), '.0f', 5)}°  {cell(step.get('following_share'), '.0%', 9)}  "
                    f"{cell(step.get('score'), '.2f', 5)}  {cell(step.get('rank'), 'd', 4)}  {note}".rstrip())
    rows.append(result_text(data))
    fine = data.get("fine_tune_bpm")
    if isinstance(fine, list) and len(fine) == 2:
        rows.append(f"to fine-tune later: {fine[0]:.2f} and {fine[1]:.2f} breaths/min")
    return rows
