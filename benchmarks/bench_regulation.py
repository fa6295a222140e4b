"""Regulation layer cost per beat on 24 h of real beats, and how much of it is judged.

The metric sets of the live pipeline are computed first (their cost is bench_pipeline's); then,
timed beat by beat, what the session loop adds on top: the state model, the practitioner's cue
engine, the movement-block tracker (CSE) and the live pendulation swings.

Prints `name: value unit` lines:
  beats_24h                                         beats in the record
  regulation_per_beat_p50_ms, _p99_ms, _max_ms      model + cues + blocks + swings, per beat
  not_judged_after_baseline_pct                     time in signal lost / re-checking after the baseline
Goals: p99 <= 0.5 ms per beat (the whole beat path, with the pipeline, stays <= 2 ms); not judged <= 10 %.
Run: python benchmarks/bench_regulation.py
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RECORD = REPO.parent / "shared" / "data" / "rr" / "nsr001_rr_secs.txt"


def main() -> None:
    from somafeedback.regulation.cues import PractitionerCues
    from somafeedback.regulation.exercises import load_exercises
    from somafeedback.regulation.methods import MovementBlocks
    from somafeedback.regulation.pendulation import LiveSwings
    from somafeedback.hrv.pipeline import MetricsPipeline
    from somafeedback.regulation.states import FROZEN, RegulationModel

    rr = np.loadtxt(RECORD) * 1000.0
    t = np.cumsum(rr) / 1000.0
    pipeline = MetricsPipeline()
    metrics = [pipeline.push_beat(tk, rk) for tk, rk in zip(t.tolist(), rr.tolist(), strict=True)]
    model, cues, blocks, swings = RegulationModel(), PractitionerCues(load_exercises()), MovementBlocks(), LiveSwings()
    costs = np.empty(len(metrics))
    clock = time.perf_counter_ns
    state_since, not_judged, baseline_at = 0.0, 0.0, None
    for k, m in enumerate(metrics):
        start = clock()
        for change in model.update(m):
            if change.previous in FROZEN and baseline_at is not None:
                not_judged += change.t_s - state_since
            state_since = change.t_s
            cues.on_state(change)
        cues.tick(model.features)
        blocks.beat(m.t_s, m.rr_ms, not m.flagged)
        swings.metrics(m)
        costs[k] = clock() - start
        if baseline_at is None and model.baseline is not None:
            baseline_at = m.t_s
    if model.state in FROZEN:
        not_judged += metrics[-1].t_s - state_since
    costs /= 1e6
    print(f"beats_24h: {len(metrics)}")
    print(f"regulation_per_beat_p50_ms: {np.percentile(costs, 50):.4f} ms")
    print(f"regulation_per_beat_p99_ms: {np.percentile(costs, 99):.4f} ms")
    print(f"regulation_per_beat_max_ms: {costs.max():.3f} ms")
    after = metrics[-1].t_s - (baseline_at or 0.0)
    print(f"not_judged_after_baseline_pct: {100.0 * not_judged / after:.1f} %")


if __name__ == "__main__":
    main()
