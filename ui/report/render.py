"""Session reports and progress-over-weeks reports as one HTML file or a PDF, written safely.

:func:`render_session_report` and :func:`render_progress_report` build the content
(:mod:`somafeedback.reports.content`), draw the figures with the app's own plotting code
(:mod:`.figures`), lay them out (:mod:`.html`) and write one file. The app
builds the content on a worker thread (it is Qt-free and takes most of the time) and then
calls :func:`write_session_report` / :func:`write_progress_report` on the GUI thread. Formats:

* ``html``: one self-contained file (inline CSS, figures as base64 PNG ``<img>``\\ s);
* ``pdf``: A4 through Qt's own ``QTextDocument`` and ``QPdfWriter`` (no browser), page
  numbers at the foot. Sections flow on; a heading is never left alone at the foot of a page
  and a figure never apart from its caption (Qt's layout reads no ``break-after: avoid``:
  :func:`~.pdf.keep_with_next` moves such a heading or figure to the next page; :mod:`.pdf`, imported
  only for a PDF).

Output
    ``out=None``: beside the session file (``<stem>_report.html|pdf``; de-identified:
    ``session_<id>_deidentified_report...``), or in the library folder for a progress report
    (``<client>_progress_<YYYY-MM-DD>.html|pdf``, today's date). ``out`` may be a folder (the
    same name inside it) or a file path (the format's suffix is added when it has none;
    missing folders are created and removed again on failure). The file is written through the
    export's :class:`~somafeedback.interop.export._writing.Outputs`: under a temporary name in its
    final folder, moved into place at the end, never over an existing file, owner read/write
    only (0600); a failure or a cancel leaves nothing behind.

Progress
    ``progress(fraction)`` is called with 0.0 first, then as the content (to 0.6) and the
    figures advance, and 1.0 just before the file is moved into place; if it raises
    (:class:`~somafeedback.progress.Cancelled`, Ctrl-C), nothing is left behind and the
    exception propagates.

A QApplication must exist for the figures: :func:`ensure_app` creates one when there is
none (on the ``offscreen`` platform when Linux has no display, as the app would refuse).

Thread: the Qt GUI thread (the main thread for the command line); the functions refuse
any other thread with a :class:`~somafeedback.reports.content.ReportError`.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final

from PySide6 import QtCore, QtWidgets

from somafeedback.reports.client import client_report
from somafeedback.interop.export._writing import ExportError, Outputs, safe_name
from somafeedback.progress import ProgressCallback
from somafeedback.reports.common import ReportError
from somafeedback.hrv.conventions import DEFAULT_FOR_RECORDS
from somafeedback.reports.content import SessionReportContent
from somafeedback.reports.progress_content import ProgressContent, progress_content
from somafeedback.live.strap_pass import AnalysisFactory, new_live_analysis

from .figures import ReportImage, progress_images, session_images
from .stages import CONTENT_SHARE, FIGURES_SHARE, FORMATS, Stages, check_format, prepared_content, refuse_existing
from .html import client_html, progress_html, progress_title, session_html, session_title

AUDIENCES: Final = ("practitioner", "client")  # the full session report, or its plain-language client version
SUFFIXES: Final = {"html": ".html", "pdf": ".pdf"}
DISPLAY_VARIABLES: Final = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")

def ensure_app() -> QtWidgets.QApplication:
    """The running QApplication, or a new one (offscreen when Linux has no display)."""
    app = QtWidgets.QApplication.instance()
    if app is None:
        if sys.platform.startswith("linux") and not any(os.environ.get(name) for name in DISPLAY_VARIABLES):
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        app = QtWidgets.QApplication(sys.argv[:1])
    if not isinstance(app, QtWidgets.QApplication):
        raise ReportError("reports need a QApplication (widgets), but a QCoreApplication or QGuiApplication runs")
    return app


def _target(outputs: Outputs, out: Path | None, folder: Path, stem: str, fmt: str) -> Path:
    """The final path of the report (see the module docstring)."""
    suffix = SUFFIXES[fmt]
    if out is None:
        return folder / f"{stem}{suffix}"
    out = Path(out).expanduser()
    if out.is_dir():
        return out / f"{stem}{suffix}"
    parent = outputs.folder(out.parent)
    return parent / (out.name if out.suffix else f"{out.name}{suffix}")


def _data_uri(image: ReportImage) -> str:
    return "data:image/png;base64," + base64.b64encode(image.png).decode("ascii")


def _write_new(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(fd, "wb") as stream:
        stream.write(data)


def _write(outputs: Outputs, target: Path, stages: Stages, fmt: str, images: list[ReportImage], title: str,
           html_for: Callable[[list[ReportImage], Callable[[ReportImage], str], bool], str]) -> Path:
    temporary = outputs.reserve(target)
    if fmt == "html":
        data = html_for(images, _data_uri, False).encode("utf-8")
    else:
        from .pdf import pdf_bytes, resource_name  # only a PDF needs the page layout

        data = pdf_bytes(html_for(images, resource_name, True), images, title)
    _write_new(temporary, data)
    stages.emit(1.0)
    return outputs.commit()[0]


def _on_gui_thread(where: Path) -> None:
    app = ensure_app()
    if QtCore.QThread.currentThread() is not app.thread():
        raise ReportError(f"{where}: report figures are drawn with Qt widgets, on the GUI thread only "
                          "(build the content on a worker thread, then write the report on the GUI thread)")


def _written(outputs: Outputs, where: Path, fmt: str, job: Callable[[], Path]) -> Path:
    """Run ``job``; on any failure or cancel remove what it started to write."""
    try:
        return job()
    except OSError as error:
        outputs.discard()
        raise ReportError(f"{where}: cannot write the {fmt} report: {error.strerror or error}") from error
    except BaseException:
        outputs.discard()
        raise


def _place(outputs: Outputs, out: Path | None, folder: Path, stem: str, fmt: str) -> Path:
    target = _target(outputs, out, folder, stem, fmt)
    if target.exists() or target.is_symlink():  # before the work, not only at the end
        raise outputs.error(f"{target} already exists (reports never overwrite a file)")
    return target


def write_session_report(content: SessionReportContent, fmt: str, out: Path | None = None,
                         progress: ProgressCallback | None = None) -> Path:
    """Draw the figures of ``content`` and write its report as ``fmt``; the path written (GUI thread).

    ``progress`` goes from 0.0 to 1.0 over the figures and the document.
    """
    check_format(fmt, content.path)
    _on_gui_thread(content.path)
    outputs = Outputs(content.path)
    stages = Stages(progress)

    def job() -> Path:
        stages.emit(0.0)
        target = _place(outputs, out, content.path.parent, f"{content.stem}_report", fmt)
        images = session_images(content, stages.part(0.0, 0.9))
        return _write(outputs, target, stages, fmt, images, session_title(content),
                      lambda imgs, src, pdf: session_html(content, imgs, src, for_pdf=pdf))

    return _written(outputs, content.path, fmt, job)


def write_client_report(content: SessionReportContent, fmt: str, out: Path | None = None,
                        progress: ProgressCallback | None = None) -> Path:
    """Write the plain-language client version of ``content`` (:mod:`somafeedback.reports.client`) as ``fmt``;
    the path written (``<stem>_client_report.html|pdf`` beside the session by default; GUI thread)."""
    check_format(fmt, content.path)
    _on_gui_thread(content.path)
    outputs = Outputs(content.path)
    stages = Stages(progress)

    def job() -> Path:
        stages.emit(0.0)
        target = _place(outputs, out, content.path.parent, f"{content.stem}_client_report", fmt)
        report = client_report(content)
        stages.emit(0.5)
        return _write(outputs, target, stages, fmt, [], report.title, lambda _imgs, _src, _pdf: client_html(report))

    return _written(outputs, content.path, fmt, job)


def write_progress_report(content: ProgressContent, fmt: str, out: Path | None = None,
                          progress: ProgressCallback | None = None, today: dt.date | None = None) -> Path:
    """Draw the figures of ``content`` and write its progress report as ``fmt``; the path written (GUI thread)."""
    from somafeedback.reports.practice_history import MIN_RESTING_READINGS

    check_format(fmt, content.library)
    _on_gui_thread(content.library)
    outputs = Outputs(content.library)
    stages = Stages(progress)
    made = today or dt.date.today()

    def job() -> Path:
        stages.emit(0.0)
        target = _place(outputs, out, content.library, f"{safe_name(content.client)}_progress_{made.isoformat()}", fmt)
        images = progress_images(content, stages.part(0.0, 0.9))
        return _write(outputs, target, stages, fmt, images, progress_title(content),
                      lambda imgs, src, pdf: progress_html(content, imgs, src, for_pdf=pdf,
                                                           min_resting_readings=MIN_RESTING_READINGS, made=made))

    return _written(outputs, content.library, fmt, job)


def _begin(fmt: str, source: Path, out: Path | None, progress: ProgressCallback | None) -> Stages:
    """Checks before any work (format, thread, an existing output) and the job's progress stages."""
    check_format(fmt, source)
    _on_gui_thread(source)
    stages = Stages(progress)
    stages.emit(0.0)
    refuse_existing(out, source)
    return stages


