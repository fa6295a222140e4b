"""scipy's compiled extension modules loaded from their files, without their package's ``__init__``.

``import scipy.signal`` costs about 0.6 s (scipy 1.17 decorates some 650 functions, parses their
docstrings and imports scipy.stats) and ``import scipy.linalg`` about 0.3 s (scipy's array-API
layer), most of a reading command's start-up; the streaming analyses need only a few compiled
modules of them (scipy.signal's ``_sosfilt``, ``_sigtools``, ``_peak_finding_utils``; LAPACK's
``scipy.linalg._flapack`` for the tachogram spline's and the smoothness-priors detrend's solves).

:func:`extension` loads such a module straight from its file next to scipy's package (also in the
PyInstaller bundle, where extension files stay files); it reuses the module when the package is
already imported and falls back to the ordinary import on any failure. Used by
:mod:`somafeedback.signals.scipy_cores`, :mod:`somafeedback.hrv.tachogram` and
:mod:`somafeedback.hrv.detrend` (a layer below both packages).

Cost: a few ms per module. Thread: any (the cache is filled idempotently; a race at worst loads a
module twice).
"""

from __future__ import annotations

import functools
import importlib
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType


@functools.cache
def extension(name: str, package: str = "signal") -> ModuleType:
    """scipy.<package>'s compiled submodule ``name`` (e.g. "_sosfilt"; "_flapack" of "linalg"), loaded
    without the package's ``__init__.py``."""
    full = f"scipy.{package}.{name}"
    if full in sys.modules:
        return sys.modules[full]
    try:
        return _load_from_file(full, name, package)
    except Exception:  # noqa: BLE001 - any failure: the ordinary import (which runs the package's __init__)
        return importlib.import_module(full)


def _load_from_file(full: str, name: str, package: str) -> ModuleType:
    """The extension module file ``scipy/<package>/<name><suffix>`` loaded under its own name, not in sys.modules."""
    for folder in _package_folders(package):
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


def _package_folders(package: str) -> list[Path]:
    """Where scipy/<package>'s files may lie: next to scipy's package, and in a PyInstaller bundle's folder."""
    folders = []
    spec = importlib.util.find_spec("scipy")  # finds the package without importing it
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        folders.append(Path(location) / package)
    bundle = getattr(sys, "_MEIPASS", None)  # PyInstaller keeps extension files as files under it
    if bundle:
        folders.append(Path(bundle) / "scipy" / package)
    return folders
