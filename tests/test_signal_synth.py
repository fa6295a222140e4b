"""Synthetic H10 ECG and chest ACC: chunk invariance, beat timing, detectability, breathing, motion."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import signal

from somafeedback.devices.simulator.acc_synth import (
    ACC_LIMIT_MG,
    POSTURE_RAMP_S,
    AccSynth,
    breathing_rate_truth,
)
from somafeedback.devices.simulator.ecg_synth import (
    ECG_MAX_UV,
    ECG_MIN_UV,
    LOOKAHEAD_S,
    EcgSynth,
    lung_level,
)
from tests.session_helpers import SHARED_DATA

FS = 130.0
H10_IBI = SHARED_DATA / "rr" / "polar_h10_slow_breathing_ibi.csv"
BREATH_HZ = 0.1  # the breathing we pretend went with the real RR (6/min)


# ---------------------------------------------------------------- helpers


def real_beat_times(duration_s: float, offset_s: float = 0.7) -> np.ndarray:
    """R times rebuilt from the real H10 RR (column 2, ms): cumulative sum, never arrival times."""
    rr_ms = np.loadtxt(H10_IBI, delimiter=",")[:, 1]
    t = offset_s + np.concatenate([[0.0], np.cumsum(rr_ms) / 1000.0])
    return t[t < duration_s - 1.0]


def breath_phase(t: np.ndarray | float) -> np.ndarray:
    return np.mod(BREATH_HZ * np.asarray(t, dtype=float), 1.0)


def ecg_from_beats(times: np.ndarray, kinds: list[str] | None = None, seconds: float = 300.0,
                   seed: int = 3) -> np.ndarray:
    synth = EcgSynth(FS, seed=seed)
    for k, tb in enumerate(times):
        synth.add_beat(float(tb), "normal" if kinds is None else kinds[k], float(breath_phase(tb)))
    return synth.render(0, int(seconds * FS))


def slicing(rng: np.random.Generator, total: int, max_chunk: int) -> list[tuple[int, int]]:
    out, i = [], 0
    while i < total:
        n = int(rng.integers(0, max_chunk + 1))  # empty chunks included
        n = min(n, total - i)
        out.append((i, n))
        i += n
    return out


def match(truth: np.ndarray, found: np.ndarray, tol: float) -> tuple[int, int]:
    """Greedy one-to-one matching within ``tol``: (true positives, found that matched)."""
    used = np.zeros(len(found), dtype=bool)
    tp = 0
    for x in truth:
        j = int(np.searchsorted(found, x))
        for c in (j - 1, j):
            if 0 <= c < len(found) and not used[c] and abs(found[c] - x) <= tol:
                used[c] = True
                tp += 1
                break
    return tp, int(used.sum())


def r_heights(x: np.ndarray, times: np.ndarray) -> np.ndarray:
    """R height over the PR segment (~90 ms before R): max within ±1 sample of the beat."""
    out = []
    for tb in times:
        i = int(round(tb * FS))
        peak = int(x[i - 1:i + 2].max())
        iso = float(np.mean(x[i - 12:i - 10]))
        out.append(peak - iso)
    return np.asarray(out)


@pytest.fixture(scope="module")
def real_ecg() -> tuple[np.ndarray, np.ndarray]:
    times = real_beat_times(300.0)
    return times, ecg_from_beats(times)


# ---------------------------------------------------------------- ECG


def test_ecg_chunk_invariance_with_beats_added_just_in_time() -> None:
    times = real_beat_times(70.0)
    kinds = ["ectopic" if k % 9 == 4 else ("compensatory" if k % 9 == 5 else "normal") for k in range(len(times))]
    total = int(70.0 * FS)
    reference = ecg_from_beats(times, kinds, seconds=70.0, seed=9)
    for trial in range(4):
        rng = np.random.default_rng(trial)
        synth = EcgSynth(FS, seed=9)
        added = 0
        parts = []
        for first, n in slicing(rng, total, max_chunk=1 + 40 * trial * trial):
            horizon = (first + n) / FS + LOOKAHEAD_S  # the caller's contract: beats 1 s ahead
            while added < len(times) and times[added] <= horizon:
                synth.add_beat(float(times[added]), kinds[added], float(breath_phase(times[added])))
                added += 1
            parts.append(synth.render(first, n))
        np.testing.assert_array_equal(np.concatenate(parts), reference)
    # a different seed is a different signal (the comparison above can fail)
    assert not np.array_equal(ecg_from_beats(times, kinds, seconds=70.0, seed=10), reference)


def test_ecg_keeps_only_a_few_beats() -> None:
    synth = EcgSynth(FS)
    for k in range(200):
        synth.add_beat(0.8 * k + 0.5)
        synth.render(int(0.8 * k * FS), int(0.8 * FS))
    assert len(synth._beats) <= 4  # pruning: a small deque, not the session's history


def test_r_peaks_within_one_sample_of_the_beats() -> None:
    times = real_beat_times(300.0)
    kinds = ["ectopic" if k % 40 == 20 else "normal" for k in range(len(times))]
    times = times.copy()
    for k, kind in enumerate(kinds):  # premature ectopics, 30 % early
        if kind == "ectopic":
            times[k] -= 0.3 * (times[k] - times[k - 1])
    x = ecg_from_beats(times, kinds)
    peaks, _ = signal.find_peaks(x, height=600, distance=int(0.25 * FS))
    assert len(peaks) == len(times)
    offsets = peaks - times * FS
    assert np.max(np.abs(offsets)) <= 1.0
    assert sum(k == "ectopic" for k in kinds) >= 5


def test_neurokit_detects_the_beats(real_ecg: tuple[np.ndarray, np.ndarray]) -> None:
    nk = pytest.importorskip("neurokit2")
    times, x = real_ecg
    _, info = nk.ecg_peaks(nk.ecg_clean(x, sampling_rate=int(FS)), sampling_rate=int(FS))
    found = np.asarray(info["ECG_R_Peaks"], dtype=float) / FS
    found = found[(found > 1.0) & (found < 298.0)]
    truth = times[(times > 1.0) & (times < 298.0)]
    assert len(truth) > 250
    tp, matched = match(truth, found, tol=0.05)
    assert tp / len(truth) >= 0.99  # sensitivity
    assert matched / len(found) >= 0.99  # positive predictive value


def test_r_amplitude_follows_the_breathing_phase(real_ecg: tuple[np.ndarray, np.ndarray]) -> None:
    times, x = real_ecg
    h = r_heights(x, times)
    assert 1000.0 <= float(np.median(h)) <= 1500.0  # a realistic chest-lead R
    phi = breath_phase(times)
    design = np.column_stack([np.ones_like(phi), np.cos(2 * np.pi * phi), np.sin(2 * np.pi * phi)])
    (a, b, c), *_ = np.linalg.lstsq(design, h, rcond=None)
    # documented: QRS x (1 + m cos 2π(phase - 0.25)), m in 5..10 %: tallest at the start of inhale
    assert 0.05 <= c / a <= 0.10
    assert abs(b / a) < 0.02
    fitted = design @ np.array([a, b, c])
    assert np.corrcoef(fitted, h)[0, 1] > 0.7


def test_baseline_follows_lung_volume(real_ecg: tuple[np.ndarray, np.ndarray]) -> None:
    times, x = real_ecg
    iso = np.array([np.mean(x[int(round(tb * FS)) - 12:int(round(tb * FS)) - 10]) for tb in times])
    level = 2.0 * lung_level(breath_phase(times - 0.09)) - 1.0
    slope, _ = np.polyfit(level, iso, 1)
    assert 20.0 <= slope <= 40.0  # tens of µV, up on full lungs (documented ±30 µV)


def test_values_are_integers_in_range_with_documented_noise(real_ecg: tuple[np.ndarray, np.ndarray]) -> None:
    times, x = real_ecg
    assert x.dtype == np.int64
    assert ECG_MIN_UV <= int(x.min()) and int(x.max()) <= ECG_MAX_UV
    other = ecg_from_beats(times, seed=4)
    # same beats, independent noise: first differences of the difference are noise only
    d = np.diff((x - other).astype(float))
    noise_sd = float(np.std(d)) / 2.0
    assert 10.0 <= noise_sd <= 20.0


def test_no_contact_is_a_flat_noisy_line() -> None:
    synth = EcgSynth(FS, seed=1)
    for k in range(20):
        synth.add_beat(0.5 + k, "normal", 0.1 * k)
    live = synth.render(0, int(5 * FS))
    flat = synth.render(int(5 * FS), int(10 * FS), contact=False)
    assert live.max() > 1000  # beats were there to show
    assert np.max(np.abs(flat)) < 40
    assert abs(float(np.mean(flat))) < 2.0
    assert 3.0 <= float(np.std(flat)) <= 8.0


def test_ectopic_beats_have_a_wide_qrs_no_p_and_an_inverted_t() -> None:
    times = 0.7 + np.arange(60, dtype=float)
    kinds = ["ectopic" if k % 5 == 2 else "normal" for k in range(60)]
    x = ecg_from_beats(times, kinds, seconds=62.0).astype(float)

    def features(tb: float) -> tuple[int, float, float]:
        i = int(round(tb * FS))
        iso = float(np.median(x[i - 45:i + 90]))  # a robust level over the beat
        peak = x[i - 1:i + 2].max() - iso
        above = x[i - 15:i + 16] - iso >= 0.5 * peak
        width = int(above.sum())
        p_wave = float(np.mean(x[i - 25:i - 19]) - iso)  # around -170 ms
        t_wave = float(np.mean(x[i + 33:i + 52]) - iso)  # 250..400 ms
        return width, p_wave, t_wave

    normal = [features(tb) for tb, k in zip(times, kinds) if k == "normal"]
    ectopic = [features(tb) for tb, k in zip(times, kinds) if k == "ectopic"]
    w_n = np.median([f[0] for f in normal])
    w_e = np.median([f[0] for f in ectopic])
    assert w_e >= 2.0 * w_n
    assert np.median([f[1] for f in normal]) > 60.0  # a P wave before sinus beats
    assert abs(np.median([f[1] for f in ectopic])) < 30.0  # none before ectopics
    assert np.median([f[2] for f in normal]) > 150.0
    assert np.median([f[2] for f in ectopic]) < -300.0


def test_wrapped_and_unwrapped_breath_phase_agree() -> None:
    times = 0.7 + 1.9 * np.arange(30)  # long RR: the breath advances > 1 cycle between beats at 0.6 Hz
    cycles = 0.6 * times

    def render(phases: np.ndarray) -> np.ndarray:
        synth = EcgSynth(FS, seed=2)
        for tb, ph in zip(times, phases):
            synth.add_beat(float(tb), "normal", float(ph))
        return synth.render(0, int(58 * FS)).astype(float)

    unwrapped, wrapped = render(cycles), render(np.mod(cycles, 1.0))
    assert np.max(np.abs(unwrapped - wrapped)) > 10.0  # wrapped input loses the whole cycles
    shifted = render(cycles + 3.0)  # whole cycles added: the same breathing
    assert np.max(np.abs(unwrapped - shifted)) <= 1.0


def test_ecg_rejects_misuse() -> None:
    synth = EcgSynth(FS)
    synth.add_beat(1.0)
    with pytest.raises(ValueError):
        synth.add_beat(1.0)
    with pytest.raises(ValueError):
        synth.add_beat(2.0, kind="fibrillation")
    synth.render(100, 10)
    with pytest.raises(ValueError):
        synth.render(50, 10)


# ---------------------------------------------------------------- ACC


def varying_cycles(t: np.ndarray, bpm: float) -> np.ndarray:
    """Unwrapped breathing cycles at ``bpm`` with a slow ±4 % wobble of the rate."""
    f = bpm / 60.0
    return 0.3 + f * t + 0.04 * f / (2 * np.pi * 0.01) * np.sin(2 * np.pi * 0.01 * t)


@pytest.mark.parametrize("fs", [25.0, 200.0])
def test_acc_chunk_invariance(fs: float) -> None:
    total = int(40 * fs)
    t = np.arange(total) / fs
    cycles = varying_cycles(t, 12.0)

    def make() -> AccSynth:
        synth = AccSynth(fs, seed=5)
        synth.add_movement(5.0, 8.0, 60.0)
        synth.add_movement(10.0, 3.0, 150.0)
        synth.set_posture(20.0, (700.0, 500.0, -400.0))
        synth.set_posture(20.5, (0.0, -990.0, 50.0))  # overlapping ramps
        return synth

    reference = make().render(0, total, cycles)
    assert reference.shape == (total, 3) and reference.dtype == np.int64
    for trial in range(3):
        synth = make()
        parts = [synth.render(first, n, cycles[first:first + n])
                 for first, n in slicing(np.random.default_rng(trial), total, 1 + int(fs) * trial)]
        np.testing.assert_array_equal(np.concatenate(parts), reference)
    other = AccSynth(fs, seed=6).render(0, total, cycles)
    assert not np.array_equal(other, reference)


@pytest.mark.parametrize("bpm", [6.0, 12.0, 18.0])
def test_breathing_rate_from_acc_matches_truth(bpm: float) -> None:
    fs = 25.0
    t = np.arange(int(300 * fs)) / fs
    cycles = varying_cycles(t, bpm)
    truth = breathing_rate_truth(t, cycles)
    synth = AccSynth(fs, seed=int(bpm))
    acc = synth.render(0, len(t), cycles).astype(float)
    centred = acc - acc.mean(axis=0)  # remove gravity
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    direction = vt[0]
    assert abs(float(direction @ synth.breath_direction)) > 0.95
    assert np.max(np.abs(direction)) < 0.95  # not along one axis
    freqs, power = signal.periodogram(centred @ direction, fs=fs, window="hann", nfft=8 * len(t))
    band = (freqs > 0.05) & (freqs < 1.0)
    estimate = float(freqs[band][np.argmax(power[band])] * 60.0)
    assert abs(estimate - truth) <= 0.5


def test_breathing_follows_the_physiology_phase_convention() -> None:
    synth = AccSynth(25.0, seed=2, breath_depth_mg=40.0)
    noise_free = [synth.render(k, 1, np.array([c])).astype(float)[0] for k, c in ((0, 0.25), (1, 0.75))]
    swing = noise_free[1] - noise_free[0]
    # start of inhale (0.25) to end of inhale (0.75): the full 40 mG peak-to-peak along the direction
    assert abs(float(np.linalg.norm(swing)) - 40.0) < 10.0
    assert float(swing @ synth.breath_direction) > 30.0
    assert lung_level(0.25) == pytest.approx(0.0) and lung_level(0.75) == pytest.approx(1.0)


def test_movement_burst_raises_high_frequency_energy() -> None:
    fs, intensity = 50.0, 80.0
    t = np.arange(int(60 * fs)) / fs
    synth = AccSynth(fs, seed=7)
    synth.add_movement(20.0, 10.0, intensity)
    acc = synth.render(0, len(t), varying_cycles(t, 12.0)).astype(float)

    def high_power(a: float, b: float) -> float:
        seg = acc[(t >= a) & (t < b)]
        f, p = signal.welch(seg - seg.mean(axis=0), fs=fs, nperseg=128, axis=0)
        return float(p[f > 1.0].sum())

    assert high_power(21.0, 29.0) > 200.0 * high_power(3.0, 11.0)
    burst = acc[(t >= 21.0) & (t < 29.0)]
    rms = np.std(burst, axis=0)
    assert np.all(np.abs(rms - intensity) < 0.3 * intensity)  # documented: RMS per axis
    assert np.max(np.abs(acc)) <= ACC_LIMIT_MG


def test_posture_change_moves_gravity_smoothly() -> None:
    fs = 25.0
    g0, g1 = np.array([-30.0, 980.0, 150.0]), np.array([900.0, -100.0, 400.0])
    t = np.arange(int(60 * fs)) / fs
    synth = AccSynth(fs, seed=8, gravity_mg=tuple(g0))
    synth.set_posture(30.0, tuple(g1))
    acc = synth.render(0, len(t), varying_cycles(t, 12.0)).astype(float)
    before = acc[(t >= 5.0) & (t < 29.0)].mean(axis=0)
    after = acc[(t >= 31.0 + POSTURE_RAMP_S) & (t < 58.0)].mean(axis=0)
    np.testing.assert_allclose(before, g0, atol=4.0)
    np.testing.assert_allclose(after, g1, atol=4.0)
    np.testing.assert_allclose(acc[(t >= 31.0) & (t < 32.0)].mean(axis=0), g1, atol=8.0)  # done in ~1 s
    ramp = acc[(t >= 29.5) & (t < 31.5)]
    # a turn, not a jump: smoothstep's peak slope (1.5x), x1.3 for turning on the sphere, + noise
    step_bound = 2.0 * float(np.linalg.norm(g1 - g0)) / (POSTURE_RAMP_S * fs) + 20.0
    steps = np.linalg.norm(np.diff(ramp, axis=0), axis=1)
    assert np.max(steps) <= step_bound < 0.15 * float(np.linalg.norm(g1 - g0))
    assert np.min(np.linalg.norm(ramp, axis=1)) > 900.0  # stays near 1 g while turning


def test_breathing_rate_truth() -> None:
    t = np.linspace(0.0, 60.0, 601)
    assert breathing_rate_truth(t, 0.3 + 0.2 * t) == pytest.approx(12.0)
    wobble = 0.04 * 0.1 / (2 * math.pi * 0.01) * math.sin(2 * math.pi * 0.01 * 60.0)  # cycles gained
    assert breathing_rate_truth(t, varying_cycles(t, 6.0)) == pytest.approx((6.0 + wobble) / 60.0 * 60.0)
    with pytest.raises(ValueError):
        breathing_rate_truth(t[:1], t[:1])
