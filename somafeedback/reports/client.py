"""The client's version of a session report: what they practised, for how long, and what changed, in words.

:func:`client_report` turns a :class:`~somafeedback.reports.content.SessionReportContent` into a
few plain sentences a client can read on their own: the exercises practised (their titles),
how long the practice lasted, how the heart rate moved over the practice ("settled from about
78 to about 70 beats per minute"), whether the beat-to-beat variation was larger or smaller
towards the end, and the breathing rate. It holds no technical measures (no units such as ms²,
no ln RMSSD, no spectral ratios), no diagnosis, no state names of any theory and no verdict on
the person: it describes what the strap recorded. somafeedback is a wellness and practice tool,
not a medical device, and the text says so.

The practice is the session's ``practice`` phase when it has one (so a calibration minute at
the start does not count as a change), else the whole recording. "At the start" is the median
heart rate of the valid 60-s windows ending in the practice's first :data:`EDGE_S` seconds
(from one window after its start), "at the end" those ending in its last :data:`EDGE_S`
seconds; a change smaller than :data:`SAME_BPM` reads as "about the same".

Thread: any (pure).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np

from .common import WINDOW_S
from .content import SessionReportContent

EDGE_S: Final = 120.0  # s of the practice's start and end compared
SAME_BPM: Final = 3.0  # a smaller heart-rate change reads as "about the same"
PEAK_BPM: Final = 5.0  # a peak this far above both start and end is mentioned
VARIATION_RATIO: Final = 1.15  # beat-to-beat variation this much larger (or 1/this smaller) reads as a change
CLIENT_NOT_MEDICAL_TEXT: Final = (
    "This is a record of your practice, made by somafeedback, a wellness and practice tool. It is not a medical "
    "device and this is not a medical assessment: it describes what the heart-rate strap recorded, and says "
    "nothing about health or illness. Heart rate changes from day to day for many ordinary reasons.")
NO_EXERCISE_TEXT: Final = "No guided exercise was recorded in this session."


@dataclass(frozen=True)
class ClientReport:
    """The client version of one session report, as plain text."""

    title: str
    client: str | None
    date_text: str
    duration_text: str  # "about 25 minutes"
    practised: tuple[str, ...]  # exercise titles
    changes: tuple[str, ...]  # sentences: what changed over the practice
    not_medical_text: str = CLIENT_NOT_MEDICAL_TEXT

    def texts(self) -> tuple[str, ...]:
        """Every text of the report (for wording checks)."""
        return (self.title, self.date_text, self.duration_text, *self.practised, *self.changes,
                self.not_medical_text, NO_EXERCISE_TEXT)


def _minutes_text(seconds: float) -> str:
    minutes = round(seconds / 60.0)
    if seconds < 60.0:
        return "less than a minute"
    return "about 1 minute" if minutes == 1 else f"about {minutes} minutes"


def _practice(content: SessionReportContent) -> tuple[float, float]:
    """(start, end) of the practice in session seconds: its ``practice`` phase, else the whole recording."""
    for phase in content.phases:
        if phase.segment.label == "practice":
            return phase.segment.start_s, phase.segment.end_s
    return content.start_s, content.start_s + content.duration_s


def _edges(t: np.ndarray, values: np.ndarray, start: float, end: float) -> tuple[float | None, float | None]:
    """Median of the values whose 60-s window ends in the first / last EDGE_S of start..end."""
    edge = min(EDGE_S, max((end - start - WINDOW_S) / 3.0, 0.0))
    first = values[(t >= start + WINDOW_S) & (t <= start + WINDOW_S + edge)]
    last = values[(t >= end - edge) & (t <= end)]
    if edge <= 0 or not len(first) or not len(last):
        return None, None
    return float(np.median(first)), float(np.median(last))


def _heart_rate_sentences(content: SessionReportContent, start: float, end: float) -> list[str]:
    series = content.series
    inside = (series.hr_t_s >= start) & (series.hr_t_s <= end)
    begin, finish = _edges(series.hr_t_s, series.hr_bpm, start, end)
    if begin is None or finish is None:
        values = series.hr_bpm[inside]
        if not len(values):
            return ["The heart-rate strap did not record long enough for a heart rate to be described."]
        return [f"Your heart rate was around {round(float(np.median(values)))} beats per minute."]
    a, b = round(begin), round(finish)
    if abs(finish - begin) < SAME_BPM:
        sentences = [f"Your heart rate stayed about the same over the practice, around {round((begin + finish) / 2)} "
                     "beats per minute."]
    elif finish < begin:
        sentences = [f"Your heart rate settled from about {a} to about {b} beats per minute over the practice."]
    else:
        sentences = [f"Your heart rate went up from about {a} to about {b} beats per minute over the practice."]
    values, times = series.hr_bpm[inside], series.hr_t_s[inside]
    if len(values):
        k = int(np.argmax(values))
        peak = float(values[k])
        if peak >= max(begin, finish) + PEAK_BPM:
            minute = max(1, round((times[k] - start) / 60.0))
            sentences.append(f"On the way it was highest, about {round(peak)} beats per minute, around "
                             f"{minute} {'minute' if minute == 1 else 'minutes'} in.")
    return sentences


def _variation_sentence(content: SessionReportContent, start: float, end: float) -> str | None:
    series = content.series
    valid = series.rmssd_valid & (series.rmssd_ms > 0)
    begin, finish = _edges(series.rmssd_t_s[valid], series.rmssd_ms[valid], start, end)
    if begin is None or finish is None or begin <= 0:
        return None
    ratio = finish / begin
    what = "The small changes in the time from one heartbeat to the next"
    if ratio >= VARIATION_RATIO:
        return f"{what} were larger towards the end of the practice than at its start."
    if ratio <= 1.0 / VARIATION_RATIO:
        return f"{what} were smaller towards the end of the practice than at its start."
    return f"{what} were about as large at the end of the practice as at its start."


def _breathing_sentence(content: SessionReportContent) -> str | None:
    keys = [f.key for f in content.figures]
    for key, how in (("breathing_chest", "from the movement of your chest"),
                     ("breathing_hr", "as read from the rhythm of your heart")):
        if key in keys:
            value = content.figure(key).value
            if value is not None and math.isfinite(value):
                return f"Your breathing, {how}, was about {round(value)} breaths per minute."
    return None


def client_report(content: SessionReportContent, titles: Mapping[str, str] | None = None) -> ClientReport:
    """The client version of ``content``; ``titles`` maps exercise ids to their titles
    (default: those of :func:`~somafeedback.regulation.exercises.load_exercises`)."""
    if titles is None:
        from somafeedback.regulation.exercises import ExerciseError, load_exercises

        try:
            titles = {key: exercise.title for key, exercise in load_exercises().items()}
        except (ExerciseError, OSError):
            titles = {}
    practised = tuple(dict.fromkeys(titles.get(e, e.replace("-", " ").replace("_", " ").capitalize())
                                    for e in content.exercises))
    start, end = _practice(content)
    changes = _heart_rate_sentences(content, start, end)
    for sentence in (_variation_sentence(content, start, end), _breathing_sentence(content)):
        if sentence is not None:
            changes.append(sentence)
    if content.deidentified or content.started is None:
        date_text = "Session" if content.deidentified else "Session (date not recorded)"
    else:
        date_text = f"Session of {content.started.day} {content.started.strftime('%B %Y')}"
    who = None if content.deidentified else content.client
    return ClientReport(
        title="Your practice session" if who is None else f"Your practice session, {who}",
        client=who, date_text=date_text,
        duration_text=f"You practised for {_minutes_text(end - start)}"
                      + (f" (the whole recording lasted {_minutes_text(content.duration_s)})."
                         if end - start < content.duration_s - 30.0 else "."),
        practised=practised, changes=tuple(changes),
    )


def client_texts() -> tuple[str, ...]:
    """Every fixed sentence of the client version (for wording checks)."""
    return (CLIENT_NOT_MEDICAL_TEXT, NO_EXERCISE_TEXT)


__all__ = ["CLIENT_NOT_MEDICAL_TEXT", "ClientReport", "client_report", "client_texts"]
