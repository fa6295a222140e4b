"""The remote session end to end (issue #17): pairing over the relay, the sealed stream, the practitioner's source.

Every test runs a real nats-server on a free loopback port with its own store, stopped in a finalizer.
Every wait is bounded and waits on an event (a message arriving, a task ending), never on a sleep.
The simulated strap runs in session time at max speed on its own loop; each side's relay link runs on
a real-time loop of its own (a :class:`LoopThread`), as ``remote join`` does.
"""

from __future__ import annotations

import asyncio
import math
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nats
import pytest

from somafeedback.clock import SystemClock, run_in_session_time
from somafeedback.devices.events import Beat, Notification, SourceEvent, TimelineEvent
from somafeedback.live.analysis import LiveAnalysis
from somafeedback.live.sinks import FanOut
from somafeedback.live.sources import StrapSource, stream_straps
from somafeedback.remote import messages
from somafeedback.remote.codes import PairingCode, PairingError, generate_code
from somafeedback.remote.errors import RelayError
from somafeedback.remote.loop_thread import LoopThread
from somafeedback.remote.messages import (
    ClientEnded, Cue, Extension, Hello, Marker, MessageError, PacerSettings, SessionEnded, decode, encode,
)
from somafeedback.remote.pairing import pair_as_client
from somafeedback.remote.relay import LocalRelay, RelayConfig
from somafeedback.remote.relay_mailbox import RelayMailbox
from somafeedback.remote.session import RemoteClient, RemoteHost
from somafeedback.remote.transport import RelayLink
from somafeedback.sessions.file import SessionWriter, read_session

WAIT_S = 30.0  # s any single wait may take before the test fails
PAYLOAD = b"\x00PLAINTEXT-PAYLOAD-7f3a\xff" * 3
MARKER_TEXT = "MARKER-felt-dizzy-4242"


class Collector:
    """A StrapSink keeping what it is given; ``arrived`` is set when ``until`` says so."""

    def __init__(self, until: Callable[[Collector], bool] = lambda _c: False) -> None:
        self.notifications: list[Notification] = []
        self.events: list[SourceEvent] = []
        self.until = until
        self.arrived = threading.Event()

    def notification(self, notification: Notification) -> None:
        self.notifications.append(notification)
        if self.until(self):
            self.arrived.set()

    def event(self, event: SourceEvent) -> None:
        self.events.append(event)
        if self.until(self):
            self.arrived.set()


async def _connect(url: str) -> RelayLink:
    return await asyncio.wait_for(RelayLink.connect(url), WAIT_S)


class Received(list[Any]):
    """Down messages the client got; ``grew`` is set at each one (the test clears it)."""

    def __init__(self) -> None:
        super().__init__()
        self.grew = asyncio.Event()

    def add(self, message: Any) -> None:
        self.append(message)
        self.grew.set()


async def _paired(url: str, sink: Any) -> tuple[RemoteHost, RemoteClient, Received]:
    """A host and a client paired through the relay, each with its own link, on this loop."""
    host = RemoteHost(await _connect(url), sink)
    down = Received()
    client = RemoteClient(await _connect(url), on_down=down.add)
    code = await asyncio.wait_for(host.invite(), WAIT_S)
    host_keys, client_keys = await asyncio.wait_for(asyncio.gather(host.pair(), client.pair(str(code))), WAIT_S)
    assert host_keys.confirmation == client_keys.confirmation
    client.confirm()  # the client agrees to share (raw, the default request): nothing but control flows before
    return host, client, down


async def _close(*sides: RemoteHost | RemoteClient) -> None:
    for side in sides:
        await side.link.close()


def _control(event: SourceEvent) -> bool:
    """A session's own event (consent, clock alignment, the remote link), not one of the strap's."""
    return isinstance(event, TimelineEvent) and event.kind.startswith("remote-")


def _beats(notifications: list[Notification]) -> list[Beat]:
    analysis = LiveAnalysis(metrics=False)
    return [item for n in notifications for _strap, item in analysis.on_notification(n) if isinstance(item, Beat)]


# -- messages ----------------------------------------------------------------------------------------

def test_every_message_round_trips() -> None:
    samples: list[messages.Message] = [
        Notification("strap1", "00002a37-0000-1000-8000-00805f9b34fb", 12, 3_000_000_123, 1.7e9 + 0.25, PAYLOAD),
        TimelineEvent("contact", 5, 1.7e9, {"contact": False}, "strap1"),
        Hello("sf.abc", "u1", "d1"), Marker(MARKER_TEXT, 7, 1.7e9), ClientEnded("bye"), SessionEnded("done"),
        Cue({"text": "slow down", "exercise": "orienting"}), PacerSettings({"breaths_per_min": 6}),
        Extension(messages.EXTENSION_CLOCK_SYNC, {"t1": 1}),
    ]
    for message in samples:
        assert decode(encode(message)) == message
    notification = encode(samples[0])
    assert len(notification) < len(PAYLOAD) + 80  # binary: the payload travels as its own bytes


