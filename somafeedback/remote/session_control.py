"""The session's own control items, as pure helpers for :mod:`.session`: what the client's consent lets
leave (and the client's derived items only at the levels that need them), the ``remote-consent`` extension
both sides record, and the client's ``remote-link`` events.

Pure: no I/O, no loop; the caller passes the clock readings. Thread: the session loop that calls them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any, Final

from somafeedback.devices.events import TimelineEvent

from .consent import CONSENT_EVENT, LINK_EVENT, Consent, ConsentError, SharingLevel, category, shared_event_data
from .derived import DERIVED_LEVELS, is_derived
from .messages import EXTENSION_CONSENT, ClientEnded, Extension, Marker, Message

SUPPORTED_LEVELS: Final = tuple(SharingLevel)  # what a client can share (state and metrics: see derived)
DERIVED: Final = "derived"  # withheld count of the client's derived items at a level where the practitioner computes them
LINK_TEXT: Final = {"lost": "remote link lost: the client's data is kept and follows when the link is back",
                    "back": "remote link back: what was held is on its way"}


def check_level(level: SharingLevel | str) -> SharingLevel:
    """``level`` when a client can share it; :class:`~.consent.ConsentError` (in words) otherwise."""
    try:
        return SharingLevel(level)
    except ValueError:
        raise ConsentError(f"there is no sharing level called {level!r}: choose state, metrics, beats or raw") from None


def shareable(consent: Consent, message: Message, withheld: Counter[str]) -> Message | None:
    """``message`` as it may leave now (a ``state`` event trimmed to the level), or None (counted in ``withheld``
    by category; a derived item at ``beats`` or ``raw`` as :data:`DERIVED`). The end and extensions are control:
    they always leave."""
    if isinstance(message, (ClientEnded, Extension)):
        return message
    item = message.as_event() if isinstance(message, Marker) else message
    if not consent.allows(item):
        withheld[str(category(item))] += 1
        return None
    if consent.level not in DERIVED_LEVELS and is_derived(item):
        withheld[DERIVED] += 1  # the practitioner computes it from the notifications: not sent twice
        return None
    if isinstance(message, TimelineEvent):
        shared = shared_event_data(consent.level, message.kind, message.data)
        if shared != dict(message.data):
            return TimelineEvent(message.kind, message.host_ns, message.wall_time, shared, message.strap_id)
    return message


def consent_items(data: dict[str, Any], host_ns: int, wall_time: float) -> tuple[TimelineEvent, Extension]:
    """A consent change at this moment of the client's clock: the event the client records, the extension it sends."""
    return (TimelineEvent(CONSENT_EVENT, host_ns, wall_time, data),
            Extension(EXTENSION_CONSENT, {"event": data, "host_ns": host_ns, "wall_time": wall_time}))


def followed_consent(consent: Consent, data: Mapping[str, Any]) -> TimelineEvent:
    """The practitioner's side: follow the client's change on ``consent``; the client's own event, to record.
    Raises :class:`~.consent.ConsentError` for data this version cannot read."""
    event, host_ns, wall = data.get("event"), data.get("host_ns"), data.get("wall_time")
    if not isinstance(event, dict) or not isinstance(host_ns, int) or isinstance(host_ns, bool) \
            or not isinstance(wall, (int, float)):
        raise ConsentError("a sharing change from the other side could not be read")
    consent.apply(event)
    return TimelineEvent(CONSENT_EVENT, host_ns, float(wall), event)


def link_event(kind: str, host_ns: int, wall_time: float) -> TimelineEvent | None:
    """The client's ``remote-link`` event for a relay link change (None for ``closed`` and anything else)."""
    if kind not in LINK_TEXT:
        return None
    return TimelineEvent(LINK_EVENT, host_ns, wall_time, {"state": kind, "side": "client", "text": LINK_TEXT[kind]})
