"""The lagged Pearson correlations of one window (or a batch of windows), vectorised over lags.

``a``: A's window, n samples. ``b``: B's extended segment, n + 2m samples, starting m samples
(max lag) before A's window. Lag index j = 0..2m pairs ``a`` with ``b[j:j + n]``, i.e. lag
``(j - m) / fs``: positive when B's matching stretch comes later (B follows A). Each segment
is linearly detrended before its correlation. numpy only.

Thread: any (pure).
"""

from __future__ import annotations

import functools

import numpy as np

from .settings import FISHER_CAP_R


@functools.lru_cache(maxsize=16)
def centred_ramp(n: int) -> tuple[np.ndarray, float]:
    """(k, k . k) for k = 0..n-1 minus its mean (read-only, cached): the regressor of a linear detrend."""
    k = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
    k.flags.writeable = False
    return k, float(k @ k)


def detrended(x: np.ndarray) -> np.ndarray:
    """Each row of ``x`` (last axis) minus its least-squares line."""
    k, kk = centred_ramp(x.shape[-1])
    centred = x - x.mean(axis=-1, keepdims=True)
    return centred - k * ((centred @ k) / kk)[..., None]


def lagged_r(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r at every lag: shape (..., 2m + 1) for ``a`` (..., n) and ``b`` (..., n + 2m).

    A flat segment (no variation) gives r = 0 at that lag.
    """
    n = a.shape[-1]
    lagged = np.lib.stride_tricks.sliding_window_view(b, n, axis=-1)  # (..., 2m + 1, n)
    da = detrended(a)[..., None, :]
    db = detrended(lagged)
    num = (da * db).sum(axis=-1)
    den = np.sqrt((da * da).sum(axis=-1) * (db * db).sum(axis=-1))
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def fisher_z(r: np.ndarray | float) -> np.ndarray:
    """atanh(r) with |r| capped at FISHER_CAP_R."""
    return np.arctanh(np.clip(r, -FISHER_CAP_R, FISHER_CAP_R))


def peaks(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(signed r at the lag of largest |r|, that lag's index) along the last axis."""
    index = np.abs(r).argmax(axis=-1)
    return np.take_along_axis(r, index[..., None], axis=-1)[..., 0], index
