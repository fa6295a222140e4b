"""Prints what straps send as it happens: beats, contact, connection events, gaps, metrics.

A :class:`~somafeedback.devices.events.StrapSink` for the ``stream``, ``record`` and
``replay`` commands, presenting what :class:`~somafeedback.live.analysis.LiveAnalysis`
makes of each item. Text mode is for people; ``--json`` prints one JSON object per line,
each with a ``type`` field. How the breathing follows a recorded pacer (a replay of a session
with ``pacer`` events) prints with the breathing, as ``following`` lines.

Thread: the loop that feeds it (the BLE or replay loop).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any, TextIO

from somafeedback.devices.events import (
    Beat,
    ContactChange,
    GapEvent,
    LinkEvent,
    MalformedPacket,
    Notification,
    SourceEvent,
    StrapInfo,
    TimelineEvent,
)
from somafeedback.signals.chest_motion import BreathingEstimate
from somafeedback.signals.pacer_following import FollowingEstimate
from .analysis import LiveAnalysis, Output
from somafeedback.regulation.methods import rest_comparison_text
from somafeedback.hrv.metric_rows import metrics_row, metrics_text
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.resonance.events import RESULT_EVENT, STEP_EVENT
from somafeedback.resonance.text import result_text, step_text

_CONTACT_TEXT = {True: "yes", False: "NO", None: "n/a"}
_CONTACT_CHANGE = {True: "skin contact", False: "skin contact LOST", None: "strap does not report contact"}


def _timeline_text(event: TimelineEvent) -> str:
    """The human line for a timeline event (state changes and cues get their own wording)."""
    data = event.data
    if event.kind == "state":
        signal = f", {data['signal']}" if data.get("signal") not in (None, "clean") else ""
        return f"{data.get('state')}  ({data.get('reason')}{signal})"
    if event.kind == "cue":
        exercise = f" [{data['exercise']}]" if data.get("exercise") else ""
        return f"{data.get('action')}: {data.get('text')}{exercise}"
    if event.kind == "baseline":
        return (f"HR {data.get('hr_ref', 0):.1f} bpm (SD {data.get('sd_hr', 0):.1f}), "
                f"ln RMSSD {data.get('ln_ref', 0):.2f} (SD {data.get('sd_ln', 0):.2f}), from {data.get('source')}")
    if event.kind == "method":
        return f"{data.get('title')} ({data.get('method')}): {data.get('description')}"
    if event.kind == "movement":
        return f"movement block {data.get('action')} ({data.get('source')})"
    if event.kind == "rest-comparison":
        return rest_comparison_text(data)
    if event.kind == "pacer":
        return f"pacer at {data.get('breaths_per_min')} breaths/min" if data.get("running") else "pacer stopped"
    if event.kind == "pacer-following":
        return _following_text(data)
    if event.kind == STEP_EVENT:
        return step_text(data)
    if event.kind == RESULT_EVENT:
        return result_text(data)
    if event.kind in _CLIENT_MEASURES:
        return f"{_CLIENT_MEASURES[event.kind](data)} (computed on the client's computer)"
    if event.kind == "pmd_started":
        rate = f"{data.get('sample_rate')} Hz"
        extra = f", ±{data.get('range')} g" if data.get("range") else ""
        return f"raw {str(data.get('measurement')).upper()} streaming at {rate}{extra}"
    if event.kind == "pmd_stopped":
        by = {"app": "stopped", "strap": "stopped by the strap", "link": "ended with the link"}.get(str(data.get("by")), "stopped")
        return f"raw {str(data.get('measurement')).upper()} {by}"
    return str(data.get("label") or data.get("text") or "")


def _following_text(data: Any) -> str:
    """A following estimate (as recorded) in words: the values and their window, or why there are none."""
    if not data.get("valid"):
        return f"following the pacer not measured: {data.get('reason')}"
    verdict = "following the pacer" if data.get("following") else "not following the pacer"
    return (f"{verdict} (phase locking {data.get('phase_locking'):.2f}, lag {data.get('mean_lag_s'):+.1f} s, "
            f"rate {data.get('rate_difference_bpm'):+.1f} breaths/min, {data.get('window_s'):g} s)")


def _figure(data: Any, key: str, valid: bool, fmt: str, unit: str = "") -> str:
    value = data.get(key)
    return f"{value:{fmt}}{unit}" if valid and isinstance(value, (int, float)) else "--"


def _client_metrics_text(data: Any) -> str:
    """A ``remote-metrics`` event (a metrics row the client's computer measured) in one line."""
    time_valid = bool(data.get("time_valid"))
    window = data.get("time_window_s")
    reason = "" if time_valid else f": {data.get('time_reason')}"
    return (f"HR {_figure(data, 'hr_bpm', bool(data.get('hr_valid')), '.1f', ' bpm')} | "
            f"RMSSD {_figure(data, 'rmssd_ms', time_valid, '.1f', ' ms')} SDNN {_figure(data, 'sdnn_ms', time_valid, '.1f', ' ms')}"
            f" pNN50 {_figure(data, 'pnn50_pct', time_valid, '.1f', ' %')}"
            f" [{window if isinstance(window, (int, float)) else 0:.0f} s{reason}]")


def _client_breathing_text(data: Any) -> str:
    """A ``remote-breathing`` event in words: the rate, or why there is none."""
    rate = _figure(data, "rate_bpm", bool(data.get("valid")), ".1f", " breaths/min")
    source = "chest motion" if data.get("source") == "acc" else "ECG"
    return f"breathing {rate if data.get('valid') else data.get('reason')} (from {source})"


_CLIENT_MEASURES: dict[str, Callable[[Any], str]] = {"remote-metrics": _client_metrics_text,
                                                     "remote-breathing": _client_breathing_text}

# a timeline event's data key that would overwrite a field of the line gets another name
_RENAMED_DATA_KEYS = {"type": "measurement_type"}  # pmd_*: the PMD measurement type (0 ECG, 2 ACC)
_LINE_FIELDS = ("type", "strap", "t_s")


def timeline_record(event: TimelineEvent) -> dict[str, Any]:
    """The ``--json`` line of a timeline event: ``type`` (the event kind), ``strap``, ``t_s``,
    then the event's data. A data key that clashes with those three is renamed (``type`` ->
    ``measurement_type``, any other -> ``data_<key>``), so ``type`` is always the line's type."""
    record: dict[str, Any] = {"type": event.kind, "strap": event.strap_id, "t_s": event.host_ns / 1e9}
    for key, value in dict(event.data).items():
        if key in _LINE_FIELDS:
            key = _RENAMED_DATA_KEYS.get(key, f"data_{key}")
        record[key] = value
    return record


class StreamPrinter:
    """Prints beats and events of every strap, and the metric set when asked."""

    def __init__(
        self,
        json_lines: bool = False,
        label_straps: bool = False,
        metrics: bool = False,
        beats: bool = True,
        out: TextIO | None = None,
    ) -> None:
        self.json_lines = json_lines
        self.label_straps = label_straps  # suffix text lines with the strap id (several straps)
        self.show_beats = beats  # print every beat (off: events only, e.g. while recording)
        self.analysis = LiveAnalysis(metrics=metrics)
        self.out = out  # None: whatever sys.stdout is when printing
        self.on_output_closed: Callable[[], object] | None = None  # e.g. stop streaming when piped into `head`
        self.output_closed = False
        self.flush_lines = True  # flush after every line (live); False: the caller calls flush() at the end (replay at max speed)
        self._presenters: dict[type, Callable[[str, Any], None] | None] = {}  # output type -> how it prints (None: not at all)

    # -- StrapSink ----------------------------------------------------------------------
    def notification(self, notification: Notification) -> None:
        for strap_id, output in self.analysis.on_notification(notification):
            self._print_output(strap_id, output)

    def event(self, event: SourceEvent) -> None:
        self._print_event(event)
        for strap_id, metrics in self.analysis.on_event(event):
            self._print_output(strap_id, metrics)

    def output(self, strap_id: str, item: Output) -> None:
        """Print one analysis output made elsewhere (the engine's, in ``remote host`` with your own strap)."""
        self._print_output(strap_id, item)

    # -- presentation -------------------------------------------------------------------
    def _print_event(self, event: SourceEvent) -> None:
        if isinstance(event, GapEvent):
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
        elif isinstance(event, StrapInfo):
            battery = f"{event.battery_percent} %" if event.battery_percent is not None else "unknown"
            self._emit(
                {"type": "strap", "strap": event.strap_id, "t_s": event.host_ns / 1e9, "name": event.name,
                 "address": event.address, "battery_percent": event.battery_percent, "body_location": event.body_location},
                f"{event.host_ns / 1e9:9.3f} s  strap   {event.name} [{event.address}] battery {battery}, "
                f"worn on {event.body_location or 'unknown'}",
                event.strap_id,
            )
        elif isinstance(event, TimelineEvent):
            label = _timeline_text(event)
            self._emit(
                timeline_record(event),
                f"{event.host_ns / 1e9:9.3f} s  {event.kind:<7} {label}".rstrip(),
                event.strap_id or "",
            )

    def flush(self) -> None:
        """Write out what is buffered (after a run with ``flush_lines`` off)."""
        if self.output_closed:
            return
        try:
            (self.out or sys.stdout).flush()
        except BrokenPipeError:
            self._closed_by_reader()

    def _print_output(self, strap_id: str, item: Output) -> None:
        """Print one analysis output (ECG and motion chunks print nothing)."""
        kind = type(item)
        try:
            present = self._presenters[kind]
        except KeyError:  # first of its type: found once by the isinstance chain, then by a dict lookup
            present = self._presenters[kind] = self._presenter(item)
        if present is not None:
            present(strap_id, item)

    def _presenter(self, item: Output) -> Callable[[str, Any], None] | None:
        if isinstance(item, BeatMetrics):
            return self._print_metrics
        if isinstance(item, Beat):
            return self._print_beat
        if isinstance(item, BreathingEstimate):
            return self._print_breathing
        if isinstance(item, FollowingEstimate):
            return self._print_following
        if isinstance(item, ContactChange):
            return self._print_contact
        if isinstance(item, MalformedPacket):
            return self._print_malformed
        return None

    # Each presenter builds only the form that prints: the --json record or the text line.
    def _print_metrics(self, strap_id: str, item: BeatMetrics) -> None:
        if self.json_lines:
            self._emit_record({"type": "metrics", "strap": strap_id, **metrics_row(item)})
        else:
            self._emit_text(f"{item.t_s:9.3f} s  metrics {metrics_text(item)}", strap_id)

    def _print_beat(self, strap_id: str, item: Beat) -> None:
        if not self.show_beats:
            return
        hr = 60000.0 / item.rr_ms if item.rr_ms > 0 else 0.0
        if self.json_lines:
            self._emit_record(
                {"type": "beat", "strap": item.strap_id, "t_s": round(item.t_s, 6), "rr_ms": item.rr_ms,
                 "rr_1024": item.rr_1024, "hr_bpm": round(hr, 1), "strap_bpm": item.strap_bpm,
                 "contact": item.contact, "segment": item.segment, "seq": item.seq, "source": item.source,
                 "arrival_s": item.arrival_ns / 1e9})
        else:
            self._emit_text(
                f"{item.t_s:9.3f} s  {'beat' if item.source == 'strap' else 'ecgbeat':<7} RR {item.rr_ms:7.1f} ms  "
                f"HR {hr:5.1f} bpm  contact {_CONTACT_TEXT[item.contact]}",
                item.strap_id,
            )

    def _print_breathing(self, strap_id: str, item: BreathingEstimate) -> None:
        if not self.show_beats:
            return
        if self.json_lines:
            self._emit_record(
                {"type": "breathing", "strap": strap_id, "t_s": round(item.t_s, 3), "source": item.source,
                 "valid": item.valid, "rate_bpm": item.rate_bpm if item.valid else None,
                 "phase": item.phase if item.valid else None,
                 "amplitude_mg": item.amplitude_mg if item.valid and item.source == "acc" else None,
                 "moving": item.moving, "reason": item.reason})
        else:
            values = (f"{item.rate_bpm:4.1f} breaths/min, phase {item.phase:.2f}"
                      + (f", depth {item.amplitude_mg:.0f} mG" if item.source == "acc" else "")
                      if item.valid else item.reason)
            self._emit_text(
                f"{item.t_s:9.3f} s  breath  {values} (from {'chest motion' if item.source == 'acc' else 'ECG'})",
                strap_id,
            )

    def _print_following(self, strap_id: str, item: FollowingEstimate) -> None:
        if not self.show_beats:
            return
        data = item.as_dict()
        if self.json_lines:
            self._emit_record({"type": "following", "strap": strap_id, "t_s": round(item.t_s, 3), **data})
        else:
            self._emit_text(f"{item.t_s:9.3f} s  follow  {_following_text(data)}", strap_id)

    def _print_contact(self, strap_id: str, item: ContactChange) -> None:
        self._emit(
            {"type": "contact", "strap": item.strap_id, "t_s": item.host_ns / 1e9, "contact": item.contact},
            f"{item.host_ns / 1e9:9.3f} s  contact {_CONTACT_CHANGE[item.contact]}",
            item.strap_id,
        )

    def _print_malformed(self, strap_id: str, item: MalformedPacket) -> None:
        self._emit(
            {"type": "malformed", "strap": item.strap_id, "t_s": item.host_ns / 1e9, "seq": item.seq,
             "payload_hex": item.payload.hex(), "error": item.error},
            f"{item.host_ns / 1e9:9.3f} s  skipped a malformed packet: {item.error}",
            item.strap_id,
        )

    def _emit(self, record: dict[str, Any], text: str, strap_id: str) -> None:
        if self.json_lines:
            self._emit_record(record)
        else:
            self._emit_text(text, strap_id)

    def _emit_record(self, record: dict[str, Any]) -> None:
        """One ``--json`` line."""
        self._write_line(json.dumps(record))

    def _emit_text(self, text: str, strap_id: str) -> None:
        """One text line, suffixed with the strap id when several straps print."""
        self._write_line(f"{text}  [{strap_id}]" if self.label_straps and strap_id else text)

    def _write_line(self, line: str) -> None:
        if self.output_closed:
            return
        try:
            print(line, file=self.out or sys.stdout, flush=self.flush_lines)
        except BrokenPipeError:  # the reader (e.g. `head`) has all it wanted
            self._closed_by_reader()

    def _closed_by_reader(self) -> None:
        self.output_closed = True
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        if self.on_output_closed is not None:
            self.on_output_closed()
