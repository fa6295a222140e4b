"""Codecs for the Bluetooth SIG Heart Rate Service and Battery Level characteristics.

Decodes and encodes Heart Rate Measurement (0x2A37), Body Sensor Location (0x2A38) and
Battery Level (0x2A19) payloads. Pure functions on bytes, no state and no I/O, so they are
safe to call from any thread. Neither Qt nor bleak is imported here. RR intervals are kept
as the raw 1/1024 s ticks the strap sent; milliseconds are derived from them exactly once.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Final, TypeAlias

__all__ = [
    "BatteryLevelFormatError", "BodySensorLocation", "BodySensorLocationFormatError",
    "HeartRateFormatError", "HeartRateMeasurement", "decode_battery_level",
    "decode_body_sensor_location", "decode_measurement", "encode_battery_level",
    "encode_measurement",
]

RR_TICKS_PER_SECOND: Final = 1024  # RR resolution, ticks per second
MS_PER_SECOND: Final = 1000  # milliseconds per second
UINT8_MAX: Final = 0xFF  # largest uint8 heart rate, bpm
UINT16_MAX: Final = 0xFFFF  # largest uint16 field (bpm, kJ or RR ticks)
BATTERY_MAX_PERCENT: Final = 100  # full battery, percent

Payload: TypeAlias = bytes | bytearray | memoryview

FLAG_HR_UINT16: Final = 0x01  # bit 0: HR value is uint16 (else uint8)
FLAG_CONTACT_DETECTED: Final = 0x02  # bit 1: skin contact detected (valid only with bit 2)
FLAG_CONTACT_SUPPORTED: Final = 0x04  # bit 2: sensor contact detection supported
FLAG_ENERGY_EXPENDED: Final = 0x08  # bit 3: energy expended field present
FLAG_RR_INTERVALS: Final = 0x10  # bit 4: one or more RR intervals present


class HeartRateFormatError(ValueError):
    """A Heart Rate Measurement (0x2A37) payload that does not follow the layout."""


class BatteryLevelFormatError(ValueError):
    """A Battery Level (0x2A19) payload that is not a single uint8 in 0..100."""


class BodySensorLocationFormatError(ValueError):
    """A Body Sensor Location (0x2A38) payload that is not a single known uint8 value."""


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    """One decoded 0x2A37 notification."""

    bpm: int
    contact: bool | None = None  # None: the strap does not support contact detection
    energy_kj: int | None = None  # cumulative energy expended, kJ (saturates at 0xFFFF)
    rr_1024: tuple[int, ...] = ()  # RR intervals in ticks of 1/1024 s, oldest first
    rr_ms: tuple[float, ...] = field(init=False)  # the same RR intervals in ms, unrounded

    def __post_init__(self) -> None:
        ticks = tuple(self.rr_1024)
        object.__setattr__(self, "rr_1024", ticks)
        object.__setattr__(
            self, "rr_ms", tuple(t * MS_PER_SECOND / RR_TICKS_PER_SECOND for t in ticks)
        )

    @property
    def contact_supported(self) -> bool:
        return self.contact is not None


def _as_bytes(payload: Payload) -> bytes:
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise TypeError(f"payload must be bytes-like, not {type(payload).__name__}")
    return bytes(payload)


def _hex(data: bytes) -> str:
    return f"payload hex: {data.hex() or '<empty>'}"


def _hr_error(problem: str, data: bytes) -> HeartRateFormatError:
    return HeartRateFormatError(f"Heart Rate Measurement {problem} ({_hex(data)})")


# Heart Rate Measurement 0x2A37 (notify), all multi-byte fields little-endian:
#
#   byte 0        flags (uint8)
#     bit 0       HR value format: 0 = uint8 bpm, 1 = uint16 bpm
#     bits 1-2    sensor contact status (bit 2 = supported, bit 1 = detected):
#                   0b00, 0b01  not supported (bit 1 alone is meaningless: 0x02 = "not supported")
#                   0b10        supported, contact not detected
#                   0b11        supported, contact detected
#     bit 3       energy expended present
#     bit 4       RR interval(s) present
#     bits 5-7    reserved for future use: ignored, so a strap that sets them still decodes
#   byte 1[-2]    heart rate, bpm: uint8, or uint16 when bit 0 is set
#   [+2 bytes]    energy expended, uint16 kJ since the last reset (0xFFFF = saturated),
#                 only when bit 3 is set
#   [+2 bytes*n]  RR intervals, uint16 ticks of 1/1024 s, oldest first, only when bit 4 is set;
#                 n = remaining length / 2. A 20-byte payload (ATT_MTU 23) holds at most 9 RR,
#                 but longer payloads (bigger MTU) are accepted.
#
# Decisions: bit 4 with no RR bytes gives rr_1024 == () (lenient, like bumble and bleakheart);
# an odd trailing byte after the RRs, or any byte after the HR/EE when bit 4 is clear, is an error.
def decode_measurement(payload: Payload) -> HeartRateMeasurement:
    """Decode one 0x2A37 payload; raise HeartRateFormatError when it is malformed."""
    data = _as_bytes(payload)
    if not data:
        raise _hr_error("is empty: no flags byte", data)
    flags = data[0]
    hr_size = 2 if flags & FLAG_HR_UINT16 else 1
    pos = 1 + hr_size
    if len(data) < pos:
        size = f"uint{8 * hr_size}"
        raise _hr_error(f"too short: flags say {size} HR but payload has {len(data)} bytes", data)
    bpm = int.from_bytes(data[1:pos], "little")
    contact = bool(flags & FLAG_CONTACT_DETECTED) if flags & FLAG_CONTACT_SUPPORTED else None

    energy_kj: int | None = None
    if flags & FLAG_ENERGY_EXPENDED:
        if len(data) < pos + 2:
            what = f"too short: flags say energy expended (2 bytes) after byte {pos - 1}"
            raise _hr_error(f"{what} but payload has {len(data)} bytes", data)
        energy_kj = int.from_bytes(data[pos : pos + 2], "little")
        pos += 2

    rest, n_rr = data[pos:], (len(data) - pos) // 2
    if not flags & FLAG_RR_INTERVALS and rest:
        raise _hr_error(f"has {len(rest)} unexpected trailing bytes (RR flag not set)", data)
    if len(rest) % 2:
        raise _hr_error(f"has an odd trailing byte after {n_rr} RR intervals", data)
    rr: tuple[int, ...] = struct.unpack(f"<{n_rr}H", rest)
    return HeartRateMeasurement(bpm=bpm, contact=contact, energy_kj=energy_kj, rr_1024=rr)


def _check_u16(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= UINT16_MAX:
        raise ValueError(f"{name} must be an int in 0..{UINT16_MAX}, got {value!r}")


def encode_measurement(
    bpm: int,
    rr_1024: Sequence[int] = (),
    *,
    contact: bool | None = None,
    energy_kj: int | None = None,
    uint16: bool | None = None,
) -> bytes:
    """Build a 0x2A37 payload (the inverse of decode_measurement).

    uint16=None picks the uint16 HR format only when bpm > 255; contact=None sets the
    "not supported" status bits (0b00). Out-of-range values raise ValueError.
    """
    _check_u16("bpm", bpm)
    if uint16 is None:
        uint16 = bpm > UINT8_MAX
    elif not uint16 and bpm > UINT8_MAX:
        raise ValueError(f"bpm {bpm} does not fit the uint8 HR format")
    flags = FLAG_HR_UINT16 if uint16 else 0
    if contact is not None:
        flags |= FLAG_CONTACT_SUPPORTED | (FLAG_CONTACT_DETECTED if contact else 0)
    out = bytearray(bpm.to_bytes(2 if uint16 else 1, "little"))
    if energy_kj is not None:
        _check_u16("energy_kj", energy_kj)
        flags |= FLAG_ENERGY_EXPENDED
        out += energy_kj.to_bytes(2, "little")
    if rr_1024:
        for tick in rr_1024:
            _check_u16("RR interval (1/1024 s ticks)", tick)
        flags |= FLAG_RR_INTERVALS
        out += struct.pack(f"<{len(rr_1024)}H", *rr_1024)
    return bytes([flags]) + bytes(out)


def _single_byte(payload: Payload, error: type[ValueError], what: str) -> int:
    data = _as_bytes(payload)
    if len(data) != 1:
        raise error(f"{what} must be exactly 1 byte, got {len(data)} ({_hex(data)})")
    return data[0]


# Battery Level 0x2A19 (read, optional notify): one uint8, percent 0..100.
def decode_battery_level(payload: Payload) -> int:
    """Decode a Battery Level payload to percent; raise BatteryLevelFormatError if malformed."""
    percent = _single_byte(payload, BatteryLevelFormatError, "Battery Level")
    if percent > BATTERY_MAX_PERCENT:
        problem = f"Battery Level {percent} % is above {BATTERY_MAX_PERCENT} %"
        raise BatteryLevelFormatError(f"{problem} ({_hex(bytes([percent]))})")
    return percent


def encode_battery_level(percent: int) -> bytes:
    """Build a Battery Level payload; percent must be an int in 0..100."""
    if isinstance(percent, bool) or not isinstance(percent, int):
        raise ValueError(f"battery percent must be an int, got {percent!r}")
    if not 0 <= percent <= BATTERY_MAX_PERCENT:
        raise ValueError(f"battery percent must be in 0..{BATTERY_MAX_PERCENT}, got {percent}")
    return bytes([percent])


# Body Sensor Location 0x2A38 (read): one uint8; 7..255 are reserved.
class BodySensorLocation(IntEnum):
    OTHER = 0
    CHEST = 1
    WRIST = 2
    FINGER = 3
    HAND = 4
    EAR_LOBE = 5
    FOOT = 6

    @property
    def label(self) -> str:
        """Human-readable name, e.g. "Ear Lobe"."""
        return self.name.replace("_", " ").title()


def decode_body_sensor_location(payload: Payload) -> BodySensorLocation:
    """Decode a Body Sensor Location payload; raise BodySensorLocationFormatError if malformed."""
    value = _single_byte(payload, BodySensorLocationFormatError, "Body Sensor Location")
    if value > max(BodySensorLocation):
        problem = f"Body Sensor Location {value} is a reserved value (known: 0..6)"
        raise BodySensorLocationFormatError(f"{problem} ({_hex(bytes([value]))})")
    return BodySensorLocation(value)
