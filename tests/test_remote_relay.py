"""The local relay (a real nats-server on 127.0.0.1) and the transport over it (issue #17's foundation).

Every server is started on a free loopback port with its own store and stopped in a finalizer;
every wait is bounded and waits on an event (a message, a link event, a printed line).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import os
import signal
import socket
import stat
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from process_lines import LinePrinter

from somafeedback.remote.errors import RelayError
from somafeedback.remote.relay import LocalRelay, RelayConfig
from somafeedback.remote.transport import LinkEvent, RelayAuth, RelayLink, new_subject

WAIT_S = 20.0  # s any single wait may take before the test fails
TEST_S = 90.0  # s a whole async test may take


def run(body: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(body(), TEST_S))


async def within(awaitable: Awaitable[Any]) -> Any:
    return await asyncio.wait_for(awaitable, WAIT_S)


@pytest.fixture
def relays(tmp_path: Path) -> Iterator[Callable[..., LocalRelay]]:
    """Starts relays (RelayConfig fields as keywords; store defaults to tmp_path/store); stops them all at the end."""
    started: list[LocalRelay] = []

    def start(**settings: Any) -> LocalRelay:
        settings.setdefault("store", tmp_path / "store")
        relay = LocalRelay(RelayConfig(**settings))
        started.append(relay)
        return relay.start()

    yield start
    for relay in started:
        relay.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_bytes_go_through_the_relay_and_nothing_listens_beyond_loopback(relays: Callable[..., LocalRelay]) -> None:
    relay = relays()
    assert relay.url.startswith("nats://127.0.0.1:")
    payload = bytes(range(256)) * 4

    async def body() -> None:
        async with await within(RelayLink.connect(relay.url)) as sender, await within(RelayLink.connect(relay.url)) as receiver:
            subject = new_subject()
            inbox = await receiver.subscribe(subject)
            await sender.publish(subject, payload)
            assert await inbox.next(WAIT_S) == payload
            received: asyncio.Queue[bytes] = asyncio.Queue()
            other = new_subject()
            await receiver.subscribe(other, on_message=received.put)
            await sender.publish(other, b"by callback")
            assert await within(received.get()) == b"by callback"
            service = await receiver.subscribe(asked := new_subject())
            question = asyncio.ensure_future(sender.request(asked, b"ping", timeout_s=WAIT_S))
            assert await service.next(WAIT_S) == b"ping" and service.reply_to is not None
            await receiver.reply(service.reply_to, b"pong")
            assert await within(question) == b"pong"

    run(body)


def test_subjects_are_random() -> None:
    subjects = {new_subject() for _ in range(100)}
    assert len(subjects) == 100 and all(len(s.split(".")[1]) == 32 for s in subjects)


def test_the_store_folder_is_private(relays: Callable[..., LocalRelay], tmp_path: Path) -> None:
    open_store = tmp_path / "open"
    open_store.mkdir(mode=0o755)
    os.chmod(open_store, 0o755)
    for relay in (relays(), relays(store=open_store)):
        assert stat.S_IMODE(relay.store.stat().st_mode) == 0o700


def test_a_subscriber_away_catches_up_from_its_sequence_number(relays: Callable[..., LocalRelay], tmp_path: Path) -> None:
    relay = relays()

    async def body(names: list[str]) -> None:
        session = new_subject()
        async with await within(RelayLink.connect(relay.url)) as client:
            stream = await within(client.open_stream(session))
            names.append(stream.name)
            assert (tmp_path / "store" / "jetstream" / "$G" / "streams" / stream.name).is_dir()  # file storage
            async with await within(RelayLink.connect(relay.url)) as practitioner:
                seen = await within(practitioner.open_stream(session))  # the same stream, joined
                follower = await seen.follow(1)
                for n in range(3):
                    assert await within(stream.publish("up", b"beat %d" % n)) == n + 1
                first = [await follower.next(WAIT_S) for _ in range(3)]
                assert [m.data for m in first] == [b"beat 0", b"beat 1", b"beat 2"]
                await follower.close()
            # the practitioner is away: the client goes on sending
            for n in range(3, 10):
                await within(stream.publish("up", b"beat %d" % n))
            await within(stream.publish("down", b"not for the follower"))
            await within(stream.publish("up", b"sentinel"))
            async with await within(RelayLink.connect(relay.url)) as practitioner:
                seen = await within(practitioner.open_stream(session))
                follower = await seen.follow(first[-1].sequence + 1, channel="up")
                caught = []
                while not caught or caught[-1].data != b"sentinel":
                    caught.append(await follower.next(WAIT_S))
                assert [m.data for m in caught[:-1]] == [b"beat %d" % n for n in range(3, 10)]  # nothing lost or twice
                assert [m.sequence for m in caught] == [*range(4, 11), 12]
                await follower.close()
            assert await stream.exists()
            await within(stream.delete())
            assert not await stream.exists()
            await within(stream.delete())  # twice is fine

    names: list[str] = []
    run(lambda: body(names))
    streams = tmp_path / "store" / "jetstream" / "$G" / "streams"  # nats-server's layout: one folder per stream
    assert names and not (streams / names[0]).exists(), "the deleted session stream is still in the relay's store"


def test_a_relay_restart_keeps_the_stored_messages_and_is_reported(relays: Callable[..., LocalRelay]) -> None:
    relay = relays()
    port = relay.port
    seen: list[LinkEvent] = []

    async def body() -> None:
        link = await within(RelayLink.connect(relay.url, on_event=seen.append))
        try:
            stream = await within(link.open_stream(new_subject()))
            for n in range(5):
                await within(stream.publish("up", b"before %d" % n))
            live = await within(stream.follow(1))  # a follower reading along through the restart
            assert [(await live.next(WAIT_S)).sequence for _ in range(5)] == [1, 2, 3, 4, 5]
            await asyncio.to_thread(relay.stop)
            lost = await within(link.events.get())
            assert lost.kind == "lost" and "relay link lost" in lost.message
            await asyncio.to_thread(relays, port=port)  # same port, same store
            back = await within(link.events.get())
            assert back.kind == "back" and back.message == "relay link back"
            assert seen == [lost, back]
            assert await within(stream.last_sequence()) == 5
            assert await within(stream.publish("up", b"after")) == 6
            resumed = await live.next(WAIT_S)  # its consumer is recreated from where it was: nothing lost or twice
            assert (resumed.sequence, resumed.data) == (6, b"after")
            await live.close()
            follower = await within(stream.follow(1))
            data = [(await follower.next(WAIT_S)).data for _ in range(6)]
            assert data == [b"before %d" % n for n in range(5)] + [b"after"]
            await within(stream.delete())
        finally:
            await link.close()
        assert link.events.empty(), "closing the link ourselves is not reported as a lost link"

    run(body)


@pytest.mark.parametrize("url", ["not a url", "http://127.0.0.1:4222", "nats://", "nats://127.0.0.1:99999",
                                 "nats://127.0.0.1:4222/path", ""])
def test_a_garbage_url_gives_one_clear_error(url: str) -> None:
    with pytest.raises(RelayError, match="is not a relay address: it should look like nats://host:4222"):
        run(lambda: RelayLink.connect(url))


def test_an_unreachable_relay_gives_one_clear_error_in_bounded_time() -> None:
    url = f"nats://127.0.0.1:{_free_port()}"
    with pytest.raises(RelayError) as caught:
        run(lambda: RelayLink.connect(url, timeout_s=2.0))
    assert str(caught.value) == f"nothing answers at {url}: check the address and that the relay is running"


def test_a_relay_with_a_token_refuses_a_client_without_it(relays: Callable[..., LocalRelay]) -> None:
    relay = relays(token="s3cret-token")

    async def body() -> None:
        for wrong in (RelayAuth(), RelayAuth(token="guess")):  # said at once: trying again would not help
            with pytest.raises(RelayError, match="did not accept the login: check the user and password, token"):
                await RelayLink.connect(relay.url, wrong, timeout_s=WAIT_S)
        async with await within(RelayLink.connect(relay.url, RelayAuth(token="s3cret-token"))) as link:
            assert link.connected

    run(body)


def test_a_relay_with_tls(relays: Callable[..., LocalRelay], tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    relay = relays(tls_cert=cert, tls_key=key, user="clinic", password="pw-123")
    assert relay.url.startswith("tls://127.0.0.1:")

    async def body() -> None:
        with pytest.raises(RelayError, match="could not be reached securely"):  # its certificate is not trusted
            await RelayLink.connect(relay.url, RelayAuth(user="clinic", password="pw-123"), timeout_s=WAIT_S)
        with pytest.raises(RelayError, match="is not a relay address"):
            await RelayLink.connect(relay.url.replace("tls://", "https://"))
        async with await within(RelayLink.connect(relay.url, RelayAuth(user="clinic", password="pw-123", tls_ca=cert))) as link:
            inbox = await link.subscribe(subject := new_subject())
            await link.publish(subject, b"sealed elsewhere")
            assert await inbox.next(WAIT_S) == b"sealed elsewhere"

    run(body)


def test_bad_relay_settings_are_refused_in_words(tmp_path: Path) -> None:
    for config, words in ((RelayConfig(store=tmp_path, user="u"), "needs a password"),
                          (RelayConfig(store=tmp_path, user="u", password="p", token="t"), "not both"),
                          (RelayConfig(store=tmp_path, tls_cert=tmp_path / "c.pem"), "both a certificate")):
        with pytest.raises(RelayError, match=words):
            LocalRelay(config).start()


def test_a_taken_port_is_reported(relays: Callable[..., LocalRelay], tmp_path: Path) -> None:
    relay = relays()
    with pytest.raises(RelayError, match=f"port {relay.port} on 127.0.0.1 is already in use"):
        relays(port=relay.port, store=tmp_path / "other")


def test_the_relay_command_prints_its_url_and_stops(tmp_path: Path) -> None:
    printer = LinePrinter([sys.executable, "-m", "somafeedback.cli", "relay", "--json", "--duration", "2",
                           "--store", str(tmp_path / "store")])
    line = printer.wait_for(lambda text: text.startswith("{"), timeout_s=WAIT_S)
    assert line is not None, printer.finish(WAIT_S)
    url = json.loads(line)
    assert url["type"] == "relay" and url["url"].startswith("nats://127.0.0.1:")
    port = int(url["url"].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as connection:
        assert connection.recv(5) == b"INFO "
    code, _lines, stderr = printer.finish(WAIT_S)
    assert code == 0 and "relay stopped" in stderr
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=WAIT_S).close()


def test_the_relay_command_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    printer = LinePrinter([sys.executable, "-m", "somafeedback.cli", "relay", "--store", str(tmp_path / "store")])
    line = printer.wait_for(lambda text: text.startswith("relay running: give the client nats://"), timeout_s=WAIT_S)
    assert line is not None, printer.finish(WAIT_S)
    printer.process.send_signal(signal.SIGTERM)
    code, _lines, stderr = printer.finish(WAIT_S)
    assert code == 128 + signal.SIGTERM and "relay stopped" in stderr
    port = int(line.split("nats://", 1)[1].split()[0].rsplit(":", 1)[1])
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=WAIT_S).close()


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own authority (the client trusts it as its CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "somafeedback test relay")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
                   .not_valid_after(now + dt.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "relay-cert.pem", folder / "relay-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file
