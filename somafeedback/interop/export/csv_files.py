"""The ``csv`` export: one CSV table per stream (notifications, beats, events, metrics) and the manifest.

``csv``: one table per stream in the folder ``out`` (UTF-8 without BOM, comma separated, CRLF, a header row)
    * ``<stem>_notifications.csv``: every notification in timeline order: ``timeline_index``
      (1-based position in the session's timeline of notifications and events together),
      ``strap``, ``seq``, ``characteristic`` (UUID), ``time_s``, ``wall_time_utc``,
      ``payload_hex`` (the bytes as received, lowercase hex).
    * ``<stem>_<strap>_beats.csv`` per strap: ``time_s``, ``wall_time_utc``, ``rr_ms``,
      ``rr_1024`` (raw 1/1024 s ticks), ``flagged`` (the live artifact rule), ``segment``,
      ``contact`` (empty: the strap cannot tell), ``strap_bpm`` (the HR field of the packet),
      ``seq`` (the notification that carried the beat), ``source`` (``ecg``: timed by R peaks in the
      ECG; ``strap``: the strap's RR). The beats are the session's one beat series
      (:func:`~somafeedback.sessions.beat_series.session_beats`), the ones replay and the report measure.
    * ``<stem>_events.csv``: ``timeline_index``, ``time_s``, ``wall_time_utc``, ``kind``,
      ``strap``, ``details`` (JSON). Kinds: the recorded events (``link``: state, attempt,
      detail; ``gap``: start_s, end_s, duration_s, and time_s is the start; ``strap``: name,
      address, battery_percent, body_location; ``marker``, ``note``, ``cue``, ``state``,
      ``settings``, ``seek``: their data) and, decoded from the notifications (with the
      timeline_index of the notification), ``contact`` (``{"contact": true|false|null}``) and
      ``malformed`` (``{"seq", "error", "payload_hex"}``). Rows in timeline order.
    * ``<stem>_<strap>_metrics.csv`` per strap: the columns of
      :data:`~somafeedback.hrv.metric_rows.METRIC_COLUMNS`, one row per beat, from a fresh
      :class:`~somafeedback.hrv.pipeline.MetricsPipeline` fed every beat (``t_s`` is the time above)
      with ``push_gap`` at each gap event of the strap and at every other change of timing
      segment (contact loss, re-anchoring).
    * ``<stem>_manifest.json``: the manifest (de-identified: see
      :mod:`somafeedback.interop.export._deidentify`), UTF-8, indented.

    Cells: booleans ``true``/``false``, missing values empty, floats in Python's shortest
    round-trip form (``rr_ms`` is exact), times with 6 decimals.

Thread: any.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import numpy as np

from somafeedback.devices.events import GapEvent, LinkEvent, Notification, StrapInfo
from somafeedback.hrv.metric_rows import METRIC_COLUMNS, metrics_row
from somafeedback.hrv.pipeline import MetricsPipeline
from somafeedback.sessions.beats import StrapBeats
from ._context import Context
from ._deidentify import DEID_DROPPED_KEYS
from ._writing import Outputs, Progress, dedupe, open_new_text, safe_name

METRICS_WORK: Final = 20  # work units of one beat through the metrics pipeline (vs 1 per CSV row)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return repr(number) if math.isfinite(number) else ""
    return str(value)


def _open_csv(path: Path) -> Any:
    return open_new_text(path, newline="")


def _event_rows(ctx: Context) -> Iterator[tuple[int, list[Any]]]:
    """(timeline_index, row) of every recorded event and every decoded contact change / malformed packet."""
    by_seq: dict[tuple[str, int], int] = {}  # (strap, seq) -> timeline index of the notification
    by_arrival: dict[tuple[str, int], int] = {}  # (strap, host_ns) -> timeline index of the notification
    for index, item in enumerate(ctx.session.timeline, start=1):
        if isinstance(item, Notification):
            by_seq.setdefault((item.strap_id, item.seq), index)
            by_arrival.setdefault((item.strap_id, item.host_ns), index)
            continue
        if isinstance(item, GapEvent):
            start, end = ctx.rel_s(item.start_ns), ctx.rel_s(item.end_ns)
            details: dict[str, Any] = {"start_s": round(start, 6), "end_s": round(end, 6),
                                       "duration_s": round(item.duration_s, 6)}
            row = [start, ctx.wall_at(start), "gap", item.strap_id, details]
        elif isinstance(item, LinkEvent):
            details = {"state": str(item.state), "attempt": item.attempt, "detail": ctx.scrub(item.detail)}
            row = [ctx.rel_s(item.host_ns), ctx.recorded_wall(item.wall_time, item.host_ns), "link", item.strap_id, details]
        elif isinstance(item, StrapInfo):
            details = {"name": item.name, "address": item.address, "battery_percent": item.battery_percent,
                       "body_location": item.body_location}
            if ctx.deidentify:
                details = {k: v for k, v in details.items() if k not in DEID_DROPPED_KEYS}
            row = [ctx.rel_s(item.host_ns), ctx.wall_at(ctx.rel_s(item.host_ns)), "strap", item.strap_id, details]
        else:
            row = [ctx.rel_s(item.host_ns), ctx.recorded_wall(item.wall_time, item.host_ns), item.kind,
                   item.strap_id, ctx.event_details(item)]
        yield index, row
    for record in ctx.beats.values():
        for change in record.contact_changes:
            rel = ctx.rel_s(change.host_ns)
            yield by_arrival.get((record.strap_id, change.host_ns), 0), [
                rel, ctx.wall_at(rel), "contact", record.strap_id, {"contact": change.contact}]
        for packet in record.malformed:
            rel = ctx.rel_s(packet.host_ns)
            yield by_seq.get((record.strap_id, packet.seq), 0), [
                rel, ctx.wall_at(rel), "malformed", record.strap_id,
                {"seq": packet.seq, "error": packet.error, "payload_hex": packet.payload.hex()}]


def _metrics_rows(ctx: Context, record: StrapBeats, progress: Progress) -> Iterator[dict[str, Any]]:
    """One metrics row per beat from a fresh pipeline, with a gap at each gap event and segment change."""
    gaps = sorted((ctx.rel_s(e.start_ns), ctx.rel_s(e.end_ns)) for e in ctx.session.timeline
                  if isinstance(e, GapEvent) and e.strap_id == record.strap_id)
    pipeline = MetricsPipeline()
    previous: tuple[float, int] | None = None  # (time, segment) of the previous beat
    next_gap = 0
    for beat in record.beats:
        t = ctx.beat_rel_s(beat.t_s)
        broke = False
        while next_gap < len(gaps) and gaps[next_gap][1] <= t:
            pipeline.push_gap(*gaps[next_gap])
            next_gap += 1
            broke = True
        if previous is not None and not broke and (beat.segment != previous[1] or t <= previous[0]):
            pipeline.push_gap(previous[0], max(previous[0], t - beat.rr_ms / 1000.0))
        yield metrics_row(pipeline.push_beat(t, beat.rr_ms, beat.segment))
        previous = (t, beat.segment)
        progress.advance(METRICS_WORK)


def export_csv(ctx: Context, out: Path | None, outputs: Outputs, progress: Progress) -> None:
    folder = ctx.session.path.parent if out is None else outputs.folder(out)
    straps = list(ctx.beats.values())
    strap_names = dedupe([safe_name(s.strap_id) for s in straps])
    notifications_path = outputs.reserve(folder / f"{ctx.stem}_notifications.csv")
    beat_paths = [outputs.reserve(folder / f"{ctx.stem}_{name}_beats.csv") for name in strap_names]
    events_path = outputs.reserve(folder / f"{ctx.stem}_events.csv")
    metric_paths = [outputs.reserve(folder / f"{ctx.stem}_{name}_metrics.csv") for name in strap_names]
    manifest_path = outputs.reserve(folder / f"{ctx.stem}_manifest.json")
    n_beats = sum(len(s.beats) for s in straps)
    rows = sorted(_event_rows(ctx), key=lambda pair: (pair[0], pair[1][0]))
    progress.set_total(ctx.item_count + len(rows) + n_beats * (1 + METRICS_WORK) + 1)

    with _open_csv(notifications_path) as stream:
        writer = csv.writer(stream)
        writer.writerow(["timeline_index", "strap", "seq", "characteristic", "time_s", "wall_time_utc", "payload_hex"])
        for index, item in enumerate(ctx.session.timeline, start=1):
            if isinstance(item, Notification):
                writer.writerow([index, item.strap_id, item.seq, item.characteristic,
                                 f"{ctx.rel_s(item.host_ns):.6f}", ctx.iso(ctx.recorded_wall(item.wall_time, item.host_ns)),
                                 item.payload.hex()])
            progress.advance()

    for record, path in zip(straps, beat_paths, strict=True):
        with _open_csv(path) as stream:
            writer = csv.writer(stream)
            writer.writerow(["time_s", "wall_time_utc", "rr_ms", "rr_1024", "flagged", "segment", "contact",
                             "strap_bpm", "seq", "source"])
            for beat, flagged in zip(record.beats, record.flagged, strict=True):
                t = ctx.beat_rel_s(beat.t_s)
                writer.writerow([f"{t:.6f}", ctx.iso(ctx.wall_at(t)), _cell(beat.rr_ms), beat.rr_1024, _cell(flagged),
                                 beat.segment, _cell(beat.contact), beat.strap_bpm, beat.seq, beat.source])
                progress.advance()

    with _open_csv(events_path) as stream:
        writer = csv.writer(stream)
        writer.writerow(["timeline_index", "time_s", "wall_time_utc", "kind", "strap", "details"])
        for index, (t, wall, kind, strap, details) in rows:
            writer.writerow([index or "", f"{t:.6f}", ctx.iso(wall), kind, strap or "",
                             json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)])
            progress.advance()

    for record, path in zip(straps, metric_paths, strict=True):
        with _open_csv(path) as stream:
            writer = csv.writer(stream)
            writer.writerow(METRIC_COLUMNS)
            for row in _metrics_rows(ctx, record, progress):
                writer.writerow([_cell(row[column]) for column in METRIC_COLUMNS])

    with open_new_text(manifest_path) as stream:
        json.dump(ctx.manifest(), stream, indent=2, ensure_ascii=False, default=str)
        stream.write("\n")
    progress.advance()
