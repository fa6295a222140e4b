"""The practitioner's side stops mid-session (killed, as a crash or a laptop restart would) and comes back to
the same remote session with `remote host --rejoin`: no new code, the client streaming on meanwhile, nothing
lost between the practitioner's two recordings (over a real nats-server, with a simulated strap)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import stat
import time
from pathlib import Path

import pytest
from process_lines import LinePrinter
from remote_cli import WAIT_S, remote_command

from somafeedback.devices.events import TimelineEvent
from somafeedback.remote.clock_sync import CLOCK_EVENT
from somafeedback.remote.consent import LINK_EVENT
from somafeedback.remote.host_state import GONE_TEXT, HostState, save_state, state_folder
from somafeedback.remote.messages import Hello
from somafeedback.remote.pairing import SessionKeys
from somafeedback.remote.relay import LocalRelay
from somafeedback.remote.transport import new_subject
from somafeedback.sessions.file import SUFFIX, read_session

BEATS_AFTER_SAVE = 5  # beats the first host prints after it saved a position, before it is killed


def _saved_position(path: Path) -> int:
    """The up position a host saved, once it is past the start (waits a bounded time; 0: never)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        position = int(json.loads(path.read_text(encoding="utf-8"))["up_position"])
        if position > 0:
            return position
        time.sleep(0.05)
    return 0


def _rows(path: Path) -> list[tuple[str, str, int, int, bytes]]:
    return [(n.strap_id, n.characteristic, n.seq, n.host_ns, bytes(n.payload)) for n in read_session(path).notifications]


def test_a_killed_host_rejoins_the_same_session_and_its_two_recordings_hold_all_the_client_sent(
        relay: LocalRelay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the hosts' saved session state goes here
    recordings = tmp_path / "host"
    first = LinePrinter(remote_command("host", "--relay", relay.url, "--json", "--recordings", str(recordings)))
    processes = [first]
    try:
        line = first.wait_for(lambda text: '"code"' in text, WAIT_S)
        assert line is not None, first.finish(5)
        join = LinePrinter(remote_command("join", json.loads(line)["code"], "--relay", relay.url, "--simulate", "calm",
                                          "--speed", "5", "--duration", "40", "--json",
                                          "--recordings", str(tmp_path / "client")))
        processes.append(join)
        assert first.wait_for(lambda text: '"beat"' in text, WAIT_S) is not None, first.finish(5)
        saved_states = list(state_folder().glob("*.json"))
        assert len(saved_states) == 1 and stat.S_IMODE(saved_states[0].stat().st_mode) == 0o600
        assert _saved_position(saved_states[0]), "the host should save how far its recording goes"
        for _ in range(BEATS_AFTER_SAVE):  # and record more than it saved, to be killed in the middle of it
            assert first.wait_for(lambda text: '"beat"' in text, WAIT_S) is not None, first.finish(5)
        first.process.send_signal(signal.SIGKILL)
        assert first.finish(WAIT_S)[0] == -signal.SIGKILL

        second = LinePrinter(remote_command("host", "--rejoin", "--relay", relay.url, "--json",
                                            "--recordings", str(recordings)))
        processes.append(second)
        code, host_lines, err = second.finish(4 * WAIT_S)
        assert code == 0, err
        records = [json.loads(text) for text in host_lines]
        assert [r["type"] for r in records[:2]] == [LINK_EVENT, "rejoined"]  # shown before what was held
        assert records[-1]["type"] == "saved" and records[-1]["end_reason"] == "the client ended the session"
        assert records[-1]["rejected"] == {} and records[-1]["gaps"] == 0
        assert records[-1]["confirmed"] and records[-1]["sharing"] == "raw"  # the consent as it was followed
        join_code, join_lines, join_err = join.finish(4 * WAIT_S)
        assert join_code == 0, join_err
        ended = json.loads(join_lines[-1])
        assert ended["type"] == "ended" and ended["delivered"]
    finally:
        for process in processes:
            if process.process.poll() is None:
                process.process.kill()

    assert list(state_folder().glob("*.json")) == []  # the session ended normally: its keys are off the disk
    later = Path(records[-1]["path"])
    earlier = next(p for p in recordings.glob(f"*{SUFFIX}") if p != later)
    assert read_session(later).manifest["continues"] == earlier.name
    rejoined = [e for e in read_session(later).events if isinstance(e, TimelineEvent) and e.kind == LINK_EVENT]
    assert [(e.data["side"], e.data["state"]) for e in rejoined][:1] == [("practitioner", "rejoined")]
    clock = [e.data for e in read_session(later).events if isinstance(e, TimelineEvent) and e.kind == CLOCK_EVENT]
    assert any(d["samples"] for d in clock), "the client answers the rejoined host's pings (numbered past the old ones)"
    before, after, client = _rows(earlier), _rows(later), _rows(Path(ended["saved"]))
    assert before and after, "the kill should fall mid-session"
    duplicated = set(before) & set(after)  # committed by the first host after its last saved position
    assert set(before) | set(after) == set(client)
    assert len(before) + len(after) - len(duplicated) == len(client)  # each row once per file, none lost
    assert after[:len(duplicated)] == [row for row in before if row in duplicated]  # only the overlap at the join
    assert len(duplicated) < len(before), "the rejoined host should go on from its saved position, not the start"
    print(f"rows: {len(before)} + {len(after)} with {len(duplicated)} in both = {len(client)}")


def test_rejoining_a_session_the_relay_no_longer_holds_says_so_clearly(relay: LocalRelay, tmp_path: Path) -> None:
    keys = SessionKeys("practitioner", secrets.token_bytes(32), secrets.token_bytes(32), secrets.token_bytes(16),
                       "otter lantern quartz")
    state = HostState(relay.url, keys, Hello(new_subject(), "up", "down"), "earlier.somasession", 0.0, 1e12)
    saved = tmp_path / "state.json"
    save_state(saved, state)
    rejoin = LinePrinter(remote_command("host", "--rejoin", str(saved), "--relay", relay.url,
                                        "--recordings", str(tmp_path / "host")))
    code, lines, err = rejoin.finish(WAIT_S)
    assert code == 5 and GONE_TEXT in err and "Traceback" not in err
    assert not list((tmp_path / "host").glob(f"*{SUFFIX}"))  # no empty recording left behind
    assert not os.path.exists(saved)  # it can never be rejoined: a later --rejoin does not find it again
