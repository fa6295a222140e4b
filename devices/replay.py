"""Replay: a recorded session played back into a sink as if its straps were live.

The player re-emits every recorded notification and event, in the recorded order, with
its *original* stamps: the same decoders and pipeline then produce exactly the beats and
metrics of the live run. Pacing follows the recorded host times, scaled by ``speed`` on top
of the loop's own session time (``math.inf``: as fast as possible). Markers, notes and cue
events come back on the same timeline.

Control (from the loop's thread; other threads use ``loop.call_soon_threadsafe``):
``pause()``, ``resume()``, ``seek(host_ns)`` and ``set_speed(x)``. A seek emits a
``TimelineEvent("seek")``: consumers start afresh from there (windows refill).

Far-off stamps: a step between two consecutive recorded items of more than
``MAX_PACED_JUMP_S`` (forwards or backwards; e.g. one notification stamped years ahead by a
damaged clock) is never waited for. The item is played in its recorded order at once, pacing
starts afresh from it, and the player says so with a ``TimelineEvent("replay-jump")`` just
before it (``{"from_ns", "to_ns", "text"}``); ``jumps`` counts them.

Thread: the asyncio loop that runs :meth:`ReplaySource.run`.
"""

from __future__ import annotations

import asyncio
import bisect
import math
from collections.abc import Sequence
from typing import Final

from .events import GapEvent, Notification, SourceEvent, StrapSink, TimelineEvent

YIELD_EVERY: Final = 256  # items delivered back to back before letting other tasks run
MAX_PACED_JUMP_S: Final = 24 * 3600.0  # recorded s; a longer step between two items is played without waiting
JUMP_EVENT: Final = "replay-jump"

ReplayItem = Notification | SourceEvent


def recorded_ns(item: ReplayItem) -> int:
    """When an item happened on the recorded host clock."""
    return item.end_ns if isinstance(item, GapEvent) else item.host_ns


class ReplaySource:
    """Plays a recorded timeline into a :class:`~.events.StrapSink`."""

    def __init__(self, timeline: Sequence[ReplayItem], sink: StrapSink, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("replay speed must be positive")
        self.timeline = timeline
        self.sink = sink
        self.speed = speed
        self._stamps = [recorded_ns(item) for item in timeline]
        self._index = 0
        self._paused = False
        self._anchor: tuple[float, int] | None = None  # (loop time, recorded ns) that coincide
        self._wakeup: asyncio.Future[None] | None = None
        self.delivered = 0
        self.jumps = 0  # far-off steps played without waiting (see the module docstring)
        self._previous_ns: int | None = None  # recorded time of the item delivered last

    # -- position -------------------------------------------------------------------------
    @property
    def start_ns(self) -> int:
        return self._stamps[0] if self._stamps else 0

    @property
    def end_ns(self) -> int:
        return self._stamps[-1] if self._stamps else 0

    @property
    def position_ns(self) -> int:
        """Recorded time of the next item to play (the end when finished)."""
        return self._stamps[self._index] if self._index < len(self._stamps) else self.end_ns

    @property
    def finished(self) -> bool:
        return self._index >= len(self.timeline)

    @property
    def paused(self) -> bool:
        return self._paused

    # -- control --------------------------------------------------------------------------
    def pause(self) -> None:
        self._paused = True
        self._wake()

    def resume(self) -> None:
        self._paused = False
        self._anchor = None  # pacing restarts from where it stands
        self._wake()

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("replay speed must be positive")
        self.speed = speed
        self._anchor = None
        self._wake()

    def seek(self, host_ns: int) -> None:
        """Continue from the first item at or after ``host_ns`` (recorded time)."""
        target = min(max(host_ns, self.start_ns), self.end_ns)
        from_ns = self.position_ns
        self._index = bisect.bisect_left(self._stamps, target)
        self._anchor = None
        self._previous_ns = None
        self.sink.event(TimelineEvent("seek", target, 0.0, {"from_ns": from_ns, "to_ns": target}))
        self._wake()

    def _wake(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    # -- playing --------------------------------------------------------------------------
    async def run(self) -> None:
        """Play to the end of the timeline (pausing and seeking as asked)."""
        loop = asyncio.get_running_loop()
        burst = 0
        while not self.finished:
            if self._paused:
                await self._sleep(loop, None)
                continue
            stamp = self._stamps[self._index]
            if self._previous_ns is not None and abs(stamp - self._previous_ns) > MAX_PACED_JUMP_S * 1e9:
                self._say_jump(stamp)
                self._anchor = None  # never wait for it: pacing starts afresh from this item
            if self._anchor is None:
                self._anchor = (loop.time(), stamp)
            due = self._anchor[0] + (stamp - self._anchor[1]) / 1e9 / self.speed if math.isfinite(self.speed) else 0.0
            if due > loop.time():
                burst = 0
                await self._sleep(loop, due)
                continue
            self._deliver(self.timeline[self._index])
            self._index += 1
            burst += 1
            if burst >= YIELD_EVERY:
                burst = 0
                await asyncio.sleep(0)

    def _deliver(self, item: ReplayItem) -> None:
        if isinstance(item, Notification):
            self.sink.notification(item)
        else:
            self.sink.event(item)
        self._previous_ns = self._stamps[self._index]
        self.delivered += 1

    def _say_jump(self, stamp: int) -> None:
        """Tell the sink that the next item lies far from the one before (played without waiting)."""
        assert self._previous_ns is not None
        self.jumps += 1
        step_s = (stamp - self._previous_ns) / 1e9
        way = "ahead of" if step_s > 0 else "before"
        text = (f"the next recorded item is stamped {abs(step_s) / 3600:,.0f} h {way} the one before it "
                "(a damaged or reset clock?): played in its recorded order without waiting")
        self.sink.event(TimelineEvent(JUMP_EVENT, stamp, 0.0, {"from_ns": self._previous_ns, "to_ns": stamp,
                                                               "text": text}))

    async def _sleep(self, loop: asyncio.AbstractEventLoop, until: float | None) -> None:
        """Wait until loop time ``until`` (None: until woken), or until paused, resumed or moved."""
        self._wakeup = loop.create_future()
        timer = loop.call_at(until, self._wake) if until is not None else None
        try:
            await self._wakeup
        finally:
            if timer is not None:
                timer.cancel()
            self._wakeup = None
