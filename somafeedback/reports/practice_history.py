"""Home practice, looked back on: one practice's summary and the weekly trend.

Design rules (research/somatic.md §4.3, §5, §8): a trend, never a verdict. Everything
here *describes* what was recorded, in neutral words ("Your heart rate was 4 bpm lower at
the end than at the start"); there are no scores, no streaks, no labels for a day, and
no words about what the body or nervous system "is".

* :func:`practice_summary` reads one recorded session (a path or a
  :class:`~somafeedback.sessions.file.Session`) and replays its beats through the live
  analysis (:class:`~somafeedback.live.analysis.LiveAnalysis`, so the numbers are the
  ones the live path computed): length, script, time in each state (from the recorded
  ``state`` events), heart rate and ln RMSSD of the first and the last valid 60-s window,
  the breathing rate seen in the heart rate while the pacer ran, and the share of beats
  set aside as artifacts.
* :func:`weekly_trend` walks the session library: per ISO week (Monday to Sunday, local
  time) the minutes practised and the number of practices (sessions whose manifest mode
  is ``"home"``), and the resting ln RMSSD: the median over that week's practices of each
  practice's baseline (``ln_ref`` of the manifest's ``"baseline"``) or, without one, of
  the ln RMSSD of its first valid 60-s window. Weeks without practice between the first
  and the last are listed with 0 minutes, so a chart's axis has no gaps. A session with
  no heart data at all (a start that found no strap) is not a practice.
* :func:`describe` words a summary; its rule for "about the same" / lower / higher is
  :func:`describe_hr_change` and :func:`describe_ln_rmssd_change` (``HR_SAME_BPM``, ``LN_SAME``),
  and :func:`whole_beats_change` applies it to heart rates shown in whole beats (the home window).
* :func:`resting_to_show`: which weeks' resting values a chart draws: only a week with at
  least ``MIN_RESTING_READINGS`` (3) readings (§5); fewer readings are listed, not drawn.

Thread: any (pure reads; every call opens and closes its own files).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final, Literal

from somafeedback.devices.events import Notification, SourceEvent, TimelineEvent
from somafeedback.regulation.exercises import Exercise, load_exercises
from somafeedback.sessions.library import filter_sessions, list_sessions
from somafeedback.live.analysis import LiveAnalysis
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.sessions.client_strap import client_strap
from somafeedback.sessions.file import Session, SessionFileError, manifest_rows, read_session
from somafeedback.sessions.opening import NotASession, open_read_only

HOME_MODE: Final = "home"
WINDOW_S: Final = 60.0  # the start and end windows (the live time-domain window)
MIN_PACED_OVERLAP_S: Final = 30.0  # a breathing window counts for a paced step once this far into it
HR_SAME_BPM: Final = 1.0  # bpm: a smaller heart-rate change is described as "about the same"
LN_SAME: Final = 0.05  # ln(ms): a smaller ln RMSSD change is described as "about the same"
MIN_RESTING_READINGS: Final = 3  # a week's resting median is drawn only from this many readings (§5)

# Client-facing words for the model's states (the neutral vocabulary pack, §4.6). The
# quiet-drop state is practitioner-only (§4.7): it is kept in the data, never in the text.
STATE_WORDS: Final[dict[str, str]] = {
    "calibrating": "Resting measurement at the start",
    "in band": "In your usual range",
    "rising": "Heart rate rising",
    "above band": "Above your usual range",
    "settling": "Coming back toward your usual range",
    "low signal": "Signal unclear",  # recordings made before "signal lost" / "re-checking"
    "signal lost": "Signal unclear",
    "re-checking": "Checking the signal",
    "paused": "Paused",
}

NOTE_TEXT: Final = ("These numbers describe this one practice. They vary from day to day for many "
                    "ordinary reasons, such as sleep, meals, movement or the time of day.")


@dataclass(frozen=True)
class WindowValues:
    """Mean heart rate and ln RMSSD of one valid 60-s window ending at ``t_s``."""

    t_s: float
    hr_bpm: float
    ln_rmssd: float


@dataclass(frozen=True)
class PracticeSummary:
    """What one recorded practice looked like (descriptive only)."""

    session_id: str
    path: Path | None
    started: dt.datetime | None
    duration_min: float
    script_id: str | None
    script_title: str | None
    state_seconds: dict[str, float] = field(default_factory=dict)  # raw state names -> seconds
    start_window: WindowValues | None = None
    end_window: WindowValues | None = None
    paced_breathing_bpm: float | None = None  # breathing rate seen in the heart rate while paced
    pacer_bpm: float | None = None  # the pacer's own rate (the first paced step's)
    artifact_pct: float | None = None  # share of beats set aside as artifacts
    n_beats: int = 0
    lines: tuple[str, ...] = ()

    @property
    def hr_change_bpm(self) -> float | None:
        """End minus start (negative: lower at the end); None without two separate windows."""
        if self.start_window is None or self.end_window is None:
            return None
        return self.end_window.hr_bpm - self.start_window.hr_bpm

    @property
    def ln_rmssd_change(self) -> float | None:
        if self.start_window is None or self.end_window is None:
            return None
        return self.end_window.ln_rmssd - self.start_window.ln_rmssd

    @property
    def text(self) -> str:
        """The summary as shown to the client: one neutral sentence per line."""
        return "\n".join(self.lines)


@dataclass(frozen=True)
class WeekRow:
    """One ISO week of home practice."""

    year: int  # ISO year
    week: int  # ISO week number
    start: dt.date  # the Monday
    minutes: float
    practices: int
    resting_ln_rmssd: float | None  # median of the week's resting readings (None: no reading)
    resting_readings: int

    @property
    def label(self) -> str:
        """A short axis label, e.g. ``"6 Jan"`` (the week's Monday)."""
        return f"{self.start.day} {self.start.strftime('%b')}"


# --- one practice -----------------------------------------------------------------------------

def _as_session(session: Session | str | Path) -> Session:
    return session if isinstance(session, Session) else read_session(Path(session))


def _metrics(timeline: Iterable[Notification | SourceEvent], strap: str, stop_at_first_valid: bool = False) -> list[BeatMetrics]:
    """The client's metric sets, exactly as the live path computed them."""
    analysis = LiveAnalysis(metrics=True)
    out: list[BeatMetrics] = []
    for item in timeline:
        produced = analysis.on_notification(item) if isinstance(item, Notification) else analysis.on_event(item)
        for strap_id, output in produced:
            if strap_id == strap and isinstance(output, BeatMetrics):
                out.append(output)
                if stop_at_first_valid and _window_values(output) is not None:
                    return out
    return out


def _window_values(metrics: BeatMetrics) -> WindowValues | None:
    time = metrics.time
    if metrics.rr_ms is None or not time.validity.valid or not time.hr_valid:
        return None
    if time.hr_bpm is None or time.ln_rmssd is None or not (math.isfinite(time.hr_bpm) and math.isfinite(time.ln_rmssd)):
        return None
    if time.validity.window_s < WINDOW_S - 1e-6:
        return None
    return WindowValues(metrics.t_s, float(time.hr_bpm), float(time.ln_rmssd))


def _state_seconds(events: list[TimelineEvent], end_s: float) -> dict[str, float]:
    states = sorted((e for e in events if e.kind == "state" and e.data.get("state")), key=lambda e: e.host_ns)
    seconds: dict[str, float] = {}
    for event, following in zip(states, [*states[1:], None]):
        start = event.host_ns / 1e9
        stop = following.host_ns / 1e9 if following is not None else max(end_s, start)
        name = str(event.data["state"])
        seconds[name] = seconds.get(name, 0.0) + max(0.0, stop - start)
    return seconds


def _script_id(manifest: Mapping[str, Any], events: list[TimelineEvent]) -> str | None:
    if manifest.get("script"):
        return str(manifest["script"])
    for event in events:
        if event.kind == "cue" and event.data.get("kind") == "script" and event.data.get("exercise"):
            action = str(event.data.get("action", ""))
            if action in ("script-step", "script-finished"):
                return str(event.data["exercise"])
    return None


def _paced_intervals(events: list[TimelineEvent], script: Exercise | None, end_s: float) -> list[tuple[float, float, float]]:
    """(start, end, pacer breaths/min) of each stretch in which the script ran a pacer step."""
    if script is None:
        return []
    script_events = sorted((e for e in events if e.kind == "cue" and e.data.get("kind") == "script"), key=lambda e: e.host_ns)
    intervals: list[tuple[float, float, float]] = []
    current_step: int | None = None
    for event, following in zip(script_events, [*script_events[1:], None]):
        action = event.data.get("action")
        if action == "script-step" and isinstance(event.data.get("cue_id"), int):
            current_step = int(event.data["cue_id"]) - 1
        elif action != "script-resumed":
            continue  # paused or finished: no pacer until the next step or resume
        if current_step is None or not 0 <= current_step < len(script.steps):
            continue
        pacer = script.steps[current_step].pacer
        if pacer is None:
            continue
        start = event.host_ns / 1e9
        stop = following.host_ns / 1e9 if following is not None else end_s
        breath_s = pacer.inhale_s + pacer.hold_in_s + pacer.exhale_s + pacer.hold_out_s
        intervals.append((start, stop, 60.0 / breath_s))
    return intervals


def _paced_breathing(metrics: list[BeatMetrics], intervals: list[tuple[float, float, float]]) -> float | None:
    rates: dict[float, float] = {}
    for m in metrics:
        b = m.breathing
        if b is None or not b.validity.valid or b.rate_bpm is None or not math.isfinite(b.rate_bpm):
            continue
        for start, stop, _ in intervals:
            if start + MIN_PACED_OVERLAP_S <= b.computed_at_s <= stop:
                rates[b.computed_at_s] = float(b.rate_bpm)
    return statistics.median(rates.values()) if rates else None


def _minutes_text(seconds: float) -> str:
    minutes = seconds / 60.0
    if minutes < 1.0:
        return "less than a minute"
    if round(minutes) == 1:
        return "about 1 minute"
    return f"about {round(minutes)} minutes"


Change = Literal["lower", "same", "higher"]  # how a change from the start to the end is described


def _change(change: float, same_below: float) -> Change:
    if abs(change) < same_below:
        return "same"
    return "lower" if change < 0 else "higher"


def describe_hr_change(change_bpm: float) -> Change:
    """How a heart-rate change (end minus start, bpm) is described: "same" below ``HR_SAME_BPM``."""
    return _change(change_bpm, HR_SAME_BPM)


def describe_ln_rmssd_change(change: float) -> Change:
    """How an ln RMSSD change (end minus start) is described: "same" below ``LN_SAME``."""
    return _change(change, LN_SAME)


def round_half_up(value: float) -> int:
    """Round half up (78.5 -> 79), as people do, not half to even."""
    return int(math.floor(value + 0.5))


def whole_beats_change(start_bpm: float, end_bpm: float) -> tuple[int, int, Change]:
    """The start and end heart rates in whole beats per minute (rounded half up) and how the change
    between those whole figures is described (:func:`describe_hr_change`).

    For text that shows whole beats only (the home window's summary): the words follow the figures
    shown, so it never says "settled from about 78 to about 78", nor "about the same" between 78 and 79.
    """
    start, end = round_half_up(start_bpm), round_half_up(end_bpm)
    return start, end, describe_hr_change(end - start)


def describe(s: PracticeSummary) -> tuple[str, ...]:
    """The neutral sentences for a summary (what :attr:`PracticeSummary.lines` holds)."""
    lines = []
    what = f" ({s.script_title})" if s.script_title else ""
    lines.append(f"You practised for {_minutes_text(s.duration_min * 60.0)}{what}.")
    if s.n_beats == 0:
        lines.append("No heartbeats were recorded in this practice, so there are no numbers to show.")
        return tuple(lines)
    hr, ln = s.hr_change_bpm, s.ln_rmssd_change
    if hr is None or ln is None:
        lines.append("The recording was too short to compare the start with the end.")
    else:
        a, b = s.start_window, s.end_window
        assert a is not None and b is not None
        hr_word, ln_word = describe_hr_change(hr), describe_ln_rmssd_change(ln)
        if hr_word == "same":
            lines.append(f"Your heart rate was about the same at the end as at the start (about {b.hr_bpm:.0f} bpm).")
        else:
            lines.append(f"Your heart rate was {abs(hr):.0f} bpm {hr_word} at the end than at "
                         f"the start ({a.hr_bpm:.0f} bpm at the start, {b.hr_bpm:.0f} bpm at the end).")
        if ln_word == "same":
            lines.append(f"Beat-to-beat variability (ln RMSSD) was about the same at the end as at the start "
                         f"(about {b.ln_rmssd:.2f}).")
        else:
            lines.append(f"Beat-to-beat variability (ln RMSSD) was {abs(ln):.2f} {ln_word} at "
                         f"the end than at the start ({a.ln_rmssd:.2f} at the start, {b.ln_rmssd:.2f} at the end).")
    if s.paced_breathing_bpm is not None:
        pacer = f" (the pacer was set to {s.pacer_bpm:.1f})" if s.pacer_bpm is not None else ""
        lines.append(f"While the pacer was on, the breathing rhythm seen in your heart rate was about "
                     f"{s.paced_breathing_bpm:.1f} breaths per minute{pacer}.")
    shown = [(STATE_WORDS[name], secs) for name, secs in s.state_seconds.items() if name in STATE_WORDS and secs >= 1.0]
    if shown:
        lines.append("Time in each part of the practice: "
                     + "; ".join(f"{words.lower() if i else words}: {_minutes_text(secs)}" for i, (words, secs) in enumerate(shown))
                     + ".")
    if s.artifact_pct is not None:
        share = "less than 1 %" if s.artifact_pct < 1.0 else f"{s.artifact_pct:.0f} %"
        lines.append(f"{share[0].upper()}{share[1:]} of the beats were set aside as unclear signal.")
    lines.append(NOTE_TEXT)
    return tuple(lines)


def practice_summary(session: Session | str | Path, exercises: Mapping[str, Exercise] | None = None) -> PracticeSummary:
    """Describe one recorded practice (a session file path or a read :class:`Session`).

    ``exercises`` (default: :func:`load_exercises`) are used for the script's title and its
    pacer steps. Raises :class:`~somafeedback.sessions.file.SessionFileError` for a file
    that cannot be read at all.
    """
    session = _as_session(session)
    manifest = session.manifest
    events = [item for item in session.timeline if isinstance(item, TimelineEvent)]
    started_ns = manifest.get("started_host_ns")
    duration_s = session.duration_s
    end_s = (started_ns / 1e9 + duration_s) if isinstance(started_ns, (int, float)) else max(
        (getattr(item, "host_ns", 0) / 1e9 for item in session.timeline), default=0.0)

    script_id = _script_id(manifest, events)
    if exercises is None:
        exercises = load_exercises() if script_id else {}
    script = exercises.get(script_id) if script_id else None

    strap = client_strap(session.timeline)
    metrics = _metrics(session.timeline, strap) if strap is not None else []
    beats = [m for m in metrics if m.rr_ms is not None]
    windows = [w for w in (_window_values(m) for m in metrics) if w is not None]
    start_window = windows[0] if windows else None
    end_window = windows[-1] if windows else None
    if start_window is not None and end_window is not None and end_window.t_s - start_window.t_s < WINDOW_S:
        end_window = None  # the windows would overlap: nothing separate to compare

    intervals = _paced_intervals(events, script, end_s)
    started_wall = manifest.get("started_wall")
    summary = PracticeSummary(
        session_id=session.session_id,
        path=session.path,
        started=dt.datetime.fromtimestamp(started_wall).astimezone() if isinstance(started_wall, (int, float)) else None,
        duration_min=duration_s / 60.0,
        script_id=script_id,
        script_title=script.title if script is not None else script_id,
        state_seconds=_state_seconds(events, end_s),
        start_window=start_window,
        end_window=end_window,
        paced_breathing_bpm=_paced_breathing(metrics, intervals),
        pacer_bpm=intervals[0][2] if intervals else None,
        artifact_pct=100.0 * sum(m.flagged for m in beats) / len(beats) if beats else None,
        n_beats=len(beats),
    )
    return _with_lines(summary)


def _with_lines(summary: PracticeSummary) -> PracticeSummary:
    return replace(summary, lines=describe(summary))


# --- weeks ----------------------------------------------------------------------------------

def _manifest_value(path: Path, key: str) -> Any:
    """One manifest value of the session file at ``path`` (read without writing anything), None when unreadable."""
    try:
        with open_read_only(path) as opened:
            rows = manifest_rows(opened.db, key)
        return json.loads(rows[0][1]) if rows else None
    except (sqlite3.DatabaseError, json.JSONDecodeError, NotASession, OSError):
        return None


def _has_heart_data(path: Path) -> bool:
    """True when the session holds at least one notification (a failed start holds none)."""
    try:
        with open_read_only(path) as opened:
            return bool(opened.db.execute("SELECT EXISTS (SELECT 1 FROM notifications)").fetchone()[0] == 1)
    except (sqlite3.DatabaseError, NotASession, OSError):
        return False


def resting_ln_rmssd(path: Path) -> float | None:
    """A practice's resting ln RMSSD: its baseline's ``ln_ref``, else its first valid 60-s window."""
    baseline = _manifest_value(path, "baseline")
    if isinstance(baseline, dict):
        ln_ref = baseline.get("ln_ref")
        if isinstance(ln_ref, (int, float)) and math.isfinite(ln_ref):
            return float(ln_ref)
    try:
        session = read_session(path)
    except SessionFileError:
        return None
    strap = client_strap(session.timeline)
    if strap is None:
        return None
    metrics = _metrics(session.timeline, strap, stop_at_first_valid=True)
    window = _window_values(metrics[-1]) if metrics else None
    return window.ln_rmssd if window is not None else None


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def weekly_trend(library_dir: Path, client: str | None = None) -> list[WeekRow]:
    """Home practice per ISO week, oldest first, with no missing weeks in between.

    Sessions count when their manifest mode is ``"home"`` (and, with ``client``, their
    client matches, ignoring case); damaged files, recordings still in progress and
    sessions without any heart data (a start that found no strap) are left out. An empty
    library gives an empty list.
    """
    sessions = [s for s in filter_sessions(list_sessions(Path(library_dir)), client=client, mode=HOME_MODE)
                if s.status in ("complete", "ended unexpectedly") and s.started is not None and _has_heart_data(s.path)]
    if not sessions:
        return []
    minutes: dict[dt.date, float] = {}
    counts: dict[dt.date, int] = {}
    resting: dict[dt.date, list[float]] = {}
    for s in sessions:
        assert s.started is not None
        monday = _monday(s.started.date())
        minutes[monday] = minutes.get(monday, 0.0) + max(0.0, (s.duration_s or 0.0) / 60.0)
        counts[monday] = counts.get(monday, 0) + 1
        value = resting_ln_rmssd(s.path)
        if value is not None:
            resting.setdefault(monday, []).append(value)
    rows = []
    monday, last = min(minutes), max(minutes)
    while monday <= last:
        year, week, _ = monday.isocalendar()
        readings = resting.get(monday, [])
        rows.append(WeekRow(year, week, monday, minutes.get(monday, 0.0), counts.get(monday, 0),
                            statistics.median(readings) if readings else None, len(readings)))
        monday += dt.timedelta(days=7)
    return rows


def resting_to_show(rows: Iterable[WeekRow]) -> list[float | None]:
    """Each week's resting ln RMSSD as a chart draws it: None for a week with no reading or fewer
    than ``MIN_RESTING_READINGS`` (the median of one or two practices says too little to draw)."""
    return [row.resting_ln_rmssd if row.resting_ln_rmssd is not None and row.resting_readings >= MIN_RESTING_READINGS
            else None for row in rows]


def trend_texts() -> tuple[str, ...]:
    """Every fixed sentence this module can produce (for the claims and wording checks)."""
    return (*STATE_WORDS.values(), NOTE_TEXT)
