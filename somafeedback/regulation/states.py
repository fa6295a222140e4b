"""Regulation states relative to the client's own baseline, with hysteresis and dwell times.

Driven beat by beat by the metric pipeline's output (research/somatic.md §2.5 and §3; all
numbers are defaults in :class:`RegulationConfig`, configurable per client; docs/regulation.md
explains them for practitioners):

* **Baseline**: ``settle_s`` of settling, then at least ``measure_s`` of measuring give
  ``HR_ref`` (median HR), ``sd_HR`` (SD of 10-s HR means), ``ln_ref`` (median 60-s
  ln RMSSD, stepped every 10 s) and ``sd_ln``. The measuring window is the last ``measure_s``;
  it must hold ``min_baseline_clean_s`` of accepted beats, ``min_baseline_windows`` 10-s
  steps with a valid 60-s ln RMSSD window and at most 5 % rejected beats; otherwise measuring
  goes on (the window slides) and the reason says what is missing. The baseline reports the
  real amount (``clean_s``, ``windows``). Or a stored baseline: the rolling median of the
  client's earlier sessions. With such a history (``usual``), a measured baseline whose HR is
  above the usual range's top is flagged (``above_usual_range``) and the states are judged
  against the usual range instead (no false "quiet drop" when an activated client settles).
* Decision values, from accepted beats: ``HR30`` = median HR of the last 30 s; ``slope60`` =
  least-squares slope of the 5-s HR means of the last 60 s (bpm/min); ``ln60`` = the
  pipeline's 60-s ln RMSSD (used only while its window is valid and the signal gate allows it).
* Thresholds: top of band ``HR_ref + max(4, 1.25 sd_HR)``; above band
  ``HR_ref + max(8, 2.5 sd_HR)``; ln RMSSD fall ``ln_ref - max(0.35, 2 sd_ln)``; quiet drop
  ``HR_ref - max(6, 2 sd_HR)``.
* Transitions: ``rising`` when slope60 >= 4 bpm/min and HR30 above the top of band for 20 s;
  ``above band`` when HR30 is above band for 30 s *and* ln60 has fallen (or slope60 >= 3);
  ``settling`` when HR30 drops below the above-band line with slope60 <= -2 (or stays below
  it for 20 s); ``in band`` again only after HR30 is within the top of band and ln60 has
  recovered to ``ln_ref - max(0.15, sd_ln)`` for 60 s: entry and exit thresholds differ and
  every change needs its condition held, so states never flicker. Every hold counts judged
  time only: holds restart after any freeze.
* ``quiet drop — check in?``: HR30 below the quiet-drop line for 60 s, with no resource
  marker in the last 2 min and, when chest motion streams, no movement for 60 s. Practitioner-facing
  only: a prompt to look, never a claim about the client's state.
* The signal gate (:class:`Signal`), on the share of rejected beats in the last 30 s (counted
  out of at least ``min_artifact_beats`` beats, so one flagged beat in a filling window is not
  a poor signal): up to ``max_artifact_pct`` the signal is ``clean``; up to
  ``lost_artifact_pct`` it is ``HR only`` (states are still judged on HR30, a median of
  accepted beats; the ln RMSSD criteria are off); above it, or when link or contact is lost,
  the model freezes as ``signal lost``. When beats return it is ``re-checking`` for
  ``recheck_s`` (and until HR30 is known again), then the state is **re-judged** from the
  current values, never restored blindly. ``paused`` holds it on request.
* Movement seen by the chest accelerometer (H10), or a marked movement block (a script's
  ``pause_judging`` step, the practitioner's B key in CSE; see ``regulation_session``), freezes
  it the same way as ``moving``; heart rate while moving is dropped, then a short re-check.

* The practitioner may measure the baseline again (:meth:`RegulationModel.restart_calibration`)
  or skip it for a stored one (:meth:`RegulationModel.use_baseline`);
  :meth:`RegulationModel.calibration_progress` says how far the measuring is.

This describes physiology only (heart rate above or within the client's usual range); it
does not detect emotions or nervous-system states.

Thread: any; synchronous, one model per client strap.
"""

from __future__ import annotations

import enum
import math
import statistics
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from somafeedback.hrv.pipeline import BeatMetrics


