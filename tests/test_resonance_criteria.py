"""Resonance assessment (#19): each step measure against an independent computation, the
assessability rules, the ranking by hand, and a real Polar H10 recording scored step-free."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import scipy.signal
from real_records import polar_slow_breathing_ms
from scipy.interpolate import CubicSpline

from somafeedback.regulation.pacer import Pacer, PacerSettings
from somafeedback.resonance.criteria import measure_step, score_span
from somafeedback.resonance.result import StepMeasures
from somafeedback.resonance.scoring import DEFAULT_WEIGHTS, WEIGHT_LABELS, rank, score_breakdown, validate_weights
from somafeedback.resonance.step_data import StepData

RATE = 6.0  # breaths/min of the synthetic steps
F = RATE / 60.0  # Hz


def beats_from(rr_at, duration_s: float = 150.0) -> tuple[np.ndarray, np.ndarray]:
    """Beats whose RR (ms) equals ``rr_at(end time of the beat)``: end times rebuilt from the RR sum."""
    t, times, rrs = 0.0, [], []
    while t < duration_s:
        rr = 1000.0
        for _ in range(40):  # fixed point: the RR that ends exactly where rr_at says it should
            rr = rr_at(t + rr / 1000.0)
        t += rr / 1000.0
        times.append(t)
        rrs.append(rr)
    return np.array(times), np.array(rrs)


def hr_beats(hr_at, duration_s: float = 150.0) -> tuple[np.ndarray, np.ndarray]:
    return beats_from(lambda t: 60000.0 / hr_at(t), duration_s)


def step(t, rr, *, flagged=None, t0=30.0, t1=120.0, pacer=True, breathing=True, following=((60.0, True, True),),
         rate=RATE, inhale_share=0.4) -> StepData:
    bt = np.arange(0.0, 150.0, 1.0)
    return StepData(
        rate_bpm=rate, inhale_share=inhale_share, t0_s=t0, t1_s=t1, beat_t_s=t, rr_ms=rr,
        flagged=np.zeros(len(t), bool) if flagged is None else flagged,
        breath_t_s=bt if breathing else None, breath_phase=(bt * rate / 60.0) % 1.0 if breathing else None,
        breath_rate_bpm=np.full(len(bt), rate) if breathing else None, breath_source="acc" if breathing else "",
        following=following, pacer=Pacer(PacerSettings.from_rate(rate, inhale_share), 0.0) if pacer else None)


def lung_peak_s(inhale_share: float, rate: float = RATE) -> float:
    """Where the lung volume's fundamental peaks, s into a breath: its own DFT (test-side)."""
    n = 4000
    u = np.arange(n) / n
    s = inhale_share
    level = np.where(u < s, 0.5 - 0.5 * np.cos(np.pi * u / s), 0.5 + 0.5 * np.cos(np.pi * (u - s) / (1 - s)))
    first = np.fft.rfft(level)[1]
    return (-np.angle(first) / (2 * np.pi)) % 1.0 * 60.0 / rate


def test_peak_to_trough_is_the_mean_swing_of_heart_rate_over_the_pacers_complete_breaths() -> None:
    t, rr = hr_beats(lambda t: 66.0 + 7.0 * math.sin(2 * math.pi * F * t) + 1.5 * math.sin(2 * math.pi * 0.31 * t))
    flagged = np.zeros(len(t), bool)
    rr[50] *= 0.55  # an artifact the rule flagged
    flagged[50] = True
    m = measure_step(step(t, rr, flagged=flagged, breathing=False))
    swings = []
    for k in range(3, 12):  # the pacer (10 s breaths from 0 s): breaths 3..11 lie inside 30..120 s
        hr = [60000.0 / r for ti, r, f in zip(t, rr, flagged, strict=True) if 10 * k <= ti < 10 * (k + 1) and not f]
        swings.append(max(hr) - min(hr))
    assert m.breaths == 9
    assert m.peak_trough_hr_bpm == pytest.approx(sum(swings) / len(swings), rel=1e-12)
    assert m.flagged_share == pytest.approx(1 / m.beats)
    assert m.assessable and math.isnan(m.hr_breath_phase_deg) and m.breathing_source == ""


