"""The engine thread: one loop, a source, analysis and cues, drained from another thread."""

from __future__ import annotations

import math
import time

from session_helpers import REPO

from somafeedback.devices.events import Beat, LinkEvent, LinkState, TimelineEvent
from somafeedback.live.engine import Engine, EngineOptions, EngineSource, StrapOutput
from somafeedback.live.stored_pass import PASS_NAME
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.sessions.file import read_session


def _unwrap(items: list) -> list:
    return [i.output if isinstance(i, StrapOutput) else i for i in items]


def _drain_until(engine: Engine, done, timeout_s: float = 60.0) -> list:
    items, deadline = [], time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        items += _unwrap(engine.drain())
        if done(items):
            return items
        time.sleep(0.02)
    raise AssertionError(f"timed out; got {len(items)} items")


def test_simulated_source_streams_metrics_and_takes_markers_from_another_thread(tmp_path) -> None:
    engine = Engine(EngineSource(simulate="calm", speed=60.0), EngineOptions(record_to=tmp_path))
    engine.start()
    try:
        items = _drain_until(engine, lambda got: sum(isinstance(i, BeatMetrics) for i in got) >= 40)
        engine.add_event("marker", label="resource")
        items += _drain_until(engine, lambda got: any(isinstance(i, TimelineEvent) and i.kind == "marker" for i in got))
    finally:
        engine.stop()
    assert engine.finished.is_set() and engine.error is None
    assert any(isinstance(i, Beat) for i in items)
    assert any(isinstance(i, TimelineEvent) and i.kind == "state" for i in items)
    states = [i.state for i in items + _unwrap(engine.drain()) if isinstance(i, LinkEvent)]
    assert states[0] is LinkState.CONNECTING and states[-1] is LinkState.STOPPED  # a clean stop
    session = read_session(engine.recording)
    marker = [e for e in session.events if isinstance(e, TimelineEvent) and e.kind == "marker"]
    assert len(marker) == 1 and marker[0].data == {"label": "resource"} and not session.ended_unexpectedly
    assert PASS_NAME in session.analyses  # a clean stop stores the report's pass (tests/test_stored_pass.py)


def test_an_engine_told_to_end_quickly_closes_its_recording_without_the_report_pass(tmp_path) -> None:
    engine = Engine(EngineSource(simulate="calm", speed=60.0), EngineOptions(record_to=tmp_path))
    engine.start()
    try:
        _drain_until(engine, lambda got: sum(isinstance(i, BeatMetrics) for i in got) >= 20)
        engine.end_quickly()  # what the app does on SIGTERM/SIGHUP before it closes the window
    finally:
        engine.stop()
    session = read_session(engine.recording)
    assert not session.ended_unexpectedly and len(session.notifications) >= 20
    assert session.analyses == {}


def test_replay_source_can_be_paused_and_runs_to_the_end() -> None:
    sample = REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite"
    engine = Engine(EngineSource(replay=sample, speed=math.inf))
    engine.start()
    engine.finished.wait(60)
    items = _unwrap(engine.drain())
    assert engine.error is None
    assert sum(isinstance(i, Beat) for i in items) == 620
    assert any(isinstance(i, TimelineEvent) and i.kind == "baseline" for i in items)


def test_no_strap_is_reported_not_raised() -> None:
    engine = Engine(EngineSource())  # the system's Bluetooth: none on this machine
    engine.start()
    engine.finished.wait(60)
    errors = [i for i in _unwrap(engine.drain()) if isinstance(i, TimelineEvent) and i.kind == "engine-error"]
    assert errors and "somafeedback stream --simulate" in errors[0].data["text"]


def test_no_strap_leaves_no_empty_recording(tmp_path) -> None:
    engine = Engine(EngineSource(), EngineOptions(record_to=tmp_path))
    engine.start()
    engine.finished.wait(60)
    assert list(tmp_path.glob("*")) == []


def test_a_recording_stopped_mid_session_is_closed_with_its_pass_while_the_session_goes_on(tmp_path) -> None:
    engine = Engine(EngineSource(simulate="calm", speed=60.0), EngineOptions(record_to=tmp_path))
    engine.start()
    try:
        _drain_until(engine, lambda got: sum(isinstance(i, BeatMetrics) for i in got) >= 20)
        engine.stop_recording()
        stopped = _drain_until(engine, lambda got: any(isinstance(i, TimelineEvent) and i.kind == "recording"
                                                      and i.data["state"] == "stopped" for i in got))
        session = read_session(engine.recording)  # closed (its pass stored) once "stopped" is said
        assert not session.ended_unexpectedly and PASS_NAME in session.analyses
        after = _drain_until(engine, lambda got: sum(isinstance(i, BeatMetrics) for i in got) >= 10)
    finally:
        engine.stop()
    assert engine.error is None and stopped and after  # the session went on after the recording stopped
    assert sorted(p.name for p in tmp_path.iterdir()) == [engine.recording.name]  # one finished file, no side files
