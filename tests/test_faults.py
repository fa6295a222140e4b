"""Faults a recording meets: stop signals (SIGTERM, SIGHUP) end it as cleanly as Ctrl-C, a full
disk stops it with a clear message and leaves what was written readable, and a replay never
waits for a far-off stamp.

The recordings here are real subprocesses of the command line and the app on the simulated
strap; every wait is on what they print or write, bounded generously (``WAIT_S``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from process_lines import LinePrinter
from recording_helpers import AnalysisCollector
from session_helpers import run_in_session_time

from somafeedback.devices.events import Notification, TimelineEvent
from somafeedback.devices.replay import JUMP_EVENT, MAX_PACED_JUMP_S, ReplaySource
from somafeedback.sessions.file import SessionFileError, read_session

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "recordings" / "polar-h10-slow-breathing.session.sqlite"
CLI = [sys.executable, "-m", "somafeedback.cli"]
WAIT_S = 90.0  # generous bound on any wait for a subprocess (a loaded 2-core CI box)
BEATS_BEFORE_SIGNAL = 4  # beats printed (so recorded: the writer is fed first) before the signal
FILE_LIMIT_BYTES = 512 * 1024  # RLIMIT_FSIZE of the "full disk" recorder: no file may grow past this


def _sessions(library: Path) -> list[dict]:
    listed = subprocess.run(CLI + ["sessions", "--json", "--recordings", str(library)],
                            capture_output=True, text=True, timeout=WAIT_S)
    assert listed.returncode == 0, listed.stderr
    return [json.loads(line) for line in listed.stdout.splitlines()]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_ends_a_cli_recording_as_cleanly_as_ctrl_c(tmp_path: Path, stop: signal.Signals) -> None:
    library = tmp_path / "library"
    recorder = LinePrinter(CLI + ["record", "--simulate", "calm", "--duration", "600", "--beats", "--json",
                                  "--recordings", str(library)])
    beats = 0

    def a_beat(line: str) -> bool:
        nonlocal beats
        beats += json.loads(line)["type"] == "beat"
        return beats >= BEATS_BEFORE_SIGNAL

    assert recorder.wait_for(a_beat, WAIT_S) is not None, "the recording never printed a beat"
    sent = time.monotonic()
    recorder.process.send_signal(stop)
    code, _lines, stderr = recorder.finish(WAIT_S)
    took_s = time.monotonic() - sent
    assert code == 128 + stop, stderr
    assert "stopped:" in stderr and "Traceback" not in stderr
    (row,) = _sessions(library)
    assert row["status"] == "complete"  # not "ended unexpectedly"
    session = read_session(row["path"])
    assert session.manifest["end_reason"].startswith("stopped:") and stop.name in session.manifest["end_reason"]
    assert len(session.notifications) >= BEATS_BEFORE_SIGNAL
    assert session.analyses == {}  # no report pass stored at a signal's end: the close stays quick
    assert not list(library.glob("*-wal")) and not list(library.glob("*-journal"))
    print(f"{stop.name}: exit {took_s:.2f} s after the signal")  # the promise: within 2 s (not asserted: wall clock)


def test_a_stop_signal_ends_the_apps_recording_cleanly(tmp_path: Path) -> None:
    library = tmp_path / "library"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SOMAFEEDBACK_RECORDINGS": str(library)}
    app = subprocess.Popen(CLI[:1] + ["-m", "somafeedback.ui.launcher", "--simulate", "--record", "--no-client-view"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + WAIT_S
        recorded = 0
        while time.monotonic() < deadline and app.poll() is None:
            files = list(library.glob("*.session.sqlite"))
            try:
                recorded = len(read_session(files[0]).notifications) if files else 0
            except SessionFileError:  # just created: its first commit is still to come
                recorded = 0
            if recorded >= 2 * BEATS_BEFORE_SIGNAL:
                break
            time.sleep(0.2)
        assert recorded >= 2 * BEATS_BEFORE_SIGNAL, "the app never recorded"
        app.send_signal(signal.SIGTERM)
        _out, stderr = app.communicate(timeout=WAIT_S)
    finally:
        if app.poll() is None:
            app.kill()
            app.communicate()
    assert app.returncode == 128 + signal.SIGTERM, stderr
    (row,) = _sessions(library)
    assert row["status"] == "complete"
    session = read_session(row["path"])
    assert len(session.notifications) >= recorded
    assert session.analyses == {}  # no report pass stored at a signal's end: the close stays quick


def _limit_file_size() -> None:
    """In the child: no file may grow past FILE_LIMIT_BYTES (the kernel refuses the write with
    EFBIG, as a full disk refuses with ENOSPC); SIGXFSZ ignored so the write fails instead of the process."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT_BYTES, FILE_LIMIT_BYTES))


