"""The live metric pipeline: beats in, the metric set out, on every beat.

Stages, each synchronous and testable alone, driven beat by beat (timeflux style):

1. :class:`~somafeedback.hrv.artifacts.ArtifactDetector` flags beats (kept, marked, excluded);
2. :class:`~somafeedback.hrv.time_domain.SlidingTimeDomain` gives HR, mean RR, RMSSD,
   ln RMSSD, SDNN and pNN50 over 60 s, in O(1) per beat;
3. spectral measures from :mod:`somafeedback.hrv.spectral`, each on its own window and
   refreshed every ``refresh_s`` of beat time: LF/HF power (Kubios conventions, 2-5 min),
   breathing rate and RSA peak-to-trough (64 s), coherence ratio (McCraty, 64 s). At most
   one spectral measure is recomputed per beat (the most overdue), so no beat pays for all.

Validity: a window is valid only when it holds enough beats, at most ``max_artifact_pct``
of them flagged, and no gap (link loss, contact loss, re-anchored timing) inside it. A gap
makes everything invalid at once (:meth:`MetricsPipeline.push_gap`) until windows refill.

Thread: any; one pipeline per strap, fed in beat order. No neurokit2 here (see tests).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from .artifacts import ArtifactDetector, FlagReason, Judgement
from .rsa import breathing_measures
from .spectral import SpectralSettings, band_powers, coherence
from .time_domain import SlidingTimeDomain, TimeDomain, WindowValidity

@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Windows and thresholds (all times in seconds of beat time)."""

    time_window_s: float = 60.0  # RMSSD and friends
    frequency_window_s: float = 300.0  # LF/HF: up to 5 min ...
    frequency_min_s: float = 120.0  # ... and at least 2 min
    breathing_window_s: float = 64.0  # breathing rate and RSA peak-to-trough
    coherence_window_s: float = 64.0  # McCraty coherence ratio
    refresh_s: float = 5.0  # spectral measures are recomputed this often
    max_artifact_pct: float = 5.0  # above this share of flagged beats a window's HRV is unavailable
    min_breath_peak_fraction: float = 0.5  # breathing peak holding less of the power is not a rhythm (white noise: ~0.3)
    spectral: SpectralSettings = field(default_factory=SpectralSettings)


@dataclass(frozen=True, slots=True)
class FrequencyDomain:
    lf_ms2: float | None
    hf_ms2: float | None
    lf_hf: float | None
    validity: WindowValidity
    computed_at_s: float
    conventions: str = "live"  # the convention set (hrv/conventions.py) the values were made under


@dataclass(frozen=True, slots=True)
class BreathingMetrics:
    rate_bpm: float | None  # breaths per minute from the RSA spectral peak
    rsa_p2t_ms: float | None  # mean peak-to-trough RR swing per breath
    validity: WindowValidity
    computed_at_s: float


@dataclass(frozen=True, slots=True)
class CoherenceMetrics:
    ratio: float | None
    peak_hz: float | None
    validity: WindowValidity
    computed_at_s: float


@dataclass(frozen=True, slots=True)
class BeatMetrics:
    """The metric set after one beat (or after a gap, with ``rr_ms`` None)."""

    t_s: float
    rr_ms: float | None
    flagged: bool
    flag_reason: FlagReason | None
    time: TimeDomain
    frequency: FrequencyDomain | None  # None until first computed
    breathing: BreathingMetrics | None
    coherence: CoherenceMetrics | None


def _not_yet(window_s: float, reason: str) -> WindowValidity:
    return WindowValidity(window_s, 0, 0, False, reason)


