"""The engine's display buffer is bounded: when nobody drains it, the oldest analysis outputs are
dropped and counted, every event is kept, one warning says the display fell behind, and the
recording is untouched (the recorder takes every notification before the buffer sees anything).
"""

from __future__ import annotations

import math

import pytest
from session_helpers import REPO

from somafeedback.devices.events import TimelineEvent
from somafeedback.live.engine import (
    DISPLAY_BEHIND,
    DISPLAY_LIMIT_ITEMS,
    DisplayBuffer,
    Engine,
    EngineOptions,
    EngineSource,
    StrapOutput,
)
from somafeedback.sessions.file import read_session

SAMPLE = REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite"  # a real H10 RR record, 10 min
RUN_TIMEOUT_S = 120.0  # generous bound on a run that takes a few seconds


def _key(item: StrapOutput) -> tuple[str, str, str]:
    """An output, comparable (outputs holding numpy arrays do not compare with ==)."""
    return item.strap_id, type(item.output).__name__, repr(item.output)


def _warnings(items: list) -> list[TimelineEvent]:
    return [i for i in items if isinstance(i, TimelineEvent) and i.kind == "engine-warning"
            and i.data.get("about") == DISPLAY_BEHIND]


def _replay(limit: int) -> tuple[Engine, list]:
    """Replay the sample at max speed into an engine nobody drains until it has finished."""
    engine = Engine(EngineSource(replay=SAMPLE, speed=math.inf), display_limit=limit)
    engine.start()
    assert engine.finished.wait(RUN_TIMEOUT_S), "the replay did not finish"
    assert engine.error is None
    return engine, engine.drain()


def test_undrained_replay_keeps_the_newest_outputs_and_every_event_and_says_so_once() -> None:
    _, everything = _replay(limit=10**9)  # the reference: nothing dropped
    outputs = [i for i in everything if isinstance(i, StrapOutput)]
    events = [i for i in everything if not isinstance(i, StrapOutput)]
    assert len(outputs) > 1000 and not _warnings(everything)
    limit = 300
    engine, kept = _replay(limit)
    kept_outputs = [i for i in kept if isinstance(i, StrapOutput)]
    warnings = _warnings(kept)
    assert len(kept_outputs) == limit  # bounded
    assert [_key(i) for i in kept_outputs] == [_key(i) for i in outputs[-limit:]]  # the newest, in order
    assert engine.display_dropped == len(outputs) - limit  # every drop counted
    assert engine.display_fell_behind.is_set()
    assert len(warnings) == 1 and "recording itself is complete" in str(warnings[0].data["text"])
    assert [i for i in kept if not isinstance(i, StrapOutput) and i not in warnings] == events  # every event kept
    assert engine.drain() == []


def test_a_drained_engine_drops_nothing() -> None:
    engine, items = _replay(limit=DISPLAY_LIMIT_ITEMS)  # the sample's 10 min fit in the default bound
    assert engine.display_dropped == 0 and not engine.display_fell_behind.is_set() and not _warnings(items)


def test_simulated_strap_at_max_speed_nobody_drains_buffer_stays_bounded_recording_whole(tmp_path) -> None:
    limit = 200
    engine = Engine(EngineSource(simulate="calm", speed=math.inf), EngineOptions(record_to=tmp_path), display_limit=limit)
    engine.start()
    try:
        assert engine.display_fell_behind.wait(RUN_TIMEOUT_S), "the buffer never overflowed"
        with engine._lock:  # a look at the held items while the engine runs on
            assert sum(isinstance(i, StrapOutput) for i in engine._buffer._items) <= limit
    finally:
        engine.stop(timeout_s=RUN_TIMEOUT_S)
    assert engine.finished.is_set() and engine.error is None
    items = engine.drain()
    assert sum(isinstance(i, StrapOutput) for i in items) <= limit
    assert len(_warnings(items)) == 1 and engine.display_dropped > 0
    assert engine.recording is not None
    session = read_session(engine.recording)
    assert not session.ended_unexpectedly and not session.problems
    # every notification was recorded, whatever the display dropped: replayed, the recording
    # gives back every output the live engine made (those it dropped and those it kept)
    replayed = Engine(EngineSource(replay=engine.recording, speed=math.inf), display_limit=10**9)
    replayed.start()
    assert replayed.finished.wait(RUN_TIMEOUT_S) and replayed.error is None
    again = [_key(i) for i in replayed.drain() if isinstance(i, StrapOutput)]
    kept = [_key(i) for i in items if isinstance(i, StrapOutput)]
    assert len(again) == engine.display_dropped + len(kept)
    assert again[len(again) - len(kept):] == kept


def test_events_are_bounded_too() -> None:
    buffer = DisplayBuffer(limit=2, event_limit=3)
    events = [TimelineEvent("marker", n, 0.0, {"n": n}) for n in range(5)]
    buffer.extend(tuple(events))
    held = buffer.take()
    assert held == events[-3:] and buffer.dropped_events == 2 and buffer.dropped == 0
    with pytest.raises(ValueError):
        DisplayBuffer(limit=0)