@pytest.mark.parametrize("garbage", [b"", b"\x01", b"\x02\x02", b"\x01\x02\x05ab", b"\x01\x03{", b"\x01\x03[]",
                                     b"\x01\x03{\"row\": [1, 2, 3, 4, 5]}", b"\x01\x63{}", b"\x01\x01" + b"[" * 5000,
                                     b"\x01\x03{\"row\": [1, null, \"link\", null, \"{\\\"state\\\": \\\"nope\\\"}\"]}"])
def test_garbage_is_one_error_type(garbage: bytes) -> None:
    with pytest.raises(MessageError):
        decode(garbage)


# -- pairing over the relay ----------------------------------------------------------------------------

def test_pairing_by_code_through_the_relay(relay: LocalRelay) -> None:
    async def body() -> None:
        host, client, _down = await _paired(relay.url, Collector())
        assert client.hello == host.hello and host.hello is not None
        assert host.hello.session_subject.startswith("sf.") and client.stats.received["Hello"] == 1
        await asyncio.wait_for(client.end(), WAIT_S)
        assert await asyncio.wait_for(host.run(), WAIT_S) == "the client ended the session"
        await asyncio.wait_for(host.end(), WAIT_S)
        assert not await host.stream.exists()  # type: ignore[union-attr]
        await _close(host, client)

    asyncio.run(asyncio.wait_for(body(), 3 * WAIT_S))


def test_a_mistyped_code_meets_nobody_and_both_sides_say_so(relay: LocalRelay) -> None:
    async def body() -> None:
        host = RemoteHost(await _connect(relay.url), Collector())
        code = await host.invite()
        wrong = generate_code()
        while wrong == code:
            wrong = generate_code()
        client = RemoteClient(await _connect(relay.url))
        outcomes = await asyncio.gather(host.pair(wait_for_client_s=2.0), client.pair(str(wrong), step_timeout_s=2.0),
                                        return_exceptions=True)
        assert all(isinstance(o, PairingError) for o in outcomes), outcomes
        assert "has not joined" in str(outcomes[0]) and "no answer from your practitioner" in str(outcomes[1])
        await _close(host, client)

    asyncio.run(asyncio.wait_for(body(), 3 * WAIT_S))


def test_a_wrong_code_on_the_meeting_subject_is_not_accepted_on_both_sides(relay: LocalRelay) -> None:
    async def body() -> None:
        host = RemoteHost(await _connect(relay.url), Collector())
        code = await host.invite()
        link = await _connect(relay.url)
        # someone on the right meeting subject with the wrong password (what a mistyped code would do if it met)
        right = await RelayMailbox.open(link, code, "client")
        guess = PairingCode(code.number % 98 + 2, code.first, code.second)
        outcomes = await asyncio.gather(host.pair(step_timeout_s=5.0), pair_as_client(right, guess, step_timeout_s=5.0),
                                        return_exceptions=True)
        assert all(isinstance(o, PairingError) and o.reason == "wrong-code" for o in outcomes), outcomes
        assert all("the code was not accepted" in str(o) for o in outcomes)
        await link.close()
        await _close(host)

    asyncio.run(asyncio.wait_for(body(), 3 * WAIT_S))


def test_an_unreachable_relay_is_one_clear_message() -> None:
    async def body() -> None:
        with pytest.raises(RelayError, match="nothing answers"):
            await RelayLink.connect("nats://127.0.0.1:1", timeout_s=3.0)

    asyncio.run(asyncio.wait_for(body(), WAIT_S))


# -- the stream ------------------------------------------------------------------------------------

