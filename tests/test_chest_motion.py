"""ChestMotion against a synthetic chest accelerometer whose breaths, movements and postures are known.

The generator below (kept here on purpose, independent of the app's simulator) models a
Polar H10 on the chest at 25 Hz: gravity on a tilted axis ([-30, 980, 150] mG, y up, z out
of the chest), breathing as a small tilt of the chest about a body axis, so the breathing
acceleration runs along ``axis x gravity`` (not aligned with any sensor axis, and it turns
when the posture turns), with breaths of 40:60 inhale:exhale, ~8 % breath-to-breath period
variation and 2 mG white noise per axis. Movement bursts add 100-500 mG of broadband
acceleration. Truth (breath starts, rate, phase, amplitude) comes from the generator only.

Frames of 12-50 samples are pushed one by one, as from the strap.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np
import pytest

from somafeedback.signals.chest_motion import BreathingEstimate, ChestMotion
from somafeedback.regulation.pacer import Pacer, PacerSettings
from somafeedback.signals.pacer_following import PacerFollowing

FS: Final = 25.0  # Hz, the app's default ACC rate
GRAVITY: Final = np.array([-30.0, 980.0, 150.0])  # mG, y up, z out of the chest (tilted a little)
BODY_AXIS: Final = np.array([1.0, 0.3, 0.6]) / math.sqrt(1.45)  # the chest tilts about this axis
WINDOW_S: Final = 30.0


def _rotate(v: np.ndarray, axis: np.ndarray, angle: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    return v * math.cos(angle) + np.cross(axis, v) * math.sin(angle) + axis * (axis @ v) * (1.0 - math.cos(angle))


@dataclass(frozen=True)
class Chest:
    """A synthetic recording and its truth."""

    t: np.ndarray  # s
    acc: np.ndarray  # (n, 3) mG
    starts: np.ndarray  # start of each inhale, s (the first before 0, the last after the end)
    level: np.ndarray  # lung volume 0..1 at each sample
    direction: np.ndarray  # (n, 3) unit breathing direction (inhale) at each sample
    amplitude_mg: float  # peak-to-trough of a breath

    def phase(self, t: float) -> float:
        k = int(np.searchsorted(self.starts, t, side="right")) - 1
        return float((t - self.starts[k]) / (self.starts[k + 1] - self.starts[k]))

    def rate(self, t0: float, t1: float) -> float:
        """Breaths/min over the breaths that end in (t0, t1]."""
        ends = self.starts[1:]
        periods = np.diff(self.starts)[(ends > t0) & (ends <= t1)]
        return 60.0 * len(periods) / float(periods.sum())

    def frames(self, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        rng = np.random.default_rng(seed)
        i = 0
        while i < len(self.t):
            n = int(rng.integers(12, 51))
            yield self.t[i:i + n], self.acc[i:i + n]
            i += n


def chest(duration_s: float, rate_bpm: float, seed: int, amplitude_mg: float = 10.0, *,
          bursts: tuple[tuple[float, float, float], ...] = (),
          posture: tuple[float, float, float, tuple[float, float, float]] | None = None,
          body_axis: np.ndarray = BODY_AXIS, starts: np.ndarray | None = None) -> Chest:
    """Breathing at ``rate_bpm`` (8 % breath-to-breath variation) plus noise, bursts and a posture change.

    ``bursts``: (start s, duration s, RMS mG per axis); ``posture``: (start s, duration s,
    angle degrees, rotation axis): gravity turns smoothly by that angle. ``starts`` overrides
    the breath starts (e.g. to follow a pacer).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * FS)) / FS
    if starts is None:
        period = 60.0 / rate_bpm
        s = [-rng.uniform(0.0, period)]
        while s[-1] <= duration_s + 1.0:
            s.append(s[-1] + period * float(np.clip(1.0 + 0.08 * rng.standard_normal(), 0.8, 1.2)))
        starts = np.array(s)
    k = np.searchsorted(starts, t, side="right") - 1
    fraction = (t - starts[k]) / (starts[k + 1] - starts[k])
    level = np.where(fraction < 0.4, (1.0 - np.cos(np.pi * fraction / 0.4)) / 2.0,
                     (1.0 + np.cos(np.pi * (fraction - 0.4) / 0.6)) / 2.0)
    gravity = np.tile(GRAVITY, (len(t), 1))
    if posture is not None:
        t0, duration, degrees, axis = posture
        turned = np.clip((t - t0) / duration, 0.0, 1.0)
        turned = (1.0 - np.cos(np.pi * turned)) / 2.0
        gravity = np.array([_rotate(GRAVITY, np.asarray(axis, float), math.radians(degrees) * a) for a in turned])
    direction = np.cross(body_axis, gravity)
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    acc = gravity + amplitude_mg * (level - 0.5)[:, None] * direction + 2.0 * rng.standard_normal((len(t), 3))
    for b0, duration, rms in bursts:
        inside = (t >= b0) & (t < b0 + duration)
        n = int(inside.sum())
        sway = np.cumsum(rng.standard_normal((n, 3)), axis=0)
        sway = (sway - sway.mean(axis=0)) / (sway.std(axis=0) + 1e-9) * 0.3 * rms
        acc[inside] += rms * rng.standard_normal((n, 3)) + sway
    return Chest(t, acc, starts, level, direction, amplitude_mg)


