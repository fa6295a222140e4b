"""Re-analysing a recorded session for the states and the baseline it was recorded without.

An imported or recording-only session has beats but no ``state`` or ``baseline`` events: the
review window shows them re-analysed. :func:`reanalyze_states` runs the recorded timeline through a
practitioner-mode :class:`~.regulation_session.RegulationSession` (the same loop as live, so the
states are those the session would have shown) and keeps only its ``state`` and ``baseline``
events; review notes are the practitioner's words afterwards and do not reach the model.

Thread: any (synchronous and Qt-free; the review window calls it on a thread of its own).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from somafeedback.devices.events import Notification, SourceEvent, TimelineEvent
from somafeedback.regulation.exercises import Exercise
from somafeedback.sessions.review_notes import is_review_note

from .regulation_session import RegulationSession

REANALYZED_KINDS = ("state", "baseline")  # the events a re-analysis gives


def reanalyze_states(timeline: Iterable[Notification | SourceEvent], exercises: dict[str, Exercise],
                     cancelled: Callable[[], bool] = lambda: False) -> list[TimelineEvent] | None:
    """The ``state`` and ``baseline`` events of a recorded timeline (a session's ``timeline``), in order.

    ``cancelled`` is asked before each item: once it says True the work stops and None is returned.
    Best effort: an item the regulation loop cannot take (a damaged recording) ends the
    re-analysis there, with the events found up to it.
    """
    found: list[TimelineEvent] = []
    try:
        session = RegulationSession("practitioner", exercises, found.append)
        for item in timeline:
            if cancelled():
                return None
            if isinstance(item, Notification):
                session.notification(item)
            elif not is_review_note(item):
                session.event(item)
    except Exception:  # noqa: BLE001 - best effort: what was found up to the item that failed
        pass
    return [event for event in found if event.kind in REANALYZED_KINDS]


__all__ = ["REANALYZED_KINDS", "reanalyze_states"]
