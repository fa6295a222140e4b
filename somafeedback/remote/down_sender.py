"""The practitioner's cue and pacer events, sent down to the client as they happen.

:class:`DownSender` is an event sink for the practitioner's regulation loop: each ``cue`` or ``pacer``
event that changes the client's screen (:func:`~.downlink.down_message`) is queued and a task sends
them, in order, with :meth:`~.session.RemoteHost.send`. A relay that cannot take one now
(:class:`~.errors.RelayUnavailable`) is counted in :attr:`unavailable`, never raised: the session goes on.

Loop: the host's loop (``event`` is called there, by the sink the host feeds).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final

from somafeedback.devices.events import SourceEvent, TimelineEvent

from .downlink import down_message
from .errors import RelayUnavailable
from .messages import Cue, PacerSettings

if TYPE_CHECKING:
    from .session import RemoteHost

DRAIN_S: Final = 5.0  # s ``close`` waits for queued cues to be handed to the relay


class DownSender:
    """Sends the down message of each view-changing ``cue`` and ``pacer`` event through ``host`` (its loop)."""

    def __init__(self, host: RemoteHost) -> None:
        self.host = host
        self.sent = 0
        self.unavailable = 0  # down messages the relay could not take (the link was down)
        self._queue: asyncio.Queue[Cue | PacerSettings] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def event(self, event: SourceEvent) -> None:
        """Queue the down message of ``event`` (other events are ignored)."""
        if not isinstance(event, TimelineEvent):
            return
        message = down_message(event)
        if message is None:
            return
        self._queue.put_nowait(message)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        while True:
            message = await self._queue.get()
            try:
                await self.host.send(message)
                self.sent += 1
            except RelayUnavailable:
                self.unavailable += 1
            finally:
                self._queue.task_done()

    async def close(self, timeout_s: float = DRAIN_S) -> None:
        """Send what is queued (bounded by ``timeout_s``), then stop."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self._queue.join(), timeout_s)
        except TimeoutError:
            self.unavailable += self._queue.qsize()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
