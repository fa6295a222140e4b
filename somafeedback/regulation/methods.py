"""Method modes: what the regulation loop does in a Somatic Experiencing, Focusing or CSE session.

The practitioner chooses the method per session (with a per-client default); it is recorded
in the session (manifest ``method`` and a ``method`` timeline event) and shown. Each mode is a
:class:`MethodPolicy`, so the loop asks the policy instead of testing names:

* **SE** (default): suggestions to the practitioner (grounding, containment, a resource
  invitation), the home practice pauses into grounding when heart rate stays above the usual
  range, timed steps; the pendulation view shows each swing's peak and recovery time.
* **Focusing**: observe only and untimed. No cue suggestions, no automatic pause at home,
  script steps move on only when the client or practitioner chooses; a ``felt shift`` marker (F).
* **CSE** (Clinical Somatic Education): as SE, plus movement blocks. A block (the script's
  ``pause_judging`` steps, the practitioner's B key, or the chest accelerometer of a Polar
  H10) holds state judgement on any strap, because movement raises heart rate for its own
  reasons, and each block gets a before/after rest comparison (:class:`RestComparison`).

Thread: any; synchronous.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

from somafeedback.hrv.time_domain import SlidingTimeDomain


class Method(enum.StrEnum):
    SE = "SE"
    FOCUSING = "Focusing"
    CSE = "CSE"

    @classmethod
    def parse(cls, text: str) -> Method:
        """``se``, ``focusing``, ``cse`` in any case; ValueError naming the choices otherwise."""
        for method in cls:
            if method.value.lower() == text.strip().lower():
                return method
        raise ValueError(f"unknown method {text!r} (choose one of: {', '.join(m.value for m in cls)})")


@dataclass(frozen=True, slots=True)
class MethodPolicy:
    """What the regulation loop does in one method mode."""

    method: Method
    title: str
    suggestions: bool  # the cue engine makes suggestions to the practitioner
    home_auto_pause: bool  # a home practice pauses into grounding by itself
    timed_steps: bool  # script steps move on by their seconds (else: when someone chooses)
    movement_blocks: bool  # movement blocks hold state judgement and get a before/after comparison
    markers: tuple[str, ...]  # the method's own marker kinds, besides the common ones
    description: str  # one paragraph for the practitioner, in plain words


POLICIES: Final = {
    Method.SE: MethodPolicy(
        Method.SE, "Somatic Experiencing", suggestions=True, home_auto_pause=True, timed_steps=True,
        movement_blocks=False, markers=(),
        description="Suggestions to you when heart rate stays above the client's usual range (grounding, "
                    "containment, a resource); the pendulation view lists each swing's peak and the time back."),
    Method.FOCUSING: MethodPolicy(
        Method.FOCUSING, "Focusing", suggestions=False, home_auto_pause=False, timed_steps=False,
        movement_blocks=False, markers=("felt shift",),
        description="Observe only: no suggestions and no automatic pauses; steps move on when you or the client "
                    "choose. Mark a felt shift with F."),
    Method.CSE: MethodPolicy(
        Method.CSE, "Clinical Somatic Education", suggestions=True, home_auto_pause=True, timed_steps=True,
        movement_blocks=True, markers=("movement-start", "movement-end"),
        description="Movement blocks (the script's movement steps, B to start and end one, or the chest "
                    "accelerometer) hold the judging of heart rate; each block gets a rest before / rest after comparison."),
}

REST_BEFORE_S: Final = 60.0  # the rest compared before a movement block: the 60 s before it starts
SETTLE_AFTER_S: Final = 30.0  # after a block, breathing and heart rate settle this long first
REST_AFTER_S: Final = 60.0  # then the rest compared after it
MIN_REST_COVERAGE: Final = 0.8  # share of a rest window that accepted beats must cover to be compared
MAX_REST_ARTIFACT_PCT: Final = 5.0


def policy(method: Method | str) -> MethodPolicy:
    return POLICIES[method if isinstance(method, Method) else Method.parse(method)]


@dataclass(frozen=True, slots=True)
class RestMeasure:
    """Heart rate and RMSSD over one rest window (None where not measurable)."""

    start_s: float
    end_s: float
    hr_bpm: float | None
    rmssd_ms: float | None
    beats: int
    valid: bool
    reason: str  # why not valid ("" when valid)


@dataclass(frozen=True, slots=True)
class RestComparison:
    """The rest before and after one movement block (window and validity travel with the numbers)."""

    block_start_s: float
    block_end_s: float
    source: str  # "script", "practitioner" or "accelerometer"
    before: RestMeasure
    after: RestMeasure

    @property
    def hr_change_bpm(self) -> float | None:
        b, a = self.before, self.after
        return a.hr_bpm - b.hr_bpm if b.valid and a.valid and a.hr_bpm is not None and b.hr_bpm is not None else None

    @property
    def rmssd_change_ms(self) -> float | None:
        b, a = self.before, self.after
        if not (b.valid and a.valid) or a.rmssd_ms is None or b.rmssd_ms is None:
            return None
        return a.rmssd_ms - b.rmssd_ms

    def as_dict(self) -> dict[str, Any]:
        def rounded(measure: RestMeasure) -> dict[str, Any]:
            d = asdict(measure)
            for key, digits in (("start_s", 3), ("end_s", 3), ("hr_bpm", 1), ("rmssd_ms", 1)):
                d[key] = None if d[key] is None else round(d[key], digits)
            return d

        return {"block_start_s": round(self.block_start_s, 3), "block_end_s": round(self.block_end_s, 3),
                "source": self.source, "before": rounded(self.before), "after": rounded(self.after),
                "hr_change_bpm": None if self.hr_change_bpm is None else round(self.hr_change_bpm, 1),
                "rmssd_change_ms": None if self.rmssd_change_ms is None else round(self.rmssd_change_ms, 1),
                "windows": f"{REST_BEFORE_S:.0f} s before the block; {REST_AFTER_S:.0f} s starting "
                           f"{SETTLE_AFTER_S:.0f} s after it"}


def rest_comparison_text(data: Mapping[str, Any]) -> str:
    """One line for a ``rest-comparison`` event: the rests before and after, with their windows."""
    def rest(m: Mapping[str, Any]) -> str:
        if not m.get("valid"):
            return f"not measurable ({m.get('reason')})"
        return f"HR {m.get('hr_bpm')} bpm, RMSSD {m.get('rmssd_ms')} ms"

    return (f"rest before: {rest(data.get('before') or {})}; rest after: {rest(data.get('after') or {})} "
            f"[{data.get('windows')}]")


def rest_measure(beats: list[tuple[float, float, bool]], start_s: float, end_s: float) -> RestMeasure:
    """HR and RMSSD of the beats (t_s, rr_ms, accepted) ending in ``(start_s, end_s]``."""
    inside = [b for b in beats if start_s < b[0] <= end_s]
    window = end_s - start_s
    td = SlidingTimeDomain(window_s=window + 1.0, max_artifact_pct=100.0)  # every beat of the window kept
    for t, rr, accepted in inside:
        td.push(t, rr, accepted)
    m = td.metrics(end_s)
    accepted_s = sum(rr for _, rr, ok in inside if ok) / 1000.0
    flagged_pct = 100.0 * sum(1 for *_, ok in inside if not ok) / len(inside) if inside else 0.0
    if accepted_s < MIN_REST_COVERAGE * window:
        reason = f"only {accepted_s:.0f} s of clean beats in the {window:.0f}-s rest"
    elif flagged_pct > MAX_REST_ARTIFACT_PCT:
        reason = f"{flagged_pct:.0f} % of beats rejected as artifacts"
    else:
        reason = ""
    return RestMeasure(start_s, end_s, m.hr_bpm, m.rmssd_ms, len(inside), reason == "", reason)


class MovementBlocks:
    """Movement blocks of a CSE session and the rest comparison around each, fed beat by beat.

    ``start``/``end`` mark a block; beats come through :meth:`beat`; a comparison is returned
    by :meth:`beat` once the rest after the block has passed (or by :meth:`finish`, marked not
    valid, when the session ends first).
    """

    def __init__(self) -> None:
        self._beats: deque[tuple[float, float, bool]] = deque()
        self._open: tuple[float, str] | None = None  # (start, source) of a block in progress
        self._waiting: list[tuple[float, float, str]] = []  # ended blocks whose rest after is still coming

    @property
    def in_block(self) -> bool:
        return self._open is not None

    def start(self, t_s: float, source: str) -> bool:
        """A block starts (False when one is already open: blocks do not nest)."""
        if self._open is not None:
            return False
        self._open = (t_s, source)
        return True

    def end(self, t_s: float) -> bool:
        """The open block ends (False when none is open)."""
        if self._open is None:
            return False
        start, source = self._open
        self._open = None
        self._waiting.append((start, t_s, source))
        return True

    def beat(self, t_s: float, rr_ms: float, accepted: bool) -> list[RestComparison]:
        """One beat (time order); the comparisons whose rest after has now passed."""
        self._beats.append((t_s, rr_ms, accepted))
        starts = [start for start, _, _ in self._waiting] + ([self._open[0]] if self._open else [])
        earliest = min(starts + [t_s]) - REST_BEFORE_S  # older beats are in no rest window any more
        while self._beats and self._beats[0][0] <= earliest:
            self._beats.popleft()
        return self._due(t_s)

    def finish(self, t_s: float) -> list[RestComparison]:
        """The session ends: every block still waiting is compared with what there is."""
        if self._open is not None:
            self.end(t_s)
        done, self._waiting = self._waiting, []
        return [self._compare(*block) for block in done]

    def _due(self, t_s: float) -> list[RestComparison]:
        ready = [b for b in self._waiting if t_s >= b[1] + SETTLE_AFTER_S + REST_AFTER_S]
        self._waiting = [b for b in self._waiting if b not in ready]
        return [self._compare(*block) for block in ready]

    def _compare(self, start: float, end: float, source: str) -> RestComparison:
        beats = list(self._beats)
        before = rest_measure(beats, start - REST_BEFORE_S, start)
        after = rest_measure(beats, end + SETTLE_AFTER_S, end + SETTLE_AFTER_S + REST_AFTER_S)
        return RestComparison(start, end, source, before, after)