class _BeatHistory:
    """The beats of the last ``span_s`` seconds of beat time: times (s), RR (ms), accepted.

    Kept in growing numpy arrays (the live part is ``[head, tail)``) so that a spectral
    window is a mask over them, not a Python list turned into arrays on every refresh.
    Thread: the pipeline's.
    """

    def __init__(self, span_s: float, capacity: int = 512) -> None:
        self._span_s = span_s
        self._t = np.empty(capacity)
        self._rr = np.empty(capacity)
        self._ok = np.empty(capacity, dtype=bool)
        self._head = self._tail = 0

    def clear(self) -> None:
        self._head = self._tail = 0

    def append(self, t_s: float, rr_ms: float, accepted: bool) -> None:
        """Add the newest beat and drop those at or before ``t_s - span_s``."""
        if self._tail == len(self._t):
            self._make_room()
        tail = self._tail
        self._t[tail], self._rr[tail], self._ok[tail] = t_s, rr_ms, accepted
        self._tail = tail + 1
        older = t_s - self._span_s
        times = self._t
        while self._head < self._tail and times[self._head] <= older:
            self._head += 1

    def _make_room(self) -> None:
        live = slice(self._head, self._tail)
        n = self._tail - self._head
        if n > len(self._t) // 2:  # mostly live: grow
            self._t, self._rr, self._ok = (np.concatenate((a[live], np.empty(len(a), dtype=a.dtype)))
                                           for a in (self._t, self._rr, self._ok))
        else:  # move the live beats to the front
            for a in (self._t, self._rr, self._ok):
                a[:n] = a[live]
        self._head, self._tail = 0, n

    def after(self, start_s: float) -> tuple[np.ndarray, np.ndarray, int, int]:
        """Accepted beats later than ``start_s`` (times, RR) and the counts of all / flagged beats there."""
        live = slice(self._head, self._tail)
        inside = self._t[live] > start_s
        accepted = inside & self._ok[live]
        n_beats = int(np.count_nonzero(inside))
        n_accepted = int(np.count_nonzero(accepted))
        return self._t[live][accepted], self._rr[live][accepted], n_beats, n_beats - n_accepted


