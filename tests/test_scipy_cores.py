"""somafeedback.signals.scipy_cores: scipy.signal's compiled cores without its package import, and the
filter table, each against scipy.signal's public functions (imported here, in the test)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest
import scipy.signal
from session_helpers import REPO

from somafeedback import scipy_extensions
from somafeedback.signals import scipy_cores
from somafeedback.signals.filter_table import BA_DESIGNS, LFILTER_ZI, SOS_DESIGNS, SOSFILT_ZI


def test_every_table_entry_is_what_scipy_signal_computes_bit_for_bit() -> None:
    assert len(BA_DESIGNS) == len(LFILTER_ZI) == 16 and len(SOS_DESIGNS) == len(SOSFILT_ZI) == 2
    for (order, wn, btype, fs), (b_table, a_table) in BA_DESIGNS.items():
        b, a = scipy.signal.butter(order, wn, btype=btype, fs=fs)
        assert np.array_equal(b_table, b) and np.array_equal(a_table, a), (order, wn, btype, fs)
        got_b, got_a = scipy_cores.butter_ba(order, wn, btype, fs)
        assert np.array_equal(got_b, b) and np.array_equal(got_a, a)
        assert np.array_equal(scipy_cores.lfilter_zi(got_b, got_a), scipy.signal.lfilter_zi(b, a))
    for (order, wn, btype, fs), sos_table in SOS_DESIGNS.items():
        sos = scipy.signal.butter(order, wn, btype=btype, output="sos", fs=fs)
        assert np.array_equal(sos_table, sos), (order, wn, btype, fs)
        assert np.array_equal(scipy_cores.butter_sos(order, wn, btype, fs), sos)
        assert np.array_equal(scipy_cores.sosfilt_zi(sos), scipy.signal.sosfilt_zi(sos))


def test_the_script_regenerates_the_table_as_it_is() -> None:
    spec = importlib.util.spec_from_file_location("make_filter_table", REPO / "scripts" / "make_filter_table.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.TABLE.read_text(encoding="utf-8") == script.render()


def test_a_design_not_in_the_table_is_scipys() -> None:
    b, a = scipy_cores.butter_ba(3, 0.3, "lowpass", 33.0)
    ref_b, ref_a = scipy.signal.butter(3, 0.3, btype="lowpass", fs=33.0)
    assert np.array_equal(b, ref_b) and np.array_equal(a, ref_a)
    assert np.array_equal(scipy_cores.lfilter_zi(b, a), scipy.signal.lfilter_zi(ref_b, ref_a))
    sos = scipy_cores.butter_sos(4, (0.1, 0.5), "bandpass", 7.0)
    assert np.array_equal(sos, scipy.signal.butter(4, (0.1, 0.5), btype="bandpass", output="sos", fs=7.0))
    assert np.array_equal(scipy_cores.sosfilt_zi(sos), scipy.signal.sosfilt_zi(sos))


@pytest.mark.parametrize("n", [16, 17, 40, 241, 1000])
def test_sosfiltfilt_is_scipys_bit_for_bit(n: int) -> None:
    rng = np.random.default_rng(n)
    x = np.cumsum(rng.normal(size=n))
    for sos in (scipy_cores.butter_sos(2, (0.05, 0.7), "bandpass", 4.0),  # the ECG respiration's design
                scipy.signal.butter(3, 0.2, btype="highpass", output="sos", fs=2.0)):  # odd order: a zero coefficient
        assert np.array_equal(scipy_cores.sosfiltfilt(sos, x), scipy.signal.sosfiltfilt(sos, x))


def test_sosfiltfilt_of_too_short_a_series_raises_scipys_error() -> None:
    sos = scipy_cores.butter_sos(2, (0.05, 0.7), "bandpass", 4.0)
    with pytest.raises(ValueError, match="padlen"):
        scipy_cores.sosfiltfilt(sos, np.ones(15))  # 3 x (2 x 2 sections + 1) samples of padding: one too few


def test_the_cores_load_without_scipy_signal_and_are_the_ones_it_uses_later() -> None:
    code = ("import sys\n"
            "from somafeedback.signals.scipy_cores import extension\n"
            "cores = [extension(n) for n in ('_sosfilt', '_sigtools', '_peak_finding_utils')]\n"
            "print(sorted(m for m in sys.modules if m.startswith('scipy.s')))\n"
            "import scipy.signal\n"
            "print(scipy.signal._sosfilt._sosfilt is cores[0]._sosfilt,\n"
            "      scipy.signal._sigtools._linear_filter is cores[1]._linear_filter,\n"
            "      scipy.signal._peak_finding_utils._local_maxima_1d is cores[2]._local_maxima_1d,\n"
            "      scipy.signal.sosfilt([[1.0, 0, 0, 1.0, 0, 0]], [1.0, 2.0]).tolist())\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.splitlines() == ["[]", "True True True [1.0, 2.0]"]


def test_without_the_extension_files_the_ordinary_import_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scipy_extensions, "_package_folders", lambda package: [])  # as an unknown bundle layout
    scipy_extensions.extension.cache_clear()
    try:
        assert scipy_extensions.extension("_sosfilt") is sys.modules["scipy.signal._sosfilt"]
        assert scipy_extensions.extension("_flapack", "linalg") is sys.modules["scipy.linalg._flapack"]
    finally:
        scipy_extensions.extension.cache_clear()


def test_lapack_loads_without_scipy_linalg_and_the_spline_equals_scipys() -> None:
    """The tachogram's tridiagonal solve comes from LAPACK's module file; the spline is still CubicSpline's."""
    code = ("import sys\n"
            "import numpy as np\n"
            "from somafeedback.hrv.tachogram import cubic_spline\n"
            "t = np.cumsum(np.random.default_rng(3).uniform(0.6, 1.2, 90)); rr = 1000 * np.diff(t, prepend=0.0)\n"
            "x = np.arange(t[0], t[-1], 0.25)\n"
            "ours = cubic_spline(t, rr, x)\n"
            "print(sorted(m for m in sys.modules if m.startswith(('scipy.linalg', 'scipy.interpolate')) and m != 'scipy.linalg._flapack'))\n"
            "from scipy.interpolate import CubicSpline\n"
            "print(np.array_equal(ours, CubicSpline(t, rr)(x)), len(x) > 300)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.splitlines() == ["[]", "True True"]
