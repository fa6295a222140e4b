"""Per strap: notifications -> beats -> metrics, with the rules for gaps (live and replay).

The one place that decides what a notification or an event means for the beats and the
metric windows of each strap:

* every Heart Rate notification goes through the strap's :class:`HeartRateStream`
  (decoding, contact, beat timing) and each beat through its :class:`MetricsPipeline`;
* a lost link or lost skin contact invalidates every measure at once;
* a gap (link restored) breaks the beat timing and the windows, which then refill;
* a replay seek starts every strap afresh;
* a Polar H10's raw streams go through the strap's :class:`StrapRawSignals` (ECG and
  motion chunks, R-peak beats, breathing); while its ECG streams, the R-peak beats feed the
  metrics instead of the strap's own RR, each checked against the strap's RR by a
  :class:`RrCrossCheck` (a disagreement flags the beat as an artifact).

The printer, the tests and the desktop app all consume it, so they cannot disagree.

Thread: the loop that delivers the items (synchronous, one call per item).
"""

from __future__ import annotations

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
from somafeedback.signals.raw_signals import RawItem, StrapRawSignals
from somafeedback.signals.rr_crosscheck import CheckedBeat, RrCrossCheck

Output = StreamItem | BeatMetrics | RawItem


class LiveAnalysis:
    """Decodes each strap's notifications and, if asked, measures every beat."""

    def __init__(self, metrics: bool = True, config: PipelineConfig | None = None) -> None:
        self.metrics = metrics
        self.config = config or PipelineConfig()
        self.streams: dict[str, HeartRateStream] = {}
        self.pipelines: dict[str, MetricsPipeline] = {}
        self.raw: dict[str, StrapRawSignals] = {}
        self.crosschecks: dict[str, RrCrossCheck] = {}

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
            self.raw[strap_id] = StrapRawSignals(strap_id)
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
        return out

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

    def on_event(self, event: SourceEvent) -> list[tuple[str, BeatMetrics]]:
        """Metric snapshots an event forces (everything invalid on a loss or a gap)."""
        if isinstance(event, TimelineEvent) and event.kind == "seek":
            self.streams.clear()
            self.pipelines.clear()
            self.raw.clear()
            self.crosschecks.clear()
            return []
        if isinstance(event, TimelineEvent) and event.kind.startswith("pmd_") and event.strap_id is not None:
            self.raw_signals(event.strap_id).event(event)
            return []  # a stopped ECG hands over at the strap's next RR (see on_notification)
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
