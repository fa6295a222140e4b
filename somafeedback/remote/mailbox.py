"""The message exchange pairing runs over: a tiny protocol any transport can implement.

The relay transport (NATS) implements :class:`Mailbox` for one side of one pairing subject;
:func:`memory_mailbox_pair` connects two sides in memory (tests, and anything that wants a
transport-free loopback). Both run on the asyncio loop that awaits them.
"""

from __future__ import annotations

import asyncio
from typing import Protocol


class Mailbox(Protocol):
    """One side of an ordered, possibly lossy exchange of whole messages with one peer."""

    async def send(self, data: bytes) -> None:
        """Deliver ``data`` to the peer (as one message)."""
        ...

    async def receive(self, timeout_s: float) -> bytes:
        """The peer's next message; raises :class:`TimeoutError` after ``timeout_s`` seconds of
        the loop's time (session time on a :class:`~somafeedback.clock.SessionEventLoop`)."""
        ...


class MemoryMailbox:
    """One end of an in-memory pair; ``sent`` keeps every message this end sent (for inspection)."""

    def __init__(self) -> None:
        self._inbox: asyncio.Queue[bytes] = asyncio.Queue()
        self.peer: MemoryMailbox | None = None
        self.sent: list[bytes] = []

    async def send(self, data: bytes) -> None:
        if self.peer is None:
            raise RuntimeError("this mailbox is not connected to a peer")
        self.sent.append(bytes(data))
        self.peer._inbox.put_nowait(bytes(data))

    async def receive(self, timeout_s: float) -> bytes:
        return await asyncio.wait_for(self._inbox.get(), timeout=max(0.0, timeout_s))

    def pending(self) -> int:
        """Messages delivered to this end and not yet received."""
        return self._inbox.qsize()


def memory_mailbox_pair() -> tuple[MemoryMailbox, MemoryMailbox]:
    """Two connected mailboxes: what one sends, the other receives, in order."""
    first, second = MemoryMailbox(), MemoryMailbox()
    first.peer, second.peer = second, first
    return first, second
