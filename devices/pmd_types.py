"""Shared pieces of the Polar Measurement Data (PMD) codec: measurement types, the format error, byte helpers.

Both halves of the codec use them: :mod:`.pmd_commands` (the control point) and
:mod:`.pmd_frames` (the data frames). The public codec is :mod:`.polar_pmd`.

Thread: any. Pure functions and constants.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final, TypeAlias

import numpy as np

Payload: TypeAlias = bytes | bytearray | memoryview

MEASUREMENT_TYPE_MASK: Final = 0x3F  # data frame byte 0 and stop notices: bits 0-5 measurement type


class PmdFormatError(ValueError):
    """PMD bytes that do not follow the layout (or use a type this codec does not know)."""


class MeasurementType(IntEnum):
    """PMD measurement types (data frame byte 0, request byte 1, feature bit number)."""

    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3
    GYRO = 5
    MAG = 6
    SKIN_TEMP = 7
    SDK_MODE = 9
    LOCATION = 10
    PRESSURE = 11
    TEMPERATURE = 12
    OFFLINE_RECORDING = 13
    OFFLINE_HR = 14
    OFFLINE_TEMP = 15


def as_bytes(payload: Payload) -> bytes:
    """The payload as bytes; TypeError for anything not bytes-like."""
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise TypeError(f"payload must be bytes-like, not {type(payload).__name__}")
    return bytes(payload)


def hex_preview(data: bytes, limit: int = 48) -> str:
    """The first ``limit`` bytes in hex, for error messages."""
    shown = data[:limit].hex() + ("..." if len(data) > limit else "")
    return f"payload hex: {shown or '<empty>'}"


def format_error(what: str, problem: str, data: bytes) -> PmdFormatError:
    """A PmdFormatError naming the part, the problem and the bytes."""
    return PmdFormatError(f"PMD {what} {problem} ({hex_preview(data)})")


def check_uint(name: str, value: object, maximum: int) -> int:
    """``value`` as an int in 0..maximum; ValueError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if not 0 <= int(value) <= maximum:
        raise ValueError(f"{name} must be in 0..{maximum}, got {value}")
    return int(value)


def check_type(mtype: int) -> int:
    """A measurement type number (0..63); ValueError otherwise."""
    return check_uint("measurement type", mtype, MEASUREMENT_TYPE_MASK)
