"""A session's JetStream stream on the relay: messages kept across short outages, read on from a sequence number.

:class:`SessionStream` is made by :meth:`~.transport.RelayLink.open_stream`: one stream per
session, named after the random session subject, holding ``SESSION_SUBJECT.>`` in file storage,
bounded in age (:data:`STREAM_MAX_AGE_S`) and size (:data:`STREAM_MAX_BYTES`, oldest dropped
first), deleted when the session ends. Why JetStream: see the ``transport`` module.

**Stored once.** A publish whose acknowledgement was lost (the link dropped just after the relay
stored it) is tried again by the sender. Each sealed message is published with a message id
(``Nats-Msg-Id``: its channel and its sealed sequence number, :func:`message_id`), and the stream
refuses an id it has seen within :data:`DUPLICATE_WINDOW_S`: the retry is acknowledged with the first
copy's sequence number and stored once.

Loop: the one that connected the link.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.js.api import ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

from .channel import sealed_sequence
from .errors import RelayError, RelayUnavailable

REQUEST_TIMEOUT_S: Final = 5.0  # s a request or a JetStream call waits for its answer
STREAM_MAX_AGE_S: Final = 2 * 3600.0  # s a session stream keeps a message
STREAM_MAX_BYTES: Final = 64 * 1024 * 1024  # bytes a session stream keeps at most (oldest dropped first)
DUPLICATE_WINDOW_S: Final = 600.0  # s the relay remembers message ids to store a retried publish once
MESSAGE_ID_HEADER: Final = "Nats-Msg-Id"
HEARTBEAT_S: Final = 1.0  # s between a follower's idle heartbeats (missed ones: the consumer is recreated)


@dataclass(frozen=True)
class StoredMessage:
    """One message of a session stream: its stream sequence number (from 1), subject and bytes."""

    sequence: int
    subject: str
    data: bytes


def message_id(channel: str, data: bytes) -> str | None:
    """The de-duplication id of a sealed message: ``channel.seq`` (None for bytes too short to be sealed)."""
    sequence = sealed_sequence(data)
    return None if sequence is None else f"{channel}.{sequence}"


def stream_name(session_subject: str) -> str:
    """The JetStream stream name for a session subject (stream names cannot hold dots)."""
    return "s-" + session_subject.replace(".", "-")


class SessionStream:
    """A per-session JetStream stream holding ``SESSION_SUBJECT.>`` (file storage, bounded in age and size).

    :meth:`publish` returns each message's sequence number once the relay has stored it;
    :meth:`follow` reads from a sequence number on, stored messages first, then new ones as they
    come. Channels (the last subject token) should be random too (:func:`new_subject`'s token).
    """

    def __init__(self, client: Client, session_subject: str) -> None:
        self.session_subject = session_subject
        self.name = stream_name(session_subject)
        self._js = client.jetstream(timeout=REQUEST_TIMEOUT_S)

    def subject(self, channel: str) -> str:
        return f"{self.session_subject}.{channel}"

    async def create(self, max_age_s: float, max_bytes: int) -> None:
        config = StreamConfig(name=self.name, subjects=[self.subject(">")], max_age=max_age_s, max_bytes=max_bytes,
                              storage=StorageType.FILE, duplicate_window=min(DUPLICATE_WINDOW_S, max_age_s))
        try:
            await self._js.add_stream(config)
        except (nats.errors.Error, asyncio.TimeoutError) as error:
            raise RelayError(f"the relay could not keep this session's messages (JetStream): {error}") from error

    async def publish(self, channel: str, data: bytes) -> int:
        """Store ``data`` (sealed) on ``channel``; the stream sequence number (the first copy's for a message
        already stored). :class:`RelayUnavailable` while the link is down."""
        identity = message_id(channel, data)
        headers = None if identity is None else {MESSAGE_ID_HEADER: identity}
        try:
            ack = await self._js.publish(self.subject(channel), data, stream=self.name, headers=headers)
        except (nats.errors.Error, asyncio.TimeoutError) as error:
            raise RelayUnavailable("the relay did not confirm a message: the link may be down") from error
        return ack.seq

    async def last_sequence(self) -> int:
        """The sequence number of the newest stored message (0 when none)."""
        info = await self._js.stream_info(self.name)
        return info.state.last_seq

    async def exists(self) -> bool:
        """Whether the relay still holds this stream."""
        try:
            await self._js.stream_info(self.name)
        except nats.js.errors.NotFoundError:
            return False
        return True

    async def follow(self, from_sequence: int = 1, channel: str | None = None) -> StreamFollower:
        """Messages from ``from_sequence`` on (of ``channel`` only, when given), in order, then new ones live."""
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=max(1, from_sequence))
        subject = self.subject(channel) if channel is not None else self.subject(">")
        try:
            subscription = await self._js.subscribe(subject, stream=self.name, config=config, ordered_consumer=True,
                                                    idle_heartbeat=HEARTBEAT_S)
        except (nats.errors.Error, asyncio.TimeoutError) as error:
            raise RelayUnavailable("the relay could not deliver this session's messages now") from error
        return StreamFollower(subscription)

    async def delete(self) -> None:
        """Delete the stream and what it holds (the session ended); an already deleted one is fine."""
        try:
            await self._js.delete_stream(self.name)
        except nats.js.errors.NotFoundError:
            pass
        except (nats.errors.Error, asyncio.TimeoutError) as error:
            raise RelayUnavailable("the relay could not delete this session's messages now") from error


class StreamFollower:
    """A session stream read in order: ``await follower.next(timeout_s)`` or ``async for message in follower``."""

    def __init__(self, subscription: NatsSubscription) -> None:
        self._subscription = subscription

    @staticmethod
    def _stored(message: Msg) -> StoredMessage:
        return StoredMessage(message.metadata.sequence.stream, message.subject, message.data)

    async def next(self, timeout_s: float) -> StoredMessage:
        try:
            return self._stored(await self._subscription.next_msg(timeout=timeout_s))
        except nats.errors.TimeoutError:
            raise TimeoutError(f"no message within {timeout_s} s") from None

    def __aiter__(self) -> AsyncIterator[StoredMessage]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[StoredMessage]:
        async for message in self._subscription.messages:
            yield self._stored(message)

    async def close(self) -> None:
        try:
            await self._subscription.unsubscribe()
        except (nats.errors.Error, nats.js.errors.Error):
            pass
