"""Progress of long work (analysing, importing, exporting, building a report), and cancelling it.

Long operations take a ``progress`` callback, called with the fraction done (0.0 first, 1.0 at
the end, at most about 1/PROGRESS_STEP times in between). The callback may raise — usually
:class:`Cancelled`, or ``KeyboardInterrupt`` from Ctrl-C — to stop the work; every operation
then removes whatever it had started to write, so a cancelled job leaves nothing behind.

:class:`Progress` turns work units into those calls; :class:`ProgressBar` draws them on a
terminal (the CLI); the app shows a progress dialog with a Cancel button (``ui/``).

Thread: any (a Progress belongs to the one job that reports through it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Final, TextIO

PROGRESS_STEP: Final = 0.01  # progress is reported when it advanced at least this much (<= ~100 calls)
BAR_WIDTH: Final = 30  # characters of the terminal bar

ProgressCallback = Callable[[float], None]


class Cancelled(Exception):
    """Raised by a progress callback to stop the work (the user pressed Cancel)."""


class Progress:
    """Reports work done as a fraction 0..1, at most about 1/PROGRESS_STEP times."""

    def __init__(self, callback: ProgressCallback | None, share: tuple[float, float] = (0.0, 1.0)) -> None:
        self._callback = callback
        self._low, self._high = share  # the part of the caller's 0..1 this work fills
        self._total = 1.0
        self._done = 0.0
        self._reported = -1.0

    def set_total(self, units: float) -> None:
        """The work units that will be reported through :meth:`advance`."""
        self._total = max(float(units), 1.0)

    def start(self) -> None:
        self._emit(0.0)

    def advance(self, units: float = 1.0) -> None:
        self._done += units
        fraction = min(self._done / self._total, 0.999)
        if fraction - self._reported >= PROGRESS_STEP:
            self._emit(fraction)

    def finish(self) -> None:
        self._emit(1.0)

    def part(self, low: float, high: float) -> Progress:
        """A Progress for a stage filling ``low..high`` of this one (its 1.0 is not the job's end)."""
        span = self._high - self._low
        return Progress(self._callback, (self._low + low * span, self._low + high * span))

    def _emit(self, fraction: float) -> None:
        self._reported = fraction
        if self._callback is not None:
            self._callback(self._low + fraction * (self._high - self._low))


class ProgressBar:
    """A one-line progress bar on a terminal (stderr): ``label [#####.....]  45 %``.

    On a terminal the line is redrawn in place; elsewhere (a log, a test) a line is written
    at every 10 % so the output stays short.
    """

    def __init__(self, label: str, out: TextIO | None = None) -> None:
        self.label = label
        self.out = out if out is not None else sys.stderr
        self.interactive = bool(getattr(self.out, "isatty", lambda: False)())
        self._shown = -1

    def __call__(self, fraction: float) -> None:
        percent = int(round(100 * min(max(fraction, 0.0), 1.0)))
        if self.interactive:
            if percent != self._shown:
                filled = BAR_WIDTH * percent // 100
                self.out.write(f"\r{self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {percent:3d} %")
                if percent == 100:
                    self.out.write("\n")
                self.out.flush()
        elif percent // 10 != self._shown // 10 or (percent == 100 and self._shown != 100):
            self.out.write(f"{self.label}: {percent} %\n")
            self.out.flush()
        self._shown = percent
