"""The engine runs a remote client as its source (issue #17): the practitioner's app side of a remote session.

A real Engine (its remote source on a real nats-server, the ``relay`` fixture) and a real client: the
``somafeedback remote join`` command in a subprocess with a simulated strap at speed 1. Every wait is
bounded and waits on what arrives (an engine event, a printed line), never on a sleep.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from process_lines import LinePrinter
from remote_cli import WAIT_S, remote_command

from somafeedback.devices.events import Beat, TimelineEvent
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.live.engine import Engine, EngineItem, EngineOptions, EngineSource, StrapOutput
from somafeedback.sessions.file import read_session


def drain_until(engine: Engine, seen: list[EngineItem], done: Callable[[list[EngineItem]], Any],
                timeout_s: float = WAIT_S) -> Any:
    """Drain the engine into ``seen`` until ``done(seen)`` is truthy (its value); fails after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        seen.extend(engine.drain())
        if found := done(seen):
            return found
        assert not engine.finished.is_set() or engine.error is None, engine.error
        time.sleep(0.02)  # a poll interval, not a guess at how long anything takes
    raise AssertionError(f"not seen within {timeout_s} s; events: {[e.kind for e in seen if isinstance(e, TimelineEvent)]}")


def event(kind: str, **match: Any) -> Callable[[list[EngineItem]], TimelineEvent | None]:
    def find(seen: list[EngineItem]) -> TimelineEvent | None:
        return next((item for item in seen if isinstance(item, TimelineEvent) and item.kind == kind
                     and all(item.data.get(k) == v for k, v in match.items())), None)
    return find


def printed_cue(line: str) -> dict[str, Any] | None:
    """The down cue a join line reports (``remote`` kind Cue today, ``remote-cue`` later), else None."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if record.get("type") == "remote" and record.get("kind") == "Cue":
        return dict(record.get("data", {}))
    if record.get("type") == "remote-cue":
        return {key: value for key, value in record.items() if key != "type"} | dict(record.get("data", {}))
    return None


def test_the_engine_hosts_a_remote_client_from_code_to_end(relay, tmp_path: Path) -> None:
    engine = Engine(EngineSource(remote_relay=relay.url), EngineOptions(record_to=tmp_path / "library"))
    engine.start()
    join: LinePrinter | None = None
    seen: list[EngineItem] = []
    try:
        first = drain_until(engine, seen, event("remote-code"))
        engine.remote_new_code()  # the practitioner gives up that code: a fresh one replaces it
        code = drain_until(engine, seen, lambda items: next((i for i in items if isinstance(i, TimelineEvent)
                                                              and i.kind == "remote-code" and i is not first), None))
        assert code.data["code"] != first.data["code"] and code.data["valid_s"] > 0
        join = LinePrinter(remote_command("join", code.data["code"], "--relay", relay.url, "--simulate", "calm",
                                          "--speed", "1", "--duration", "300", "--json",
                                          "--recordings", str(tmp_path / "client")))
        paired = drain_until(engine, seen, event("remote-paired"))
        client_paired = join.wait_for(lambda line: '"paired"' in line, WAIT_S)
        assert client_paired is not None and json.loads(client_paired)["confirmation"] == paired.data["confirmation"]

        def client_output(kind: type) -> Callable[[list[EngineItem]], StrapOutput | None]:
            return lambda items: next((i for i in items if isinstance(i, StrapOutput) and i.strap_id == "strap1"
                                       and isinstance(i.output, kind)), None)

        drain_until(engine, seen, client_output(Beat))
        drain_until(engine, seen, client_output(BeatMetrics), timeout_s=2 * WAIT_S)

        engine.add_event("cue", action="pushed", cue_id=None, kind="manual", exercise="arriving-and-orienting", text="Arriving and orienting")
        shown = join.wait_for(lambda line: (cue := printed_cue(line)) is not None and cue.get("exercise") == "arriving-and-orienting",
                              WAIT_S)
        assert shown is not None and printed_cue(shown)["action"] == "show"

        engine.remote_ask_sharing("pause")
        drain_until(engine, seen, event("remote-consent", change="paused", by="practitioner"))

        engine.stop(timeout_s=WAIT_S)
        assert engine.finished.is_set() and engine.error is None
        seen.extend(engine.drain())
        assert event("remote-ended", reason="the practitioner ended the session")(seen)
        code_, lines, err = join.finish(WAIT_S)
        ended = [json.loads(line) for line in lines if '"ended"' in line]
        assert code_ == 0 and ended and "practitioner ended" in ended[-1]["reason"], err

        recorded = read_session(engine.recording)
        assert "remote" in recorded.manifest["tags"] and recorded.manifest["source"]["kind"] == "remote"
        beats = [item for item in recorded.timeline if getattr(item, "strap_id", None) == "strap1"
                 and not isinstance(item, TimelineEvent)]
        assert beats, "the client's notifications are in the practitioner's recording"
        # one timeline: the engine ran on the client's clock (the join's simulated clock starts at 0, the
        # practitioner's loop clock at this machine's uptime), so the practitioner's cue, the session's 00:00
        # and the client's notifications line up
        (timebase,) = [i for i in recorded.timeline if isinstance(i, TimelineEvent) and i.kind == "remote-timebase"]
        assert timebase.data["how"] in ("clock check", "first arrival")
        assert engine.clock is not None and abs(engine.clock.offset_ns - timebase.data["offset_s"] * 1e9) <= 1e3  # µs
        client_ns = [item.host_ns for item in recorded.notifications]
        (pushed,) = [i for i in recorded.timeline if isinstance(i, TimelineEvent) and i.kind == "cue"
                     and i.data.get("action") == "pushed"]
        assert recorded.manifest["session_origin_host_ns"] <= min(client_ns) < pushed.host_ns
        assert pushed.host_ns - max(client_ns) < 60e9
        assert any(isinstance(i, TimelineEvent) and i.kind == "remote-consent" and i.data.get("change") == "paused"
                   for i in recorded.timeline)
    finally:
        engine.stop(timeout_s=WAIT_S)
        if join is not None and join.process.poll() is None:
            join.process.kill()
            join.finish(5)


def test_a_relay_that_cannot_be_reached_is_told_in_words() -> None:
    engine = Engine(EngineSource(remote_relay="nats://127.0.0.1:1"))
    engine.start()
    try:
        failed = drain_until(engine, [], event("remote-failed"))
        assert failed.data["text"] and "Traceback" not in failed.data["text"]
    finally:
        engine.stop(timeout_s=WAIT_S)
    assert engine.finished.is_set() and engine.error is None
