"""The messages inside the sealed channel of a remote session (versioned, compact, strict to decode).

**Encoding.** ``version u8 | kind u8 | body``. A strap notification, nearly all of the traffic (an H10
sends tens a second: ECG, motion, heart rate), has a binary body, so its payload travels as the raw
bytes the strap sent (base64 in JSON would add a third, and a JSON parse per ECG frame)::

    notification = strap_id_len u8 | strap_id utf-8 | characteristic_len u8 | characteristic utf-8
                   | seq u64 | host_ns i64 | wall_time f64 | payload (the rest)

Everything else is rare and small: a UTF-8 JSON object, so it is readable in a debugger and grows
without a version change. Source events (link, gap, strap info, contact and other timeline events)
reuse the session file's event row (``sessions.file.event_row``): what arrives is what a recording
would store, and it reads back through the same checks.

**Kinds.** up (client -> practitioner): notification, event, marker, client-ended; down (practitioner ->
client): cue, pacer, session-ended; both: hello (the random session subject and the channels) and
*extension* (``name`` and a JSON object): the hook the clock-offset exchange (``clock_sync``) and the
sharing levels (``consent``) plug into without a new message kind.

:func:`decode` raises nothing but :class:`MessageError`, whatever the bytes. Pure functions; any thread.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from somafeedback.devices.events import GapEvent, LinkEvent, Notification, SourceEvent, StrapInfo, TimelineEvent
from somafeedback.sessions.file import event_from_row, event_row

MESSAGE_VERSION: Final = 1

KIND_HELLO: Final = 1
KIND_NOTIFICATION: Final = 2
KIND_EVENT: Final = 3
KIND_MARKER: Final = 4
KIND_CLIENT_ENDED: Final = 5
KIND_CUE: Final = 6
KIND_PACER: Final = 7
KIND_SESSION_ENDED: Final = 8
KIND_EXTENSION: Final = 9

# Extension names the other helpers' modules use (they register handlers for them).
EXTENSION_CLOCK_SYNC: Final = "clock-sync"
EXTENSION_CONSENT: Final = "consent"

_NOTIFICATION: Final = struct.Struct(">Qqd")  # seq, host_ns, wall_time
_HEADER: Final = struct.Struct(">BB")
MAX_JSON_DEPTH: Final = 32  # nesting a JSON body may have (a deeper one is garbage, not a message)


class MessageError(ValueError):
    """Bytes that are not a message this version understands (the text is for logs)."""


@dataclass(frozen=True)
class Hello:
    """The practitioner's first sealed message: where the session's stream is and which channels it uses."""

    session_subject: str
    up_channel: str
    down_channel: str
    protocol: int = MESSAGE_VERSION
    requested: str = "raw"  # the sharing level the practitioner asks for (a hello without it: raw)


@dataclass(frozen=True)
class Marker:
    """A marker the client set (e.g. "felt dizzy"), at ``host_ns`` on the client's clock."""

    text: str
    host_ns: int
    wall_time: float

    def as_event(self) -> TimelineEvent:
        """The timeline event a recording keeps for it (a marker labelled by the client)."""
        return TimelineEvent("marker", self.host_ns, self.wall_time, {"label": self.text, "by": "client"})


@dataclass(frozen=True)
class ClientEnded:
    reason: str = "the client ended the session"


@dataclass(frozen=True)
class SessionEnded:
    reason: str = "the practitioner ended the session"


@dataclass(frozen=True)
class Cue:
    """An approved cue or pushed exercise (its JSON-able data, as the regulation layer describes it)."""

    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PacerSettings:
    """Breathing pacer settings for the client's screen (JSON-able, e.g. ``pacer_event_data``)."""

    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Extension:
    """A message for a plug-in part of the session (``clock-sync``, ``consent``, ...)."""

    name: str
    data: Mapping[str, Any] = field(default_factory=dict)


Message = Hello | Notification | LinkEvent | GapEvent | StrapInfo | TimelineEvent | Marker | ClientEnded | SessionEnded | Cue | PacerSettings | Extension
UP_TYPES: Final = (Notification, LinkEvent, GapEvent, StrapInfo, TimelineEvent, Marker, ClientEnded, Extension)
DOWN_TYPES: Final = (Hello, Cue, PacerSettings, SessionEnded, Extension)


