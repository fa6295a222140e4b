"""The PMD control point: requests the app writes, the answers and notices the strap indicates, settings TLVs, features.

Both directions, on bytes only: the app builds requests and parses answers (joining
multi-indication answers with :class:`ResponseAssembler`); the simulated strap builds the
answers, the features value and the "stream stopped" notice. Layouts are in the comments
above each function; sources as in :mod:`.polar_pmd`.

Thread: any. Pure functions, frozen records; a :class:`ResponseAssembler` belongs to one
connection and is not shared between threads.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Final, TypeAlias

import numpy as np

from .pmd_types import MEASUREMENT_TYPE_MASK, Payload, as_bytes, check_type, check_uint, format_error

CP_RESPONSE_CODE: Final = 0xF0  # first byte of a control point answer (indication)
CP_FEATURES_CODE: Final = 0x0F  # first byte of the control point's read value
ONLINE_MEASUREMENT_STOPPED: Final = 0x01  # first byte of a server-initiated "stream stopped"


class ControlOp(IntEnum):
    """Control point op codes the client writes (byte 0 of a request)."""

    GET_MEASUREMENT_SETTINGS = 1
    REQUEST_MEASUREMENT_START = 2
    STOP_MEASUREMENT = 3
    GET_SDK_MODE_MEASUREMENT_SETTINGS = 4
    GET_MEASUREMENT_STATUS = 5
    GET_SDK_MODE_STATUS = 6
    GET_OFFLINE_RECORDING_TRIGGER_STATUS = 7
    SET_OFFLINE_RECORDING_TRIGGER_MODE = 8
    SET_OFFLINE_RECORDING_TRIGGER_SETTINGS = 9


class PmdStatus(IntEnum):
    """Status byte of a control point answer."""

    SUCCESS = 0
    INVALID_OP_CODE = 1
    INVALID_MEASUREMENT_TYPE = 2
    NOT_SUPPORTED = 3
    INVALID_LENGTH = 4
    INVALID_PARAMETER = 5
    ALREADY_IN_STATE = 6
    INVALID_RESOLUTION = 7
    INVALID_SAMPLE_RATE = 8
    INVALID_RANGE = 9
    INVALID_MTU = 10
    INVALID_NUMBER_OF_CHANNELS = 11
    INVALID_STATE = 12
    DEVICE_IN_CHARGER = 13
    DISK_FULL = 14

    @property
    def description(self) -> str:
        """What the device means by this status, in plain words."""
        return _STATUS_TEXT[self]


_STATUS_TEXT: Final[Mapping[PmdStatus, str]] = {
    PmdStatus.SUCCESS: "the request succeeded",
    PmdStatus.INVALID_OP_CODE: "the device does not know this op code",
    PmdStatus.INVALID_MEASUREMENT_TYPE: "the device does not know this measurement type",
    PmdStatus.NOT_SUPPORTED: "the device does not support this measurement or request",
    PmdStatus.INVALID_LENGTH: "the request has the wrong length",
    PmdStatus.INVALID_PARAMETER: "a parameter of the request is invalid",
    PmdStatus.ALREADY_IN_STATE: "the measurement is already in the requested state",
    PmdStatus.INVALID_RESOLUTION: "the requested resolution is not offered",
    PmdStatus.INVALID_SAMPLE_RATE: "the requested sample rate is not offered",
    PmdStatus.INVALID_RANGE: "the requested range is not offered",
    PmdStatus.INVALID_MTU: "the ATT MTU is too small for this stream",
    PmdStatus.INVALID_NUMBER_OF_CHANNELS: "the requested number of channels is not offered",
    PmdStatus.INVALID_STATE: "the device cannot do this in its current state",
    PmdStatus.DEVICE_IN_CHARGER: "the device is in its charger",
    PmdStatus.DISK_FULL: "the device's storage is full",
}


def describe_status(code: int) -> str:
    """A status for people, e.g. ``"INVALID_SAMPLE_RATE (8): the requested sample rate ..."``."""
    try:
        status = PmdStatus(code)
    except ValueError:
        return f"unknown status {code} (not defined by the PMD specification)"
    return f"{status.name} ({int(status)}): {status.description}"


class SettingType(IntEnum):
    """Setting TLV types of measurement settings, start requests and start answers."""

    SAMPLE_RATE = 0  # Hz, uint16
    RESOLUTION = 1  # bits, uint16
    RANGE = 2  # g (ACC) or unit of the stream, uint16
    RANGE_MILLIUNIT = 3  # thousandths of the range unit, int32 (signed, as the SDK parses it)
    CHANNELS = 4  # count, uint8
    FACTOR = 5  # multiplier of compressed samples, float32 (in start answers only)
    SECURITY = 6  # 16-byte key, unsigned little-endian integer

    @property
    def value_size(self) -> int:
        """Bytes per value of this setting."""
        return _SETTING_SIZES[self]


_SETTING_SIZES: Final[Mapping[SettingType, int]] = {
    SettingType.SAMPLE_RATE: 2, SettingType.RESOLUTION: 2, SettingType.RANGE: 2,
    SettingType.RANGE_MILLIUNIT: 4, SettingType.CHANNELS: 1, SettingType.FACTOR: 4,
    SettingType.SECURITY: 16,
}
_SIGNED_SETTINGS: Final = frozenset({SettingType.RANGE_MILLIUNIT})  # two's complement values


# -- settings -------------------------------------------------------------------------------
# Settings, a sequence of TLVs (no padding), values little-endian:
#
#   byte 0        setting type (SettingType)
#   byte 1        count n of values that follow
#   n * size      values, size per type: SAMPLE_RATE, RESOLUTION, RANGE uint16; RANGE_MILLIUNIT
#                 int32; CHANNELS uint8; FACTOR float32 (IEEE 754); SECURITY 16 bytes (unsigned)
#
# A GET_MEASUREMENT_SETTINGS answer lists every value offered (e.g. ranges 2, 4, 8, 16 g);
# a start request gives one value per type; a start answer may carry FACTOR. An unknown type
# cannot be skipped (its size is unknown), so it is an error; so is a truncated TLV.
def decode_settings(data: Payload) -> dict[int, list[int | float]]:
    """Settings TLVs -> {setting type: values}; a repeated type appends to its list."""
    raw = as_bytes(data)
    out: dict[int, list[int | float]] = {}
    pos = 0
    while pos < len(raw):
        if pos + 2 > len(raw):
            raise format_error("settings", f"end in a truncated TLV header at byte {pos}", raw)
        code, count = raw[pos], raw[pos + 1]
        try:
            setting = SettingType(code)
        except ValueError:
            raise format_error("settings", f"have an unknown setting type {code} at byte {pos}", raw) from None
        size = setting.value_size
        end = pos + 2 + count * size
        if end > len(raw):
            problem = f"{setting.name} at byte {pos} declares {count} values of {size} bytes"
            raise format_error("settings", f"are truncated: {problem}, {len(raw) - pos - 2} left", raw)
        chunk = raw[pos + 2 : end]
        values: list[int | float]
        if setting is SettingType.FACTOR:
            values = [float(v) for v in struct.unpack(f"<{count}f", chunk)]
        else:
            signed = setting in _SIGNED_SETTINGS
            values = [int.from_bytes(chunk[i : i + size], "little", signed=signed) for i in range(0, len(chunk), size)]
        out.setdefault(int(setting), []).extend(values)
        pos = end
    return out


def encode_settings(settings: Mapping[SettingType | int, Sequence[int | float]]) -> bytes:
    """{setting type: values} -> settings TLVs, in the mapping's order (inverse of decode)."""
    out = bytearray()
    for code, values in settings.items():
        try:
            setting = SettingType(code)
        except ValueError:
            raise ValueError(f"unknown setting type {code!r}") from None
        if not 0 <= len(values) <= 0xFF:
            raise ValueError(f"{setting.name}: {len(values)} values do not fit a uint8 count")
        out += bytes([setting, len(values)])
        for value in values:
            if setting is SettingType.FACTOR:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError(f"FACTOR must be a number, got {value!r}")
                try:
                    out += struct.pack("<f", value)
                except OverflowError:
                    raise ValueError(f"FACTOR {value} does not fit a float32") from None
            elif setting in _SIGNED_SETTINGS:
                size = setting.value_size
                half = 2 ** (8 * size - 1)
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not -half <= value < half:
                    raise ValueError(f"{setting.name} must be an int in {-half}..{half - 1}, got {value!r}")
                out += int(value).to_bytes(size, "little", signed=True)
            else:
                size = setting.value_size
                out += check_uint(setting.name, value, 2 ** (8 * size) - 1).to_bytes(size, "little")
    return bytes(out)


