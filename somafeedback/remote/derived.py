"""What the client's own computer derives for the sharing levels ``state`` and ``metrics``.

At ``state`` and ``metrics`` no strap data leave the client's computer (:mod:`.consent`), so the
practitioner's analysis has nothing to compute from: the client's computer runs the analysis on its
strap and :class:`ClientDerived` turns its results into timeline events for :class:`~.session_client.RemoteClient`:

* ``remote-metrics`` — one per metric set (:class:`~somafeedback.hrv.pipeline.BeatMetrics`), with the
  columns of a recording's metrics row (:func:`~somafeedback.hrv.metric_rows.metrics_row`: HR, RMSSD,
  SDNN, pNN50, ..., each with its window, validity and reason); the event's time is the row's ``t_s``;
* ``remote-breathing`` — the breathing rate (:class:`~somafeedback.signals.chest_motion.BreathingEstimate`),
  one per strap every :data:`BREATHING_EVERY_S` or when its validity or reason changes; from the chest
  motion when the strap gives it, else from the ECG (as the analysis prefers);
* ``state`` and ``baseline`` — the regulation model's events (:data:`DERIVED_KINDS`) as the client's
  regulation session emits them.

Each carries ``computed_by: "client"`` in its data: the numbers were computed on the client's computer.
The consent filter decides what leaves (``remote-metrics``/``remote-breathing``/``baseline`` are
``metrics``, ``state`` is ``state`` and keeps only the band at level ``state``), and :func:`is_derived`
items leave only at :data:`DERIVED_LEVELS`: at ``beats`` and ``raw`` the practitioner computes them from
the notifications, so they are not sent twice. A level change applies from the next item on.

Pure conversions; :class:`ClientDerived` runs on the loop that feeds it (its ``send`` must be thread-safe
when that is not the session's loop: :meth:`RemoteClient.submit` is).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, Final

from somafeedback.devices.events import Notification, TimelineEvent
from somafeedback.hrv.metric_rows import metrics_row
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.signals.chest_motion import BreathingEstimate

from .consent import BREATHING_EVENT, CLIENT, COMPUTED_BY, METRICS_EVENT, SharingLevel

DERIVED_LEVELS: Final = frozenset({SharingLevel.STATE, SharingLevel.METRICS})  # where derived items are sent
DERIVED_KINDS: Final = ("state", "baseline")  # the regulation session's events sent as derived items
BREATHING_EVERY_S: Final = 1.0  # s of session time between two breathing events of a strap that say the same


def is_derived(item: object) -> bool:
    """Whether ``item`` is a timeline event the client's computer derived (``computed_by: "client"``)."""
    return isinstance(item, TimelineEvent) and item.data.get(COMPUTED_BY) == CLIENT


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def metrics_event(strap_id: str, metrics: BeatMetrics, wall_time: float) -> TimelineEvent:
    """A metric set as a ``remote-metrics`` event at its beat's time (the row's ``t_s`` is the event's time)."""
    row = {key: value for key, value in metrics_row(metrics).items() if key != "t_s"}
    return TimelineEvent(METRICS_EVENT, round(metrics.t_s * 1e9), wall_time, {**row, COMPUTED_BY: CLIENT}, strap_id)


def breathing_data(estimate: BreathingEstimate) -> dict[str, Any]:
    """A breathing estimate's values (None where not valid), its source and why it is not valid."""
    valid = estimate.valid
    return {"source": estimate.source, "valid": valid, "rate_bpm": _finite(estimate.rate_bpm) if valid else None,
            "phase": _finite(estimate.phase) if valid else None,
            "amplitude_mg": _finite(estimate.amplitude_mg) if valid and estimate.source == "acc" else None,
            "moving": estimate.moving, "reason": estimate.reason}


def breathing_event(strap_id: str, estimate: BreathingEstimate, wall_time: float) -> TimelineEvent:
    """A breathing estimate as a ``remote-breathing`` event at its time."""
    return TimelineEvent(BREATHING_EVENT, round(estimate.t_s * 1e9), wall_time,
                         {**breathing_data(estimate), COMPUTED_BY: CLIENT}, strap_id)


class ClientDerived:
    """Turns the client's analysis outputs and regulation events into derived items and hands them to ``send``.

    Feed it what a :class:`~somafeedback.live.analysis.LiveAnalysis` made of each notification or event
    (:meth:`outputs`) and the regulation session's events (:meth:`regulation_event`). Thread: the loop
    that feeds the analysis.
    """

    def __init__(self, send: Callable[[TimelineEvent], None]) -> None:
        self.send = send
        self._clock = (0, 0.0)  # (host_ns, wall_time) of the latest strap item: maps session time to wall time
        self._breathing: dict[str, BreathingEstimate] = {}  # the latest breathing estimate sent, per strap
        self._chest: set[str] = set()  # straps that gave a chest-motion estimate (preferred to the ECG's)

    def wall_at(self, t_s: float) -> float:
        """The wall time at session time ``t_s`` (from the latest strap item)."""
        host_ns, wall = self._clock
        return wall + (t_s - host_ns / 1e9)

    def outputs(self, outputs: Iterable[tuple[str, object]], notification: Notification | None = None) -> None:
        """What the analysis made of one notification (its clock maps session time to wall time from now on)
        or of an event (``notification`` None)."""
        if notification is not None:
            self._clock = (notification.host_ns, notification.wall_time)
        for strap_id, output in outputs:
            if isinstance(output, BeatMetrics):
                self.send(metrics_event(strap_id, output, self.wall_at(output.t_s)))
            elif isinstance(output, BreathingEstimate) and self._breathing_due(strap_id, output):
                self._breathing[strap_id] = output
                self.send(breathing_event(strap_id, output, self.wall_at(output.t_s)))

    def regulation_event(self, event: TimelineEvent) -> None:
        """One of the regulation session's events: sent (marked as the client's) when it is a state or baseline."""
        if event.kind in DERIVED_KINDS:
            self.send(derived_copy(event))

    def _breathing_due(self, strap_id: str, estimate: BreathingEstimate) -> bool:
        if estimate.source == "acc":
            self._chest.add(strap_id)
        elif strap_id in self._chest:
            return False  # chest motion is the better measure while both exist
        last = self._breathing.get(strap_id)
        return (last is None or (last.valid, last.reason, last.source) != (estimate.valid, estimate.reason, estimate.source)
                or not 0.0 <= estimate.t_s - last.t_s < BREATHING_EVERY_S)


def derived_copy(event: TimelineEvent) -> TimelineEvent:
    """``event`` with ``computed_by: "client"`` in its data."""
    return TimelineEvent(event.kind, event.host_ns, event.wall_time, {**event.data, COMPUTED_BY: CLIENT}, event.strap_id)
