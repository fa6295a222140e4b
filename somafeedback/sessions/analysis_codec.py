"""A safe byte form for an analysis kept in a session file: JSON compressed with zlib, whitelisted types only.

What it can hold: ``None``, booleans, integers, floats (NaN and infinities included, every bit
kept: JSON floats are written as ``repr``), strings, lists, and, tagged as one-key JSON objects,

* ``{"t": [...]}`` a tuple; ``{"m": [[key, value], ...]}`` a dict;
* ``{"a": [dtype, shape, base64]}`` a numpy array (its bytes in C order, bit for bit);
  ``{"n": [dtype, base64]}`` a numpy scalar;
* ``{"e": [class name, value]}`` an enum member; ``{"d": [class name, [field values...]]}`` a dataclass.

Enums and dataclasses are named by class name and must be in the ``types`` the caller allows:
decoding never imports or calls anything else (no pickle), a dataclass is rebuilt field by field
without running its ``__init__``, and anything unexpected (an unknown tag or class, a wrong
field count, a dtype of objects) is refused with :class:`CodecError`.

Thread: any (pure).
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
import zlib
from collections.abc import Iterable, Mapping
from typing import Any, Final

import numpy as np

CODEC_VERSION: Final = 1  # bump when the byte form changes
ZLIB_LEVEL: Final = 6
MAX_DECODED_BYTES: Final = 512 * 1024 * 1024  # refuse to inflate more than this (a damaged or hostile blob)
_ARRAY_KINDS: Final = frozenset("biufc")  # numeric dtypes only (never objects)


class CodecError(ValueError):
    """The bytes are not an analysis this codec wrote with these types."""


def type_table(types: Iterable[type]) -> dict[str, type]:
    """The allowed classes by name (a name given twice is refused: it would be ambiguous)."""
    table: dict[str, type] = {}
    for kind in types:
        if kind.__name__ in table and table[kind.__name__] is not kind:
            raise ValueError(f"two allowed classes are called {kind.__name__}")
        table[kind.__name__] = kind
    return table


def _tagged(value: Any, types: Mapping[str, type]) -> Any:
    """``value`` as plain JSON values (see the module docstring)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        _allowed(type(value), types)
        return {"e": [type(value).__name__, value.value]}
    if isinstance(value, np.generic):
        return {"n": [value.dtype.str, _checked_array(np.asarray(value)).tobytes().hex()]}
    if type(value) in (int, float):  # (a subclass would come back as the plain type: refused below)
        return value
    if isinstance(value, list):
        return [_tagged(v, types) for v in value]
    if isinstance(value, tuple):
        return {"t": [_tagged(v, types) for v in value]}
    if isinstance(value, dict):
        return {"m": [[_tagged(k, types), _tagged(v, types)] for k, v in value.items()]}
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(_checked_array(value))
        return {"a": [array.dtype.str, list(array.shape), base64.b64encode(array.tobytes()).decode("ascii")]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        _allowed(type(value), types)
        return {"d": [type(value).__name__, [_tagged(getattr(value, f.name), types) for f in dataclasses.fields(value)]]}
    raise CodecError(f"cannot store a {type(value).__name__}")


def _checked_array(array: np.ndarray) -> np.ndarray:
    if array.dtype.kind not in _ARRAY_KINDS:
        raise CodecError(f"cannot store an array of {array.dtype}")
    return array


def _allowed(kind: type, types: Mapping[str, type]) -> type:
    if types.get(kind.__name__) is not kind:
        raise CodecError(f"{kind.__name__} is not among the stored analysis's types")
    return kind


def encode(value: Any, types: Mapping[str, type]) -> bytes:
    """``value`` in the stored byte form; :class:`CodecError` for anything it cannot hold exactly."""
    text = json.dumps(_tagged(value, types), separators=(",", ":"), allow_nan=True)
    return zlib.compress(text.encode("utf-8"), ZLIB_LEVEL)


def decode(blob: bytes, types: Mapping[str, type], limit: int = MAX_DECODED_BYTES) -> Any:
    """The value :func:`encode` stored; :class:`CodecError` for any bytes that are not one (or that would
    inflate past ``limit`` bytes)."""
    try:
        inflater = zlib.decompressobj()
        text = inflater.decompress(blob, limit)
        if inflater.unconsumed_tail or not inflater.eof:
            raise CodecError("the stored analysis is cut short or too large")
        return json.loads(text, object_hook=_Untagger(types))
    except CodecError:
        raise
    except (zlib.error, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError,
            OverflowError, MemoryError) as error:
        raise CodecError(f"the stored analysis cannot be read ({type(error).__name__})") from error


class _Untagger:
    """Turns each tagged JSON object back into its value (``json.loads`` calls it innermost first); keeps
    each allowed dataclass's field names and each enum member met, so a long list decodes quickly."""

    def __init__(self, types: Mapping[str, type]) -> None:
        self.types = types
        self.fields: dict[str, tuple[type, tuple[str, ...], bool]] = {}  # name -> (class, field names, has __dict__)
        self.members: dict[tuple[str, Any], enum.Enum] = {}

    def __call__(self, tagged: dict[str, Any]) -> Any:
        if len(tagged) != 1:
            raise CodecError("an untagged object in the stored analysis")
        (tag, body), = tagged.items()
        if not isinstance(body, list):
            raise CodecError(f"a damaged entry ({tag!r}) in the stored analysis")
        if tag == "d" and len(body) == 2 and isinstance(body[1], list):
            return self._dataclass(body[0], body[1])
        if tag == "t":
            return tuple(body)
        if tag == "e" and len(body) == 2:
            return self._member(body[0], body[1])
        if tag == "m":
            return {_hashable(k): v for k, v in body}
        if tag == "a" and len(body) == 3:
            dtype = _dtype(body[0])
            shape = tuple(int(n) for n in body[1])
            return np.frombuffer(base64.b64decode(body[2], validate=True), dtype=dtype).reshape(shape).copy()
        if tag == "n" and len(body) == 2:
            return np.frombuffer(bytes.fromhex(body[1]), dtype=_dtype(body[0])).reshape(())[()]
        raise CodecError(f"an unknown entry ({tag!r}) in the stored analysis")

    def _member(self, name: Any, value: Any) -> enum.Enum:
        key = (name, value)
        member = self.members.get(key) if isinstance(value, (str, int, float, type(None))) else None
        if member is None:
            kind = _named(name, self.types)
            if not issubclass(kind, enum.Enum):
                raise CodecError(f"{name} is not an enum")
            member = kind(value)
            if isinstance(value, (str, int, float, type(None))):
                self.members[key] = member
        return member

    def _dataclass(self, name: Any, values: list[Any]) -> Any:
        """An instance of the allowed dataclass ``name`` with ``values`` as its fields, set without ``__init__``."""
        known = self.fields.get(name) if isinstance(name, str) else None
        if known is None:
            kind = _named(name, self.types)
            if not dataclasses.is_dataclass(kind):
                raise CodecError(f"{name} is not a dataclass")
            known = (kind, tuple(f.name for f in dataclasses.fields(kind)), not hasattr(kind, "__slots__"))
            self.fields[name] = known
        kind, names, plain = known
        if len(names) != len(values):
            raise CodecError(f"{name} was stored with {len(values)} fields, it has {len(names)}")
        made: Any = object.__new__(kind)
        if plain:
            made.__dict__.update(zip(names, values))
        else:
            for field_name, value in zip(names, values):
                object.__setattr__(made, field_name, value)
        return made


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def _dtype(text: Any) -> np.dtype:
    if not isinstance(text, str):
        raise CodecError("an array without a type")
    dtype = np.dtype(text)
    if dtype.kind not in _ARRAY_KINDS:
        raise CodecError(f"an array of {dtype} in the stored analysis")
    return dtype


def _named(name: Any, types: Mapping[str, type]) -> type:
    kind = types.get(name) if isinstance(name, str) else None
    if kind is None:
        raise CodecError(f"an unknown kind of value ({name!r}) in the stored analysis")
    return kind


__all__ = ["CODEC_VERSION", "CodecError", "decode", "encode", "type_table"]