# -- control point requests (client -> device, write with response) -------------------------
#   byte 0        op code (ControlOp)
#   byte 1        measurement type, bit 7 = offline recording (always 0 here: online streams)
#   bytes 2..     settings TLVs (REQUEST_MEASUREMENT_START only), one value per type
# e.g. start ECG 130 Hz / 14 bit: 02 00 | 00 01 82 00 | 01 01 0E 00
def get_settings_request(mtype: int) -> bytes:
    """GET_MEASUREMENT_SETTINGS for one measurement type (e.g. ``01 00`` for ECG)."""
    return bytes([ControlOp.GET_MEASUREMENT_SETTINGS, check_type(mtype)])


def start_request(mtype: int, settings: Mapping[int, int]) -> bytes:
    """REQUEST_MEASUREMENT_START with one value per setting, in the mapping's order.

    e.g. ``start_request(ECG, {SAMPLE_RATE: 130, RESOLUTION: 14})``. FACTOR is refused: the
    device sends it, the client never does.
    """
    if SettingType.FACTOR in settings:
        raise ValueError("FACTOR is a start answer's setting; a request cannot carry it")
    tlvs = encode_settings({code: [value] for code, value in settings.items()})
    return bytes([ControlOp.REQUEST_MEASUREMENT_START, check_type(mtype)]) + tlvs


