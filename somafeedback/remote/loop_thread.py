"""A real-time asyncio loop on its own thread, for the relay link beside a strap loop running in session time.

A simulated strap at ``--speed max`` runs on a :class:`~somafeedback.clock.SessionEventLoop` whose
time jumps to the next timer whenever no I/O is ready: a relay acknowledgement that takes a real
millisecond would meet timeouts that passed in no time. So the remote session runs on this loop
(ordinary time), and the strap loop hands it messages through the client's thread-safe sink.

Thread: ``start``/``run``/``stop`` from any thread but this loop's own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, Final, TypeVar

T = TypeVar("T")
STOP_TIMEOUT_S: Final = 10.0  # s the thread has to finish once its loop is asked to stop


class LoopThread:
    """An asyncio loop in a daemon thread: ``submit(coro)`` gives a concurrent future, ``stop`` ends it."""

    def __init__(self, name: str = "somafeedback-relay") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coroutine`` on the thread's loop; await ``asyncio.wrap_future`` of the result from another loop."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    async def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Await ``coroutine`` run on the thread's loop, from another loop (no timer on the caller's loop)."""
        return await asyncio.wrap_future(self.submit(coroutine))

    def stop(self) -> None:
        """Cancel what still runs there, stop the loop and join the thread (bounded)."""
        if not self._thread.is_alive():
            return

        async def cancel_rest() -> None:
            rest = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        try:
            self.submit(cancel_rest()).result(STOP_TIMEOUT_S)
        except (concurrent.futures.TimeoutError, RuntimeError):
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(STOP_TIMEOUT_S)
