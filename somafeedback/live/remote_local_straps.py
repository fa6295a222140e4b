"""The practitioner's own strap in a remote session: strap2 beside the client's strap1, on one timeline.

In a remote session the practitioner may wear a strap too (issue #18, co-regulation): the engine's
remote mode then also runs local straps, a real one (``EngineSource.addresses``) or a simulated one
(``EngineSource.simulate``: a dyad scenario's ``practitioner`` person, or any scenario), as ``strap2``
(``strap3``... for more), beside the remote client's ``strap1``. They go through one fleet and one BLE
stack as in a session in the room, into the engine's sink (recorder, analysis, regulation), stamped with
the engine's clock.

**They start only once the timebase is fixed** (the engine's clock has moved onto the client's, see
:mod:`.remote_timebase`), never before, and nothing is re-stamped. Why not stamp early and re-stamp:
before the fix there is no shared timeline yet (the offset is unknown and may be hours), no recording
(it opens at the fix), and the analysis would see a jump of the whole offset between a local strap's
items before and after it (a gap, windows broken); re-stamping would have to reach every item and every
derived value (beats, gaps, link events, the ECG frames' times) already handed on. Started after the fix,
every item of the local strap is on the client's timeline from the first, and a simulated dyad person
reads that same clock as the dyad's time (:mod:`somafeedback.devices.simulator.dyad`). The cost: a
real strap connects a few seconds later, once the client's first data or clock check has arrived.

A remote session started without a local strap may get one later: "Connect as practitioner" in the strap
panel (:meth:`LocalStraps.connect`, through ``Engine.connect``) starts the real strap at that address, on the
same terms (after the fix). While no local strap runs, a scan looks with this computer's Bluetooth
(:meth:`LocalStraps.scan_stack`).

Loop: the engine's.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from somafeedback.devices.ble_stack import OS_STACK, BleStack
from somafeedback.devices.events import TimelineEvent

from .sources import StrapSource

FIRST_LOCAL_STRAP: Final = 2  # strap1 is the remote client's
CLOSE_TIMEOUT_S: Final = 10.0  # s to disconnect the local straps at the end of the session
PRACTITIONER: Final = "practitioner"
CLIENT_STRAP_TEXT: Final = ("In a remote session strap1 is your client's strap, through the relay: "
                            "connect your own strap as the practitioner.")


def local_strap_source(source: Any) -> StrapSource | None:
    """The practitioner's local straps an :class:`~.engine.EngineSource` of a remote session asks for, or
    None (the client's strap only). A dyad scenario simulates its practitioner person only."""
    if source.simulate is None and not source.addresses:
        return None
    person = None
    if source.simulate is not None:
        from somafeedback.devices.simulator.dyad import is_dyad

        person = PRACTITIONER if is_dyad(source.simulate) else None
    return StrapSource(simulate=source.simulate, addresses=source.addresses, simulated_straps=source.simulated_straps,
                       seed=source.seed, simulated_model=source.simulated_model, person=person)


class LocalStraps:
    """The practitioner's local straps of a remote session (see the module docstring). Loop: the engine's."""

    def __init__(self, engine: Any, source: StrapSource | None) -> None:
        """``engine``: the :class:`~.engine.Engine` whose sink, clock and fleet commands the straps use;
        ``source`` None: no local strap until :meth:`connect` asks for one."""
        self.engine = engine
        self.source = source
        self._first = FIRST_LOCAL_STRAP
        self._fixed = asyncio.Event()
        self._asked = asyncio.Event()
        if source is not None:
            self._asked.set()
        self._stop = asyncio.Event()
        self._task = asyncio.ensure_future(self._run())

    def connect(self, address: str, strap_id: str) -> None:
        """"Connect as practitioner" while no local strap runs: the real strap at ``address`` becomes
        ``strap_id`` (not the client's strap1), once the timebase is fixed."""
        number = int(strap_id.removeprefix("strap")) if strap_id.removeprefix("strap").isdigit() else 0
        if number < FIRST_LOCAL_STRAP:
            self._warn(CLIENT_STRAP_TEXT)
        elif self._asked.is_set():
            self._warn("Your own strap is already on its way: it starts once the two computers' clocks are lined up.")
        else:
            self.source, self._first = StrapSource(addresses=(address,)), number
            self._asked.set()

    def scan_stack(self) -> BleStack | None:
        """The stack a scan uses while no local strap runs: this computer's Bluetooth (None when this
        session's own strap is simulated: nothing real to look for)."""
        return OS_STACK if self.source is None or self.source.simulate is None else None

    def timebase_fixed(self) -> None:
        """The engine's clock is now the client's: the local straps may start."""
        self._fixed.set()

    async def close(self) -> None:
        """Disconnect the local straps (bounded); their link events are recorded before the file closes."""
        self._stop.set()
        try:
            await asyncio.wait_for(self._task, CLOSE_TIMEOUT_S)
        except TimeoutError:
            self._warn("the practitioner's own strap did not disconnect in time; the session ends without waiting")

    def _warn(self, text: str) -> None:
        self.engine._push(TimelineEvent("engine-warning", 0, 0.0, {"text": text}))

    async def _run(self) -> None:
        for ready in (self._fixed, self._asked):
            if not await self._until(ready):
                return
        try:
            await self._stream()
        except Exception as error:  # noqa: BLE001 - the client's session goes on without the practitioner's strap
            self._warn(f"The practitioner's own strap could not be started ({error}); the client's data goes on.")

    async def _until(self, ready: asyncio.Event) -> bool:
        """Wait for ``ready`` or the end of the session; False at the end."""
        waits = {asyncio.ensure_future(ready.wait()), asyncio.ensure_future(self._stop.wait())}
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()
        return not self._stop.is_set()

    async def _stream(self) -> None:
        from somafeedback.devices.fleet import StrapFleet
        from somafeedback.devices.supervisor import ReconnectPolicy

        from .sources import open_stack

        engine, source = self.engine, self.source
        assert source is not None
        clock = engine.clock  # the client's timeline now: it stamps the items, and a dyad person reads it
        async with open_stack(source, dyad_clock=clock) as (stack, addresses):
            fleet = StrapFleet(stack, engine._sink, clock, ReconnectPolicy(scan_timeout_s=source.scan_timeout_s))
            engine._stack, engine._fleet = stack, fleet  # the strap panel's connect/disconnect reach them
            try:
                for number, address in enumerate(addresses, start=self._first):
                    fleet.connect(address, f"strap{number}")
                await self._stop.wait()
            finally:
                await fleet.close()
                engine._stack = engine._fleet = None
