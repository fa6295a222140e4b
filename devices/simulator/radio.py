"""The simulated radio: bumble's in-process link, the app's central and the simulated straps.

Two or more bumble host stacks, each on a virtual controller, share one ``LocalLink``.
A strap can be a plain heart-rate strap or a Polar H10 with raw ECG and motion (PMD).
The straps' and the app's virtual controllers are :mod:`.controllers` (a strap can stop answering
connection requests; the app's controller cancels a pending connection as real adapters do).
The app's side is an ordinary bleak ``BleakScanner``/``BleakClient`` on the bumble
backend (:attr:`SimulatedRadio.stack`), so scanning, connecting, subscribing and losing
the link all go through real BLE protocol code.

Thread: create, use and close the radio on one asyncio loop (the BLE loop).
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from bumble import hci
from bumble.controller import Controller
from bumble.device import Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from somafeedback.clock import Clock

from ..ble_stack import BleStack
from ..pacer_view import PacerView
from ..bumble_backend import BumbleClient, BumbleScanner
from .controllers import CentralController, StrapController
from .scenario import DEFAULT_SCENARIO, Scenario, load_scenario
from .strap import SimulatedStrap

CENTRAL_ADDRESS = "C0:50:4D:41:00:01"  # static random address of the app's own virtual controller
STRAP_ADDRESS_PREFIX = "F0:50:4D:41:00"  # simulated straps get ...:01, ...:02, ...


def _bumble_device(name: str, address: str, controller: Controller) -> Device:
    return Device(name=name, address=hci.Address(address), host=Host(controller, AsyncPipeSink(controller)))


class SimulatedRadio:
    """An in-process BLE world: ``async with SimulatedRadio() as radio: radio.add_strap(...)``."""

    def __init__(self) -> None:
        self._link = LocalLink()
        self.central = _bumble_device("somafeedback", CENTRAL_ADDRESS,
                                      CentralController("somafeedback controller", link=self._link, public_address=CENTRAL_ADDRESS))
        self.straps: list[SimulatedStrap] = []
        self.stack = BleStack(
            name="simulated radio (bumble)",
            scanner_backend=BumbleScanner,
            client_backend=BumbleClient,
            backend_kwargs={"central": self.central},
        )

    async def __aenter__(self) -> SimulatedRadio:
        await self.central.power_on()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def add_strap(
        self,
        scenario: Scenario | str | Path = DEFAULT_SCENARIO,
        seed: int | None = None,
        name: str | None = None,
        *,
        h10: bool = False,
        compressed_acc: bool = True,
        max_mtu: int | None = None,
        session_s: float = 0.0,
        pacer_view: PacerView | None = None,
        session_clock: Clock | None = None,
    ) -> SimulatedStrap:
        """Power on a new simulated strap running ``scenario``; it starts advertising at once.

        ``h10``: a Polar H10 that also serves raw ECG and chest acceleration (PMD);
        ``max_mtu``: the largest ATT MTU the strap accepts (frames are sized to the link);
        ``session_s``: the strap's session time now (see :meth:`SimulatedStrap.start`);
        ``pacer_view``: the pacer on the screen, in seconds of ``session_clock`` (default: the loop's time),
        which a scenario with ``[follow_pacer]`` breathes with (others ignore it).
        """
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario)
        number = len(self.straps) + 1
        address = f"{STRAP_ADDRESS_PREFIX}:{number:02X}"
        default_name = f"Polar H10 SIM{number:05d}" if h10 else f"somafeedback sim {number}"
        controller = StrapController(f"{name or default_name} controller", link=self._link, public_address=address)
        device = _bumble_device(name or default_name, address, controller)
        strap = SimulatedStrap(device, scenario, seed=seed, h10=h10, compressed_acc=compressed_acc, max_mtu=max_mtu,
                               pacer_view=pacer_view, session_clock=session_clock)
        controller.answers = strap.answers_connections  # type: ignore[method-assign]
        self.straps.append(strap)
        await strap.start(session_s)
        return strap

    async def close(self) -> None:
        for strap in self.straps:
            await strap.stop()