class RegulationState(enum.StrEnum):
    CALIBRATING = "calibrating"
    IN_BAND = "in band"
    RISING = "rising"
    ABOVE_BAND = "above band"
    SETTLING = "settling"
    QUIET_DROP = "quiet drop — check in?"
    SIGNAL_LOST = "signal lost"  # link or contact lost, or most recent beats rejected: judging holds
    LOW_SIGNAL = "signal lost"  # the old name ("low signal" before issue #14), an alias of SIGNAL_LOST
    RECHECKING = "re-checking"  # beats are back: a short wait, then the state is judged afresh
    MOVING = "moving"  # the chest accelerometer shows movement: judgement holds until it ends
    PAUSED = "paused"


JUDGED = (RegulationState.IN_BAND, RegulationState.RISING, RegulationState.ABOVE_BAND,
          RegulationState.SETTLING, RegulationState.QUIET_DROP)
FROZEN = (RegulationState.SIGNAL_LOST, RegulationState.RECHECKING, RegulationState.MOVING)


class Signal(enum.StrEnum):
    """What the signal gate allows (:attr:`RegulationModel.signal`)."""

    CLEAN = "clean"  # HR and ln RMSSD criteria
    HR_ONLY = "HR only"  # a few beats rejected: HR judged, ln RMSSD criteria off
    LOST = "signal lost"  # nothing judged


@dataclass(frozen=True, slots=True)
class RegulationConfig:
    """Defaults from research/somatic.md §2.5 and §3.2 (times in s, HR in bpm, slopes in bpm/min)."""

    settle_s: float = 60.0
    measure_s: float = 240.0  # the measuring window (it slides on until it holds enough clean data)
    max_baseline_artifact_pct: float = 5.0
    min_baseline_clean_s: float = 180.0  # s of accepted beats inside the measuring window
    min_baseline_windows: int = 12  # distinct 10-s steps with a valid 60-s ln RMSSD window
    band_top_bpm: float = 4.0
    band_top_sd: float = 1.25
    above_bpm: float = 8.0
    above_sd: float = 2.5
    ln_fall: float = 0.35
    ln_fall_sd: float = 2.0
    ln_recovered: float = 0.15
    quiet_bpm: float = 6.0
    quiet_sd: float = 2.0
    rising_slope: float = 4.0
    still_rising_slope: float = 3.0
    settling_slope: float = -2.0
    rising_dwell_s: float = 20.0
    above_dwell_s: float = 30.0
    below_dwell_s: float = 20.0
    in_band_dwell_s: float = 60.0
    quiet_dwell_s: float = 60.0
    resource_quiet_s: float = 120.0  # no quiet-drop prompt this soon after a resource marker
    recheck_s: float = 10.0  # s of beats after a problem before the state is judged afresh
    max_artifact_pct: float = 5.0  # % rejected in the last 30 s above which the ln RMSSD criteria are off
    lost_artifact_pct: float = 20.0  # % rejected in the last 30 s above which nothing is judged (signal lost)
    # a share of rejected beats counts out of at least this many beats: one flagged beat among the
    # first few of a window that is still filling is not "5 % of the window" (clean data stays clean)
    min_artifact_beats: int = 30


@dataclass(frozen=True, slots=True)
class Baseline:
    hr_ref: float  # bpm
    sd_hr: float  # bpm, SD of 10-s HR means
    ln_ref: float  # ln(ms)
    sd_ln: float
    artifact_pct: float
    source: str  # "calibration" or "history"
    window_s: float  # s spanned by the measuring window
    clean_s: float | None = None  # s of accepted beats in it (None: stored before issue #14)
    windows: int | None = None  # 10-s steps with a valid 60-s ln RMSSD window in it
    above_usual_range: bool | None = None  # HR above the client's usual range (None: no history to compare)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def band_top_bpm(self, config: RegulationConfig) -> float:
        return self.hr_ref + max(config.band_top_bpm, config.band_top_sd * self.sd_hr)

    @staticmethod
    def from_dict(row: Mapping[str, Any]) -> Baseline:
        """A stored baseline; fields it lacks (older sessions) take their defaults, unknown ones are ignored."""
        known = {f.name for f in fields(Baseline)}
        return Baseline(**{k: v for k, v in row.items() if k in known})

    @staticmethod
    def from_history(baselines: Sequence[Baseline | dict[str, Any]], last: int = 10) -> Baseline:
        """Rolling median of the last ``last`` stored session baselines."""
        rows = [b if isinstance(b, Baseline) else Baseline.from_dict(b) for b in baselines][-last:]
        if not rows:
            raise ValueError("no stored baselines for this client yet")
        clean = [b.clean_s for b in rows if b.clean_s is not None]
        windows = [b.windows for b in rows if b.windows is not None]
        return Baseline(
            statistics.median(b.hr_ref for b in rows), statistics.median(b.sd_hr for b in rows),
            statistics.median(b.ln_ref for b in rows), statistics.median(b.sd_ln for b in rows),
            statistics.median(b.artifact_pct for b in rows), "history", statistics.median(b.window_s for b in rows),
            statistics.median(clean) if clean else None, round(statistics.median(windows)) if windows else None,
        )


