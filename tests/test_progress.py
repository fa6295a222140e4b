"""Progress of long work and cancelling it: analysing, importing and exporting a 24 h record."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from real_records import real_file

from somafeedback.interop.export import export_session
from somafeedback.interop.importer import import_file
from somafeedback.progress import Cancelled, ProgressBar
from somafeedback.sessions.file import read_session

NSR_24H = "nsr001_rr_secs.txt"  # 106,459 beats: long enough to watch


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "somafeedback.cli", *args], capture_output=True, text=True, timeout=300)


def _percents(stderr: str, label: str) -> list[int]:
    return [int(line.split(":")[1].strip().rstrip(" %")) for line in stderr.splitlines() if line.startswith(f"{label}:")]


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 24 h record imported once (with its progress) for the tests that need a session."""
    library = tmp_path_factory.mktemp("library")
    seen: list[float] = []
    path = import_file(real_file(NSR_24H), library, client="Client N", progress=seen.append)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen) and len(seen) > 20
    return path


def test_the_cli_shows_analysis_progress_up_to_100_percent() -> None:
    result = _cli("analyze", str(real_file(NSR_24H)), "--json", "--progress")
    assert result.returncode == 0, result.stderr
    shown = _percents(result.stderr, "analysing")
    assert shown[0] == 0 and shown[-1] == 100 and shown == sorted(shown) and len(shown) >= 10
    assert '"n_beats": 106459' in result.stdout


def test_the_cli_shows_import_and_export_progress(imported: Path, tmp_path: Path) -> None:
    library = tmp_path / "library"
    result = _cli("import", str(real_file(NSR_24H)), "--recordings", str(library), "--progress")
    assert result.returncode == 0, result.stderr
    assert _percents(result.stderr, "importing")[-1] == 100
    exported = _cli("export", str(imported), "--format", "edf", "--out", str(tmp_path / "n.edf"), "--progress")
    assert exported.returncode == 0, exported.stderr
    assert _percents(exported.stderr, "exporting edf")[-1] == 100 and (tmp_path / "n.edf").exists()


def test_a_terminal_gets_one_line_redrawn_in_place() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    bar = ProgressBar("working", screen)
    for fraction in (0.0, 0.25, 0.25, 0.5, 1.0):
        bar(fraction)
    text = screen.getvalue()
    assert text.count("\r") == 4 and text.endswith("100 %\n")  # the repeated 25 % is not redrawn
    assert "[" + "#" * 15 + "." * 15 + "]  50 %" in text


def _cancel_at(fraction: float):  # noqa: ANN202 - a progress callback
    def progress(done: float) -> None:
        if done >= fraction:
            raise Cancelled()
    return progress


def test_a_cancelled_import_leaves_the_library_as_it_was(tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    (library / "keep.txt").write_text("untouched")
    with pytest.raises(Cancelled):
        import_file(real_file(NSR_24H), library, progress=_cancel_at(0.5))
    assert sorted(p.name for p in library.iterdir()) == ["keep.txt"]


def test_a_cancelled_export_leaves_no_file(imported: Path, tmp_path: Path) -> None:
    session = read_session(imported)
    for fmt in ("edf", "csv", "kubios"):
        out = tmp_path / fmt
        out.mkdir()
        with pytest.raises(Cancelled):
            export_session(session, fmt, out, progress=_cancel_at(0.3))
        assert list(out.iterdir()) == []  # neither the export nor a temporary file


def test_a_real_sigint_while_the_session_is_written_leaves_the_library_as_it_was(tmp_path: Path) -> None:
    """Ctrl-C's own signal, raised at 20 % (well into writing): KeyboardInterrupt, and nothing left behind."""
    library = tmp_path / "library"
    library.mkdir()
    (library / "keep.txt").write_text("untouched")
    raised: list[float] = []

    def interrupt_at_20_percent(done: float) -> None:
        if done >= 0.2 and not raised:
            raised.append(done)
            signal.raise_signal(signal.SIGINT)  # Python's own handler turns it into KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_file(real_file(NSR_24H), library, progress=interrupt_at_20_percent)
    assert raised and 0.2 <= raised[0] < 0.5
    assert sorted(p.name for p in library.iterdir()) == ["keep.txt"]  # no session, no temporary file


def test_ctrl_c_stops_the_import_command_and_leaves_nothing_behind(tmp_path: Path) -> None:
    """The command line's Ctrl-C path: exit status 130, "stopped", an empty library.

    The import cannot finish before the signal arrives, however busy the machine: its events
    file is a named pipe that nobody writes, so the command waits there (after reading the
    24 h record) until Ctrl-C ends it. An earlier version sent the signal at the "20 %" line,
    and on a loaded machine the import had finished before the signal landed (exit 0).
    """
    library = tmp_path / "library"
    events = tmp_path / "events.csv"
    os.mkfifo(events)
    process = subprocess.Popen([sys.executable, "-m", "somafeedback.cli", "import", str(real_file(NSR_24H)),
                                "--events", str(events), "--recordings", str(library), "--progress"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    first = process.stderr.readline()  # "importing: 0 %": Python runs the command, its Ctrl-C handler is in place
    assert first.startswith("importing: 0 %"), first
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=120)
    assert process.returncode == 130, rest
    assert rest.strip().splitlines()[-1] == "stopped"
    assert not library.exists() or list(library.iterdir()) == []