def render_session_report(session_path: str | Path, fmt: str, out: Path | None = None, deidentify: bool = False,
                          progress: ProgressCallback | None = None, audience: str = "practitioner",
                          new_analysis: AnalysisFactory = new_live_analysis, conventions: str = DEFAULT_FOR_RECORDS,
                          nonlinear: bool = False) -> Path:
    """Write the report of one session as ``fmt`` (``"html"`` or ``"pdf"``); the path written (GUI thread).

    The content (:func:`~somafeedback.reports.content.session_content`) fills the progress to
    0.6, the figures to 0.9. Raises :class:`~somafeedback.sessions.file.SessionFileError`
    (unreadable file), :class:`~somafeedback.reports.content.ReportError` (no beats, unknown
    format, cannot write, not the GUI thread) or :class:`~somafeedback.interop.export.ExportError`
    (the output exists).

    ``audience="client"`` writes the plain-language client version instead (:func:`write_client_report`).
    ``conventions`` names the frequency-domain convention set of the summary and the phases; ``nonlinear``
    adds neurokit2's nonlinear indices to each phase.
    The whole report runs one pass of the live analysis (made by ``new_analysis``; a test counts them).
    """
    session_path = Path(session_path)
    if audience not in AUDIENCES:
        raise ReportError(f"{session_path}: unknown report audience {audience!r} (choose one of {', '.join(AUDIENCES)})")
    _on_gui_thread(session_path)
    content, stages = prepared_content(session_path, fmt, out, progress, deidentify, new_analysis, conventions,
                                       nonlinear)
    return write_report(content, audience, fmt, out, stages.part(CONTENT_SHARE, 1.0))


