"""What a strap source hands downstream: raw notifications, connection events, beats.

Every value is an immutable record stamped with session time from the source's injected
clock (``host_ns``: monotonic nanoseconds; ``wall_time``: Unix seconds). Raw
notifications come first and unchanged, so a recorder can keep every byte and a replay
can feed the same bytes back through the same decoders.

Thread: created on the BLE loop; safe to pass to any thread (frozen).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


class LinkState(enum.StrEnum):
    """Connection state of one strap, as the supervisor reports it."""

    CONNECTING = "connecting"  # first search and connection
    STREAMING = "streaming"  # connected and subscribed: notifications flow
    LOST = "lost"  # the link went down (or stalled) while streaming
    RECONNECTING = "reconnecting"  # searching and connecting again after a loss or a failure
    STOPPED = "stopped"  # the supervisor has finished (asked to stop, or gave up)


@dataclass(frozen=True, slots=True)
class Notification:
    """One GATT notification exactly as the strap sent it."""

    strap_id: str
    characteristic: str  # 128-bit UUID
    seq: int  # per strap, from 1, counts every notification received (across reconnects)
    host_ns: int  # session monotonic time of arrival
    wall_time: float  # Unix seconds at arrival
    payload: bytes


@dataclass(frozen=True, slots=True)
class LinkEvent:
    """A change of connection state."""

    strap_id: str
    state: LinkState
    host_ns: int
    wall_time: float
    attempt: int = 0  # reconnection attempt number (0 for the first connection)
    detail: str = ""  # human-readable reason, e.g. the error that made an attempt fail


@dataclass(frozen=True, slots=True)
class GapEvent:
    """A stretch of session time with no data from a strap (link lost until streaming again)."""

    strap_id: str
    start_ns: int
    end_ns: int

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9


@dataclass(frozen=True, slots=True)
class StrapInfo:
    """What a strap says about itself after each connection."""

    strap_id: str
    name: str
    address: str
    host_ns: int
    battery_percent: int | None  # None when unreadable
    body_location: str | None  # e.g. "Chest"; None when unreadable


@dataclass(frozen=True, slots=True)
class Beat:
    """One heartbeat: from the strap's RR (timed by the cumulative RR sum, never by arrival time)
    or from an R peak in the raw ECG (timed by the strap's own clock, mapped to the host's)."""

    strap_id: str
    t_s: float  # beat time in session seconds: segment anchor + cumulative RR
    rr_1024: int  # the RR interval ending at this beat, raw 1/1024 s ticks
    rr_ms: float
    segment: int  # consecutive beats of one segment are exactly rr apart; a new segment follows a gap or re-anchor
    arrival_ns: int  # arrival of the notification that carried it
    seq: int  # that notification's sequence number
    strap_bpm: int  # the HR field of that notification (the strap's own average)
    contact: bool | None  # sensor contact (None: the strap cannot tell)
    source: str = "strap"  # "strap": RR from the Heart Rate service; "ecg": timed by R peaks in the raw ECG


@dataclass(frozen=True, slots=True)
class ContactChange:
    """Skin contact reported by the strap changed."""

    strap_id: str
    host_ns: int
    contact: bool | None


@dataclass(frozen=True, slots=True)
class MalformedPacket:
    """A notification that could not be decoded (kept in the record, skipped for beats)."""

    strap_id: str
    seq: int
    host_ns: int
    payload: bytes
    error: str  # in plain words: what was wrong and that the data were set aside


@dataclass(frozen=True, slots=True)
class ClockReset(MalformedPacket):
    """A PMD frame set aside because its device stamp broke with the strap's clock.

    The stamp ran backwards, repeated, jumped away from where the strap's clock was, or lay
    beyond any clock value (2**63 ns and up). The frame's samples are set aside (the bytes stay
    in the record). A jump the next frame agrees with is the strap's clock really being reset
    (a reboot, its clock set): the timing starts afresh from that next frame, which keeps its
    data. A subclass of :class:`MalformedPacket`, so every consumer that skips malformed packets
    skips these too; ``error`` says what happened in words.
    """

    device_ns: int = 0  # the frame's device stamp, ns since 2000-01-01 (0..2**64-1)
    jump_s: float = float("nan")  # s the stamp lies from where the strap's clock was expected (nan: no reference)


@dataclass(frozen=True, slots=True, eq=False)
class EcgChunk:
    """Raw ECG samples of one PMD frame, each on the host session clock."""

    strap_id: str
    seq: int  # the notification that carried it
    t_s: np.ndarray  # (n,) session seconds of each sample (device clock mapped to the host's)
    uv: np.ndarray  # (n,) microvolts
    fs_hz: float  # nominal sample rate
    contiguous: bool  # False: samples were lost before this chunk (first chunk, gap, restart)
    arrival_ns: int  # session time the frame arrived


@dataclass(frozen=True, slots=True, eq=False)
class AccChunk:
    """Chest acceleration samples of one PMD frame, each on the host session clock."""

    strap_id: str
    seq: int
    t_s: np.ndarray  # (n,) session seconds
    mg: np.ndarray  # (n, 3) milli-g, x y z
    fs_hz: float
    contiguous: bool
    arrival_ns: int


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """Anything else on a session's timeline: a marker, a note, a cue suggestion or decision,
    a state change, a settings change. ``kind`` names it; ``data`` holds its JSON-able details."""

    kind: str
    host_ns: int
    wall_time: float
    data: Mapping[str, Any] = field(default_factory=dict)
    strap_id: str | None = None  # the strap it concerns, if any


SourceEvent = LinkEvent | GapEvent | StrapInfo | TimelineEvent


class StrapSink(Protocol):
    """Where a strap source delivers what it receives (called on the BLE loop's thread)."""

    def notification(self, notification: Notification) -> None: ...

    def event(self, event: SourceEvent) -> None: ...
