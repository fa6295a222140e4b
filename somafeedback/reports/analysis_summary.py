"""Printing ``somafeedback analyze`` results: a readable report, JSON, or a CSV series.

Thread: the main thread (writes to stdout).
"""

from __future__ import annotations

import csv
import json
import sys
from typing import TYPE_CHECKING, TextIO

from somafeedback.hrv.conventions import DEFAULT_FOR_RECORDS, DESCRIPTIONS, conventions
from somafeedback.hrv.whole_record import metric_series, summarize
from somafeedback.hrv.metric_rows import METRIC_COLUMNS, metrics_row
from somafeedback.progress import Progress, ProgressCallback
from somafeedback.reports.common import clock
from somafeedback.interop.rr_files import RRSeries
if TYPE_CHECKING:  # sessions are imported only when a session is analysed (an RR file starts faster)
    from somafeedback.sessions.analysis import SessionSeries


def _summary(series: RRSeries | SessionSeries, progress: ProgressCallback | None, full: bool, name: str) -> dict:
    settings = conventions(name)
    if not isinstance(series, RRSeries):  # a session says where its beats came from (one beat series per session)
        return {**summarize(series.rr_ms, series.beat_times_s, series.segments, series.flagged, progress=Progress(progress),
                            full=full, settings=settings),
                "strap": series.strap_id, "beat_source": series.beat_source}
    return summarize(series.rr_ms, progress=Progress(progress), full=full, settings=settings)


NONLINEAR_ROWS = (("SD1", "sd1_ms", " ms", ".1f"), ("SD2", "sd2_ms", " ms", ".1f"), ("SD1/SD2", "sd1_sd2", "", ".3f"),
                  ("DFA α1", "dfa_alpha1", "", ".3f"), ("DFA α2", "dfa_alpha2", "", ".3f"),
                  ("SampEn", "sample_entropy", "", ".3f"))


def nonlinear_lines(nonlinear: dict) -> list[str]:
    """``analyze --full``'s nonlinear block: each index (mean of segments) and how it was made."""
    lines = [f"Nonlinear indices (artifacts removed; mean of {nonlinear['segments_used']} segment(s)):"]
    for label, key, unit, fmt in NONLINEAR_ROWS:
        value = nonlinear.get(key)
        lines.append(f"  {label:<10} {(f'{value:{fmt}}{unit}' if value is not None else '--'):>18}")
    lines.append(f"  ({nonlinear['conventions']})")
    return lines


def print_summary(series: RRSeries | SessionSeries, as_json: bool = False, out: TextIO | None = None,
                  progress: ProgressCallback | None = None, full: bool = False, conventions: str = DEFAULT_FOR_RECORDS) -> None:
    """The ``analyze`` summary (``full``: with the nonlinear indices; ``conventions``: the frequency-domain
    convention set), readable or as one JSON object."""
    out = out or sys.stdout
    summary = _summary(series, progress, full, conventions)
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
    validity = summary["corrected"]["validity"]
    if not validity["valid"]:
        print(f"  Artifacts removed: not valid ({validity['reason']}); the values are shown for reference only.", file=out)
    for line in segment_lines(summary["frequency_segments"]):
        print(f"  {line}", file=out)
    for line in nonlinear_lines(summary["nonlinear"]) if "nonlinear" in summary else []:
        print(f"  {line}", file=out)
    print(f"  Frequency values: {DESCRIPTIONS[summary['conventions']]}; mean of 5-min segments; "
          "LF/HF is not a stress index, and HF is not a vagal index during slow breathing.", file=out)


MAX_LISTED = 8  # segments left out listed one per line; the rest counted


def segment_lines(rows: list[dict]) -> list[str]:
    """What happened to the frequency segments: how many were used, and each one left out, with why."""
    used = sum(1 for row in rows if row["used"])
    lines = [f"Frequency segments: {used} of {len(rows)} analysed (5 min each from the start; "
             f"a last part of at least 2 min counts as a segment)."] if len(rows) > 1 else []
    left_out = [row for row in rows if not row["used"]]
    lines += [f"  {clock(row['start_s'] - rows[0]['start_s'])}-{clock(row['end_s'] - rows[0]['start_s'])} "
              f"not analysed: {row['reason']}" for row in left_out[:MAX_LISTED]]
    if len(left_out) > MAX_LISTED:
        lines.append(f"  and {len(left_out) - MAX_LISTED} more not analysed (all listed by --json)")
    return lines


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
