"""What makes a stored session trustworthy: row checksums, and manifest values checked before use.

* **Row checksums** (format version 2): every row of ``notifications`` and ``events`` carries
  ``crc``, the CRC-32 (``zlib.crc32``) of the row's content in one canonical byte form (below),
  so a flipped byte anywhere in a stored row is found on reading instead of being read as data.
  Notifications: ``json.dumps([timeline_seq, strap_id, seq, characteristic, host_ns,
  float(wall_time).hex()])`` in UTF-8, one zero byte, then the payload's bytes. Events:
  ``json.dumps([timeline_seq, host_ns, wall_time_hex_or_null, kind, strap_id, data])`` in UTF-8.
  (``json.dumps`` with its defaults: ASCII only, ``", "`` between items.)
* **Manifest values** are checked against what each known key may hold (type and a plausible
  range): a wrong-typed or absurd value is left out with one line saying so, so no reader
  ever computes with it (a flipped digit must not make a 24-hour export out of a 5-minute one).

Thread: any (pure).
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Callable, Mapping
from typing import Any, Final

NS_PER_S: Final = 1_000_000_000
MAX_SESSION_S: Final = 31 * 24 * 3600  # longest plausible session (s): a month of continuous recording
MAX_BEFORE_ZERO_S: Final = 24 * 3600  # how far below zero a stamp may lie (s): an origin taken before the clock's zero
MAX_INT64: Final = 2 ** 63 - 1
WALL_RANGE: Final = (0.0, 10_000_000_000.0)  # plausible Unix seconds: 1970 .. 2286


def notification_crc(timeline_seq: int, strap_id: str, seq: int, characteristic: str, host_ns: int,
                     wall_time: float, payload: bytes) -> int:
    """The stored checksum of one notification row."""
    head = json.dumps([timeline_seq, strap_id, seq, characteristic, host_ns, float(wall_time).hex()])
    return zlib.crc32(head.encode("utf-8") + b"\x00" + bytes(payload))


def event_crc(timeline_seq: int, host_ns: int, wall_time: float | None, kind: str, strap_id: str | None,
              data: str) -> int:
    """The stored checksum of one event row."""
    wall = None if wall_time is None else float(wall_time).hex()
    return zlib.crc32(json.dumps([timeline_seq, host_ns, wall, kind, strap_id, data]).encode("utf-8"))


# -- row types ----------------------------------------------------------------------------------
def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -MAX_INT64 - 1 <= value <= MAX_INT64


def _real(value: Any) -> bool:
    return (isinstance(value, float) and math.isfinite(value)) or _int(value)


def notification_row_problem(row: tuple[Any, ...]) -> str | None:
    """None when a (timeline_seq, strap_id, seq, characteristic, host_ns, wall_time, payload) row has the stored types."""
    seq_, strap, n, characteristic, host_ns, wall, payload = row
    if not (_int(seq_) and isinstance(strap, str) and _int(n) and isinstance(characteristic, str) and _int(host_ns)
            and _real(wall) and isinstance(payload, bytes)):
        return "a value of the wrong kind"
    return None


def event_row_problem(row: tuple[Any, ...]) -> str | None:
    """None when a (timeline_seq, host_ns, wall_time, kind, strap_id, data) row has the stored types."""
    seq_, host_ns, wall, kind, strap, data = row
    if not (_int(seq_) and _int(host_ns) and (wall is None or _real(wall)) and isinstance(kind, str)
            and (strap is None or isinstance(strap, str)) and isinstance(data, str)):
        return "a value of the wrong kind"
    return None


def stamp_problem(host_ns: int, started_host_ns: int | None) -> str | None:
    """None when a row's session-clock stamp lies where a session's can (near its start), else why not."""
    if started_host_ns is None:
        return None
    # Stamps count on a monotonic clock (from the computer's start, so anywhere from 0 to the
    # recording's start however long the computer has run) or on a session clock (from 0).
    earliest = min(started_host_ns, 0) - MAX_BEFORE_ZERO_S * NS_PER_S
    if not earliest <= host_ns <= started_host_ns + MAX_SESSION_S * NS_PER_S:
        return "its time lies far outside the session"
    return None


# -- the manifest ---------------------------------------------------------------------------------
def _optional_text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _wall(value: Any) -> bool:
    return _real(value) and WALL_RANGE[0] <= float(value) <= WALL_RANGE[1]


def _text_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _devices(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(d, dict) and isinstance(d.get("strap_id"), str) for d in value)


def _version(value: Any) -> bool:
    return _int(value) and value >= 1


MANIFEST_CHECKS: Final[Mapping[str, Callable[[Any], bool]]] = {
    "format": lambda v: isinstance(v, str),
    "format_version": _version,
    "session_id": lambda v: isinstance(v, str),
    "app_version": lambda v: isinstance(v, str),
    "client": _optional_text,
    "practitioner": _optional_text,
    "mode": _optional_text,
    "devices": _devices,
    "source": lambda v: isinstance(v, dict),
    "tags": _text_list,
    "started_wall": _wall,
    "ended_wall": _wall,
    "started_host_ns": _int,
    "ended_host_ns": _int,
    "session_origin_host_ns": _int,
    "last_commit_host_ns": _int,
    "end_reason": lambda v: isinstance(v, str),
    "recorder": lambda v: isinstance(v, dict),
    "baseline": lambda v: isinstance(v, dict),
    "repaired": lambda v: isinstance(v, dict),
}


def checked_manifest(manifest: Mapping[str, Any], problems: list[str] | None = None) -> dict[str, Any]:
    """``manifest`` without the values a known key cannot hold (each noted in ``problems``)."""
    kept: dict[str, Any] = {}
    for key, value in manifest.items():
        check = MANIFEST_CHECKS.get(key)
        if check is not None and not check(value):
            if problems is not None:
                problems.append(f"the session's {key!r} holds an impossible value; it was ignored")
            continue
        kept[key] = value
    start, end = kept.get("started_host_ns"), kept.get("ended_host_ns")
    if start is not None and end is not None and not 0 <= end - start <= MAX_SESSION_S * NS_PER_S:
        for key in ("ended_host_ns", "ended_wall"):
            kept.pop(key, None)
        if problems is not None:
            problems.append("the session's recorded end is impossible (before its start or over a month later); it was ignored")
    origin = kept.get("session_origin_host_ns")
    if start is not None and origin is not None and stamp_problem(origin, start) is not None:
        kept.pop("session_origin_host_ns")
        if problems is not None:
            problems.append("the session's start of the live session is impossible; it was ignored")
    return kept
