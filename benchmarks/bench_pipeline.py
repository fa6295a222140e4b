"""Live pipeline cost per beat on 24 h of real beats, against the naive neurokit2 design.

Prints `name: value unit` lines:
  per_beat_p50_ms, per_beat_p99_ms, per_beat_max_ms   the live pipeline, 24 h record, beat by beat
  naive_per_beat_p50_ms, naive_per_beat_p99_ms        neurokit2 recomputed per beat (15-min slice)
  fast_per_beat_p50_ms_slice                          the live pipeline on the same slice
  naive_ratio                                         naive total time / live total time (slice)
  max_rel_diff_rmssd, max_rel_diff_sdnn               live vs neurokit2 values, same windows
  analyze_24h_s                                       `somafeedback analyze --json` on the 24 h file (wall, whole process)
  two_straps_sync_off_per_beat_p50_ms, _p99_ms, _max_ms   the engine's beat path for two people (1 h of two real
                                                      recordings as Heart Rate notifications, in time order):
                                                      LiveAnalysis.on_notification, synchrony off
  two_straps_sync_on_per_beat_p50_ms, _p99_ms, _max_ms    the same with the engine's SynchronyStage (windows, chance
                                                      levels and breathing checks on its worker thread, as in the
                                                      engine), and its windows
  two_straps_sync_on_back_to_back_per_beat_*          the same while the worker computes during every beat (worst case)
  two_straps_sync_*_per_beat_cpu_p99_ms               the p99 in the engine thread's CPU time (no waiting)
Goals: p99 <= 2 ms per beat; >= 20x faster than naive with the same values; 24 h analysis <= 3 s;
with synchrony on, the beat path's CPU p99 <= 2 ms (a window every 5 s; neither it nor the chance level runs on it).
Run: python benchmarks/bench_pipeline.py  (--two-straps: the 24 h pass and the two-strap part only)
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


def two_straps_pass(rr_a: np.ndarray, rr_b: np.ndarray, synchrony: bool, paced: bool = True
                    ) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-notification cost (ms: wall, and this thread's CPU time) of the engine's beat path for two straps
    (strap2 the practitioner), and the synchrony windows made. Each beat is one Heart Rate notification at its
    beat time. ``paced``: a chance level or a window's job started by a beat is let finish before the next beat
    (outside the timing), as live, where a ~50 ms job a minute meets ~1 beat in 500; else the beats come back to back while
    the worker computes (every beat meets it: the worst case of sharing the interpreter with the worker)."""
    from concurrent.futures import ThreadPoolExecutor

    from somafeedback.devices.events import Notification
    from somafeedback.devices.gatt_uuids import HEART_RATE_MEASUREMENT
    from somafeedback.devices.heart_rate import encode_measurement
    from somafeedback.live.analysis import LiveAnalysis
    from somafeedback.live.synchrony_stage import SynchronyStage

    notes = []
    for strap, rr in (("strap2", rr_a), ("strap1", rr_b)):
        t = 1.0 + np.cumsum(rr) / 1000.0
        for k, (at_s, interval) in enumerate(zip(t, rr)):
            payload = encode_measurement(round(60000 / interval), [round(interval * 1.024)], contact=True)
            notes.append(Notification(strap, HEART_RATE_MEASUREMENT, k, round(at_s * 1e9), 1.7e9 + at_s, payload))
    notes.sort(key=lambda n: n.host_ns)
    analysis = LiveAnalysis(metrics=True)
    pool = ThreadPoolExecutor(max_workers=1)
    stage = SynchronyStage(submit=pool.submit) if synchrony else None
    costs, cpu, windows = np.empty(len(notes)), np.empty(len(notes)), 0
    for k, note in enumerate(notes):
        start, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
        outputs = analysis.on_notification(note)
        if stage is not None:
            windows += len(stage.outputs(outputs))
        costs[k], cpu[k] = time.perf_counter_ns() - start, time.thread_time_ns() - start_cpu
        if stage is not None and paced:
            for pair in stage.pairs.values():
                for job in [job for _, job in pair.pending] + [job for *_, job in pair.computing]:
                    job.exception()  # waits until it is done
    pool.shutdown()
    return costs / 1e6, cpu / 1e6, windows


def two_straps(rr_a: np.ndarray) -> None:
    """Synchrony off and on, on the first hour of two different real recordings."""
    from somafeedback.interop.rr_files import read_rr_file

    rr_b = read_rr_file(RECORD.parent / "irurzun_000_ms.txt").rr_ms
    hour = [rr[: int(np.searchsorted(np.cumsum(rr), 3.6e6))] for rr in (rr_a, rr_b)]
    for label, on, paced in (("off", False, True), ("on", True, True), ("on_back_to_back", True, False)):
        costs, cpu, windows = two_straps_pass(*hour, synchrony=on, paced=paced)
        print(f"two_straps_sync_{label}_per_beat_p50_ms: {np.percentile(costs, 50):.4f} ms")
        print(f"two_straps_sync_{label}_per_beat_p99_ms: {np.percentile(costs, 99):.4f} ms")
        print(f"two_straps_sync_{label}_per_beat_max_ms: {costs.max():.3f} ms")
        print(f"two_straps_sync_{label}_per_beat_cpu_p99_ms: {np.percentile(cpu, 99):.4f} ms")
        if on and paced:
            print(f"two_straps_sync_windows: {windows} windows")


def main() -> None:
    sys.path.insert(0, str(REPO))
    from somafeedback.interop.rr_files import read_rr_file

    rr = read_rr_file(RECORD).rr_ms.copy()
    costs, _ = live_pass(rr)
    print(f"beats_24h: {len(rr)}")
    print(f"per_beat_p50_ms: {np.percentile(costs, 50):.4f} ms")
    print(f"per_beat_p99_ms: {np.percentile(costs, 99):.4f} ms")
    print(f"per_beat_max_ms: {costs.max():.3f} ms")
    if "--two-straps" in sys.argv:  # only the two-strap part (synchrony off / on)
        two_straps(rr)
        return

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
    two_straps(rr)


if __name__ == "__main__":
    main()
