"""The sealed remote channel (issue #17): AEAD, sequence numbers, and what it refuses.

Keys come from ``derive_session_keys`` on a fixed SPAKE2-like key (pairing has its own tests);
one test decrypts with cryptography's ChaCha20Poly1305 directly from the documented format.
"""

from __future__ import annotations

import os
import struct

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from hypothesis import given, settings, strategies as st

from somafeedback.remote.channel import (
    CLIENT_TO_PRACTITIONER, MAX_SEALED_BYTES, OVERHEAD, PRACTITIONER_TO_CLIENT,
    MessageRejected, Opener, Reject, Sealer, SecureChannel,
)
from somafeedback.remote.pairing import derive_session_keys

SPAKE_KEY = bytes(range(32))
MARKER = b"PLAINTEXT-MARKER-d41d8cd9"


def pair(spake_key: bytes = SPAKE_KEY) -> tuple[SecureChannel, SecureChannel]:
    """(practitioner's channel, client's channel) of one session."""
    return SecureChannel(derive_session_keys(spake_key, "practitioner")), SecureChannel(derive_session_keys(spake_key, "client"))


def rejected(channel: SecureChannel, sealed: bytes, **kwargs: bool) -> Reject:
    with pytest.raises(MessageRejected) as raised:
        channel.open(sealed, **kwargs)
    return raised.value.reason


def test_messages_travel_both_ways_with_growing_sequence_numbers() -> None:
    practitioner, client = pair()
    for i in range(3):
        assert client.open(practitioner.seal(b"cue %d" % i)) == (i, b"cue %d" % i)
        assert practitioner.open(client.seal(b"beat %d" % i)) == (i, b"beat %d" % i)
    assert client.open(practitioner.seal(b"")) == (3, b"")
    assert client.stats.accepted == 4 and practitioner.stats.accepted == 3
    assert not client.stats.rejected and client.stats.gaps == 0


def test_the_format_is_chacha20_poly1305_as_documented() -> None:
    """Independent check: open a sealed message with cryptography directly from the documented layout."""
    keys = derive_session_keys(SPAKE_KEY, "client")
    sealer = Sealer(keys.send_key, keys.session_id, CLIENT_TO_PRACTITIONER, next_seq=41)
    sealed = sealer.seal(MARKER)
    version, direction, seq = struct.unpack(">BBQ", sealed[:10])
    assert (version, direction, seq) == (1, 2, 41) and len(sealed) == len(MARKER) + OVERHEAD
    nonce = bytes([2, 0, 0, 0]) + (41).to_bytes(8, "big")
    aad = b"somafeedback remote channel" + bytes([1, 2]) + keys.session_id + (41).to_bytes(8, "big")
    assert ChaCha20Poly1305(keys.client_to_practitioner).decrypt(nonce, sealed[10:], aad) == MARKER
    assert sealer.next_seq == 42


def test_a_plaintext_marker_never_appears_in_sealed_bytes() -> None:
    practitioner, client = pair()
    sealed = [side.seal(MARKER * k) for k in (1, 2, 5) for side in (practitioner, client)]
    for blob in sealed:
        assert MARKER not in blob
        assert MARKER[:8] not in blob
    assert len({blob[10:26] for blob in sealed}) == len(sealed)  # no two ciphertexts alike


def test_every_altered_byte_is_rejected_and_counted() -> None:
    practitioner, client = pair()
    sealed = practitioner.seal(MARKER)
    reasons = []
    for position in range(len(sealed)):
        for flip in (0x01, 0x80):
            altered = bytearray(sealed)
            altered[position] ^= flip
            reasons.append(rejected(client, bytes(altered)))
    assert set(reasons) <= {Reject.FORGED, Reject.VERSION, Reject.DIRECTION}
    assert reasons.count(Reject.FORGED) >= 2 * (len(sealed) - 2)  # every seq and body bit fails authentication
    assert sum(client.stats.rejected.values()) == len(reasons) and client.stats.accepted == 0
    assert client.open(sealed) == (0, MARKER)  # the refusals changed nothing: the original still opens
    assert rejected(client, sealed[:-1]) == Reject.FORGED  # truncated
    assert rejected(client, sealed + b"\x00") == Reject.FORGED  # extended


def test_a_replayed_message_is_rejected_and_counted() -> None:
    practitioner, client = pair()
    first = practitioner.seal(b"approved cue")
    client.open(first)
    client.open(practitioner.seal(b"next"))
    assert rejected(client, first) == Reject.REPLAYED
    assert rejected(client, first, catch_up=True) == Reject.REPLAYED  # catch-up never accepts a number twice
    assert client.stats.rejected == {Reject.REPLAYED: 2} and client.stats.accepted == 2


