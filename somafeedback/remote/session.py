"""A remote session end to end: :class:`RemoteHost` (the practitioner) and :class:`RemoteClient` (the client).

The host makes an invitation (the code to read out), pairs over the relay mailbox, seals a
:class:`~.messages.Hello` naming a fresh random session subject and two random channel names, opens
that session's stream and follows the *up* channel from sequence 1: every message is opened by the
sealed channel (catch-up allowed, so a range the relay redelivers after an outage is accepted once),
decoded, and handed to a :class:`~somafeedback.devices.events.StrapSink`, the same interface a strap
or a replay feeds: the analysis, the recorder and the printer take the client as a local strap. The
client's strap keeps its own id (``strap1``...): a recording of either side holds the same rows.

The client pairs with the code, opens the hello, and is then a ``StrapSink`` itself: each
notification and event is encoded, sealed once and queued in order; a publisher stores them on the
stream one by one and, while the link is down, keeps them (never re-sealed) and tries again, so a
short outage loses nothing. *Down* messages (cues, pacer settings, the session's end) go to a callback.

Extensions (:class:`~.messages.Extension`) are the hook for the clock-offset exchange and the sharing
levels: register a handler per name with ``on_extension``; an unknown name is counted, not an error.

Loop: each object belongs to the asyncio loop that ran ``pair``; the client's sink methods (and
``marker``) may be called from any thread (a strap loop running in session time, for instance).
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from somafeedback.clock import Clock, SystemClock
from somafeedback.devices.events import GapEvent, LinkEvent, Notification, SourceEvent, StrapInfo, StrapSink, TimelineEvent

from .channel import MessageRejected, SecureChannel
from .codes import DEFAULT_INVITATION_LIFETIME_S, Invitation, PairingCode, PairingError, parse_code
from .errors import RelayUnavailable
from .messages import (
    DOWN_TYPES, UP_TYPES, ClientEnded, Extension, Hello, Marker, Message, MessageError, SessionEnded, decode, encode,
)
from .pairing import PROTOCOL, STEP_TIMEOUT_S, SessionKeys, pair_as_client, pair_as_practitioner
from .relay_mailbox import RelayMailbox
from .stream import SessionStream, StoredMessage, StreamFollower
from .transport import RelayLink, new_subject

HELLO_TIMEOUT_S: Final = 10.0  # s the client waits for the hello once paired
END_WAIT_S: Final = 10.0  # s the host waits for the client to confirm the end before deleting the stream
DRAIN_TIMEOUT_S: Final = 30.0  # s the client may take to hand its queued messages to the relay at the end
PUBLISH_RETRY_S: Final = 1.0  # s between attempts to store a message while the link is down
STOP_READING_S: Final = 5.0  # s a cancelled reader has to finish

ExtensionHandler = Callable[[Extension], None]


@dataclass
class RemoteStats:
    """What one side counted: messages by kind, rejections by reason, sequence gaps, publish retries."""

    sent: Counter[str] = field(default_factory=Counter)
    received: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    gaps: int = 0  # sealed sequence numbers skipped (a message the stream no longer had)
    recovered: int = 0  # skipped numbers that arrived later
    retries: int = 0  # publish attempts that failed (the link was down) and were tried again
    most_queued: int = 0  # the longest the client's send queue got (messages held during an outage)


def kind_name(message: Message) -> str:
    return type(message).__name__


class _Side:
    """What host and client share: the sealed channel, the stream, reading one channel of it."""

    def __init__(self, link: RelayLink, clock: Clock | None) -> None:
        self.link = link
        self.clock = clock or SystemClock()
        self.stats = RemoteStats()
        self.keys: SessionKeys | None = None
        self.channel: SecureChannel | None = None
        self.stream: SessionStream | None = None
        self.hello: Hello | None = None
        self._extensions: dict[str, ExtensionHandler] = {}
        self._reader: asyncio.Task[None] | None = None
        self._follower: StreamFollower | None = None

    def on_extension(self, name: str, handler: ExtensionHandler) -> None:
        """Hand :class:`Extension` messages called ``name`` to ``handler`` (on this side's loop)."""
        self._extensions[name] = handler

    def _extension(self, message: Extension) -> None:
        handler = self._extensions.get(message.name)
        if handler is None:
            self.stats.rejected["unhandled-extension"] += 1
        else:
            handler(message)

    def _open(self, stored: StoredMessage, allowed: tuple[type, ...]) -> Message | None:
        """The message in one stored item, or None (counted) when it is refused."""
        assert self.channel is not None
        try:
            opened = self.channel.open(stored.data, catch_up=True)
            message = decode(opened.plain)
        except MessageRejected as error:
            self.stats.rejected[error.reason.value] += 1
            return None
        except MessageError:
            self.stats.rejected["undecodable"] += 1
            return None
        finally:
            self.stats.gaps, self.stats.recovered = self.channel.stats.gaps, self.channel.stats.recovered
        if not isinstance(message, allowed):
            self.stats.rejected["wrong-direction"] += 1
            return None
        self.stats.received[kind_name(message)] += 1
        return message

    async def _start_reading(self, channel: str, allowed: tuple[type, ...]) -> None:
        """Follow ``channel`` from sequence 1 (set up here, so a cancel never lands inside nats-py's subscribe)."""
        assert self.stream is not None
        self._follower = await self.stream.follow(1, channel=channel)
        self._reader = asyncio.create_task(self._read(self._follower, allowed))

    async def _read(self, follower: StreamFollower, allowed: tuple[type, ...]) -> None:
        async for stored in follower:
            message = self._open(stored, allowed)
            if message is not None and self._dispatch(message):
                return

    def _dispatch(self, message: Message) -> bool:
        """Act on one message; True when it ends the reading."""
        raise NotImplementedError

    async def _stop_reading(self) -> None:
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
            await asyncio.wait({self._reader}, timeout=STOP_READING_S)  # bounded, whatever nats-py does with a cancel
        if self._follower is not None:
            await self._follower.close()


class RemoteHost(_Side):
    """The practitioner's side: ``invite`` (the code), ``pair``, ``run`` (until the client ends), ``end``."""

    def __init__(self, link: RelayLink, sink: StrapSink, *, clock: Clock | None = None,
                 lifetime_s: float = DEFAULT_INVITATION_LIFETIME_S) -> None:
        super().__init__(link, clock)
        self.sink = sink
        self.lifetime_s = lifetime_s
        self.invitation: Invitation | None = None
        self.mailbox: RelayMailbox | None = None
        self.client_ended = asyncio.Event()
        self.end_reason: str | None = None

    async def invite(self) -> PairingCode:
        """A fresh code, with the meeting subject already listened on (so the client may join at once)."""
        self.invitation = Invitation.create(self.clock, self.lifetime_s)
        self.mailbox = await RelayMailbox.open(self.link, self.invitation.code, "practitioner")
        return self.invitation.code

    async def pair(self, wait_for_client_s: float | None = None, step_timeout_s: float = STEP_TIMEOUT_S) -> SessionKeys:
        """Pair with the client who typed the code, send the hello, start following the up channel.
        Raises :class:`~.codes.PairingError` or :class:`~.errors.RelayError` (each in words)."""
        if self.invitation is None or self.mailbox is None:
            await self.invite()
        assert self.invitation is not None and self.mailbox is not None
        try:
            self.keys = await pair_as_practitioner(self.mailbox, self.invitation, wait_for_client_s=wait_for_client_s,
                                                   step_timeout_s=step_timeout_s)
            self.channel = SecureChannel(self.keys)
            self.hello = Hello(new_subject(), secrets.token_hex(8), secrets.token_hex(8))
            await self.mailbox.send(self.channel.seal(encode(self.hello)))
            self.stats.sent[kind_name(self.hello)] += 1
        finally:
            await self.mailbox.close()
        self.stream = await self.link.open_stream(self.hello.session_subject)
        await self._start_reading(self.hello.up_channel, UP_TYPES)
        return self.keys

    def _dispatch(self, message: Message) -> bool:
        if isinstance(message, Notification):
            self.sink.notification(message)
        elif isinstance(message, Marker):
            self.sink.event(message.as_event())
        elif isinstance(message, ClientEnded):
            self.end_reason = message.reason
            self.client_ended.set()
            return True
        elif isinstance(message, Extension):
            self._extension(message)
        elif isinstance(message, (LinkEvent, GapEvent, StrapInfo, TimelineEvent)):
            self.sink.event(message)
        return False

    async def run(self) -> str:
        """Pass on what the client sends until they end the session; their reason. A failing sink raises here."""
        assert self._reader is not None, "pair first"
        ended = asyncio.ensure_future(self.client_ended.wait())
        try:
            await asyncio.wait({self._reader, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
        if self._reader.done() and not self._reader.cancelled() and (error := self._reader.exception()) is not None:
            raise error
        if not self.client_ended.is_set():
            return "the session's stream ended before the client said goodbye"
        return self.end_reason or "the client ended the session"

    async def send(self, message: Message) -> int:
        """Seal and store a down message (a cue, pacer settings, an extension); its stream sequence number."""
        if not isinstance(message, DOWN_TYPES) or self.channel is None or self.stream is None:
            raise ValueError("only a paired host sends cues, pacer settings, extensions and the end")
        assert self.hello is not None
        number = await self.stream.publish(self.hello.down_channel, self.channel.seal(encode(message)))
        self.stats.sent[kind_name(message)] += 1
        return number

    async def end(self, reason: str = "the practitioner ended the session") -> None:
        """Tell the client (unless they ended it), wait a bounded time for their last messages, delete the stream."""
        if self.stream is None:
            if self.mailbox is not None:
                await self.mailbox.close()
            return
        if not self.client_ended.is_set():
            self.end_reason = reason
            try:
                await self.send(SessionEnded(reason))
                await asyncio.wait_for(self.client_ended.wait(), END_WAIT_S)
            except (RelayUnavailable, TimeoutError):
                pass  # the client will not hear it: the stream expires by itself
        await self._stop_reading()
        try:
            await self.stream.delete()
        except RelayUnavailable:
            pass  # bounded in age and size on the relay: it goes by itself


class RemoteClient(_Side):
    """The client's side: ``pair(code)``, then a thread-safe StrapSink; ``end`` sends what is left and says so."""

    def __init__(self, link: RelayLink, *, on_down: Callable[[Message], None] | None = None,
                 clock: Clock | None = None) -> None:
        super().__init__(link, clock)
        self.on_down = on_down
        self.session_ended = asyncio.Event()  # the practitioner ended the session
        self.end_reason: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: deque[tuple[str, bytes]] = deque()
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._publisher: asyncio.Task[None] | None = None
        self._ending = False

    async def pair(self, code: PairingCode | str, step_timeout_s: float = STEP_TIMEOUT_S,
                   hello_timeout_s: float = HELLO_TIMEOUT_S) -> SessionKeys:
        """Pair with ``code`` (typed text is fine), open the hello and the stream. Raises
        :class:`~.codes.PairingError` or :class:`~.errors.RelayError` (each in words)."""
        code = parse_code(code) if isinstance(code, str) else code
        mailbox = await RelayMailbox.open(self.link, code, "client")
        try:
            self.keys = await pair_as_client(mailbox, code, step_timeout_s=step_timeout_s)
            self.channel = SecureChannel(self.keys)
            try:
                hello = decode(self.channel.open(await mailbox.receive(hello_timeout_s)).plain)
            except (TimeoutError, MessageRejected, MessageError):
                raise PairingError("paired, but your practitioner's session did not start: ask them for a new code",
                                   PROTOCOL) from None
        finally:
            await mailbox.close()
        if not isinstance(hello, Hello):
            raise PairingError("paired, but your practitioner's session did not start: ask them for a new code", PROTOCOL)
        self.hello = hello
        self.stats.received[kind_name(hello)] += 1
        self.stream = await self.link.open_stream(hello.session_subject)
        self._loop = asyncio.get_running_loop()
        self._drained.set()
        self._publisher = asyncio.create_task(self._publish())
        await self._start_reading(hello.down_channel, DOWN_TYPES)
        return self.keys

    # -- StrapSink (any thread) ------------------------------------------------------------------
    def notification(self, notification: Notification) -> None:
        self.submit(notification)

    def event(self, event: SourceEvent) -> None:
        self.submit(event)

    def marker(self, text: str) -> None:
        """A client marker at this moment of the client's clock."""
        self.submit(Marker(text, self.clock.now_ns(), self.clock.wall_time()))

    def submit(self, message: Message) -> None:
        """Queue an up message (any thread); it is sealed on the client's loop, in the order given."""
        if self._loop is None:
            raise RuntimeError("pair first: there is no session to send to")
        self._loop.call_soon_threadsafe(self._enqueue, message)

    def _enqueue(self, message: Message) -> None:
        if self._ending or self.channel is None:
            self.stats.rejected["after-end"] += 1
            return
        self._queue.append((kind_name(message), self.channel.seal(encode(message))))
        self.stats.most_queued = max(self.stats.most_queued, len(self._queue))
        self._drained.clear()
        self._wake.set()

    async def _publish(self) -> None:
        """Store queued messages in order; while the link is down, keep them and try again."""
        assert self.stream is not None and self.hello is not None
        while True:
            while not self._queue:
                self._drained.set()
                self._wake.clear()
                await self._wake.wait()
            kind, sealed = self._queue[0]
            try:
                await self.stream.publish(self.hello.up_channel, sealed)
            except RelayUnavailable:
                self.stats.retries += 1  # a retry the relay had stored arrives twice: refused as a replay
                await asyncio.sleep(PUBLISH_RETRY_S)
                continue
            self._queue.popleft()
            self.stats.sent[kind] += 1

    def _dispatch(self, message: Message) -> bool:
        if isinstance(message, Extension) and message.name in self._extensions:
            self._extension(message)
            return False
        if isinstance(message, SessionEnded):
            self.end_reason = message.reason
            self.session_ended.set()
        if self.on_down is not None:
            self.on_down(message)
        return isinstance(message, SessionEnded)

    async def end(self, reason: str = "the client ended the session", timeout_s: float = DRAIN_TIMEOUT_S) -> bool:
        """Send what is queued and the end (bounded by ``timeout_s``); True when the relay has it all."""
        if self._publisher is None:
            return True
        await self._stop_reading()
        self._enqueue(ClientEnded(reason))
        self._ending = True
        try:
            await asyncio.wait_for(self._drained.wait(), timeout_s)
            delivered = True
        except TimeoutError:
            delivered = False
        self._publisher.cancel()
        await asyncio.gather(self._publisher, return_exceptions=True)
        return delivered
