"""Per strap: notifications -> beats -> metrics, with the rules for gaps (live and replay).

The one place that decides what a notification or an event means for the beats and the
metric windows of each strap:

* every Heart Rate notification goes through the strap's :class:`HeartRateStream`
  (decoding, contact, beat timing) and each beat through its :class:`MetricsPipeline`;
* a lost link or lost skin contact invalidates every measure at once;
* a gap (link restored) breaks the beat timing and the windows, which then refill;
* in a remote session, the client's relay link lost and back (``remote-link`` events, in both recordings)
  each restart the metric windows: the data held meanwhile follows, but no window spans the change;
* a replay seek starts every strap afresh;
* a notification the stream layers cannot use (bytes off the layout, a PMD frame whose stamp
  broke with the strap's clock) comes out as its :class:`MalformedPacket` (a
  :class:`~somafeedback.devices.events.ClockReset` for a stamp) and feeds nothing else: no
  strap input raises out of here;
* a Polar H10's raw streams go through the strap's :class:`StrapRawSignals` (ECG and
  motion chunks, R-peak beats, breathing); while its ECG streams, the R-peak beats feed the
  metrics instead of the strap's own RR, each checked against the strap's RR by a
  :class:`RrCrossCheck` (a disagreement flags the beat as an artifact);
* while a pacer runs, each of the strap's breathing estimates goes through its
  :class:`PacerFollowing` and the resulting :class:`FollowingEstimate` is an output like any
  other measure (breathing from chest motion; from the ECG only while the strap has given no
  chest-motion estimate since it started or the last seek). The pacer is known from ``pacer``
  timeline events (:func:`pacer_event_data`: its start and every settings change), so a
  replay of the recording computes the same following as the live run; the pacer stopping
  gives one invalid estimate ("the pacer stopped").

The printer, the tests and the desktop app all consume it, so they cannot disagree.

Thread: the loop that delivers the items (synchronous, one call per item).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from typing import Any, Final

from somafeedback.devices.events import (
    Beat,
    ContactChange,
    GapEvent,
    LinkEvent,
    LinkState,
    Notification,
    SourceEvent,
    TimelineEvent,
)
from somafeedback.hrv.artifacts import FlagReason
from somafeedback.devices.gatt_uuids import HEART_RATE_MEASUREMENT
from somafeedback.devices.heart_rate_stream import HeartRateStream, StreamItem
from somafeedback.hrv.pipeline import BeatMetrics, MetricsPipeline, PipelineConfig
from somafeedback.regulation.pacer import Pacer, PacerSettings
from somafeedback.remote.consent import LINK_EVENT as REMOTE_LINK_EVENT
from somafeedback.signals.chest_motion import BreathingEstimate
from somafeedback.signals.pacer_following import FollowingEstimate, PacerFollowing, invalid_estimate
from somafeedback.signals.raw_signals import RawItem, RawSource, StrapRawSignals
from somafeedback.signals.rr_crosscheck import CheckedBeat, RrCrossCheck

Output = StreamItem | BeatMetrics | RawItem | FollowingEstimate

PACER_EVENT: Final = "pacer"  # timeline event: the pacer the client sees (started, changed or stopped)
FOLLOWING_WINDOW_S: Final = 60.0  # s, the window of the pacer following estimate
PACER_STOPPED: Final = "the pacer stopped"  # the reason of the estimate that ends a following


def pacer_event_data(pacer: Pacer | None) -> dict[str, Any]:
    """A ``pacer`` event's data: the whole pacer (its start and every settings change, in
    session seconds), or ``{"running": False}``; :func:`pacer_from_data` rebuilds it exactly."""
    if pacer is None:
        return {"running": False}
    changes = [{"at_s": at_s, "inhale_s": s.inhale_s, "exhale_s": s.exhale_s, "hold_in_s": s.hold_in_s,
                "hold_out_s": s.hold_out_s} for at_s, s in pacer.changes]
    return {"running": True, "breaths_per_min": round(pacer.settings.breaths_per_min, 3), "changes": changes}


def pacer_from_data(data: Mapping[str, Any]) -> Pacer | None:
    """The pacer a ``pacer`` event describes (None: stopped, or data this version cannot read)."""
    changes = data.get("changes") if data.get("running") else None
    if not isinstance(changes, list) or not changes:
        return None
    try:
        steps = [(float(c["at_s"]), PacerSettings(float(c["inhale_s"]), float(c["exhale_s"]),
                                                  float(c.get("hold_in_s", 0.0)), float(c.get("hold_out_s", 0.0))))
                 for c in changes]
        pacer = Pacer(steps[0][1], steps[0][0])
        for at_s, settings in steps[1:]:
            pacer.set_settings(settings, at_s)
    except (KeyError, TypeError, ValueError):
        return None
    return pacer


def _remote_link_changed(event: TimelineEvent) -> bool:
    """The client's link to a remote session's relay was lost or is back (``remote-link``, side client)."""
    return (event.kind == REMOTE_LINK_EVENT and event.data.get("side") == "client"
            and event.data.get("state") in ("lost", "back"))


class LiveAnalysis:
    """Decodes each strap's notifications and, if asked, measures every beat."""

    def __init__(self, metrics: bool = True, config: PipelineConfig | None = None,
                 ahead: RawSource | None = None) -> None:
        """``ahead``: where the straps' R peaks and chest motion come from (None: computed here; set it
        before the first item; :mod:`.raw_ahead`)."""
        self.metrics = metrics
        self.config = config or PipelineConfig()
        self.ahead = ahead
        self.streams: dict[str, HeartRateStream] = {}
        self.pipelines: dict[str, MetricsPipeline] = {}
        self.raw: dict[str, StrapRawSignals] = {}
        self.crosschecks: dict[str, RrCrossCheck] = {}
        self.pacer: Pacer | None = None  # the pacer in force (from the latest ``pacer`` event)
        self.following: dict[str, PacerFollowing] = {}
        self._chest_breathing: set[str] = set()  # straps that gave a chest-motion estimate (preferred to the ECG's)
        self._pacers: list[tuple[int, Pacer | None]] = []  # (host_ns, pacer) of every pacer event known, for seeks

    def learn_pacers(self, events: Iterable[SourceEvent]) -> None:
        """Know the ``pacer`` events of a whole recording beforehand (a replay), so a seek finds
        the pacer in force there even when it started before the replay reached it."""
        for event in events:
            if isinstance(event, TimelineEvent) and event.kind == PACER_EVENT:
                self._remember_pacer(event)

    def _remember_pacer(self, event: TimelineEvent) -> Pacer | None:
        pacer = pacer_from_data(event.data)
        stamps = [ns for ns, _ in self._pacers]
        i = bisect.bisect_left(stamps, event.host_ns)
        if i < len(stamps) and stamps[i] == event.host_ns:
            self._pacers[i] = (event.host_ns, pacer)
        else:
            self._pacers.insert(i, (event.host_ns, pacer))
        return pacer

    def stream(self, strap_id: str) -> HeartRateStream:
        if strap_id not in self.streams:
            self.streams[strap_id] = HeartRateStream(strap_id)
        return self.streams[strap_id]

    def pipeline(self, strap_id: str) -> MetricsPipeline:
        if strap_id not in self.pipelines:
            self.pipelines[strap_id] = MetricsPipeline(self.config)
        return self.pipelines[strap_id]

    def raw_signals(self, strap_id: str) -> StrapRawSignals:
        if strap_id not in self.raw:
            self.raw[strap_id] = StrapRawSignals(strap_id, ahead=self.ahead)
            self.crosschecks[strap_id] = RrCrossCheck()
        return self.raw[strap_id]

    def on_notification(self, notification: Notification) -> list[tuple[str, Output]]:
        """What one notification produced, in order: contact changes, beats (each followed by its metrics)."""
        strap = notification.strap_id
        if notification.characteristic != HEART_RATE_MEASUREMENT:
            return self._on_raw(notification)
        out: list[tuple[str, Output]] = []
        ecg = strap in self.raw and self.raw[strap].ecg_active(notification.host_ns / 1e9)
        if not ecg and self.metrics:  # the ECG stopped: what it left is decided before the strap's RR resume
            out.extend(self._measure(strap, self._drop_pending(strap)))
        for item in self.stream(strap).feed(notification):
            lost_contact = isinstance(item, ContactChange) and item.contact is False
            if lost_contact and self.metrics:  # beats from before the loss come first
                out.extend(self._measure(strap, self._drop_pending(strap)))
            if lost_contact and strap in self.raw:
                self.raw[strap].contact_lost()
            out.append((strap, item))
            if not self.metrics:
                continue
            if isinstance(item, Beat):
                if ecg:  # the ECG times the beats; the strap's RR only check them
                    out.extend(self._measure(strap, self.crosschecks[strap].add_strap(item.t_s, item.rr_ms, item.segment)))
                else:
                    out.append((strap, self.pipeline(strap).push_beat(item.t_s, item.rr_ms, item.segment)))
            elif lost_contact:
                t_s = item.host_ns / 1e9  # no valid beat until contact returns
                out.append((strap, self.pipeline(strap).push_gap(t_s, t_s)))
        return out

    def _on_raw(self, notification: Notification) -> list[tuple[str, Output]]:
        strap = notification.strap_id
        out: list[tuple[str, Output]] = []
        for item in self.raw_signals(strap).feed(notification):
            out.append((strap, item))
            if self.metrics and isinstance(item, Beat):
                out.extend(self._measure(strap, self.crosschecks[strap].add_ecg(item)))
            elif isinstance(item, BreathingEstimate):
                following = self._follow(strap, item)
                if following is not None:
                    out.append((strap, following))
        return out

    def _follow(self, strap: str, estimate: BreathingEstimate) -> FollowingEstimate | None:
        """The breathing against the pacer, after one breathing estimate (None: no pacer, or not a sample)."""
        if estimate.source == "acc":
            self._chest_breathing.add(strap)
        elif strap in self._chest_breathing:
            return None  # chest motion is the better measure while both exist
        if self.pacer is None or not estimate.valid:
            return None
        state = self.pacer.at(estimate.t_s)
        following = self.following.setdefault(strap, PacerFollowing(FOLLOWING_WINDOW_S))
        return following.push(estimate.t_s, estimate.phase, estimate.rate_bpm, state.cycle_fraction,
                              state.settings.breaths_per_min, estimate.source)

    def _set_pacer(self, pacer: Pacer | None, t_s: float) -> list[tuple[str, Output]]:
        """A pacer starts, changes (the following goes on) or stops (one invalid estimate per strap)."""
        self.pacer = pacer
        if pacer is not None:
            return []
        stopped: list[tuple[str, Output]] = [(strap, invalid_estimate(t_s, PACER_STOPPED, 0, FOLLOWING_WINDOW_S))
                                             for strap in self.following]
        self.following.clear()
        return stopped

    def _measure(self, strap: str, checked: list[CheckedBeat]) -> list[tuple[str, BeatMetrics]]:
        """Feed checked ECG beats to the strap's metrics."""
        pipeline = self.pipeline(strap)
        return [
            (strap, pipeline.push_beat(c.beat.t_s, c.beat.rr_ms, c.beat.segment,
                                       FlagReason.DISAGREES_WITH_STRAP if c.agrees is False else None))
            for c in checked
        ]

    def _drop_pending(self, strap: str) -> list[CheckedBeat]:
        """ECG beats still waiting for the strap's RR, decided now with what there is."""
        return self.crosschecks[strap].flush() if strap in self.crosschecks else []

    def on_event(self, event: SourceEvent) -> list[tuple[str, Output]]:
        """Metric snapshots an event forces (everything invalid on a loss or a gap), and the
        following estimates a stopped pacer ends."""
        if isinstance(event, TimelineEvent) and event.kind == "seek":
            self.streams.clear()
            self.pipelines.clear()
            self.raw.clear()
            self.crosschecks.clear()
            self.following.clear()
            self._chest_breathing.clear()
            to_ns = event.data.get("to_ns", event.host_ns)
            i = bisect.bisect_right([ns for ns, _ in self._pacers], to_ns if isinstance(to_ns, int) else event.host_ns)
            self.pacer = self._pacers[i - 1][1] if i else None  # the pacer in force where the replay goes on
            return []
        if isinstance(event, TimelineEvent) and event.kind == PACER_EVENT:
            return self._set_pacer(self._remember_pacer(event), event.host_ns / 1e9)
        if isinstance(event, TimelineEvent) and event.kind.startswith("pmd_") and event.strap_id is not None:
            self.raw_signals(event.strap_id).event(event)
            return []  # a stopped ECG hands over at the strap's next RR (see on_notification)
        if isinstance(event, TimelineEvent) and _remote_link_changed(event):
            # a remote session's link lost or back: what was held follows, but no metric window spans the change
            t_s = event.host_ns / 1e9
            return [(strap, pipeline.push_gap(t_s, t_s)) for strap, pipeline in self.pipelines.items()] if self.metrics else []
        if isinstance(event, GapEvent):
            self.stream(event.strap_id).gap(event)
            if event.strap_id in self.raw:
                self.raw[event.strap_id].event(event)
                self.crosschecks[event.strap_id].reset()
            if self.metrics:
                return [(event.strap_id, self.pipeline(event.strap_id).push_gap(event.start_ns / 1e9, event.end_ns / 1e9))]
        if isinstance(event, LinkEvent) and event.state is LinkState.LOST:
            if event.strap_id in self.raw:
                self.raw[event.strap_id].link_lost()
            if self.metrics:
                t_s = event.host_ns / 1e9  # nothing is valid while the link is down
                flushed = self._measure(event.strap_id, self._drop_pending(event.strap_id))
                return [*flushed, (event.strap_id, self.pipeline(event.strap_id).push_gap(t_s, t_s))]
        return []
