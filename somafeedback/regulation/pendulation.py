"""Pendulation swings: each rise of heart rate above the client's usual range, its peak, and the time back.

In Somatic Experiencing, pendulation is the movement between activation and settling. This module
describes it in physiology only (heart rate in bpm, times in seconds; never a nervous-system state):

* **HR30**: the median heart rate of the accepted beats (not set aside as artifacts) of the last
  :data:`HR30_WINDOW_S` seconds, once at least :data:`HR30_MIN_BEATS` of them are there; a gap in the
  data (link or contact lost) empties the window. The same value the state model judges with
  (:mod:`somafeedback.regulation.states`).
* **Usual band**: its top is ``HR_ref + max(4, 1.25 sd_HR)`` from the session's baseline
  (``RegulationModel.thresholds()["band_top_bpm"]``), measured in calibration or taken from earlier
  sessions ("skipped"); when today's baseline was above the client's usual range and the event
  carries that range (``usual``), the usual range, as the state model judges then. Without a baseline
  nothing is judged.
* A **swing starts** when HR30 rises above the band top (only after HR30 was seen at or below it: after
  a gap, or a new baseline, the next swing starts from a fresh rise). Its **peak** is the highest HR30
  while above (bpm, and bpm above ``HR_ref``). It has **recovered** when HR30 is back at or below the
  band top and stays there for :data:`BACK_HOLD_S` (so a single value wobbling on the line does not
  split one swing in two); the return time is the first value back. **Recovery time** = peak -> back;
  **rise time** = start -> peak; **time above** = start -> back.
* It **counts** only when its peak reaches the band top + :data:`MIN_HEIGHT_BPM` and HR30 stays above
  the band top for at least :data:`MIN_ABOVE_S` (shorter or lower excursions are noise, not swings).
* A swing never disappears: one not back when the data end says "not back by the end", one cut by a gap
  "signal lost before return", one interrupted by a new baseline "usual range measured again before
  return"; while it runs (live) it is "above the usual range".

Caveats: HR30 lags heart rate by up to ~15 s (a 30-s median), so starts and returns are ~15 s later than
the beats themselves and very short rises do not show; the band depends on the baseline's quality; heart
rate also rises with movement, talking or posture, which this does not tell apart.

:class:`SwingTracker` applies the rule to (time, HR30) values; :class:`LiveSwings` feeds it beat by beat
from metric sets and timeline events (the live window); :func:`swings_from_beats` and
:func:`session_swings` apply the same tracker to a recorded session (review, report).

Thread: any (pure; one tracker per client strap, fed from one thread).
"""

from __future__ import annotations

import enum
import math
import statistics
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from somafeedback.devices.events import TimelineEvent
from somafeedback.sessions.client_strap import CLIENT_STRAP

from .states import Baseline, RegulationModel

HR30_WINDOW_S: Final = 30.0  # s, the window of HR30 (as RegulationModel)
HR30_MIN_BEATS: Final = 10  # accepted beats needed in the window for an HR30
MIN_HEIGHT_BPM: Final = 2.0  # bpm, a swing's peak HR30 is at least this far above the band top
MIN_ABOVE_S: Final = 20.0  # s, HR30 above the band top at least this long for a swing to count
BACK_HOLD_S: Final = 10.0  # s, HR30 at or below the band top this long before the return counts

TEXT: Final = (
    "A swing starts when heart rate (HR30: the median of the last 30 s of accepted beats) rises above the top "
    "of this client's usual range (baseline heart rate + max(4 bpm, 1.25 × its spread)). Its peak is the "
    "highest HR30 above the range; recovery is the time from the peak until HR30 is back at or below the top "
    f"of the range (held for {BACK_HOLD_S:.0f} s). Swings lower than {MIN_HEIGHT_BPM:.0f} bpm above the range "
    f"or shorter than {MIN_ABOVE_S:.0f} s are not counted. HR30 trails the beats by up to about 15 s; heart "
    "rate also rises with movement, talking and posture.")


