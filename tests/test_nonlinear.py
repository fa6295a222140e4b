"""neurokit2's nonlinear indices as `analyze --full` gives them (somafeedback.hrv.nonlinear), each
checked against a straightforward implementation written here (textbook formulas, numpy only), on
real 5-min stretches of ../shared/data/rr."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from real_records import RR, clean_segments, irurzun_ms, nsr001_ms

from somafeedback.hrv.nonlinear import MIN_BEATS, segment_indices
from somafeedback.hrv.whole_record import summarize


def _poincare(rr: np.ndarray) -> tuple[float, float]:
    """SD1 and SD2 (Brennan 2001): SDs across and along the identity line of (RR_n, RR_n+1)."""
    x, y = rr[:-1], rr[1:]
    return float(np.std((y - x) / np.sqrt(2), ddof=1)), float(np.std((y + x) / np.sqrt(2), ddof=1))


def _dfa(rr: np.ndarray, boxes: np.ndarray) -> float:
    """Monofractal DFA (Peng 1995): integrated profile, boxes overlapping by half, linear detrend,
    RMS fluctuation, slope of log F(n) against log n. Boxes the line fits exactly (no residual: RR on
    the strap's 1/128 s grid makes a few short ones so) are left out, as neurokit2 documents."""
    profile = np.cumsum(rr - rr.mean())
    fluctuation = []
    for n in boxes:
        x = np.arange(n)
        residuals = []
        for start in range(0, len(profile) - n, n // 2):
            box = profile[start:start + n]
            fit = np.polyval(np.polyfit(x, box, 1), x)
            residuals.append(np.mean((box - fit - np.mean(box - fit)) ** 2))
        fluctuation.append(np.sqrt(np.mean([v for v in residuals if v > 1e-8])))
    return float(np.polyfit(np.log(boxes), np.log(fluctuation), 1)[0])


def _sample_entropy(rr: np.ndarray, m: int = 2, r_sd: float = 0.2) -> float:
    """Richman & Moorman 2000: -ln(A/B), template pairs within r (Chebyshev), self-matches excluded,
    the first N - m templates for both lengths."""
    r = r_sd * np.std(rr, ddof=1)
    n = len(rr)

    def pairs(length: int) -> int:
        templates = np.array([rr[i:i + length] for i in range(n - m)])
        distance = np.max(np.abs(templates[:, None, :] - templates[None, :, :]), axis=2)
        return int((np.sum(distance <= r) - len(templates)) // 2)

    return float(-np.log(pairs(m + 1) / pairs(m)))


@pytest.mark.parametrize("stretch", clean_segments(nsr001_ms(), 2, start=20000) + clean_segments(irurzun_ms(), 1, start=5000))
def test_each_index_agrees_with_an_independent_implementation(stretch: np.ndarray) -> None:
    t = np.cumsum(stretch) / 1000.0
    got = segment_indices(stretch, t)
    sd1, sd2 = _poincare(stretch)
    assert got["sd1_ms"] == pytest.approx(sd1, rel=1e-9)
    assert got["sd2_ms"] == pytest.approx(sd2, rel=1e-9)
    assert got["sd1_sd2"] == pytest.approx(sd1 / sd2, rel=1e-9)
    assert got["dfa_alpha1"] == pytest.approx(_dfa(stretch, np.arange(4, 12)), rel=1e-9)
    largest = int((len(stretch) + 1) / 10)
    assert got["dfa_alpha2"] == pytest.approx(_dfa(stretch, np.arange(12, largest + 1)), rel=1e-9)
    assert got["sample_entropy"] == pytest.approx(_sample_entropy(stretch), rel=1e-9)


def test_a_flagged_beat_breaks_the_poincare_pair_as_for_rmssd() -> None:
    stretch = clean_segments(nsr001_ms(), 1, start=40000)[0]
    t = np.cumsum(stretch) / 1000.0
    keep = np.ones(len(stretch), dtype=bool)
    keep[[50, 51, 200]] = False  # beats left out as artifacts
    got = segment_indices(stretch[keep], t[keep])
    adjacent = keep[1:] & keep[:-1]
    x, y = stretch[:-1][adjacent], stretch[1:][adjacent]
    assert got["sd1_ms"] == pytest.approx(np.std((y - x) / np.sqrt(2), ddof=1), rel=1e-9)


def test_too_few_beats_give_no_indices() -> None:
    stretch = clean_segments(nsr001_ms(), 1, start=40000)[0][: MIN_BEATS - 1]
    assert set(segment_indices(stretch, np.cumsum(stretch) / 1000.0).values()) == {None}


def test_analyze_full_adds_the_indices_per_segment_and_their_mean() -> None:
    rr = irurzun_ms()[:1500]
    summary = summarize(rr, full=True)
    rows = [row["nonlinear"] for row in summary["frequency_segments"] if row["nonlinear"] is not None]
    assert summary["nonlinear"]["segments_used"] == len(rows) >= 3
    assert summary["nonlinear"]["sd1_ms"] == pytest.approx(np.mean([row["sd1_ms"] for row in rows]), rel=1e-12)
    assert "DFA" in summary["nonlinear"]["conventions"]
    assert "nonlinear" not in summarize(rr)  # only when asked


def test_analyze_full_from_the_command_line() -> None:
    done = subprocess.run([sys.executable, "-m", "somafeedback.cli", "analyze", str(RR / "irurzun_000_ms.txt"), "--full", "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    nonlinear = json.loads(done.stdout)["nonlinear"]
    assert 0.0 < nonlinear["sd1_sd2"] < 1.5 and 0.3 < nonlinear["dfa_alpha1"] < 2.0 and nonlinear["sample_entropy"] > 0


def test_report_full_gives_each_phase_its_nonlinear_indices() -> None:
    from session_helpers import REPO

    from somafeedback.reports.content import session_content
    from somafeedback.sessions.segments import segment_stats

    sample = REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite"
    plain, full = session_content(sample), session_content(sample, nonlinear=True)
    assert all(phase.nonlinear is None for phase in plain.phases)  # only when asked for
    assert full.phases and all(phase.nonlinear is not None for phase in full.phases if phase.valid)
    beats = [m for m in full.metrics if m.rr_ms is not None]
    t = np.array([m.t_s for m in beats])
    rr = np.array([m.rr_ms for m in beats])
    flagged = np.array([m.flagged for m in beats])
    for phase in full.phases:
        inside = (t >= phase.segment.start_s) & (t <= phase.segment.end_s) & ~flagged
        assert phase.nonlinear == segment_indices(rr[inside], t[inside])
        assert segment_stats(phase.segment, t, rr, flagged).nonlinear is None


def test_report_full_from_the_command_line_has_the_nonlinear_rows(tmp_path) -> None:
    import os

    from session_helpers import REPO

    sample = REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    texts = {}
    for extra in ([], ["--full"]):
        out = tmp_path / f"report{len(extra)}.html"
        done = subprocess.run([sys.executable, "-m", "somafeedback.ui.launcher", "report", str(sample), "--format", "html",
                               "--out", str(out), *extra], capture_output=True, text=True, timeout=300, env=env)
        assert done.returncode == 0, done.stderr
        texts[bool(extra)] = out.read_text()
    assert "DFA α1" in texts[True] and "Sample entropy" in texts[True]
    assert "DFA α1" not in texts[False]
