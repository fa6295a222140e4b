"""The sealed channel: every message of a paired session, encrypted and authenticated.

**Which AEAD.** ChaCha20-Poly1305 (IETF, 96-bit nonce) from ``cryptography``, already a dependency:
it takes associated data (PyNaCl's ``SecretBox`` does not), and the nonce is a counter, never random,
so XChaCha20's longer nonce would buy nothing. A counter nonce is safe because each key belongs to
one sender and one direction (``pairing.SessionKeys``) and that sender's sequence number only grows.

**Format** (10-byte header, authenticated, then ciphertext and 16-byte tag)::

    sealed = version u8 | direction u8 | seq u64 big-endian | ChaCha20-Poly1305(plain)
    nonce  = direction u8 | 3 zero bytes | seq u64
    aad    = b"somafeedback remote channel" | version | direction | session id (16) | seq u64

A changed bit anywhere, a message of another session (other key, other session id) or of the other
direction fails authentication. Sequence numbers then sort the rest: a number already accepted is a
*replay*; one lower than the newest accepted that never arrived is *late* (reordered), refused
unless the caller asks for catch-up (``open(..., catch_up=True)``), which accepts each missing
number once. Numbers skipped when a newer one arrives are counted as *gaps*.

**Never re-seal.** Catch-up must re-send the stored sealed bytes: sealing new plaintext with an old
sequence number would reuse a nonce. A sender that restarts with the same keys must continue from
its last sequence number (``Sealer(next_seq=...)``) or pair again.

Not thread-safe: one loop or thread per channel. ``open`` never raises anything but
:class:`MessageRejected` for bytes of any length or content.
"""

from __future__ import annotations

import bisect
import struct
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from somafeedback.remote.pairing import PROTOCOL_VERSION, SessionKeys

PRACTITIONER_TO_CLIENT = 1  # direction byte
CLIENT_TO_PRACTITIONER = 2
_HEADER = struct.Struct(">BBQ")  # version, direction, sequence number
HEADER_LEN = _HEADER.size  # 10 bytes
TAG_LEN = 16  # bytes, Poly1305
OVERHEAD = HEADER_LEN + TAG_LEN
MAX_SEALED_BYTES = 1024 * 1024  # NATS's default max_payload; a sealed message never exceeds it
MAX_SEQ = 2**64 - 1
MAX_MISSING_RANGES = 10_000  # missing-number ranges remembered for catch-up; the oldest are forgotten
_AAD_LABEL = b"somafeedback remote channel"


class Reject(StrEnum):
    """Why a message was refused."""

    MALFORMED = "malformed"  # too short or too long to be a sealed message
    VERSION = "version"  # another channel version
    DIRECTION = "direction"  # marked as travelling the other way (our own direction's messages)
    FORGED = "forged"  # failed authentication: altered, or sealed by another session or key
    REPLAYED = "replayed"  # a sequence number already accepted
    LATE = "late"  # older than the newest accepted and never seen: reordered (catch-up not allowed)


class MessageRejected(ValueError):
    """``open`` refused a message; ``reason`` says why (the message is for logs, not people)."""

    def __init__(self, reason: Reject, detail: str = "") -> None:
        super().__init__(f"message rejected ({reason.value}){': ' + detail if detail else ''}")
        self.reason = reason


class Opened(NamedTuple):
    seq: int
    plain: bytes


@dataclass
class ChannelStats:
    """Counters of one receiving direction."""

    accepted: int = 0
    rejected: Counter[Reject] = field(default_factory=Counter)
    gaps: int = 0  # sequence numbers skipped by a newer arrival (each counted once)
    recovered: int = 0  # skipped numbers later accepted through catch-up


def sealed_sequence(sealed: bytes) -> int | None:
    """The sequence number in a sealed message's header (not authenticated here), or None when too short."""
    if len(sealed) < HEADER_LEN:
        return None
    return int(_HEADER.unpack_from(sealed)[2])


def _nonce(direction: int, seq: int) -> bytes:
    return bytes([direction, 0, 0, 0]) + seq.to_bytes(8, "big")


def _aad(header: bytes, session_id: bytes) -> bytes:
    return _AAD_LABEL + header[:2] + session_id + header[2:]


