"""The causal adaptive artifact rule on real records, clean and with injected faults."""

from __future__ import annotations

import numpy as np
import pytest
from real_records import clean_segments, irurzun_ms, nsr001_ms, polar_slow_breathing_ms, rmssd

from somafeedback.hrv.artifacts import RELOCK_BEATS, ArtifactDetector, FlagReason, flag_artifacts
from somafeedback.devices.simulator.beat_faults import inject_beat_faults


@pytest.fixture(scope="module")
def segments() -> list[np.ndarray]:
    return clean_segments(nsr001_ms(), 8, 20000) + clean_segments(irurzun_ms(), 8, 5000)


def test_few_false_flags_on_clean_real_data(segments: list[np.ndarray]) -> None:
    rates = [100 * flag_artifacts(seg).mean() for seg in segments]
    assert np.mean(rates) <= 2.0, rates
    assert 100 * flag_artifacts(polar_slow_breathing_ms()).mean() <= 2.0  # large slow-breathing swings are not artifacts


@pytest.mark.parametrize("kind", ["ectopic", "missed", "extra", "mixed"])
@pytest.mark.parametrize("rate", [0.01, 0.05])
def test_injected_faults_are_caught_and_rmssd_stays_close(segments: list[np.ndarray], kind: str, rate: float) -> None:
    rng = np.random.default_rng(42)
    errors, caught = [], []
    for seg in segments:
        bad, faulty = inject_beat_faults(seg, rate, kind, rng)
        flagged = flag_artifacts(bad)
        errors.append(abs(rmssd(bad, ~flagged) / rmssd(seg) - 1))
        caught.append(flagged[faulty].mean())
        assert rmssd(bad) > rmssd(seg) * 1.05  # uncorrected, the faults do break RMSSD
    assert 100 * np.median(errors) <= 5.0, f"median |RMSSD error| {100 * np.median(errors):.1f} %"
    assert np.median(caught) >= 0.5  # every fault has at least one of its beats flagged, mostly both


def test_implausible_rr_is_flagged_with_its_reason() -> None:
    detector = ArtifactDetector()
    for rr in [800.0] * 10:
        assert not detector.judge(rr).flagged
    assert detector.judge(250.0).reason is FlagReason.TOO_SHORT
    assert detector.judge(2500.0).reason is FlagReason.TOO_LONG
    judgement = detector.judge(1300.0)
    assert judgement.reason is FlagReason.OUT_OF_RHYTHM and judgement.reference_ms == 800.0
    assert not detector.judge(810.0).flagged


def test_a_sudden_real_rhythm_change_is_relearned_after_a_few_beats() -> None:
    detector = ArtifactDetector()
    verdicts = [detector.judge(1000.0 + (k % 3)).flagged for k in range(40)]
    verdicts += [detector.judge(600.0 + (k % 3)).flagged for k in range(20)]
    assert not any(verdicts[:40])
    assert verdicts[40:40 + RELOCK_BEATS] == [True] * RELOCK_BEATS  # kept flagged: causal, no rewriting
    assert not any(verdicts[40 + RELOCK_BEATS:])


def test_reset_forgets_the_rhythm() -> None:
    detector = ArtifactDetector()
    for _ in range(30):
        detector.judge(1000.0)
    assert detector.judge(650.0).flagged
    detector.reset()
    assert not any(detector.judge(650.0).flagged for _ in range(10))


def test_an_artifact_right_after_a_gap_cannot_seed_the_reference() -> None:
    detector = ArtifactDetector()
    verdicts = [detector.judge(rr).flagged for rr in (800.0, 810.0, 520.0, 1100.0, 805.0, 795.0, 800.0, 812.0)]
    assert verdicts == [False, False, True, True, False, False, False, False]


def test_a_premature_beat_in_a_high_variability_stretch_is_caught_without_false_flags() -> None:
    rng = np.random.default_rng(5)
    detector = ArtifactDetector()
    flags = [detector.judge(900.0 + 90.0 * np.sin(k / 2.2) + rng.normal(0, 25)).flagged for k in range(120)]
    assert sum(flags) <= 2  # large, irregular swings are rhythm, not artifacts
    judgement = detector.judge(690.0)  # 23 % short of the reference, a big step from the last beat
    assert judgement.flagged and judgement.reason is FlagReason.OUT_OF_RHYTHM