class MetricsPipeline:
    """Artifact detection -> windowed metrics, one beat at a time."""

    def __init__(self, config: PipelineConfig | None = None) -> None:
        config = config if config is not None else PipelineConfig()
        self.config = config
        self.detector = ArtifactDetector()
        self.time_domain = SlidingTimeDomain(config.time_window_s, config.max_artifact_pct)
        self._history_s = max(config.frequency_window_s, config.breathing_window_s, config.coherence_window_s)
        self._recent = _BeatHistory(self._history_s)  # every beat of the longest spectral window
        self._span_start_s: float | None = None
        self._after_gap = False
        self._last_segment: int | None = None
        self.frequency: FrequencyDomain | None = None
        self.breathing: BreathingMetrics | None = None
        self.coherence: CoherenceMetrics | None = None
        self._due: dict[str, float] = {"breathing": 0.0, "coherence": 0.0, "frequency": 0.0}
        self._refreshers: dict[str, Callable[[float], None]] = {
            "breathing": self._refresh_breathing,
            "coherence": self._refresh_coherence,
            "frequency": self._refresh_frequency,
        }
        self._latest: BeatMetrics | None = None

    # -- feeding ------------------------------------------------------------------------
    def push_beat(self, t_s: float, rr_ms: float, segment: int = 0, suspect: FlagReason | None = None) -> BeatMetrics:
        """Judge one beat and update every measure; ``segment`` changes after a timing break.

        ``suspect``: the caller already knows the beat is questionable (e.g. ECG and strap
        disagree); it is flagged for that reason without teaching the detector.
        """
        if self._last_segment is not None and segment != self._last_segment:
            self._break(t_s - rr_ms / 1000.0)
        self._last_segment = segment
        if self._span_start_s is None:
            self._span_start_s = t_s - rr_ms / 1000.0
        judgement = Judgement(True, suspect) if suspect is not None else self.detector.judge(rr_ms)
        accepted = not judgement.flagged
        self.time_domain.push(t_s, rr_ms, accepted)
        self._recent.append(t_s, rr_ms, accepted)
        self._refresh_one(t_s)
        self._latest = BeatMetrics(
            t_s, rr_ms, judgement.flagged, judgement.reason, self.time_domain.metrics(t_s),
            self.frequency, self.breathing, self.coherence,
        )
        return self._latest

    def push_gap(self, start_s: float, end_s: float) -> BeatMetrics:
        """A stretch without data: every window is invalid until it refills."""
        self._break(end_s)
        self._last_segment = None
        reason = "no data since the gap"
        self.frequency = self.frequency and replace(self.frequency, validity=_not_yet(self.config.frequency_window_s, reason))
        self.breathing = self.breathing and replace(self.breathing, validity=_not_yet(self.config.breathing_window_s, reason))
        self.coherence = self.coherence and replace(self.coherence, validity=_not_yet(self.config.coherence_window_s, reason))
        self._latest = BeatMetrics(end_s, None, False, None, self.time_domain.metrics(end_s),
                                   self.frequency, self.breathing, self.coherence)
        return self._latest

    def _break(self, resume_s: float) -> None:
        self.detector.reset()
        self.time_domain.gap(resume_s)
        self._recent.clear()
        self._span_start_s = None
        self._after_gap = True

    # -- spectral refreshes ---------------------------------------------------------------
    def _refresh_one(self, now_s: float) -> None:
        name = min(self._due, key=self._due.__getitem__)
        if self._due[name] <= now_s:
            self._due[name] = now_s + self.config.refresh_s
            self._refreshers[name](now_s)

    def _window(self, now_s: float, window_s: float, min_s: float | None = None) -> tuple[np.ndarray, np.ndarray, WindowValidity]:
        """Accepted beats of the window ending at ``now_s`` and the window's validity."""
        start = now_s - window_s
        if min_s is not None and self._span_start_s is not None:
            start = max(start, self._span_start_s)  # a shorter window (>= min_s) is fine
            window_s = now_s - start
        t, rr, n_beats, n_flagged = self._recent.after(start)
        reason = ""
        need_s = window_s if min_s is None else min_s
        if self._span_start_s is None or now_s - need_s < self._span_start_s - 1e-9:
            reason = "refilling after a gap" if self._after_gap else "filling the window"
        elif n_beats and 100.0 * n_flagged / n_beats > self.config.max_artifact_pct:
            reason = f"unavailable: {100.0 * n_flagged / n_beats:.0f} % of beats rejected"
        validity = WindowValidity(window_s, n_beats, n_flagged, reason == "", reason)
        return t, rr, validity

    def _refresh_frequency(self, now_s: float) -> None:
        cfg = self.config
        t, rr, validity = self._window(now_s, cfg.frequency_window_s, cfg.frequency_min_s)
        lf = hf = ratio = None
        if validity.valid:
            try:
                powers = band_powers(t, rr, cfg.spectral)
                lf, hf = powers.lf_ms2, powers.hf_ms2
                ratio = powers.lf_hf if math.isfinite(powers.lf_hf) else None
            except ValueError as error:
                validity = replace(validity, valid=False, reason=str(error))
        self.frequency = FrequencyDomain(lf, hf, ratio, validity, now_s, cfg.spectral.name)

    def frequency_at(self, now_s: float) -> FrequencyDomain:
        """LF/HF of the window ending at ``now_s`` now (as the scheduled refresh computes it), kept as
        the latest value: for a caller that needs the value at a given moment, e.g. a segment's end."""
        self._refresh_frequency(now_s)
        assert self.frequency is not None
        return self.frequency

    def _refresh_breathing(self, now_s: float) -> None:
        t, rr, validity = self._window(now_s, self.config.breathing_window_s)
        rate = p2t = None
        if validity.valid:
            try:
                estimate, swings = breathing_measures(t, rr)  # one resampling shared by both measures
            except ValueError as error:
                validity = replace(validity, valid=False, reason=str(error))
            else:
                rate = estimate.rate_bpm
                p2t = float(np.mean(swings)) if len(swings) else None
                if estimate.peak_fraction < self.config.min_breath_peak_fraction:
                    validity = replace(validity, valid=False, reason="no clear breathing rhythm in the heart rate")
        self.breathing = BreathingMetrics(rate, p2t, validity, now_s)

    def _refresh_coherence(self, now_s: float) -> None:
        t, rr, validity = self._window(now_s, self.config.coherence_window_s)
        ratio = peak = None
        if validity.valid:
            try:
                result = coherence(t, rr, self.config.coherence_window_s)
                ratio, peak = result.ratio, result.peak_hz
            except ValueError as error:
                validity = replace(validity, valid=False, reason=str(error))
        self.coherence = CoherenceMetrics(ratio, peak, validity, now_s)
