"""Printing ``somafeedback analyze`` results: a readable report, JSON, or a CSV series.

Thread: the main thread (writes to stdout).
"""

from __future__ import annotations

import csv
import json
import sys
from typing import TYPE_CHECKING, TextIO

from somafeedback.hrv.whole_record import metric_series, summarize
from somafeedback.hrv.metric_rows import METRIC_COLUMNS, metrics_row
from somafeedback.progress import Progress, ProgressCallback
from somafeedback.interop.rr_files import RRSeries
if TYPE_CHECKING:  # sessions are imported only when a session is analysed (an RR file starts faster)
    from somafeedback.sessions.analysis import SessionSeries


def _summary(series: RRSeries | SessionSeries, progress: ProgressCallback | None) -> dict:
    if not isinstance(series, RRSeries):  # a session says where its beats came from (one beat series per session)
        return {**summarize(series.rr_ms, series.beat_times_s, series.segments, series.flagged, progress=Progress(progress)),
                "strap": series.strap_id, "beat_source": series.beat_source}
    return summarize(series.rr_ms, progress=Progress(progress))


def print_summary(series: RRSeries | SessionSeries, as_json: bool = False, out: TextIO | None = None,
                  progress: ProgressCallback | None = None) -> None:
    out = out or sys.stdout
    summary = _summary(series, progress)
    if as_json:
        for note in series.notes:  # the unit and any skipped values, stated but outside the JSON
            print(f"{series.source}: {note}", file=sys.stderr)
        print(json.dumps(summary), file=out)
        return
    print(f"{series.source} ({series.format} format)", file=out)
    for note in series.notes:
        print(f"  {note}", file=out)
    minutes = summary["duration_s"] / 60
    print(f"  {summary['n_beats']} beats over {minutes:.1f} min; {summary['artifact_pct']:.2f} % flagged as artifacts", file=out)
    rows = [
        ("mean RR", "mean_rr_ms", "ms", ".1f"), ("mean HR", "mean_hr_bpm", "bpm", ".1f"),
        ("SDNN", "sdnn_ms", "ms", ".1f"), ("RMSSD", "rmssd_ms", "ms", ".1f"), ("pNN50", "pnn50_pct", "%", ".2f"),
        ("LF power", "lf_ms2", "ms²", ".1f"), ("HF power", "hf_ms2", "ms²", ".1f"), ("LF/HF", "lf_hf", "", ".2f"),
    ]
    print(f"  {'':<10} {'as recorded':>14} {'artifacts removed':>18}", file=out)
    for label, key, unit, fmt in rows:
        raw = summary["uncorrected"].get(key, "n/a")
        clean = summary["corrected"].get(key)
        raw_text = f"{raw:{fmt}}" if isinstance(raw, float) else "" if raw == "n/a" else "--"
        clean_text = f"{clean:{fmt}}" if clean is not None else "--"
        print(f"  {label:<10} {raw_text:>14} {clean_text:>18} {unit}", file=out)
    print("  Frequency values: Welch on 4 Hz cubic-spline tachograms, mean of 5-min segments; "
          "LF/HF is not a stress index, and HF is not a vagal index during slow breathing.", file=out)


def print_series(series: RRSeries | SessionSeries, step_s: float, out: TextIO | None = None,
                 progress: ProgressCallback | None = None) -> None:
    """The windowed metrics as CSV; computed in full before the first row is written (a cancel prints nothing)."""
    timing = (series.beat_times_s, series.segments) if not isinstance(series, RRSeries) else (None, None)
    reporter = Progress(progress)
    rows = [metrics_row(metrics) for metrics in metric_series(series.rr_ms, step_s, timing[0], timing[1], progress=reporter)]
    reporter.finish()
    writer = csv.DictWriter(out or sys.stdout, fieldnames=METRIC_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
