"""What the review window's event list and timeline strip show of a recorded session's events.

:func:`entries_of` reads a session's recorded events into :class:`Entry` lines (markers, notes,
review notes, cues, states, baselines, gaps; a marker undone live is listed but not drawn);
:func:`timeline_entry` is the line of one event, also for review notes added afterwards and for
re-analysed states (labelled so). A breathing-rate assessment's steps and result are listed in words
(:func:`assessment_text`: "step 2 of 5: 6.0 breaths/min", "assessment result: best 5.0, then 5.5
breaths/min"), so a double-click seeks there; its progress events are not listed. The strap "stopping" at the session's last data is the end of
the session and reads :data:`SESSION_ENDED`.

Thread: any (Qt-free; the review window calls it on the GUI thread).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from somafeedback.devices.events import GapEvent, TimelineEvent
from somafeedback.resonance.events import RESULT_EVENT, STEP_EVENT
from somafeedback.sessions.file import Session
from somafeedback.sessions.review_notes import is_review_note, is_undone_marker, undone_markers

STRAP_STOPPED = "the strap stopped"  # the regulation model's reason when the strap's data stop
SESSION_ENDED = "session ended"  # what the end of a replay says instead


@dataclass(frozen=True)
class Entry:
    """One line of the event list (and one mark on the strip)."""

    host_ns: int  # where a double-click seeks (for a gap: its start)
    kind: str  # marker | note | review | cue | state | baseline | gap | assessment
    text: str
    end_ns: int | None = None  # gaps: their end
    data: Any = None


def last_data_ns(session: Session) -> int | None:
    """The session-clock time of the last data the session recorded (None: no data)."""
    return max((item.host_ns for item in session.notifications), default=None)


def entries_of(session: Session) -> list[Entry]:
    """What the event list and the strip show of a session's recorded events."""
    found: list[Entry] = []
    ended_ns = last_data_ns(session)
    undone = undone_markers(e for e in session.events if isinstance(e, TimelineEvent))
    for event in session.events:
        if isinstance(event, GapEvent):
            found.append(Entry(event.start_ns, "gap", f"gap: no data for {event.duration_s:.1f} s", event.end_ns))
        elif isinstance(event, TimelineEvent) and is_undone_marker(event, undone):  # listed, not drawn on the strip
            found.append(Entry(event.host_ns, "undone", f"marker: {event.data.get('label')} (undone live)"))
        elif isinstance(event, TimelineEvent):
            entry = timeline_entry(event, ended_ns=ended_ns)
            if entry is not None:
                found.append(entry)
    return found


def timeline_entry(event: TimelineEvent, reanalyzed: bool = False, ended_ns: int | None = None) -> Entry | None:
    """The list line of one timeline event (None: not listed).

    ``ended_ns`` is the session's last data: the strap "stopping" there is the end of the
    session (its file or its recording), shown as "session ended", not as a lost signal.
    """
    data = event.data
    if is_review_note(event):
        author = f" — {data['author']}" if data.get("author") else ""
        return Entry(event.host_ns, "review", f"review note: {data.get('text')}{author}")
    if event.kind == "marker":
        return Entry(event.host_ns, "marker", f"marker: {data.get('label')}")
    if event.kind == "note":
        return Entry(event.host_ns, "note", f"note: {data.get('text')}")
    if event.kind == "cue":
        return Entry(event.host_ns, "cue", f"cue {data.get('action')}: {data.get('kind') or data.get('text')}")
    if event.kind == "state":
        reason = f" — {data['reason']}" if data.get("reason") else ""
        label = "state (re-analysed)" if reanalyzed else "state"
        if data.get("reason") == STRAP_STOPPED and ended_ns is not None and event.host_ns >= ended_ns:
            return Entry(event.host_ns, "state", SESSION_ENDED, data=SESSION_ENDED)
        return Entry(event.host_ns, "state", f"{label}: {data.get('state')}{reason}", data=str(data.get("state")))
    if event.kind == "baseline" and isinstance(data.get("hr_ref"), int | float):
        label = "baseline (re-analysed)" if reanalyzed else "baseline"
        return Entry(event.host_ns, "baseline", f"{label}: HR {data['hr_ref']:.0f} bpm", data=dict(data))
    if event.kind in (STEP_EVENT, RESULT_EVENT):
        text = assessment_text(event.kind, data)
        return Entry(event.host_ns, "assessment", text, data=dict(data)) if text else None
    return None


_STEP_WORDS: Final = {"start": "", "end": " ends", "skipped": " skipped", "repeat": " repeated"}


def _rate(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) else None


def assessment_text(kind: str, data: Mapping[str, Any]) -> str:
    """An assessment event's line in the event list ("" for the ones not listed: progress, rest)."""
    if kind == RESULT_EVENT:
        best, second = _rate(data.get("best_rate_bpm")), _rate(data.get("second_rate_bpm"))
        if best is None:
            return "assessment result: no step could be assessed"
        then = f", then {second:.1f}" if second is not None else ""
        return f"assessment result: best {best:.1f}{then} breaths/min"
    action = data.get("action")
    if action == "begin":
        return "assessment begins"
    if action == "stopped":
        return f"assessment stopped by the {data.get('by') or 'practitioner'}"
    rate, step, count = _rate(data.get("rate_bpm")), data.get("step"), data.get("planned_steps")
    if action not in _STEP_WORDS or rate is None:
        return ""
    where = f"step {step + 1} of {count}" if isinstance(step, int) and isinstance(count, int) else "step"
    return f"{where}{_STEP_WORDS[str(action)]}: {rate:.1f} breaths/min"


__all__ = ["SESSION_ENDED", "STRAP_STOPPED", "Entry", "assessment_text", "entries_of", "last_data_ns", "timeline_entry"]
