"""Consent, clock alignment and the client's link outages wired into a remote session (issue #17).

Every test runs a real nats-server on a free loopback port with its own store, stopped in a finalizer.
Every wait is bounded and waits on an event (a message arriving, a link event), never on a sleep.
The client's outage is made by a cuttable TCP proxy between the client and the relay: only the
client's link drops, the practitioner's stays up.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from somafeedback.devices.gatt_uuids import HEART_RATE_MEASUREMENT, POLAR_PMD_DATA
from somafeedback.devices.events import Notification, SourceEvent, TimelineEvent
from somafeedback.remote.clock_sync import CLOCK_EVENT
from somafeedback.remote.consent import CONSENT_EVENT, LINK_EVENT, Consent, SharingLevel
from somafeedback.remote.messages import Cue
from somafeedback.remote.relay import LocalRelay, RelayConfig
from somafeedback.remote.session import RemoteClient, RemoteHost
from somafeedback.remote.transport import LinkEvent, RelayLink, shown_url
from somafeedback.sessions.file import read_session

WAIT_S = 30.0  # s any single wait may take before the test fails


class Ordered:
    """A StrapSink keeping notifications and events in one list, in arrival order; ``changed`` at each."""

    def __init__(self) -> None:
        self.items: list[Notification | SourceEvent] = []
        self.changed = asyncio.Event()

    def notification(self, notification: Notification) -> None:
        self.items.append(notification)
        self.changed.set()

    def event(self, event: SourceEvent) -> None:
        self.items.append(event)
        self.changed.set()

    def notifications(self) -> list[Notification]:
        return [i for i in self.items if isinstance(i, Notification)]

    def kinds(self, kind: str) -> list[TimelineEvent]:
        return [i for i in self.items if isinstance(i, TimelineEvent) and i.kind == kind]

    async def until(self, condition: Callable[[Ordered], bool]) -> None:
        """Wait (bounded) until ``condition`` holds."""
        async def wait() -> None:
            while not condition(self):
                self.changed.clear()
                await self.changed.wait()
        await asyncio.wait_for(wait(), WAIT_S)


class CuttableProxy:
    """A TCP proxy on a fixed loopback port: ``cut`` drops every connection and refuses new ones, ``restore`` listens again."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await asyncio.wait_for(self._server.wait_closed(), WAIT_S)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    target.write(data)
                    await target.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                target.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


def _relay_port(relay: LocalRelay) -> int:
    return int(relay.url.rsplit(":", 1)[1])


async def _pair(host_url: str, client_url: str, sink: Any, consent: Consent | None = None,
                clock_every_s: float | None = None) -> tuple[RemoteHost, RemoteClient, list[SourceEvent]]:
    """A host and a client paired through the relay (the client possibly through a proxy), on this loop."""
    recorded: list[SourceEvent] = []
    host = RemoteHost(await asyncio.wait_for(RelayLink.connect(host_url), WAIT_S), sink, clock_every_s=clock_every_s)
    client = RemoteClient(await asyncio.wait_for(RelayLink.connect(client_url), WAIT_S), consent=consent,
                          record=recorded.append)
    code = await asyncio.wait_for(host.invite(), WAIT_S)
    await asyncio.wait_for(asyncio.gather(host.pair(), client.pair(str(code))), WAIT_S)
    return host, client, recorded


async def _finish(host: RemoteHost, client: RemoteClient) -> None:
    assert await asyncio.wait_for(client.end(), WAIT_S)
    assert await asyncio.wait_for(host.run(), WAIT_S) == "the client ended the session"
    await asyncio.wait_for(host.end(), WAIT_S)
    for side in (host, client):
        await side.link.close()


def _note(n: int, characteristic: str = HEART_RATE_MEASUREMENT) -> Notification:
    return Notification("strap1", characteristic, n, n * 10**9, 1.7e9 + n, bytes([n % 256]) * 8)


# -- consent -------------------------------------------------------------------------------------------

def test_nothing_but_control_flows_before_the_client_confirms(relay: LocalRelay) -> None:
    async def body() -> None:
        got = Ordered()
        host, client, recorded = await _pair(relay.url, relay.url, got)
        client.notification(_note(1))  # before confirming: withheld
        client.marker("before")
        client.confirm()
        client.notification(_note(2))
        await got.until(lambda g: len(g.notifications()) >= 1)
        await _finish(host, client)
        assert got.notifications() == [_note(2)]
        assert not any(isinstance(i, TimelineEvent) and i.kind == "marker" for i in got.items)
        assert client.stats.withheld == {"beats": 1, "status": 1}
        consent_events = got.kinds(CONSENT_EVENT)
        assert [e.data["change"] for e in consent_events] == ["confirmed"] and consent_events[0].data["level"] == "raw"
        assert consent_events == [e for e in recorded if isinstance(e, TimelineEvent)]  # the same row on both sides
        assert host.consent.confirmed and host.consent.level is SharingLevel.RAW
        assert got.items.index(consent_events[0]) < got.items.index(_note(2))

    asyncio.run(asyncio.wait_for(body(), 3 * WAIT_S))