class Outcome(enum.StrEnum):
    BACK = "back within the usual range"
    ONGOING = "above the usual range"
    NOT_BACK = "not back by the end"
    SIGNAL_LOST = "signal lost before return"
    RANGE_CHANGED = "usual range measured again before return"


@dataclass(frozen=True, slots=True)
class Band:
    """The usual range a swing is judged against (bpm)."""

    hr_ref_bpm: float
    band_top_bpm: float

    @staticmethod
    def of_baseline(baseline: Baseline | Mapping[str, Any] | None) -> Band | None:
        """The band of a baseline (or a recorded baseline's dict; extra keys ignored); None when unreadable."""
        if baseline is None:
            return None
        try:
            if not isinstance(baseline, Baseline):
                baseline = Baseline.from_dict(dict(baseline))
            top = RegulationModel(baseline=baseline).thresholds()["band_top_bpm"]
            ref = float(baseline.hr_ref)
        except (TypeError, KeyError, ValueError, AttributeError):
            return None
        return Band(ref, float(top)) if math.isfinite(ref) and math.isfinite(top) else None


@dataclass(frozen=True, slots=True)
class Swing:
    """One swing above the usual range (times in session seconds, heart rates as HR30 in bpm)."""

    number: int  # 1, 2, ... in the session
    start_s: float  # HR30 first above the band top
    peak_s: float
    peak_bpm: float
    hr_ref_bpm: float
    band_top_bpm: float
    last_above_s: float  # the last HR30 above the band top seen
    back_s: float | None  # HR30 back at or below the band top (None: not back)
    outcome: Outcome

    @property
    def peak_above_usual_bpm(self) -> float:
        """Peak HR30 above the baseline heart rate (HR_ref)."""
        return self.peak_bpm - self.hr_ref_bpm

    @property
    def rise_s(self) -> float:
        return self.peak_s - self.start_s

    @property
    def recovery_s(self) -> float | None:
        """Peak -> back (None: not back)."""
        return None if self.back_s is None else self.back_s - self.peak_s

    @property
    def above_s(self) -> float:
        """Start -> back (or to the last value seen above, when not back)."""
        return (self.back_s if self.back_s is not None else self.last_above_s) - self.start_s

    @property
    def recovery_text(self) -> str:
        """The recovery time as m:ss, or why there is none."""
        return clock(self.recovery_s) if self.recovery_s is not None else str(self.outcome)

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "start_s": round(self.start_s, 1), "peak_s": round(self.peak_s, 1),
                "peak_bpm": round(self.peak_bpm, 1), "peak_above_usual_bpm": round(self.peak_above_usual_bpm, 1),
                "band_top_bpm": round(self.band_top_bpm, 1), "rise_s": round(self.rise_s, 1),
                "recovery_s": None if self.recovery_s is None else round(self.recovery_s, 1),
                "above_s": round(self.above_s, 1), "outcome": str(self.outcome)}


def clock(t_s: float) -> str:
    """Seconds as ``m:ss`` (``h:mm:ss`` past an hour)."""
    t = max(0, int(round(t_s)))
    return f"{t // 3600}:{t // 60 % 60:02d}:{t % 60:02d}" if t >= 3600 else f"{t // 60}:{t % 60:02d}"


SWING_HEADERS: Final = ("Swing", "Started", "Peak (above usual)", "Recovery", "Rise", "Time above")
SWING_HEADER_TIPS: Final = ("", "when HR30 rose above the top of the usual range (m:ss of the session)",
                            "the highest HR30, and how far above the usual heart rate (HR_ref)",
                            "from the peak until HR30 was back at or below the top of the usual range",
                            "from the start to the peak", "from the start until back within the usual range")