def test_a_simulated_h10_arrives_byte_identical_and_recorded_alike(relay: LocalRelay, tmp_path: Path,
                                                                 threads: Callable[[], LoopThread]) -> None:
    host_thread, client_thread = threads(), threads()
    received = Collector()
    host_writer = SessionWriter(tmp_path / "host.sfs", SystemClock(), {"mode": "remote"})
    host_side: list[RemoteHost] = []

    async def start_host() -> tuple[RemoteHost, PairingCode]:
        host = RemoteHost(await _connect(relay.url), FanOut(received, host_writer))
        host_side.append(host)
        return host, await host.invite()

    host, code = host_thread.submit(start_host()).result(WAIT_S)
    host_paired = host_thread.submit(host.pair())
    down: list[Any] = []

    async def start_client() -> RemoteClient:
        client = RemoteClient(await _connect(relay.url), on_down=down.append)
        await client.pair(str(code))
        client.confirm()
        return client

    client = client_thread.submit(start_client()).result(WAIT_S)
    host_paired.result(WAIT_S)
    host_running = host_thread.submit(host.run())
    sent = Collector()

    async def strap() -> None:
        from somafeedback.clock import LoopClock

        client_writer = SessionWriter(tmp_path / "client.sfs", LoopClock(asyncio.get_running_loop()), {"mode": "remote"})
        try:
            await stream_straps(StrapSource(simulate="calm", seed=3), FanOut(sent, client_writer, client), 30.0)
        finally:
            client_writer.close("duration reached")

    run_in_session_time(strap, math.inf)
    assert client_thread.submit(client.end()).result(WAIT_S)
    assert host_running.result(WAIT_S) == "the client ended the session"
    host_thread.submit(host.end()).result(WAIT_S)
    host_writer.close("the client ended the session")

    assert len(sent.notifications) > 50
    assert received.notifications == sent.notifications  # every field: payload, seq, host_ns, wall time, strap id
    assert [e for e in received.events if not _control(e)] == sent.events
    assert _beats(received.notifications) == _beats(sent.notifications) and _beats(sent.notifications)
    assert host.stats.rejected == {} and host.stats.gaps == 0
    assert host.stats.received["Notification"] == client.stats.sent["Notification"] == len(sent.notifications)
    client_rows, host_rows = read_session(tmp_path / "client.sfs"), read_session(tmp_path / "host.sfs")
    assert client_rows.notifications == host_rows.notifications == sent.notifications
    for thread, side in ((client_thread, client), (host_thread, host)):
        thread.submit(side.link.close()).result(WAIT_S)


def test_tampered_replayed_and_garbage_messages_are_refused_and_counted(relay: LocalRelay) -> None:
    notes = [Notification("strap1", "00002a37-0000-1000-8000-00805f9b34fb", n, n * 10**9, 1.7e9 + n, PAYLOAD)
             for n in range(1, 4)]

    async def body() -> None:
        got = Collector(until=lambda c: len(c.notifications) >= 1)
        host, client, down = await _paired(relay.url, got)
        assert host.hello is not None
        client.notification(notes[0])
        await asyncio.wait_for(asyncio.to_thread(got.arrived.wait, WAIT_S), WAIT_S + 1)
        spy_link = await _connect(relay.url)
        spy = await spy_link.open_stream(host.hello.session_subject)
        first = await (await spy.follow(1, channel=host.hello.up_channel)).next(WAIT_S)
        flipped = bytearray(first.data)
        flipped[-1] ^= 1
        attacker = await nats.connect(relay.url)  # a plain NATS client: no message ids, so the relay stores each copy
        for forged in (bytes(flipped), first.data, b"junk", first.data[:5]):
            await attacker.jetstream().publish(spy.subject(host.hello.up_channel), forged, stream=spy.name)
        await attacker.jetstream().publish(spy.subject(host.hello.down_channel), first.data, stream=spy.name)  # up where down go
        await attacker.close()
        await host.send(Cue({"text": "after the forged one"}))
        await asyncio.wait_for(down.grew.wait(), WAIT_S)  # the client has read past the forged down message
        client.notification(notes[1])
        client.notification(notes[2])
        await asyncio.wait_for(client.end(), WAIT_S)
        assert await asyncio.wait_for(host.run(), WAIT_S) == "the client ended the session"
        assert got.notifications == notes
        assert host.stats.rejected == {"forged": 1, "replayed": 1, "malformed": 2}
        assert client.stats.rejected == {"direction": 1}  # an up message cannot pass for a down one
        await asyncio.wait_for(host.end(), WAIT_S)
        await spy_link.close()
        await _close(host, client)

    asyncio.run(asyncio.wait_for(body(), 3 * WAIT_S))