def test_at_beats_only_heart_rate_notifications_leave_and_a_pause_holds_everything(relay: LocalRelay) -> None:
    async def body() -> None:
        got = Ordered()
        host, client, recorded = await _pair(relay.url, relay.url, got, consent=Consent(SharingLevel.BEATS))
        client.confirm()
        client.notification(_note(1))
        client.notification(_note(2, POLAR_PMD_DATA))  # raw ECG: not at beats
        client.event(TimelineEvent("pmd_started", 3, 1.7e9, {"measurement": "ecg"}, "strap1"))
        client.pause("a break")
        client.notification(_note(4))  # paused: withheld
        client.resume()
        client.notification(_note(5))
        await got.until(lambda g: len(g.notifications()) >= 2)
        await _finish(host, client)
        assert got.notifications() == [_note(1), _note(5)]
        assert client.stats.withheld == {"raw": 2, "beats": 1}
        changes = [e.data["change"] for e in got.kinds(CONSENT_EVENT)]
        assert changes == ["confirmed", "paused", "resumed"]
        assert got.kinds(CONSENT_EVENT) == recorded
        assert host.consent.level is SharingLevel.BEATS and not host.consent.paused

    asyncio.run(asyncio.wait_for(body(), 3 * WAIT_S))


def test_the_practitioner_pauses_and_resumes_and_the_client_decides(relay: LocalRelay) -> None:
    async def body() -> None:
        got = Ordered()
        host, client, recorded = await _pair(relay.url, relay.url, got)
        client.confirm()
        await host.ask_sharing("pause", "a phone call")
        await got.until(lambda g: any(e.data["change"] == "paused" for e in g.kinds(CONSENT_EVENT)))
        assert host.consent.paused and client.consent.paused_by == "practitioner"
        client.notification(_note(1))  # withheld while paused
        await host.ask_sharing("resume")
        await got.until(lambda g: any(e.data["change"] == "resumed" for e in g.kinds(CONSENT_EVENT)))
        client.notification(_note(2))
        client.pause("my turn")
        await host.ask_sharing("resume")  # the client paused: only the client resumes
        read_past = asyncio.Event()
        client.on_down = lambda _message: read_past.set()
        await host.send(Cue({"text": "after the refused request"}))
        await asyncio.wait_for(read_past.wait(), WAIT_S)  # the client has read (and refused) the request
        await got.until(lambda g: len(g.kinds(CONSENT_EVENT)) >= 4)
        await _finish(host, client)
        assert got.notifications() == [_note(2)]
        assert [(e.data["change"], e.data["by"]) for e in got.kinds(CONSENT_EVENT)] == [
            ("confirmed", "client"), ("paused", "practitioner"), ("resumed", "practitioner"), ("paused", "client")]
        assert got.kinds(CONSENT_EVENT) == recorded
        assert client.stats.rejected["consent"] == 1 and host.consent.paused_by == "client"

    asyncio.run(asyncio.wait_for(body(), 3 * WAIT_S))


# -- clock alignment -------------------------------------------------------------------------------------

def test_the_host_pings_and_records_each_estimate(relay: LocalRelay) -> None:
    async def body() -> None:
        got = Ordered()
        host, client, _recorded = await _pair(relay.url, relay.url, got, clock_every_s=0.2)
        await got.until(lambda g: len(g.kinds(CLOCK_EVENT)) >= 3)
        await _finish(host, client)
        estimates = got.kinds(CLOCK_EVENT)
        assert all(e.data["offset_s"] is not None for e in estimates)
        last = estimates[-1].data  # one machine, one clock: the true offset is 0, within the stated bound
        assert abs(last["offset_s"]) <= last["uncertainty_s"] + 0.025
        assert client.stats.sent["Extension"] >= 3 and host.stats.sent["Extension"] >= 3

    asyncio.run(asyncio.wait_for(body(), 3 * WAIT_S))


# -- the client's link drops -------------------------------------------------------------------------------

