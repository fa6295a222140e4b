"""What a report job checks before any work, and its progress split into stages (Qt-free).

Shared by :mod:`.render` (the app and the tests) and :mod:`.command` (the command line, which
builds the content before it loads Qt, so that the drawing code loads while the recording's raw
signals are analysed in other processes).

Thread: the caller's (the GUI thread for a render).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from somafeedback.interop.export._writing import ExportError
from somafeedback.progress import ProgressCallback
from somafeedback.reports.common import ReportError

FORMATS: Final = ("html", "pdf")
CONTENT_SHARE: Final = 0.6  # progress: content to 0.6, figures to 0.9, the document to 1.0
FIGURES_SHARE: Final = 0.9


class Stages:
    """Maps each stage's own 0..1 onto its share of the whole, never going back."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self.callback = callback
        self.reported = -1.0

    def emit(self, fraction: float) -> None:
        if self.callback is not None and fraction > self.reported:
            self.reported = fraction
            self.callback(fraction)

    def part(self, low: float, high: float) -> ProgressCallback:
        """A callback for a stage filling ``low..high``; a stage's own 1.0 reaches 1.0 only for the last stage."""
        return lambda fraction: self.emit(low + (high - low) * fraction)


def check_format(fmt: str, where: Path) -> None:
    if fmt not in FORMATS:
        raise ReportError(f"{where}: unknown report format {fmt!r} (choose one of {', '.join(FORMATS)})")


def refuse_existing(out: Path | None, source: Path) -> None:
    """An ``out`` that is an existing file (not a folder) is refused before any work: reports never overwrite."""
    if out is not None and not Path(out).is_dir() and (Path(out).exists() or Path(out).is_symlink()):
        raise ExportError(f"{source}: {out} already exists (reports never overwrite a file)")