def swing_row(swing: Swing) -> tuple[str, ...]:
    """One swing in words and m:ss, under :data:`SWING_HEADERS` (the view's and the report's table)."""
    suffix = {Outcome.BACK: "", Outcome.ONGOING: " so far"}.get(swing.outcome, " or more")
    return (str(swing.number), clock(swing.start_s),
            f"{swing.peak_bpm:.0f} bpm (+{swing.peak_above_usual_bpm:.0f})",
            swing.recovery_text, clock(swing.rise_s), clock(swing.above_s) + suffix)


class Hr30:
    """HR30 beat by beat: the median HR of the accepted beats of the last 30 s (None with fewer than 10)."""

    def __init__(self) -> None:
        self._hr: deque[tuple[float, float]] = deque()

    def beat(self, t_s: float, rr_ms: float | None, flagged: bool) -> float | None:
        """One beat (``flagged``: set aside as an artifact); the HR30 at it."""
        if not flagged and rr_ms is not None and rr_ms > 0:
            self._hr.append((t_s, 60000.0 / rr_ms))
        while self._hr and self._hr[0][0] <= t_s - HR30_WINDOW_S:
            self._hr.popleft()
        return statistics.median(hr for _, hr in self._hr) if len(self._hr) >= HR30_MIN_BEATS else None

    def gap(self) -> None:
        """The data stopped (link or contact lost): the window starts afresh."""
        self._hr.clear()


@dataclass(slots=True)
class _Open:
    start_s: float
    peak_s: float
    peak_bpm: float
    last_above_s: float
    back_since: float | None = None
    number: int | None = None  # given once the excursion counts as a swing


class SwingTracker:
    """The swing rule on (time, HR30) values; every call returns the swings it created or changed."""

    def __init__(self, band: Band | None = None) -> None:
        self.band = band
        self.swings: list[Swing] = []  # counted swings, in order (the running one last, while it runs)
        self._open: _Open | None = None
        self._armed = False  # HR30 seen at or below the band top since the last gap / baseline

    def set_band(self, band: Band | None, t_s: float) -> list[Swing]:
        """A new usual range (a baseline measured or skipped; None: measuring again) from ``t_s``."""
        if band == self.band:
            return []
        changed = self._close(t_s, Outcome.RANGE_CHANGED)
        self.band = band
        self._armed = False
        return changed

    def update(self, t_s: float, hr30: float | None) -> list[Swing]:
        """HR30 at ``t_s`` (None: no HR30, e.g. after a gap: a running swing ends as "signal lost")."""
        if self.band is None:
            return []
        if hr30 is None:
            changed = self._close(t_s, Outcome.SIGNAL_LOST)
            self._armed = False
            return changed
        top = self.band.band_top_bpm
        swing = self._open
        if swing is None:
            if hr30 <= top:
                self._armed = True
            elif self._armed:
                self._open = _Open(t_s, t_s, hr30, t_s)
            return []
        if hr30 > top:
            swing.back_since = None
            swing.last_above_s = t_s
            if hr30 > swing.peak_bpm:
                swing.peak_bpm, swing.peak_s = hr30, t_s
            return self._publish(Outcome.ONGOING) if self._counts(swing) else []
        if swing.back_since is None:
            swing.back_since = t_s
        if t_s - swing.back_since >= BACK_HOLD_S:
            changed = self._close(t_s, Outcome.BACK)
            self._armed = True
            return changed
        return []

    def finish(self, t_s: float) -> list[Swing]:
        """The data ended: a running swing says "not back by the end"."""
        return self._close(t_s, Outcome.NOT_BACK)

    @property
    def running(self) -> Swing | None:
        """The swing under way (counted, not yet back), if any."""
        return self.swings[-1] if self.swings and self.swings[-1].outcome is Outcome.ONGOING else None

    def _counts(self, swing: _Open) -> bool:
        assert self.band is not None
        return (swing.peak_bpm >= self.band.band_top_bpm + MIN_HEIGHT_BPM
                and swing.last_above_s - swing.start_s >= MIN_ABOVE_S)

    def _close(self, t_s: float, why: Outcome) -> list[Swing]:
        swing, self._open = self._open, None
        if swing is None or not self._counts(swing):
            return []  # nothing open, or an excursion too small to be a swing
        self._open = swing
        outcome = Outcome.BACK if swing.back_since is not None else why  # it was back already (in the hold)
        changed = self._publish(outcome)
        self._open = None
        return changed

    def _publish(self, outcome: Outcome) -> list[Swing]:
        swing, band = self._open, self.band
        assert swing is not None and band is not None
        back = swing.back_since if outcome is Outcome.BACK else None
        number = swing.number if swing.number is not None else len(self.swings) + 1
        row = Swing(number, swing.start_s, swing.peak_s, swing.peak_bpm, band.hr_ref_bpm, band.band_top_bpm,
                    swing.last_above_s, back, outcome)
        if swing.number is None:
            swing.number = number
            self.swings.append(row)
        elif self.swings[number - 1] == row:
            return []
        else:
            self.swings[number - 1] = row
        return [row]


