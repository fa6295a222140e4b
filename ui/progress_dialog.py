"""Long work in the app (exporting, building a report, importing) with a progress dialog.

The job runs on a worker thread and reports through the core's progress callback; the
dialog, on the GUI thread, shows the latest fraction from a timer and offers Cancel. Cancel
makes the job's next progress call raise :class:`~somafeedback.progress.Cancelled`, and the
job removes whatever it had started to write (every long operation in the core does), so a
cancelled job leaves nothing behind.

Thread: :func:`run_with_progress` is called on the GUI thread; the job runs on its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Final, Generic, TypeVar

from PySide6 import QtCore, QtWidgets

from somafeedback.progress import Cancelled, ProgressCallback

T = TypeVar("T")
POLL_MS: Final = 50  # how often the dialog looks at the job's progress


class ProgressJob(Generic[T]):
    """A job on a worker thread: its latest progress, its result or error, and a cancel flag."""

    def __init__(self, work: Callable[[ProgressCallback], T]) -> None:
        self.work = work
        self.fraction = 0.0
        self.result: T | None = None
        self.error: BaseException | None = None
        self.cancelled = threading.Event()
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="somafeedback job", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def progress(self, fraction: float) -> None:
        """The callback the job reports through (worker thread); raises Cancelled once asked to."""
        if self.cancelled.is_set():
            raise Cancelled()
        self.fraction = fraction

    def _run(self) -> None:
        try:
            self.result = self.work(self.progress)
        except BaseException as error:  # noqa: BLE001 - handed to the GUI thread, which reports it
            self.error = error
        finally:
            self.done.set()


def run_with_progress(parent: QtWidgets.QWidget | None, label: str, work: Callable[[ProgressCallback], T]) -> T | None:
    """Run ``work(progress)`` with a modal progress dialog; its result, or None when cancelled.

    An exception of the job other than a cancel is raised again here, on the GUI thread.
    """
    job: ProgressJob[T] = ProgressJob(work)
    dialog = QtWidgets.QProgressDialog(label, "Cancel", 0, 1000, parent)
    dialog.setWindowTitle("somafeedback")
    dialog.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(300)  # ms: quick jobs finish without a flash of a dialog
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.canceled.connect(job.cancelled.set)
    loop = QtCore.QEventLoop()
    timer = QtCore.QTimer()
    timer.setInterval(POLL_MS)

    def poll() -> None:
        if dialog.wasCanceled():  # the button, Escape, or closing the dialog
            job.cancelled.set()
        dialog.setValue(int(1000 * job.fraction))
        if job.done.is_set():
            timer.stop()
            loop.quit()

    timer.timeout.connect(poll)
    job.start()
    timer.start()
    loop.exec()
    dialog.close()
    if isinstance(job.error, Cancelled):
        return None
    if job.error is not None:
        raise job.error
    return job.result
