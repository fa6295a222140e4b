"""The confound spans a recorded session holds, for ``somafeedback synchrony`` (docs/metrics.md §9).

From one session file and the straps of it being compared, on the session's clock (s):

* ``pacer``: from each ``pacer`` event that starts (or retimes) the pacer to the event that stops
  it (or the end of the recording);
* ``not_following``: where a recorded ``pacer-following`` estimate of one of the straps was valid
  and said the breathing did not follow the pacer (until that strap's next estimate): the pacer
  is marked as shared except there;
* ``movement``: where the strap's chest accelerometer showed movement (its recorded raw motion
  decoded and run through :class:`~somafeedback.signals.chest_motion.ChestMotion`, as live);
* ``clock_uncertain``: after a ``remote-clock`` estimate less certain than the limit (or none),
  until the next estimate (a practitioner's recording of a remote session).

Thread: the caller's (pure apart from reading the file).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from somafeedback.devices.events import TimelineEvent
from somafeedback.live.analysis import PACER_EVENT
from somafeedback.live.regulation_session import FOLLOWING_EVENT
from somafeedback.remote.clock_sync import CLOCK_EVENT
from somafeedback.synchrony.confounds import ConfoundSpans, Span, clock_uncertain_spans, merged, shifted, without


@dataclass(frozen=True, slots=True)
class RecordedSpans:
    """One session's confound spans for the compared straps (session seconds, or shifted)."""

    pacer: tuple[Span, ...] = ()
    not_following: tuple[Span, ...] = ()
    movement: tuple[Span, ...] = ()
    clock_uncertain: tuple[Span, ...] = ()

    def shifted(self, by_s: float) -> RecordedSpans:
        return RecordedSpans(*(shifted(spans, by_s) for spans in (self.pacer, self.not_following, self.movement,
                                                                   self.clock_uncertain)))


def recorded_spans(path: Path, straps: Sequence[str], clock_limit_ms: float) -> RecordedSpans:
    """The confound spans of session ``path`` for ``straps`` (SessionFileError when it cannot be read);
    read once when A and B are two straps of one file."""
    path = Path(path).resolve()
    stat = path.stat()  # in the key: a file written since is read again
    return _recorded_spans(path, (stat.st_mtime_ns, stat.st_size), tuple(sorted(set(straps))), clock_limit_ms)


@functools.lru_cache(maxsize=4)
def _recorded_spans(path: Path, _version: tuple[int, int], straps: tuple[str, ...], clock_limit_ms: float) -> RecordedSpans:
    from somafeedback.sessions.file import read_session

    return timeline_spans(read_session(path).timeline, straps, clock_limit_ms)


def timeline_spans(timeline: Sequence[object], straps: Sequence[str], clock_limit_ms: float) -> RecordedSpans:
    """The confound spans of a session's timeline (events and raw notifications) for ``straps``."""
    events = sorted((e for e in timeline if isinstance(e, TimelineEvent)), key=lambda e: e.host_ns)
    return RecordedSpans(_pacer_spans(events), _not_following(events, straps), _movement(timeline, straps),
                         _clock_uncertain(events, clock_limit_ms))


def confound_spans(parts: Iterable[RecordedSpans], shared_breathing: tuple[Span, ...] = ()) -> ConfoundSpans:
    """Both recordings' spans (already on the dyad's axis) as the windows' confounds: a pacer that ran
    in either, except where a following estimate said one of the two did not follow it."""
    parts = list(parts)
    pacer = merged(*(p.pacer for p in parts))
    return ConfoundSpans(shared_pacer=without(pacer, merged(*(p.not_following for p in parts))),
                         shared_breathing=shared_breathing,
                         movement=merged(*(p.movement for p in parts)),
                         clock_uncertain=merged(*(p.clock_uncertain for p in parts)))


def _pacer_spans(events: Sequence[TimelineEvent]) -> tuple[Span, ...]:
    spans: list[Span] = []
    since: float | None = None
    for event in events:
        if event.kind != PACER_EVENT:
            continue
        running = bool(event.data.get("running"))
        if running and since is None:
            since = event.host_ns / 1e9
        elif not running and since is not None:
            spans.append((since, event.host_ns / 1e9))
            since = None
    if since is not None:
        spans.append((since, math.inf))
    return tuple(spans)


def _not_following(events: Sequence[TimelineEvent], straps: Sequence[str]) -> tuple[Span, ...]:
    spans: list[Span] = []
    for strap in straps:
        mine = [e for e in events if e.kind == FOLLOWING_EVENT and e.strap_id == strap]
        for event, after in zip(mine, [*mine[1:], None]):
            if event.data.get("valid") is True and event.data.get("following") is False:
                spans.append((event.host_ns / 1e9, math.inf if after is None else after.host_ns / 1e9))
    return merged(spans)


def _movement(timeline: Iterable[object], straps: Sequence[str]) -> tuple[Span, ...]:
    from somafeedback.sessions.raw_signals import decode_signals
    from somafeedback.signals.chest_motion import ChestMotion

    spans: list[Span] = []
    for strap, signals in decode_signals(timeline).items():  # type: ignore[arg-type]
        if strap not in straps:
            continue
        motion: ChestMotion | None = None
        moving_since: float | None = None
        for chunk in signals.acc:
            if motion is None or motion.fs_hz != chunk.fs_hz:
                motion = ChestMotion(chunk.fs_hz)
            elif not chunk.contiguous:
                motion.reset()
            estimate = motion.push(chunk.t_s, chunk.mg)
            if estimate is None:
                continue
            if estimate.moving and moving_since is None:
                moving_since = estimate.t_s
            elif not estimate.moving and moving_since is not None:
                spans.append((moving_since, estimate.t_s))
                moving_since = None
        if moving_since is not None and signals.acc:
            spans.append((moving_since, float(signals.acc[-1].t_s[-1])))
    return merged(spans)


def _clock_uncertain(events: Sequence[TimelineEvent], limit_ms: float) -> tuple[Span, ...]:
    checks = []
    for event in events:
        if event.kind == CLOCK_EVENT:
            uncertainty = event.data.get("uncertainty_s")
            ms = 1000.0 * uncertainty if isinstance(uncertainty, (int, float)) else math.inf
            checks.append((event.host_ns / 1e9, ms))
    return clock_uncertain_spans(checks, limit_ms)
