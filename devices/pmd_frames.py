"""PMD data frames: decoding the strap's ECG, acceleration and PPG notifications, encoding them, sizing, timing.

The app decodes frames (raw and delta-compressed) with :func:`decode_data_frame`; the
simulated strap encodes them; :func:`max_samples_per_frame` sizes a frame to the ATT MTU and
:func:`sample_times_ns` places each sample in device time (Polar's rule). Units: ECG in µV,
acceleration in mG, device times in ns since 2000-01-01T00:00:00Z. Sources as in :mod:`.polar_pmd`.

Thread: any. Pure functions, frozen records.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any, Final, TypeAlias, cast

import numpy as np
import numpy.typing as npt

from .pmd_types import MEASUREMENT_TYPE_MASK, MeasurementType, Payload, as_bytes, check_type, check_uint, format_error

PMD_EPOCH_UNIX_S: Final = 946684800  # 2000-01-01T00:00:00Z in Unix seconds (device time zero)
NS_PER_S: Final = 1_000_000_000  # nanoseconds per second

FRAME_HEADER_SIZE: Final = 10  # bytes: type, 8-byte timestamp, frame type
COMPRESSED_BIT: Final = 0x80  # data frame byte 9: bit 7 = delta-compressed frame
FRAME_TYPE_MASK: Final = 0x7F  # data frame byte 9: bits 0-6 frame type
MAX_DELTA_BITS: Final = 32  # widest delta a compressed block may declare, bits
MAX_BLOCK_SAMPLES: Final = 255  # most samples one delta block can count (uint8)
MAX_REFERENCE_BITS: Final = 32  # widest reference sample accepted (4 bytes per channel), bits

ATT_HEADER_SIZE: Final = 3  # bytes of an ATT notification ahead of its value (opcode + handle)
ATT_MIN_MTU: Final = 23  # smallest ATT_MTU (LE default), bytes
MAX_ATTRIBUTE_VALUE: Final = 512  # longest attribute value the Core spec allows, bytes

UINT64_MAX: Final = 2**64 - 1  # largest device timestamp, ns
INT64_MAX: Final = 2**63 - 1  # largest device timestamp numpy can hold per sample, ns


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


_Samples: TypeAlias = "npt.NDArray[np.int64] | npt.NDArray[np.float64]"


@dataclass(frozen=True, slots=True)
class _RawLayout:
    channels: int
    width: int  # bytes per channel value, signed little-endian

    @property
    def sample_bytes(self) -> int:
        return self.channels * self.width


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


def _signed_le(raw: bytes, offset: int, count: int, width: int) -> npt.NDArray[np.int32]:
    """``count`` signed little-endian integers of ``width`` (1-4) bytes from raw[offset:], as int32.

    One strided int32 view, no copy: element k reads the 4 bytes that END with value k, so
    value k fills the top ``width`` bytes (its sign bit on bit 31) and the arithmetic shift
    drops the 4 - width bytes before it. Needs ``offset >= 4 - width``: every caller reads
    after the 10-byte frame header.
    """
    lead = 4 - width  # bytes before value k that the view reads too (shifted out)
    if offset < lead or len(raw) < offset + count * width:
        raise ValueError(f"{count} values of {width} bytes do not fit {len(raw)} bytes from offset {offset}")
    view = np.ndarray((count,), dtype="<i4", buffer=raw, offset=offset - lead, strides=(width,))
    return view >> _SHIFT_BY_WIDTH[width] if lead else view.copy()


def _signed_weights(bits: int) -> npt.NDArray[np.int64]:
    """Bit weights of a ``bits``-bit two's-complement integer, LSB first: 1, 2, 4, ..., -2**(bits - 1)."""
    weights = np.left_shift(np.int64(1), np.arange(bits, dtype=np.int64))
    weights[-1] = -weights[-1]  # the sign bit counts negative: two's complement without a second pass
    return weights


_SIGNED_WEIGHTS: Final = {bits: _signed_weights(bits) for bits in range(1, MAX_DELTA_BITS + 1)}


