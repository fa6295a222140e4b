"""Smoothness-priors detrending (Tarvainen et al. 2002) against the published dense formula,
on real tachograms; its frequency response; and why neurokit2's version is not the reference."""

from __future__ import annotations

import numpy as np
import pytest
from real_records import clean_segments, irurzun_ms, nsr001_ms
from scipy.interpolate import CubicSpline

from somafeedback.hrv.detrend import KUBIOS_LAMBDA, smoothness_priors


def _tachogram_4hz(rr_ms: np.ndarray) -> np.ndarray:
    t = np.cumsum(rr_ms) / 1000.0
    grid = t[0] + np.arange(int((t[-1] - t[0]) * 4.0) + 1) / 4.0
    return CubicSpline(t, rr_ms)(grid)


def _published(x: np.ndarray, lam: float) -> np.ndarray:
    """z_stat = (I - (I + λ² D₂ᵀD₂)⁻¹) z, D₂ the (N-2) x N second-difference matrix (paper, eq. 8)."""
    n = len(x)
    d2 = np.diff(np.eye(n), 2, axis=0)
    return (np.eye(n) - np.linalg.inv(np.eye(n) + lam**2 * d2.T @ d2)) @ x


@pytest.mark.parametrize("rr", clean_segments(nsr001_ms(), 1, start=30000) + clean_segments(irurzun_ms(), 1, start=9000))
@pytest.mark.parametrize("lam", [KUBIOS_LAMBDA, 10.0])
def test_equals_the_published_formula_on_real_tachograms(rr: np.ndarray, lam: float) -> None:
    x = _tachogram_4hz(rr)
    expected = _published(x, lam)
    assert np.max(np.abs(smoothness_priors(x, lam) - expected)) <= 1e-6 * np.max(np.abs(x))


def test_short_series() -> None:
    x = np.array([800.0, 810.0, 805.0])
    assert np.allclose(smoothness_priors(x, 500.0), _published(x, 500.0))
    assert np.allclose(smoothness_priors(np.array([800.0, 820.0]), 500.0), [-10.0, 10.0])


def test_at_4_hz_lambda_500_cuts_off_near_0_035_hz() -> None:
    """A long sinusoid well inside the series: gain about 1/√2 near 0.035 Hz, ~0 far below, ~1 in LF and HF."""
    fs, n = 4.0, 4800
    t = np.arange(n) / fs
    middle = slice(n // 4, 3 * n // 4)  # away from the ends, where the trend is one-sided
    gain = {}
    for f in (0.005, 0.0355, 0.1, 0.25):
        x = np.sin(2 * np.pi * f * t)
        gain[f] = np.std(smoothness_priors(x)[middle]) / np.std(x[middle])
    assert gain[0.005] < 0.05 and 0.65 < gain[0.0355] < 0.76 and gain[0.1] > 0.98 and gain[0.25] > 0.999


def test_neurokit2_0_2_13_is_not_the_published_detrend_near_the_end() -> None:
    """neurokit2's signal_detrend(method="tarvainen2002") builds D₂ with scipy's dia_matrix so that its
    last two rows lose coefficients (NeuroKit issue #721, PR #1198); its output then differs from the
    paper's formula, most at the end of the series. This records why the tests use the formula."""
    import neurokit2 as nk

    x = _tachogram_4hz(clean_segments(nsr001_ms(), 1, start=30000)[0])
    theirs = nk.signal_detrend(x, method="tarvainen2002", regularization=KUBIOS_LAMBDA)
    if np.allclose(theirs, _published(x, KUBIOS_LAMBDA), atol=1e-6):
        pytest.fail("neurokit2's tarvainen2002 now matches the published formula: use it as the reference (docs/metrics.md)")
    assert np.max(np.abs(smoothness_priors(x) - _published(x, KUBIOS_LAMBDA))) < 1e-6 * np.max(np.abs(x))


@pytest.mark.parametrize("rr", clean_segments(nsr001_ms(), 2, start=30000))
def test_the_lapack_call_is_scipys_solveh_banded_bit_for_bit(rr: np.ndarray) -> None:
    """The trend is solved by LAPACK's dpbsv loaded without scipy.linalg: the same numbers as solveh_banded."""
    from scipy.linalg import solveh_banded

    from somafeedback.hrv.detrend import _solveh_banded

    x = _tachogram_4hz(rr)
    n = len(x)
    bands = np.zeros((3, n))
    bands[2] = 1.0 + 25.0e4 * np.convolve(np.ones(n - 2), [1.0, 4.0, 1.0])
    bands[1, 1:] = 25.0e4 * np.convolve(np.ones(n - 2), [-2.0, -2.0])
    bands[0, 2:] = 25.0e4
    assert np.array_equal(_solveh_banded(bands, x), solveh_banded(bands, x))
    assert np.array_equal(smoothness_priors(x), x - solveh_banded(bands, x))


def test_a_gap_in_the_series_is_refused_as_solveh_banded_refuses_it() -> None:
    x = np.full(40, 800.0)
    x[7] = np.nan
    with pytest.raises(ValueError, match="infs or NaNs"):
        smoothness_priors(x)