def run(c: Chest, seed: int = 0, motion: ChestMotion | None = None) -> tuple[ChestMotion, list[BreathingEstimate]]:
    motion = motion or ChestMotion(FS, WINDOW_S)
    estimates = [e for tt, aa in c.frames(seed) if (e := motion.push(tt, aa)) is not None]
    return motion, estimates


def phase_error(estimate: BreathingEstimate, c: Chest) -> float:
    """Estimated minus true phase, wrapped to [-0.5, 0.5) cycles."""
    return (estimate.phase - c.phase(estimate.t_s) + 0.5) % 1.0 - 0.5


def circular_mean(errors: list[float]) -> float:
    mean = np.exp(2j * np.pi * np.asarray(errors)).mean()
    return float(np.angle(mean) / (2.0 * np.pi))


# ----------------------------------------------------------------------------------------
# steady breathing
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("rate_bpm", [6.0, 12.0, 18.0])
@pytest.mark.parametrize("amplitude_mg", [5.0, 20.0])
def test_rate_phase_and_amplitude_of_steady_breathing(rate_bpm: float, amplitude_mg: float) -> None:
    c = chest(180.0, rate_bpm, seed=int(rate_bpm * 10 + amplitude_mg), amplitude_mg=amplitude_mg)
    _, estimates = run(c, seed=1)
    assert all(e.source == "acc" and not e.moving for e in estimates)
    warm = [e for e in estimates if e.t_s >= 45.0]
    valid = [e for e in warm if e.valid]
    assert len(valid) >= 0.9 * len(warm), [e.reason for e in warm if not e.valid]
    for e in valid:
        assert abs(e.rate_bpm - c.rate(e.t_s - WINDOW_S, e.t_s)) <= 1.0, e
        assert 0.0 <= e.phase < 1.0 and e.reason == ""
    errors = [phase_error(e, c) for e in valid]
    assert abs(circular_mean(errors)) <= 0.1
    assert float(np.median(np.abs(errors))) <= 0.12
    amplitudes = np.array([e.amplitude_mg for e in valid])
    assert np.all(np.abs(amplitudes / amplitude_mg - 1.0) <= 0.25), amplitudes


def test_estimates_at_most_about_once_per_second_and_warming_up_first() -> None:
    c = chest(60.0, 12.0, seed=3)
    _, estimates = run(c, seed=2)
    times = np.array([e.t_s for e in estimates])
    assert np.all(np.diff(times) >= 1.0 - 1e-9)  # no movement here, so only the timed refresh
    assert len(estimates) >= 25  # frames are 0.5-2 s long: one refresh per frame after the first second
    first = estimates[0]
    assert not first.valid and first.reason == "warming up" and math.isnan(first.rate_bpm)
    assert any(e.valid for e in estimates)


def test_trace_follows_the_breathing_with_inhale_upwards() -> None:
    c = chest(90.0, 12.0, seed=4, amplitude_mg=10.0)
    motion, _ = run(c, seed=3)
    t, value = motion.trace(20.0)
    assert 19.0 <= t[-1] - t[0] <= 20.0 and t[-1] == pytest.approx(c.t[-1])
    displacement = 10.0 * (c.level - 0.5)
    truth = np.interp(t, c.t, displacement)
    # the band-pass delays the trace a little: compare at the best lag within 1 s
    best = max(np.corrcoef(value[:len(value) - k], truth[k:] if k else truth)[0, 1] for k in range(0, 26))
    assert best >= 0.9
    assert np.ptp(value) == pytest.approx(10.0, rel=0.35)  # mG, the breath's peak-to-trough
    assert motion.trace(0.0)[0].size == 0


