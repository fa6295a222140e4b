"""A recorded session's beats, decoded exactly as the live path decodes them.

Thread: any (pure; one pass over the timeline).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from somafeedback.hrv.artifacts import ArtifactDetector
from somafeedback.devices.events import Beat, ContactChange, GapEvent, MalformedPacket, Notification, SourceEvent, TimelineEvent
from somafeedback.devices.heart_rate_stream import HeartRateStream


@dataclass
class StrapBeats:
    """One strap's beats and what else its notifications said."""

    strap_id: str
    beats: list[Beat] = field(default_factory=list)
    flagged: list[bool] = field(default_factory=list)  # the live artifact rule's verdict per beat
    contact_changes: list[ContactChange] = field(default_factory=list)
    malformed: list[MalformedPacket] = field(default_factory=list)

    @property
    def rr_ms(self) -> np.ndarray:
        return np.array([b.rr_ms for b in self.beats])

    @property
    def t_s(self) -> np.ndarray:
        return np.array([b.t_s for b in self.beats])

    @property
    def segments(self) -> np.ndarray:
        return np.array([b.segment for b in self.beats], dtype=int)


def decode_beats(timeline: Iterable[Notification | SourceEvent]) -> dict[str, StrapBeats]:
    """Beats per strap, in order, with gaps breaking segments and artifacts judged causally."""
    streams: dict[str, HeartRateStream] = {}
    detectors: dict[str, ArtifactDetector] = {}
    out: dict[str, StrapBeats] = {}
    last_segment: dict[str, int] = {}
    for item in timeline:
        if isinstance(item, GapEvent) and item.strap_id in streams:
            streams[item.strap_id].gap(item)
            continue
        if isinstance(item, TimelineEvent) and item.kind == "seek":
            streams.clear()
            detectors.clear()
            continue
        if not isinstance(item, Notification):
            continue
        strap = item.strap_id
        stream = streams.setdefault(strap, HeartRateStream(strap))
        record = out.setdefault(strap, StrapBeats(strap))
        detector = detectors.setdefault(strap, ArtifactDetector())
        for decoded in stream.feed(item):
            if isinstance(decoded, Beat):
                if last_segment.get(strap) not in (None, decoded.segment):
                    detector.reset()
                last_segment[strap] = decoded.segment
                record.beats.append(decoded)
                record.flagged.append(detector.judge(decoded.rr_ms).flagged)
            elif isinstance(decoded, ContactChange):
                record.contact_changes.append(decoded)
            else:
                record.malformed.append(decoded)
    return out
