"""Per strap: notifications -> beats -> metrics, with the rules for gaps (live and replay).

The one place that decides what a notification or an event means for the beats and the
metric windows of each strap:

* every Heart Rate notification goes through the strap's :class:`HeartRateStream`
  (decoding, contact, beat timing) and each beat through its :class:`MetricsPipeline`;
* a lost link or lost skin contact invalidates every measure at once;
* a gap (link restored) breaks the beat timing and the windows, which then refill;
* a replay seek starts every strap afresh.

The printer, the tests and the desktop app all consume it, so they cannot disagree.

Thread: the loop that delivers the items (synchronous, one call per item).
"""

from __future__ import annotations

from .devices.events import (
    Beat,
    ContactChange,
    GapEvent,
    LinkEvent,
    LinkState,
    Notification,
    SourceEvent,
    TimelineEvent,
)
from .devices.heart_rate_stream import HeartRateStream, StreamItem
from .pipeline import BeatMetrics, MetricsPipeline, PipelineConfig

Output = StreamItem | BeatMetrics


class LiveAnalysis:
    """Decodes each strap's notifications and, if asked, measures every beat."""

    def __init__(self, metrics: bool = True, config: PipelineConfig | None = None) -> None:
        self.metrics = metrics
        self.config = config or PipelineConfig()
        self.streams: dict[str, HeartRateStream] = {}
        self.pipelines: dict[str, MetricsPipeline] = {}

    def stream(self, strap_id: str) -> HeartRateStream:
        if strap_id not in self.streams:
            self.streams[strap_id] = HeartRateStream(strap_id)
        return self.streams[strap_id]

    def pipeline(self, strap_id: str) -> MetricsPipeline:
        if strap_id not in self.pipelines:
            self.pipelines[strap_id] = MetricsPipeline(self.config)
        return self.pipelines[strap_id]

    def on_notification(self, notification: Notification) -> list[tuple[str, Output]]:
        """What one notification produced, in order: contact changes, beats (each followed by its metrics)."""
        strap = notification.strap_id
        out: list[tuple[str, Output]] = []
        for item in self.stream(strap).feed(notification):
            out.append((strap, item))
            if not self.metrics:
                continue
            if isinstance(item, Beat):
                out.append((strap, self.pipeline(strap).push_beat(item.t_s, item.rr_ms, item.segment)))
            elif isinstance(item, ContactChange) and item.contact is False:
                t_s = item.host_ns / 1e9  # no valid beat until contact returns
                out.append((strap, self.pipeline(strap).push_gap(t_s, t_s)))
        return out

    def on_event(self, event: SourceEvent) -> list[tuple[str, BeatMetrics]]:
        """Metric snapshots an event forces (everything invalid on a loss or a gap)."""
        if isinstance(event, TimelineEvent) and event.kind == "seek":
            self.streams.clear()
            self.pipelines.clear()
            return []
        if isinstance(event, GapEvent):
            self.stream(event.strap_id).gap(event)
            if self.metrics:
                return [(event.strap_id, self.pipeline(event.strap_id).push_gap(event.start_ns / 1e9, event.end_ns / 1e9))]
        if isinstance(event, LinkEvent) and event.state is LinkState.LOST and self.metrics:
            t_s = event.host_ns / 1e9  # nothing is valid while the link is down
            return [(event.strap_id, self.pipeline(event.strap_id).push_gap(t_s, t_s))]
        return []
