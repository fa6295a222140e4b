"""Live pipeline cost per beat on 24 h of real beats, against the naive neurokit2 design.

Prints `name: value unit` lines:
  per_beat_p50_ms, per_beat_p99_ms, per_beat_max_ms   the live pipeline, 24 h record, beat by beat
  naive_per_beat_p50_ms, naive_per_beat_p99_ms        neurokit2 recomputed per beat (15-min slice)
  fast_per_beat_p50_ms_slice                          the live pipeline on the same slice
  naive_ratio                                         naive total time / live total time (slice)
  max_rel_diff_rmssd, max_rel_diff_sdnn               live vs neurokit2 values, same windows
  analyze_24h_s                                       `somafeedback analyze --json` on the 24 h file (wall, whole process)
Goals: p99 <= 2 ms per beat; >= 20x faster than naive with the same values; 24 h analysis <= 3 s.
Run: python benchmarks/bench_pipeline.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RECORD = REPO.parent / "shared" / "data" / "rr" / "nsr001_rr_secs.txt"


def live_pass(rr: np.ndarray, keep: bool = False) -> tuple[np.ndarray, list]:
    """Per-beat cost (ms); the metric sets too when ``keep`` (retaining 10^5 of them would
    make the garbage collector's pauses part of the measurement)."""
    from somafeedback.hrv.pipeline import MetricsPipeline

    pipeline = MetricsPipeline()
    t = (np.cumsum(rr) / 1000.0).tolist()
    costs = np.empty(len(rr))
    out = []
    clock = time.perf_counter_ns
    for k, (tk, rk) in enumerate(zip(t, rr.tolist(), strict=True)):
        start = clock()
        metrics = pipeline.push_beat(tk, rk)
        costs[k] = clock() - start
        if keep:
            out.append(metrics)
    return costs / 1e6, out


def naive_pass(rr: np.ndarray, flagged: np.ndarray) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Design A of research/hrv.md §2: neurokit2 on the trailing windows at every beat."""
    import neurokit2 as nk

    t = np.cumsum(rr) / 1000.0
    rri = np.where(flagged, np.nan, rr)
    costs, values = np.empty(len(rr)), []
    for k in range(len(rr)):
        start = time.perf_counter_ns()
        w60 = (t > t[k] - 60.0) & (t <= t[k])
        w300 = (t > t[k] - 300.0) & (t <= t[k]) & ~flagged
        result = nk.hrv_time({"RRI": rri[w60], "RRI_Time": t[w60]}).iloc[0] if w60.sum() > 3 else None
        if w300.sum() > 60:
            nk.hrv_frequency({"RRI": rr[w300], "RRI_Time": t[w300]}, normalize=False, interpolation_rate=4, silent=True)
        costs[k] = time.perf_counter_ns() - start
        values.append((result["HRV_RMSSD"], result["HRV_SDNN"]) if result is not None else (np.nan, np.nan))
    return costs / 1e6, values


def main() -> None:
    sys.path.insert(0, str(REPO))
    from somafeedback.interop.rr_files import read_rr_file

    rr = read_rr_file(RECORD).rr_ms.copy()
    costs, _ = live_pass(rr)
    print(f"beats_24h: {len(rr)}")
    print(f"per_beat_p50_ms: {np.percentile(costs, 50):.4f} ms")
    print(f"per_beat_p99_ms: {np.percentile(costs, 99):.4f} ms")
    print(f"per_beat_max_ms: {costs.max():.3f} ms")

    t = np.cumsum(rr) / 1000.0
    start = int(np.searchsorted(t, 8 * 3600.0))  # a daytime 15-min slice
    stop = int(np.searchsorted(t, t[start] + 900.0))
    piece = rr[start:stop]
    fast_costs, fast = live_pass(piece, keep=True)
    flagged = np.array([m.flagged for m in fast])
    import neurokit2  # noqa: F401  - import once, outside the timed loop

    naive_costs, naive = naive_pass(piece, flagged)
    print(f"slice_beats: {len(piece)}")
    print(f"fast_per_beat_p50_ms_slice: {np.percentile(fast_costs, 50):.4f} ms")
    print(f"naive_per_beat_p50_ms: {np.percentile(naive_costs, 50):.3f} ms")
    print(f"naive_per_beat_p99_ms: {np.percentile(naive_costs, 99):.3f} ms")
    print(f"naive_ratio: {naive_costs.sum() / fast_costs.sum():.0f} x")
    ours = np.array([(m.time.rmssd_ms or np.nan, m.time.sdnn_ms or np.nan) for m in fast])
    ref = np.array(naive)
    both = ~np.isnan(ours).any(axis=1) & ~np.isnan(ref).any(axis=1) & (np.arange(len(piece)) > 10)
    rel = np.abs(ours[both] / ref[both] - 1)
    print(f"max_rel_diff_rmssd: {rel[:, 0].max():.2e}")
    print(f"max_rel_diff_sdnn: {rel[:, 1].max():.2e}")

    wall = time.perf_counter()
    subprocess.run([sys.executable, "-m", "somafeedback.cli", "analyze", str(RECORD), "--json"],
                   check=True, capture_output=True)
    print(f"analyze_24h_s: {time.perf_counter() - wall:.2f} s")


if __name__ == "__main__":
    main()
