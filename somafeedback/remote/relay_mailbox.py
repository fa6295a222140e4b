"""The pairing :class:`~.mailbox.Mailbox` over a relay: both sides meet on ``relay_subject(code)``.

Each direction has its own sub-subject (``<meeting>.p``: what the practitioner sends, ``<meeting>.c``:
what the client sends) and each side subscribes only to the other's, so nobody reads their own
messages back. Core NATS (not the stream): pairing messages matter only while both sides listen, and
the practitioner subscribes before the code is shown, the client before it sends its hello.

A link problem while sending becomes one :class:`~.errors.RelayError` in words; ``receive`` raises
:class:`TimeoutError` as the protocol asks. Loop: the one that connected the link.
"""

from __future__ import annotations

import asyncio
from typing import Final, Literal

from .codes import PairingCode, relay_subject
from .errors import RelayError, RelayUnavailable
from .transport import Inbox, RelayLink

FROM_PRACTITIONER: Final = "p"
FROM_CLIENT: Final = "c"

Side = Literal["practitioner", "client"]


class RelayMailbox:
    """One side of a pairing over ``link`` on ``meeting_subject`` (use :meth:`open`)."""

    def __init__(self, link: RelayLink, meeting_subject: str, side: Side, inbox: Inbox) -> None:
        self.link = link
        self.meeting_subject = meeting_subject
        self.side = side
        self._inbox = inbox
        mine = FROM_PRACTITIONER if side == "practitioner" else FROM_CLIENT
        self._outgoing = f"{meeting_subject}.{mine}"
        self.sent = 0
        self.received = 0

    @classmethod
    async def open(cls, link: RelayLink, code: PairingCode, side: Side) -> RelayMailbox:
        """Subscribe to the peer's sub-subject of ``code``'s meeting subject (the scrypt runs on a worker thread)."""
        subject = await asyncio.to_thread(relay_subject, code)
        theirs = FROM_CLIENT if side == "practitioner" else FROM_PRACTITIONER
        try:
            inbox = await link.subscribe(f"{subject}.{theirs}")
        except RelayUnavailable as error:
            raise RelayError(f"the relay did not answer while getting ready to pair ({error}): "
                             "check the network and try again") from error
        return cls(link, subject, side, inbox)

    async def send(self, data: bytes) -> None:
        try:
            await self.link.publish(self._outgoing, data)
            await self.link.flush()
        except RelayUnavailable as error:
            raise RelayError("the link to the relay was lost while pairing: check the network, then pair again "
                             "with a new code") from error
        self.sent += 1

    async def receive(self, timeout_s: float) -> bytes:
        data = await self._inbox.next(max(0.001, timeout_s))
        self.received += 1
        return data

    async def close(self) -> None:
        """Stop listening on the meeting subject (the code is spent either way)."""
        await self._inbox.close()