def test_phase_at_extrapolates_at_the_rate() -> None:
    estimate = BreathingEstimate(100.0, 12.0, 0.9, 10.0, True, "", False, "acc")
    assert estimate.phase_at(100.0) == pytest.approx(0.9)
    assert estimate.phase_at(101.0) == pytest.approx(0.1)  # 1 s = 0.2 breath at 12/min
    invalid = BreathingEstimate(1.0, math.nan, math.nan, math.nan, False, "movement", True, "acc")
    assert math.isnan(invalid.phase_at(2.0))


# ----------------------------------------------------------------------------------------
# movement and posture
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rate_bpm", "bursts"), [
    (12.0, ((60.0, 3.0, 100.0), (120.0, 8.0, 500.0))),
    (6.0, ((70.0, 5.0, 300.0),)),
    (18.0, ((60.0, 8.0, 200.0), (110.0, 4.0, 450.0))),
])
def test_movement_bursts_are_flagged_and_cleared(rate_bpm: float,
                                                 bursts: tuple[tuple[float, float, float], ...]) -> None:
    c = chest(180.0, rate_bpm, seed=int(rate_bpm), amplitude_mg=10.0, bursts=bursts)
    motion = ChestMotion(FS, WINDOW_S)
    flags: list[tuple[float, bool]] = []  # (end of frame, moving)
    estimates: list[BreathingEstimate] = []
    for tt, aa in c.frames(seed=5):
        if (e := motion.push(tt, aa)) is not None:
            estimates.append(e)
        flags.append((float(tt[-1]), motion.moving))
    for b0, duration, _ in bursts:
        during = [m for t, m in flags if b0 + 0.5 <= t <= b0 + duration]
        assert during and all(during), "moving must be set during a burst"
        after = [m for t, m in flags if b0 + duration + 5.0 <= t <= b0 + duration + 15.0]
        assert after and not any(after), "moving must clear a few seconds after a burst"
        inside = [e for e in estimates if b0 + 0.5 <= e.t_s <= b0 + duration]
        assert inside and all(e.moving and not e.valid and e.reason == "movement" for e in inside)
        assert math.isnan(inside[0].rate_bpm)
        # a movement starting is reported at once, not at the next timed refresh
        assert any(b0 <= e.t_s <= b0 + 0.5 + 2.0 and e.moving for e in estimates)
        back = [e for e in estimates if b0 + duration + 40.0 <= e.t_s <= b0 + duration + 45.0 and e.valid]
        assert back, "valid again once breaths after the movement fill the window"
    quiet = [t for t, m in flags if m and not any(b0 <= t <= b0 + d + 5.0 for b0, d, _ in bursts)]
    assert quiet == [], "no movement outside the bursts"
    valid = [e for e in estimates if e.valid]
    assert all(abs(e.rate_bpm - c.rate(e.t_s - WINDOW_S, e.t_s)) <= 1.0 for e in valid if e.t_s >= 45.0)
    assert abs(circular_mean([phase_error(e, c) for e in valid if e.t_s >= 45.0])) <= 0.1