def write_report(content: SessionReportContent, audience: str, fmt: str, out: Path | None = None,
                 progress: ProgressCallback | None = None) -> Path:
    """The practitioner's report of ``content`` or, for ``audience="client"``, its client version (GUI thread)."""
    write = write_client_report if audience == "client" else write_session_report
    return write(content, fmt, out, progress)


def render_client_report(session_path: str | Path, fmt: str, out: Path | None = None, deidentify: bool = False,
                         progress: ProgressCallback | None = None) -> Path:
    """Write the plain-language client version of one session's report (GUI thread); the path written."""
    return render_session_report(session_path, fmt, out, deidentify, progress, audience="client")


def render_progress_report(library_folder: str | Path, client: str, fmt: str, out: Path | None = None,
                           progress: ProgressCallback | None = None) -> Path:
    """Write one client's progress over weeks as ``fmt``; the path written (GUI thread).

    Raises :class:`~somafeedback.reports.content.ReportError` (no such folder, no session of
    the client, unknown format, cannot write, not the GUI thread) or
    :class:`~somafeedback.interop.export.ExportError` (the output exists).
    """
    folder = Path(library_folder)
    stages = _begin(fmt, folder, out, progress)
    content = progress_content(folder, client, stages.part(0.0, CONTENT_SHARE))
    return write_progress_report(content, fmt, out, stages.part(CONTENT_SHARE, 1.0))


__all__ = ["AUDIENCES", "FORMATS", "ExportError", "ReportError", "ensure_app", "render_client_report", "render_progress_report", "render_session_report", "write_client_report", "write_report",
           "write_progress_report", "write_session_report"]
