"""What a progress report shows: one client's sessions week by week, as plain data (no Qt, no HTML).

:func:`progress_content` describes one client's sessions week by week (ISO weeks, Monday
to Sunday, local time, no missing weeks in between): sessions and minutes recorded, home
practice (from :func:`~somafeedback.reports.practice_history.weekly_trend`), the resting ln RMSSD
(median of each session's :func:`~somafeedback.reports.practice_history.resting_ln_rmssd`), the
time in band among the judged states, and the cues suggested, approved and the home
script's pauses into grounding. It takes ``progress(fraction)`` (:mod:`somafeedback.progress`).

Thread: any (pure reads; each call opens and closes its own files).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from somafeedback import __version__
from somafeedback.devices.events import TimelineEvent
from somafeedback.progress import Progress, ProgressCallback
from somafeedback.sessions.file import SessionFileError, read_session
from somafeedback.sessions.library import filter_sessions, list_sessions

from .common import IN_BAND, JUDGED_STATES, NOT_MEDICAL_TEXT, ReportError, cue_counts, median, state_intervals, state_seconds
from .practice_history import resting_ln_rmssd, weekly_trend

PROGRESS_MEASURED_TEXT: Final = (
    "Week by week (ISO weeks, Monday to Sunday): the sessions and minutes recorded, home practice, the resting "
    "ln RMSSD (each session's resting measurement, or its first valid 60-s window; the weekly median), the time "
    "in the usual range as a share of the time the state model judged, and the cues suggested and approved. "
    "A trend over weeks describes what was recorded; values vary from day to day for many ordinary reasons.")


@dataclass(frozen=True)
class ProgressSession:
    """One session of the client, as the progress report lists it."""

    session_id: str
    path: Path
    started: dt.datetime
    mode: str | None
    minutes: float
    resting_ln_rmssd: float | None
    in_band_min: float
    judged_min: float  # minutes with a judged state (in band, rising, above band, settling, quiet drop)
    cues_suggested: int
    cues_approved: int
    script_pauses: int  # home script paused into grounding
    status: str


@dataclass(frozen=True)
class ProgressWeek:
    """One ISO week of the client's sessions."""

    year: int
    week: int
    start: dt.date  # the Monday
    sessions: int
    minutes: float  # every session recorded
    practices: int  # home practices (weekly_trend)
    practice_minutes: float
    resting_ln_rmssd: float | None  # median of the week's resting readings
    resting_readings: int
    in_band_min: float
    judged_min: float
    cues_suggested: int
    cues_approved: int
    script_pauses: int

    @property
    def label(self) -> str:
        return f"{self.start.day} {self.start.strftime('%b')}"

    @property
    def in_band_pct(self) -> float | None:
        return 100.0 * self.in_band_min / self.judged_min if self.judged_min > 0 else None


@dataclass(frozen=True)
class ProgressContent:
    """Everything a progress report shows."""

    client: str
    library: Path
    weeks: tuple[ProgressWeek, ...]
    sessions: tuple[ProgressSession, ...]
    problems: tuple[str, ...] = ()
    app_version: str = __version__
    measured_text: str = PROGRESS_MEASURED_TEXT
    not_medical_text: str = NOT_MEDICAL_TEXT


def _monday(day: dt.date) -> dt.date:
    """The Monday of ``day``'s ISO week."""
    return day - dt.timedelta(days=day.weekday())


def _progress_session(path: Path, summary_status: str, started: dt.datetime, mode: str | None,
                      duration_s: float | None) -> ProgressSession | None:
    """One session as the progress report lists it; None when no strap sent anything."""
    session = read_session(path)
    if not session.notifications:
        return None  # a start that found no strap: nothing was practised
    events = [e for e in session.timeline if isinstance(e, TimelineEvent)]
    start_ns = session.manifest.get("started_host_ns")
    if not isinstance(start_ns, int):
        start_ns = min(getattr(item, "host_ns", 0) for item in session.timeline)
    end_s = duration_s if duration_s is not None else session.duration_s
    seconds = state_seconds(state_intervals(events, start_ns, end_s))
    counts = cue_counts(events)
    return ProgressSession(
        session_id=session.session_id, path=path, started=started, mode=mode, minutes=max(0.0, end_s) / 60.0,
        resting_ln_rmssd=resting_ln_rmssd(path),
        in_band_min=seconds.get(IN_BAND, 0.0) / 60.0,
        judged_min=sum(seconds.get(name, 0.0) for name in JUDGED_STATES) / 60.0,
        cues_suggested=counts.get("suggested", 0), cues_approved=counts.get("approved", 0),
        script_pauses=counts.get("script-paused", 0), status=summary_status,
    )


def progress_content(library_folder: str | Path, client: str, progress: ProgressCallback | None = None) -> ProgressContent:
    """The weekly trend of one client's sessions in ``library_folder`` (client compared ignoring case).

    Raises :class:`ReportError` when the folder does not exist or holds no usable session of the client.
    """
    folder = Path(library_folder)
    reporter = Progress(progress)
    reporter.start()
    if not folder.is_dir():
        raise ReportError(f"{folder}: no such session library folder")
    found = [s for s in filter_sessions(list_sessions(folder), client=client)
             if s.status in ("complete", "ended unexpectedly") and s.started is not None]
    if not found:
        raise ReportError(f"{folder}: no recorded session of client {client!r}")
    reporter.set_total(len(found) + 1)
    sessions: list[ProgressSession] = []
    problems: list[str] = []
    for summary in found:
        assert summary.started is not None
        try:
            row = _progress_session(summary.path, summary.status, summary.started, summary.mode, summary.duration_s)
        except SessionFileError as error:
            problems.append(str(error))
            row = None
        if row is not None:
            sessions.append(row)
        reporter.advance()
    if not sessions:
        raise ReportError(f"{folder}: no session of client {client!r} holds heart data")
    home = {row.start: row for row in weekly_trend(folder, client)}
    reporter.advance()
    mondays = [_monday(s.started.date()) for s in sessions]
    weeks: list[ProgressWeek] = []
    monday, last = min(mondays), max(mondays)
    while monday <= last:
        these = [s for s, m in zip(sessions, mondays) if m == monday]
        readings = [s.resting_ln_rmssd for s in these if s.resting_ln_rmssd is not None]
        year, week, _ = monday.isocalendar()
        practice = home.get(monday)
        weeks.append(ProgressWeek(
            year=year, week=week, start=monday, sessions=len(these), minutes=sum(s.minutes for s in these),
            practices=practice.practices if practice is not None else 0,
            practice_minutes=practice.minutes if practice is not None else 0.0,
            resting_ln_rmssd=median(readings), resting_readings=len(readings),
            in_band_min=sum(s.in_band_min for s in these), judged_min=sum(s.judged_min for s in these),
            cues_suggested=sum(s.cues_suggested for s in these), cues_approved=sum(s.cues_approved for s in these),
            script_pauses=sum(s.script_pauses for s in these),
        ))
        monday += dt.timedelta(days=7)
    name = next((s.client for s in found if s.client), client) or client
    content = ProgressContent(client=name, library=folder, weeks=tuple(weeks), sessions=tuple(sessions),
                              problems=tuple(problems))
    reporter.finish()
    return content


__all__ = ["ProgressContent", "ProgressSession", "ProgressWeek", "progress_content"]
