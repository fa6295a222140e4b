"""scipy.signal's compiled cores and the fixed filter designs, without importing scipy.signal.

``import scipy.signal`` costs about 0.6 s (scipy 1.17 decorates some 650 functions, parses
their docstrings and imports scipy.stats), most of a reading command's start-up. The streaming
analyses need only three compiled extension modules of it (``_sosfilt``, ``_sigtools``,
``_peak_finding_utils``) and a few Butterworth designs at fixed sample rates:

* :func:`extension` loads such an extension module straight from its file next to scipy's
  package (also in the PyInstaller bundle, where extension files stay files), without running
  ``scipy/signal/__init__.py``; it reuses the module when scipy.signal is already imported and
  falls back to the ordinary import on any failure;
* :func:`butter_ba`, :func:`butter_sos`, :func:`lfilter_zi` and :func:`sosfilt_zi` answer from
  :mod:`.filter_table` (constants computed by scipy.signal itself, see
  scripts/make_filter_table.py; tests/test_scipy_cores.py recomputes every entry and requires
  it equal) and ask scipy.signal for any other design;
* :func:`sosfiltfilt` is ``scipy.signal.sosfiltfilt(sos, x)`` for a 1-D float64 ``x``, the same
  steps on scipy's compiled ``sosfilt`` core.

Cost: loading the three extension modules takes a few ms. Thread: any (module caches are
filled idempotently; a race at worst loads a module twice).
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from somafeedback.signals.filter_table import BA_DESIGNS, LFILTER_ZI, SOS_DESIGNS, SOSFILT_ZI


@functools.cache
def extension(name: str) -> ModuleType:
    """scipy.signal's compiled submodule ``name`` (e.g. "_sosfilt"), loaded without scipy/signal/__init__.py."""
    full = f"scipy.signal.{name}"
    if full in sys.modules:
        return sys.modules[full]
    try:
        return _load_from_file(full, name)
    except Exception:  # noqa: BLE001 - any failure: the ordinary import (which runs scipy.signal's __init__)
        return importlib.import_module(full)


def _load_from_file(full: str, name: str) -> ModuleType:
    """The extension module file ``scipy/signal/<name><suffix>`` loaded under its own name, not in sys.modules."""
    for folder in _signal_folders():
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = folder / f"{name}{suffix}"
            if path.is_file():
                loader = importlib.machinery.ExtensionFileLoader(full, str(path))
                spec = importlib.util.spec_from_file_location(full, path, loader=loader)
                if spec is None:
                    continue
                module = importlib.util.module_from_spec(spec)
                loader.exec_module(module)
                # a single-phase extension enters itself in sys.modules; without its package there,
                # a later `import scipy.signal` would then not bind it as an attribute: take it out
                if sys.modules.get(full) is module:
                    del sys.modules[full]
                return module
    raise ImportError(f"no extension file for {full}")


def _signal_folders() -> list[Path]:
    """Where scipy/signal's files may lie: next to scipy's package, and in a PyInstaller bundle's folder."""
    folders = []
    spec = importlib.util.find_spec("scipy")  # finds the package without importing it
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        folders.append(Path(location) / "signal")
    bundle = getattr(sys, "_MEIPASS", None)  # PyInstaller keeps extension files as files under it
    if bundle:
        folders.append(Path(bundle) / "scipy" / "signal")
    return folders


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
