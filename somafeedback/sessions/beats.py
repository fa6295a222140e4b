"""A recorded session's beats from the strap's own RR (Heart Rate service), decoded as live.

Readers that measure a session use :func:`somafeedback.sessions.beat_series.session_beats`
(the ECG R-peak beats where an H10's ECG streamed); :func:`decode_beats` is the strap's RR alone.

Thread: any (pure; one pass over the timeline).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from somafeedback.hrv.artifacts import ArtifactDetector
from somafeedback.devices.events import Beat, ContactChange, GapEvent, MalformedPacket, Notification, SourceEvent, TimelineEvent
from somafeedback.devices.heart_rate_stream import HeartRateStream


class BeatColumns:
    """Beats kept as two columns (time, RR) of 8-byte floats, no :class:`Beat` objects: a day's series
    is a few MB (a long session's export holds it this way)."""

    def __init__(self) -> None:
        self.t_s = array("d")
        self.rr_ms = array("d")

    def add(self, beat: Beat) -> None:
        self.t_s.append(beat.t_s)
        self.rr_ms.append(beat.rr_ms)

    def __len__(self) -> int:
        return len(self.t_s)


@dataclass
class StrapBeats:
    """One strap's beats and what else its notifications said.

    With ``columns`` the beats are kept there (times and RR only) and ``beats`` stays empty."""

    strap_id: str
    beats: list[Beat] = field(default_factory=list)
    flagged: list[bool] = field(default_factory=list)  # the live artifact rule's verdict per beat
    contact_changes: list[ContactChange] = field(default_factory=list)
    malformed: list[MalformedPacket] = field(default_factory=list)
    segment_ids: list[int] = field(default_factory=list)  # gap-free segment of each beat (equal ids: one run)
    ecg_beats: int = 0  # beats timed by R peaks in the ECG
    strap_beats: int = 0  # beats from the strap's RR
    columns: BeatColumns | None = None  # the beats as columns instead of ``beats``

    def add(self, beat: Beat) -> None:
        """One more beat, into ``columns`` when kept as columns, else into ``beats``."""
        if self.columns is not None:
            self.columns.add(beat)
        else:
            self.beats.append(beat)

    @property
    def count(self) -> int:
        """How many beats."""
        return len(self.columns) if self.columns is not None else len(self.beats)

    @property
    def rr_ms(self) -> np.ndarray:
        if self.columns is not None:
            return np.array(self.columns.rr_ms, dtype=float)
        return np.array([b.rr_ms for b in self.beats])

    @property
    def t_s(self) -> np.ndarray:
        if self.columns is not None:
            return np.array(self.columns.t_s, dtype=float)
        return np.array([b.t_s for b in self.beats])

    @property
    def segments(self) -> np.ndarray:
        return np.array(self.segment_ids, dtype=int)

    @property
    def beat_source(self) -> str:
        """Where the beats came from, e.g. ``ECG R-peaks (812 beats) + strap RR (40 beats)``."""
        return beat_source_text(self.ecg_beats, self.strap_beats)


def beat_source_text(ecg_beats: int, strap_beats: int) -> str:
    """Where a series' beats came from, in words: the ``beat_source`` of analyze, export and report."""
    parts = []
    if ecg_beats:
        parts.append(f"ECG R-peaks ({ecg_beats} beats)")
    if strap_beats or not ecg_beats:
        parts.append(f"strap RR ({strap_beats} beats)")
    return " + ".join(parts)


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
                record.segment_ids.append(decoded.segment)
                record.strap_beats += 1
                record.flagged.append(detector.judge(decoded.rr_ms).flagged)
            elif isinstance(decoded, ContactChange):
                record.contact_changes.append(decoded)
            else:
                record.malformed.append(decoded)
    return out
