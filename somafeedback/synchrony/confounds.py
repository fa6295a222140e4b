"""What a window is marked with: the confounds carried with every value (never a reason to drop it).

* ``shared pacer``: both people followed the same breathing pacer during the window: their
  heart rates are entrained by it, not spontaneously synchronous;
* ``shared breathing rhythm``: both people's beats show one breathing rhythm, rates agreeing and
  phase-locked (:mod:`.breathing`): entrainment whether or not the app ran a pacer;
* ``movement``: either person moved (chest motion) during the window;
* ``artifacts``: either person's flagged beats above the hrv 5 % rule, or a gap;
* ``clock uncertain``: the remote clock offset was less certain than 50 ms.

Spans are (start_s, end_s) on the dyad's time axis. Thread: any (immutable values, pure).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

SHARED_PACER: Final = "shared pacer"
SHARED_BREATHING: Final = "shared breathing rhythm"
MOVEMENT: Final = "movement"
ARTIFACTS: Final = "artifacts"
CLOCK_UNCERTAIN: Final = "clock uncertain"
ALL: Final = (SHARED_PACER, SHARED_BREATHING, MOVEMENT, ARTIFACTS, CLOCK_UNCERTAIN)

Span = tuple[float, float]


@dataclass(frozen=True, slots=True)
class ConfoundSpans:
    """The spans the caller knows of: both on one pacer, either moving, the clock uncertain."""

    shared_pacer: tuple[Span, ...] = ()
    shared_breathing: tuple[Span, ...] = ()  # both breathed in one rhythm (breathing.shared_breathing_spans)
    movement: tuple[Span, ...] = ()
    clock_uncertain: tuple[Span, ...] = ()


def clock_uncertain_spans(checks: Sequence[tuple[float, float]], limit_ms: float) -> tuple[Span, ...]:
    """Spans of uncertain clock from (time_s, offset uncertainty ms) checks: from a check above
    ``limit_ms`` to the next check (the last one holds to the end)."""
    spans = []
    for i, (at_s, uncertainty_ms) in enumerate(checks):
        if uncertainty_ms > limit_ms:
            spans.append((at_s, checks[i + 1][0] if i + 1 < len(checks) else float("inf")))
    return tuple(spans)


def merged(*groups: Sequence[Span]) -> tuple[Span, ...]:
    """The union of spans, as sorted non-overlapping spans."""
    out: list[Span] = []
    for lo, hi in sorted(span for group in groups for span in group):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def without(spans: Sequence[Span], cut: Sequence[Span]) -> tuple[Span, ...]:
    """``spans`` minus every span of ``cut``."""
    out: list[Span] = []
    for lo, hi in merged(spans):
        for c_lo, c_hi in merged(cut):
            if c_hi <= lo or c_lo >= hi:
                continue
            if c_lo > lo:
                out.append((lo, c_lo))
            lo = max(lo, c_hi)
        if lo < hi:
            out.append((lo, hi))
    return tuple(out)


def shifted(spans: Sequence[Span], by_s: float) -> tuple[Span, ...]:
    return tuple((lo + by_s, hi + by_s) for lo, hi in spans)


def _overlaps(spans: tuple[Span, ...], start_s: float, end_s: float) -> bool:
    return any(s < end_s and e > start_s for s, e in spans)


def window_confounds(spans: ConfoundSpans, start_s: float, end_s: float, artifacts: bool) -> tuple[str, ...]:
    """The confounds of the window [start_s, end_s), in the order of :data:`ALL`."""
    marks = []
    if _overlaps(spans.shared_pacer, start_s, end_s):
        marks.append(SHARED_PACER)
    if _overlaps(spans.shared_breathing, start_s, end_s):
        marks.append(SHARED_BREATHING)
    if _overlaps(spans.movement, start_s, end_s):
        marks.append(MOVEMENT)
    if artifacts:
        marks.append(ARTIFACTS)
    if _overlaps(spans.clock_uncertain, start_s, end_s):
        marks.append(CLOCK_UNCERTAIN)
    return tuple(marks)
