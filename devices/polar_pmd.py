"""Codec for the Polar Measurement Data (PMD) service: raw ECG and acceleration from a Polar H10.

Both directions, on bytes only: the app decodes data frames and control point answers and
builds the requests; the simulated strap builds the answers and the frames. No BLE I/O and
no state except :class:`ResponseAssembler` (one per connection). The UUIDs of the service,
its control point (read, write, indicate) and its data characteristic (notify) are
``POLAR_PMD_*`` in :mod:`.gatt_uuids`.

Sources: research/ble.md §4 (polar-ble-sdk's Kotlin client, its unit tests and Polar's
online-measurement document). Units: ECG in µV, acceleration in mG (thousandths of g),
device times in ns since 2000-01-01T00:00:00Z (the strap's own clock, not the host's).

Thread: any. Pure functions, frozen records; a :class:`ResponseAssembler` belongs to one
connection and is not shared between threads.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import IntEnum
from numbers import Real
from typing import Final, TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_RESOLUTION_BITS", "ControlOp", "ControlResponse", "MeasurementStopped", "MeasurementType", "PMD_EPOCH_UNIX_S",
    "PmdDataFrame", "PmdFormatError", "PmdStatus", "ResponseAssembler", "SettingType",
    "control_response", "decode_data_frame", "decode_features", "decode_settings",
    "describe_status", "device_time_to_unix_s", "encode_acc_frame", "encode_compressed_frame",
    "encode_ecg_frame", "encode_settings", "features_value", "get_settings_request",
    "max_compressed_samples_per_frame", "max_samples_per_frame", "measurement_stopped",
    "parse_control_message", "sample_times_ns", "start_request", "stop_request",
]

Payload: TypeAlias = bytes | bytearray | memoryview

PMD_EPOCH_UNIX_S: Final = 946684800  # 2000-01-01T00:00:00Z in Unix seconds (device time zero)
NS_PER_S: Final = 1_000_000_000  # nanoseconds per second

FRAME_HEADER_SIZE: Final = 10  # bytes: type, 8-byte timestamp, frame type
MEASUREMENT_TYPE_MASK: Final = 0x3F  # data frame byte 0: bits 0-5 measurement type
COMPRESSED_BIT: Final = 0x80  # data frame byte 9: bit 7 = delta-compressed frame
FRAME_TYPE_MASK: Final = 0x7F  # data frame byte 9: bits 0-6 frame type
MAX_DELTA_BITS: Final = 32  # widest delta a compressed block may declare, bits
MAX_BLOCK_SAMPLES: Final = 255  # most samples one delta block can count (uint8)
MAX_REFERENCE_BITS: Final = 32  # widest reference sample accepted (4 bytes per channel), bits

CP_RESPONSE_CODE: Final = 0xF0  # first byte of a control point answer (indication)
CP_FEATURES_CODE: Final = 0x0F  # first byte of the control point's read value
ONLINE_MEASUREMENT_STOPPED: Final = 0x01  # first byte of a server-initiated "stream stopped"

ATT_HEADER_SIZE: Final = 3  # bytes of an ATT notification ahead of its value (opcode + handle)
ATT_MIN_MTU: Final = 23  # smallest ATT_MTU (LE default), bytes
MAX_ATTRIBUTE_VALUE: Final = 512  # longest attribute value the Core spec allows, bytes

UINT64_MAX: Final = 2**64 - 1  # largest device timestamp, ns
INT64_MAX: Final = 2**63 - 1  # largest device timestamp numpy can hold per sample, ns


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


def _as_bytes(payload: Payload) -> bytes:
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise TypeError(f"payload must be bytes-like, not {type(payload).__name__}")
    return bytes(payload)


def _hex(data: bytes, limit: int = 48) -> str:
    shown = data[:limit].hex() + ("..." if len(data) > limit else "")
    return f"payload hex: {shown or '<empty>'}"


def _error(what: str, problem: str, data: bytes) -> PmdFormatError:
    return PmdFormatError(f"PMD {what} {problem} ({_hex(data)})")


def _check_uint(name: str, value: object, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if not 0 <= int(value) <= maximum:
        raise ValueError(f"{name} must be in 0..{maximum}, got {value}")
    return int(value)


def _check_type(mtype: int) -> int:
    return _check_uint("measurement type", mtype, MEASUREMENT_TYPE_MASK)


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
    raw = _as_bytes(data)
    out: dict[int, list[int | float]] = {}
    pos = 0
    while pos < len(raw):
        if pos + 2 > len(raw):
            raise _error("settings", f"end in a truncated TLV header at byte {pos}", raw)
        code, count = raw[pos], raw[pos + 1]
        try:
            setting = SettingType(code)
        except ValueError:
            raise _error("settings", f"have an unknown setting type {code} at byte {pos}", raw) from None
        size = setting.value_size
        end = pos + 2 + count * size
        if end > len(raw):
            problem = f"{setting.name} at byte {pos} declares {count} values of {size} bytes"
            raise _error("settings", f"are truncated: {problem}, {len(raw) - pos - 2} left", raw)
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
                out += _check_uint(setting.name, value, 2 ** (8 * size) - 1).to_bytes(size, "little")
    return bytes(out)


# -- control point requests (client -> device, write with response) -------------------------
#   byte 0        op code (ControlOp)
#   byte 1        measurement type, bit 7 = offline recording (always 0 here: online streams)
#   bytes 2..     settings TLVs (REQUEST_MEASUREMENT_START only), one value per type
# e.g. start ECG 130 Hz / 14 bit: 02 00 | 00 01 82 00 | 01 01 0E 00
def get_settings_request(mtype: int) -> bytes:
    """GET_MEASUREMENT_SETTINGS for one measurement type (e.g. ``01 00`` for ECG)."""
    return bytes([ControlOp.GET_MEASUREMENT_SETTINGS, _check_type(mtype)])


def start_request(mtype: int, settings: Mapping[int, int]) -> bytes:
    """REQUEST_MEASUREMENT_START with one value per setting, in the mapping's order.

    e.g. ``start_request(ECG, {SAMPLE_RATE: 130, RESOLUTION: 14})``. FACTOR is refused: the
    device sends it, the client never does.
    """
    if SettingType.FACTOR in settings:
        raise ValueError("FACTOR is a start answer's setting; a request cannot carry it")
    tlvs = encode_settings({code: [value] for code, value in settings.items()})
    return bytes([ControlOp.REQUEST_MEASUREMENT_START, _check_type(mtype)]) + tlvs


def stop_request(mtype: int) -> bytes:
    """STOP_MEASUREMENT for one measurement type (e.g. ``03 00`` for ECG)."""
    return bytes([ControlOp.STOP_MEASUREMENT, _check_type(mtype)])


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
    raw = _as_bytes(data)
    if len(raw) < 2:
        raise _error("features", f"need at least 2 bytes, got {len(raw)}", raw)
    if raw[0] != CP_FEATURES_CODE:
        raise _error("features", f"start with 0x{raw[0]:02X}, not 0x{CP_FEATURES_CODE:02X}", raw)
    mask = int.from_bytes(raw[1:], "little")
    return frozenset(bit for bit in range(8 * (len(raw) - 1)) if mask >> bit & 1)


def features_value(types: Iterable[int]) -> bytes:
    """The control point read value offering ``types`` (at least 2 bitmask bytes)."""
    mask = 0
    for mtype in types:
        mask |= 1 << _check_type(mtype)
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
    raw = _as_bytes(data)
    if not raw:
        raise _error("control message", "is empty", raw)
    if raw[0] == ONLINE_MEASUREMENT_STOPPED:
        return MeasurementStopped(tuple(b & MEASUREMENT_TYPE_MASK for b in raw[1:]))
    if raw[0] != CP_RESPONSE_CODE:
        problem = f"starts with 0x{raw[0]:02X}: neither an answer (0xF0) nor a stop notice (0x01)"
        raise _error("control message", problem, raw)
    if len(raw) < 4:
        raise _error("control answer", f"is {len(raw)} bytes, shorter than its 4-byte head", raw)
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
    head = [_check_uint("op", op, 0xFF), _check_uint("measurement type byte", mtype, 0xFF),
            _check_uint("status", status, 0xFF), 1 if more else 0]
    return bytes([CP_RESPONSE_CODE, *head]) + bytes(params)


def measurement_stopped(types: Iterable[int]) -> bytes:
    """An ONLINE_MEASUREMENT_STOPPED notice for ``types`` (the simulator's side)."""
    return bytes([ONLINE_MEASUREMENT_STOPPED, *(_check_type(t) for t in types)])


# -- data frames ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, eq=False)
class PmdDataFrame:
    """One decoded data notification (compared by identity: ``samples`` is an array).

    ``samples``: ECG in µV, shape (n,); ACC in mG, shape (n, 3); PPG in device counts,
    shape (n, 4) (three PPG channels, then ambient light). int64 when the wire integers are
    returned unchanged, float64 when they were scaled (compressed frames with a factor other
    than 1, and compressed ACC type 0, which carries g).
    """

    measurement_type: int
    timestamp_ns: int  # device clock, ns since 2000-01-01T00:00Z, stamp of the LAST sample
    frame_type: int  # bits 0-6 of byte 9
    compressed: bool  # bit 7 of byte 9
    samples: npt.NDArray[np.int64] | npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class _RawLayout:
    channels: int
    width: int  # bytes per channel value, signed little-endian


@dataclass(frozen=True, slots=True)
class _DeltaLayout:
    channels: int
    scale: float  # samples x factor x scale -> the frame's unit


# Uncompressed layouts: (measurement type, frame type) -> channels x signed LE width.
_RAW_LAYOUTS: Final[Mapping[tuple[int, int], _RawLayout]] = {
    (MeasurementType.ECG, 0): _RawLayout(1, 3),  # µV; the H10's only ECG frame
    (MeasurementType.ACC, 0): _RawLayout(3, 1),  # x, y, z mG, 8 bit
    (MeasurementType.ACC, 1): _RawLayout(3, 2),  # x, y, z mG, 16 bit (the H10's ACC frame)
    (MeasurementType.ACC, 2): _RawLayout(3, 3),  # x, y, z mG, 24 bit
    (MeasurementType.PPG, 0): _RawLayout(4, 3),  # ppg0, ppg1, ppg2, ambient, counts
}
# Compressed layouts: ACC type 0 carries g (samples x factor x 1000 -> mG, as polar-ble-sdk's
# AccData does); every other layout is already in the frame's unit once multiplied by factor.
_DELTA_LAYOUTS: Final[Mapping[tuple[int, int], _DeltaLayout]] = {
    (MeasurementType.ECG, 0): _DeltaLayout(1, 1.0),
    (MeasurementType.ACC, 0): _DeltaLayout(3, 1000.0),
    (MeasurementType.ACC, 1): _DeltaLayout(3, 1.0),
    (MeasurementType.PPG, 0): _DeltaLayout(4, 1.0),
}
_DECODABLE_TYPES: Final = frozenset(m for m, _ in (*_RAW_LAYOUTS, *_DELTA_LAYOUTS))

# Reference-sample resolution of compressed frames when the caller does not know the
# stream's RESOLUTION setting, bits (the reference is ceil(bits / 8) bytes per channel):
#   ACC 16 -> 2 bytes: polar-ble-sdk parses compressed ACC with a fixed 16.
#   PPG 22 -> 3 bytes: the Verity Sense's setting; the SDK passes 24, the same 3 bytes.
#   ECG 24 -> 3 bytes: the SDK has no compressed-ECG parser; we use the width of the raw
#          type-0 µV sample. The H10's RESOLUTION 14 would give ceil(14 / 8) = 2 bytes, so
#          callers that pass the stream's resolution get the formula, not this default.
DEFAULT_RESOLUTION_BITS: Final[Mapping[int, int]] = {
    MeasurementType.ECG: 24, MeasurementType.ACC: 16, MeasurementType.PPG: 22,
}

# Channel counts of compressed frames, per measurement type (for the encoder).
_DELTA_CHANNELS: Final[Mapping[int, int]] = {m: layout.channels for (m, _), layout in _DELTA_LAYOUTS.items()}
_SHIFT_BY_WIDTH: Final = {w: 8 * (4 - w) for w in (1, 2, 3, 4)}  # bits to shift a top-aligned int32


def _signed_le(raw: bytes, offset: int, count: int, width: int) -> npt.NDArray[np.int64]:
    """``count`` signed little-endian integers of ``width`` (1-4) bytes from raw[offset:]."""
    src = np.frombuffer(raw, dtype=np.uint8, count=count * width, offset=offset).reshape(count, width)
    padded = np.zeros((count, 4), dtype=np.uint8)
    padded[:, 4 - width :] = src  # top-aligned: the sign bit lands on bit 31 of an int32
    return (padded.view("<i4").reshape(count) >> _SHIFT_BY_WIDTH[width]).astype(np.int64)


def _weights(bits: int) -> npt.NDArray[np.int64]:
    return np.left_shift(np.int64(1), np.arange(bits, dtype=np.int64))


_WEIGHTS: Final = {bits: _weights(bits) for bits in range(1, MAX_DELTA_BITS + 1)}


def _unpack_deltas(raw: bytes, offset: int, n_bytes: int, bits: int, n_values: int) -> npt.NDArray[np.int64]:
    """``n_values`` two's-complement integers of ``bits`` packed LSB-first from raw[offset:]."""
    stream = np.frombuffer(raw, dtype=np.uint8, count=n_bytes, offset=offset)
    bit_rows = np.unpackbits(stream, bitorder="little")[: n_values * bits].reshape(n_values, bits)
    values = bit_rows.astype(np.int64) @ _WEIGHTS[bits]
    return values - ((values >> (bits - 1)) << bits)  # sign bit set: subtract 2**bits


def _reference_bytes(mtype: int, resolution_bits: int | None) -> int:
    if resolution_bits is None:
        resolution_bits = DEFAULT_RESOLUTION_BITS[mtype]
    if isinstance(resolution_bits, bool) or not isinstance(resolution_bits, (int, np.integer)):
        raise ValueError(f"resolution_bits must be an int or None, got {resolution_bits!r}")
    if not 1 <= resolution_bits <= MAX_REFERENCE_BITS:
        raise ValueError(f"resolution_bits must be in 1..{MAX_REFERENCE_BITS}, got {resolution_bits}")
    return (int(resolution_bits) + 7) // 8


# Compressed payload (after the 10-byte header), frame type bit 7 set:
#
#   channels x R bytes   reference sample = sample 0, each channel signed little-endian;
#                        R = ceil(resolution / 8) (sign taken from the top bit of the R bytes)
#   then blocks, until the payload ends exactly:
#     byte 0             delta width b in bits (1..32)
#     byte 1             count c of samples in the block (1..255)
#     ceil(b*ch*c/8) B   c x ch deltas, channel-interleaved (s1c0, s1c1, ..., s2c0, ...), each
#                        b-bit two's complement, packed LSB-first across the byte stream (bit 0
#                        of the first byte is the first delta's bit 0); padding bits ignored
#   sample k = sample k-1 + delta k, per channel
def _decode_delta_payload(raw: bytes, channels: int, ref_width: int) -> npt.NDArray[np.int64]:
    ref_end = FRAME_HEADER_SIZE + channels * ref_width
    if len(raw) < ref_end:
        problem = f"payload of {len(raw) - FRAME_HEADER_SIZE} bytes is shorter than its reference sample"
        raise _error("compressed frame", f"{problem} ({channels} x {ref_width} bytes)", raw)
    parts = [_signed_le(raw, FRAME_HEADER_SIZE, channels, ref_width).reshape(1, channels)]
    pos = ref_end
    while pos < len(raw):
        if pos + 2 > len(raw):
            raise _error("compressed frame", f"ends in a truncated delta block header at byte {pos}", raw)
        bits, count = raw[pos], raw[pos + 1]
        if not 1 <= bits <= MAX_DELTA_BITS:
            raise _error("compressed frame", f"block at byte {pos} declares {bits}-bit deltas (1..32)", raw)
        if count == 0:
            raise _error("compressed frame", f"block at byte {pos} declares zero samples", raw)
        n_bytes = (bits * channels * count + 7) // 8
        if pos + 2 + n_bytes > len(raw):
            problem = f"block at byte {pos} needs {n_bytes} bytes of deltas, {len(raw) - pos - 2} left"
            raise _error("compressed frame", f"is truncated: {problem}", raw)
        parts.append(_unpack_deltas(raw, pos + 2, n_bytes, bits, count * channels).reshape(count, channels))
        pos += 2 + n_bytes
    samples = np.concatenate(parts) if len(parts) > 1 else parts[0]
    return np.cumsum(samples, axis=0)


# Data notification (PMD data characteristic):
#
#   byte 0        measurement type (bits 0-5; bits 6-7 ignored)
#   bytes 1-8     timestamp, uint64 LE: ns since 2000-01-01T00:00:00Z of the LAST sample
#   byte 9        frame type: bits 0-6 type, bit 7 compressed (delta frames, layout above)
#   bytes 10..    samples; uncompressed: channels x width bytes each, signed LE, channels
#                 interleaved per sample, no padding:
#                   ECG type 0      1 x 3 B   µV
#                   ACC type 0/1/2  3 x 1/2/3 B  x, y, z mG
#                   PPG type 0      4 x 3 B   ppg0, ppg1, ppg2, ambient
#
# Decisions: a frame must hold at least one sample; uncompressed payloads must be a whole
# number of samples; other measurement or frame types are PmdFormatError (not decodable here).
def decode_data_frame(
    payload: Payload, *, factor: float = 1.0, resolution_bits: int | None = None
) -> PmdDataFrame:
    """Decode one PMD data notification; raise PmdFormatError when it is malformed.

    ``factor``: the FACTOR setting of the stream's start answer (1.0 when it had none);
    compressed samples are multiplied by it (ACC type 0 also by 1000: g -> mG). Raw frames
    are already in µV / mG and ignore it. ``resolution_bits``: the stream's RESOLUTION
    setting, which sizes a compressed frame's reference sample; None uses
    ``DEFAULT_RESOLUTION_BITS``. Both keywords are the caller's knowledge, not the frame's:
    bad values raise ValueError, not PmdFormatError.
    """
    raw = _as_bytes(payload)
    if isinstance(factor, bool) or not isinstance(factor, Real) or not math.isfinite(factor):
        raise ValueError(f"factor must be a finite number, got {factor!r}")
    if len(raw) < FRAME_HEADER_SIZE:
        raise _error("data frame", f"is {len(raw)} bytes, shorter than its {FRAME_HEADER_SIZE}-byte header", raw)
    mtype = raw[0] & MEASUREMENT_TYPE_MASK
    if mtype not in _DECODABLE_TYPES:
        raise _error("data frame", f"has measurement type {mtype}, which this codec does not decode", raw)
    timestamp_ns = int.from_bytes(raw[1:9], "little")
    frame_type, compressed = raw[9] & FRAME_TYPE_MASK, bool(raw[9] & COMPRESSED_BIT)
    name = MeasurementType(mtype).name
    samples: npt.NDArray[np.int64] | npt.NDArray[np.float64]
    if compressed:
        delta = _DELTA_LAYOUTS.get((mtype, frame_type))
        if delta is None:
            raise _error("data frame", f"has unknown compressed {name} frame type {frame_type}", raw)
        ref_width = _reference_bytes(mtype, resolution_bits)
        values = _decode_delta_payload(raw, delta.channels, ref_width)
        scale = float(factor) * delta.scale
        samples = values * scale if scale != 1.0 else values
        if delta.channels == 1:
            samples = samples.reshape(-1)
    else:
        layout = _RAW_LAYOUTS.get((mtype, frame_type))
        if layout is None:
            raise _error("data frame", f"has unknown {name} frame type {frame_type}", raw)
        size = layout.channels * layout.width
        n_bytes = len(raw) - FRAME_HEADER_SIZE
        if n_bytes == 0:
            raise _error("data frame", "holds no samples", raw)
        if n_bytes % size:
            problem = f"{n_bytes} bytes of {name} samples are not a multiple of the {size}-byte sample"
            raise _error("data frame", problem, raw)
        values = _signed_le(raw, FRAME_HEADER_SIZE, n_bytes // layout.width, layout.width)
        samples = values if layout.channels == 1 else values.reshape(-1, layout.channels)
    return PmdDataFrame(mtype, timestamp_ns, frame_type, compressed, samples)


# -- encoders (the simulated strap) ----------------------------------------------------------
def _header(mtype: int, timestamp_ns: int, frame_type: int, compressed: bool) -> bytes:
    ts = _check_uint("timestamp_ns", timestamp_ns, UINT64_MAX)
    ft = _check_uint("frame type", frame_type, FRAME_TYPE_MASK) | (COMPRESSED_BIT if compressed else 0)
    return bytes([_check_type(mtype)]) + ts.to_bytes(8, "little") + bytes([ft])


def _integers(name: str, samples: object, shape_tail: tuple[int, ...]) -> npt.NDArray[np.int64]:
    """Samples as an int64 array of shape (n, *shape_tail), n >= 1; integral floats accepted."""
    array = np.asarray(samples)
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or not np.array_equal(array, np.round(array)):
            raise ValueError(f"{name} must be whole numbers")
    elif array.dtype.kind not in "iu" and array.size:
        raise ValueError(f"{name} must be integers, got dtype {array.dtype}")
    if array.ndim != 1 + len(shape_tail) or array.shape[1:] != shape_tail or array.shape[0] == 0:
        want = ", ".join(["n >= 1", *map(str, shape_tail)])
        raise ValueError(f"{name} must have shape ({want}), got {array.shape}")
    if array.dtype.kind == "u" and array.size and int(array.max()) > INT64_MAX:
        raise ValueError(f"{name} exceed the int64 range")
    return array.astype(np.int64)


def _pack_signed(values: npt.NDArray[np.int64], width: int) -> bytes:
    limit = 1 << (8 * width - 1)
    if values.size and (int(values.min()) < -limit or int(values.max()) >= limit):
        raise ValueError(f"values must fit {8 * width}-bit signed integers (-{limit}..{limit - 1})")
    return values.astype("<i8").reshape(-1, 1).view(np.uint8)[:, :width].tobytes()


def encode_ecg_frame(timestamp_ns: int, samples_uv: Sequence[int] | npt.ArrayLike) -> bytes:
    """An uncompressed ECG frame, type 0: 3-byte signed µV per sample (the H10's format)."""
    values = _integers("ECG samples", samples_uv, ())
    return _header(MeasurementType.ECG, timestamp_ns, 0, False) + _pack_signed(values, 3)


def encode_acc_frame(timestamp_ns: int, samples_mg: npt.ArrayLike, frame_type: int = 1) -> bytes:
    """An uncompressed ACC frame: type 0/1/2 = 8/16/24-bit signed x, y, z in mG (H10: type 1)."""
    layout = _RAW_LAYOUTS.get((MeasurementType.ACC, frame_type))
    if layout is None:
        raise ValueError(f"ACC raw frame type must be 0, 1 or 2, got {frame_type!r}")
    values = _integers("ACC samples", samples_mg, (3,))
    return _header(MeasurementType.ACC, timestamp_ns, frame_type, False) + _pack_signed(values, layout.width)


def _delta_bits(deltas: npt.NDArray[np.int64]) -> int:
    """The fewest two's-complement bits holding every delta (at least 1)."""
    magnitude = max(int(deltas.max()), -int(deltas.min()) - 1)
    return max(magnitude, 0).bit_length() + 1


def _pack_block(deltas: npt.NDArray[np.int64], bits: int) -> bytes:
    flat = deltas.reshape(-1).astype(np.uint64) & np.uint64((1 << bits) - 1)
    bit_rows = (flat[:, None] >> np.arange(bits, dtype=np.uint64)) & np.uint64(1)
    return np.packbits(bit_rows.astype(np.uint8).reshape(-1), bitorder="little").tobytes()


def encode_compressed_frame(
    mtype: int,
    timestamp_ns: int,
    samples: npt.ArrayLike,
    resolution_bits: int,
    frame_type: int = 0,
    *,
    block_samples: int = MAX_BLOCK_SAMPLES,
) -> bytes:
    """A delta-compressed frame of ECG (1 channel), ACC (3) or PPG (4) integer samples.

    ``samples`` has shape (n, channels) ((n,) is accepted for ECG); sample 0 is the
    reference, written in ceil(resolution_bits / 8) bytes per channel. The rest go in blocks
    of at most ``block_samples`` (<= 255), each with the fewest delta bits its largest
    delta needs. Decode with the same ``resolution_bits`` (and, for ACC type 0, note the
    decoder's x1000: that layout carries g).
    """
    if (mtype, frame_type) not in _DELTA_LAYOUTS:
        raise ValueError(f"no compressed layout for measurement type {mtype!r}, frame type {frame_type!r}")
    if not 1 <= block_samples <= MAX_BLOCK_SAMPLES:
        raise ValueError(f"block_samples must be in 1..{MAX_BLOCK_SAMPLES}, got {block_samples}")
    channels = _DELTA_CHANNELS[mtype]
    array = np.asarray(samples)
    if channels == 1 and array.ndim == 1:
        array = array.reshape(-1, 1)
    values = _integers(f"{MeasurementType(mtype).name} samples", array, (channels,))
    ref_width = _reference_bytes(mtype, resolution_bits)
    out = bytearray(_header(mtype, timestamp_ns, frame_type, True))
    try:
        out += _pack_signed(values[0], ref_width)
    except ValueError as error:
        raise ValueError(f"reference sample {values[0].tolist()}: {error}") from None
    deltas = np.diff(values, axis=0)
    for start in range(0, len(deltas), block_samples):
        block = deltas[start : start + block_samples]
        bits = _delta_bits(block)
        if bits > MAX_DELTA_BITS:
            raise ValueError(f"a delta at sample {start + 1}.. needs {bits} bits (at most {MAX_DELTA_BITS})")
        out += bytes([bits, len(block)]) + _pack_block(block, bits)
    return bytes(out)


# -- frame sizing -----------------------------------------------------------------------------
def _frame_budget(mtu: int) -> int:
    mtu = _check_uint("ATT MTU", mtu, 0xFFFF)
    if mtu < ATT_MIN_MTU:
        raise ValueError(f"ATT MTU must be at least {ATT_MIN_MTU}, got {mtu}")
    return min(mtu - ATT_HEADER_SIZE, MAX_ATTRIBUTE_VALUE) - FRAME_HEADER_SIZE


def max_samples_per_frame(mtu: int, bytes_per_sample: int) -> int:
    """Samples of ``bytes_per_sample`` that fit one uncompressed frame at this ATT MTU.

    A notification carries MTU - 3 bytes (never more than the 512-byte attribute maximum);
    the frame header takes 10. With MTU 232 a 130 Hz ECG frame (3 B/sample) holds 73 samples,
    an ACC type-1 frame (6 B) 36; at the default MTU 23, 3 and 1.
    """
    if _check_uint("bytes_per_sample", bytes_per_sample, MAX_ATTRIBUTE_VALUE) == 0:
        raise ValueError("bytes_per_sample must be at least 1")
    return _frame_budget(mtu) // bytes_per_sample


def max_compressed_samples_per_frame(mtu: int, channels: int, resolution_bits: int, delta_bits: int) -> int:
    """Samples (reference included) that surely fit one compressed frame at this ATT MTU
    when every delta needs ``delta_bits``: the worst case an encoder must plan for."""
    if channels < 1 or not 1 <= delta_bits <= MAX_DELTA_BITS or not 1 <= resolution_bits <= MAX_REFERENCE_BITS:
        raise ValueError(f"need channels >= 1, delta_bits in 1..{MAX_DELTA_BITS} and resolution_bits in 1..32")
    budget = _frame_budget(mtu) - channels * ((resolution_bits + 7) // 8)
    if budget < 0:
        return 0
    full_block = 2 + (delta_bits * channels * MAX_BLOCK_SAMPLES + 7) // 8
    n_full, rest = divmod(budget, full_block)
    extra = max(0, min(MAX_BLOCK_SAMPLES - 1, (8 * (rest - 2)) // (delta_bits * channels))) if rest > 2 else 0
    return 1 + n_full * MAX_BLOCK_SAMPLES + extra


# -- time -------------------------------------------------------------------------------------
def sample_times_ns(
    timestamp_ns: int, n: int, rate_hz: float, previous_timestamp_ns: int | None = None
) -> npt.NDArray[np.int64]:
    """Device time of each of a frame's ``n`` samples, ns; the last is ``timestamp_ns``.

    Polar's rule (polar-ble-sdk PmdTimeStampUtils): after a previous frame stamped ``prev``,
    Δ = (timestamp - prev) / n and sample k sits at prev + (k + 1)Δ; without one (the first
    frame, or after a loss or a STOP) Δ = 1e9 / rate_hz, counted back from the stamp. Times
    are rounded half to even, as the SDK does.
    """
    if n < 1:
        raise ValueError(f"a frame has at least one sample, got n={n}")
    if not 0 <= timestamp_ns <= INT64_MAX:
        raise ValueError(f"timestamp_ns {timestamp_ns} is outside 0..2**63-1")
    steps = np.arange(1, n + 1, dtype=np.float64)  # k + 1
    if previous_timestamp_ns is not None:
        span = timestamp_ns - previous_timestamp_ns
        if span <= 0:
            raise ValueError(f"frame stamp {timestamp_ns} is not after the previous {previous_timestamp_ns}")
        times = previous_timestamp_ns + np.rint(steps * (span / n)).astype(np.int64)
    else:
        if not math.isfinite(rate_hz) or rate_hz <= 0:
            raise ValueError(f"rate_hz must be positive without a previous stamp, got {rate_hz}")
        times = timestamp_ns + np.rint((steps - n) * (NS_PER_S / rate_hz)).astype(np.int64)
    times[-1] = timestamp_ns
    return times


def device_time_to_unix_s(ns: int) -> float:
    """A PMD device time (ns since 2000-01-01T00:00Z) as Unix seconds."""
    return PMD_EPOCH_UNIX_S + ns / NS_PER_S
