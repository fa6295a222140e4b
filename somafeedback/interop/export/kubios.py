"""The ``kubios`` export: one Kubios HRV RR text file per strap with beats.

``kubios``: one RR text file per strap with beats, ``<stem>.txt`` (one strap) or ``<stem>_<strap>.txt``
    Written by :func:`~somafeedback.interop.rr_files.write_kubios_rr` (UTF-8, CRLF, ``#`` header lines,
    one RR in seconds per line; :func:`~somafeedback.interop.rr_files.read_rr_file` reads back exactly
    the recorded values: strap RR are multiples of 1/1024 s, ECG-timed RR are exact to 1e-6 ms). Every
    beat the app measures, raw: beats
    the app flagged are kept (Kubios does its own correction), and RR intervals on both sides of
    a gap simply follow each other. Header entries: ``session id``, ``client`` (not when
    de-identified and only when known), ``session start (UTC)`` (``YYYY-MM-DD HH:MM:SS.fff``),
    ``strap``, ``beats``, ``beat source`` (e.g. ``ECG R-peaks (812 beats) + strap RR (40 beats)``: the
    session's one beat series, :func:`~somafeedback.sessions.beat_series.session_beats`), ``beats flagged as artifacts by somafeedback (kept in the data)``,
    ``timing segments`` and ``new segment at beats`` (1-based numbers of the beats that start a
    new timing segment after a gap, contact loss or re-anchoring; the RR before each is not
    continuous with it), ``first beat (s after session start)``, ``exported by``.

Thread: any.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from somafeedback import __version__
from somafeedback.interop.rr_files import write_kubios_rr
from ._context import Context, file_targets, straps_with_beats
from ._writing import Outputs, Progress


def export_kubios(ctx: Context, out: Path | None, outputs: Outputs, progress: Progress) -> None:
    straps = straps_with_beats(ctx)
    several = len(straps) > 1
    targets = file_targets(ctx, outputs, out, "kubios", [s.strap_id if several else None for s in straps])
    temporaries = [outputs.reserve(target) for target in targets]
    progress.set_total(len(straps))
    start = dt.datetime.fromtimestamp(ctx.start_wall, tz=dt.timezone.utc)
    for record, temporary in zip(straps, temporaries, strict=True):
        segments = record.segments
        breaks = [int(i) + 1 for i in np.flatnonzero(np.diff(segments) != 0) + 1]
        header: dict[str, str] = {"session id": str(ctx.session.manifest.get("session_id", ctx.stem))}
        if ctx.client:
            header["client"] = ctx.client
        header.update({
            "session start (UTC)": start.strftime("%Y-%m-%d %H:%M:%S.") + f"{start.microsecond // 1000:03d}",
            "strap": record.strap_id,
            "beats": str(len(record.beats)),
            "beat source": record.beat_source,
            "beats flagged as artifacts by somafeedback (kept in the data)": str(sum(record.flagged)),
            "timing segments": str(len(breaks) + 1),
            "new segment at beats": ", ".join(map(str, breaks)) or "none",
            "first beat (s after session start)": f"{ctx.beat_rel_s(record.beats[0].t_s):.3f}",
            "exported by": f"somafeedback {__version__}",
        })
        write_kubios_rr(temporary, record.rr_ms, header)
        progress.advance()