def test_lf_power_peak_and_height_match_scipys_periodogram_and_the_sinusoids_power() -> None:
    amp, f = 40.0, 0.1
    t, rr = beats_from(lambda t: 950.0 + amp * math.sin(2 * math.pi * f * t) + 0.02 * t * 10)
    flagged = np.zeros(len(t), bool)
    rr[70] += 300.0  # flagged: left out, the spline bridges it
    flagged[70] = True
    m = measure_step(step(t, rr, flagged=flagged))
    keep = ~flagged & (t >= 30.0) & (t <= 120.0)
    tk, rk = t[keep], rr[keep]
    grid = tk[0] + np.arange(int((tk[-1] - tk[0]) * 4.0) + 1) / 4.0
    freqs, psd = scipy.signal.periodogram(CubicSpline(tk, rk)(grid), fs=4.0, window="hann", nfft=4096,
                                          detrend="linear")
    fine = np.linspace(0.04, 0.15, 20001)
    band = (freqs >= 0.04) & (freqs <= 0.15)
    assert m.lf_power_ms2 == pytest.approx(np.trapezoid(np.interp(fine, freqs, psd), fine), rel=1e-4)
    assert m.lf_power_ms2 == pytest.approx(amp**2 / 2, rel=0.05)  # a sinusoid's power: A²/2
    assert m.lf_peak_hz == pytest.approx(f, abs=0.002)
    assert m.lf_peak_amplitude_ms2_per_hz == pytest.approx(psd[band].max(), rel=1e-6)
    assert m.spectral_peaks == 1


@pytest.mark.parametrize(("second_amp", "peaks"), [(0.0, 1), (35.0, 2), (10.0, 1)])
def test_spectral_peaks_count_the_clear_local_maxima(second_amp: float, peaks: int) -> None:
    t, rr = beats_from(lambda t: 900.0 + 40.0 * math.sin(2 * math.pi * 0.06 * t)
                       + second_amp * math.sin(2 * math.pi * 0.125 * t + 1.0))
    assert measure_step(step(t, rr)).spectral_peaks == peaks  # 10/40 -> 1/16 of the power: under 0.25


@pytest.mark.parametrize(("inhale_share", "lead_s", "expected_deg"), [(0.4, 0.0, 0.0), (0.4, 1.0, 36.0),
                                                                      (0.4, -2.0, -72.0), (0.5, 2.5, 90.0)])
def test_hr_breath_phase_is_zero_when_heart_rate_peaks_with_lung_volume_and_positive_when_it_leads(
        inhale_share: float, lead_s: float, expected_deg: float) -> None:
    peak = lung_peak_s(inhale_share) - lead_s  # heart rate peaks lead_s before the lung volume's fundamental
    t, rr = hr_beats(lambda t: 64.0 + 6.0 * math.cos(2 * math.pi * F * (t - peak)))
    m = measure_step(step(t, rr, inhale_share=inhale_share))
    assert m.hr_breath_phase_deg == pytest.approx(expected_deg, abs=1.0)
    assert m.breathing_source == "acc" and m.assessable


def test_without_pacer_the_measured_breathing_gives_the_breaths_and_the_hr_oscillation_without_either() -> None:
    t, rr = hr_beats(lambda t: 64.0 + 6.0 * math.cos(2 * math.pi * F * t))
    breathing = measure_step(step(t, rr, pacer=False))
    assert breathing.breaths == 9 and breathing.peak_trough_hr_bpm == pytest.approx(12.0, abs=0.6)
    gap = step(t, rr, pacer=False)
    assert gap.breath_t_s is not None and gap.breath_phase is not None and gap.breath_rate_bpm is not None
    keep = (gap.breath_t_s < 60.0) | (gap.breath_t_s > 72.0)  # 14 s without breathing: breaths 5, 6, 7 unknown
    gap = replace(gap, breath_t_s=gap.breath_t_s[keep], breath_phase=gap.breath_phase[keep],
                  breath_rate_bpm=gap.breath_rate_bpm[keep])
    assert measure_step(gap).breaths == 6
    alone = measure_step(step(t, rr, pacer=False, breathing=False, following=()))
    assert alone.breaths in (8, 9) and alone.peak_trough_hr_bpm == pytest.approx(12.0, abs=0.6)
    assert alone.assessable and not alone.following_checked and alone.following is None


def test_not_assessable_rules() -> None:
    t, rr = hr_beats(lambda t: 64.0 + 6.0 * math.cos(2 * math.pi * F * t))
    short = measure_step(step(t, rr, t1=60.0))  # a skipped step: 30 s measured
    assert not short.assessable and short.reason.startswith("too short")
    rough = np.zeros(len(t), bool)
    rough[::4] = True
    assert measure_step(step(t, rr, flagged=rough)).reason.startswith("signal too rough")
    not_following = measure_step(step(t, rr, following=((50.0, True, False), (60.0, True, True), (70.0, True, False))))
    assert not_following.reason == "breathing did not follow the pacer"
    assert not_following.following is False and not_following.following_share == pytest.approx(1 / 3)
    unchecked = measure_step(step(t, rr, following=((50.0, False, False),)))
    assert unchecked.assessable and not unchecked.following_checked and unchecked.following is None
    slow = measure_step(step(t, rr, rate=3.0, t0=30.0, t1=80.0))  # 20 s breaths: two complete in 50 s
    assert slow.breaths == 2 and slow.reason.startswith("too few breaths")


