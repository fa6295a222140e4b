"""One timeline for a remote session on the practitioner's side: the engine runs on the client's clock.

The client's items arrive stamped with the client's session clock (the recordings of both sides hold
the same rows), which may be hours away from the practitioner's (another computer's boot time, a
simulated strap's clock starting at 0). :class:`RemoteTimebase` sits between the
:class:`~somafeedback.remote.session.RemoteHost` and the engine's sink and, once, moves the engine's
clock onto the client's (:meth:`~.engine.Engine.fix_timebase`), so the practitioner's markers, cues,
pacer and any local strap (the practitioner's own, for co-regulation) share the client's timeline:

* the offset is the first clock check's estimate (NTP-style, ``remote-clock``: within half its round
  trip), or, when one of the client's items arrives before any estimate, that item's time minus now
  here (within the one-way delay);
* it is fixed once and never stepped: a later estimate that differs is the two clocks drifting apart
  (``residual_s`` in each ``remote-clock`` event, which is re-stamped onto the shared timeline);
* the host's own events on its own clock (a clock check, the practitioner's ``rejoined`` link event) are
  re-stamped onto the shared timeline; the ones that come before the offset is known wait for it;
* a ``remote-timebase`` event records the offset, how it was measured and how sure it is; the
  callback ``on_fixed`` runs first (the engine opens the recording there, so the recording's
  ``session_origin_host_ns`` is already on the shared timeline).

Loop: the engine's (the RemoteHost feeds it there).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from somafeedback.clock import Clock
from somafeedback.devices.events import GapEvent, Notification, SourceEvent, StrapSink, TimelineEvent
from somafeedback.remote.clock_sync import CLOCK_EVENT
from somafeedback.remote.consent import LINK_EVENT, PRACTITIONER

TIMEBASE_EVENT: Final = "remote-timebase"
BY_CLOCK_CHECK: Final = "clock check"
BY_FIRST_ARRIVAL: Final = "first arrival"


class RemoteTimebase:
    """A StrapSink for the RemoteHost: fixes the shared timeline once, then passes everything on to ``sink``.

    ``base`` is the practitioner's own clock (the one the RemoteHost's clock checks read); ``fix(offset_ns)``
    moves the engine's clock; ``on_fixed()`` runs once, right after, before anything else is passed on.
    """

    def __init__(self, sink: StrapSink, base: Clock, fix: Callable[[int], None], on_fixed: Callable[[], None]) -> None:
        self.sink = sink
        self.base = base
        self._fix = fix
        self._on_fixed = on_fixed
        self.offset_ns: int | None = None
        self._held: list[TimelineEvent] = []  # the host's own events from before the offset was known

    def notification(self, notification: Notification) -> None:
        self._from_client(notification.host_ns)
        self.sink.notification(notification)

    def event(self, event: SourceEvent) -> None:
        if isinstance(event, TimelineEvent) and event.kind == CLOCK_EVENT:  # the host's own, on its clock
            self.sink.event(self._clock_event(event))
            return
        if isinstance(event, TimelineEvent) and event.kind == LINK_EVENT and event.data.get("side") == PRACTITIONER:
            if self.offset_ns is None:  # the host's own (a rejoin), on its clock: it waits for the shared timeline
                self._held.append(event)
            else:
                self.sink.event(self._restamped(event))
            return
        self._from_client(event.end_ns if isinstance(event, GapEvent) else event.host_ns)  # a gap: when it ended
        self.sink.event(event)

    def _from_client(self, host_ns: int) -> None:
        if self.offset_ns is None and host_ns:
            self._fixed(host_ns - self.base.now_ns(), BY_FIRST_ARRIVAL, None)

    def _clock_event(self, event: TimelineEvent) -> TimelineEvent:
        offset_s = event.data.get("offset_s")
        if self.offset_ns is None and isinstance(offset_s, (int, float)):
            self._fixed(round(offset_s * 1e9), BY_CLOCK_CHECK, event.data.get("uncertainty_s"))
        if self.offset_ns is None:
            return event  # no estimate yet, nothing of the client's yet: nothing to line up
        data: dict[str, Any] = dict(event.data)
        data["timebase_offset_s"] = round(self.offset_ns / 1e9, 6)
        if isinstance(offset_s, (int, float)):
            data["residual_s"] = round(offset_s - self.offset_ns / 1e9, 6)  # how far the clocks drifted since
        return self._restamped(event, data)

    def _restamped(self, event: TimelineEvent, data: dict[str, Any] | None = None) -> TimelineEvent:
        assert self.offset_ns is not None
        return TimelineEvent(event.kind, event.host_ns + self.offset_ns, event.wall_time,
                             dict(event.data) if data is None else data, event.strap_id)

    def _fixed(self, offset_ns: int, how: str, uncertainty_s: Any) -> None:
        self.offset_ns = offset_ns
        self._fix(offset_ns)
        self._on_fixed()
        sure = (f"within ±{uncertainty_s * 1000:.0f} ms" if isinstance(uncertainty_s, (int, float))
                else "within the network's one-way delay")
        self.sink.event(TimelineEvent(TIMEBASE_EVENT, self.base.now_ns() + offset_ns, self.base.wall_time(), {
            "offset_s": round(offset_ns / 1e9, 6), "how": how, "uncertainty_s": uncertainty_s,
            "text": f"this session runs on the client's clock ({how}, {sure}); the practitioner's markers, "
                    "cues and straps are on the same timeline"}))
        held, self._held = self._held, []
        for event in held:  # before anything of the client's
            self.sink.event(self._restamped(event))