def _unpack_deltas(raw: bytes, offset: int, n_bytes: int, bits: int, n_values: int) -> npt.NDArray[np.int64]:
    """``n_values`` two's-complement integers of ``bits`` packed LSB-first from raw[offset:]."""
    stream = np.frombuffer(raw, dtype=np.uint8, count=n_bytes, offset=offset)
    bit_rows = np.unpackbits(stream, bitorder="little")[: n_values * bits].reshape(n_values, bits)
    return bit_rows.astype(np.int64) @ _SIGNED_WEIGHTS[bits]


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
        raise format_error("compressed frame", f"{problem} ({channels} x {ref_width} bytes)", raw)
    blocks = []  # (offset of the deltas, their bytes, bits, count): every block checked before any is decoded
    pos = ref_end
    while pos < len(raw):
        if pos + 2 > len(raw):
            raise format_error("compressed frame", f"ends in a truncated delta block header at byte {pos}", raw)
        bits, count = raw[pos], raw[pos + 1]
        if not 1 <= bits <= MAX_DELTA_BITS:
            raise format_error("compressed frame", f"block at byte {pos} declares {bits}-bit deltas (1..32)", raw)
        if count == 0:
            raise format_error("compressed frame", f"block at byte {pos} declares zero samples", raw)
        n_bytes = (bits * channels * count + 7) // 8
        if pos + 2 + n_bytes > len(raw):
            problem = f"block at byte {pos} needs {n_bytes} bytes of deltas, {len(raw) - pos - 2} left"
            raise format_error("compressed frame", f"is truncated: {problem}", raw)
        blocks.append((pos + 2, n_bytes, bits, count))
        pos += 2 + n_bytes
    # Row 0 the reference sample, then every block's deltas; summed in place down the rows.
    samples = np.empty((1 + sum(block[3] for block in blocks), channels), dtype=np.int64)
    samples[0] = [int.from_bytes(raw[at : at + ref_width], "little", signed=True)
                  for at in range(FRAME_HEADER_SIZE, ref_end, ref_width)]
    row = 1
    for offset, n_bytes, bits, count in blocks:
        samples[row : row + count] = _unpack_deltas(raw, offset, n_bytes, bits, count * channels).reshape(count, channels)
        row += count
    return np.cumsum(samples, axis=0, out=samples)


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
    raw = as_bytes(payload)
    if isinstance(factor, bool) or not isinstance(factor, Real) or not math.isfinite(factor):
        raise ValueError(f"factor must be a finite number, got {factor!r}")
    return _decode_frame(raw, float(factor), resolution_bits, np.int64)


def decode_frame_as_float(raw: bytes, factor: float, resolution_bits: int | None) -> PmdDataFrame:
    """:func:`decode_data_frame` for a caller whose ``factor`` (a finite float) and
    ``resolution_bits`` are already checked (e.g. :class:`~.pmd_stream.PmdStream`, per stream
    start): the same frame, with float64 samples (the same values). PmdFormatError as there."""
    return _decode_frame(raw, factor, resolution_bits, np.float64)


