"""A stretch of a session: its statistics on real beats against independent computations, and phases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from real_records import nsr001_ms, polar_slow_breathing_ms

from somafeedback.hrv.artifacts import flag_artifacts
from somafeedback.devices.events import TimelineEvent
from somafeedback.sessions.segments import Segment, phase_segments, segment_stats
from somafeedback.hrv.conventions import KUBIOS
from somafeedback.hrv.spectral import band_powers


def _beats(rr_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rr = np.asarray(rr_ms, dtype=float)
    return np.cumsum(rr) / 1000.0, rr, flag_artifacts(rr)


def test_time_domain_and_poincare_match_textbook_formulas_on_real_beats() -> None:
    t, rr, flagged = _beats(nsr001_ms()[:4000])
    segment = Segment("a", 600.0, 900.0)
    stats = segment_stats(segment, t, rr, flagged)
    # independent: the beats in the stretch, flagged ones out, differences of adjacent accepted pairs only
    inside = (t >= 600.0) & (t <= 900.0)
    beats, bad = rr[inside], flagged[inside]
    pairs = [(a, b) for a, b, fa, fb in zip(beats[:-1], beats[1:], bad[:-1], bad[1:], strict=True) if not fa and not fb]
    d = np.array([b - a for a, b in pairs])
    good = beats[~bad]
    assert stats.n_beats == inside.sum() and stats.n_accepted == len(good)
    assert stats.mean_hr_bpm == pytest.approx(np.mean(60000.0 / good), rel=1e-12)
    assert stats.rmssd_ms == pytest.approx(math.sqrt(np.mean(d**2)), rel=1e-12)
    assert stats.sdnn_ms == pytest.approx(np.std(good, ddof=1), rel=1e-12)
    assert stats.pnn50_pct == pytest.approx(100.0 * np.mean(np.abs(d) > 50.0), rel=1e-12)
    # Poincaré by the rotated-axes definition (Brennan 2001): SD1/SD2 = spread across/along the identity line
    x, y = np.array([a for a, _ in pairs]), np.array([b for _, b in pairs])
    assert stats.sd1_ms == pytest.approx(np.std((y - x) / math.sqrt(2), ddof=1), rel=1e-9)
    assert stats.sd2_ms == pytest.approx(np.std((y + x) / math.sqrt(2), ddof=1), rel=1e-9)
    assert stats.sd1_sd2 == pytest.approx(stats.sd1_ms / stats.sd2_ms)
    assert np.array_equal(stats.poincare[0], x) and np.array_equal(stats.poincare[1], y)


def test_poincare_agrees_with_neurokit2() -> None:
    import neurokit2 as nk

    rr = polar_slow_breathing_ms()[:300]
    t, rr, flagged = _beats(rr)
    flagged[:] = False  # neurokit2 sees every beat; so does the stretch here
    stats = segment_stats(Segment("all", 0.0, float(t[-1])), t, rr, flagged)
    reference = nk.hrv_nonlinear(nk.intervals_to_peaks(rr, sampling_rate=1000), sampling_rate=1000)
    assert stats.sd1_ms == pytest.approx(float(reference["HRV_SD1"].iloc[0]), rel=0.01)
    assert stats.sd2_ms == pytest.approx(float(reference["HRV_SD2"].iloc[0]), rel=0.01)


def test_frequency_values_are_those_of_the_accepted_beats_and_the_breathing_peak_is_slow_breathing() -> None:
    t, rr, flagged = _beats(polar_slow_breathing_ms())
    stats = segment_stats(Segment("slow", 60.0, 360.0), t, rr, flagged)
    inside = (t >= 60.0) & (t <= 360.0) & ~flagged
    powers = band_powers(t[inside], rr[inside], KUBIOS)  # the segment table's default convention set
    assert stats.lf_ms2 == pytest.approx(powers.lf_ms2) and stats.hf_ms2 == pytest.approx(powers.hf_ms2)
    assert stats.lf_hf == pytest.approx(powers.lf_ms2 / powers.hf_ms2)
    assert stats.spectrum is not None and stats.spectrum.freqs_hz.shape == stats.spectrum.psd_ms2_hz.shape
    # the recording is of slow paced breathing (about 6/min): the RSA peak says so
    assert stats.breathing_bpm is not None and 4.0 <= stats.breathing_bpm <= 8.0
    assert stats.valid and "not valid" not in " ".join(stats.notes)


def test_a_gap_inside_gives_no_spectrum_and_too_many_artifacts_make_it_invalid() -> None:
    t, rr, flagged = _beats(nsr001_ms()[:1000])
    parts = (t > 300.0).astype(int)  # a gap at 300 s
    gapped = segment_stats(Segment("across", 100.0, 500.0), t, rr, flagged, parts)
    assert gapped.lf_ms2 is None and gapped.spectrum is None and any("gap" in n for n in gapped.notes)
    assert gapped.rmssd_ms is not None  # time domain still holds, differences never cross the gap
    noisy = flagged.copy()
    noisy[np.flatnonzero((t >= 100.0) & (t <= 200.0))[::10]] = True  # every tenth beat: 10 % flagged
    invalid = segment_stats(Segment("noisy", 100.0, 200.0), t, rr, noisy)
    assert not invalid.valid and invalid.artifact_pct > 5.0 and any("not valid" in n for n in invalid.notes)
    short = segment_stats(Segment("short", 100.0, 130.0), t, rr, flagged)
    assert short.lf_ms2 is None and any("too short" in n for n in short.notes)


def _event(kind: str, at_s: float, **data: object) -> TimelineEvent:
    return TimelineEvent(kind, 5_000_000_000 + round(at_s * 1e9), 0.0, dict(data))


def test_phases_from_marks_and_from_a_measured_baseline() -> None:
    marks = [_event("phase", 0.0, phase="baseline"), _event("marker", 100.0, label="grounding"),
             _event("phase", 300.0, phase="practice"), _event("review", 1500.0, phase="recovery", text="recovery")]
    assert phase_segments(marks, 5_000_000_000, 1800.0) == [
        Segment("baseline", 0.0, 300.0), Segment("practice", 300.0, 1500.0), Segment("recovery", 1500.0, 1800.0)]
    measured = [_event("baseline", 300.0, source="calibration", window_s=240.0)]
    assert phase_segments(measured, 5_000_000_000, 900.0) == [Segment("baseline", 60.0, 300.0), Segment("practice", 300.0, 900.0)]
    assert phase_segments([_event("baseline", 1.0, source="history", window_s=240.0)], 5_000_000_000, 900.0) == []


def test_phases_marked_in_review_are_read_as_phase_marks() -> None:
    from somafeedback.sessions.segments import phase_mark_of, session_phases

    marks = [_event("note", 0.0, text="phase: baseline starts", review=True, phase="baseline"),
             _event("note", 200.0, text="not a phase", review=True),
             _event("note", 250.0, text="live note", phase="practice"),  # not a review note: no mark
             _event("note", 300.0, text="phase: practice starts", review=True, phase="practice"),
             _event("phase", 900.0, phase="recovery")]
    assert [phase_mark_of(m) for m in marks] == ["baseline", None, None, "practice", "recovery"]
    assert session_phases(marks, 5_000_000_000, 1200.0) == [
        Segment("baseline", 0.0, 300.0), Segment("practice", 300.0, 900.0), Segment("recovery", 900.0, 1200.0)]
    assert session_phases([], 5_000_000_000, 1200.0) == []


def test_whole_session_trends_are_the_live_window_values_at_each_beat() -> None:
    from somafeedback.sessions.segments import SessionBeatSeries, session_trends

    t, rr, flagged = _beats(nsr001_ms()[:900])
    parts = (t > 400.0).astype(int)  # a gap at 400 s
    trends = session_trends(SessionBeatSeries(t, rr, flagged, parts, "strap1"))
    assert np.array_equal(np.isnan(trends.hr_bpm), flagged)
    assert trends.hr_bpm[~flagged] == pytest.approx(60000.0 / rr[~flagged])
    # independent: RMSSD of the 60 s up to a beat, differences of adjacent accepted beats of one segment
    i = int(np.searchsorted(t, 300.0))
    inside = (t > t[i] - 60.0) & (t <= t[i])
    idx = np.flatnonzero(inside)
    d = [rr[b] - rr[a] for a, b in zip(idx[:-1], idx[1:], strict=True) if not flagged[a] and not flagged[b]]
    assert 100.0 * flagged[inside].mean() <= 5.0  # a valid window there
    assert trends.rmssd_ms[i] == pytest.approx(math.sqrt(np.mean(np.square(d))), rel=1e-9)
    after_gap = (t > 400.0) & (t < 400.0 + 50.0)  # the window refills after the gap: no value yet
    assert np.all(np.isnan(trends.rmssd_ms[after_gap]))
    assert len(trends.breath_t_s) == len(trends.breath_bpm) > 10
    finite = trends.breath_bpm[np.isfinite(trends.breath_bpm)]
    assert len(finite) > 5 and np.all((finite >= 3.0) & (finite <= 30.0))
