"""What a report job checks before any work, its progress split into stages, and a session
report's content prepared (Qt-free).

Shared by :mod:`.render` (the app and the tests) and :mod:`.command` (the command line, which
prepares the content before it loads Qt: the content's pass forks its second process
(:mod:`somafeedback.live.raw_ahead`) before Qt has started any thread).

Thread: the caller's (the GUI thread for a render).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from somafeedback.hrv.conventions import DEFAULT_FOR_RECORDS
from somafeedback.interop.export._writing import ExportError
from somafeedback.progress import ProgressCallback
from somafeedback.reports.common import ReportError
from somafeedback.reports.content import SessionReportContent, session_content
from somafeedback.live.strap_pass import AnalysisFactory, new_live_analysis

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


def prepared_content(session_path: Path, fmt: str, out: Path | None, progress: ProgressCallback | None,
                     deidentify: bool = False, new_analysis: AnalysisFactory = new_live_analysis,
                     conventions: str = DEFAULT_FOR_RECORDS, nonlinear: bool = False,
                     raw_ahead: bool = False) -> tuple[SessionReportContent, Stages]:
    """The checks before any work (format, an existing output), then the session report's content
    (:func:`~somafeedback.reports.content.session_content`, filling the progress to :data:`CONTENT_SHARE`),
    and the job's stages for what follows."""
    check_format(fmt, session_path)
    stages = Stages(progress)
    stages.emit(0.0)
    refuse_existing(out, session_path)
    content = session_content(session_path, deidentify, stages.part(0.0, CONTENT_SHARE), new_analysis, conventions,
                              nonlinear, raw_ahead)
    return content, stages
