"""The practitioner's engine comes back to a remote session after a crash (issue #17): the engine that hosted
it is killed (SIGKILL: a crash as it happens, nothing of it runs afterwards, so nothing can end the session or
remove its saved state), then a new Engine made with the saved state rejoins it while the client (the
``remote join`` command, a simulated strap at speed 5) streams on. Over a real nats-server (``relay``).

Why a process of its own for the first engine: see tests/remote_engine_process.py. Every wait is bounded and
waits on what arrives.
"""

from __future__ import annotations

import json
import secrets
import stat
import time
from pathlib import Path

import pytest
from process_lines import LinePrinter
from remote_cli import WAIT_S
from remote_engine_process import crash_mid_session
from test_remote_engine_host import drain_until, event

from somafeedback.devices.events import Beat, TimelineEvent
from somafeedback.live.engine import Engine, EngineItem, EngineOptions, EngineSource, StrapOutput
from somafeedback.remote.consent import LINK_EVENT
from somafeedback.remote.host_state import GONE_TEXT, HostState, load_state, save_state
from somafeedback.remote.messages import Hello
from somafeedback.remote.pairing import SessionKeys
from somafeedback.remote.transport import new_subject
from somafeedback.sessions.file import read_session


def _rows(path: Path) -> set[tuple[str, str, int, int, bytes]]:
    return {(n.strap_id, n.characteristic, n.seq, n.host_ns, bytes(n.payload)) for n in read_session(path).notifications}


def gone_state(relay_url: str, path: Path) -> Path:
    """A saved state of a session whose stream the relay never held (saved just now), at ``path``."""
    keys = SessionKeys("practitioner", secrets.token_bytes(32), secrets.token_bytes(32), secrets.token_bytes(16),
                       "otter lantern quartz")
    save_state(path, HostState(relay_url, keys, Hello(new_subject(), "up", "down"), "earlier.somasession",
                               time.time(), time.time()))
    return path


def test_a_killed_engine_is_rejoined_by_a_new_engine_and_the_two_recordings_hold_what_the_client_sent(
        relay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the saved session state goes here (both processes)
    library = tmp_path / "library"
    processes: list[LinePrinter] = []
    engine: Engine | None = None
    try:
        saved = crash_mid_session(relay.url, library, tmp_path / "client", processes)
        join = processes[-1]
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
        earlier = library / load_state(saved).recording

        engine = Engine(EngineSource(remote_relay=relay.url, remote_rejoin=saved), EngineOptions(record_to=library))
        engine.start()
        seen: list[EngineItem] = []
        paired = drain_until(engine, seen, event("remote-paired", rejoined=True))
        assert paired.data["continues"] == earlier.name and not event("remote-code")(seen)
        drain_until(engine, seen, event(LINK_EVENT, side="practitioner", state="rejoined"))
        beats = lambda items: sum(isinstance(i, StrapOutput) and isinstance(i.output, Beat) for i in items)  # noqa: E731
        drain_until(engine, seen, lambda items: beats(items) >= 10)  # the client streams on into the new engine
        engine.stop(timeout_s=WAIT_S)
        assert engine.finished.is_set() and engine.error is None
        join_code, join_lines, join_err = join.finish(WAIT_S)
        assert join_code == 0 and "practitioner ended" in join_lines[-1], join_err
    finally:
        if engine is not None:
            engine.stop(timeout_s=WAIT_S)
        for process in processes:
            if process.process.poll() is None:
                process.process.kill()
                process.finish(5)

    assert not saved.exists()  # ended normally: the session's keys are off the disk
    later = engine.recording
    assert later is not None and read_session(later).manifest["continues"] == earlier.name
    (timebase,) = [e for e in read_session(later).events if isinstance(e, TimelineEvent) and e.kind == "remote-timebase"]
    assert timebase.data["how"] in ("clock check", "first arrival")  # measured afresh
    before, after = _rows(earlier), _rows(later)
    client = _rows(Path(json.loads(join_lines[-1])["saved"]))
    last = max(row[3] for row in after)
    assert before and after and len(before & after) < len(before)
    assert {row for row in client if row[3] <= last} <= before | after  # nothing of the span is missing


def test_rejoining_a_session_the_relay_no_longer_holds_says_so_once_and_forgets_it(
        relay, tmp_path: Path) -> None:
    saved = gone_state(relay.url, tmp_path / "state.json")
    engine = Engine(EngineSource(remote_relay=relay.url, remote_rejoin=saved))
    engine.start()
    try:
        failed = drain_until(engine, [], event("remote-failed", gone=True))
        assert GONE_TEXT in failed.data["text"] and failed.data["fatal"] and "Traceback" not in failed.data["text"]
    finally:
        engine.stop(timeout_s=WAIT_S)
    assert engine.error is None and not saved.exists()  # never offered again
