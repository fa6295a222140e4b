"""`analyze`'s frequency segments (issue #16): every full 5-min segment from the start, the
remainder analysed when long enough and stated otherwise, nothing dropped silently; the
corrected values carry a validity under the live pipeline's 5 % rule. Real records."""

from __future__ import annotations

import numpy as np
import pytest
from real_records import irurzun_ms

from somafeedback.hrv.artifacts import flag_artifacts
from somafeedback.hrv.conventions import KUBIOS
from somafeedback.hrv.spectral import band_powers
from somafeedback.hrv.whole_record import summarize


def _first_seconds(rr_ms: np.ndarray, length_s: float) -> np.ndarray:
    """The record's first beats up to ``length_s``, the last interval cut so the total is exactly that."""
    t = np.cumsum(rr_ms) / 1000.0
    n = int(np.searchsorted(t, length_s))
    return np.append(rr_ms[:n], length_s * 1000.0 - rr_ms[:n].sum())


def _independent_segment(rr_ms: np.ndarray, from_s: float, to_s: float) -> tuple[float, float]:
    """LF and HF of the beats ending in (from_s, to_s], artifacts removed, by the project's spectral estimate."""
    t = np.cumsum(rr_ms) / 1000.0
    flagged = flag_artifacts(rr_ms)
    keep = (t > from_s) & (t <= to_s) & ~flagged
    powers = band_powers(t[keep], rr_ms[keep], KUBIOS)  # analyze's default convention set
    return powers.lf_ms2, powers.hf_ms2


def test_a_599_75_s_record_is_analysed_in_two_segments_its_second_half_included() -> None:
    rr = _first_seconds(irurzun_ms(), 599.75)
    summary = summarize(rr)
    segments = summary["frequency_segments"]
    assert [(s["start_s"], round(s["end_s"], 3)) for s in segments] == [(0.0, 300.0), (300.0, 599.75)]
    assert all(s["used"] for s in segments)
    first, second = (_independent_segment(rr, 0.0, 300.0), _independent_segment(rr, 300.0, 599.75))
    assert segments[1]["lf_ms2"] == pytest.approx(second[0], rel=1e-12)
    assert summary["corrected"]["lf_ms2"] == pytest.approx((first[0] + second[0]) / 2, rel=1e-12)
    assert summary["corrected"]["hf_ms2"] == pytest.approx((first[1] + second[1]) / 2, rel=1e-12)
    assert sum(s["n_beats"] for s in segments) == len(rr)  # every beat is in a segment


def test_a_short_remainder_is_stated_not_dropped_silently() -> None:
    rr = _first_seconds(irurzun_ms(), 690.0)  # two full segments and 90 s
    segments = summarize(rr)["frequency_segments"]
    assert [s["used"] for s in segments] == [True, True, False]
    assert segments[2]["n_beats"] > 0 and "shorter than the 2 min" in segments[2]["reason"]
    assert round(segments[2]["end_s"] - segments[2]["start_s"]) == 90


def test_corrected_values_are_not_valid_above_5_percent_flagged() -> None:
    rr = irurzun_ms()[:600].copy()
    clean = summarize(rr)["corrected"]["validity"]
    rr[::12] *= 0.6  # one premature beat in twelve: about 8 % flagged
    summary = summarize(rr)
    assert clean["valid"] is True and summary["artifact_pct"] > 5.0
    validity = summary["corrected"]["validity"]
    assert validity["valid"] is False and "over 5 %" in validity["reason"]
    assert summary["corrected"]["rmssd_ms"] is not None  # still given, marked not valid
