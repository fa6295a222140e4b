"""Sinks that combine other sinks.

Thread: whichever thread feeds them (the BLE or replay loop).
"""

from __future__ import annotations

from somafeedback.devices.events import Notification, SourceEvent, StrapSink


class FanOut:
    """Hands everything to several sinks, in order (e.g. the recorder first, then the screen)."""

    def __init__(self, *sinks: StrapSink) -> None:
        self.sinks = sinks

    def notification(self, notification: Notification) -> None:
        for sink in self.sinks:
            sink.notification(notification)

    def event(self, event: SourceEvent) -> None:
        for sink in self.sinks:
            sink.event(event)