def stop_request(mtype: int) -> bytes:
    """STOP_MEASUREMENT for one measurement type (e.g. ``03 00`` for ECG)."""
    return bytes([ControlOp.STOP_MEASUREMENT, check_type(mtype)])


# -- control point read value (features) -----------------------------------------------------
#   byte 0        0x0F
#   byte 1        bit n set: measurement type n offered (0 ECG, 1 PPG, 2 ACC, 3 PPI, 5 GYRO,
#                 6 MAG, 7 SKIN_TEMP)
#   byte 2        bit n set: type 8 + n (bit 1 SDK_MODE, 2 LOCATION, 3 PRESSURE, 4 TEMPERATURE,
#                 5 OFFLINE_RECORDING, 6 OFFLINE_HR)
#   bytes 3..     further bitmask bytes, if any, continue the numbering (LSB first)
# An H10 answers 0F 05 00 (ECG + ACC).
def decode_features(data: Payload) -> frozenset[int]:
    """The measurement types a device offers, from its control point read value."""
    raw = as_bytes(data)
    if len(raw) < 2:
        raise format_error("features", f"need at least 2 bytes, got {len(raw)}", raw)
    if raw[0] != CP_FEATURES_CODE:
        raise format_error("features", f"start with 0x{raw[0]:02X}, not 0x{CP_FEATURES_CODE:02X}", raw)
    mask = int.from_bytes(raw[1:], "little")
    return frozenset(bit for bit in range(8 * (len(raw) - 1)) if mask >> bit & 1)


