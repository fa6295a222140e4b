"""What the session report and the progress report share: the error, time in each state, cue counts, number formatting.

Plain data and pure functions (no Qt, no HTML), on recorded ``state`` and ``cue`` events;
times in seconds.

Thread: any (pure).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from somafeedback.devices.events import TimelineEvent

WINDOW_S: Final = 60.0  # s, the time-domain window of the live pipeline
JUDGED_STATES: Final = ("in band", "rising", "above band", "settling", "quiet drop — check in?")  # time in band is a share of these
IN_BAND: Final = "in band"
PRACTITIONER_ACTIONS: Final = ("suggested", "approved", "snoozed", "dismissed", "expired", "delivered")
NOT_MEDICAL_TEXT: Final = (
    "somafeedback is a wellness and practice tool, not a medical device. This report describes what was "
    "recorded; it is not a medical assessment and says nothing about health or illness.")


class ReportError(ValueError):
    """A report that cannot be made; the message names the file or folder and the problem."""


@dataclass(frozen=True)
class StateInterval:
    """One recorded state from ``start_s`` to ``end_s`` (s since the session start)."""

    start_s: float
    end_s: float
    state: str


@dataclass(frozen=True)
class TimedText:
    """A marker or a note at a time."""

    t_s: float
    kind: str  # marker | note | review (a review note written afterwards)
    text: str
    author: str | None = None


def clock(t_s: float) -> str:
    """Seconds as ``mm:ss`` (``h:mm:ss`` past an hour)."""
    t = max(0, int(round(t_s)))
    return f"{t // 3600}:{t // 60 % 60:02d}:{t % 60:02d}" if t >= 3600 else f"{t // 60:02d}:{t % 60:02d}"


def number(value: float | None, spec: str, unit: str = "") -> str:
    """``value`` formatted by ``spec`` with its unit, or "--" when missing or not finite."""
    if value is None or not math.isfinite(value):
        return "--"
    return f"{value:{spec}}{(' ' + unit) if unit else ''}"


def median(values: Iterable[float | None]) -> float | None:
    """Median of the finite values (None and nan left out), or None when there are none."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(statistics.median(finite)) if finite else None


def state_intervals(events: Iterable[TimelineEvent], start_ns: int, end_s: float) -> tuple[StateInterval, ...]:
    """The recorded states as (from, to, state) stretches, in seconds since ``start_ns``; the last runs to ``end_s``."""
    states = sorted((e for e in events if e.kind == "state" and e.data.get("state")), key=lambda e: e.host_ns)
    out = []
    for event, following in zip(states, [*states[1:], None]):
        start = (event.host_ns - start_ns) / 1e9
        stop = (following.host_ns - start_ns) / 1e9 if following is not None else max(end_s, start)
        out.append(StateInterval(start, stop, str(event.data["state"])))
    return tuple(out)


def state_seconds(intervals: Iterable[StateInterval]) -> dict[str, float]:
    """Seconds per state, in the order the states first appear."""
    seconds: dict[str, float] = {}
    for interval in intervals:
        seconds[interval.state] = seconds.get(interval.state, 0.0) + max(0.0, interval.end_s - interval.start_s)
    return seconds


def cue_counts(events: Iterable[TimelineEvent]) -> dict[str, int]:
    """Cue steps per action: the practitioner's (suggested, approved, ...) and the home script's (script-step, ...)."""
    counts = {action: 0 for action in PRACTITIONER_ACTIONS}
    for event in events:
        action = str(event.data.get("action") or "") if event.kind == "cue" else ""
        if action:
            counts[action] = counts.get(action, 0) + 1
    return counts
