"""The result and error types of RR file reading: :class:`RRSeries`, :class:`RRFileError`.

Also the names of the formats and units an :class:`RRSeries` can carry.

Thread: any.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMATS: tuple[str, ...] = ("plain", "kubios", "hrv-logger", "polar-sensor-logger")
UNITS: tuple[str, ...] = ("ms", "s")

MS_PER_S = 1000.0  # ms in one second


class RRFileError(ValueError):
    """An RR file that cannot be read; the message starts with the file path."""

    def __init__(self, path: str | os.PathLike[str], problem: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{self.path}: {where}{problem}")


@dataclass(frozen=True, slots=True, eq=False)
class RRSeries:
    """One recording's RR intervals, as found in one file (arrays are read-only)."""

    rr_ms: np.ndarray  # float64, RR intervals in ms, in file order (never sorted or filtered)
    source: Path
    format: str  # one of FORMATS
    unit: str  # "ms" or "s": the unit found in the file
    unit_detected: bool  # True when the unit was inferred from the values (not stated by the file)
    notes: tuple[str, ...]  # human-readable remarks on how the file was read
    start_wall_time: float | None = None  # Unix seconds of the first beat, when the file says so
    beat_times_s: np.ndarray | None = None  # s; time of the beat ending each RR, only if the file gives true beat times

    def __post_init__(self) -> None:
        rr = np.array(self.rr_ms, dtype=np.float64)
        if rr.ndim != 1:
            raise ValueError(f"rr_ms must be one-dimensional, not shape {rr.shape}")
        rr.flags.writeable = False
        object.__setattr__(self, "rr_ms", rr)
        if self.beat_times_s is not None:
            times = np.array(self.beat_times_s, dtype=np.float64)
            if times.shape != rr.shape:
                raise ValueError(f"beat_times_s has shape {times.shape}, rr_ms {rr.shape}")
            times.flags.writeable = False
            object.__setattr__(self, "beat_times_s", times)
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, not {self.format!r}")
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}, not {self.unit!r}")
        object.__setattr__(self, "source", Path(self.source))
        object.__setattr__(self, "notes", tuple(self.notes))
