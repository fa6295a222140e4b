"""The home engine joins a practitioner's remote session (issue #17): a real Engine on a simulated strap,
a real practitioner (RemoteHost on its own loop) over a real nats-server (the ``relay`` fixture).

Every wait is bounded and waits on a condition (what the engine produced, what the host received).
"""

from __future__ import annotations

import time
from dataclasses import replace
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from remote_practitioner import WAIT_S, Practitioner
from somafeedback.devices.events import TimelineEvent
from somafeedback.live.engine import Engine, EngineOptions, EngineSource
from somafeedback.live.remote_client_link import ENDED_EVENT, FAILED_EVENT, PACER_EVENT, PAIRED_EVENT
from somafeedback.regulation.pacer import Pacer
from somafeedback.regulation.pacer import PacerSettings as Breath
from somafeedback.live.analysis import pacer_event_data
from somafeedback.remote.codes import words
from somafeedback.remote.consent import CONSENT_EVENT
from somafeedback.remote.downlink import REMOTE_CUE_EVENT, down_message
from somafeedback.remote.relay import LocalRelay
from somafeedback.sessions.file import read_session

POLL_S = 0.02  # s between two drains of the engine while waiting for an event (bounded by WAIT_S)


class Drained:
    """What the engine gave the UI so far; ``wait_for`` drains until an event matches (bounded)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.events: list[TimelineEvent] = []

    def wait_for(self, test: Callable[[TimelineEvent], bool]) -> TimelineEvent:
        deadline = time.monotonic() + WAIT_S
        seen = 0
        while time.monotonic() < deadline:
            self.events += [i for i in self.engine.drain() if isinstance(i, TimelineEvent)]
            for event in self.events[seen:]:
                if test(event):
                    return event
            seen = len(self.events)
            time.sleep(POLL_S)
        raise AssertionError(f"no such event among {[e.kind for e in self.events]}")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    started = Engine(EngineSource(simulate="calm", speed=2.0, seed=5, simulated_model="hr"),
                     EngineOptions(mode="home", record_to=tmp_path, manifest={"tags": ["remote"]}))
    started.start()
    yield started
    started.stop(2 * WAIT_S)


@pytest.fixture
def practitioner(relay: LocalRelay) -> Iterator[Practitioner]:
    host = Practitioner(relay.url)
    yield host
    host.close()


def kind(name: str) -> Callable[[TimelineEvent], bool]:
    return lambda event: event.kind == name


def test_the_home_engine_shares_with_the_practitioner_and_follows_what_comes_down(
        engine: Engine, practitioner: Practitioner, relay: LocalRelay) -> None:
    drained = Drained(engine)
    engine.join_remote(relay.url, str(practitioner.code).upper().replace("-", " "), "raw")  # typed as read out
    paired = drained.wait_for(lambda e: e.kind in (PAIRED_EVENT, FAILED_EVENT))
    assert paired.kind == PAIRED_EVENT and paired.data == {"confirmation": practitioner.confirmation, "level": "raw"}
    engine.remote_confirm()
    sink = practitioner.sink
    sink.until(lambda s: len(s.notifications()) >= 20)
    assert practitioner.host.consent.confirmed
    shared = sink.notifications()

    cue = down_message(TimelineEvent("cue", 1, 2.0, {"action": "pushed", "cue_id": None, "kind": "manual",
                                                      "exercise": "arriving-and-orienting", "text": "Orienting"}))
    assert cue is not None
    practitioner.send(cue)
    shown = drained.wait_for(kind(REMOTE_CUE_EVENT))
    assert shown.data["received"] and shown.data["action"] == "show"
    assert shown.data["exercise"] == "arriving-and-orienting"
    engine.decline_remote_cue(dict(shown.data))
    sink.until(lambda s: any(e.data.get("action") == "declined" for e in s.kinds(REMOTE_CUE_EVENT)))
    (declined,) = sink.kinds(REMOTE_CUE_EVENT)
    assert declined.data["declined"] == "show" and declined.data["exercise"] == "arriving-and-orienting"

    pacer = Pacer(Breath(5.0, 5.0), 0.0)
    practitioner.send(down_message(TimelineEvent("pacer", 1, 2.0, pacer_event_data(pacer))))  # type: ignore[arg-type]
    breath = drained.wait_for(kind(PACER_EVENT))
    assert breath.data == {"running": True, "inhale_s": 5.0, "exhale_s": 5.0, "hold_in_s": 0.0, "hold_out_s": 0.0}

    for command, follows in ((engine.remote_pause, lambda c: c.paused), (engine.remote_resume, lambda c: not c.paused),
                             (engine.remote_stop, lambda c: c.stopped)):
        command()
        sink.until(lambda _s: follows(practitioner.host.consent))
    drained.wait_for(lambda e: e.kind == CONSENT_EVENT and e.data.get("change") == "stopped")  # recorded here too
    assert [e.data.get("change") for e in drained.events if e.kind == CONSENT_EVENT] == [
        "confirmed", "paused", "resumed", "stopped"]

    practitioner.close()
    ended = drained.wait_for(kind(ENDED_EVENT))
    assert ended.data["reason"] == "the practitioner ended the session"
    assert not engine.finished.is_set()  # the strap and the recording go on
    engine.stop(2 * WAIT_S)
    recorded = read_session(engine.recording)  # type: ignore[arg-type]
    start = recorded.notifications.index(shared[0])
    assert recorded.notifications[start:start + len(shared)] == shared  # in order, none missing
    kinds = [e.kind for e in recorded.timeline if isinstance(e, TimelineEvent)]
    assert {REMOTE_CUE_EVENT, PACER_EVENT, CONSENT_EVENT, ENDED_EVENT} <= set(kinds)


def test_a_wrong_code_or_an_unreachable_relay_is_said_in_words(engine: Engine, practitioner: Practitioner,
                                                                relay: LocalRelay) -> None:
    drained = Drained(engine)
    code = practitioner.code  # one word mistyped: the code meets nobody
    wrong = replace(code, first=next(word for word in words() if word != code.first))
    engine.join_remote(relay.url, str(wrong), "raw", step_timeout_s=1.0)
    failed = drained.wait_for(lambda e: e.kind in (PAIRED_EVENT, FAILED_EVENT))
    assert failed.kind == FAILED_EVENT and "code" in failed.data["text"] and "Traceback" not in failed.data["text"]
    engine.join_remote("this is not an address", str(practitioner.code), "raw")
    garbage = drained.wait_for(lambda e: e.kind == FAILED_EVENT and e is not failed)
    assert "Traceback" not in garbage.data["text"] and garbage.data["text"]
    assert not engine.finished.is_set()


def test_at_metrics_the_home_engine_sends_its_own_measures_not_the_straps_data(
        engine: Engine, practitioner: Practitioner, relay: LocalRelay) -> None:
    from somafeedback.hrv.pipeline import BeatMetrics
    from somafeedback.live.engine import StrapOutput
    from somafeedback.remote.consent import METRICS_EVENT

    drained = Drained(engine)
    engine.join_remote(relay.url, str(practitioner.code), "metrics")
    assert drained.wait_for(lambda e: e.kind in (PAIRED_EVENT, FAILED_EVENT)).kind == PAIRED_EVENT
    engine.remote_confirm()
    sink = practitioner.sink
    sink.until(lambda s: len(s.kinds(METRICS_EVENT)) >= 10)
    computed = {}  # the engine's own metric sets, by beat time
    deadline = time.monotonic() + WAIT_S
    received = sink.kinds(METRICS_EVENT)[:10]
    while time.monotonic() < deadline and not all(round(e.host_ns / 1e9, 3) in computed for e in received):
        for item in engine.drain():
            if isinstance(item, StrapOutput) and isinstance(item.output, BeatMetrics):
                computed[round(item.output.t_s, 3)] = item.output
        time.sleep(POLL_S)
    for event in received:
        mine = computed[round(event.host_ns / 1e9, 3)]
        assert event.data["computed_by"] == "client"
        assert event.data["rr_ms"] == mine.rr_ms and event.data["rmssd_ms"] == mine.time.rmssd_ms
    assert sink.notifications() == []  # no heartbeat left the client's computer


def test_the_practitioners_pacer_becomes_the_clients_own_measured_and_sent_up(
        tmp_path: Path, practitioner: Practitioner, relay: LocalRelay) -> None:
    from somafeedback.live.analysis import PACER_EVENT as SHOWN
    from somafeedback.live.engine import StrapOutput
    from somafeedback.remote.messages import PacerSettings as Down
    from somafeedback.signals.pacer_following import FollowingEstimate

    engine = Engine(EngineSource(simulate="slow-breathing", speed=3.0, seed=5, simulated_model="h10"),
                    EngineOptions(mode="home", record_to=tmp_path))
    engine.start()
    try:
        drained = Drained(engine)
        engine.join_remote(relay.url, str(practitioner.code), "beats")
        assert drained.wait_for(lambda e: e.kind in (PAIRED_EVENT, FAILED_EVENT)).kind == PAIRED_EVENT
        engine.remote_confirm()
        practitioner.send(Down({"running": True, "inhale_s": 4.0, "exhale_s": 6.0, "hold_in_s": 0.0,
                                "hold_out_s": 0.0}))
        arrived = drained.wait_for(kind(PACER_EVENT))
        shown = drained.wait_for(kind(SHOWN))  # the client's own pacer, started when the breath arrived
        (start,) = shown.data["changes"]
        assert (start["inhale_s"], start["exhale_s"]) == (4.0, 6.0) and start["at_s"] == arrived.host_ns / 1e9
        followed: list[FollowingEstimate] = []
        deadline = time.monotonic() + WAIT_S
        while not followed and time.monotonic() < deadline:  # the client's analysis follows the breathing
            followed = [i.output for i in engine.drain()
                        if isinstance(i, StrapOutput) and isinstance(i.output, FollowingEstimate)]
            time.sleep(POLL_S)
        assert followed and followed[0].pacer_bpm == 6.0
        practitioner.sink.until(lambda s: bool(s.kinds(SHOWN)))  # gone up like any event, on the client's clock
        assert practitioner.sink.kinds(SHOWN)[0].data == shown.data
        practitioner.send(Down({"running": False}))
        drained.wait_for(lambda e: e.kind == SHOWN and not e.data["running"])
        practitioner.sink.until(lambda s: len(s.kinds(SHOWN)) == 2)
    finally:
        engine.stop(2 * WAIT_S)
    recorded = [e for e in read_session(engine.recording).timeline  # type: ignore[arg-type]
                if isinstance(e, TimelineEvent) and e.kind in (SHOWN, PACER_EVENT)]
    assert [(e.kind, e.data["running"]) for e in recorded] == [
        (PACER_EVENT, True), (SHOWN, True), (PACER_EVENT, False), (SHOWN, False)]  # each once: nothing looped


def test_a_cue_that_comes_down_while_the_engine_closes_is_still_recorded(
        engine: Engine, practitioner: Practitioner, relay: LocalRelay) -> None:
    import asyncio

    from somafeedback.remote.messages import Cue

    drained = Drained(engine)
    engine.join_remote(relay.url, str(practitioner.code), "raw")
    assert drained.wait_for(lambda e: e.kind in (PAIRED_EVENT, FAILED_EVENT)).kind == PAIRED_EVENT
    link = engine._client_link
    cue = down_message(TimelineEvent("cue", 1, 2.0, {"action": "pushed", "cue_id": None, "kind": "manual",
                                                      "exercise": None, "text": "late words"}))
    assert isinstance(cue, Cue)

    async def down_while_closing() -> bool:
        """On the relay loop: once the end began (the engine thread waits in close), a cue comes down."""
        deadline = time.monotonic() + WAIT_S
        while link.client is not None and time.monotonic() < deadline:
            await asyncio.sleep(0)  # every turn of the relay loop: the end's first await comes next
        link._on_down(cue)  # as the RemoteClient hands a down message it opened
        return link.client is None

    arrived = link.relay_loop.submit(down_while_closing())
    engine.stop(2 * WAIT_S)
    assert arrived.result(0)  # it came down while the engine was closing the link
    recorded = read_session(engine.recording)  # type: ignore[arg-type]
    assert [e.data["text"] for e in recorded.timeline if isinstance(e, TimelineEvent)
            and e.kind == REMOTE_CUE_EVENT] == ["late words"]