class Sealer:
    """The sending half of one direction: ``seal`` numbers and encrypts each message."""

    def __init__(self, key: bytes, session_id: bytes, direction: int, *, next_seq: int = 0, version: int = PROTOCOL_VERSION) -> None:
        self._aead = ChaCha20Poly1305(key)
        self._session_id = session_id
        self._direction = direction
        self._version = version
        self.next_seq = next_seq

    def seal(self, plain: bytes) -> bytes:
        """The sealed bytes of ``plain`` with the next sequence number (``next_seq - 1`` after)."""
        if len(plain) > MAX_SEALED_BYTES - OVERHEAD:
            raise ValueError(f"a message may carry at most {MAX_SEALED_BYTES - OVERHEAD} bytes, not {len(plain)}")
        if self.next_seq > MAX_SEQ:
            raise RuntimeError("this channel's sequence numbers are used up: pair again")
        header = _HEADER.pack(self._version, self._direction, self.next_seq)
        sealed = header + self._aead.encrypt(_nonce(self._direction, self.next_seq), bytes(plain), _aad(header, self._session_id))
        self.next_seq += 1
        return sealed


class Opener:
    """The receiving half of one direction: ``open`` authenticates, orders and counts."""

    def __init__(self, key: bytes, session_id: bytes, direction: int, *, version: int = PROTOCOL_VERSION) -> None:
        self._aead = ChaCha20Poly1305(key)
        self._session_id = session_id
        self._direction = direction
        self._version = version
        self.next_expected = 0  # one past the newest sequence number accepted
        self._missing: list[list[int]] = []  # sorted, disjoint [start, end) ranges skipped so far
        self.stats = ChannelStats()

    def missing(self) -> list[tuple[int, int]]:
        """Sequence numbers skipped and not recovered, as ``[start, end)`` ranges."""
        return [(start, end) for start, end in self._missing]

    def _reject(self, reason: Reject, detail: str = "") -> MessageRejected:
        self.stats.rejected[reason] += 1
        return MessageRejected(reason, detail)

    def _missing_index(self, seq: int) -> int | None:
        i = bisect.bisect_right(self._missing, [seq, MAX_SEQ + 1]) - 1
        return i if i >= 0 and self._missing[i][0] <= seq < self._missing[i][1] else None

    def open(self, sealed: bytes, *, catch_up: bool = False) -> Opened:
        """``(seq, plain)`` of an authentic, new message; raises :class:`MessageRejected` otherwise.
        With ``catch_up``, a skipped (missing) sequence number is accepted, once."""
        data = bytes(sealed)
        if not OVERHEAD <= len(data) <= MAX_SEALED_BYTES:
            raise self._reject(Reject.MALFORMED, f"{len(data)} bytes")
        version, direction, seq = _HEADER.unpack_from(data)
        if version != self._version:
            raise self._reject(Reject.VERSION, f"version {version}")
        if direction != self._direction:
            raise self._reject(Reject.DIRECTION, f"direction {direction}")
        header = data[:HEADER_LEN]
        try:
            plain = self._aead.decrypt(_nonce(direction, seq), data[HEADER_LEN:], _aad(header, self._session_id))
        except InvalidTag:
            raise self._reject(Reject.FORGED) from None
        if seq >= self.next_expected:
            if seq > self.next_expected:
                self._note_gap(self.next_expected, seq)
            self.next_expected = seq + 1
        else:
            index = self._missing_index(seq)
            if index is None:
                raise self._reject(Reject.REPLAYED, f"seq {seq}")
            if not catch_up:
                raise self._reject(Reject.LATE, f"seq {seq}")
            self._take_missing(index, seq)
            self.stats.recovered += 1
        self.stats.accepted += 1
        return Opened(seq, plain)

    def _note_gap(self, start: int, end: int) -> None:
        self.stats.gaps += end - start
        self._missing.append([start, end])  # always beyond every range already noted
        if len(self._missing) > MAX_MISSING_RANGES:
            del self._missing[0]

    def _take_missing(self, index: int, seq: int) -> None:
        start, end = self._missing[index]
        pieces = [[a, b] for a, b in ((start, seq), (seq + 1, end)) if a < b]
        self._missing[index:index + 1] = pieces


class SecureChannel:
    """Both halves for one side of a paired session: seal what this side sends, open what it receives."""

    def __init__(self, keys: SessionKeys, *, next_seq: int = 0) -> None:
        outgoing, incoming = (
            (PRACTITIONER_TO_CLIENT, CLIENT_TO_PRACTITIONER) if keys.role == "practitioner"
            else (CLIENT_TO_PRACTITIONER, PRACTITIONER_TO_CLIENT)
        )
        self.sealer = Sealer(keys.send_key, keys.session_id, outgoing, next_seq=next_seq, version=keys.protocol_version)
        self.opener = Opener(keys.receive_key, keys.session_id, incoming, version=keys.protocol_version)

    def seal(self, plain: bytes) -> bytes:
        return self.sealer.seal(plain)

    def open(self, sealed: bytes, *, catch_up: bool = False) -> Opened:
        return self.opener.open(sealed, catch_up=catch_up)

    @property
    def stats(self) -> ChannelStats:
        return self.opener.stats
