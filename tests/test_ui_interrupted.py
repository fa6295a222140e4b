"""The app's next start after a crash: interrupted recordings are named and offered to be finished
(never merged without the user's click); "Later" leaves every byte as it was."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from killed_recordings import killed_recording
from PySide6 import QtCore, QtWidgets
from session_helpers import REPO

from somafeedback.sessions.file import read_session
from somafeedback.sessions.repair import interrupted_recordings
from somafeedback.ui.interrupted_recordings import InterruptedRecordingsBox, offer_to_finish

SAMPLE = REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite"


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _library(tmp_path: Path) -> tuple[Path, Path]:
    library = tmp_path / "library"
    library.mkdir()
    killed = killed_recording(library, "2026-12-01_100000_aaaaaaaa", "Client A", beats=120)
    shutil.copyfile(SAMPLE, library / SAMPLE.name)  # a finished session: nothing to offer
    return library, killed


def test_only_recordings_left_with_a_side_file_by_a_stopped_recorder_are_offered(tmp_path: Path) -> None:
    library, killed = _library(tmp_path)
    assert interrupted_recordings(library) == [killed]
    before = _digest(library)
    assert interrupted_recordings(library) == [killed] and _digest(library) == before  # looking reads only


def test_finish_them_now_merges_each_file_and_says_so(qtbot, tmp_path: Path) -> None:
    library, killed = _library(tmp_path)
    recorded = read_session(killed).notifications
    window = QtWidgets.QMainWindow()
    qtbot.addWidget(window)
    window.show()
    box = offer_to_finish(window, library)
    assert isinstance(box, InterruptedRecordingsBox) and box.isVisible()
    assert "1 recording ended unexpectedly" in box.text() and "Client A" in box.text()
    with qtbot.waitSignal(box.finished_repairs, timeout=10000) as done:
        qtbot.mouseClick(box.finish_button, QtCore.Qt.MouseButton.LeftButton)
    assert "merged" in done.args[0][0]
    assert not Path(f"{killed}-wal").exists() and read_session(killed).notifications == recorded
    assert window.statusBar().currentMessage() == "Finished 1 of 1 interrupted recording(s)."
    assert offer_to_finish(window, library) is None  # nothing left to offer


def test_later_leaves_every_byte_and_asks_again_next_time(qtbot, tmp_path: Path) -> None:
    library, killed = _library(tmp_path)
    before = _digest(library)
    window = QtWidgets.QMainWindow()
    qtbot.addWidget(window)
    box = offer_to_finish(window, library)
    assert box is not None
    qtbot.mouseClick(box.later_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=5000)
    assert _digest(library) == before and Path(f"{killed}-wal").exists()
    assert offer_to_finish(window, library) is not None


def test_the_app_offers_it_on_start(qtbot, tmp_path: Path) -> None:
    """The review window started by the app's own main(): the offer appears once it is painted."""
    from somafeedback.ui import app as app_module

    library, killed = _library(tmp_path)
    seen: list[str] = []

    def look() -> None:
        boxes = [w for w in QtWidgets.QApplication.topLevelWidgets() if isinstance(w, InterruptedRecordingsBox) and w.isVisible()]
        if boxes and not seen:
            seen.append(boxes[0].text())
            for window in QtWidgets.QApplication.topLevelWidgets():
                if window is not boxes[0]:
                    window.close()

    poll = QtCore.QTimer()
    poll.timeout.connect(look)
    poll.start(50)
    try:
        code = app_module.main(["--replay", str(library / SAMPLE.name), "--recordings", str(library), "--speed", "20",
                                "--quit-after", "60"])
    finally:
        poll.stop()
    assert code == 0 and seen and "Client A" in seen[0]
    assert Path(f"{killed}-wal").exists()  # offered, not done