def measures(index: int, rate: float, p2t: float, amp: float, power: float, peaks: int | None, phase: float,
             assessable: bool = True) -> StepMeasures:
    return StepMeasures(index=index, step=index, rate_bpm=rate, t0_s=0.0, t1_s=90.0, peak_trough_hr_bpm=p2t,
                        lf_peak_amplitude_ms2_per_hz=amp, lf_power_ms2=power, spectral_peaks=peaks,
                        hr_breath_phase_deg=phase, assessable=assessable, reason="" if assessable else "too short: 20 s")


def test_ranking_by_hand_with_a_missing_criterion_renormalised() -> None:
    a = measures(0, 6.5, 10.0, 100.0, 50.0, 1, 0.0)
    b = measures(1, 6.0, 20.0, 50.0, 100.0, 2, 90.0)
    c = measures(2, 5.5, 99.0, 999.0, 999.0, 1, 0.0, assessable=False)
    result = rank([a, b, c])
    # a: .30*.5 + .30*1 + .15*.5 + .10*1 + .15*1; b: .30*1 + .30*.5 + .15*1 + .10*.5 + .15*.5
    assert [s.score for s in result.steps[:2]] == pytest.approx([0.775, 0.725])
    assert [s.rank for s in result.steps] == [1, 2, None] and math.isnan(result.steps[2].score)
    assert (result.best_rate_bpm, result.second_rate_bpm, result.fine_tune_bpm) == (6.5, 6.0, (6.25, 6.75))
    no_phase = rank([a, measures(1, 6.0, 20.0, 50.0, 100.0, 2, math.nan)])
    assert no_phase.steps[1].score == pytest.approx((0.30 + 0.15 + 0.15 + 0.05) / 0.85)
    breakdown = score_breakdown(result.steps[1], result)
    assert breakdown["score"] == pytest.approx(0.725) and breakdown["criteria"]["phase"]["score"] == pytest.approx(0.5)
    only_phase = rank([a, b], weights={"phase": 1.0})
    assert (only_phase.best_rate_bpm, only_phase.steps[1].score) == (6.5, pytest.approx(0.5))


def test_the_latest_assessable_run_of_a_repeated_rate_counts() -> None:
    first = measures(0, 6.0, 30.0, 300.0, 300.0, 1, 0.0)
    other = measures(1, 5.5, 20.0, 200.0, 200.0, 1, 0.0)
    again = measures(2, 6.0, 10.0, 100.0, 100.0, 1, 0.0)
    result = rank([first, other, again])
    assert [s.rank for s in result.steps] == [None, 1, 2] and result.best_rate_bpm == 5.5
    broken_repeat = rank([first, other, measures(2, 6.0, 1.0, 1.0, 1.0, 1, 0.0, assessable=False)])
    assert [s.rank for s in broken_repeat.steps] == [1, 2, None] and broken_repeat.best_rate_bpm == 6.0


def test_no_assessable_step_gives_a_reason_and_bad_weights_a_clear_error() -> None:
    result = rank([measures(0, 6.5, 1, 1, 1, 1, 0, assessable=False)], complete=False)
    assert result.best_rate_bpm is None and result.reason == "no step could be assessed: 6.5/min: too short: 20 s"
    assert rank([]).reason == "no step could be assessed: no step was run"
    assert validate_weights(None) == DEFAULT_WEIGHTS and set(WEIGHT_LABELS) == set(DEFAULT_WEIGHTS)
    assert sum(DEFAULT_WEIGHTS.values()) == pytest.approx(1.0)
    for bad, words in (({"smoothness": 1.0}, "unknown"), ({"phase": -1.0}, "0 or more"), ({"phase": 0.0}, "above 0")):
        with pytest.raises(ValueError, match=words):
            validate_weights(bad)


def test_real_polar_h10_slow_breathing_scored_as_one_step_free_span() -> None:
    rr = polar_slow_breathing_ms()
    t = np.cumsum(rr) / 1000.0  # beat times from the RR sum, never the arrival times
    m = score_span(t, rr)
    assert m.assessable and m.scored_s > 590 and m.flagged_share < 0.02
    assert 3.0 <= m.rate_bpm <= 5.0 and m.rate_bpm == pytest.approx(60 * m.lf_peak_hz, abs=0.01)
    assert 8.0 <= m.peak_trough_hr_bpm <= 25.0 and 2000.0 <= m.lf_power_ms2 <= 15000.0
    assert m.spectral_peaks is not None and 1 <= m.spectral_peaks <= 10
    assert m.breaths == pytest.approx(m.scored_s * m.lf_peak_hz, abs=6)
    assert math.isnan(m.hr_breath_phase_deg) and not m.following_checked