@pytest.mark.parametrize(("posture", "bursts"), [
    ((100.0, 2.0, 60.0, (1.0, 0.0, 0.0)), ((99.0, 4.0, 200.0),)),  # lying back, with the movement it takes
    ((100.0, 6.0, 60.0, (1.0, 0.0, 0.0)), ()),  # a slow, smooth recline: no shaking at all
    ((100.0, 8.0, 25.0, (0.0, 0.0, 1.0)), ()),  # a slow sideways lean of 25 degrees
])
def test_posture_change_resets_the_projection(
        posture: tuple[float, float, float, tuple[float, float, float]],
        bursts: tuple[tuple[float, float, float], ...]) -> None:
    c = chest(200.0, 12.0, seed=6, amplitude_mg=15.0, posture=posture, bursts=bursts)
    if posture[2] >= 45.0:  # lying back really turns the breathing direction (a sideways lean barely does)
        assert abs(float(c.direction[0] @ c.direction[-1])) < math.cos(math.radians(20.0))
    motion, estimates = run(c, seed=7)
    t0, duration = posture[0], posture[1]
    changing = [e for e in estimates if t0 + 0.4 * duration <= e.t_s <= t0 + duration]  # a slow start goes unseen
    assert changing and not any(e.valid for e in changing)
    assert any(e.reason == "posture changed" for e in estimates if t0 <= e.t_s <= t0 + duration + 15.0)
    settled = [e for e in estimates if e.t_s >= t0 + duration + 45.0]
    assert settled and all(e.valid for e in settled), [e.reason for e in settled if not e.valid]
    assert all(abs(e.rate_bpm - c.rate(e.t_s - WINDOW_S, e.t_s)) <= 1.0 for e in settled)
    assert abs(circular_mean([phase_error(e, c) for e in settled])) <= 0.1
    # the trace now follows the new breathing direction, inhale upwards
    t, value = motion.trace(20.0)
    truth = np.interp(t, c.t, c.level)
    assert max(np.corrcoef(value[:len(value) - k], truth[k:] if k else truth)[0, 1] for k in range(0, 26)) >= 0.9


def test_breath_shape_corrects_a_wrong_sign_prior() -> None:
    """Inhale along -z (strap worn another way): the +z prior is wrong and the breaths' shape must win."""
    c = chest(240.0, 12.0, seed=8, amplitude_mg=15.0, body_axis=-BODY_AXIS)
    assert c.direction[0][2] < -0.3  # the prior applies, and points the wrong way
    _, estimates = run(c, seed=9)
    late = [e for e in estimates if e.valid and e.t_s >= 120.0]
    assert len(late) >= 60
    errors = [phase_error(e, c) for e in late]
    assert abs(circular_mean(errors)) <= 0.1
    assert float(np.median(np.abs(errors))) <= 0.12


# ----------------------------------------------------------------------------------------
# gaps, reset, input
# ----------------------------------------------------------------------------------------

def test_gap_restarts_and_reset_forgets() -> None:
    c = chest(150.0, 12.0, seed=10)
    motion = ChestMotion(FS, WINDOW_S)
    gap = (c.t >= 80.0) & (c.t < 83.0)  # 3 s of lost frames
    estimates = []
    for tt, aa in c.frames(seed=11):
        keep = ~gap[np.searchsorted(c.t, tt)]
        if keep.any() and (e := motion.push(tt[keep], aa[keep])) is not None:
            estimates.append(e)
    assert any(e.reason == "refilling after a gap" for e in estimates if 83.0 <= e.t_s <= 90.0)
    assert any(e.valid for e in estimates if e.t_s >= 120.0)
    motion.reset()
    assert motion.trace(10.0)[0].size == 0
    e = motion.push(c.t[:25] + 1000.0, c.acc[:25])
    assert e is not None and e.reason == "warming up"
    # time running backwards is a new stream, not an error
    e = motion.push(c.t[:30], c.acc[:30])
    assert e is not None and e.reason == "warming up"


def test_bad_input() -> None:
    motion = ChestMotion()
    with pytest.raises(ValueError):
        motion.push(np.arange(3.0), np.zeros((3, 2)))
    with pytest.raises(ValueError):
        motion.push(np.arange(3.0), np.zeros((4, 3)))
    assert motion.push(np.array([0.0]), np.array([[np.nan, 0.0, 0.0]])) is None  # nothing usable
    with pytest.raises(ValueError):
        ChestMotion(fs_hz=2.0)
    with pytest.raises(ValueError):
        ChestMotion(window_s=5.0)


# ----------------------------------------------------------------------------------------
# cost and the pacer
# ----------------------------------------------------------------------------------------

def test_the_refresh_runs_at_most_once_per_second_of_signal() -> None:
    """What keeps frames cheap is structural: most frames only filter, and the estimate (the costly part)
    is refreshed at most once per second of signal. (Its cost per frame is a benchmark figure, not a test.)"""
    c = chest(300.0, 12.0, seed=12, bursts=((150.0, 5.0, 300.0),))
    motion = ChestMotion(FS, WINDOW_S)
    refreshed: list[float] = []
    frames = 0
    for tt, aa in c.frames(seed=13):
        frames += 1
        if motion.push(tt, aa) is not None:
            refreshed.append(float(tt[-1]))
    assert 0 < len(refreshed) <= 300 and len(refreshed) <= frames
    assert all(later - earlier >= 1.0 - 1e-9 for earlier, later in zip(refreshed, refreshed[1:]))


