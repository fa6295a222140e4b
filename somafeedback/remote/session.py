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

**Consent.** The client holds a :class:`~.consent.Consent`: every up item passes ``consent.allows``
when it is queued (a ``state`` event through ``shared_event_data``); before the client confirms, while
paused and after stop only control items (the end, extensions, ``remote-*`` events) leave. Each change is
recorded on the client (``record``) and sent as an ``EXTENSION_CONSENT`` extension carrying the event and
its client time; the host follows it on its copy and hands the same ``remote-consent`` event to its sink.
The practitioner pauses, resumes or stops with ``ask_sharing``: the client applies it and reports back.
Levels below ``beats`` (``metrics``, ``state``) need the client to send derived items: not yet.

**Clock alignment.** The host pings every ``clock_every_s`` of its clock (:class:`~.clock_sync.ClockSync`);
the client answers (:func:`~.clock_sync.answer_ping`); each estimate is a ``remote-clock`` event in the
host's sink (on the host's clock).

**The client's link.** When the client's relay link is lost and back, the client records a
``remote-link`` event (``state`` lost/back, on its clock) and queues it in order with everything else: the
practitioner sees the pair where it happened, followed by what was held. Nothing is missing after the
catch-up, so no gap is marked (the two recordings stay identical).

**The practitioner's side restarting.** A host whose program stopped mid-session comes back with
``resume(state)`` (:class:`~.host_state.HostState`, kept on disk by a :class:`~.host_state.StateKeeper`
while the session runs): the same keys and stream, the up channel followed from just after what its
recording holds, down messages numbered past any it may have sealed. The client needs no change: its
publisher keeps storing on the stream meanwhile; it sees only a skip in the down channel's numbers.

Modules: :class:`RemoteHost` here, :class:`~.session_client.RemoteClient` in ``session_client`` (also
importable from here), what both share in ``session_side``, the consent and link helpers in ``session_control``.

Loop: each object belongs to the asyncio loop that ran ``pair``; the client's sink methods (and
``marker``) may be called from any thread (a strap loop running in session time, for instance).
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Final

from somafeedback.clock import Clock
from somafeedback.devices.events import GapEvent, LinkEvent, Notification, StrapInfo, StrapSink, TimelineEvent

from .channel import SecureChannel
from .clock_sync import CLOCK_EVENT, PING_EVERY_S, ClockSync
from .codes import DEFAULT_INVITATION_LIFETIME_S, Invitation, PairingCode
from .consent import DEFAULT_REQUEST, Consent, ConsentError, SharingLevel
from .errors import RelayUnavailable
from .host_state import HostState, SessionGone, rejoined_event, restore_consent
from .messages import (
    DOWN_TYPES, EXTENSION_CLOCK_SYNC, EXTENSION_CONSENT, UP_TYPES, ClientEnded, Extension, Hello, Marker, Message,
    SessionEnded, encode,
)
from .pairing import STEP_TIMEOUT_S, SessionKeys, pair_as_practitioner
from .relay_mailbox import RelayMailbox
from .session_client import RemoteClient
from .session_control import followed_consent
from .session_side import END_WAIT_S, RemoteStats, SessionSide, kind_name
from .stream import STREAM_MAX_AGE_S, StoredMessage
from .transport import RelayLink, new_subject

__all__ = ["RemoteClient", "RemoteHost", "RemoteStats"]

MIN_PING_WAIT_S: Final = 0.05  # s the pinger waits at least between two looks at the clock


