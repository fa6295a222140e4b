"""A bleak backend that drives a bumble host stack (the simulated radio's central).

bleak's ``BleakScanner``/``BleakClient`` take ``backend=``; these classes plug bumble in
behind that seam. Over bumble's in-process ``LocalLink`` everything below the bleak API is
genuine protocol traffic between two bumble hosts and two virtual controllers:
advertising reports, LE connection, ATT MTU exchange, GATT discovery, CCCD writes,
notifications, indications and HCI disconnections. App code above bleak cannot tell it
from an OS backend, so the simulator and a real strap share every line of app code.

Thread: the asyncio loop that owns the bumble devices (one loop per radio).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any, Final

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError
from bleak.uuids import normalize_uuid_str
from bumble import core, gatt, hci
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer

_PREFERRED_ATT_MTU = 517  # bytes; what BlueZ and Android negotiate with a Polar strap

_PROPERTY_NAMES = (
    (gatt.Characteristic.Properties.BROADCAST, "broadcast"),
    (gatt.Characteristic.Properties.READ, "read"),
    (gatt.Characteristic.Properties.WRITE_WITHOUT_RESPONSE, "write-without-response"),
    (gatt.Characteristic.Properties.WRITE, "write"),
    (gatt.Characteristic.Properties.NOTIFY, "notify"),
    (gatt.Characteristic.Properties.INDICATE, "indicate"),
)

_SERVICE_UUID_LISTS: Final = (  # Final keeps each literal kind, so get_all is typed as UUID lists
    AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
)


class _CentralArbiter:
    """What an OS stack does for its adapter: one shared scan, one connection attempt at a time.

    A controller accepts a single pending LE Create Connection, and several scanners on one
    adapter share its one scan (BlueZ multiplexes discovery the same way).
    """

    def __init__(self) -> None:
        self.scanners = 0
        self.connecting = asyncio.Lock()


_arbiters: weakref.WeakKeyDictionary[Device, _CentralArbiter] = weakref.WeakKeyDictionary()


def _arbiter(central: Device) -> _CentralArbiter:
    if central not in _arbiters:
        _arbiters[central] = _CentralArbiter()
    return _arbiters[central]


def _bleak_uuid(uuid: core.UUID) -> str:
    """A bumble UUID as bleak's normalised 128-bit lower-case string."""
    return normalize_uuid_str(uuid.to_hex_str("-") if len(uuid.uuid_bytes) == 16 else uuid.to_hex_str())


def _advertisement_data(advertisement: Advertisement) -> AdvertisementData:
    data = advertisement.data
    uuids = [_bleak_uuid(u) for kind in _SERVICE_UUID_LISTS for group in data.get_all(kind) for u in group]
    manufacturer = {company: bytes(payload) for company, payload in data.get_all(AdvertisingData.MANUFACTURER_SPECIFIC_DATA)}
    name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(AdvertisingData.SHORTENED_LOCAL_NAME)
    tx_power = data.get(AdvertisingData.TX_POWER_LEVEL)
    return AdvertisementData(
        local_name=name,
        manufacturer_data=manufacturer,
        service_data={},
        service_uuids=list(dict.fromkeys(uuids)),
        tx_power=tx_power,
        rssi=advertisement.rssi,
        platform_data=(advertisement,),
    )