def test_breathing_that_follows_the_pacer_one_second_late() -> None:
    """End to end: breaths that start 1 s after the pacer's inhales give a lag of about 1 s."""
    pacer = Pacer(PacerSettings.from_rate(6.0), start_s=0.0)
    rng = np.random.default_rng(14)
    starts = np.arange(-1, 22) * 10.0 + 1.0 + 0.2 * rng.standard_normal(23)  # 10 s breaths, 1 s late
    c = chest(200.0, 6.0, seed=15, amplitude_mg=12.0, starts=np.sort(starts))
    _, estimates = run(c, seed=16)
    following = PacerFollowing(window_s=60.0)
    result = None
    for e in estimates:
        state = pacer.at(e.t_s)
        result = following.push(e.t_s, e.phase, e.rate_bpm, state.cycle_fraction, state.settings.breaths_per_min)
    assert result is not None and result.valid
    assert result.following
    assert result.phase_locking >= 0.85
    assert result.mean_lag_s == pytest.approx(1.0, abs=0.6)  # ChestMotion phase: ~±0.05 cycle = ±0.5 s at 6/min
    assert abs(result.rate_difference_bpm) <= 0.5


# ----------------------------------------------------------------------------------------
# the fast paths against the straightforward computations they replace
# ----------------------------------------------------------------------------------------

def _reference_zigzag(y: np.ndarray, threshold: float) -> tuple[list[int], list[int]]:
    """The zig-zag detector written plainly: every sample visited, extrema kept by index."""
    minima: list[int] = []
    maxima: list[int] = []
    lo = hi = 0
    direction = 0
    for k in range(1, len(y)):
        if direction >= 0 and y[k] > y[hi]:
            hi = k
        if direction <= 0 and y[k] < y[lo]:
            lo = k
        if direction >= 0 and y[k] < y[hi] - threshold:
            if direction == 1 or hi > lo:
                maxima.append(hi)
            direction, lo = -1, k
        elif direction <= 0 and y[k] > y[lo] + threshold:
            if direction == -1 or lo > hi:
                minima.append(lo)
            direction, hi = 1, k
    return minima, maxima