def test_a_full_disk_stops_the_recording_clearly_and_what_was_written_stays_readable(tmp_path: Path) -> None:
    library = tmp_path / "library"
    recorded = subprocess.run(CLI + ["record", "--simulate", "calm", "--speed", "20", "--duration", "3600",
                                     "--recordings", str(library)],
                              preexec_fn=_limit_file_size, capture_output=True, text=True, timeout=WAIT_S)
    assert recorded.returncode == 3, recorded.stderr
    message = recorded.stderr.strip().splitlines()[-1]
    assert message.startswith("somafeedback record: the recording stopped after") and "can be read" in message
    assert "Traceback" not in recorded.stderr
    (row,) = _sessions(library)
    assert row["status"] == "ended unexpectedly" and row["problem"] == ""
    session = read_session(row["path"])
    assert not session.problems
    assert len(session.notifications) > 50 and session.duration_s > 2.0  # what was written, read back whole
    assert all(path.stat().st_size <= FILE_LIMIT_BYTES for path in library.iterdir())


def _far_off(timeline: list, index: int, shift_ns: int) -> list:
    items = list(timeline)
    items[index] = dataclasses.replace(items[index], host_ns=items[index].host_ns + shift_ns)
    return items


@pytest.mark.parametrize("shift_s", [1e8, 2.0**63 / 1e9, -1e8])
def test_replay_plays_a_far_off_stamp_in_order_without_waiting_and_says_so(shift_s: float) -> None:
    timeline = read_session(SAMPLE).timeline
    notification_at = [i for i, item in enumerate(timeline) if isinstance(item, Notification)]
    index = notification_at[len(notification_at) // 2]
    items = _far_off(timeline, index, int(shift_s * 1e9))
    collector = AnalysisCollector()
    said: list[TimelineEvent] = []

    class Listening:
        def notification(self, notification: Notification) -> None:
            collector.notification(notification)

        def event(self, event) -> None:
            if isinstance(event, TimelineEvent) and event.kind == JUMP_EVENT:
                said.append(event)
            collector.event(event)

    async def main() -> tuple[float, ReplaySource]:
        import asyncio

        player = ReplaySource(items, Listening(), speed=1.0)  # paced: a wait for the stamp would last years
        await player.run()
        return asyncio.get_running_loop().time(), player

    ended_s, player = run_in_session_time(main)
    recorded_s = (timeline[-1].host_ns - timeline[0].host_ns) / 1e9
    assert player.delivered == len(items) and player.finished
    assert player.jumps == 2 and len(said) == 2  # away from the timeline and back onto it
    assert all("without waiting" in event.data["text"] for event in said)
    assert ended_s <= recorded_s + MAX_PACED_JUMP_S / 1e4  # paced as recorded; never the far-off wait
    assert not math.isclose(ended_s, 0.0)  # still paced (not played all at once)


ENGINE_FULL_DISK = """
import json, math, sys, time
from pathlib import Path
from somafeedback.devices.events import TimelineEvent
from somafeedback.live.engine import Engine, EngineOptions, EngineSource
from somafeedback.hrv.pipeline import BeatMetrics

engine = Engine(EngineSource(simulate="calm", speed=math.inf), EngineOptions(record_to=Path(sys.argv[1])))
engine.start()
failed, beats_after = None, 0
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline and beats_after < 30:
    for item in engine.drain():
        payload = getattr(item, "output", item)  # StrapOutput carries the analysis output
        if isinstance(payload, TimelineEvent) and payload.kind == "recording" and payload.data.get("state") == "failed":
            failed = dict(payload.data)
        elif failed is not None and isinstance(payload, BeatMetrics):
            beats_after += 1
    time.sleep(0.01)
engine.stop()
print(json.dumps({"failed": failed, "beats_after": beats_after}))
"""


def test_a_full_disk_in_the_app_stops_the_recording_with_words_and_the_session_goes_on(tmp_path: Path) -> None:
    """The app's engine (no CLI): the first refused write stops the recording, a "recording failed" event
    says why in words, the live session keeps producing metrics, and the file reads back whole."""
    library = tmp_path / "library"
    ran = subprocess.run([sys.executable, "-c", ENGINE_FULL_DISK, str(library), str(WAIT_S)],
                         preexec_fn=_limit_file_size, capture_output=True, text=True, timeout=WAIT_S + 60)
    assert ran.returncode == 0, ran.stderr[-3000:]
    result = json.loads(ran.stdout.strip().splitlines()[-1])
    assert result["failed"] is not None, "the recording never failed"
    assert result["failed"]["text"].startswith("The recording stopped: the disk")
    assert "kept" in result["failed"]["text"] and "Traceback" not in ran.stderr
    assert result["beats_after"] >= 30  # the session carried on without its recording
    (path,) = library.glob("*.session.sqlite")
    session = read_session(path)
    assert not session.problems and len(session.notifications) > 50