def test_the_relay_store_holds_no_plaintext(relay: LocalRelay, tmp_path: Path) -> None:
    async def body() -> bytes:
        got = Collector(until=lambda c: len(c.notifications) >= 1 and any(e.kind == "marker" for e in c.events
                                                                          if isinstance(e, TimelineEvent)))
        host, client, _down = await _paired(relay.url, got)
        assert host.hello is not None
        client.marker(MARKER_TEXT)
        client.notification(Notification("strap1", "00002a37-0000-1000-8000-00805f9b34fb", 1, 10**9, 1.7e9, PAYLOAD))
        await asyncio.wait_for(asyncio.to_thread(got.arrived.wait, WAIT_S), WAIT_S + 1)
        markers = [e for e in got.events if not _control(e)]
        assert isinstance(markers[0], TimelineEvent) and markers[0].data["label"] == MARKER_TEXT
        spy = await (await client.link.open_stream(host.hello.session_subject)).follow(1, channel=host.hello.up_channel)
        sealed = (await spy.next(WAIT_S)).data
        await spy.close()
        await _close(host, client)
        return sealed

    sealed = asyncio.run(asyncio.wait_for(body(), 3 * WAIT_S))
    relay.stop()  # the server writes out what it holds
    stored = b"".join(p.read_bytes() for p in (tmp_path / "store").rglob("*") if p.is_file())
    assert sealed in stored  # the sealed message is there (so the search below looks at the right bytes)
    assert MARKER_TEXT.encode() not in stored and PAYLOAD not in stored and PAYLOAD[:12] not in stored


def test_the_practitioner_ends_and_the_client_hears_it(relay: LocalRelay) -> None:
    async def body() -> None:
        host, client, down = await _paired(relay.url, Collector())
        await host.send(Cue({"text": "notice your feet"}))
        await host.send(PacerSettings({"breaths_per_min": 6}))
        ending = asyncio.ensure_future(host.end("time is up"))
        await asyncio.wait_for(client.session_ended.wait(), WAIT_S)
        assert client.end_reason == "time is up"
        assert await asyncio.wait_for(client.end(client.end_reason), WAIT_S)
        await asyncio.wait_for(ending, WAIT_S)
        assert [type(m) for m in down] == [Cue, PacerSettings, SessionEnded]
        assert host.client_ended.is_set()
        await _close(host, client)

    asyncio.run(asyncio.wait_for(body(), 3 * WAIT_S))


# -- the command line --------------------------------------------------------------------------------

def test_remote_host_and_join_end_cleanly_with_both_recordings(relay: LocalRelay, tmp_path: Path) -> None:
    import json

    from remote_cli import host_and_join

    hosted, joined = host_and_join(relay.url, tmp_path, "--simulate", "calm", "--speed", "max", "--duration", "30",
                                   "--json")
    assert joined.code == 0, joined.err
    assert hosted.code == 0, hosted.err
    host_lines, join_lines = hosted.lines, joined.lines
    records = [json.loads(text) for text in host_lines]
    assert records[0]["type"] == "code" and records[1]["type"] == "paired"
    assert any(r["type"] == "beat" for r in records) and any(r["type"] == "metrics" for r in records)
    saved = records[-1]
    assert saved["type"] == "saved" and saved["end_reason"] == "the client ended the session" and saved["rejected"] == {}
    ended = [json.loads(text) for text in join_lines][-1]
    assert ended["type"] == "ended" and ended["delivered"] and ended["saved"]
    client_rows = read_session(ended["saved"]).notifications
    assert client_rows and read_session(saved["path"]).notifications == client_rows


def test_what_the_client_sends_while_the_relay_is_down_arrives_in_order_afterwards(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = RelayConfig(port=port, store=tmp_path / "store")
    servers = [LocalRelay(config)]
    servers[0].start()
    notes = [Notification("strap1", "00002a37-0000-1000-8000-00805f9b34fb", n, n * 10**9, 1.7e9 + n, bytes([n]) * 8)
             for n in range(1, 31)]

    async def body() -> None:
        got = Collector(until=lambda c: len(c.notifications) >= 10)
        host, client, _down = await _paired(servers[0].url, got)
        for note in notes[:10]:
            client.notification(note)
        await asyncio.wait_for(asyncio.to_thread(got.arrived.wait, WAIT_S), WAIT_S + 1)
        await asyncio.to_thread(servers[0].stop)
        lost = await asyncio.wait_for(client.link.events.get(), WAIT_S)
        assert lost.kind == "lost"
        for note in notes[10:]:
            client.notification(note)  # kept in order while the relay is away
        servers.append(LocalRelay(config))
        await asyncio.to_thread(servers[-1].start)
        assert await asyncio.wait_for(client.end(), 3 * WAIT_S)
        assert await asyncio.wait_for(host.run(), 3 * WAIT_S) == "the client ended the session"
        assert got.notifications == notes
        assert set(host.stats.rejected) <= {"replayed"}  # a retry the relay had stored arrives twice: refused
        assert client.stats.most_queued >= 20  # held while the relay was away (retried if an ack timed out)
        await asyncio.wait_for(host.end(), WAIT_S)
        await _close(host, client)

    try:
        asyncio.run(asyncio.wait_for(body(), 6 * WAIT_S))
    finally:
        for server in servers:
            server.stop()
