"""A recorded session as a beat series for ``analyze`` (the same report as for RR files).

Thread: any.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .beats import decode_beats
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


def session_series(path: Path, strap_id: str | None = None) -> SessionSeries:
    """The beats of one strap of a session (the first strap unless named)."""
    session = read_session(path)
    straps = decode_beats(session.timeline)
    if not straps:
        raise SessionFileError(f"{path}: the session holds no beats")
    chosen = straps[strap_id] if strap_id in straps else next(iter(straps.values()))
    notes = [f"session {session.session_id[:12]}, strap {chosen.strap_id}: {len(chosen.beats)} beats in "
             f"{len(set(chosen.segments.tolist()))} gap-free segment(s)", *session.problems]
    if session.ended_unexpectedly:
        notes.append("the recording ended unexpectedly (it was not closed)")
    return SessionSeries(chosen.rr_ms, chosen.t_s, chosen.segments, np.array(chosen.flagged, dtype=bool), path, tuple(notes))