def test_a_30_s_outage_of_the_client_loses_nothing_and_shows_as_lost_and_back(relay: LocalRelay) -> None:
    notes = [_note(n) for n in range(1, 51)]  # one a second: 10 before, 30 s during the outage, 10 after

    async def body() -> None:
        proxy = CuttableProxy(_relay_port(relay))
        await proxy.restore()
        got = Ordered()
        host, client, recorded = await _pair(relay.url, proxy.url, got)
        client.confirm()
        changes: dict[str, asyncio.Event] = {"lost": asyncio.Event(), "back": asyncio.Event()}

        def seen(event: LinkEvent) -> None:
            if event.kind in changes:
                changes[event.kind].set()

        client.link.listen(seen)
        for note in notes[:10]:
            client.notification(note)
        await got.until(lambda g: len(g.notifications()) >= 10)
        await proxy.cut()
        await asyncio.wait_for(changes["lost"].wait(), WAIT_S)
        for note in notes[10:40]:
            client.notification(note)  # 30 s of the client's session while the link is down: kept in order
        await proxy.restore()
        await asyncio.wait_for(changes["back"].wait(), WAIT_S)
        for note in notes[40:]:
            client.notification(note)
        await got.until(lambda g: len(g.notifications()) >= len(notes))
        await _finish(host, client)
        await proxy.cut()

        assert got.notifications() == notes  # every one, in order, once
        assert set(host.stats.rejected) <= {"replayed"}  # a retry the relay had stored arrives twice: refused
        links = got.kinds(LINK_EVENT)
        assert [e.data["state"] for e in links] == ["lost", "back"]
        assert links == [e for e in recorded if isinstance(e, TimelineEvent) and e.kind == LINK_EVENT]
        order = [i for i in got.items if isinstance(i, Notification) or (isinstance(i, TimelineEvent) and i.kind == LINK_EVENT)]
        assert order == [*notes[:10], links[0], *notes[10:40], links[1], *notes[40:]]
        assert client.stats.most_queued >= 1

    asyncio.run(asyncio.wait_for(body(), 6 * WAIT_S))


# -- the command line ------------------------------------------------------------------------------------

def test_join_shows_what_is_shared_and_the_host_records_it_and_the_clock(relay: LocalRelay, tmp_path: Path) -> None:
    from remote_cli import host_and_join

    hosted, joined = host_and_join(relay.url, tmp_path, "--simulate", "calm", "--speed", "max", "--duration", "30",
                                   "--share", "beats", "--json")
    assert joined.code == 0, joined.err
    assert hosted.code == 0, hosted.err
    host_lines, join_lines = hosted.lines, joined.lines
    client_records = [json.loads(text) for text in join_lines]
    consent = [r for r in client_records if r["type"] == "consent"]
    assert consent and consent[0]["level"] == "beats" and "not the raw heart signal" in consent[0]["shares"]
    records = [json.loads(text) for text in host_lines]
    assert any(r["type"] == CONSENT_EVENT and r["level"] == "beats" and r["change"] == "confirmed" for r in records)
    assert any(r["type"] == CLOCK_EVENT for r in records)
    assert any(r["type"] == "beat" for r in records)
    saved = records[-1]
    assert saved["type"] == "saved" and saved["sharing"] == "beats" and saved["confirmed"]
    host_rows = read_session(saved["path"])
    client_rows = read_session(client_records[-1]["saved"])
    assert host_rows.notifications == [n for n in client_rows.notifications if n.characteristic == HEART_RATE_MEASUREMENT]
    assert host_rows.notifications
    host_consent = [e for e in host_rows.events if isinstance(e, TimelineEvent) and e.kind == CONSENT_EVENT]
    client_consent = [e for e in client_rows.events if isinstance(e, TimelineEvent) and e.kind == CONSENT_EVENT]
    assert host_consent == client_consent  # the practitioner asked for raw: the client chose beats, then confirmed
    assert [e.data["change"] for e in client_consent] == ["chose", "confirmed"]


def test_a_login_in_the_relay_address_is_never_shown_or_recorded() -> None:
    assert shown_url("tls://soma:s3cret@relay.example:4222") == "tls://soma:***@relay.example:4222"
    assert shown_url("nats://tok3n@relay.example:4222") == "nats://***@relay.example:4222"
    assert shown_url("nats://127.0.0.1:4222") == "nats://127.0.0.1:4222"


def test_a_refused_connection_names_the_relay_without_its_password() -> None:
    from somafeedback.remote.errors import RelayError

    async def body() -> None:
        with pytest.raises(RelayError) as error:
            await RelayLink.connect("nats://soma:s3cret-pw@127.0.0.1:1", timeout_s=3.0)
        assert "s3cret-pw" not in str(error.value) and "soma:***@127.0.0.1:1" in str(error.value)

    asyncio.run(asyncio.wait_for(body(), WAIT_S))
