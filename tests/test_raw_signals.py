"""StrapRawSignals' time map: R peaks placed on the session clock as np.interp over the kept sample times places them."""

from __future__ import annotations

import numpy as np
import scipy.signal
from session_helpers import SHARED_DATA

from somafeedback.signals.ecg_peaks import EcgPeakDetector
from somafeedback.signals.raw_signals import TIME_MAP_S, _TimeMap

FS = 130.0  # Hz, the Polar H10's ECG rate
KEEP = int(TIME_MAP_S * FS)  # samples the map keeps


class _ReferenceTimeMap:
    """The straightforward map: every chunk's times concatenated, the last KEEP kept, np.interp over their indices."""

    def __init__(self) -> None:
        self.times = np.empty(0)
        self.first = 0

    def extend(self, t_s: np.ndarray) -> None:
        self.times = np.concatenate((self.times, t_s))
        if self.times.size > KEEP:
            self.first += self.times.size - KEEP
            self.times = self.times[-KEEP:]

    def at(self, index: float) -> float | None:
        position = index - self.first
        if position < 0:
            return None
        return float(np.interp(position, np.arange(self.times.size), self.times))


def _record_100_uv() -> np.ndarray:
    import wfdb

    path = SHARED_DATA / "ecg" / "100"
    assert path.with_suffix(".dat").is_file(), f"real record missing: {path} (../shared/data beside the checkout)"
    signals = wfdb.rdrecord(str(path), sampto=360 * 600)  # 10 min
    return scipy.signal.resample_poly(signals.p_signal[:, signals.sig_name.index("MLII")] * 1000.0, 13, 36)


def test_peaks_are_placed_exactly_as_np_interp_places_them() -> None:
    ecg = _record_100_uv()
    rng = np.random.default_rng(11)
    # a strap clock mapped onto the session's: a large offset, drift, and a step at each mapping correction
    t_s = 1.76e9 + np.arange(ecg.size) / FS * (1.0 + 40e-6)
    t_s += np.repeat(rng.normal(0.0, 0.004, ecg.size // 730 + 1), 730)[:ecg.size].cumsum() / 730
    detector, ours, reference = EcgPeakDetector(FS), _TimeMap(), _ReferenceTimeMap()
    placed = start = 0
    sizes = [73, 73, 73, 1, 250, 19]
    while start < ecg.size:
        size = sizes[placed % len(sizes)]
        chunk = slice(start, start + size)
        ours.extend(t_s[chunk], KEEP)
        reference.extend(t_s[chunk])
        start += size
        queries = [peak.index for peak in detector.push(ecg[chunk])]
        queries += [start - 1.0, start - 1.25, start - KEEP, start - KEEP - 0.5, start - KEEP + 0.75, 0.0]
        for index in queries:
            expected = reference.at(index)
            got = ours.at(index)
            assert got == expected, (index, got, expected)
            assert got is None or type(got) is float
        placed += 1
    assert placed > 900  # chunks (10 min)


def test_clear_starts_a_new_stretch_at_index_zero() -> None:
    ours = _TimeMap()
    ours.extend(np.arange(2000.0), KEEP)
    ours.clear()
    ours.extend(np.array([5.0, 6.0]), KEEP)
    assert ours.at(0.5) == 5.5
    assert ours.at(1.0) == 6.0