class RemoteHost(SessionSide):
    """The practitioner's side: ``invite`` (the code), ``pair``, ``run`` (until the client ends), ``end``."""

    def __init__(self, link: RelayLink, sink: StrapSink, *, clock: Clock | None = None,
                 lifetime_s: float = DEFAULT_INVITATION_LIFETIME_S, requested: SharingLevel = DEFAULT_REQUEST,
                 clock_every_s: float | None = PING_EVERY_S) -> None:
        super().__init__(link, clock)
        self.sink = sink
        self.consent = Consent(requested)  # the practitioner's copy, following the client's changes
        self.clock_sync = None if clock_every_s is None else ClockSync(self.clock, clock_every_s)
        self._pinger: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()
        self.on_extension(EXTENSION_CONSENT, self._on_consent)
        self.on_extension(EXTENSION_CLOCK_SYNC, self._on_pong)
        self.lifetime_s = lifetime_s
        self.invitation: Invitation | None = None
        self.mailbox: RelayMailbox | None = None
        self.client_ended = asyncio.Event()
        self.end_reason: str | None = None
        self.up_position = 0  # stream sequence of the last up message opened (and so handed on): see host_state

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
            self.hello = Hello(new_subject(), secrets.token_hex(8), secrets.token_hex(8),
                               requested=str(self.consent.requested))
            await self.mailbox.send(self.channel.seal(encode(self.hello)))
            self.stats.sent[kind_name(self.hello)] += 1
        finally:
            await self.mailbox.close()
        self.stream = await self.link.open_stream(self.hello.session_subject)
        await self._start_reading(self.hello.up_channel, UP_TYPES)
        self._start_pinging()
        return self.keys

    async def resume(self, state: HostState) -> None:
        """Come back to the paired session ``state`` describes (this program stopped mid-session): follow the
        up channel from just after the last message recorded, number down messages on from the saved
        reservation, take up the consent as last followed and restart the clock pings; the sink gets a
        ``remote-link`` event (side practitioner, state rejoined) before anything the client sent meanwhile. Raises
        :class:`~.host_state.SessionGone` when the relay no longer holds the stream or the state is older
        than the stream keeps messages, :class:`~.errors.RelayError` when the relay cannot be reached."""
        if self.clock.wall_time() - state.saved_wall > STREAM_MAX_AGE_S:
            raise SessionGone("it was left more than the relay keeps a session's messages")
        stream = await self.link.existing_stream(state.hello.session_subject)
        if stream is None:
            raise SessionGone("the relay no longer holds it")
        self.keys, self.hello, self.stream = state.keys, state.hello, stream
        self.channel = SecureChannel(state.keys, next_seq=state.down_next_seq)
        self.channel.opener.next_expected = state.up_next_expected  # what came before is in the earlier recording
        self.up_position = state.up_position
        restore_consent(self.consent, state.consent)
        self.sink.event(rejoined_event(self.clock.now_ns(), self.clock.wall_time()))  # before what was held
        if self.clock_sync is not None:
            self.clock_sync = ClockSync(self.clock, self.clock_sync.every_s, first_id=state.next_ping_id)
        await self._start_reading(state.hello.up_channel, UP_TYPES, state.up_position + 1)
        self._start_pinging()

    def _start_pinging(self) -> None:
        if self.clock_sync is not None:
            self._pinger = asyncio.create_task(self._ping(self.clock_sync))

    def _open(self, stored: StoredMessage, allowed: tuple[type, ...]) -> Message | None:
        """As the shared reader does, noting the stream position first (a resumed host goes on from it)."""
        self.up_position = stored.sequence
        return super()._open(stored, allowed)

    def _on_consent(self, message: Extension) -> None:
        """The client's consent change: follow it and record the client's own event (same row on both sides)."""
        try:
            event = followed_consent(self.consent, message.data)
        except ConsentError:
            self.stats.rejected["consent"] += 1
            return
        self.sink.event(event)

    def _on_pong(self, message: Extension) -> None:
        received_at = self.clock.now()
        if self.clock_sync is not None:
            self._record_clock(self.clock_sync.on_pong(message.data, received_at))

    def _record_clock(self, data: dict[str, object]) -> None:
        self.sink.event(TimelineEvent(CLOCK_EVENT, self.clock.now_ns(), self.clock.wall_time(), data))

    async def _ping(self, sync: ClockSync) -> None:
        """Send a clock ping whenever one is due (on this side's clock); a silent client shows as events."""
        while True:
            ping = sync.ping_if_due()
            if ping is not None:
                try:
                    await self.send(Extension(EXTENSION_CLOCK_SYNC, ping))
                except RelayUnavailable:
                    pass  # counted as unanswered at the next ping
                if sync.silent:
                    self._record_clock(sync.report())
            await asyncio.sleep(max(sync.seconds_until_due(), MIN_PING_WAIT_S))

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

    async def ask_sharing(self, request: str, reason: str = "") -> None:
        """Ask the client's side to ``pause``, ``resume`` (what the practitioner paused) or ``stop`` sharing; the
        change shows (and :attr:`consent` follows) when the client's ``remote-consent`` event comes back."""
        if request not in ("pause", "resume", "stop"):
            raise ValueError("the practitioner may pause, resume or stop sharing")
        await self.send(Extension(EXTENSION_CONSENT, {"request": request, "reason": reason}))

    async def send(self, message: Message) -> int:
        """Seal and store a down message (a cue, pacer settings, an extension); its stream sequence number."""
        if not isinstance(message, DOWN_TYPES) or self.channel is None or self.stream is None:
            raise ValueError("only a paired host sends cues, pacer settings, extensions and the end")
        assert self.hello is not None
        async with self._send_lock:  # sealed and stored in the same order (the pinger sends too)
            number = await self.stream.publish(self.hello.down_channel, self.channel.seal(encode(message)))
        self.stats.sent[kind_name(message)] += 1
        return number

    async def end(self, reason: str = "the practitioner ended the session") -> None:
        """Tell the client (unless they ended it), wait a bounded time for their last messages, delete the stream."""
        if self._pinger is not None:
            self._pinger.cancel()
            await asyncio.gather(self._pinger, return_exceptions=True)
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
