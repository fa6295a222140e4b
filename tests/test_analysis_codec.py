"""The stored analysis's byte form gives back exactly what it was given, and nothing it was not allowed to.

Round trips are compared with a typed, bit-for-bit comparison written here (every float by its
hex form, arrays by dtype, shape and bytes); refusals cover what a damaged or hostile blob may
hold: unknown classes, objects, wrong field counts, cut or inflated bytes.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import zlib
from typing import Any

import numpy as np
import pytest

from somafeedback.sessions.analysis_codec import CodecError, decode, encode, type_table


class Colour(enum.Enum):
    RED = "red"
    BLUE = 2


@dataclasses.dataclass(frozen=True)
class Inner:
    t_s: float
    samples: np.ndarray
    colour: Colour | None = None


@dataclasses.dataclass
class Outer:
    items: list[Inner]
    span: tuple[float, float]
    by_key: dict[Any, int]
    count: np.int64
    flag: np.bool_
    label: str = ""
    nothing: None = None


@dataclasses.dataclass(frozen=True)
class Slotted:
    __slots__ = ("a", "b")
    a: int
    b: float


TYPES = type_table([Inner, Outer, Colour, Slotted])


def same(a: Any, b: Any, where: str = "value") -> None:
    """``a`` and ``b`` equal in type and bits (floats by hex, NaN payloads aside; arrays by dtype/shape/bytes)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), where
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), where
    elif isinstance(a, float):
        assert (math.isnan(a) and math.isnan(b)) or a.hex() == b.hex(), f"{where}: {a!r} != {b!r}"
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for k, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{k}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            same(a[key], b[key], f"{where}[{key!r}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def rich() -> Outer:
    rng = np.random.default_rng(7)
    return Outer(
        items=[Inner(0.1 + k / 3, rng.standard_normal(17) * 10 ** k, Colour.RED if k % 2 else None) for k in range(5)]
        + [Inner(-0.0, np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324])), Inner(math.nan, np.zeros((2, 3), np.int16)),
           Inner(1e308, np.array([True, False]), Colour.BLUE), Inner(math.inf, np.arange(4, dtype=np.uint8)[::2])],
        span=(1.0 / 3.0, 2.0 ** -1074), by_key={(1, "a"): 3, "plain": 4, 5: 6}, count=np.int64(-(2 ** 62)),
        flag=np.bool_(True), label="ünïcode ✓")


def test_a_round_trip_gives_back_every_bit_and_type() -> None:
    value = rich()
    back = decode(encode(value, TYPES), TYPES)
    same(value, back)
    assert back.items[0].samples.flags.writeable  # an array of its own, not a view of the stored bytes


def test_a_slotted_dataclass_and_nested_containers_round_trip() -> None:
    value = [Slotted(1, 0.1), (Slotted(-2, math.nan), {"k": [Slotted(3, 1e-300)]}), []]
    same(value, decode(encode(value, TYPES), TYPES))


@pytest.mark.parametrize("value", [object(), np.array([object()], dtype=object), {1.5j}, Colour])
def test_what_cannot_be_stored_exactly_is_refused_when_storing(value: Any) -> None:
    with pytest.raises(CodecError):
        encode(value, TYPES)


def test_a_class_not_allowed_is_refused_both_ways() -> None:
    with pytest.raises(CodecError, match="Inner"):
        encode(Inner(1.0, np.zeros(1)), type_table([Outer]))
    blob = encode(Inner(1.0, np.zeros(1)), TYPES)
    with pytest.raises(CodecError, match="unknown kind"):
        decode(blob, type_table([Outer, Colour]))


def _blob(document: Any) -> bytes:
    return zlib.compress(json.dumps(document).encode())


@pytest.mark.parametrize("document", [
    {"d": ["os.system", ["echo hi"]]},  # a name that is no allowed class
    {"d": ["Inner", [1.0]]},  # too few fields for Inner
    {"d": ["Colour", []]},  # an enum used as a dataclass
    {"e": ["Inner", 1]},  # a dataclass used as an enum
    {"e": ["Colour", "green"]},  # no such member
    {"a": ["|O", [1], "AAAAAAAAAAA="]},  # an array of Python objects
    {"a": ["<f8", [3], "AAAA"]},  # bytes that do not fill the shape
    {"x": [1]},  # an unknown tag
    {"t": [1], "m": []},  # two tags
    {"m": [[[1, 2], 3], [[[4]], 5]]},  # a key that is a list of lists
])
def test_a_blob_that_is_not_what_the_codec_writes_is_refused(document: Any) -> None:
    with pytest.raises(CodecError):
        decode(_blob(document), TYPES)


def test_damaged_bytes_are_refused_never_raised_otherwise() -> None:
    blob = encode(rich(), TYPES)
    for cut in (0, 1, len(blob) // 2, len(blob) - 1):
        with pytest.raises(CodecError):
            decode(blob[:cut], TYPES)
    with pytest.raises(CodecError):
        decode(b"not zlib at all", TYPES)
    flipped = 0
    for at in range(0, len(blob), max(1, len(blob) // 200)):
        damaged = bytearray(blob)
        damaged[at] ^= 0x41
        try:
            decode(bytes(damaged), TYPES)
        except CodecError:
            flipped += 1
    assert flipped > 0  # zlib's own check (Adler-32) catches flips; whatever is not caught is still a value


def test_a_blob_that_inflates_past_the_limit_is_refused() -> None:
    blob = zlib.compress(b"[" + b"0," * 5000 + b"0]")
    assert decode(blob, TYPES, limit=20_000) == [0] * 5001
    with pytest.raises(CodecError, match="too large"):
        decode(blob, TYPES, limit=1000)
