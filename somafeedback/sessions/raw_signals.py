"""A recorded session's raw signals (Polar H10 ECG and chest motion), decoded as live.

Thread: any (pure; one pass over the timeline).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from somafeedback.devices.events import (AccChunk, EcgChunk, GapEvent, LinkEvent, LinkState, MalformedPacket, Notification,
                                         SourceEvent, TimelineEvent)
from somafeedback.devices.pmd_stream import PmdStream


@dataclass
class StrapSignals:
    """One strap's raw ECG and acceleration chunks, in order."""

    strap_id: str
    ecg: list[EcgChunk] = field(default_factory=list)
    acc: list[AccChunk] = field(default_factory=list)
    malformed: int = 0  # frames that could not be decoded
    set_aside: list[MalformedPacket] = field(default_factory=list)  # those frames (a ClockReset: a stamp that broke with the strap's clock)

    def ecg_samples(self) -> tuple[np.ndarray, np.ndarray]:
        """(session times in s, µV) of every ECG sample."""
        if not self.ecg:
            return np.empty(0), np.empty(0)
        return np.concatenate([c.t_s for c in self.ecg]), np.concatenate([c.uv for c in self.ecg])


def raw_frames(timeline: Iterable[Notification | SourceEvent]) -> Iterator[tuple[int, str, object]]:
    """(timeline position, strap, decoded chunk) of every raw frame, one at a time, decoded as live
    (a seek starts the straps' streams afresh; gaps, events and lost links reach them as live).
    A chunk is an EcgChunk, an AccChunk or a MalformedPacket (a frame set aside)."""
    streams: dict[str, PmdStream] = {}
    for position, item in enumerate(timeline):
        if isinstance(item, TimelineEvent) and item.kind == "seek":
            streams.clear()
            continue
        strap = getattr(item, "strap_id", None)
        if strap is None:
            continue
        stream = streams.setdefault(strap, PmdStream(strap))
        if isinstance(item, (GapEvent, TimelineEvent)):
            stream.event(item)
        elif isinstance(item, LinkEvent) and item.state is LinkState.LOST:
            stream.link_lost()
        elif isinstance(item, Notification):
            for chunk in stream.feed(item):
                yield position, strap, chunk


def decode_signals(timeline: Iterable[Notification | SourceEvent]) -> dict[str, StrapSignals]:
    """Raw signal chunks per strap (only straps that streamed any)."""
    out: dict[str, StrapSignals] = {}
    for _position, strap, chunk in raw_frames(timeline):
        record = out.setdefault(strap, StrapSignals(strap))
        if isinstance(chunk, EcgChunk):
            record.ecg.append(chunk)
        elif isinstance(chunk, AccChunk):
            record.acc.append(chunk)
        else:
            record.malformed += 1
            record.set_aside.append(chunk)  # type: ignore[arg-type]
    return out
