"""The remote session's wire details: the level the practitioner asks for travels in the hello (old
hellos read as raw), a sealed message published twice is stored once, and the local relay's pid."""

from __future__ import annotations

import asyncio
import json
import os
import secrets

import pytest

from somafeedback.remote.channel import CLIENT_TO_PRACTITIONER, Sealer
from somafeedback.remote.consent import SharingLevel
from somafeedback.remote.messages import KIND_HELLO, MESSAGE_VERSION, Hello, decode, encode
from somafeedback.remote.relay import LocalRelay
from somafeedback.remote.session import RemoteClient, RemoteHost
from somafeedback.remote.transport import RelayLink, new_subject

WAIT_S = 20.0  # s any single step may take before the test fails


class _Nothing:
    def notification(self, notification: object) -> None:
        pass

    def event(self, event: object) -> None:
        pass


def test_the_hello_carries_the_requested_level_and_an_old_hello_reads_as_raw() -> None:
    hello = Hello("sf.abc", "u1", "d1", requested="beats")
    assert decode(encode(hello)) == hello
    old = bytes([MESSAGE_VERSION, KIND_HELLO]) + json.dumps({"subject": "sf.abc", "up": "u1", "down": "d1",
                                                             "protocol": 1}).encode()
    assert decode(old) == Hello("sf.abc", "u1", "d1", 1, "raw")


@pytest.mark.parametrize(("asked", "chosen"), [(SharingLevel.BEATS, None), (SharingLevel.RAW, SharingLevel.BEATS)])
def test_the_client_learns_what_the_practitioner_asks_for_and_may_choose_less(
        relay: LocalRelay, asked: SharingLevel, chosen: SharingLevel | None) -> None:
    async def body() -> None:
        host = RemoteHost(await RelayLink.connect(relay.url), _Nothing(), requested=asked, clock_every_s=None)
        client = RemoteClient(await RelayLink.connect(relay.url))
        code = await host.invite()
        await asyncio.gather(host.pair(), client.pair(str(code)))
        assert client.requested is asked and client.consent.requested is asked and client.consent.level is asked
        if chosen is not None:
            client.choose(chosen)
        client.confirm()
        await client.end()
        assert await host.run() == "the client ended the session"
        assert host.consent.confirmed and host.consent.level is (chosen or asked)
        assert host.consent.events[-1]["requested"] == str(asked)
        await host.end()
        for side in (host, client):
            await side.link.close()

    asyncio.run(asyncio.wait_for(body(), 3 * WAIT_S))


def test_a_sealed_message_published_twice_is_stored_once(relay: LocalRelay) -> None:
    async def body() -> None:
        link = await RelayLink.connect(relay.url)
        try:
            stream = await link.open_stream(new_subject())
            sealer = Sealer(secrets.token_bytes(32), secrets.token_bytes(16), CLIENT_TO_PRACTITIONER)
            first, second = sealer.seal(b"one"), sealer.seal(b"two")
            assert await stream.publish("up", first) == 1
            assert await stream.publish("up", first) == 1  # a retry after a lost acknowledgement
            assert await stream.last_sequence() == 1
            assert await stream.publish("up", second) == 2
            assert await stream.publish("down", first) == 3  # the same number on another channel is another message
            follower = await stream.follow(1, channel="up")
            assert [(await follower.next(WAIT_S)).data for _ in range(2)] == [first, second]
            with pytest.raises(TimeoutError):
                await follower.next(0.5)
            await follower.close()
            await stream.delete()
        finally:
            await link.close()

    asyncio.run(asyncio.wait_for(body(), 3 * WAIT_S))


def test_the_local_relay_names_its_process_while_it_runs(relay: LocalRelay) -> None:
    pid = relay.pid
    assert isinstance(pid, int) and pid != os.getpid()
    os.kill(pid, 0)  # the nats-server is alive
    relay.stop()
    assert relay.pid is None
