"""The practitioner's side of the client's derived items: a ``remote-metrics`` or ``remote-breathing`` event back
into the analysis output a local strap gives (:class:`~somafeedback.hrv.pipeline.BeatMetrics`,
:class:`~somafeedback.signals.chest_motion.BreathingEstimate`), so the live window shows the numbers the client's
computer measured where it shows its own (the inverse of :mod:`.derived`).

What a metrics row does not carry comes back as: the number of beats in a window (the share of rejected beats
is kept, as flagged beats per :data:`SHARE_BASE`), why a beat was flagged (None), and when a spectral measure
was computed (the row's time). Values are never invented: what the row says is not valid stays not valid.

Pure conversions (any thread).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from somafeedback.devices.events import TimelineEvent
from somafeedback.hrv.pipeline import BeatMetrics, BreathingMetrics, CoherenceMetrics, FrequencyDomain
from somafeedback.hrv.time_domain import TimeDomain, WindowValidity
from somafeedback.signals.chest_motion import BreathingEstimate

SHARE_BASE: Final = 10_000  # beats a window is counted as, so the row's rejected share (2 decimals) stays exact


def _number(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _validity(data: Mapping[str, Any], prefix: str, artifact_pct: float = 0.0) -> WindowValidity:
    flagged = round(max(0.0, min(100.0, artifact_pct)) * SHARE_BASE / 100)
    return WindowValidity(_number(data, f"{prefix}_window_s") or 0.0, SHARE_BASE, flagged,
                          bool(data.get(f"{prefix}_valid")), str(data.get(f"{prefix}_reason") or ""))


def _computed(data: Mapping[str, Any], prefix: str) -> bool:
    """Whether the client's analysis had computed this measure yet (its window is given)."""
    return _number(data, f"{prefix}_window_s") is not None


def metrics_from_event(event: TimelineEvent) -> BeatMetrics:
    """The metric set a ``remote-metrics`` event carries, at the event's time."""
    d, t_s = event.data, event.host_ns / 1e9
    time = TimeDomain(_number(d, "hr_bpm"), _number(d, "mean_rr_ms"), _number(d, "rmssd_ms"), _number(d, "ln_rmssd"),
                      _number(d, "sdnn_ms"), _number(d, "pnn50_pct"), bool(d.get("hr_valid")),
                      _validity(d, "time", _number(d, "time_artifact_pct") or 0.0))
    frequency = (FrequencyDomain(_number(d, "lf_ms2"), _number(d, "hf_ms2"), _number(d, "lf_hf"), _validity(d, "frequency"),
                                 t_s, str(d.get("frequency_conventions") or "live"))
                 if _computed(d, "frequency") else None)
    breathing = (BreathingMetrics(_number(d, "breathing_bpm"), _number(d, "rsa_p2t_ms"), _validity(d, "breathing"), t_s)
                 if _computed(d, "breathing") else None)
    coherence = (CoherenceMetrics(_number(d, "coherence_ratio"), None, _validity(d, "coherence"), t_s)
                 if _computed(d, "coherence") else None)
    return BeatMetrics(t_s, _number(d, "rr_ms"), bool(d.get("flagged")), None, time, frequency, breathing, coherence)


def breathing_from_event(event: TimelineEvent) -> BreathingEstimate:
    """The breathing estimate a ``remote-breathing`` event carries, at the event's time (nan where not valid)."""
    d = event.data

    def value(key: str) -> float:
        number = _number(d, key)
        return number if number is not None else math.nan

    return BreathingEstimate(event.host_ns / 1e9, value("rate_bpm"), value("phase"), value("amplitude_mg"),
                             bool(d.get("valid")), str(d.get("reason") or ""), bool(d.get("moving")),
                             str(d.get("source") or "ecg"))