def test_a_reordered_message_is_rejected_a_gap_counted_and_catch_up_accepts_it_once() -> None:
    practitioner, client = pair()
    sealed = [practitioner.seal(b"m%d" % i) for i in range(3)]
    client.open(sealed[0])
    assert client.open(sealed[2]) == (2, b"m2")
    assert client.stats.gaps == 1 and client.opener.missing() == [(1, 2)]
    assert rejected(client, sealed[1]) == Reject.LATE
    assert client.open(sealed[1], catch_up=True) == (1, b"m1")
    assert client.stats.recovered == 1 and client.opener.missing() == []
    assert rejected(client, sealed[1], catch_up=True) == Reject.REPLAYED
    assert client.stats.rejected == {Reject.LATE: 1, Reject.REPLAYED: 1}


def test_gaps_count_dropped_sequence_numbers_and_catch_up_fills_them() -> None:
    practitioner, client = pair()
    sealed = [practitioner.seal(b"n%d" % i) for i in range(12)]
    for i in (0, 1, 5, 9):
        client.open(sealed[i])
    assert client.stats.gaps == 6 and client.opener.missing() == [(2, 5), (6, 9)]
    assert client.open(sealed[11]).seq == 11 and client.stats.gaps == 7
    for i in (7, 3, 10, 2, 4, 6, 8):  # the session re-delivers what was stored, in any order
        assert client.open(sealed[i], catch_up=True) == (i, b"n%d" % i)
    assert client.opener.missing() == [] and client.stats.recovered == 7 and client.stats.accepted == 12
    assert client.stats.gaps == 7  # gaps stay counted: they happened


def test_messages_of_the_other_direction_and_of_other_sessions_are_rejected() -> None:
    practitioner, client = pair()
    own = practitioner.seal(b"for the client")
    assert rejected(practitioner, own) == Reject.DIRECTION  # our own message bounced back to us
    bounced = bytearray(own)
    bounced[1] = CLIENT_TO_PRACTITIONER  # relabelled as travelling the other way: still not authentic
    assert rejected(practitioner, bytes(bounced)) == Reject.FORGED
    other_practitioner, _ = pair(os.urandom(32))
    assert rejected(client, other_practitioner.seal(b"hello")) == Reject.FORGED
    keys = derive_session_keys(SPAKE_KEY, "client")  # same key, another session id: the AAD binds it
    stranger = Opener(keys.receive_key, bytes(16), PRACTITIONER_TO_CLIENT)
    with pytest.raises(MessageRejected) as raised:
        stranger.open(practitioner.seal(b"x"))
    assert raised.value.reason == Reject.FORGED
    assert client.stats.accepted == 0


def test_another_version_and_wrong_sizes_are_rejected() -> None:
    practitioner, client = pair()
    sealed = practitioner.seal(b"x")
    assert rejected(client, bytes([2]) + sealed[1:]) == Reject.VERSION
    assert rejected(client, b"") == Reject.MALFORMED
    assert rejected(client, sealed[:OVERHEAD - 1]) == Reject.MALFORMED
    assert rejected(client, bytes(MAX_SEALED_BYTES + 1)) == Reject.MALFORMED
    with pytest.raises(ValueError, match="at most"):
        practitioner.seal(bytes(MAX_SEALED_BYTES))
    big = practitioner.seal(bytes(MAX_SEALED_BYTES - OVERHEAD))
    assert len(big) == MAX_SEALED_BYTES and client.open(big).seq == 1  # the refused seal used no number
    assert client.stats.rejected == {Reject.VERSION: 1, Reject.MALFORMED: 3}


def test_a_resumed_sender_continues_its_sequence() -> None:
    keys = derive_session_keys(SPAKE_KEY, "practitioner")
    _, client = pair()
    client.open(SecureChannel(keys).seal(b"before restart"))
    resumed = SecureChannel(keys, next_seq=1)
    assert client.open(resumed.seal(b"after restart")) == (1, b"after restart")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=2000), st.binary(min_size=OVERHEAD, max_size=OVERHEAD + 40)))
def test_random_garbage_of_any_length_is_rejected_never_a_crash(garbage: bytes) -> None:
    _, client = pair()
    with pytest.raises(MessageRejected):
        client.open(garbage, catch_up=True)
    assert client.stats.accepted == 0 and sum(client.stats.rejected.values()) == 1
    assert client.opener.next_expected == 0 and client.stats.gaps == 0
