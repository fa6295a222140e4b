"""Finding heart-rate straps: scan for the Heart Rate service, by address or first found.

Thread: the BLE loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from .ble_stack import BleStack
from .gatt_uuids import HEART_RATE_SERVICE


@dataclass(frozen=True, slots=True)
class FoundStrap:
    """A strap seen advertising the Heart Rate service."""

    name: str
    address: str
    rssi: int | None  # dBm of the latest advertisement
    device: BLEDevice


async def scan_for_straps(stack: BleStack, timeout_s: float = 5.0) -> list[FoundStrap]:
    """Every strap that advertised the Heart Rate service within ``timeout_s``, strongest first."""
    found: dict[str, FoundStrap] = {}

    def seen(device: BLEDevice, adv: AdvertisementData) -> None:
        found[device.address] = FoundStrap(adv.local_name or device.name or "", device.address, adv.rssi, device)

    async with stack.scanner(seen, [HEART_RATE_SERVICE]):
        await asyncio.sleep(timeout_s)
    return sorted(found.values(), key=lambda strap: -(strap.rssi if strap.rssi is not None else -999))


async def find_strap(
    stack: BleStack, address: str | None, timeout_s: float = 10.0, give_up: asyncio.Event | None = None
) -> BLEDevice | None:
    """The strap with ``address`` (case-insensitive), or the first Heart Rate strap seen.

    None after ``timeout_s``, or as soon as ``give_up`` is set (the scan is stopped cleanly,
    never cancelled in the middle of a controller command).
    """
    wanted = address.upper() if address else None
    result: asyncio.Future[BLEDevice] = asyncio.get_running_loop().create_future()

    def seen(device: BLEDevice, adv: AdvertisementData) -> None:
        if not result.done() and (wanted is None or device.address.upper() == wanted):
            result.set_result(device)

    async with stack.scanner(seen, [HEART_RATE_SERVICE]):
        waiters: set[asyncio.Future[Any]] = {result}
        if give_up is not None:
            waiters.add(asyncio.ensure_future(give_up.wait()))
        try:
            await asyncio.wait(waiters, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters - {result}:
                waiter.cancel()
        return result.result() if result.done() else None
