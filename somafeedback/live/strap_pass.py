"""One pass of the live analysis over a recorded session's client strap, as the session report needs it.

The recorded timeline goes through :class:`~somafeedback.live.analysis.LiveAnalysis` (the
path the app uses live and in replay); :func:`analyze_strap` keeps the client strap's metric
sets with their gap-free segment, where its beats were timed (ECG or the strap's RR), the
chest breathing estimates, the stretches without skin contact and a few raw excerpts.
Times: the analysis's session clock in s; :func:`shift_metrics` moves them to seconds since
the session start.

A report runs exactly one such pass (every section and figure reads the one :class:`StrapPass`);
the pass feeds the analysis only the client strap's items and the events of no strap (the
analysis keeps every strap apart, so the client strap's outputs are the same as over the whole
timeline, at a fraction of the cost when other straps recorded too), never review notes (written
afterwards, they are no part of what was measured). ``new_analysis`` makes the
:class:`~somafeedback.live.analysis.LiveAnalysis` of the pass (a test counts the passes with it).

Thread: any (the caller's; no I/O beyond the session already read).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Final

from somafeedback.devices.events import Beat, ContactChange, EcgChunk, MalformedPacket, Notification
from somafeedback.devices.gatt_uuids import POLAR_PMD_DATA
from somafeedback.hrv.pipeline import BeatMetrics, BreathingMetrics, CoherenceMetrics, FrequencyDomain
from somafeedback.live.analysis import LiveAnalysis
from somafeedback.progress import Progress
from somafeedback.sessions.client_strap import client_strap
from somafeedback.sessions.file import Session, is_review_note
from somafeedback.signals.chest_motion import BreathingEstimate
from somafeedback.signals.raw_signals import BreathingTrace

RAW_EXCERPTS: Final = 2  # raw excerpts of an H10 session (ending at the middle and at the end)
RAW_KEEP_S: Final = 170.0  # s of raw items kept before each excerpt's end (the app's breathing ring holds ~160 s)


def client_strap_of(session: Session) -> str | None:
    """The strap the report follows (:func:`somafeedback.sessions.client_strap.client_strap`)."""
    return client_strap(session.timeline)


def shift_metrics(m: BeatMetrics, origin_s: float) -> BeatMetrics:
    """``m`` with every time moved to seconds since the session start."""
    def moved(part: FrequencyDomain | BreathingMetrics | CoherenceMetrics | None) -> Any:
        return None if part is None else replace(part, computed_at_s=part.computed_at_s - origin_s)

    return replace(m, t_s=m.t_s - origin_s, frequency=moved(m.frequency), breathing=moved(m.breathing),
                   coherence=moved(m.coherence))


def _shift_raw(item: object, origin_s: float) -> object:
    """A raw item with its times moved to seconds since the session start."""
    if isinstance(item, (EcgChunk, BreathingTrace)):  # sample times (arrays)
        return replace(item, t_s=item.t_s - origin_s)
    if isinstance(item, (Beat, BreathingEstimate)):  # one time
        return replace(item, t_s=item.t_s - origin_s)
    return item


def _raw_end_s(item: object) -> float | None:
    """Session time of the last sample of a raw item (ECG chunk, breathing trace or estimate, ECG beat), else None."""
    if isinstance(item, (EcgChunk, BreathingTrace)):
        return float(item.t_s[-1]) if len(item.t_s) else None
    if isinstance(item, BreathingEstimate) or (isinstance(item, Beat) and item.source == "ecg"):
        return float(item.t_s)
    return None


@dataclass
class StrapPass:
    """What one pass of the live analysis over the client strap collected."""

    metrics: list[BeatMetrics] = field(default_factory=list)
    segments: list[int] = field(default_factory=list)  # gap-free segment of each measured beat
    ecg_beats: int = 0
    strap_beats: int = 0
    chest: list[BreathingEstimate] = field(default_factory=list)
    contact_lost: list[tuple[float, float]] = field(default_factory=list)
    excerpts: list[list[object]] = field(default_factory=list)
    has_raw: bool = False
    raw_set_aside: int = 0  # raw ECG/motion frames set aside (unreadable bytes, or a stamp off the strap's clock)


AnalysisFactory = Callable[[], LiveAnalysis]  # makes the live analysis of one pass


def new_live_analysis() -> LiveAnalysis:
    """The live analysis a report's pass runs (metrics on, the app's settings)."""
    return LiveAnalysis(metrics=True)


def analyze_strap(session: Session, strap: str, origin_s: float, duration_s: float, progress: Progress,
                  start_s: float = 0.0, new_analysis: AnalysisFactory = new_live_analysis,
                  raw_ahead: bool = False) -> StrapPass:
    """Run the session's timeline through the live analysis and collect what ``strap`` produced.

    Only ``strap``'s items and the events of no strap go through (see the module docstring).
    ``raw_ahead``: the chest motion is computed by another process meanwhile
    (:class:`~somafeedback.live.raw_ahead.RawAhead`; the same outputs), for a command line that may fork.
    """
    analysis = new_analysis()
    ahead = None
    if raw_ahead:
        from somafeedback.live.raw_ahead import RawAhead  # (multiprocessing: only for a command that forks)

        ahead = RawAhead.start([item for item in session.timeline if _goes_through(item, strap)])
    if ahead is not None:
        analysis.ahead = ahead
    try:
        return _collect(session, strap, analysis, origin_s, duration_s, progress, start_s)
    finally:
        if ahead is not None:
            ahead.close()


def _goes_through(item: object, strap: str) -> bool:
    """``item`` is ``strap``'s or belongs to no strap, and is not a review note (written afterwards, it is no part of
    what was measured): the pass feeds it to the analysis."""
    return getattr(item, "strap_id", None) in (None, strap) and not is_review_note(item)  # type: ignore[arg-type]


def _collect(session: Session, strap: str, analysis: LiveAnalysis, origin_s: float, duration_s: float,
             progress: Progress, start_s: float) -> StrapPass:
    """The pass itself (see :func:`analyze_strap`)."""
    found = StrapPass()
    ends = [start_s + duration_s * (k + 1) / RAW_EXCERPTS for k in range(RAW_EXCERPTS)]
    found.excerpts = [[] for _ in ends]
    pending: dict[tuple[float, float], tuple[int, str]] = {}  # (t_s, rr_ms) of a decoded beat -> (segment, source)
    segment_ids: dict[tuple[int, int], int] = {}
    breaks = 0  # gap snapshots seen (each starts fresh windows)
    lost_at: float | None = None
    for item in session.timeline:
        progress.advance()
        if not _goes_through(item, strap):
            continue  # another strap's: the analysis keeps it apart from the client strap's
        produced = analysis.on_notification(item) if isinstance(item, Notification) else analysis.on_event(item)
        for strap_id, output in produced:
            if strap_id != strap:
                continue
            if isinstance(output, MalformedPacket) and isinstance(item, Notification) and item.characteristic == POLAR_PMD_DATA:
                found.raw_set_aside += 1
            if isinstance(output, Beat):
                pending[(output.t_s, output.rr_ms)] = (output.segment, output.source)
            elif isinstance(output, BeatMetrics):
                if output.rr_ms is None:
                    breaks += 1
                    found.metrics.append(output)
                    continue
                segment, source = pending.pop((output.t_s, output.rr_ms), (-1, "strap"))
                found.segments.append(segment_ids.setdefault((breaks, segment), len(segment_ids)))
                found.metrics.append(output)
                if source == "ecg":
                    found.ecg_beats += 1
                else:
                    found.strap_beats += 1
            elif isinstance(output, ContactChange):
                t = output.host_ns / 1e9 - origin_s
                if output.contact is False and lost_at is None:
                    lost_at = t
                elif output.contact is not False and lost_at is not None:
                    found.contact_lost.append((lost_at, t))
                    lost_at = None
            if isinstance(output, BreathingEstimate):
                found.chest.append(output)
            end = _raw_end_s(output)
            if end is not None:
                found.has_raw = True
                end -= origin_s
                for k, excerpt_end in enumerate(ends):
                    last = k == len(ends) - 1  # the last excerpt takes everything up to the end of the data
                    if excerpt_end - RAW_KEEP_S < end and (last or end <= excerpt_end):
                        found.excerpts[k].append(_shift_raw(output, origin_s))
        if len(pending) > 4096:  # strap beats that the ECG replaced are never measured: forget the oldest
            for key in list(pending)[:2048]:
                del pending[key]
    if lost_at is not None:
        found.contact_lost.append((lost_at, start_s + duration_s))
    return found
