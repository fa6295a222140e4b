"""What the client agrees to share with their practitioner, and the filter every outgoing item passes.

The client chooses a level before anything is sent (:class:`SharingLevel`; each level includes the
ones before it):

========  ==========================================================================================
state     the regulation state only (the band: settled, rising, above the usual range...)
metrics   the state and the measures (heart rate, heart-rate variability, breathing rate...)
beats     the state, the measures and every heartbeat: the strap's Heart Rate notifications (RR)
raw       everything the strap sends, including the raw ECG and chest motion (Polar PMD frames)
========  ==========================================================================================

What each outgoing item needs (:func:`category`, :data:`LEVEL_SHARES`):

* ``control`` — the session's own ``remote-consent``, ``remote-clock`` and ``remote-link`` events: always sent;
* ``status`` — whether the strap is connected and worn, its name and battery (link, gap, contact,
  strap info), the client's markers and cue answers: every level, while sharing;
* ``state`` — :class:`~somafeedback.regulation.states.StateChange`, ``state`` and ``movement`` events
  (:func:`shared_event_data` keeps only the band of a ``state`` event at level ``state``);
* ``metrics`` — :class:`~somafeedback.hrv.pipeline.BeatMetrics`, breathing and pacer-following
  estimates, ``baseline``, ``calibration``, ``rest-comparison`` and ``pacer-following`` events, and the
  measures the client's own computer made (``remote-metrics``, ``remote-breathing``: see :mod:`.derived`);
* ``beats`` — :class:`~somafeedback.devices.events.Beat` and Heart Rate Measurement notifications;
* ``raw`` — Polar PMD notifications (ECG and acceleration frames, control point answers) and the
  ``pmd_started``/``pmd_stopped``/``pmd_error`` events needed to decode them, any other
  characteristic, ECG and motion chunks, the breathing trace, packets that could not be decoded;
* ``local`` — anything else (the app's own events such as ``recording`` with its file path, engine
  warnings; unknown kinds and types): never sent.

:class:`Consent` holds the level, whether the client has confirmed it, paused and stopped. Nothing but
``control`` items passes before the client confirms, while paused, or after stop. Only the client
gives consent (chooses, confirms, resumes what they paused); either side may pause or stop. Every change
is a ``remote-consent`` event's data, recorded on both sides (the practitioner's copy follows the
client's events with :meth:`Consent.apply`).

Thread: the session loop (not thread-safe). Pure: no clock, no I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Final

from somafeedback.devices.events import (
    AccChunk,
    Beat,
    ContactChange,
    EcgChunk,
    GapEvent,
    LinkEvent,
    MalformedPacket,
    Notification,
    StrapInfo,
    TimelineEvent,
)
from somafeedback.devices.gatt_uuids import HEART_RATE_MEASUREMENT
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.regulation.states import StateChange
from somafeedback.remote.clock_sync import CLOCK_EVENT
from somafeedback.signals.chest_motion import BreathingEstimate
from somafeedback.signals.pacer_following import FollowingEstimate
from somafeedback.signals.raw_signals import BreathingTrace

CONSENT_EVENT: Final = "remote-consent"  # timeline event kind of every consent change
LINK_EVENT: Final = "remote-link"  # timeline event kind of the client's relay link lost/back (see session)
METRICS_EVENT: Final = "remote-metrics"  # a metric set the client's computer measured (see derived)
BREATHING_EVENT: Final = "remote-breathing"  # a breathing estimate the client's computer made (see derived)
COMPUTED_BY: Final = "computed_by"  # data key of an item the client's computer derived ("client")
CLIENT: Final = "client"
PRACTITIONER: Final = "practitioner"


class SharingLevel(enum.StrEnum):
    """How much the client shares, from least to most."""

    STATE = "state"
    METRICS = "metrics"
    BEATS = "beats"
    RAW = "raw"


DEFAULT_REQUEST: Final = SharingLevel.RAW  # what the practitioner asks for unless they say otherwise

DESCRIPTIONS: Final[dict[SharingLevel, str]] = {  # what your practitioner will see
    SharingLevel.STATE: "Only your regulation state (for example settled, rising or above your usual range), "
                        "not your heart data.",
    SharingLevel.METRICS: "Your regulation state and your measures (heart rate, heart-rate variability, "
                          "breathing rate), not each heartbeat.",
    SharingLevel.BEATS: "Your regulation state, your measures and the timing of each heartbeat, "
                        "but not the raw heart signal (ECG) or chest movement.",
    SharingLevel.RAW: "Everything your strap records, including the raw heart signal (ECG) and chest "
                      "movement, so your practitioner's app works as if your strap were in the room.",
}
SHORT: Final[dict[SharingLevel, str]] = {
    SharingLevel.STATE: "your regulation state",
    SharingLevel.METRICS: "your state and measures",
    SharingLevel.BEATS: "your state, measures and heartbeats",
    SharingLevel.RAW: "everything from your strap",
}


class Category(enum.StrEnum):
    """What an outgoing item reveals (see the module docstring)."""

    CONTROL = "control"
    STATUS = "status"
    STATE = "state"
    METRICS = "metrics"
    BEATS = "beats"
    RAW = "raw"
    LOCAL = "local"


LEVEL_SHARES: Final[dict[SharingLevel, frozenset[Category]]] = {
    SharingLevel.STATE: frozenset({Category.CONTROL, Category.STATUS, Category.STATE}),
    SharingLevel.METRICS: frozenset({Category.CONTROL, Category.STATUS, Category.STATE, Category.METRICS}),
    SharingLevel.BEATS: frozenset({Category.CONTROL, Category.STATUS, Category.STATE, Category.METRICS,
                                   Category.BEATS}),
    SharingLevel.RAW: frozenset({Category.CONTROL, Category.STATUS, Category.STATE, Category.METRICS,
                                 Category.BEATS, Category.RAW}),
}

EVENT_KINDS: Final[dict[str, Category]] = {
    CONSENT_EVENT: Category.CONTROL, CLOCK_EVENT: Category.CONTROL, LINK_EVENT: Category.CONTROL,
    "marker": Category.STATUS, "discharge": Category.STATUS, "resource": Category.STATUS,
    "mute": Category.STATUS, "unmute": Category.STATUS, "movement-start": Category.STATUS,
    "movement-end": Category.STATUS, "cue": Category.STATUS, "remote-cue": Category.STATUS, "pacer": Category.STATUS, "method": Category.STATUS,
    "state": Category.STATE, "movement": Category.STATE,
    "baseline": Category.METRICS, "calibration": Category.METRICS, "rest-comparison": Category.METRICS,
    "pacer-following": Category.METRICS, METRICS_EVENT: Category.METRICS, BREATHING_EVENT: Category.METRICS,
    "pmd_started": Category.RAW, "pmd_stopped": Category.RAW, "pmd_error": Category.RAW,
}
_UNREADABLE: Final = ("a sharing change from the other side could not be read (another version of somafeedback?): "
                      "it was set aside")
# a ``state`` event's data at level state: the band, why, the signal's quality, and who judged it
STATE_ONLY_FIELDS: Final = ("previous", "state", "reason", "signal", COMPUTED_BY)


def category(item: object) -> Category:
    """What sending ``item`` would reveal (:data:`Category.LOCAL` for anything not meant to be sent)."""
    if isinstance(item, Notification):
        return Category.BEATS if item.characteristic == HEART_RATE_MEASUREMENT else Category.RAW
    if isinstance(item, TimelineEvent):
        return EVENT_KINDS.get(item.kind, Category.LOCAL)
    if isinstance(item, (LinkEvent, GapEvent, ContactChange, StrapInfo)):
        return Category.STATUS
    if isinstance(item, StateChange):
        return Category.STATE
    if isinstance(item, (BeatMetrics, BreathingEstimate, FollowingEstimate)):
        return Category.METRICS
    if isinstance(item, Beat):
        return Category.BEATS
    if isinstance(item, (EcgChunk, AccChunk, BreathingTrace, MalformedPacket)):
        return Category.RAW
    return Category.LOCAL


def level_allows(level: SharingLevel, item: object) -> bool:
    """Whether ``item`` may be sent at ``level`` (the level alone: see :meth:`Consent.allows`)."""
    return category(item) in LEVEL_SHARES[level]


def shared_event_data(level: SharingLevel, kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """An event's data as sent at ``level``: at ``state``, a ``state`` event keeps only the band
    (no heart rate, slope or HRV figures) and who computed it; everything else unchanged."""
    if level is SharingLevel.STATE and kind == "state":
        return {key: data[key] for key in STATE_ONLY_FIELDS if key in data}
    return dict(data)


class ConsentError(ValueError):
    """A consent change that is not possible; ``str(error)`` is meant to be shown as it is."""


class Consent:
    """The client's consent for one remote session, on either side (the practitioner's copy applies the client's events).

    ``requested`` is the level the practitioner asked for; it is the proposed level until the client
    chooses another. Each change method returns the ``remote-consent`` event data to record and send,
    or None when nothing changed.
    """

    def __init__(self, requested: SharingLevel = DEFAULT_REQUEST) -> None:
        self.requested = SharingLevel(requested)
        self.level = self.requested
        self.confirmed = False
        self.paused_by: str | None = None  # who paused (None: not paused)
        self.stopped = False
        self.events: list[dict[str, Any]] = []  # every change, in order

    @property
    def paused(self) -> bool:
        return self.paused_by is not None

    @property
    def sharing(self) -> bool:
        """True while items of the chosen level may be sent."""
        return self.confirmed and not self.paused and not self.stopped

    def allows(self, item: object) -> bool:
        """Whether ``item`` may be sent now: ``control`` items always, the rest only while sharing
        at a level that includes it."""
        kind = category(item)
        return kind is Category.CONTROL or (self.sharing and kind in LEVEL_SHARES[self.level])

    def status_text(self) -> str:
        """The sharing indicator, in the client's words."""
        if self.stopped:
            return "Sharing stopped: nothing more is sent."
        if not self.confirmed:
            return "Not sharing yet: nothing is sent until you choose what to share and confirm."
        if self.paused:
            who = "" if self.paused_by == CLIENT else " by your practitioner"
            return f"Sharing paused{who}: nothing is being sent."
        return f"Sharing with your practitioner: {SHORT[self.level]}."

    def choose(self, level: SharingLevel | str, by: str = CLIENT, reason: str = "") -> dict[str, Any] | None:
        """The client picks a level (before confirming, or later: it applies at once)."""
        self._only_client(by, "choose what is shared")
        self._not_stopped()
        try:
            new = SharingLevel(level)
        except ValueError:
            raise ConsentError(f"there is no sharing level called {level!r}: choose state, metrics, beats or raw") from None
        if new is self.level:
            return None
        self.level = new
        return self._record("chose", by, reason)

    def confirm(self, by: str = CLIENT, reason: str = "") -> dict[str, Any] | None:
        """The client confirms the level shown: sharing starts."""
        self._only_client(by, "confirm sharing")
        self._not_stopped()
        if self.confirmed:
            return None
        self.confirmed = True
        return self._record("confirmed", by, reason)

    def pause(self, by: str = CLIENT, reason: str = "") -> dict[str, Any] | None:
        """Either side pauses: nothing but control messages is sent until resumed."""
        self._known(by)
        if self.paused or self.stopped:
            return None
        self.paused_by = by
        return self._record("paused", by, reason)

    def resume(self, by: str = CLIENT, reason: str = "") -> dict[str, Any] | None:
        """Sharing goes on: the client may always resume; the practitioner only what they paused."""
        self._known(by)
        self._not_stopped()
        if not self.paused:
            return None
        if by != CLIENT and self.paused_by == CLIENT:
            raise ConsentError("the client paused sharing: only the client can resume it")
        self.paused_by = None
        return self._record("resumed", by, reason)

    def stop(self, by: str = CLIENT, reason: str = "") -> dict[str, Any] | None:
        """Either side stops sharing for good (for this session)."""
        self._known(by)
        if self.stopped:
            return None
        self.stopped = True
        return self._record("stopped", by, reason)

    def apply(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Follow a ``remote-consent`` event received from the other side; returns it as recorded here.

        Raises :class:`ConsentError` for data this version cannot read.
        """
        try:
            level = SharingLevel(data["level"])
            confirmed, stopped = data["confirmed"], data["stopped"]
            paused_by, by, change = data.get("paused_by"), data["by"], data["change"]
        except (KeyError, ValueError, TypeError):
            raise ConsentError(_UNREADABLE) from None
        if not isinstance(confirmed, bool) or not isinstance(stopped, bool) or not isinstance(change, str) \
                or paused_by not in (None, CLIENT, PRACTITIONER) or by not in (CLIENT, PRACTITIONER):
            raise ConsentError(_UNREADABLE)
        self.level, self.confirmed, self.paused_by = level, confirmed, paused_by
        self.stopped = self.stopped or stopped
        return self._record(change, by, str(data.get("reason", "")))

    def _record(self, change: str, by: str, reason: str) -> dict[str, Any]:
        data = {"change": change, "level": str(self.level), "requested": str(self.requested),
                "confirmed": self.confirmed, "paused": self.paused, "paused_by": self.paused_by,
                "stopped": self.stopped, "sharing": self.sharing, "by": by, "reason": reason,
                "text": self.status_text()}
        self.events.append(data)
        return dict(data)

    @staticmethod
    def _known(by: str) -> None:
        if by not in (CLIENT, PRACTITIONER):
            raise ConsentError(f"a sharing change comes from the client or the practitioner, not {by!r}")

    def _only_client(self, by: str, what: str) -> None:
        self._known(by)
        if by != CLIENT:
            raise ConsentError(f"only the client can {what}")

    def _not_stopped(self) -> None:
        if self.stopped:
            raise ConsentError("sharing has stopped for this session: start a new session to share again")