@dataclass(frozen=True, slots=True)
class Features:
    """The decision values at one beat."""

    t_s: float
    hr30: float | None
    slope60: float | None  # bpm/min
    ln60: float | None  # None while the 60-s window is not valid


@dataclass(frozen=True, slots=True)
class StateChange:
    t_s: float
    previous: RegulationState
    state: RegulationState
    reason: str
    features: Features
    signal: Signal = Signal.CLEAN  # what the gate allowed at this change

    def as_dict(self) -> dict[str, Any]:
        f = self.features
        return {"previous": str(self.previous), "state": str(self.state), "reason": self.reason,
                "hr30_bpm": None if f.hr30 is None else round(f.hr30, 1),
                "slope60_bpm_per_min": None if f.slope60 is None else round(f.slope60, 2),
                "ln_rmssd_60s": None if f.ln60 is None else round(f.ln60, 3), "signal": str(self.signal)}


class _Held:
    """How long a condition has held continuously (in beat time)."""

    def __init__(self) -> None:
        self.since: float | None = None

    def update(self, true: bool, t_s: float) -> float:
        if not true:
            self.since = None
            return 0.0
        if self.since is None:
            self.since = t_s
        return t_s - self.since


@dataclass
class _Calibration:
    began_s: float | None = None  # the first clean beat of this attempt (settling starts)
    start_s: float | None = None  # measuring starts (after ``settle_s``)
    hr_points: deque[tuple[float, float, float]] = field(default_factory=deque)  # (t, hr, rr s) of accepted beats
    ln_points: deque[tuple[float, float]] = field(default_factory=deque)  # (t, 60-s ln RMSSD) of valid windows
    beats: deque[tuple[float, bool]] = field(default_factory=deque)  # (t, flagged) of every beat measured
    missing: str = ""  # why measuring goes on past ``measure_s`` ("" while it need not)


