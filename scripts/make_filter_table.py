"""Regenerate somafeedback/signals/filter_table.py: the fixed Butterworth designs, computed by scipy.signal.

    python3 scripts/make_filter_table.py     # rewrites the table (run it after changing a filter constant or scipy)

The designs are those the streaming analyses build at the strap's fixed rates (ECG 130 Hz; chest
acceleration 25, 50, 100, 200 Hz; the ECG-derived respiration at 4 Hz), from their own
constants. tests/test_scipy_cores.py recomputes every entry with scipy.signal and requires it
bit-for-bit equal.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.signal

from somafeedback.signals import chest_motion, ecg_peaks, ecg_respiration

TABLE = Path(__file__).resolve().parent.parent / "somafeedback" / "signals" / "filter_table.py"
ECG_RATES_HZ = (130.0,)  # the Polar H10's only ECG rate (the simulator's too)
ACC_RATES_HZ = (25.0, 50.0, 100.0, 200.0)  # the H10's accelerometer rates

Key = tuple[int, float | tuple[float, float], str, float]


def designs() -> tuple[list[Key], list[Key]]:
    """(b, a designs, second-order-section designs) as (order, wn, btype, fs) keys."""
    ba: list[Key] = []
    for fs in ACC_RATES_HZ:
        ba += [(chest_motion.HIGHPASS_ORDER, chest_motion.BAND_HZ[0], "highpass", fs),
               (chest_motion.LOWPASS_ORDER, chest_motion.BAND_HZ[1], "lowpass", fs),
               (2, chest_motion.MOVEMENT_HIGHPASS_HZ, "highpass", fs),
               (1, chest_motion.GRAVITY_LOWPASS_HZ, "lowpass", fs)]
    sos: list[Key] = [(ecg_peaks.HIGHPASS_ORDER, ecg_peaks.HIGHPASS_HZ, "highpass", fs) for fs in ECG_RATES_HZ]
    sos.append((2, ecg_respiration.BAND_HZ, "bandpass", ecg_respiration.RESAMPLE_HZ))
    return ba, sos


def _values(array: np.ndarray) -> str:
    return repr(np.asarray(array, dtype=np.float64).tolist())  # repr of a float64 reads back exactly


def render() -> str:
    """The table module's text."""
    ba_keys, sos_keys = designs()
    ba_lines, sos_lines, szi_lines = [], [], []
    for order, wn, btype, fs in ba_keys:
        b, a = scipy.signal.butter(order, wn, btype=btype, fs=fs)
        ba_lines.append(f"    {(order, wn, btype, fs)!r}: ({_values(b)}, {_values(a)}),")
    for order, wn, btype, fs in sos_keys:
        sos = scipy.signal.butter(order, wn, btype=btype, output="sos", fs=fs)
        sos_lines.append(f"    {(order, wn, btype, fs)!r}: {_values(sos)},")
        szi_lines.append(f"    ({tuple(float(v) for v in sos.ravel())!r},): {_values(scipy.signal.sosfilt_zi(sos))},")
    return "\n".join([
        '"""Butterworth designs and their initial states, computed by scipy.signal (made by scripts/make_filter_table.py).',
        "",
        f"scipy {scipy.__version__}. Keys: (order, cut-off(s) Hz, btype, fs Hz); the ``*_ZI`` tables are keyed",
        "by the coefficients. Read by :mod:`.scipy_cores`; tests/test_scipy_cores.py recomputes every entry.",
        '"""',
        "",
        "# fmt: off",
        "BA_DESIGNS: dict[tuple, tuple[list[float], list[float]]] = {", *ba_lines, "}",
        "LFILTER_ZI: dict[tuple, list[float]] = {", *_lzi(ba_keys), "}",
        "SOS_DESIGNS: dict[tuple, list[list[float]]] = {", *sos_lines, "}",
        "SOSFILT_ZI: dict[tuple, list[list[float]]] = {", *szi_lines, "}",
        "",
    ])


def _lzi(ba_keys: list[Key]) -> list[str]:
    lines = []
    for order, wn, btype, fs in ba_keys:
        b, a = scipy.signal.butter(order, wn, btype=btype, fs=fs)
        key = (tuple(float(v) for v in b), tuple(float(v) for v in a))
        lines.append(f"    {key!r}: {_values(scipy.signal.lfilter_zi(b, a))},")
    return lines


if __name__ == "__main__":
    TABLE.write_text(render(), encoding="utf-8")
    print(f"wrote {TABLE}")
