"""Smoothness-priors detrending of an evenly resampled tachogram (Tarvainen, Ranta-aho &
Karjalainen 2002, IEEE Trans Biomed Eng 49:172), as Kubios applies it before the spectrum.

The trend is the solution of ``(I + λ² D₂ᵀD₂) trend = x`` (D₂ the second-difference matrix);
the detrended series is ``x − trend``. It acts as a time-varying high-pass filter: at 4 Hz with
λ = 500 (Kubios' default) its -3 dB cut-off is about 0.035 Hz, so the very-low-frequency drift
goes and LF keeps its band. The matrix is symmetric positive definite and pentadiagonal, so it
is solved as a banded system (``scipy.linalg.solveh_banded``'s LAPACK call ``dpbsv``, loaded without
``scipy.linalg``'s 0.3 s import by :mod:`somafeedback.scipy_extensions`): linear in the length, about a
tenth of a millisecond for a 5-min window where the dense formula (neurokit2's
``signal_detrend(method="tarvainen2002")``, the reference in the tests) inverts an N x N matrix.

Thread: any (pure).
"""

from __future__ import annotations

from typing import Final

import numpy as np

KUBIOS_LAMBDA: Final = 500.0  # Kubios' default smoothness parameter (cut-off ~0.035 Hz at 4 Hz)
SECOND_DIFFERENCE: Final = (1.0, -2.0, 1.0)  # one row of D₂


def smoothness_priors(x: np.ndarray, lam: float = KUBIOS_LAMBDA) -> np.ndarray:
    """``x`` minus its smoothness-priors trend (λ = ``lam``); fewer than 3 samples: minus their mean."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if n < 3:
        return x - x.mean() if n else x.copy()
    rows = np.ones(n - 2)
    weight = lam * lam
    bands = np.zeros((3, n))  # upper banded form: bands[2] the diagonal, bands[1] / bands[0] the two above it
    bands[2] = 1.0 + weight * np.convolve(rows, np.square(SECOND_DIFFERENCE))  # 1, 5, 6, ..., 6, 5, 1 (x λ²) + 1
    bands[1, 1:] = weight * np.convolve(rows, (SECOND_DIFFERENCE[0] * SECOND_DIFFERENCE[1],) * 2)  # -2, -4, ..., -4, -2
    bands[0, 2:] = weight * rows * SECOND_DIFFERENCE[0] * SECOND_DIFFERENCE[2]  # 1, 1, ..., 1
    trend = _solveh_banded(bands, x)
    return x - trend


def _solveh_banded(bands: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``scipy.linalg.solveh_banded(bands, x)`` (upper form, 3 bands, float64): its checks and its one LAPACK call."""
    from somafeedback.scipy_extensions import extension  # loaded on first use

    if not (np.isfinite(bands).all() and np.isfinite(x).all()):
        raise ValueError("array must not contain infs or NaNs")  # solveh_banded's check_finite
    _, trend, info = extension("_flapack", "linalg").dpbsv(bands, x, lower=0, overwrite_ab=0, overwrite_b=0)
    if info > 0:
        raise np.linalg.LinAlgError(f"{info}th leading minor not positive definite")
    if info < 0:
        raise ValueError(f"illegal value in {-info}th argument of internal pbsv")
    return trend