class RegulationModel:
    """States relative to the client's own baseline, one beat at a time.

    ``usual``: the client's usual range from earlier sessions (optional); a baseline measured
    today is compared with it (``Baseline.above_usual_range``).
    """

    def __init__(self, config: RegulationConfig = RegulationConfig(), baseline: Baseline | None = None,
                 usual: Baseline | None = None) -> None:
        self.config = config
        self.baseline = baseline
        self.usual = usual
        self.state = RegulationState.IN_BAND if baseline else RegulationState.CALIBRATING
        self.signal = Signal.CLEAN
        self._judged = self.state  # the last judged state, kept while frozen
        self._hr: deque[tuple[float, float]] = deque()  # (t, hr) of accepted beats, last 60 s
        self._beats: deque[tuple[float, bool]] = deque()  # (t, flagged), last 30 s
        self._clean_since: float | None = None  # first beat since the last problem (None: none yet)
        self._calibration = _Calibration()
        self._resource_at = -math.inf
        self._resource_marks: list[float] = []  # every resource marker's time (an undo takes one back)
        self._paused = False
        self._held = {name: _Held() for name in ("rising", "above", "below_above", "back_in_band", "quiet", "quiet_end", "off_band_top")}
        self._moving = False  # any movement source says moving (the accelerometer, or a marked movement block)
        self._moving_sources: set[str] = set()
        self._last_motion_s: float | None = None  # last movement seen (None: no accelerometer reports)
        self.features = Features(0.0, None, None, None)

    @property
    def reference(self) -> Baseline | None:
        """The range states are judged against: today's baseline, or the usual one when today's was above it."""
        if self.baseline is not None and self.baseline.above_usual_range and self.usual is not None:
            return self.usual
        return self.baseline

    # -- outside events -----------------------------------------------------------------
    def signal_lost(self, t_s: float, why: str) -> list[StateChange]:
        """Link or contact lost: freeze until clean beats return (then re-check and judge afresh)."""
        self._freeze()
        self._hr.clear()
        self._beats.clear()
        self.signal = Signal.LOST
        return self._move(RegulationState.SIGNAL_LOST, t_s, why)

    def movement(self, t_s: float, moving: bool, source: str = "accelerometer") -> list[StateChange]:
        """Movement from ``source``: the chest accelerometer, or a marked movement block (``script``,
        ``practitioner``). Movement moves heart rate for its own reasons, so the state holds
        (``moving``) while any source says moving; then a short re-check."""
        if source == "accelerometer":
            if self._last_motion_s is None or moving:
                self._last_motion_s = t_s if moving else -math.inf
        elif not moving:
            self._last_motion_s = t_s  # a block just ended: no quiet-drop prompt straight after it
        if moving:
            self._moving_sources.add(source)
        else:
            self._moving_sources.discard(source)
        was, self._moving = self._moving, bool(self._moving_sources)
        if self._moving and not was and not self._paused and self.baseline is not None:  # calibration just waits
            self._freeze()
            return self._move(RegulationState.MOVING, t_s, "movement" if source == "accelerometer" else "movement block")
        if was and not self._moving:
            self._hr.clear()  # heart rate while moving is not what the states judge
            self._clean_since = None
        return []

    def pause(self, t_s: float) -> list[StateChange]:
        self._paused = True
        self._freeze()
        return self._move(RegulationState.PAUSED, t_s, "paused by the practitioner")

    def resume(self, t_s: float) -> list[StateChange]:
        """Judging goes on after a short re-check (the state is judged afresh, not restored)."""
        self._paused = False
        if self.baseline is None:
            return self._move(RegulationState.CALIBRATING, t_s, "resumed: measuring the baseline")
        self._clean_since = None
        return self._move(RegulationState.RECHECKING, t_s, "resumed: re-checking the signal")

    def marker(self, kind: str, t_s: float) -> None:
        if kind == "resource":
            self._resource_marks.append(t_s)
            self._resource_at = max(self._resource_marks)

    def undo_marker(self, kind: str, t_s: float) -> None:
        """A marker taken back live (the practitioner's undo): as if it had not been set."""
        if kind == "resource" and t_s in self._resource_marks:
            self._resource_marks.remove(t_s)
            self._resource_at = max(self._resource_marks, default=-math.inf)

    def _freeze(self) -> None:
        """Judging stops: every hold starts afresh once it resumes (holds count judged time only)."""
        self._clean_since = None
        self._reset_holds()

    def _reset_holds(self) -> None:
        for held in self._held.values():
            held.since = None

    # -- beats ----------------------------------------------------------------------------
    def update(self, m: BeatMetrics) -> list[StateChange]:
        """Take one beat's metric set; the state changes it causes (usually none)."""
        if m.rr_ms is None:  # a gap snapshot
            return self.signal_lost(m.t_s, m.time.validity.reason or "no data")
        t, cfg = m.t_s, self.config
        self._beats.append((t, m.flagged))
        while self._beats and self._beats[0][0] <= t - 30.0:
            self._beats.popleft()
        if not m.flagged:
            self._hr.append((t, 60000.0 / m.rr_ms))
        while self._hr and self._hr[0][0] <= t - 60.0:
            self._hr.popleft()
        share = self.rejected_pct()
        self.signal = (Signal.LOST if share > cfg.lost_artifact_pct
                       else Signal.HR_ONLY if share > cfg.max_artifact_pct else Signal.CLEAN)
        ln60 = m.time.ln_rmssd if m.time.validity.valid and self.signal is Signal.CLEAN else None
        self.features = Features(t, self._hr30(t), self._slope60(t), ln60)
        if self._paused or self._moving:
            return []
        if self.signal is Signal.LOST:
            self._freeze()
            if self.state is not RegulationState.SIGNAL_LOST:
                return self._move(RegulationState.SIGNAL_LOST, t, f"{share:.0f} % of recent beats rejected as artifacts")
            return []
        if self.baseline is None:
            return self._calibrate(m, m.rr_ms)
        if self.state in FROZEN or self.state is RegulationState.CALIBRATING:
            if self._clean_since is None:
                self._clean_since = t
            changes = self._move(RegulationState.RECHECKING, t, "beats are back: re-checking the signal")
            if t - self._clean_since >= cfg.recheck_s and self.features.hr30 is not None:
                return changes + self._rejudge()
            return changes
        return self._judge()

    def rejected_pct(self) -> float:
        """% of the last 30 s of beats rejected, counted out of at least ``min_artifact_beats``."""
        flagged = sum(1 for _, f in self._beats if f)
        return 100.0 * flagged / max(len(self._beats), self.config.min_artifact_beats)

    def _hr30(self, t: float) -> float | None:
        recent = [hr for tb, hr in self._hr if tb > t - 30.0]
        return statistics.median(recent) if len(recent) >= 10 else None

    def _slope60(self, t: float) -> float | None:
        bins: dict[int, list[float]] = {}
        for tb, hr in self._hr:
            bins.setdefault(int((t - tb) // 5.0), []).append(hr)
        if len(bins) < 8:
            return None
        xs = [-(k + 0.5) * 5.0 for k in bins]
        ys = [sum(v) / len(v) for v in bins.values()]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        sxx = sum((x - mx) ** 2 for x in xs)
        return 60.0 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx

    # -- calibration ----------------------------------------------------------------------
    def _calibrate(self, m: BeatMetrics, rr_ms: float) -> list[StateChange]:
        """One beat while the baseline is measured (``rr_ms``: the beat's interval, never a gap here)."""
        cal, cfg, t = self._calibration, self.config, m.t_s
        changes = self._move(RegulationState.CALIBRATING, t, "measuring the baseline")
        if cal.start_s is None:
            cal.began_s = t
            cal.start_s = t + cfg.settle_s
        if t < cal.start_s:
            return changes
        cal.beats.append((t, m.flagged))
        if not m.flagged:
            cal.hr_points.append((t, 60000.0 / rr_ms, rr_ms / 1000.0))
        if m.time.validity.valid and m.time.ln_rmssd is not None:
            cal.ln_points.append((t, m.time.ln_rmssd))
        for points in (cal.beats, cal.hr_points, cal.ln_points):  # the measuring window slides
            while points and points[0][0] <= t - cfg.measure_s:
                points.popleft()
        if t - cal.start_s < cfg.measure_s:
            return changes
        artifact_pct = 100.0 * sum(1 for _, f in cal.beats if f) / max(1, len(cal.beats))
        clean_s = sum(rr for _, _, rr in cal.hr_points)
        windows = len({int((tl - t) // 10.0) for tl, _ in cal.ln_points})
        missing = ""
        if clean_s < cfg.min_baseline_clean_s:
            missing = f"not enough clean signal yet: {clean_s:.0f} s of {cfg.min_baseline_clean_s:.0f} s"
        elif windows < cfg.min_baseline_windows:
            missing = (f"not enough valid 60-s RMSSD windows yet: {windows} of {cfg.min_baseline_windows} "
                       "10-s steps")
        elif artifact_pct > cfg.max_baseline_artifact_pct:
            missing = (f"too many beats rejected: {artifact_pct:.0f} % of the last {cfg.measure_s:.0f} s "
                       f"(at most {cfg.max_baseline_artifact_pct:.0f} %)")
        if missing:
            if missing.split(":")[0] != cal.missing.split(":")[0]:  # say why once per reason, not every beat
                changes.append(StateChange(t, self.state, RegulationState.CALIBRATING,
                                           f"still measuring the baseline: {missing}", self.features, self.signal))
            cal.missing = missing
            return changes
        self.baseline = self._baseline_from(cal, artifact_pct, clean_s, windows, t)
        self._judged = RegulationState.IN_BAND
        self._reset_holds()
        if self.baseline.above_usual_range:
            return changes + self._rejudge(
                "baseline measured; heart rate above this client's usual resting range at the start: "
                "judged against the usual range from earlier sessions")
        reason = "baseline measured" if self.baseline.above_usual_range is None else \
            "baseline measured, within this client's usual resting range"
        return changes + self._move(RegulationState.IN_BAND, t, reason)

    def _baseline_from(self, cal: _Calibration, artifact_pct: float, clean_s: float, windows: int, t: float) -> Baseline:
        start = t - self.config.measure_s
        tens: dict[int, list[float]] = {}
        for tb, hr, _ in cal.hr_points:
            tens.setdefault(int((tb - start) // 10.0), []).append(hr)
        hr_means = [sum(v) / len(v) for v in tens.values()]
        ln_steps: dict[int, float] = {}
        for tl, ln in cal.ln_points:
            ln_steps[int((tl - start) // 10.0)] = ln  # the window ending last in each 10-s step
        lns = list(ln_steps.values())
        hr_ref = statistics.median(hr for _, hr, _ in cal.hr_points)
        above = None if self.usual is None else hr_ref > self.usual.band_top_bpm(self.config)
        return Baseline(
            hr_ref=hr_ref,
            sd_hr=statistics.stdev(hr_means) if len(hr_means) > 1 else 0.0,
            ln_ref=statistics.median(lns),
            sd_ln=statistics.stdev(lns) if len(lns) > 1 else 0.0,
            artifact_pct=artifact_pct, source="calibration", window_s=self.config.measure_s,
            clean_s=round(clean_s, 1), windows=windows, above_usual_range=above,
        )

    def calibration_progress(self, now_s: float | None = None) -> tuple[float, float] | None:
        """(seconds measured, length in s) of the baseline being measured, settling included; None when not measuring.

        The length grows while measuring goes on for want of clean data. ``now_s``: the time on
        the beats' clock (default: the latest beat). Read from another thread (the UI) it sees a
        consistent snapshot of one attempt (attribute reads only).
        """
        if self.baseline is not None:
            return None
        cal, cfg = self._calibration, self.config
        began, start = cal.began_s, cal.start_s
        if began is None or start is None:
            return 0.0, cfg.settle_s + cfg.measure_s
        length = (start - began) + cfg.measure_s
        t = self.features.t_s if now_s is None else now_s
        measured = max(0.0, t - began)
        if cal.missing and measured >= length:
            length = measured + 10.0  # still measuring: at least one more 10-s step
        return min(length, measured), length

    def restart_calibration(self, t_s: float) -> list[StateChange]:
        """Measure the baseline again from the next clean beat (settling included); the old one is dropped."""
        self.baseline = None
        self._calibration = _Calibration()
        self._judged = RegulationState.CALIBRATING
        self._reset_holds()
        if self._paused or self.state in FROZEN:
            return []  # the state shows why judging holds; calibration starts with the next clean beat
        return self._move(RegulationState.CALIBRATING, t_s, "measuring the baseline again")

    def use_baseline(self, baseline: Baseline, t_s: float) -> list[StateChange]:
        """Stop measuring and judge against ``baseline`` (e.g. the client's earlier sessions)."""
        self.baseline = baseline
        self._calibration = _Calibration()
        self._judged = RegulationState.IN_BAND
        self._reset_holds()
        if self._paused or self.state in FROZEN:
            return []
        return self._move(RegulationState.IN_BAND, t_s, "usual range from earlier sessions")

    # -- judging ----------------------------------------------------------------------------
    def thresholds(self) -> dict[str, float]:
        b, c = self.reference, self.config
        assert b is not None
        return {
            "band_top_bpm": b.band_top_bpm(c),
            "above_bpm": b.hr_ref + max(c.above_bpm, c.above_sd * b.sd_hr),
            "ln_fallen": b.ln_ref - max(c.ln_fall, c.ln_fall_sd * b.sd_ln),
            "ln_recovered": b.ln_ref - max(c.ln_recovered, b.sd_ln),
            "quiet_bpm": b.hr_ref - max(c.quiet_bpm, c.quiet_sd * b.sd_hr),
        }

    def _rejudge(self, why: str = "signal clean again") -> list[StateChange]:
        """The state from the current values after a freeze: a state that needs a hold only
        when it was already held before (and still holds); otherwise the milder one, whose
        hold then starts."""
        f, S = self.features, RegulationState
        th, before = self.thresholds(), self._judged
        hr = f.hr30
        assert hr is not None
        if hr >= th["above_bpm"]:
            state = S.ABOVE_BAND if before is S.ABOVE_BAND else S.RISING
            text = f"HR30 {hr:.0f} bpm, above the usual range"
        elif hr > th["band_top_bpm"]:
            state = S.SETTLING if before in (S.ABOVE_BAND, S.SETTLING) else S.RISING if before is S.RISING else S.IN_BAND
            text = f"HR30 {hr:.0f} bpm, near the top of the usual range"
        elif hr <= th["quiet_bpm"]:
            state = S.QUIET_DROP if before is S.QUIET_DROP else S.IN_BAND
            text = f"HR30 {hr:.0f} bpm, below the usual range"
        else:
            state = S.SETTLING if before in (S.ABOVE_BAND, S.SETTLING) else S.IN_BAND
            text = f"HR30 {hr:.0f} bpm, within the usual range"
        self._judged = state
        self._reset_holds()
        return self._move(state, f.t_s, f"{why}: {text}")

    def _judge(self) -> list[StateChange]:
        f, c, held, S = self.features, self.config, self._held, RegulationState
        if f.hr30 is None:
            return []
        th, t, slope = self.thresholds(), f.t_s, f.slope60
        above = f.hr30 >= th["above_bpm"]
        corroborated = (f.ln60 is not None and f.ln60 <= th["ln_fallen"]) or (slope is not None and slope >= c.still_rising_slope)
        above_for = held["above"].update(above and corroborated, t)
        below_above_for = held["below_above"].update(not above, t)
        rising_for = held["rising"].update(slope is not None and slope >= c.rising_slope and f.hr30 >= th["band_top_bpm"], t)
        off_top_for = held["off_band_top"].update(f.hr30 < th["band_top_bpm"], t)
        ln_ok = f.ln60 is None or f.ln60 >= th["ln_recovered"]
        back_for = held["back_in_band"].update(f.hr30 <= th["band_top_bpm"] and ln_ok, t)
        resource_recently = t - self._resource_at < c.resource_quiet_s
        moved_recently = self._last_motion_s is not None and t - self._last_motion_s < c.quiet_dwell_s
        quiet_for = held["quiet"].update(f.hr30 <= th["quiet_bpm"] and not resource_recently and not moved_recently, t)
        quiet_end_for = held["quiet_end"].update(f.hr30 > th["quiet_bpm"], t)

        state = self._judged
        if state in (S.IN_BAND, S.RISING, S.QUIET_DROP, S.SETTLING) and above_for >= c.above_dwell_s:
            reason = f"HR above the usual range for {c.above_dwell_s:.0f} s" + (
                ", beat-to-beat variability lower than baseline" if f.ln60 is not None and f.ln60 <= th["ln_fallen"] else ", still rising")
            return self._judge_to(S.ABOVE_BAND, reason)
        if state is S.ABOVE_BAND:
            if not above and slope is not None and slope <= c.settling_slope:
                return self._judge_to(S.SETTLING, "HR coming down")
            if below_above_for >= c.below_dwell_s:
                return self._judge_to(S.SETTLING, f"HR below the above-band line for {c.below_dwell_s:.0f} s")
            return []
        if state is S.SETTLING:
            if back_for >= c.in_band_dwell_s:
                return self._judge_to(S.IN_BAND, f"back within the usual range for {c.in_band_dwell_s:.0f} s")
            return []
        if state is S.IN_BAND:
            if rising_for >= c.rising_dwell_s:
                return self._judge_to(S.RISING, "HR rising toward the top of the usual range")
            if quiet_for >= c.quiet_dwell_s:
                return self._judge_to(S.QUIET_DROP, f"HR below the usual range for {c.quiet_dwell_s:.0f} s")
            return []
        if state is S.RISING and off_top_for >= c.below_dwell_s:
            return self._judge_to(S.IN_BAND, "HR back within the usual range")
        if state is S.QUIET_DROP and quiet_end_for >= c.below_dwell_s:
            return self._judge_to(S.IN_BAND, "HR back within the usual range")
        return []

    def _judge_to(self, state: RegulationState, reason: str) -> list[StateChange]:
        self._judged = state
        self._reset_holds()  # every new state earns its next change afresh
        return self._move(state, self.features.t_s, reason)

    def _move(self, state: RegulationState, t_s: float, reason: str) -> list[StateChange]:
        if state is self.state:
            return []
        change = StateChange(t_s, self.state, state, reason, self.features, self.signal)
        self.state = state
        return [change]


def band_of(baseline: dict[str, Any]) -> tuple[float, float, float] | None:
    """(``HR_ref``, top of band, above-band line), all in bpm, of a recorded baseline (a
    :meth:`Baseline.as_dict` row) with the default :class:`RegulationConfig`, as
    :meth:`RegulationModel.thresholds` judges against it; None when the row cannot be read.

    Thread: any.
    """
    try:
        thresholds = RegulationModel(baseline=Baseline.from_dict(baseline)).thresholds()
        return float(baseline["hr_ref"]), thresholds["band_top_bpm"], thresholds["above_bpm"]
    except (TypeError, KeyError, ValueError):
        return None
