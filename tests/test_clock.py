"""Session time: the speed factor, max speed, and the loop clock."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from somafeedback.clock import MAX_SPEED, LoopClock, SessionEventLoop, parse_speed

from session_helpers import run_in_session_time


def test_parse_speed_accepts_numbers_and_max_only() -> None:
    assert parse_speed("2.5") == 2.5
    assert parse_speed("MAX") == MAX_SPEED
    for bad in ("0", "-1", "fast", "nan", "inf"):
        with pytest.raises(ValueError, match="positive number or 'max'"):
            parse_speed(bad)


def test_max_speed_runs_an_hour_of_timers_instantly_and_in_order() -> None:
    fired: list[tuple[str, float]] = []

    async def ticker(name: str, period: float, count: int) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(count):
            await asyncio.sleep(period)
            fired.append((name, loop.time()))

    async def main() -> float:
        await asyncio.gather(ticker("a", 1.0, 3600), ticker("b", 1.5, 2400))
        return asyncio.get_running_loop().time()

    started = time.monotonic()
    end = run_in_session_time(main)
    assert end == pytest.approx(3600.0)
    assert time.monotonic() - started < 30  # generous: it takes well under a second
    times = [t for _, t in fired]
    assert times == sorted(times)
    assert [round(t, 6) for name, t in fired if name == "a"][:3] == [1.0, 2.0, 3.0]


def test_speed_factor_scales_wall_time() -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        wall = time.monotonic()
        await asyncio.sleep(2.0)  # session seconds
        assert loop.time() >= 2.0
        return time.monotonic() - wall

    wall_taken = run_in_session_time(main, speed=20.0)
    # 2 s of session time at 20x is 0.1 s of wall time: never less (sleeps cannot end early); the
    # upper bound only tells it from 1x (at least 2 s), so a loaded machine's stall cannot fail it
    assert 0.08 <= wall_taken < 1.9


def test_max_speed_loop_still_wakes_for_other_threads() -> None:
    async def main() -> str:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str] = loop.create_future()
        threading.Timer(0.05, lambda: loop.call_soon_threadsafe(done.set_result, "woken")).start()
        return await done

    assert run_in_session_time(main) == "woken"


def test_loop_clock_maps_session_time_to_wall_time() -> None:
    loop = SessionEventLoop(MAX_SPEED, wall_origin=1_700_000_000.0)
    clock = LoopClock(loop)

    async def main() -> tuple[float, int, float]:
        await asyncio.sleep(90.5)
        return clock.now(), clock.now_ns(), clock.wall_time()

    try:
        now, now_ns, wall = loop.run_until_complete(main())
    finally:
        loop.close()
    assert now == pytest.approx(90.5)
    assert now_ns == 90_500_000_000
    assert wall == pytest.approx(1_700_000_090.5)


def test_a_stalled_loop_slows_the_session_instead_of_skipping_it() -> None:
    """At a finite speed, a process stall (here: the wall clock jumping 30 s inside a wait or a
    callback) moves session time on by at most the wait asked for plus one step, never 30 s × speed:
    otherwise the strap's silence watchdog would fire on a simulated strap that never went quiet."""
    from somafeedback.clock import MAX_SESSION_STEP_S, _TimeBase

    wall = [100.0]
    base = _TimeBase(10.0, real_monotonic=lambda: wall[0])

    read_during_waits: list[float] = []  # what another thread (the GUI) reads meanwhile

    def waits(wall_s: float):
        def real_select(timeout):
            read_during_waits.append(base.now())
            wall[0] += wall_s
            read_during_waits.append(base.now())
            return []
        return real_select

    base.select(waits(0.1), 1.0)  # an ordinary wait: 1 session second is 0.1 s of wall time at 10x
    assert base.now() == pytest.approx(1.0)
    base.select(waits(30.0), 1.0)  # the process was descheduled for 30 s during a 1-s wait
    assert base.now() == pytest.approx(2.0 + MAX_SESSION_STEP_S)
    wall[0] += 30.0  # a callback ran for 30 s between two waits
    base.select(waits(0.0), 0.0)
    assert base.now() == pytest.approx(2.0 + 2 * MAX_SESSION_STEP_S)
    base.select(waits(0.2), 2.0)  # and then time runs at the speed again
    assert base.now() == pytest.approx(4.0 + 2 * MAX_SESSION_STEP_S)
    base.select(waits(5.0), None)  # waiting for I/O with no timer due: nothing to hold back
    assert base.now() == pytest.approx(54.0 + 2 * MAX_SESSION_STEP_S)
    assert read_during_waits == sorted(read_during_waits)  # never back, whoever reads
    assert read_during_waits[3] == pytest.approx(2.0 + MAX_SESSION_STEP_S)  # capped inside the stalled wait
