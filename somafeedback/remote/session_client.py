"""The client's end of a remote session: :class:`RemoteClient` (see :mod:`.session` for the whole picture).

Loop: the asyncio loop that ran ``pair``; the sink methods (and ``marker``) may be called from any thread.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from somafeedback.clock import Clock
from somafeedback.devices.events import Notification, SourceEvent

from .channel import MessageRejected, SecureChannel
from .clock_sync import answer_ping
from .codes import PairingCode, PairingError, parse_code
from .consent import DEFAULT_REQUEST, PRACTITIONER, Consent, ConsentError, SharingLevel
from .errors import RelayUnavailable
from .messages import (
    DOWN_TYPES, EXTENSION_CLOCK_SYNC, EXTENSION_CONSENT, ClientEnded, Extension, Hello, Marker, Message, MessageError, SessionEnded,
    decode, encode,
)
from .pairing import PROTOCOL, STEP_TIMEOUT_S, SessionKeys, pair_as_client
from .relay_mailbox import RelayMailbox
from .session_control import check_level, consent_items, link_event, shareable
from .session_side import DRAIN_TIMEOUT_S, HELLO_TIMEOUT_S, PUBLISH_RETRY_S, SessionSide, kind_name
from .transport import LinkEvent as RelayLinkEvent
from .transport import RelayLink


def requested_level(hello: Hello) -> SharingLevel:
    """The level a hello asks for; one this version does not know reads as the usual request."""
    try:
        return SharingLevel(hello.requested)
    except ValueError:
        return DEFAULT_REQUEST


class RemoteClient(SessionSide):
    """The client's side: ``pair(code)``, ``confirm``, then a thread-safe StrapSink; ``end`` sends what is left.

    ``consent`` filters what leaves; without one, pairing sets it to ``Consent(requested)`` for the level the
    practitioner's hello asks for (:attr:`requested`; the client may then ``choose`` another); ``record``
    receives the client's own ``remote-consent`` and ``remote-link`` events (on this side's loop) for the
    client's recording. At ``state`` and ``metrics`` feed it the client's derived items as well
    (:class:`~.derived.ClientDerived` with ``send=submit``): they leave only at those levels, the strap's
    notifications only at ``beats`` and ``raw``. Raises :class:`~.consent.ConsentError` for an unknown level.
    """

    def __init__(self, link: RelayLink, *, consent: Consent | None = None,
                 record: Callable[[SourceEvent], None] | None = None,
                 on_down: Callable[[Message], None] | None = None, clock: Clock | None = None) -> None:
        super().__init__(link, clock)
        self.consent = consent if consent is not None else Consent()
        self._follow_request = consent is None  # the consent starts from what the practitioner asks for
        self.requested: SharingLevel | None = None  # the level the practitioner asked for, once paired
        if consent is not None:
            check_level(self.consent.level)
        self.record = record
        self.on_down = on_down
        self.on_extension(EXTENSION_CLOCK_SYNC, self._answer_ping)
        self.on_extension(EXTENSION_CONSENT, self._practitioner_asks)
        self.session_ended = asyncio.Event()  # the practitioner ended the session
        self.end_reason: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: deque[tuple[str, bytes]] = deque()
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._publisher: asyncio.Task[None] | None = None
        self._ending = False
        self._early: list[Message] = []

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
        self.requested = requested_level(hello)
        if self._follow_request:
            self.consent = Consent(self.requested)
        self.stream = await self.link.open_stream(hello.session_subject)
        self._loop = asyncio.get_running_loop()
        self._drained.set()
        self._publisher = asyncio.create_task(self._publish())
        self.link.listen(self._link_changed)
        for early in self._early:
            self._enqueue(early)
        self._early.clear()
        await self._start_reading(hello.down_channel, DOWN_TYPES)
        return self.keys

    # -- consent (the client's loop) ----------------------------------------------------------------
    def choose(self, level: SharingLevel | str, reason: str = "") -> None:
        """Share ``level`` from the next item on (e.g. from ``metrics`` to ``raw``: notifications instead of
        derived items)."""
        self._consent_changed(self.consent.choose(check_level(level), reason=reason))

    def confirm(self, reason: str = "") -> None:
        """The client agrees to the level shown: sharing starts."""
        self._consent_changed(self.consent.confirm(reason=reason))

    def pause(self, reason: str = "") -> None:
        self._consent_changed(self.consent.pause(reason=reason))

    def resume(self, reason: str = "") -> None:
        self._consent_changed(self.consent.resume(reason=reason))

    def stop_sharing(self, reason: str = "") -> None:
        self._consent_changed(self.consent.stop(reason=reason))

    def _consent_changed(self, data: dict[str, object] | None) -> None:
        """Record a change here and send it, with its client time, to the practitioner."""
        if data is None:
            return
        event, extension = consent_items(data, self.clock.now_ns(), self.clock.wall_time())
        if self.record is not None:
            self.record(event)
        self._enqueue(extension)

    def _practitioner_asks(self, message: Extension) -> None:
        """The practitioner pauses, resumes or stops sharing: applied here (the client's consent decides) and
        reported back like any change; a request the consent refuses is counted."""
        change = {"pause": self.consent.pause, "resume": self.consent.resume, "stop": self.consent.stop}.get(
            str(message.data.get("request")))
        if change is None:
            self.stats.rejected["consent"] += 1
            return
        try:
            self._consent_changed(change(by=PRACTITIONER, reason=str(message.data.get("reason", ""))))
        except ConsentError:
            self.stats.rejected["consent"] += 1

    def _answer_ping(self, message: Extension) -> None:
        received_at = self.clock.now()
        pong = answer_ping(message.data, received_at, self.clock)
        if pong is not None:
            self._enqueue(Extension(EXTENSION_CLOCK_SYNC, pong))

    def _link_changed(self, change: RelayLinkEvent) -> None:
        """The client's relay link lost or back: a ``remote-link`` event, recorded here and queued in order."""
        event = link_event(change.kind, self.clock.now_ns(), self.clock.wall_time())
        if event is None:
            return
        if self.record is not None:
            self.record(event)
        self._enqueue(event)

    # -- StrapSink (any thread) ------------------------------------------------------------------
    def notification(self, notification: Notification) -> None:
        self.submit(notification)

    def event(self, event: SourceEvent) -> None:
        self.submit(event)

    def marker(self, text: str) -> None:
        """A client marker at this moment of the client's clock."""
        self.submit(Marker(text, self.clock.now_ns(), self.clock.wall_time()))

    def submit(self, message: Message) -> None:
        """Queue an up message (any thread); it is sealed on the client's loop, in the order given (on that
        loop itself at once, so it keeps its place beside consent changes made there)."""
        if self._loop is None:
            raise RuntimeError("pair first: there is no session to send to")
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is self._loop:
            self._enqueue(message)
        else:
            self._loop.call_soon_threadsafe(self._enqueue, message)

    def _enqueue(self, message: Message) -> None:
        if self.channel is None and not self._ending:
            self._early.append(message)  # a consent choice made before pairing: sent once paired
            return
        if self._ending or self.channel is None:
            self.stats.rejected["after-end"] += 1
            return
        shared = shareable(self.consent, message, self.stats.withheld)
        if shared is None:
            return
        self._queue.append((kind_name(shared), self.channel.seal(encode(shared))))
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
