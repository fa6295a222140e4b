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


def test_breathing_trace_pieces_are_the_samples_after_the_last_piece() -> None:
    """Each BreathingTrace holds exactly the trace's samples newer than the previous piece (the plain
    ``t > until`` selection), through a gap and a stream that restarts back in time."""
    from somafeedback.devices.events import AccChunk
    from somafeedback.signals.chest_motion import ChestMotion
    from somafeedback.signals.raw_signals import BreathingTrace, StrapRawSignals

    fs = 25.0
    rng = np.random.default_rng(5)
    t = np.arange(int(120 * fs)) / fs
    parts = (t[t < 50.0], t[t >= 53.0], t[: int(40 * fs)])  # a 3 s gap, then a stream that starts back in time
    raw = StrapRawSignals("s")
    reference = ChestMotion(fs)
    until = -np.inf
    pieces = 0
    for k, part in enumerate(parts):
        breathing = 12.0 * np.sin(2 * np.pi * part / 5.0)
        acc = np.column_stack((0.3 * breathing, 1000.0 + breathing, 0.5 * breathing)) + rng.normal(0.0, 2.0, (part.size, 3))
        start = 0
        while start < part.size:
            stop = min(start + int(rng.integers(12, 50)), part.size)
            tt, aa = part[start:stop], acc[start:stop]
            contiguous = start > 0
            if k and not contiguous:
                reference.reset()
            chunk = AccChunk("s", 0, tt, aa, fs, contiguous, 0)
            out = [item for item in raw.chest_outputs(chunk) if isinstance(item, BreathingTrace)]
            reference.push(tt, aa)
            rt, rmg = reference.trace(len(tt) / fs + 1.0)
            fresh = rt > until
            if fresh.any():
                until = float(rt[fresh][-1])
                assert len(out) == 1
                assert np.array_equal(out[0].t_s, rt[fresh]) and np.array_equal(out[0].mg, rmg[fresh], equal_nan=True)
                pieces += 1
            else:
                assert out == []
            start = stop
    assert pieces > 50