# -- beats and events -> swings (live and recorded) ------------------------------------------------
class BeatLike(Protocol):
    """What the swing tracker reads of a beat (read-only: a frozen BeatMetrics is one)."""

    @property
    def t_s(self) -> float: ...

    @property
    def rr_ms(self) -> float | None: ...  # None: a gap

    @property
    def flagged(self) -> bool: ...


def band_change(event: TimelineEvent) -> tuple[bool, Band | None]:
    """(whether ``event`` changes the usual range, the new band): a measured ``baseline``, a calibration
    ``skipped`` for a stored baseline, or ``restarted`` (measuring again: no band)."""
    data = event.data
    if event.kind == "baseline":
        usual = data.get("usual")  # today's baseline above the client's usual range: judged against the usual one
        if data.get("above_usual_range") is True and isinstance(usual, Mapping) and Band.of_baseline(usual) is not None:
            return True, Band.of_baseline(usual)
        return True, Band.of_baseline(data)
    if event.kind == "calibration" and data.get("action") == "skipped" and isinstance(data.get("baseline"), Mapping):
        return True, Band.of_baseline(data["baseline"])
    if event.kind == "calibration" and data.get("action") == "restarted":
        return True, None
    return False, None


class LiveSwings:
    """Swings beat by beat from the client strap's metric sets and the timeline events (thread: the caller's)."""

    def __init__(self, band: Band | None = None) -> None:
        self.hr30 = Hr30()
        self.tracker = SwingTracker(band)
        self._t_s = 0.0

    @property
    def swings(self) -> list[Swing]:
        return self.tracker.swings

    def metrics(self, beat: BeatLike) -> list[Swing]:
        """One metric set (``rr_ms`` None: a gap); the swings created or changed."""
        self._t_s = beat.t_s
        if beat.rr_ms is None:
            self.hr30.gap()
            return self.tracker.update(beat.t_s, None)
        return self.tracker.update(beat.t_s, self.hr30.beat(beat.t_s, beat.rr_ms, beat.flagged))

    def event(self, event: TimelineEvent, t_s: float | None = None) -> list[Swing]:
        """A timeline event (baselines change the band); ``t_s`` its time on the beats' clock (default: the
        event's ``host_ns``)."""
        changes, band = band_change(event)
        if not changes:
            return []
        return self.tracker.set_band(band, event.host_ns / 1e9 if t_s is None else t_s)

    def finish(self, t_s: float | None = None) -> list[Swing]:
        return self.tracker.finish(self._t_s if t_s is None else t_s)


def bands_of(events: Iterable[TimelineEvent], origin_ns: int,
             manifest_baseline: Mapping[str, Any] | None = None) -> list[tuple[float, Band | None]]:
    """The usual range over a recorded session: (from session second, band) in time order.

    The manifest's baseline counts from the start only when no event sets one (a session begun on a
    stored baseline)."""
    found = []
    for event in sorted(events, key=lambda e: e.host_ns):
        changes, band = band_change(event)
        if changes:
            found.append(((event.host_ns - origin_ns) / 1e9, band))
    if not found and manifest_baseline is not None:
        band = Band.of_baseline(manifest_baseline)
        if band is not None:
            found.append((-math.inf, band))
    return found


