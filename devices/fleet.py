"""Several straps on one BLE stack, connected and disconnected while running.

A practitioner and a client can each wear a strap; the app adds and removes straps as the
practitioner chooses them in the scan list. Each strap has its own
:class:`~.supervisor.StrapSupervisor`; all of them share one asyncio loop and one sink.

Thread: the BLE loop.
"""

from __future__ import annotations

import asyncio

from somafeedback.clock import Clock
from .ble_stack import BleStack
from .events import StrapSink
from .supervisor import ReconnectPolicy, StrapSupervisor


class StrapFleet:
    """Supervisors by strap id; ``connect`` starts one, ``disconnect`` stops it cleanly."""

    def __init__(self, stack: BleStack, sink: StrapSink, clock: Clock, policy: ReconnectPolicy = ReconnectPolicy()) -> None:
        self.stack = stack
        self.sink = sink
        self.clock = clock
        self.policy = policy
        self.supervisors: dict[str, StrapSupervisor] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def connect(self, address: str | None, strap_id: str) -> StrapSupervisor:
        """Start streaming the strap at ``address`` (None: the first found) as ``strap_id``."""
        if strap_id in self._tasks and not self._tasks[strap_id].done():
            raise ValueError(f"{strap_id} is already connected; disconnect it first")
        supervisor = StrapSupervisor(self.stack, self.sink, self.clock, strap_id=strap_id, address=address,
                                     policy=self.policy)
        self.supervisors[strap_id] = supervisor
        self._tasks[strap_id] = asyncio.get_running_loop().create_task(supervisor.run(), name=strap_id)
        return supervisor

    async def disconnect(self, strap_id: str) -> None:
        supervisor, task = self.supervisors.get(strap_id), self._tasks.pop(strap_id, None)
        if supervisor is None or task is None:
            return
        supervisor.stop()
        await asyncio.gather(task, return_exceptions=True)

    async def wait(self, timeout_s: float | None = None) -> None:
        """Until every supervisor has finished (or ``timeout_s`` of session time)."""
        tasks = [task for task in self._tasks.values() if not task.done()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)

    async def close(self) -> None:
        """Stop every strap: unsubscribe, disconnect, report 'stopped'."""
        for supervisor in self.supervisors.values():
            supervisor.stop()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
