"""Injected time: session clocks and an asyncio event loop that runs in session time.

Every time-dependent part of the app takes a :class:`Clock`. Sources that can run faster
than life (the simulated strap, replay) run on a :class:`SessionEventLoop` whose
``loop.time()`` *is* session time: at ``speed=10`` a ten-minute scenario takes one
minute of wall time, and at ``speed="max"`` timers fire as soon as nothing else is ready,
so a 20-minute scenario runs in the few seconds its work costs. A finite speed is a most:
when the process stalls (a busy machine, a long callback), session time is held to at most
:data:`MAX_SESSION_STEP_S` beyond what the loop waited for, so the session slows down
instead of skipping ahead (a skipped stretch would fire the strap supervisor's silence
watchdog and connect timeouts as if the strap had gone quiet). Because bumble's
controllers, bleak's timeouts and the strap supervisor all schedule through the loop,
the whole BLE stack moves in session time with no special cases.

Thread: a loop and its clock belong to the thread that runs the loop; ``now()`` may be
read from any thread (it only reads the loop's time base).
"""

from __future__ import annotations

import asyncio
import math
import selectors
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeAlias

Speed: TypeAlias = float  # session seconds per wall second; math.inf means "as fast as possible"
MAX_SPEED: Speed = math.inf


def parse_speed(text: str) -> Speed:
    """Parse a ``--speed`` value: a positive number or ``max``."""
    if text.strip().lower() == "max":
        return MAX_SPEED
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"speed must be a positive number or 'max', not {text!r}") from None
    if not value > 0 or math.isinf(value) or math.isnan(value):
        raise ValueError(f"speed must be a positive number or 'max', not {text!r}")
    return value


class Clock(Protocol):
    """Session time for one running source (any thread may read it)."""

    def now(self) -> float:
        """Monotonic session time in seconds."""
        ...

    def now_ns(self) -> int:
        """Monotonic session time in integer nanoseconds (recording timestamps)."""
        ...

    def wall_time(self) -> float:
        """The wall-clock time (Unix seconds) that corresponds to ``now()``."""
        ...


@dataclass
class SystemClock:
    """The host's own clocks, for live straps."""

    def now(self) -> float:
        return time.monotonic()

    def now_ns(self) -> int:
        return time.monotonic_ns()

    def wall_time(self) -> float:
        return time.time()


MAX_SESSION_STEP_S = 0.5  # session seconds a stalled loop may move past what it waited for


class _TimeBase:
    """Maps wall time to session time at a fixed speed (held back over stalls), or virtual time at max speed.

    At a finite speed session time is ``(wall - origin) * speed - held``, capped by a limit: while
    the loop waits, the wait it asked for plus :data:`MAX_SESSION_STEP_S`; while callbacks run, one
    step past the end of the last wait. Time beyond the limit is given up (added to ``held``), so
    session time never jumps over a stall and never goes back, whichever thread reads it.

    Thread: ``select`` runs on the loop's thread; ``now`` may be read from any thread (it reads one
    immutable tuple, replaced whole).
    """

    def __init__(self, speed: Speed, real_monotonic: Callable[[], float] = time.monotonic):
        if not speed > 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._real = real_monotonic
        self._real_origin = real_monotonic()
        self._virtual_now = 0.0  # used only at max speed
        self._held_and_limit: tuple[float, float] = (0.0, math.inf)  # (session s given up, cap)

    @property
    def virtual(self) -> bool:
        return math.isinf(self.speed)

    def now(self) -> float:
        if self.virtual:
            return self._virtual_now
        held, limit = self._held_and_limit
        return min((self._real() - self._real_origin) * self.speed - held, limit)

    def _settle(self, next_limit: Callable[[float], float]) -> None:
        """Give up the time over the cap; the new cap is ``next_limit(session time now)``."""
        held, limit = self._held_and_limit
        raw = (self._real() - self._real_origin) * self.speed - held
        now = min(raw, limit)
        self._held_and_limit = (held + (raw - now), next_limit(now))

    def select(self, real_select: Callable[[float | None], list], timeout: float | None) -> list:
        """Wait for I/O for ``timeout`` session seconds (None: until I/O arrives)."""
        if not self.virtual:
            # the callbacks since the last wait are done; the wait may run as long as it asks (and a step)
            self._settle(lambda now: math.inf if timeout is None else now + max(timeout, 0.0) + MAX_SESSION_STEP_S)
            events = real_select(None if timeout is None else timeout / self.speed)
            self._settle(lambda now: now + MAX_SESSION_STEP_S)  # the callbacks that follow: one step
            return events
        if timeout is None:  # no timers at all: only another thread can wake us
            return real_select(None)
        events = real_select(0)
        if events or timeout <= 0:
            return events
        # Nothing to do until the next timer: jump session time straight to it.
        self._virtual_now += timeout
        return []


def _session_selector_class(time_base: _TimeBase) -> type[selectors.BaseSelector]:
    class SessionSelector(selectors.DefaultSelector):
        def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:  # noqa: D102 - selectors API
            return time_base.select(super().select, timeout)

    return SessionSelector


class SessionEventLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose ``time()`` is session time, starting at 0.

    ``speed`` is session seconds per wall second, or :data:`MAX_SPEED` to run timers as
    soon as nothing else is ready (deterministic: the order of events does not depend on
    how fast the machine is). I/O from other threads (``call_soon_threadsafe``,
    ``run_coroutine_threadsafe``) wakes the loop as usual.
    """

    def __init__(self, speed: Speed = 1.0, wall_origin: float | None = None):
        self._time_base = _TimeBase(speed)
        super().__init__(selector=_session_selector_class(self._time_base)())
        self.wall_origin = time.time() if wall_origin is None else wall_origin

    @property
    def speed(self) -> Speed:
        return self._time_base.speed

    def time(self) -> float:  # noqa: D102 - asyncio API
        return self._time_base.now()


class LoopClock:
    """The :class:`Clock` of an asyncio loop: its ``time()``, mapped to wall time.

    For a :class:`SessionEventLoop` the wall time starts at the loop's ``wall_origin`` and
    advances with session time; for an ordinary loop it is the host's time.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        wall_origin = getattr(loop, "wall_origin", None)
        self._wall_offset = (time.time() - loop.time()) if wall_origin is None else wall_origin

    def now(self) -> float:
        return self._loop.time()

    def now_ns(self) -> int:
        return round(self._loop.time() * 1e9)

    def wall_time(self) -> float:
        return self._wall_offset + self._loop.time()


class OffsetClock:
    """``base`` moved ``offset_ns`` ahead: another computer's session clock as seen from here (a remote
    session's practitioner runs on the client's clock, so one recording has one timeline).

    ``offset_ns`` may be changed (by its owner, once the offset is measured); wall time is ``base``'s.
    Thread: any (the offset is one int, replaced whole).
    """

    def __init__(self, base: Clock, offset_ns: int = 0) -> None:
        self.base = base
        self.offset_ns = offset_ns

    def now(self) -> float:
        return self.base.now() + self.offset_ns / 1e9

    def now_ns(self) -> int:
        return self.base.now_ns() + self.offset_ns

    def wall_time(self) -> float:
        return self.base.wall_time()


def run_in_session_time(main: Callable[[], object], speed: Speed = 1.0) -> object:
    """Run ``main()`` (a coroutine function) to completion on a new SessionEventLoop."""
    with asyncio.Runner(loop_factory=lambda: SessionEventLoop(speed)) as runner:
        return runner.run(main())  # type: ignore[arg-type]
