"""A recorded session as a beat series for ``analyze`` (the same report as for RR files).

The beats are the session's one beat series (:func:`~.beat_series.session_beats`): for a Polar
H10 the ECG R-peak beats where its ECG streamed and the strap's RR elsewhere, exactly the beats
replay, the app, the report and the exports measure; ``beat_source`` says which.

Thread: any.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .beat_series import session_beats
from .client_strap import client_strap
from .file import SessionFileError, read_session


@dataclass(frozen=True)
class SessionSeries:
    """One strap's beats of a session, with the gaps and the live artifact verdicts."""

    rr_ms: np.ndarray
    beat_times_s: np.ndarray  # session seconds (cumulative RR, anchored per gap-free segment)
    segments: np.ndarray  # gap-free segment of each beat
    flagged: np.ndarray  # the live artifact rule's verdict on each beat
    source: Path
    notes: tuple[str, ...]
    format: str = "session"
    beat_source: str = ""  # where the beats came from, e.g. "ECG R-peaks (812 beats) + strap RR (40 beats)"
    strap_id: str = ""
    wall_offset_s: float | None = None  # add to a beat time to get Unix seconds (None: the start was not recorded)


def session_series(path: Path, strap_id: str | None = None) -> SessionSeries:
    """The beats of one strap of a session (the client's strap, as in the report, unless named)."""
    session = read_session(path)
    straps = {strap: record for strap, record in session_beats(session.timeline).items() if record.beats}
    if not straps:
        raise SessionFileError(f"{path}: the session holds no beats")
    strap_id = strap_id if strap_id in straps else client_strap(session.timeline)  # the report's strap
    chosen = straps[strap_id] if strap_id in straps else next(iter(straps.values()))
    notes = [f"session {session.session_id[:12]}, strap {chosen.strap_id}: {len(chosen.beats)} beats in "
             f"{len(set(chosen.segments.tolist()))} gap-free segment(s)", f"beat source: {chosen.beat_source}",
             *session.problems]
    if session.ended_unexpectedly:
        notes.append("the recording ended unexpectedly (it was not closed)")
    return SessionSeries(chosen.rr_ms, chosen.t_s, chosen.segments, np.array(chosen.flagged, dtype=bool), path,
                         tuple(notes), beat_source=chosen.beat_source, strap_id=chosen.strap_id,
                         wall_offset_s=_wall_offset(session.manifest))


def _wall_offset(manifest: dict) -> float | None:
    """Unix seconds minus session seconds, from the recorded start (wall clock and host clock together)."""
    wall, host_ns = manifest.get("started_wall"), manifest.get("started_host_ns")
    if not isinstance(wall, (int, float)) or not isinstance(host_ns, int):
        return None
    return float(wall) - host_ns / 1e9
