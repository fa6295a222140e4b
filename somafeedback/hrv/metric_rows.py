"""The metric set as flat rows (CSV, JSON lines) and as one human-readable line.

Every value travels with its window and validity; invalid values are shown as "--" with
the reason, never as a number that looks usable.

Thread: any (pure).
"""

from __future__ import annotations

from typing import Any

from .pipeline import BeatMetrics
from .time_domain import WindowValidity

METRIC_COLUMNS = (
    "t_s", "rr_ms", "flagged",
    "hr_bpm", "mean_rr_ms", "hr_valid",
    "rmssd_ms", "ln_rmssd", "sdnn_ms", "pnn50_pct", "time_window_s", "time_artifact_pct", "time_valid", "time_reason",
    "lf_ms2", "hf_ms2", "lf_hf", "frequency_window_s", "frequency_valid", "frequency_reason", "frequency_conventions",
    "breathing_bpm", "rsa_p2t_ms", "breathing_window_s", "breathing_valid", "breathing_reason",
    "coherence_ratio", "coherence_window_s", "coherence_valid", "coherence_reason",
)


def _validity(prefix: str, validity: WindowValidity | None) -> dict[str, Any]:
    if validity is None:
        return {f"{prefix}_window_s": None, f"{prefix}_valid": False, f"{prefix}_reason": "not computed yet"}
    return {f"{prefix}_window_s": round(validity.window_s, 1), f"{prefix}_valid": validity.valid,
            f"{prefix}_reason": validity.reason}


def metrics_row(m: BeatMetrics) -> dict[str, Any]:
    """One flat record with the columns of METRIC_COLUMNS."""
    time = m.time
    row: dict[str, Any] = {
        "t_s": round(m.t_s, 3), "rr_ms": m.rr_ms, "flagged": m.flagged,
        "hr_bpm": time.hr_bpm, "mean_rr_ms": time.mean_rr_ms, "hr_valid": time.hr_valid,
        "rmssd_ms": time.rmssd_ms, "ln_rmssd": time.ln_rmssd, "sdnn_ms": time.sdnn_ms, "pnn50_pct": time.pnn50_pct,
        "time_window_s": time.validity.window_s, "time_artifact_pct": round(time.validity.artifact_pct, 2),
        "time_valid": time.validity.valid, "time_reason": time.validity.reason,
        "lf_ms2": m.frequency.lf_ms2 if m.frequency else None,
        "hf_ms2": m.frequency.hf_ms2 if m.frequency else None,
        "lf_hf": m.frequency.lf_hf if m.frequency else None,
        "frequency_conventions": m.frequency.conventions if m.frequency else None,
        "breathing_bpm": m.breathing.rate_bpm if m.breathing else None,
        "rsa_p2t_ms": m.breathing.rsa_p2t_ms if m.breathing else None,
        "coherence_ratio": m.coherence.ratio if m.coherence else None,
    }
    row.update(_validity("frequency", m.frequency.validity if m.frequency else None))
    row.update(_validity("breathing", m.breathing.validity if m.breathing else None))
    row.update(_validity("coherence", m.coherence.validity if m.coherence else None))
    return {column: row[column] for column in METRIC_COLUMNS}


def _value(value: float | None, valid: bool, fmt: str, unit: str = "") -> str:
    return f"{value:{fmt}}{unit}" if valid and value is not None else "--"


def metrics_text(m: BeatMetrics) -> str:
    """A one-line summary: each measure with its window; '--' where it is not valid now."""
    time = m.time
    tv = time.validity
    parts = [
        f"HR {_value(time.hr_bpm, time.hr_valid, '.1f', ' bpm')}",
        f"RMSSD {_value(time.rmssd_ms, tv.valid, '.1f', ' ms')} (ln {_value(time.ln_rmssd, tv.valid, '.2f')})"
        f" SDNN {_value(time.sdnn_ms, tv.valid, '.1f', ' ms')} pNN50 {_value(time.pnn50_pct, tv.valid, '.1f', ' %')}"
        f" [{tv.window_s:.0f} s, {tv.artifact_pct:.0f} % rejected{'' if tv.valid else ': ' + tv.reason}]",
    ]
    if m.breathing is not None:
        b = m.breathing
        parts.append(f"breathing {_value(b.rate_bpm, b.validity.valid, '.1f', '/min')}"
                     f" RSA {_value(b.rsa_p2t_ms, b.validity.valid, '.0f', ' ms')} [{b.validity.window_s:.0f} s]")
    if m.frequency is not None:
        f = m.frequency
        parts.append(f"LF {_value(f.lf_ms2, f.validity.valid, '.0f')} HF {_value(f.hf_ms2, f.validity.valid, '.0f', ' ms²')}"
                     f" [{f.validity.window_s:.0f} s]")
    if m.coherence is not None:
        c = m.coherence
        parts.append(f"coherence {_value(c.ratio, c.validity.valid, '.2f')} [{c.validity.window_s:.0f} s]")
    return " | ".join(parts)
