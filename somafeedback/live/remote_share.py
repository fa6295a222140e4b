"""The client's own analysis for a remote session shared at ``state`` or ``metrics``.

:class:`SharedAnalysis` is a :class:`~somafeedback.devices.events.StrapSink` for the client's side when no
app engine analyses the strap already (``remote join``): it runs the strap through a
:class:`~.analysis.LiveAnalysis` and the regulation model (a :class:`~.regulation_session.RegulationSession`
in home mode without a practice: states and baseline, no cues) and hands what they make to a
:class:`~somafeedback.remote.derived.ClientDerived` (``remote-metrics``, ``remote-breathing``, ``state``,
``baseline`` events marked ``computed_by: "client"``). The strap's items themselves are not passed on:
put the session's client beside it (a FanOut) so the consent filter decides about them.

An app that already runs a LiveAnalysis and a RegulationSession feeds a ClientDerived from them instead
(``outputs`` after each analysed item, ``regulation_event`` from the session's ``emit``).

Thread: the loop that feeds the strap (its ``send`` must be thread-safe: ``RemoteClient.submit`` is).
"""

from __future__ import annotations

from collections.abc import Callable

from somafeedback.devices.events import Notification, SourceEvent, TimelineEvent
from somafeedback.remote.derived import ClientDerived

from .regulation_session import RegulationSession


class SharedAnalysis:
    """The client's strap -> analysis and states -> derived items handed to ``send``."""

    def __init__(self, send: Callable[[TimelineEvent], None]) -> None:
        self.derived = ClientDerived(send)
        self.regulation = RegulationSession("home", {}, emit=self.derived.regulation_event)

    def notification(self, notification: Notification) -> None:
        outputs = self.regulation.analysis.on_notification(notification)
        self.derived.outputs(outputs, notification)  # the measures first, then the states they lead to
        self.regulation.notification_analyzed(notification, outputs)

    def event(self, event: SourceEvent) -> None:
        outputs = self.regulation.analysis.on_event(event)
        self.derived.outputs(outputs)
        self.regulation.event_analyzed(event, outputs)
