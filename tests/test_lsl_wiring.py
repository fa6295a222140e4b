"""LSL switched on where users switch it on: ``--lsl`` on the CLI, and the app's engine toggle.

Off by default, and then nothing listens on the network; on, a pylsl inlet on loopback
receives the streams with their metadata.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pylsl
from test_lsl_outlets import owned_sockets, port

from somafeedback.live.engine import Engine, EngineOptions, EngineSource
from somafeedback.regulation.exercises import load_exercises


def _resolve(prop: str, value: str, timeout_s: float = 10.0) -> list[pylsl.StreamInfo]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = pylsl.resolve_byprop(prop, value, timeout=1.0)
        if found:
            return found
    return []


LSL_MULTICAST_PORT = 16571  # liblsl's default: every outlet answers discovery on it


def listening() -> set[tuple[str, str, str, str]]:
    """What of this process listens: TCP sockets in LISTEN, UDP sockets on LSL's discovery port.

    (Inlets and resolvers of other tests in this process keep ephemeral UDP sockets of their own;
    they receive only, so they are not counted.)
    """
    return {s for s in owned_sockets() if s[0].startswith("tcp") or port(s) == LSL_MULTICAST_PORT}


def test_cli_stream_with_lsl_publishes_heart_rate_and_markers() -> None:
    """Runs until the inlet has its samples, then Ctrl-C: nothing races a session length against the wall clock."""
    import signal

    from process_lines import LinePrinter

    printer = LinePrinter([sys.executable, "-m", "somafeedback.cli", "stream", "--simulate", "--json", "--lsl"])
    received: list[float] = []
    try:
        # this process's stream (source_id names its pid): other tests' outlets may still be on the network
        ours = f"somafeedback-somafeedback-{printer.process.pid}-"
        hr_streams: list[pylsl.StreamInfo] = []
        deadline = time.monotonic() + 60.0
        while not hr_streams and time.monotonic() < deadline:
            hr_streams = [s for s in pylsl.resolve_byprop("type", "HR", timeout=1.0) if s.source_id().startswith(ours)]
        assert hr_streams, "no HR stream of the stream command appeared"
        inlet = pylsl.StreamInlet(hr_streams[0])
        inlet.open_stream(timeout=30.0)
        full = inlet.info(timeout=30.0)
        channel = full.desc().child("channels").child("channel")
        assert channel.child_value("label") == "hr" and channel.child_value("unit") == "bpm"
        assert channel.child_value("type") == "HR"
        deadline = time.monotonic() + 120.0  # a bound only: at speed 1 five samples take about five seconds
        while len(received) < 5 and time.monotonic() < deadline and printer.process.poll() is None:
            sample, _stamp = inlet.pull_sample(timeout=1.0)
            if sample is not None:
                received.append(sample[0])
        inlet.close_stream()
    finally:
        printer.process.send_signal(signal.SIGINT)
        code, lines, err = printer.finish(timeout_s=60)
    assert len(received) >= 5 and all(35.0 < bpm < 140.0 for bpm in received), err
    assert code == 130, err  # stopped by Ctrl-C, cleanly
    beats = [json.loads(line) for line in lines if '"type": "beat"' in line]
    assert beats  # the printer went on as usual beside LSL


def test_the_engine_publishes_only_while_switched_on(qtbot) -> None:
    before = listening()
    engine = Engine(EngineSource(simulate="calm", speed=5.0), EngineOptions(), load_exercises())
    engine.start()
    try:
        qtbot.waitUntil(lambda: any(getattr(i, "kind", "") == "pmd_started" for i in engine.drain()), timeout=20000)
        assert listening() == before  # LSL off: nothing listens
        engine.set_lsl(True)
        on_events: list = []
        qtbot.waitUntil(lambda: bool(on_events.extend(i for i in engine.drain() if getattr(i, "kind", "") == "lsl")
                                     or on_events), timeout=10000)
        assert on_events[-1].data["on"] is True
        ecg = _resolve("type", "ECG")
        assert ecg and ecg[0].nominal_srate() == 130.0 and ecg[0].channel_format() == pylsl.cf_float32
        assert listening() - before  # now it listens
        engine.set_lsl(False)
        off_events: list = []
        qtbot.waitUntil(lambda: bool(off_events.extend(i for i in engine.drain() if getattr(i, "kind", "") == "lsl")
                                     or off_events), timeout=10000)
        assert off_events[-1].data["on"] is False
        qtbot.waitUntil(lambda: listening() == before, timeout=5000)
    finally:
        engine.stop()
