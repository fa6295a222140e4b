"""The streaming R-peak detector on real MIT-BIH ECG resampled to the Polar H10's 130 Hz.

References: the cardiologists' beat annotations of record 100 (Se / PPV with the 150 ms
match window of ANSI/AAMI EC57, RR accuracy) and neurokit2's offline ``ecg_peaks`` on the
same signal (agreement within 40 ms; beat count on the noisy, PVC-rich record 208 excerpt).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pytest
import scipy.signal
from session_helpers import SHARED_DATA

from somafeedback.signals.ecg_peaks import (
    CLIP_UV,
    EcgPeakDetector,
    RPeak,
    _median_of_ints,
    detect_offline,
    reference_peaks,
)

FS: Final = 130.0  # Hz, the Polar H10's ECG rate
FRAME: Final = 73  # samples in a typical Polar H10 ECG notification
EC57_WINDOW_S: Final = 0.150  # ANSI/AAMI EC57 beat-match window, s
NK_WINDOW_S: Final = 0.040  # agreement window with neurokit2, s
ECG = SHARED_DATA / "ecg"
# MIT-BIH beat annotation codes (non-beat codes such as '+', '~', '|', '"' are left out)
BEAT_SYMBOLS: Final = frozenset("NLRBAaJSVrFejnE/fQ?")


@dataclass(frozen=True)
class Record:
    ecg_uv: np.ndarray  # MLII resampled to 130 Hz, µV
    beats_s: np.ndarray  # annotated beat times, s
    peaks: list[RPeak]  # the detector's output in 73-sample frames
    calls: list[int]  # for each peak, the number of the push() call that returned it


def _to_130hz(x_360hz: np.ndarray) -> np.ndarray:
    return scipy.signal.resample_poly(x_360hz, 13, 36)


def _stream(ecg: np.ndarray, chunks: list[int] | int,
            detector: EcgPeakDetector | None = None) -> tuple[list[RPeak], list[int]]:
    """Push ``ecg`` in chunks (a fixed size or a list of sizes): the peaks and the call that returned each."""
    detector = detector or EcgPeakDetector(FS)
    peaks: list[RPeak] = []
    calls: list[int] = []
    start = call = 0
    while start < ecg.size:
        size = chunks if isinstance(chunks, int) else chunks[call % len(chunks)]
        found = detector.push(ecg[start:start + size])
        peaks += found
        calls += [call] * len(found)
        start += size
        call += 1
    return peaks, calls


def _match(reference_s: np.ndarray, detected_s: np.ndarray, window_s: float) -> list[tuple[int, int]]:
    """One-to-one pairs (reference, detection), each the nearest unused detection within the window."""
    pairs: list[tuple[int, int]] = []
    used = np.zeros(detected_s.size, dtype=bool)
    order = np.searchsorted(detected_s, reference_s)
    for i, t in enumerate(reference_s):
        near = [j for j in (order[i] - 1, order[i]) if 0 <= j < detected_s.size and not used[j]
                and abs(detected_s[j] - t) <= window_s]
        if near:
            j = min(near, key=lambda j: abs(detected_s[j] - t))
            used[j] = True
            pairs.append((i, j))
    return pairs


@pytest.fixture(scope="module")
def record100() -> Record:
    import wfdb

    path = ECG / "100"
    assert path.with_suffix(".dat").is_file(), f"real record missing: {path} (../shared/data beside the checkout)"
    signals = wfdb.rdrecord(str(path))
    annotation = wfdb.rdann(str(path), "atr")
    mlii = signals.p_signal[:, signals.sig_name.index("MLII")] * 1000.0  # mV -> µV
    is_beat = np.array([symbol in BEAT_SYMBOLS for symbol in annotation.symbol])
    beats_s = annotation.sample[is_beat] / signals.fs
    ecg = _to_130hz(mlii)
    peaks, calls = _stream(ecg, FRAME)
    return Record(ecg, beats_s, peaks, calls)


def _indices(peaks: list[RPeak]) -> np.ndarray:
    return np.array([p.index for p in peaks])


# -- accuracy on record 100 ------------------------------------------------------------------
def test_sensitivity_and_ppv_against_the_annotations(record100: Record) -> None:
    detected_s = _indices(record100.peaks) / FS
    matched = len(_match(record100.beats_s, detected_s, EC57_WINDOW_S))
    sensitivity = matched / record100.beats_s.size
    ppv = matched / detected_s.size
    assert record100.beats_s.size == 2273  # 2239 N + 33 A + 1 V
    assert sensitivity >= 0.995, f"Se {100 * sensitivity:.2f} %"
    assert ppv >= 0.995, f"PPV {100 * ppv:.2f} %"


def test_agrees_with_neurokit2_on_the_same_signal(record100: Record) -> None:
    nk_s = reference_peaks(record100.ecg_uv, FS) / FS
    matched = len(_match(nk_s, _indices(record100.peaks) / FS, NK_WINDOW_S))
    assert nk_s.size > 2200
    assert matched / nk_s.size >= 0.995, f"{matched} of {nk_s.size} neurokit2 peaks matched"


def test_rr_intervals_are_accurate_thanks_to_sub_sample_refinement(record100: Record) -> None:
    detected_s = _indices(record100.peaks) / FS
    pairs = np.array(_match(record100.beats_s, detected_s, EC57_WINDOW_S))
    consecutive = (np.diff(pairs[:, 0]) == 1) & (np.diff(pairs[:, 1]) == 1)
    rr_true_ms = 1000.0 * np.diff(record100.beats_s[pairs[:, 0]])[consecutive]

    def median_error_ms(times_s: np.ndarray) -> float:
        rr_ms = 1000.0 * np.diff(times_s[pairs[:, 1]])[consecutive]
        return float(np.median(np.abs(rr_ms - rr_true_ms)))

    refined = median_error_ms(detected_s)
    whole_samples = median_error_ms(np.rint(detected_s * FS) / FS)
    assert consecutive.sum() > 2200
    assert refined <= 4.0, f"median |RR error| {refined:.2f} ms"
    assert refined < 0.7 * whole_samples, (refined, whole_samples)  # the parabola beats the 7.7 ms grid


def test_r_amplitude_matches_an_offline_measurement(record100: Record) -> None:
    """Same definition (cleaned R above the median 80-200 ms before it), zero-phase offline cleaning."""
    import neurokit2 as nk

    cleaned = nk.ecg_clean(record100.ecg_uv, sampling_rate=FS, method="neurokit")
    at = np.rint(_indices(record100.peaks)).astype(int)
    ours = np.array([p.amplitude_uv for p in record100.peaks])[at > 26]
    offline = np.array([cleaned[k] - np.median(cleaned[k - 26:k - 10]) for k in at[at > 26]])
    assert np.corrcoef(ours, offline)[0, 1] >= 0.9
    assert np.median(np.abs(ours / offline - 1)) <= 0.10
    assert 500.0 <= np.median(ours) <= 1500.0  # record 100's MLII R waves are about 1 mV


# -- streaming behaviour ---------------------------------------------------------------------
def test_latency_is_within_one_frame(record100: Record) -> None:
    latency = np.array([p.latency_samples for p in record100.peaks])
    assert latency.max() <= FRAME
    assert latency.max() <= EcgPeakDetector(FS).max_latency_samples
    for peak, call in zip(record100.peaks, record100.calls, strict=True):
        confirming = peak.index + peak.latency_samples  # the sample whose arrival confirmed it
        assert call * FRAME - 0.5 <= confirming < (call + 1) * FRAME + 0.5  # it arrived in that call
        assert call <= int(round(peak.index)) // FRAME + 1  # returned by the next frame's call at the latest


def test_any_chunking_gives_identical_peaks(record100: Record) -> None:
    ecg = record100.ecg_uv
    for chunks in (7, 250, [1, 250, 73, 2, 130, 19, 64]):
        assert _stream(ecg, chunks)[0] == record100.peaks, chunks
    two_minutes = ecg[: int(120 * FS)]
    one_by_one = _stream(two_minutes, 1)[0]
    assert len(one_by_one) > 100
    assert one_by_one == _stream(two_minutes, FRAME)[0]
    assert np.array_equal(detect_offline(ecg, FS), _indices(record100.peaks))


def test_reset_starts_a_fresh_stretch(record100: Record) -> None:
    ecg = record100.ecg_uv
    later = ecg[int(600 * FS):int(660 * FS)]
    detector = EcgPeakDetector(FS)
    _stream(ecg[: int(30 * FS)], FRAME, detector)
    assert detector.samples_seen == int(30 * FS)
    detector.reset()
    assert detector.samples_seen == 0
    after_reset, _ = _stream(later, FRAME, detector)
    assert after_reset == _stream(later, FRAME)[0]  # exactly what a new detector finds
    assert len(after_reset) >= 60 and after_reset[0].index < 2 * FS
    assert detector.samples_seen == later.size


@pytest.mark.parametrize("offset_s", [0.0, -0.02, 0.05, 0.3])
def test_starting_mid_beat_loses_at_most_the_first_beat(record100: Record, offset_s: float) -> None:
    """Start on, just before, just after or well after an R peak (``offset_s`` from it)."""
    full = _indices(record100.peaks)
    start = int(round(full[500] + offset_s * FS))
    ecg = record100.ecg_uv[start:start + int(60 * FS)]
    ours = _indices(_stream(ecg, FRAME)[0]) + start
    first_second = (start, start + FS)
    settled = (start + FS, start + ecg.size - FS)

    def within(peaks: np.ndarray, span: tuple[float, float]) -> np.ndarray:
        return peaks[(peaks >= span[0]) & (peaks < span[1])]

    assert within(ours, settled).size == within(full, settled).size > 60
    assert np.abs(within(ours, settled) - within(full, settled)).max() < 0.05
    assert within(ours, first_second).size <= within(full, first_second).size  # no spurious beat


def test_baseline_wander_and_amplitude_changes_are_tolerated(record100: Record) -> None:
    ecg = record100.ecg_uv
    t = np.arange(ecg.size) / FS
    wandering = (ecg * (1.0 + 0.6 * np.sin(2 * np.pi * t / 40.0))  # R amplitude x0.4 .. x1.6
                 + 1500.0 * np.sin(2 * np.pi * 0.3 * t) + 800.0 * np.sin(2 * np.pi * 0.05 * t) + 20.0 * t)
    detected_s = detect_offline(wandering, FS) / FS
    matched = len(_match(record100.beats_s, detected_s, EC57_WINDOW_S))
    assert matched / record100.beats_s.size >= 0.995
    assert matched / detected_s.size >= 0.995


def test_amplitude_scales_with_gain_and_detection_does_not_change(record100: Record) -> None:
    ecg = record100.ecg_uv[: int(120 * FS)]
    base = _stream(ecg, FRAME)[0]
    louder = _stream(2.5 * ecg + 3000.0, FRAME)[0]  # gain and a DC offset
    assert len(louder) == len(base) > 100
    assert np.abs(_indices(louder) - _indices(base)).max() < 0.01
    ratio = np.array([b.amplitude_uv for b in louder]) / np.array([a.amplitude_uv for a in base])
    assert np.abs(ratio - 2.5).max() < 0.01


# -- fast paths against the straightforward computation --------------------------------------
def test_scipys_compiled_cores_give_what_its_public_functions_give(record100: Record) -> None:
    """The hot path calls the compiled cores of sosfilt and find_peaks; the public functions (the fallback) agree exactly."""
    fast = EcgPeakDetector(FS)
    assert fast._sosfilt_core is not None and fast._peak_cores is not None  # the fast path is the one in use here
    public = EcgPeakDetector(FS)
    public._sosfilt_core = None
    public._peak_cores = None
    assert _stream(record100.ecg_uv, FRAME, public)[0] == record100.peaks  # every index, amplitude and latency
    ecg_208 = _to_130hz(np.loadtxt(ECG / "mitdb208_excerpt_360Hz_mV.csv", skiprows=1) * 1000.0)
    public.reset()
    assert _stream(ecg_208, FRAME, public)[0] == _stream(ecg_208, FRAME)[0]


def test_the_integer_median_is_numpys(record100: Record) -> None:
    cleaned = np.rint(record100.ecg_uv * 64.0).astype(np.int64)  # integers like the detector's cleaned signal
    rng = np.random.default_rng(5)
    for size in [*range(1, 31), 16, 16, 16]:  # 16: the baseline window at 130 Hz
        for start in rng.integers(0, cleaned.size - size, 20):
            window = cleaned[start:start + size]
            assert _median_of_ints(window.tolist()) == float(np.median(window)), (start, size)


def _sanitise_reference(x: np.ndarray, last: float) -> np.ndarray:
    """The straightforward input hygiene: every sample tested, np.clip."""
    finite = np.isfinite(x)
    if not finite.all():
        positions = np.maximum.accumulate(np.where(finite, np.arange(x.size), -1))
        x = np.where(positions >= 0, x[np.maximum(positions, 0)], last)
    return np.clip(x, -CLIP_UV, CLIP_UV)


def test_input_hygiene_matches_the_straightforward_version(record100: Record) -> None:
    frames = [record100.ecg_uv[k * FRAME:(k + 1) * FRAME].copy() for k in range(12)]
    frames[1][[0, 5]] = np.nan
    frames[2][:] = np.nan
    frames[3][10] = np.inf
    frames[4][[3, 4]] = [np.inf, -np.inf]
    frames[5][:] = 1.5e308  # finite samples whose sum overflows
    frames[6][::2] = -3.2e7
    frames[7] = frames[7][:1]
    frames[8][0] = np.nan  # before any finite sample of this frame: the previous frame's last
    detector = EcgPeakDetector(FS)
    for frame in frames:
        last = detector._last_x
        expected = _sanitise_reference(frame, last)
        got = detector._sanitise(frame)
        assert got is not frame and np.array_equal(got, expected)


# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["zeros", "constant", "faint noise"])
def test_a_flat_signal_gives_no_peaks(kind: str) -> None:
    n = int(60 * FS)
    signal = {"zeros": np.zeros(n), "constant": np.full(n, -1234.0),
              "faint noise": np.random.default_rng(3).normal(0.0, 10.0, n)}[kind]  # 10 µV rms
    detector = EcgPeakDetector(FS)
    assert _stream(signal, FRAME, detector)[0] == []
    assert detector.push(np.zeros(0)) == []
    assert detector.samples_seen == n


@pytest.mark.parametrize("kind", ["saturated", "garbage", "nan"])
def test_a_saturated_or_garbage_frame_does_not_derail_detection(record100: Record, kind: str) -> None:
    ecg = record100.ecg_uv[: int(60 * FS)].copy()
    full = _indices(_stream(ecg, FRAME)[0])
    rng = np.random.default_rng(7)
    bad = slice(20 * FRAME, 21 * FRAME)
    if kind == "saturated":
        ecg[bad] = np.where(rng.random(FRAME) < 0.5, 3.2e7, -3.2e7)
    elif kind == "garbage":
        ecg[bad] = rng.normal(0.0, 1e9, FRAME) * rng.choice([1.0, 1e200], FRAME)
    else:
        ecg[bad] = np.nan
        ecg[bad.start + 5] = np.inf
    peaks = _stream(ecg, FRAME)[0]
    values = np.array([(p.index, p.amplitude_uv) for p in peaks])
    assert np.isfinite(values).all()
    after = bad.stop + FS  # one second after the bad frame, detection is as without it
    ours, clean = values[values[:, 0] > after, 0], full[full > after]
    assert ours.size == clean.size > 20
    assert np.abs(ours - clean).max() < 0.5


# -- record 208 ------------------------------------------------------------------------------
def test_noisy_pvc_record_208_beat_count_is_close_to_neurokit2() -> None:
    path = ECG / "mitdb208_excerpt_360Hz_mV.csv"
    assert path.is_file(), f"real record missing: {path}"
    ecg = _to_130hz(np.loadtxt(path, skiprows=1) * 1000.0)  # header "ecg_mV (360 Hz)"; mV -> µV
    peaks = _stream(ecg, FRAME)[0]
    reference = reference_peaks(ecg, FS)
    assert reference.size > 400  # 5 min at about 100 bpm
    assert abs(len(peaks) - reference.size) <= 0.05 * reference.size, (len(peaks), reference.size)
    assert np.isfinite([p.amplitude_uv for p in peaks]).all()