def _decode_frame(raw: bytes, factor: float, resolution_bits: int | None, dtype: type[np.generic]) -> PmdDataFrame:
    """The frame in ``raw``; unscaled samples as ``dtype`` (int64 or float64), scaled ones float64."""
    if len(raw) < FRAME_HEADER_SIZE:
        raise format_error("data frame", f"is {len(raw)} bytes, shorter than its {FRAME_HEADER_SIZE}-byte header", raw)
    mtype = raw[0] & MEASUREMENT_TYPE_MASK
    if mtype not in _DECODABLE_TYPES:
        raise format_error("data frame", f"has measurement type {mtype}, which this codec does not decode", raw)
    timestamp_ns = int.from_bytes(raw[1:9], "little")
    frame_type, compressed = raw[9] & FRAME_TYPE_MASK, bool(raw[9] & COMPRESSED_BIT)
    samples: npt.NDArray[Any]  # int64 or float64 (see PmdDataFrame)
    if compressed:
        delta = _DELTA_LAYOUTS.get((mtype, frame_type))
        if delta is None:
            name = MeasurementType(mtype).name
            raise format_error("data frame", f"has unknown compressed {name} frame type {frame_type}", raw)
        ref_width = _reference_bytes(mtype, resolution_bits)
        values = _decode_delta_payload(raw, delta.channels, ref_width)
        scale = factor * delta.scale
        samples = values * scale if scale != 1.0 else values.astype(dtype, copy=False)
        if delta.channels == 1:
            samples = samples.reshape(-1)
    else:
        layout = _RAW_LAYOUTS.get((mtype, frame_type))
        if layout is None:
            name = MeasurementType(mtype).name
            raise format_error("data frame", f"has unknown {name} frame type {frame_type}", raw)
        n_bytes = len(raw) - FRAME_HEADER_SIZE
        if n_bytes == 0:
            raise format_error("data frame", "holds no samples", raw)
        if n_bytes % layout.sample_bytes:
            name = MeasurementType(mtype).name
            problem = f"{n_bytes} bytes of {name} samples are not a multiple of the {layout.sample_bytes}-byte sample"
            raise format_error("data frame", problem, raw)
        values = _signed_le(raw, FRAME_HEADER_SIZE, n_bytes // layout.width, layout.width).astype(dtype)
        samples = values if layout.channels == 1 else values.reshape(-1, layout.channels)
    return PmdDataFrame(mtype, timestamp_ns, frame_type, compressed, cast(_Samples, samples))


# -- encoders (the simulated strap) ----------------------------------------------------------
def _header(mtype: int, timestamp_ns: int, frame_type: int, compressed: bool) -> bytes:
    ts = check_uint("timestamp_ns", timestamp_ns, UINT64_MAX)
    ft = check_uint("frame type", frame_type, FRAME_TYPE_MASK) | (COMPRESSED_BIT if compressed else 0)
    return bytes([check_type(mtype)]) + ts.to_bytes(8, "little") + bytes([ft])


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
    mtu = check_uint("ATT MTU", mtu, 0xFFFF)
    if mtu < ATT_MIN_MTU:
        raise ValueError(f"ATT MTU must be at least {ATT_MIN_MTU}, got {mtu}")
    return min(mtu - ATT_HEADER_SIZE, MAX_ATTRIBUTE_VALUE) - FRAME_HEADER_SIZE


def max_samples_per_frame(mtu: int, bytes_per_sample: int) -> int:
    """Samples of ``bytes_per_sample`` that fit one uncompressed frame at this ATT MTU.

    A notification carries MTU - 3 bytes (never more than the 512-byte attribute maximum);
    the frame header takes 10. With MTU 232 a 130 Hz ECG frame (3 B/sample) holds 73 samples,
    an ACC type-1 frame (6 B) 36; at the default MTU 23, 3 and 1.
    """
    if check_uint("bytes_per_sample", bytes_per_sample, MAX_ATTRIBUTE_VALUE) == 0:
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
    if previous_timestamp_ns is not None:
        span = timestamp_ns - previous_timestamp_ns
        if span <= 0:
            raise ValueError(f"frame stamp {timestamp_ns} is not after the previous {previous_timestamp_ns}")
        steps = _steps_after(n)  # k + 1
        times = previous_timestamp_ns + np.rint(steps * (span / n)).astype(np.int64)
    else:
        if not math.isfinite(rate_hz) or rate_hz <= 0:
            raise ValueError(f"rate_hz must be positive without a previous stamp, got {rate_hz}")
        steps = _steps_before(n)  # k + 1 - n
        times = timestamp_ns + np.rint(steps * (NS_PER_S / rate_hz)).astype(np.int64)
    times[-1] = timestamp_ns
    return times


MAX_CACHED_STEPS: Final = 1024  # frames of up to this many samples get cached step arrays (the H10's: 73 ECG, 36 ACC)
_STEPS_AFTER: dict[int, npt.NDArray[np.float64]] = {}  # n -> [1, 2, ..., n] (read-only), per frame size seen
_STEPS_BEFORE: dict[int, npt.NDArray[np.float64]] = {}  # n -> [1 - n, ..., -1, 0] (read-only)


def _steps_after(n: int) -> npt.NDArray[np.float64]:
    """[1.0, ..., n]: each sample's step count after the previous frame's stamp (cached per n)."""
    steps = _STEPS_AFTER.get(n)
    if steps is None:
        steps = np.arange(1, n + 1, dtype=np.float64)
        if n <= MAX_CACHED_STEPS:
            steps.flags.writeable = False
            _STEPS_AFTER[n] = steps
    return steps


def _steps_before(n: int) -> npt.NDArray[np.float64]:
    """[1 - n, ..., 0.0]: each sample's step count before the frame's own stamp (cached per n)."""
    steps = _STEPS_BEFORE.get(n)
    if steps is None:
        steps = np.arange(1, n + 1, dtype=np.float64) - n
        if n <= MAX_CACHED_STEPS:
            steps.flags.writeable = False
            _STEPS_BEFORE[n] = steps
    return steps


def device_time_to_unix_s(ns: int) -> float:
    """A PMD device time (ns since 2000-01-01T00:00Z) as Unix seconds."""
    return PMD_EPOCH_UNIX_S + ns / NS_PER_S