def features_value(types: Iterable[int]) -> bytes:
    """The control point read value offering ``types`` (at least 2 bitmask bytes)."""
    mask = 0
    for mtype in types:
        mask |= 1 << check_type(mtype)
    return bytes([CP_FEATURES_CODE]) + mask.to_bytes(max(2, (mask.bit_length() + 7) // 8), "little")


# -- control point answers and notices (device -> client, indications) -----------------------
@dataclass(frozen=True, slots=True)
class ControlResponse:
    """One answer to a control point request (or several indications assembled)."""

    op: int  # the request's op code, echoed (ControlOp)
    measurement_type: int  # the request's byte 1, echoed (offline bit included)
    status: int  # PmdStatus
    more: bool = False  # further indications with more params follow
    params: bytes = b""  # settings TLVs for GET_MEASUREMENT_SETTINGS and START answers

    @property
    def ok(self) -> bool:
        return self.status == PmdStatus.SUCCESS

    @property
    def error_text(self) -> str:
        """"" on success, else the status described for people."""
        return "" if self.ok else describe_status(self.status)


@dataclass(frozen=True, slots=True)
class MeasurementStopped:
    """The device ended online streams on its own (ONLINE_MEASUREMENT_STOPPED)."""

    types: tuple[int, ...]  # measurement types whose stream ended


ControlMessage: TypeAlias = ControlResponse | MeasurementStopped


# Control point indication:
#
#   answer        byte 0      0xF0
#                 byte 1      op code of the request
#                 byte 2      measurement type byte of the request
#                 byte 3      status (PmdStatus)
#                 byte 4      more: != 0 -> further indications follow (success only; a missing
#                             byte means 0, and an error status is always the last indication)
#                 bytes 5..   parameters (settings TLVs); a following indication repeats the
#                             5-byte head and its bytes 5.. continue the parameters
#   notice        byte 0      0x01 ONLINE_MEASUREMENT_STOPPED (server-initiated)
#                 bytes 1..   measurement types (bits 0-5) whose online stream the device ended
def parse_control_message(data: Payload) -> ControlMessage:
    """Parse one control point indication; raise PmdFormatError when it is malformed."""
    raw = as_bytes(data)
    if not raw:
        raise format_error("control message", "is empty", raw)
    if raw[0] == ONLINE_MEASUREMENT_STOPPED:
        return MeasurementStopped(tuple(b & MEASUREMENT_TYPE_MASK for b in raw[1:]))
    if raw[0] != CP_RESPONSE_CODE:
        problem = f"starts with 0x{raw[0]:02X}: neither an answer (0xF0) nor a stop notice (0x01)"
        raise format_error("control message", problem, raw)
    if len(raw) < 4:
        raise format_error("control answer", f"is {len(raw)} bytes, shorter than its 4-byte head", raw)
    status = raw[3]
    more = status == PmdStatus.SUCCESS and len(raw) > 4 and raw[4] != 0
    return ControlResponse(op=raw[1], measurement_type=raw[2], status=status, more=more, params=raw[5:])


class ResponseAssembler:
    """Joins multi-indication control point answers; feed it every indication in order.

    ``feed`` returns a complete :class:`ControlResponse` (its params concatenated), a
    :class:`MeasurementStopped` notice (passed straight through, an unfinished answer stays
    pending), or None while an answer is incomplete. A continuation with an error status
    ends the answer with that error. An answer to another op or type while one is pending
    means the pending one can never complete (its request timed out): it is dropped, counted
    in ``discarded``, and the new indication is taken on its own.
    """

    def __init__(self) -> None:
        self._head: ControlResponse | None = None
        self._parts: list[bytes] = []
        self.discarded = 0  # unfinished answers dropped

    @property
    def pending(self) -> bool:
        return self._head is not None

    def reset(self) -> None:
        """Forget an unfinished answer (e.g. after a timeout or a reconnection)."""
        self._head, self._parts = None, []

    def feed(self, data: Payload) -> ControlMessage | None:
        message = parse_control_message(data)
        if isinstance(message, MeasurementStopped):
            return message
        head = self._head
        if head is not None and (message.op, message.measurement_type) != (head.op, head.measurement_type):
            self.discarded += 1
            self.reset()
            head = None
        if head is None:
            if message.more:
                self._head, self._parts = message, [message.params]
                return None
            return message
        if not message.ok:
            self.reset()
            return message
        self._parts.append(message.params)
        if message.more:
            return None
        complete = replace(head, more=False, params=b"".join(self._parts))
        self.reset()
        return complete


def control_response(op: int, mtype: int, status: int = 0, params: bytes = b"", more: bool = False) -> bytes:
    """One control point answer indication (the simulator's side)."""
    head = [check_uint("op", op, 0xFF), check_uint("measurement type byte", mtype, 0xFF),
            check_uint("status", status, 0xFF), 1 if more else 0]
    return bytes([CP_RESPONSE_CODE, *head]) + bytes(params)


def measurement_stopped(types: Iterable[int]) -> bytes:
    """An ONLINE_MEASUREMENT_STOPPED notice for ``types`` (the simulator's side)."""
    return bytes([ONLINE_MEASUREMENT_STOPPED, *(check_type(t) for t in types)])
