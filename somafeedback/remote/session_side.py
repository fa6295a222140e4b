"""What both ends of a remote session share (see :mod:`.session`): the counters, the sealed channel,
following one channel of the session's stream and handing extensions to their handlers.

Loop: the asyncio loop that ran ``pair``.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from somafeedback.clock import Clock, SystemClock

from .channel import MessageRejected, SecureChannel
from .messages import Extension, Hello, Message, MessageError, decode
from .pairing import SessionKeys
from .stream import SessionStream, StoredMessage, StreamFollower
from .transport import RelayLink

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
    withheld: Counter[str] = field(default_factory=Counter)  # client: items not shared, by category


def kind_name(message: Message) -> str:
    return type(message).__name__


class SessionSide(ABC):
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

    async def _start_reading(self, channel: str, allowed: tuple[type, ...], from_sequence: int = 1) -> None:
        """Follow ``channel`` from stream sequence ``from_sequence`` (1: the start; a resumed host: just after what
        it recorded), set up here so a cancel never lands inside nats-py's subscribe."""
        assert self.stream is not None
        self._follower = await self.stream.follow(from_sequence, channel=channel)
        self._reader = asyncio.create_task(self._read(self._follower, allowed))

    async def _read(self, follower: StreamFollower, allowed: tuple[type, ...]) -> None:
        async for stored in follower:
            message = self._open(stored, allowed)
            if message is not None and self._dispatch(message):
                return

    @abstractmethod
    def _dispatch(self, message: Message) -> bool:
        """Act on one message; True when it ends the reading (each side: the host, the client)."""

    async def _stop_reading(self) -> None:
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
            await asyncio.wait({self._reader}, timeout=STOP_READING_S)  # bounded, whatever nats-py does with a cancel
        if self._follower is not None:
            await self._follower.close()
