"""Artifact handling on real records: RMSSD error with injected faults, false flags on clean data.

Prints `name: value unit` lines:
  false_flag_pct_clean            mean share of beats flagged on 24 clean 5-min real segments
  false_flag_pct_slow_breathing   the same on the real Polar H10 slow-breathing record
  rmssd_err_median_pct_<kind>_<rate>, rmssd_err_p90_pct_<kind>_<rate>
      |RMSSD(after rejection) / RMSSD(clean) - 1| over the segments, for ectopic, missed,
      extra and mixed faults at 1-5 % of beats
  rmssd_err_uncorrected_median_pct_ectopic_1   what no rejection would give
Goals: error <= 5 % at 5 % artifacts; false flags <= 2 %.
Run: python benchmarks/bench_artifacts.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the suite's real-record helpers

from real_records import clean_segments, irurzun_ms, nsr001_ms, polar_slow_breathing_ms, rmssd  # noqa: E402

from somafeedback.hrv.artifacts import flag_artifacts  # noqa: E402
from somafeedback.devices.simulator.beat_faults import inject_beat_faults  # noqa: E402


def main() -> None:
    segments = clean_segments(nsr001_ms(), 12, 20000) + clean_segments(irurzun_ms(), 12, 5000)
    print(f"segments: {len(segments)}")
    print(f"false_flag_pct_clean: {np.mean([100 * flag_artifacts(s).mean() for s in segments]):.2f} %")
    print(f"false_flag_pct_slow_breathing: {100 * flag_artifacts(polar_slow_breathing_ms()).mean():.2f} %")
    rng = np.random.default_rng(2026)
    for kind in ("ectopic", "missed", "extra", "mixed"):
        for rate in (0.01, 0.02, 0.05):
            errors, uncorrected = [], []
            for seg in segments:
                bad, _ = inject_beat_faults(seg, rate, kind, rng)
                errors.append(abs(rmssd(bad, ~flag_artifacts(bad)) / rmssd(seg) - 1))
                uncorrected.append(abs(rmssd(bad) / rmssd(seg) - 1))
            tag = f"{kind}_{round(rate * 100)}"
            print(f"rmssd_err_median_pct_{tag}: {100 * np.median(errors):.2f} %")
            print(f"rmssd_err_p90_pct_{tag}: {100 * np.percentile(errors, 90):.2f} %")
            if rate == 0.01 and kind == "ectopic":
                print(f"rmssd_err_uncorrected_median_pct_{tag}: {100 * np.median(uncorrected):.0f} %")


if __name__ == "__main__":
    main()
