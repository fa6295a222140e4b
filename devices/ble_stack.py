"""Which bleak backend the app talks through: the OS's, or the simulated radio's.

App code never names a backend; it asks a :class:`BleStack` for an ordinary
``BleakScanner`` or ``BleakClient``. The OS stack is bleak's default; the simulated stack
passes bleak's ``backend=`` plus the bumble central (see ``simulator/radio.py``).

Thread: the BLE loop's thread (bleak objects never leave it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementDataCallback, BaseBleakScanner


@dataclass(frozen=True)
class BleStack:
    """A bleak backend choice and the extra arguments it needs."""

    name: str
    scanner_backend: type[BaseBleakScanner] | None = None
    client_backend: type[BaseBleakClient] | None = None
    backend_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def scanner(
        self,
        detection_callback: AdvertisementDataCallback | None = None,
        service_uuids: list[str] | None = None,
    ) -> BleakScanner:
        return BleakScanner(
            detection_callback, service_uuids, backend=self.scanner_backend, **self.backend_kwargs
        )

    def client(
        self,
        device: BLEDevice,
        disconnected_callback: Callable[[BleakClient], None] | None = None,
        timeout: float = 20.0,
    ) -> BleakClient:
        return BleakClient(
            device,
            disconnected_callback,
            timeout=timeout,
            backend=self.client_backend,
            **self.backend_kwargs,
        )


OS_STACK = BleStack(name="system Bluetooth")