class BumbleScanner(BaseBleakScanner):
    """Scans through a bumble central ``Device`` (passed to bleak as ``central=``)."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        *,
        central: Device,
        **kwargs: Any,
    ):
        super().__init__(detection_callback, service_uuids)
        self._central = central

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        adv = _advertisement_data(advertisement)
        if not self.is_allowed_uuid(adv.service_uuids):
            return
        address = advertisement.address.to_string(False)
        device = self.create_or_update_device(address, address, adv.local_name, advertisement.address, adv)
        self.call_detection_callbacks(device, adv)

    async def start(self) -> None:
        self.seen_devices = {}
        self._central.on("advertisement", self._on_advertisement)
        _arbiter(self._central).scanners += 1
        if not self._central.is_scanning:
            await self._central.start_scanning(filter_duplicates=False)

    async def stop(self) -> None:
        self._central.remove_listener("advertisement", self._on_advertisement)
        arbiter = _arbiter(self._central)
        arbiter.scanners -= 1
        if arbiter.scanners == 0 and self._central.is_scanning:
            await self._central.stop_scanning()


class BumbleClient(BaseBleakClient):
    """A GATT client on a bumble central ``Device`` (passed to bleak as ``central=``)."""

    def __init__(self, address_or_ble_device: BLEDevice | str, *, central: Device, **kwargs: Any):
        super().__init__(address_or_ble_device, **kwargs)
        self._central = central
        if isinstance(address_or_ble_device, BLEDevice):
            self._target: hci.Address | str = address_or_ble_device.details
        else:
            self._target = address_or_ble_device
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._subscriptions: dict[int, Callable[[bytes], None]] = {}

    @property
    def name(self) -> str:
        return self.address

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        try:
            async with _arbiter(self._central).connecting:
                connection = await self._central.connect(self._target, timeout=self._timeout)
        except (core.TimeoutError, asyncio.TimeoutError) as error:
            if isinstance(self._target, hci.Address):  # seen by a scan, then no answer: as bleak's OS backends
                raise TimeoutError(f"connecting to {self._target} timed out after {self._timeout:g} s") from error
            raise BleakDeviceNotFoundError(str(self._target), f"Device {self._target} not found: {error}") from error
        except core.BaseBumbleError as error:
            raise BleakError(f"connection to {self._target} failed: {error}") from error
        self._connection = connection
        connection.on("disconnection", self._on_disconnection)
        try:
            peer = Peer(connection)
            await peer.request_mtu(_PREFERRED_ATT_MTU)
            await peer.discover_all()
        except core.BaseBumbleError as error:
            raise BleakError(f"GATT discovery on {self._target} failed: {error}") from error
        self._peer = peer
        self.services = self._service_collection(peer)

    def _on_disconnection(self, reason: int) -> None:
        self._connection, self._peer, self.services = None, None, None
        self._subscriptions.clear()
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        if self._connection is not None:
            await self._connection.disconnect()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        if self._connection is None:
            raise BleakError("Not connected")
        await self._connection.pair()

    async def unpair(self) -> None:
        raise BleakError("unpairing is not supported by the simulated radio")

    def _service_collection(self, peer: Peer) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        for service in peer.services:
            bleak_service = BleakGATTService(service, service.handle, _bleak_uuid(service.uuid))
            collection.add_service(bleak_service)
            for characteristic in service.characteristics:
                properties = [name for bit, name in _PROPERTY_NAMES if characteristic.properties & bit]
                bleak_char = BleakGATTCharacteristic(
                    characteristic,
                    characteristic.handle,
                    _bleak_uuid(characteristic.uuid),
                    properties,  # type: ignore[arg-type]
                    lambda: self.mtu_size - 3,
                    bleak_service,
                )
                collection.add_characteristic(bleak_char)
                for descriptor in characteristic.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(descriptor, descriptor.handle, _bleak_uuid(descriptor.type), bleak_char)
                    )
        return collection

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any) -> bytearray:
        self._require_peer()
        return bytearray(await characteristic.obj.read_value())

    async def read_gatt_descriptor(self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any) -> bytearray:
        return bytearray(await self._require_peer().read_value(descriptor.handle))

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: Any, response: bool) -> None:
        self._require_peer()
        await characteristic.obj.write_value(bytes(data), with_response=response)

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        await self._require_peer().write_value(descriptor.handle, bytes(data), with_response=True)

    async def start_notify(self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any) -> None:
        def deliver(value: bytes) -> None:
            callback(bytearray(value))

        peer = self._require_peer()
        self._subscriptions[characteristic.handle] = deliver
        await peer.subscribe(characteristic.obj, deliver, prefer_notify=True)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        deliver = self._subscriptions.pop(characteristic.handle, None)
        await self._require_peer().unsubscribe(characteristic.obj, deliver)
