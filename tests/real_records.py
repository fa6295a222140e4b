"""Real RR records from ../shared/data (see its README for provenance), as ms arrays."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
from session_helpers import SHARED_DATA

RR = SHARED_DATA / "rr"


def real_file(name: str) -> Path:
    """A file of ../shared/data/rr; fail (never skip) when the data is missing."""
    path = RR / name
    assert path.is_file(), f"real record missing: {path} (../shared/data beside the checkout)"
    return path


@cache
def nsr001_ms() -> np.ndarray:
    """24 h nsr2db record; the first line is a start offset, not an RR."""
    return np.loadtxt(real_file("nsr001_rr_secs.txt"))[1:] * 1000.0


@cache
def irurzun_ms() -> np.ndarray:
    return np.loadtxt(real_file("irurzun_000_ms.txt"))


@cache
def polar_slow_breathing_ms() -> np.ndarray:
    """Real Polar H10 RR (column 2); column 1 is BLE arrival time and is never used."""
    return np.loadtxt(real_file("polar_h10_slow_breathing_ibi.csv"), delimiter=",")[:, 1]


def clean_segments(rr: np.ndarray, count: int, start: int, length_s: float = 300.0, step: int = 2500) -> list[np.ndarray]:
    """Artifact-free stretches of about ``length_s``: every RR within 20 % of its centred 11-beat median."""
    out: list[np.ndarray] = []
    k = start
    while len(out) < count and k < len(rr):
        n = int(np.searchsorted(np.cumsum(rr[k:]), length_s * 1000.0))
        seg = rr[k:k + n]
        padded = np.pad(seg, 5, mode="edge")
        medians = np.median(np.lib.stride_tricks.sliding_window_view(padded, 11), axis=1)
        if n > 100 and np.all(np.abs(seg - medians) <= 0.2 * medians) and np.all((seg > 300) & (seg < 2000)):
            out.append(seg)
        k += step
    assert len(out) == count, f"found only {len(out)} clean segments"
    return out


def rmssd(rr: np.ndarray, accepted: np.ndarray | None = None) -> float:
    """RMSSD over successive differences whose two beats are both accepted."""
    d = np.diff(rr)
    if accepted is not None:
        d = d[accepted[1:] & accepted[:-1]]
    return float(np.sqrt(np.mean(d**2)))
