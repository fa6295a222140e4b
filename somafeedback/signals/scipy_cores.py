"""scipy.signal's compiled cores and the fixed filter designs, without importing scipy.signal.

``import scipy.signal`` costs about 0.6 s (scipy 1.17 decorates some 650 functions, parses
their docstrings and imports scipy.stats), most of a reading command's start-up. The streaming
analyses need only three compiled extension modules of it (``_sosfilt``, ``_sigtools``,
``_peak_finding_utils``) and a few Butterworth designs at fixed sample rates:

* :func:`~somafeedback.scipy_extensions.extension` loads such an extension module straight from
  its file, without running ``scipy/signal/__init__.py``;
* :func:`butter_ba`, :func:`butter_sos`, :func:`lfilter_zi` and :func:`sosfilt_zi` answer from
  :mod:`.filter_table` (constants computed by scipy.signal itself, see
  scripts/make_filter_table.py; tests/test_scipy_cores.py recomputes every entry and requires
  it equal) and ask scipy.signal for any other design;
* :func:`sosfiltfilt` is ``scipy.signal.sosfiltfilt(sos, x)`` for a 1-D float64 ``x``, the same
  steps on scipy's compiled ``sosfilt`` core.

Cost: loading the three extension modules takes a few ms. Thread: any.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from somafeedback.scipy_extensions import extension
from somafeedback.signals.filter_table import BA_DESIGNS, LFILTER_ZI, SOS_DESIGNS, SOSFILT_ZI


def _scipy_signal() -> Any:
    """scipy.signal itself, for a design not in the table (about 0.6 s to import)."""
    import scipy.signal  # noqa: PLC0415 - only for designs the table lacks

    return scipy.signal


def _array(values: list[float] | list[list[float]]) -> np.ndarray:
    """A fresh float64 array (writable: scipy's compiled cores take only writable buffers)."""
    return np.array(values, dtype=np.float64)


def _key(*arrays: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in np.ravel(a)) for a in arrays)


def butter_ba(order: int, wn: float | tuple[float, float], btype: str, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """``scipy.signal.butter(order, wn, btype, fs=fs)`` (b, a); from the table when there."""
    found = BA_DESIGNS.get((order, wn, btype, float(fs)))
    if found is None:
        b, a = _scipy_signal().butter(order, wn, btype=btype, fs=fs)
        return b, a
    return _array(found[0]), _array(found[1])


def butter_sos(order: int, wn: float | tuple[float, float], btype: str, fs: float) -> np.ndarray:
    """``scipy.signal.butter(order, wn, btype, output="sos", fs=fs)``; from the table when there."""
    found = SOS_DESIGNS.get((order, wn, btype, float(fs)))
    if found is None:
        return np.asarray(_scipy_signal().butter(order, wn, btype=btype, output="sos", fs=fs))
    return _array(found)


def lfilter_zi(b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``scipy.signal.lfilter_zi(b, a)``: from the table for its designs, else scipy's."""
    found = LFILTER_ZI.get(_key(b, a))
    return np.array(found) if found is not None else _scipy_signal().lfilter_zi(b, a)


def sosfilt_zi(sos: np.ndarray) -> np.ndarray:
    """``scipy.signal.sosfilt_zi(sos)``: from the table for its designs, else scipy's."""
    found = SOSFILT_ZI.get(_key(sos))
    return np.array(found) if found is not None else _scipy_signal().sosfilt_zi(sos)


def sosfiltfilt(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``scipy.signal.sosfiltfilt(sos, x)`` for 1-D float64 ``x`` and float64 ``sos``: odd padding, then
    ``sosfilt`` forwards and backwards from ``sosfilt_zi`` states, each step as scipy takes it.
    """
    n_sections = len(sos)
    ntaps = 2 * n_sections + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    edge = 3 * ntaps
    if len(x) <= edge:  # scipy's own message
        return np.asarray(_scipy_signal().sosfiltfilt(sos, x))
    # odd_ext(x, edge), as scipy.signal._arraytools writes it
    ext = np.concatenate((2 * x[0:1] - x[edge:0:-1], x, 2 * x[-1:] - x[-2:-(edge + 2):-1]))
    zi = sosfilt_zi(sos).reshape(n_sections, 2)
    core = extension("_sosfilt")._sosfilt
    sos = np.ascontiguousarray(sos, dtype=np.float64)
    y = np.array(ext.reshape(1, -1), np.float64, order="C")  # sosfilt filters a copy in place
    core(sos, y, np.ascontiguousarray((zi * ext[0:1]).reshape(1, n_sections, 2)))
    y0 = y[0, -1:]
    back = np.array(y[0, ::-1].reshape(1, -1), np.float64, order="C")
    core(sos, back, np.ascontiguousarray((zi * y0).reshape(1, n_sections, 2)))
    return back[0, ::-1][edge:-edge]
