"""Synchrony cost: per window (live tracker), the surrogates, and a whole hour of two people.

A pseudo-dyad of two real recordings (nsr001 and irurzun, 1 h each) on one time axis.

Prints `name: value unit` lines:
  windows_1h                                   windows in the hour (30 s every 5 s)
  tracker_per_window_p50_us, _p99_us           SynchronyTracker.update cost per window made, beats fed 1 s at a time
  tracker_per_beat_p99_us                      the same, per beat fed (most beats make no window)
  surrogates_per_100_ms                        chance_level over the hour's windows, per 100 surrogate pairs
  whole_hour_s                                 analyse_dyad of the hour (windows, 500 surrogates, RSA, concordance)
Goals: per window p99 <= 1 ms (a window every 5 s); 100 surrogates <= 50 ms (off the beat path);
whole hour <= 3 s.
Run: python benchmarks/bench_synchrony.py
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RR = REPO.parent / "shared" / "data" / "rr"
HOUR_S = 3600.0


def _hour(rr_ms: np.ndarray, start_s: float):
    from somafeedback.synchrony.beats import Beats

    t = np.cumsum(rr_ms) / 1000.0
    inside = (t >= start_s) & (t < start_s + HOUR_S)
    return Beats.judged(t[inside] - start_s, rr_ms[inside])


def main() -> None:
    from somafeedback.interop.rr_files import read_rr_file
    from somafeedback.synchrony.beats import heart_rate_over
    from somafeedback.synchrony.dyad import analyse_dyad
    from somafeedback.synchrony.settings import SynchronySettings
    from somafeedback.synchrony.surrogates import chance_level
    from somafeedback.synchrony.tracker import SynchronyTracker

    a = _hour(read_rr_file(RR / "nsr001_rr_secs.txt").rr_ms, 3600.0)
    b = _hour(read_rr_file(RR / "irurzun_000_ms.txt").rr_ms, 0.0)
    settings = SynchronySettings()
    heart_rate_over(a, 100.0, 10, settings.fs_hz, settings.margin_s, settings.max_bridge_s)  # scipy's LAPACK import
    # (~0.2 s, once; the live pipeline's splines have already paid it when a tracker starts)
    tracker = SynchronyTracker(settings, inline_chance=False)
    per_window, per_beat = [], []
    clock = time.perf_counter_ns
    for second in range(int(HOUR_S) + 1):
        chunks = []
        for beats in (a, b):
            part = slice(beats.t_s.searchsorted(second), beats.t_s.searchsorted(second + 1))
            chunks.append((beats.t_s[part], beats.rr_ms[part], beats.flagged[part]))
        n_beats = len(chunks[0][0]) + len(chunks[1][0])
        start = clock()
        made = tracker.update(*chunks)
        cost = (clock() - start) / 1000.0
        if made:
            per_window.append(cost / len(made))
        if n_beats:
            per_beat.extend([cost / n_beats] * n_beats)
    inputs = tracker.chance_inputs()
    for count in (100, 500):
        start = clock()
        chance_level(*inputs, replace(settings, surrogates=count))
        elapsed_ms = (clock() - start) / 1e6
    start = clock()
    analyse_dyad(a, b, settings)
    whole = (clock() - start) / 1e9
    print(f"windows_1h: {len(tracker.windows)} windows")
    print(f"tracker_per_window_p50_us: {np.percentile(per_window, 50):.0f} us")
    print(f"tracker_per_window_p99_us: {np.percentile(per_window, 99):.0f} us")
    print(f"tracker_per_beat_p99_us: {np.percentile(per_beat, 99):.0f} us")
    print(f"surrogates_per_100_ms: {elapsed_ms / 5:.1f} ms")
    print(f"whole_hour_s: {whole:.2f} s")


if __name__ == "__main__":
    main()
