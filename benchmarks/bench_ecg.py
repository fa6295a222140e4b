"""Streaming R-peak detection cost on 1 h of 130 Hz ECG, against neurokit2 offline.

The hour is MIT-BIH record 100 (lead MLII, µV) resampled 360 -> 130 Hz and tiled to 60 min,
pushed in 73-sample frames (a Polar H10 ECG notification) through one EcgPeakDetector.

Prints `name: value unit` lines:
  samples, frames                  the hour's size
  total_s                          the whole hour through the streaming detector
  per_frame_p50_us, per_frame_p99_us, per_frame_max_us   one push() each
  peaks                            R peaks found
  latency_p50_samples, latency_max_samples   samples after a peak until its confirmation
  neurokit2_import_s               importing neurokit2 (once, outside the timed pass)
  neurokit2_offline_s              nk.ecg_clean + nk.ecg_peaks on the same hour in one go
  neurokit2_peaks, matched_nk_pct  its peaks, and the share of them we found within 40 ms
Goal: total_s <= 2 s on a 2-core machine.
Run: python benchmarks/bench_ecg.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RECORD = REPO.parent / "shared" / "data" / "ecg" / "100"
FS = 130.0  # Hz
FRAME = 73  # samples per push
HOUR_S = 3600.0  # s


def one_hour_ecg() -> np.ndarray:
    """Record 100, MLII, mV -> µV, 360 -> 130 Hz, tiled to exactly one hour."""
    import scipy.signal
    import wfdb

    signals = wfdb.rdrecord(str(RECORD))
    mlii = signals.p_signal[:, signals.sig_name.index("MLII")] * 1000.0
    ecg = scipy.signal.resample_poly(mlii, 13, 36)
    n = int(HOUR_S * FS)
    return np.tile(ecg, -(-n // ecg.size))[:n].copy()


def main() -> None:
    sys.path.insert(0, str(REPO))
    from somafeedback.signals.ecg_peaks import EcgPeakDetector, reference_peaks

    ecg = one_hour_ecg()
    frames = [ecg[start:start + FRAME] for start in range(0, ecg.size, FRAME)]
    detector = EcgPeakDetector(FS)
    costs = np.empty(len(frames))
    peaks = []
    clock = time.perf_counter_ns
    wall = time.perf_counter()
    for k, frame in enumerate(frames):
        start = clock()
        found = detector.push(frame)
        costs[k] = clock() - start
        peaks += found
    total = time.perf_counter() - wall
    costs /= 1e3  # µs
    latency = np.array([p.latency_samples for p in peaks])
    print(f"samples: {ecg.size}")
    print(f"frames: {len(frames)}")
    print(f"total_s: {total:.3f} s")
    print(f"per_frame_p50_us: {np.percentile(costs, 50):.1f} us")
    print(f"per_frame_p99_us: {np.percentile(costs, 99):.1f} us")
    print(f"per_frame_max_us: {costs.max():.1f} us")
    print(f"peaks: {len(peaks)}")
    print(f"latency_p50_samples: {np.median(latency):.0f}")
    print(f"latency_max_samples: {latency.max()}")

    wall = time.perf_counter()
    import neurokit2  # noqa: F401  - import once, outside the timed pass

    print(f"neurokit2_import_s: {time.perf_counter() - wall:.2f} s")
    wall = time.perf_counter()
    reference = reference_peaks(ecg, FS)
    print(f"neurokit2_offline_s: {time.perf_counter() - wall:.3f} s")
    print(f"neurokit2_peaks: {reference.size}")
    ours = np.array([p.index for p in peaks])
    right = np.clip(np.searchsorted(ours, reference), 0, ours.size - 1)
    left = np.clip(right - 1, 0, ours.size - 1)
    nearest = np.minimum(np.abs(ours[left] - reference), np.abs(ours[right] - reference))
    matched = nearest <= 0.040 * FS
    print(f"matched_nk_pct: {100.0 * matched.mean():.2f} %")


if __name__ == "__main__":
    main()
