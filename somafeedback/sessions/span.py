"""Where a recording sits in time: its start on the host clock, its length, and its place in the live session.

:func:`recording_start_ns` is the zero of every export's times; :func:`report_span` is what a
session report (and the analysis a recording stores for it) counts from. Thread: any (pure).
"""

from __future__ import annotations

from dataclasses import dataclass

from .file import Session
from .reader import SessionReader


@dataclass(frozen=True)
class ReportSpan:
    """The times a session report counts with (host clock ns, seconds)."""

    start_ns: int  # the report's zero: the live session's start when the recording knows it, else the recording's
    start_s: float  # the recording's start, in seconds since ``start_ns`` (0 unless the live session began earlier)
    duration_s: float  # the recording's length

    @property
    def origin_s(self) -> float:
        """``start_ns`` in seconds (the analysis's session clock at the report's zero)."""
        return self.start_ns / 1e9


def recording_start_ns(session: Session | SessionReader) -> int:
    """The recording's start on the host clock: the manifest's ``started_host_ns``, else its first stamp, else 0."""
    start_ns = session.manifest.get("started_host_ns")
    if isinstance(start_ns, int) and not isinstance(start_ns, bool):
        return start_ns
    first_ns = next((getattr(item, "host_ns", None) for item in session.timeline
                     if getattr(item, "host_ns", None) is not None), None)
    return int(first_ns) if first_ns is not None else 0


def report_span(session: Session | SessionReader) -> ReportSpan:
    """The span a report of ``session`` shows (times from the live session's start when the recording knows it)."""
    start_ns = recording_start_ns(session)
    start_s = 0.0
    session_origin = session.manifest.get("session_origin_host_ns")
    if isinstance(session_origin, int) and not isinstance(session_origin, bool) and session_origin <= start_ns:
        start_s = (start_ns - session_origin) / 1e9
        start_ns = session_origin
    return ReportSpan(start_ns, start_s, max(session.duration_s, 0.0))


__all__ = ["ReportSpan", "recording_start_ns", "report_span"]
