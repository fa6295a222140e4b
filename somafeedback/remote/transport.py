"""The link to a relay (any NATS server) that pairing and the remote session use, over nats-py.

:meth:`RelayLink.connect` reaches a relay (``nats://`` or ``tls://``; user/password, token or a
credentials file). A garbage URL, a refused login or an unreachable relay gives one
:class:`~.errors.RelayError` in words, within :data:`CONNECT_TIMEOUT_S`. Once connected, the link
publishes bytes on a subject, subscribes to one (an async iterator, or a callback), and can make a
request/reply. :func:`new_subject` makes random subject names (``secrets.token_hex``).

**What the relay can see**: subject names (random, meaning nothing), message sizes and timing,
and the connecting accounts. It never sees plaintext: the crypto helper seals every payload
before it reaches this module, which carries opaque bytes.

**Why JetStream**: a client's internet drops for seconds to a minute. Core NATS delivers only to
whoever is listening at that moment, so a per-session JetStream stream (:class:`SessionStream`,
file storage, named after the random session subject; in ``stream``) keeps every message the relay accepted; a
peer coming back reads on from the last sequence number it saw, with nothing lost or duplicated.
The stream is bounded (:data:`STREAM_MAX_AGE_S`, 2 h, and :data:`STREAM_MAX_BYTES`, 64 MiB) so an
abandoned session cannot fill the relay's disk, and it is deleted when the session ends.

**Reconnection**: nats-py reconnects by itself (for ever, every :data:`RECONNECT_WAIT_S`; the
session decides when to give up). The link reports ``lost`` and ``back`` as :class:`LinkEvent`\\ s
on :attr:`RelayLink.events` (an asyncio queue) and to an optional callback, for the session to show.

Thread/loop: a link belongs to the asyncio loop that connected it; callbacks run on that loop.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal
from urllib.parse import urlsplit

import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription

from somafeedback.clock import Clock, SystemClock

from .errors import RelayError, RelayUnavailable
from .stream import REQUEST_TIMEOUT_S, STREAM_MAX_AGE_S, STREAM_MAX_BYTES, SessionStream

CONNECT_TIMEOUT_S: Final = 5.0  # s to reach a relay before saying it cannot be reached
ATTEMPT_TIMEOUT_S: Final = 2  # s one connection attempt may take (nats-py takes whole seconds)
RECONNECT_WAIT_S: Final = 1  # s between reconnection attempts (nats-py takes whole seconds)
SUBJECT_PREFIX: Final = "sf"
SCHEMES: Final = ("nats", "tls")
URL_HINT: Final = "it should look like nats://host:4222 or tls://host:4222"

_log = logging.getLogger(__name__)


def new_subject(prefix: str = SUBJECT_PREFIX) -> str:
    """A random subject name (128 bits) that tells the relay nothing."""
    return f"{prefix}.{secrets.token_hex(16)}"


@dataclass(frozen=True)
class RelayAuth:
    """How to log in to the relay: nothing, user and password, a token, or a NATS credentials file."""

    user: str | None = None
    password: str | None = None
    token: str | None = None
    credentials: Path | None = None
    tls_ca: Path | None = None  # a CA file that signed the relay's TLS certificate (a clinic's own)


@dataclass(frozen=True)
class LinkEvent:
    """The relay link went ``lost``, came ``back``, or was ``closed`` for good; ``at`` is clock time (s)."""

    kind: Literal["lost", "back", "closed"]
    at: float
    message: str


def check_url(url: str) -> str:
    """``url`` when it names a relay (nats:// or tls://, a host, a valid port); else :class:`RelayError`."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise RelayError(f"{url!r} is not a relay address: {URL_HINT}") from None
    if parts.scheme not in SCHEMES or not parts.hostname or parts.path not in ("", "/") or port == 0:
        raise RelayError(f"{url!r} is not a relay address: {URL_HINT}")
    return url.strip()


def _hopeless(error: BaseException) -> bool:
    """A first connection failing like this will fail the same way again (the login, the certificate)."""
    return (isinstance(error, (nats.errors.AuthorizationError, ssl.SSLCertVerificationError))
            or "authorization" in str(error).lower())


def shown_url(url: str) -> str:
    """``url`` as it may be shown, logged or recorded: a password (``nats://user:secret@host``) or a token
    (``nats://token@host``) in it is replaced by ``***``."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    login = "***" if parts.password is None else f"{parts.username}:***"
    return parts._replace(netloc=f"{login}@{host}").geturl()


def _words(error: BaseException | None, url: str) -> str:
    """What a failed connection attempt means, for the practitioner (never with the password)."""
    url = shown_url(url)
    if isinstance(error, nats.errors.AuthorizationError) or "authorization" in str(error).lower():
        return f"the relay at {url} did not accept the login: check the user and password, token or credentials file"
    if isinstance(error, ssl.SSLError):
        return f"the relay at {url} could not be reached securely (TLS): check its certificate and the tls:// address"
    if isinstance(error, ConnectionRefusedError):
        return f"nothing answers at {url}: check the address and that the relay is running"
    if isinstance(error, OSError) and error.errno is not None and "name" in str(error).lower():
        return f"the relay's host name in {url} is not known: check the address"
    return f"the relay at {url} could not be reached within {CONNECT_TIMEOUT_S:.0f} s: check the address and the network"


class RelayLink:
    """One connection to a relay (see the module docstring). Loop: the one that connected it."""

    def __init__(self, url: str, client: Client, clock: Clock, on_event: Callable[[LinkEvent], None] | None) -> None:
        self.url = url
        self.events: asyncio.Queue[LinkEvent] = asyncio.Queue()
        self._client = client
        self._clock = clock
        self._on_event = on_event
        self._listeners: list[Callable[[LinkEvent], None]] = []
        self._closing = False
        self._up = False  # set once connected; then False during an outage
        self._errors: list[BaseException] = []
        self._refused = asyncio.Event()  # set when retrying a first connection cannot help

    @classmethod
    async def connect(cls, url: str, auth: RelayAuth | None = None, *, clock: Clock | None = None,
                      on_event: Callable[[LinkEvent], None] | None = None,
                      timeout_s: float = CONNECT_TIMEOUT_S) -> RelayLink:
        """Connect to the relay at ``url``; raises one :class:`RelayError` within ``timeout_s`` when it cannot."""
        url = check_url(url)
        auth = auth or RelayAuth()
        if auth.credentials is not None and not Path(auth.credentials).is_file():
            raise RelayError(f"the credentials file {auth.credentials} does not exist")
        tls: ssl.SSLContext | None = None
        if auth.tls_ca is not None:
            try:
                tls = ssl.create_default_context(cafile=str(auth.tls_ca))
            except (OSError, ssl.SSLError) as error:
                raise RelayError(f"the certificate authority file {auth.tls_ca} could not be read") from error
        link = cls(url, Client(), clock or SystemClock(), on_event)
        connecting = asyncio.ensure_future(link._client.connect(
            url, error_cb=link._on_error, disconnected_cb=link._on_disconnected, reconnected_cb=link._on_reconnected,
            closed_cb=link._on_closed, connect_timeout=ATTEMPT_TIMEOUT_S, reconnect_time_wait=RECONNECT_WAIT_S,
            max_reconnect_attempts=-1, user=auth.user, password=auth.password, token=auth.token, tls=tls,
            user_credentials=str(auth.credentials) if auth.credentials is not None else None))
        refused = asyncio.ensure_future(link._refused.wait())
        try:
            await asyncio.wait({connecting, refused}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
            failed = not connecting.done() or connecting.cancelled() or connecting.exception() is not None
        except BaseException:  # the caller gave up: leave nothing running
            failed = True
            raise
        finally:
            refused.cancel()
            if failed:
                link._closing = True  # no "closed" event for a link that never was
                connecting.cancel()
                await asyncio.gather(connecting, return_exceptions=True)
                await _abandon(link._client)
        if failed:
            failure = connecting.exception() if not connecting.cancelled() else None
            hopeless = [error for error in link._errors if _hopeless(error)]  # what closing it raised says less
            raise RelayError(_words((hopeless or link._errors)[-1] if link._errors else failure, url))
        link._up = True
        return link

    async def _on_error(self, error: Exception) -> None:
        """nats-py's error callback: a refused login or certificate ends a first connection at once."""
        self._errors.append(error)
        if not self._up and _hopeless(error):
            self._refused.set()
        _log.debug("relay link: %s", error)

    async def _on_disconnected(self) -> None:
        self._changed("lost")

    async def _on_reconnected(self) -> None:
        self._changed("back")

    async def _on_closed(self) -> None:
        self._changed("closed")

    def _changed(self, kind: Literal["lost", "back", "closed"]) -> None:
        """nats-py's callbacks, as events: ``lost`` once per outage, ``back`` once after it; none for our own close."""
        if self._closing:
            return
        if kind == "lost":
            if not self._up:  # a failed first connection, or the same outage again
                return
            self._up = False
            message = "relay link lost: reconnecting"
        elif kind == "back":
            if self._up:
                return
            self._up = True
            message = "relay link back"
        else:
            self._up = False
            message = "relay link closed: the relay could not be reached again"
        event = LinkEvent(kind, self._clock.now(), message)
        self.events.put_nowait(event)
        if self._on_event is not None:
            self._on_event(event)
        for listener in list(self._listeners):
            listener(event)

    def listen(self, listener: Callable[[LinkEvent], None]) -> None:
        """Also hand every lost/back/closed event to ``listener`` (on this link's loop), beside :attr:`events`."""
        self._listeners.append(listener)

    @property
    def connected(self) -> bool:
        return self._client.is_connected

    async def publish(self, subject: str, data: bytes) -> None:
        """Send ``data`` on ``subject`` (core NATS: to whoever listens now; kept in nats-py's buffer while
        reconnecting)."""
        try:
            await self._client.publish(subject, data)
        except nats.errors.Error as error:
            raise RelayUnavailable(f"the message could not be sent to the relay: {error}") from error

    async def flush(self, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        """Return once the relay has everything sent so far (e.g. a new subscription is in place).

        Twice: nats-py 2.16 writes a flush's PING straight to the socket, ahead of commands still in its
        buffer (a subscription just made), so the first PONG may come before the relay has them; by then its
        flusher has written them, and the second PING follows them on the same connection.
        """
        try:
            for _ in range(2):
                await self._client.flush(timeout=max(1, round(timeout_s)))
        except (nats.errors.Error, asyncio.TimeoutError) as error:
            raise RelayUnavailable(f"the relay did not answer within {timeout_s:.0f} s") from error

    async def subscribe(self, subject: str, on_message: Callable[[bytes], Awaitable[None]] | None = None) -> Inbox:
        """Receive what is published on ``subject`` once this returns (the relay has the subscription): iterate
        the returned :class:`Inbox`, or give ``on_message`` (called on the link's loop, one message at a time)."""
        callback = None
        if on_message is not None:
            handler = on_message

            async def callback(message: Msg) -> None:
                await handler(message.data)

        inbox = Inbox(await self._client.subscribe(subject, cb=callback))
        await self.flush()
        return inbox

    async def request(self, subject: str, data: bytes, timeout_s: float = REQUEST_TIMEOUT_S) -> bytes:
        """Send ``data`` and return the first reply; :class:`RelayUnavailable` when none comes in ``timeout_s``."""
        try:
            reply = await self._client.request(subject, data, timeout=timeout_s)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError, asyncio.TimeoutError) as error:
            raise RelayUnavailable(f"no answer through the relay within {timeout_s:.0f} s") from error
        return reply.data

    async def reply(self, message_subject: str, data: bytes) -> None:
        """Answer a request (its reply subject, as :class:`Inbox` hands it)."""
        await self.publish(message_subject, data)

    async def open_stream(self, session_subject: str, max_age_s: float = STREAM_MAX_AGE_S,
                          max_bytes: int = STREAM_MAX_BYTES) -> SessionStream:
        """The session's JetStream stream (created, or the existing one on rejoin); see :class:`SessionStream`."""
        stream = SessionStream(self._client, session_subject)
        await stream.create(max_age_s, max_bytes)
        return stream

    async def existing_stream(self, session_subject: str) -> SessionStream | None:
        """The session's stream when the relay still holds it (a host resuming a session), else None; never creates one."""
        stream = SessionStream(self._client, session_subject)
        try:
            return stream if await stream.exists() else None
        except (nats.errors.Error, asyncio.TimeoutError) as error:
            raise RelayUnavailable("the relay did not answer whether it still holds this session") from error

    async def close(self) -> None:
        """Send what is buffered and disconnect (no ``lost`` event for it)."""
        self._closing = True
        await _abandon(self._client, flush=True)

    async def __aenter__(self) -> RelayLink:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


async def _abandon(client: Client, flush: bool = False) -> None:
    """Close ``client`` (bounded), whatever state it is in."""
    try:
        if flush and client.is_connected:
            await asyncio.wait_for(client.flush(), REQUEST_TIMEOUT_S)
    except (asyncio.TimeoutError, nats.errors.Error):
        pass
    try:
        await asyncio.wait_for(client.close(), REQUEST_TIMEOUT_S)
    except (asyncio.TimeoutError, nats.errors.Error, OSError):
        pass


class Inbox:
    """Messages on one subject, as bytes: ``async for data in inbox`` or ``await inbox.next(timeout_s)``."""

    def __init__(self, subscription: NatsSubscription) -> None:
        self._subscription = subscription
        self.reply_to: str | None = None  # the reply subject of the last message (for requests)

    async def next(self, timeout_s: float) -> bytes:
        """The next message; :class:`TimeoutError` after ``timeout_s``."""
        try:
            message = await self._subscription.next_msg(timeout=timeout_s)
        except nats.errors.TimeoutError:
            raise TimeoutError(f"no message within {timeout_s} s") from None
        self.reply_to = message.reply or None
        return message.data

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        async for message in self._subscription.messages:
            self.reply_to = message.reply or None
            yield message.data

    async def close(self) -> None:
        try:
            await self._subscription.unsubscribe()
        except nats.errors.Error:
            pass
