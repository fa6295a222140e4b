"""A practitioner in the test process for the client-side remote tests: a real RemoteHost on a real-time
LoopThread over the relay fixture, with a sink that keeps what arrives (thread-safe, bounded waits)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any

from somafeedback.devices.events import Notification, SourceEvent, TimelineEvent
from somafeedback.remote.codes import PairingCode
from somafeedback.remote.loop_thread import LoopThread
from somafeedback.remote.messages import Message
from somafeedback.remote.session import RemoteHost
from somafeedback.remote.transport import RelayLink

WAIT_S = 30.0  # s any single wait may take before the test fails


class Kept:
    """A StrapSink keeping notifications and events in arrival order (any thread); ``until`` waits on it."""

    def __init__(self) -> None:
        self.items: list[Notification | SourceEvent] = []
        self._changed = threading.Condition()

    def notification(self, notification: Notification) -> None:
        self._add(notification)

    def event(self, event: SourceEvent) -> None:
        self._add(event)

    def _add(self, item: Notification | SourceEvent) -> None:
        with self._changed:
            self.items.append(item)
            self._changed.notify_all()

    def notifications(self) -> list[Notification]:
        with self._changed:
            return [i for i in self.items if isinstance(i, Notification)]

    def kinds(self, kind: str) -> list[TimelineEvent]:
        with self._changed:
            return [i for i in self.items if isinstance(i, TimelineEvent) and i.kind == kind]

    def until(self, condition: Callable[[Kept], bool], timeout_s: float = WAIT_S) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: condition(self), timeout_s), "waited in vain"


class Practitioner:
    """``code`` to read out; ``paired`` once the client joins; ``send`` a down message; ``close`` at the end."""

    def __init__(self, relay_url: str) -> None:
        self.sink = Kept()
        self.closed = False
        self.thread = LoopThread("test-practitioner")

        async def start() -> tuple[RemoteHost, PairingCode]:
            host = RemoteHost(await RelayLink.connect(relay_url), self.sink, clock_every_s=None)
            return host, await host.invite()

        self.host, self.code = self.thread.submit(start()).result(WAIT_S)
        self.paired: concurrent.futures.Future[Any] = self.thread.submit(self.host.pair(wait_for_client_s=WAIT_S))

    @property
    def confirmation(self) -> str:
        self.paired.result(WAIT_S)
        assert self.host.keys is not None
        return self.host.keys.confirmation

    def send(self, message: Message) -> int:
        return self.thread.submit(self.host.send(message)).result(WAIT_S)

    def ask(self, request: str) -> None:
        self.thread.submit(self.host.ask_sharing(request)).result(WAIT_S)

    def close(self) -> None:
        async def end() -> None:
            if self.host.stream is not None:
                await asyncio.wait_for(self.host.end(), WAIT_S)
            await self.host.link.close()

        if self.closed:
            return
        self.closed = True
        try:
            self.paired.cancel()
            self.thread.submit(end()).result(2 * WAIT_S)
        finally:
            self.thread.stop()
