"""Breathing-rate assessment cost: one step's measures, re-scoring a recording, the headless run.

Prints `name: value unit` lines:
  step_measures_p50_ms, _p99_ms   measure_step over a 90 s scored span of the real Polar H10 recording
                                  (a 6/min pacer's cycles, a breathing phase every second): the cost of each
                                  progress event (every 10 s of a step) and of a step's end, on the loop
                                  that runs the analysis
  rank_us                         ranking five measured steps
  headless_assessment_s           `session --mode home --script resonance-assessment --simulate
                                  resonance-steps --speed max --record` (14.5 min of session, bumble, H10)
  rescore_s                       `resonance SESSION --json` on that recording (read, replay through the
                                  analysis, measure, rank)
Goals: step measures p99 <= 20 ms (a progress event every 10 s must not hold up beats for long);
headless run <= 30 s; re-scoring <= 10 s.
Run: python benchmarks/bench_resonance.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
H10 = REPO.parent / "shared" / "data" / "rr" / "polar_h10_slow_breathing_ibi.csv"
SPAN_S = 90.0


def _steps() -> list:
    from somafeedback.hrv.artifacts import flag_artifacts
    from somafeedback.regulation.pacer import Pacer, PacerSettings
    from somafeedback.resonance.step_data import StepData

    rr = np.loadtxt(H10, delimiter=",")[:, 1]
    t = np.cumsum(rr) / 1000.0  # beat times from the RR sum, never the arrival column
    flagged = flag_artifacts(rr)
    pacer = Pacer(PacerSettings.from_rate(6.0), 0.0)
    steps = []
    for t0 in np.arange(0.0, t[-1] - SPAN_S, 10.0):
        breath_t = np.arange(t0, t0 + SPAN_S, 1.0)
        phase = np.array([pacer.at(x).cycle_fraction for x in breath_t])
        steps.append(StepData(6.0, 0.4, float(t0), float(t0 + SPAN_S), t, rr, flagged, breath_t, phase,
                              np.full(len(breath_t), 6.0), "acc", ((float(t0 + SPAN_S), True, True),), pacer))
    return steps


def main() -> None:
    from somafeedback.resonance.criteria import measure_step
    from somafeedback.resonance.scoring import rank

    steps = _steps()
    measure_step(steps[0])  # scipy's first import is not the cost of a step
    costs = []
    for data in steps:
        start = time.perf_counter()
        measured = measure_step(data)
        costs.append((time.perf_counter() - start) * 1000.0)
    print(f"step_measures_p50_ms: {np.percentile(costs, 50):.2f} ms")
    print(f"step_measures_p99_ms: {np.percentile(costs, 99):.2f} ms")
    five = [measure_step(steps[k]) for k in range(0, 50, 10)]
    start = time.perf_counter()
    for _ in range(100):
        rank(five)
    print(f"rank_us: {(time.perf_counter() - start) / 100 * 1e6:.0f} us")
    assert measured.beats > 0

    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "somafeedback.cli", "session", "--mode", "home", "--script",
                   "resonance-assessment", "--simulate", "resonance-steps", "--speed", "max", "--record",
                   "--recordings", folder]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        print(f"headless_assessment_s: {time.perf_counter() - start:.1f} s")
        session = next(Path(folder).rglob("*.session.sqlite"))
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "somafeedback.cli", "resonance", str(session), "--json"],
                       check=True, capture_output=True)
        print(f"rescore_s: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
