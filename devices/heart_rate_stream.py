"""One strap's Heart Rate notifications in, timed beats out (live and replay alike).

No strap input escapes: a payload that does not follow the Heart Rate Measurement layout
gives one :class:`~.events.MalformedPacket` (the bytes stay in the record, no beat comes of
it); any RR value the layout can carry (0..65535 ticks) is a beat, for the artifact rule
downstream to judge.

Thread: any; synchronous and stateful, one instance per strap, fed in arrival order.
"""

from __future__ import annotations

from .beat_timing import BeatTimer
from .events import Beat, ContactChange, GapEvent, MalformedPacket, Notification
from .gatt_uuids import HEART_RATE_MEASUREMENT
from .heart_rate import HeartRateFormatError, decode_measurement

StreamItem = Beat | ContactChange | MalformedPacket


class HeartRateStream:
    """Decodes notifications, tracks contact, and times beats with a :class:`BeatTimer`."""

    def __init__(self, strap_id: str) -> None:
        self.strap_id = strap_id
        self.timer = BeatTimer()
        self.contact: bool | None = None
        self._seen_any = False

    def gap(self, gap: GapEvent) -> None:
        """Data stopped for a while: beats after it start a new segment."""
        self.timer.break_segment()

    def feed(self, notification: Notification) -> list[StreamItem]:
        """What one notification means: a contact change, beats, or a malformed packet."""
        if notification.characteristic != HEART_RATE_MEASUREMENT:
            return []
        try:
            measurement = decode_measurement(notification.payload)
        except (HeartRateFormatError, TypeError) as error:  # TypeError: a payload that is not bytes at all
            return [MalformedPacket(self.strap_id, notification.seq, notification.host_ns, notification.payload, str(error))]
        items: list[StreamItem] = []
        if measurement.contact != self.contact or not self._seen_any:
            self._seen_any = True
            self.contact = measurement.contact
            items.append(ContactChange(self.strap_id, notification.host_ns, measurement.contact))
            if measurement.contact is False:
                self.timer.break_segment()
        if measurement.contact is False:
            return items  # an RR without skin contact is noise, whatever the strap says
        times = self.timer.place(notification.host_ns / 1e9, measurement.rr_1024)
        items.extend(
            Beat(
                strap_id=self.strap_id,
                t_s=t_s,
                rr_1024=rr,
                rr_ms=rr_ms,
                segment=self.timer.segment,
                arrival_ns=notification.host_ns,
                seq=notification.seq,
                strap_bpm=measurement.bpm,
                contact=measurement.contact,
            )
            for t_s, rr, rr_ms in zip(times, measurement.rr_1024, measurement.rr_ms, strict=True)
        )
        return items
