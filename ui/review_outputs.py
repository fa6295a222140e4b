"""Reports and exports of a reviewed session: the review window's Report and Export menus.

Each menu entry asks for a folder (the dialog starts in the user's library folder, see
:meth:`ReviewOutputs.save_folder`), then does the work behind a progress dialog
(:func:`~.progress_dialog.run_with_progress`: the work on a worker thread, Cancel leaves
nothing behind) and says in the window's status bar what was written. A report reads the
session with its review notes (``source()``: the library's copy holding them, when there is
one); an export writes the recording as it is.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6 import QtWidgets

from somafeedback.sessions.file import Session

from .progress_dialog import run_with_progress

EXPORT_FORMATS: tuple[tuple[str, str], ...] = (("kubios", "Kubios RR text"), ("csv", "CSV, one file per stream"),
                                               ("edf", "EDF+"))
REPORT_FORMATS: tuple[tuple[str, str], ...] = (("html", "HTML"), ("pdf", "PDF"))
STATUS_MS = 8000  # how long the status bar says what was written


class ReviewOutputs:
    """The Report and Export menus of one reviewed session, in ``window``'s menu bar and status bar."""

    def __init__(self, window: QtWidgets.QMainWindow, session: Session, path: Path, source: Callable[[], Path],
                 recordings: Path, conventions: str = "kubios") -> None:
        self.window = window
        self.conventions = conventions  # the frequency-domain convention set of reports
        self.session = session
        self.path = path  # the session file (what an export is named after)
        self.source = source  # the file a report reads (the session, or its copy with the review notes)
        self.recordings = recordings  # the user's library folder

    def add_menus(self) -> None:
        export = self.window.menuBar().addMenu("&Export")
        for fmt, label in EXPORT_FORMATS:
            export.addAction(f"{label}…", partial(self.choose_export, fmt, False))
            export.addAction(f"{label}, de-identified…", partial(self.choose_export, fmt, True))
        report = self.window.menuBar().addMenu("&Report")
        for fmt, label in REPORT_FORMATS:
            report.addAction(f"Session report ({label})…", partial(self.choose_report, fmt, False))
            report.addAction(f"Session report ({label}), de-identified…",
                             partial(self.choose_report, fmt, True))
        for fmt, label in REPORT_FORMATS:
            report.addAction(f"For the client, in plain words ({label})…",
                             partial(self.choose_report, fmt, False, "client"))

    def save_folder(self) -> Path:
        """Where the report and export dialogs start: the user's library folder, else their documents folder."""
        if self.recordings.is_dir():
            return self.recordings
        from platformdirs import user_documents_path

        documents = user_documents_path()
        return documents if documents.is_dir() else Path.home()

    def choose_report(self, fmt: str, deidentify: bool, audience: str = "practitioner") -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self.window, "Save the report into which folder?",
                                                            str(self.save_folder()))
        if folder:
            self.report(fmt, Path(folder), deidentify, audience)

    def report(self, fmt: str, folder: Path, deidentify: bool = False, audience: str = "practitioner") -> Path | None:
        """A session report with a progress dialog; its path, or None when cancelled or failed.

        ``audience="client"``: the plain-language version for the client (no technical measures).
        """
        from somafeedback.interop.export import ExportError
        from somafeedback.reports.content import ReportError, session_content
        from somafeedback.sessions.file import SessionFileError

        from .report.render import write_report

        try:
            source = self.source()
            content = run_with_progress(self.window, f"Reading {source.name} for the report…",  # with the review notes
                                        lambda progress: session_content(source, deidentify, progress,
                                                                         conventions_name=self.conventions))
            written = None if content is None else write_report(content, audience, fmt, folder)
        except (ReportError, ExportError, SessionFileError) as error:
            QtWidgets.QMessageBox.warning(self.window, "somafeedback", str(error))
            return None
        self.window.statusBar().showMessage("Report cancelled: nothing was written." if written is None
                                            else f"Report saved: {written.name}", STATUS_MS)
        return written

    def choose_export(self, fmt: str, deidentify: bool) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self.window, "Export into which folder?", str(self.save_folder()))
        if folder:
            self.export(fmt, Path(folder), deidentify)

    def export(self, fmt: str, folder: Path, deidentify: bool = False) -> list[Path] | None:
        """Export the session with a progress dialog; the files written, or None when cancelled or failed."""
        from somafeedback.interop.export import ExportError, export_session

        try:
            written = run_with_progress(self.window, f"Exporting {self.path.name} ({fmt})…",
                                        lambda progress: export_session(self.session, fmt, folder, deidentify, progress))
        except ExportError as error:
            QtWidgets.QMessageBox.warning(self.window, "somafeedback", str(error))
            return None
        self.window.statusBar().showMessage("Export cancelled: nothing was written." if written is None
                                            else f"Exported: {', '.join(p.name for p in written)}", STATUS_MS)
        return written


__all__ = ["EXPORT_FORMATS", "REPORT_FORMATS", "ReviewOutputs"]