def _json(kind: int, body: Mapping[str, Any]) -> bytes:
    return _HEADER.pack(MESSAGE_VERSION, kind) + json.dumps(body, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _short_text(text: str, what: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > 255:
        raise ValueError(f"the {what} is longer than 255 bytes")
    return bytes([len(raw)]) + raw


def encode(message: Message) -> bytes:
    """The bytes of ``message`` (to be sealed). ``ValueError`` for data JSON cannot carry."""
    if isinstance(message, Notification):
        return (_HEADER.pack(MESSAGE_VERSION, KIND_NOTIFICATION) + _short_text(message.strap_id, "strap id")
                + _short_text(message.characteristic, "characteristic")
                + _NOTIFICATION.pack(message.seq, message.host_ns, message.wall_time) + bytes(message.payload))
    if isinstance(message, (LinkEvent, GapEvent, StrapInfo, TimelineEvent)):
        return _json(KIND_EVENT, {"row": list(event_row(message))})
    if isinstance(message, Hello):
        return _json(KIND_HELLO, {"subject": message.session_subject, "up": message.up_channel,
                                  "down": message.down_channel, "protocol": message.protocol,
                                  "requested": message.requested})
    if isinstance(message, Marker):
        return _json(KIND_MARKER, {"text": message.text, "host_ns": message.host_ns, "wall_time": message.wall_time})
    if isinstance(message, ClientEnded):
        return _json(KIND_CLIENT_ENDED, {"reason": message.reason})
    if isinstance(message, SessionEnded):
        return _json(KIND_SESSION_ENDED, {"reason": message.reason})
    if isinstance(message, Cue):
        return _json(KIND_CUE, {"data": dict(message.data)})
    if isinstance(message, PacerSettings):
        return _json(KIND_PACER, {"data": dict(message.data)})
    if isinstance(message, Extension):
        return _json(KIND_EXTENSION, {"name": message.name, "data": dict(message.data)})
    raise TypeError(f"not a remote message: {type(message).__name__}")


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise MessageError(f"{key!r} is not text")
    return value


def _object(body: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if not isinstance(value, dict):
        raise MessageError(f"{key!r} is not an object")
    return value


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_JSON_DEPTH:
        raise MessageError("nested too deeply")
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


def _read_short(data: bytes, at: int) -> tuple[str, int]:
    if at >= len(data):
        raise MessageError("cut short")
    end = at + 1 + data[at]
    if end > len(data):
        raise MessageError("cut short")
    return data[at + 1:end].decode("utf-8"), end


def _decode_notification(data: bytes) -> Notification:
    strap_id, at = _read_short(data, _HEADER.size)
    characteristic, at = _read_short(data, at)
    if at + _NOTIFICATION.size > len(data):
        raise MessageError("cut short")
    seq, host_ns, wall_time = _NOTIFICATION.unpack_from(data, at)
    if not math.isfinite(wall_time):
        raise MessageError("wall time is not a number")
    return Notification(strap_id, characteristic, seq, host_ns, wall_time, bytes(data[at + _NOTIFICATION.size:]))


def _decode_event(body: Mapping[str, Any]) -> SourceEvent:
    row = body.get("row")
    if not (isinstance(row, list) and len(row) == 5):
        raise MessageError("an event row has five fields")
    host_ns, wall, kind, strap_id, details = row
    if not (isinstance(host_ns, int) and (wall is None or isinstance(wall, (int, float))) and isinstance(kind, str)
            and (strap_id is None or isinstance(strap_id, str)) and isinstance(details, str)):
        raise MessageError("an event row of the wrong shape")
    return event_from_row(host_ns, None if wall is None else float(wall), kind, strap_id, details)


def _decode_json(kind: int, body: Mapping[str, Any]) -> Message:
    if kind == KIND_EVENT:
        return _decode_event(body)
    if kind == KIND_HELLO:
        protocol = body.get("protocol")
        if not isinstance(protocol, int):
            raise MessageError("the hello has no protocol number")
        requested = body.get("requested", "raw")  # added later: an older practitioner's hello asks for raw
        if not isinstance(requested, str):
            raise MessageError("the hello's requested level is not text")
        return Hello(_text(body, "subject"), _text(body, "up"), _text(body, "down"), protocol, requested)
    if kind == KIND_MARKER:
        host_ns, wall = body.get("host_ns"), body.get("wall_time")
        if not isinstance(host_ns, int) or not isinstance(wall, (int, float)) or isinstance(wall, bool):
            raise MessageError("a marker needs its times")
        return Marker(_text(body, "text"), host_ns, float(wall))
    if kind == KIND_CLIENT_ENDED:
        return ClientEnded(_text(body, "reason"))
    if kind == KIND_SESSION_ENDED:
        return SessionEnded(_text(body, "reason"))
    if kind == KIND_CUE:
        return Cue(_object(body, "data"))
    if kind == KIND_PACER:
        return PacerSettings(_object(body, "data"))
    if kind == KIND_EXTENSION:
        return Extension(_text(body, "name"), _object(body, "data"))
    raise MessageError(f"unknown message kind {kind}")


def decode(data: bytes) -> Message:
    """The message in ``data``; raises :class:`MessageError` (only) for anything else."""
    data = bytes(data)
    if len(data) < _HEADER.size:
        raise MessageError("too short to be a message")
    version, kind = _HEADER.unpack_from(data)
    if version != MESSAGE_VERSION:
        raise MessageError(f"message version {version}, this one reads {MESSAGE_VERSION}")
    try:
        if kind == KIND_NOTIFICATION:
            return _decode_notification(data)
        body = json.loads(data[_HEADER.size:].decode("utf-8"))
        if not isinstance(body, dict):
            raise MessageError("the body is not a JSON object")
        _depth(body)
        return _decode_json(kind, body)
    except MessageError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError, OverflowError) as error:
        raise MessageError(f"unreadable: {type(error).__name__}") from None
