"""``replay --speed max`` delivers item after item (no virtual-time sleep per stamp) and writes its lines in
blocks: the lines must be exactly those of the paced player on a max-speed session loop (the plain path)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest
from recording_helpers import record_simulated
from session_helpers import run_in_session_time

from somafeedback.cli.main import main as cli_main
from somafeedback.devices.replay import ReplaySource
from somafeedback.live.stream_printer import StreamPrinter
from somafeedback.sessions.file import read_session


@pytest.fixture(scope="module")
def h10_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated H10 with a dropout, markers and notes: beats, ECG beats, breathing, gaps, events."""
    return record_simulated(tmp_path_factory.mktemp("replay") / "h10.session.sqlite", "dropout", 150.0, h10=True,
                            markers=[(20.0, "marker", {"label": "resource"}), (90.0, "note", {"text": "settling"})])


def _paced_lines(path: Path, json_lines: bool, metrics: bool) -> str:
    """What the printer writes when the player paces every item on a max-speed session loop."""
    out = io.StringIO()
    printer = StreamPrinter(json_lines=json_lines, label_straps=False, metrics=metrics, out=out)

    async def play() -> None:
        await ReplaySource(read_session(path).timeline, printer, speed=1.0).run()

    run_in_session_time(play, math.inf)
    return out.getvalue()


@pytest.mark.parametrize("flags", [[], ["--metrics"], ["--json"], ["--json", "--metrics"]])
def test_replay_at_max_speed_prints_what_the_paced_player_prints(
    h10_session: Path, flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["replay", str(h10_session), "--speed", "max", *flags]) == 0
    printed = capsys.readouterr().out
    expected = _paced_lines(h10_session, "--json" in flags, "--metrics" in flags)
    assert printed.count("\n") > 300
    assert printed == expected


def test_printer_with_flush_at_the_end_writes_the_same_lines(h10_session: Path) -> None:
    lines = []
    for flush_lines in (True, False):
        out = io.StringIO()
        printer = StreamPrinter(metrics=True, out=out)
        printer.flush_lines = flush_lines
        for item in read_session(h10_session).timeline:
            if hasattr(item, "payload"):
                printer.notification(item)  # type: ignore[arg-type]
            else:
                printer.event(item)
        printer.flush()
        lines.append(out.getvalue())
    assert lines[0] == lines[1] and lines[0].count("\n") > 300