def swings_from_beats(beats: Iterable[BeatLike | tuple[float, float | None, bool]],
                      bands: Sequence[tuple[float, Band | None]], end_s: float | None = None) -> list[Swing]:
    """Every swing of a recorded beat series (session seconds; ``rr_ms`` None: a gap), with the usual range
    changing as ``bands`` say; a swing still running at the end (``end_s``, default the last beat) is "not
    back by the end"."""
    live = LiveSwings()
    pending = sorted(bands, key=lambda b: b[0])
    k = 0
    last = -math.inf
    for beat in beats:
        t_s, rr_ms, flagged = beat if isinstance(beat, tuple) else (beat.t_s, beat.rr_ms, beat.flagged)
        while k < len(pending) and pending[k][0] <= t_s:
            live.tracker.set_band(pending[k][1], pending[k][0])
            k += 1
        if rr_ms is None:
            live.hr30.gap()
            live.tracker.update(t_s, None)
        else:
            live.tracker.update(t_s, live.hr30.beat(t_s, rr_ms, flagged))
        last = t_s
    live.tracker.finish(end_s if end_s is not None else last)
    return list(live.swings)


def beats_with_gaps(t_s: Sequence[float], rr_ms: Sequence[float], flagged: Sequence[bool],
                    segments: Sequence[int]) -> list[tuple[float, float | None, bool]]:
    """Decoded beats as (t, rr, flagged), with a gap (rr None) where the gap-free segment changes."""
    out: list[tuple[float, float | None, bool]] = []
    for i, t in enumerate(t_s):
        if i and segments[i] != segments[i - 1]:
            out.append((float(t), None, False))
        out.append((float(t), float(rr_ms[i]), bool(flagged[i])))
    return out


def session_bands(session: Any, origin_ns: int) -> list[tuple[float, Band | None]]:
    """The usual range over a recorded :class:`~somafeedback.sessions.file.Session` (:func:`bands_of` of its events
    and its manifest's baseline), in seconds since ``origin_ns``."""
    manifest = session.manifest.get("baseline")
    return bands_of([e for e in session.events if isinstance(e, TimelineEvent)], origin_ns,
                    manifest if isinstance(manifest, Mapping) else None)


def series_swings(series: Any, bands: Sequence[tuple[float, Band | None]]) -> list[Swing]:
    """The swings of a decoded beat series (:class:`~somafeedback.sessions.segments.SessionBeatSeries`)."""
    return swings_from_beats(beats_with_gaps(series.t_s, series.rr_ms, series.flagged, series.gap_segments), bands)


def session_swings(session: Any, origin_ns: int, strap_id: str = CLIENT_STRAP) -> tuple[list[Swing], bool]:
    """(swings, whether the session had a usual range) of a recorded :class:`~somafeedback.sessions.file.Session`:
    its decoded beats (as the review reads them) against its recorded baselines, in seconds since ``origin_ns``."""
    from somafeedback.sessions.segments import session_beat_series

    bands = session_bands(session, origin_ns)
    if not bands:
        return [], False
    return series_swings(session_beat_series(session.timeline, origin_ns, strap_id), bands), True


__all__ = [
    "BACK_HOLD_S", "Band", "HR30_MIN_BEATS", "HR30_WINDOW_S", "Hr30", "LiveSwings", "MIN_ABOVE_S", "MIN_HEIGHT_BPM",
    "Outcome", "SWING_HEADERS", "SWING_HEADER_TIPS", "Swing", "SwingTracker", "TEXT", "band_change", "bands_of", "beats_with_gaps", "clock",
    "series_swings", "session_bands", "session_swings", "swing_row", "swings_from_beats",
]