def _reference_centred_average(y: np.ndarray, width: int) -> np.ndarray:
    n = len(y)
    c = np.concatenate(([0.0], np.cumsum(y)))
    i = np.arange(n)
    lo = np.maximum(i - width // 2, 0)
    hi = np.minimum(i + width // 2 + 1, n)
    return (c[hi] - c[lo]) / (hi - lo)


def test_fast_filters_are_scipy_lfilter_bit_for_bit() -> None:
    """The filters called through lfilter's core, and the FIR power average, equal scipy.signal.lfilter."""
    import scipy.signal as signal

    c = chest(120.0, 12.0, seed=21, bursts=((60.0, 4.0, 300.0),))
    motion = ChestMotion(FS, WINDOW_S)
    band = motion._band
    band.steady(c.acc[0])
    reference = [zi.copy() for zi in band.state]
    zi_avg = np.zeros(len(motion._avg_b) - 1)
    motion._avg_zi = zi_avg.copy()
    for tt, aa in c.frames(seed=22):
        out, band.state = band.run(aa)
        x = aa
        for k, (b, a) in enumerate(band._stages):
            x, reference[k] = signal.lfilter(b, a, x, axis=0, zi=reference[k])
        assert np.array_equal(out, x)
        assert all(np.array_equal(s, r) for s, r in zip(band.state, reference, strict=True))
        power = np.einsum("ij,ij->i", aa - aa.mean(axis=0), aa - aa.mean(axis=0))
        expected, zi_avg = signal.lfilter(motion._avg_b, [1.0], power, zi=zi_avg)
        assert np.array_equal(motion._moving_average_power(power), expected)
        assert np.array_equal(motion._avg_zi, zi_avg)
    for f_hz in (0.05, 0.137, 0.25, 0.7, 3.0):
        z1 = np.exp(-2j * math.pi * np.array([f_hz]) / FS)
        expected_h = np.ones(1, dtype=complex)
        for b, a in band._stages:
            expected_h *= np.polyval(b[::-1], z1) / np.polyval(a[::-1], z1)
        assert band.response(f_hz, FS) == complex(expected_h[0])


def test_window_statistics_are_numpys_bit_for_bit() -> None:
    """On the band-passed windows of a recording: mean, eigenvectors, percentiles, median, smoothing, zig-zag."""
    from somafeedback.signals import chest_motion
    from somafeedback.signals.breath_cycles import centred_average, zigzag

    c = chest(150.0, 15.0, seed=23, bursts=((70.0, 3.0, 300.0),))
    motion = ChestMotion(FS, WINDOW_S)
    rng = np.random.default_rng(24)
    checked = 0
    for tt, aa in c.frames(seed=25):
        motion.push(tt, aa)
        b = motion._buffer
        still = ~np.isnan(b.bp[: b.n, 0])
        window = b.bp[: b.n][still][-int(WINDOW_S * FS):]
        if len(window) < 2 * FS:
            continue
        checked += 1
        mean = np.einsum("ij->j", window) / len(window)
        assert np.array_equal(mean, window.mean(axis=0))
        x = window - mean
        values, vectors = motion._eigh(x.T @ x)
        expected_values, expected_vectors = np.linalg.eigh(x.T @ x)
        assert np.array_equal(values, expected_values) and np.array_equal(vectors, expected_vectors)
        y = window @ vectors[:, -1]
        assert chest_motion._percentiles_10_90(y) == tuple(np.percentile(y, [10.0, 90.0]).tolist())
        swings = rng.uniform(1.0, 30.0, int(rng.integers(1, 12)))
        assert chest_motion._median(swings.tolist()) == float(np.median(swings))
        width = int(rng.integers(1, 40)) | 1
        smooth = centred_average(y, width)
        assert np.array_equal(smooth, _reference_centred_average(y, width) if width > 1 else y)
        minima, maxima = zigzag(smooth, 1.5)
        assert (minima.tolist(), maxima.tolist()) == _reference_zigzag(smooth, 1.5)
    assert checked > 50
    periods = np.diff(c.starts)  # sums of breath periods, in order below 8 and pairwise above, as numpy adds
    for k in range(len(periods) + 1):
        assert chest_motion._numpy_sum(periods[:k].tolist()) == float(periods[:k].sum())
    for n in (2, 3, 4, 9, 10, 11, 12, 125, 751):  # percentiles of short and tied samples too
        y = np.round(rng.normal(size=n), 1)
        assert chest_motion._percentiles_10_90(y) == tuple(np.percentile(y, [10.0, 90.0]).tolist())


def test_remembered_band_gain_is_the_band_response() -> None:
    """The band gain remembered from the last rate equals |response| at every rate, repeated or new."""
    motion = ChestMotion(FS, WINDOW_S)
    rng = np.random.default_rng(26)
    rates = rng.uniform(0.05, 0.7, 40)
    for rate_hz in np.repeat(rates, 2).tolist() + rates[::-1].tolist():  # each twice in a row, then anew
        assert motion._band_gain(rate_hz) == abs(motion._band.response(rate_hz, FS))


def test_spectral_period_is_the_plain_periodograms_peak() -> None:
    """The period sizing the smoothing: the peak of numpy's zero-padded Hann periodogram in the breathing band."""
    from somafeedback.signals.chest_motion import BAND_HZ

    motion = ChestMotion(FS, WINDOW_S)
    rng = np.random.default_rng(27)
    for n in (250, 500, 749, 750, 751, 1024):
        t = np.arange(n) / FS
        y = 5.0 * np.sin(2 * np.pi * t / rng.uniform(2.0, 15.0)) + rng.normal(0.0, 1.0, n)
        size = 1 << max(12, (4 * n - 1).bit_length())
        first, last = int(math.ceil(BAND_HZ[0] * size / FS)), int(BAND_HZ[1] * size / FS)
        power = np.abs(np.fft.rfft((y - y.mean()) * np.hanning(n), size)[first: last + 1]) ** 2
        expected = size / (FS * (first + int(power.argmax())))
        y_before = y.copy()
        assert motion._spectral_period(y) == expected
        assert np.array_equal(y, y_before)  # the caller's trace is left alone
