"""Prints what straps send as it happens: beats, contact, connection events, gaps.

A :class:`~somafeedback.devices.events.StrapSink` for the ``stream`` command. Text mode is
for people; ``--json`` prints one JSON object per line, each with a ``type`` field.

Thread: the BLE loop (it is the sink the supervisors call).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from .devices.events import (
    Beat,
    ContactChange,
    GapEvent,
    LinkEvent,
    LinkState,
    MalformedPacket,
    Notification,
    SourceEvent,
    StrapInfo,
)
from .devices.heart_rate_stream import HeartRateStream, StreamItem

if TYPE_CHECKING:
    from .pipeline import BeatMetrics, MetricsPipeline

_CONTACT_TEXT = {True: "yes", False: "NO", None: "n/a"}


class StreamPrinter:
    """Decodes each strap's notifications and prints beats and events."""

    def __init__(
        self, json_lines: bool = False, label_straps: bool = False, metrics: bool = False, out: TextIO | None = None
    ) -> None:
        self.json_lines = json_lines
        self.label_straps = label_straps  # suffix text lines with the strap id (several straps)
        self.metrics = metrics  # run each strap's beats through the metric pipeline and print the set
        self.on_output_closed: Callable[[], None] | None = None  # e.g. stop streaming when piped into `head`
        self.output_closed = False
        self.out = out  # None: whatever sys.stdout is when printing
        self.streams: dict[str, HeartRateStream] = {}
        self.pipelines: dict[str, MetricsPipeline] = {}
        self.beats = 0

    def _stream(self, strap_id: str) -> HeartRateStream:
        if strap_id not in self.streams:
            self.streams[strap_id] = HeartRateStream(strap_id)
        return self.streams[strap_id]

    def _pipeline(self, strap_id: str) -> MetricsPipeline:
        if strap_id not in self.pipelines:
            from .pipeline import MetricsPipeline  # scipy loads only when metrics are asked for

            self.pipelines[strap_id] = MetricsPipeline()
        return self.pipelines[strap_id]

    def _print_metrics(self, strap_id: str, metrics: BeatMetrics) -> None:
        from .metrics_output import metrics_row, metrics_text

        self._emit({"type": "metrics", "strap": strap_id, **metrics_row(metrics)},
                   f"{metrics.t_s:9.3f} s  metrics {metrics_text(metrics)}", strap_id)

    # -- StrapSink ----------------------------------------------------------------------
    def notification(self, notification: Notification) -> None:
        for item in self._stream(notification.strap_id).feed(notification):
            self._print_item(item)

    def event(self, event: SourceEvent) -> None:
        if isinstance(event, GapEvent):
            self._stream(event.strap_id).gap(event)
            if self.metrics:
                self._print_metrics(event.strap_id, self._pipeline(event.strap_id).push_gap(event.start_ns / 1e9, event.end_ns / 1e9))
            self._emit(
                {"type": "gap", "strap": event.strap_id, "start_s": event.start_ns / 1e9,
                 "end_s": event.end_ns / 1e9, "duration_s": round(event.duration_s, 3)},
                f"{event.end_ns / 1e9:9.3f} s  gap     no data for {event.duration_s:.1f} s "
                f"({event.start_ns / 1e9:.1f}-{event.end_ns / 1e9:.1f} s)",
                event.strap_id,
            )
        elif isinstance(event, LinkEvent):
            detail = f" ({event.detail})" if event.detail else ""
            self._emit(
                {"type": "link", "strap": event.strap_id, "t_s": event.host_ns / 1e9, "state": str(event.state),
                 "attempt": event.attempt, "detail": event.detail},
                f"{event.host_ns / 1e9:9.3f} s  link    {event.state}{detail}",
                event.strap_id,
            )
            if self.metrics and event.state is LinkState.LOST:  # nothing is valid while the link is down
                t_s = event.host_ns / 1e9
                self._print_metrics(event.strap_id, self._pipeline(event.strap_id).push_gap(t_s, t_s))
        elif isinstance(event, StrapInfo):
            battery = f"{event.battery_percent} %" if event.battery_percent is not None else "unknown"
            self._emit(
                {"type": "strap", "strap": event.strap_id, "t_s": event.host_ns / 1e9, "name": event.name,
                 "address": event.address, "battery_percent": event.battery_percent, "body_location": event.body_location},
                f"{event.host_ns / 1e9:9.3f} s  strap   {event.name} [{event.address}] battery {battery}, "
                f"worn on {event.body_location or 'unknown'}",
                event.strap_id,
            )

    # -- output -------------------------------------------------------------------------
    def _print_item(self, item: StreamItem) -> None:
        if isinstance(item, Beat):
            self.beats += 1
            hr = 60000.0 / item.rr_ms if item.rr_ms > 0 else 0.0
            self._emit(
                {"type": "beat", "strap": item.strap_id, "t_s": round(item.t_s, 6), "rr_ms": item.rr_ms,
                 "rr_1024": item.rr_1024, "hr_bpm": round(hr, 1), "strap_bpm": item.strap_bpm,
                 "contact": item.contact, "segment": item.segment, "seq": item.seq},
                f"{item.t_s:9.3f} s  beat    RR {item.rr_ms:7.1f} ms  HR {hr:5.1f} bpm  "
                f"contact {_CONTACT_TEXT[item.contact]}",
                item.strap_id,
            )
            if self.metrics:
                self._print_metrics(item.strap_id, self._pipeline(item.strap_id).push_beat(item.t_s, item.rr_ms, item.segment))
        elif isinstance(item, ContactChange):
            text = {True: "skin contact", False: "skin contact LOST", None: "strap does not report contact"}
            self._emit(
                {"type": "contact", "strap": item.strap_id, "t_s": item.host_ns / 1e9, "contact": item.contact},
                f"{item.host_ns / 1e9:9.3f} s  contact {text[item.contact]}",
                item.strap_id,
            )
            if self.metrics and item.contact is False:  # no valid beats until contact returns
                t_s = item.host_ns / 1e9
                self._print_metrics(item.strap_id, self._pipeline(item.strap_id).push_gap(t_s, t_s))
        elif isinstance(item, MalformedPacket):
            self._emit(
                {"type": "malformed", "strap": item.strap_id, "t_s": item.host_ns / 1e9, "seq": item.seq,
                 "payload_hex": item.payload.hex(), "error": item.error},
                f"{item.host_ns / 1e9:9.3f} s  skipped a malformed packet: {item.error}",
                item.strap_id,
            )

    def _emit(self, record: dict[str, Any], text: str, strap_id: str) -> None:
        if self.output_closed:
            return
        if self.json_lines:
            line = json.dumps(record)
        else:
            line = f"{text}  [{strap_id}]" if self.label_straps else text
        try:
            print(line, file=self.out or sys.stdout, flush=True)
        except BrokenPipeError:  # the reader (e.g. `head`) has all it wanted
            self.output_closed = True
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
            if self.on_output_closed is not None:
                self.on_output_closed()
