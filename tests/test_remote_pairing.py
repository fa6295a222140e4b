"""Remote pairing (issue #17): codes, invitations, SPAKE2 with key confirmation, over an in-memory mailbox.

Everything runs on a SessionEventLoop at max speed: timeouts of 30 s or 10 min of session time pass
as soon as nothing else can happen, so the silent-peer tests are bounded and instant. Every
exchange is also wrapped in a session-time bound (BOUND_S) so a hang fails instead of blocking.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings, strategies as st
from spake2 import SPAKE2_A, SPAKE2_B

from manual_clock import ManualClock
from session_helpers import run_in_session_time

from somafeedback.clock import LoopClock
from somafeedback.remote import codes, pairing
from somafeedback.remote.codes import (
    CODE_ENTROPY_BITS, CodeError, Invitation, PairingCode, PairingError, generate_code, parse_code, relay_subject, words,
)
from somafeedback.remote.mailbox import MemoryMailbox, memory_mailbox_pair
from somafeedback.remote.pairing import SessionKeys, pair_as_client, pair_as_practitioner

T = TypeVar("T")
BOUND_S = 3600.0  # session seconds any one test exchange may take (far beyond every protocol timeout)
CODE = PairingCode(7, "amber", "harbor")


def run(main: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(main(), BOUND_S)
    return run_in_session_time(bounded)


def invitation(clock: Any = None, code: PairingCode = CODE) -> Invitation:
    clock = clock or ManualClock()
    return Invitation(code, clock.now(), clock)


async def both(practitioner: Awaitable[SessionKeys], client: Awaitable[SessionKeys]) -> tuple[Any, Any]:
    """Run both sides; each result is its SessionKeys or the exception it raised."""
    results = await asyncio.gather(practitioner, client, return_exceptions=True)
    return results[0], results[1]


# --- codes --------------------------------------------------------------------------------------

def test_word_list_has_256_unique_lower_case_words() -> None:
    listed = words()
    assert len(listed) == 256 == len(set(listed))
    assert all(re.fullmatch(r"[a-z]{3,8}", w) for w in listed)
    assert {"amber", "harbor"} <= set(listed)


def test_code_space_is_about_2_to_the_22_6() -> None:
    assert CODE_ENTROPY_BITS == pytest.approx(22.61, abs=0.01)
    assert codes.CODE_SPACE == 98 * 256 * 256


def test_generated_codes_are_valid_and_round_trip() -> None:
    values = iter([0, 0, 255, 97, 255, 0])
    low = generate_code(lambda n: next(values))
    high = generate_code(lambda n: next(values))
    assert (low.number, low.first, low.second) == (2, words()[0], words()[255])
    assert (high.number, high.first, high.second) == (99, words()[255], words()[0])
    for _ in range(50):
        code = generate_code()
        assert parse_code(str(code)) == code
        assert re.fullmatch(r"\d{1,2}-[a-z]+-[a-z]+", str(code))


@pytest.mark.parametrize("typed", [
    "7-amber-harbor", "7 amber harbor", "  7  Amber  HARBOR ", "7_amber_harbor", "7.amber.harbor", "7,amber,harbor",
    "7–amber–harbor", "7—amber—harbor", "7 - amber - harbor", "07-amber-harbor", "7amber-harbor", "7-amberharbor",
    "7amberharbor", "7-amber-harbour", "amber-harbor-7", "７-ａｍｂｅｒ-ｈａｒｂｏｒ",
])
def test_typed_codes_are_normalised(typed: str) -> None:
    assert parse_code(typed) == CODE
    assert str(parse_code(typed)) == "7-amber-harbor"


@pytest.mark.parametrize(("typed", "says"), [
    ("", "no code"), ("   ", "no code"), ("amber-harbor", "one number"), ("7-8-amber-harbor", "more than one number"),
    ("7-amber", "two words"), ("7-amber-harbor-otter", "two words"), ("1-amber-harbor", "not a code number"),
    ("100-amber-harbor", "not a code number"), ("7-ambre-harbor", "“ambre” is not one of the code words"),
])
def test_malformed_codes_are_refused_with_a_readable_message(typed: str, says: str) -> None:
    with pytest.raises(CodeError, match=says) as raised:
        parse_code(typed)
    assert raised.value.reason == codes.MALFORMED_CODE
    assert "Traceback" not in str(raised.value)


def test_relay_subject_hides_the_code_and_is_shared_by_both_sides() -> None:
    subject = relay_subject(CODE)
    assert subject == relay_subject(parse_code("7 Amber Harbour"))
    assert re.fullmatch(r"somafeedback\.pair\.[0-9a-f]{32}", subject)
    assert not any(part in subject for part in ("amber", "harbor", "7-"))
    assert subject != relay_subject(PairingCode(8, "amber", "harbor"))
    assert subject != relay_subject(PairingCode(7, "harbor", "amber"))
    # independently: scrypt of the canonical code with the documented salt and cost
    expected = hashlib.scrypt(b"7-amber-harbor", salt=b"somafeedback remote meeting subject v1",
                              n=2**15, r=8, p=1, maxmem=64 * 2**20, dklen=16)
    assert subject.endswith(expected.hex())


def test_invitation_expires_after_its_lifetime_on_the_injected_clock() -> None:
    clock = ManualClock(50.0)
    made = Invitation.create(clock)
    assert made.created_at == 50.0 and made.expires_at == 650.0 and not made.used
    clock.t = 649.9
    made.check_usable()
    assert made.remaining_s() == pytest.approx(0.1)
    clock.t = 650.0
    assert made.expired() and made.remaining_s() == 0.0
    with pytest.raises(PairingError, match="expired") as raised:
        made.check_usable()
    assert raised.value.reason == codes.EXPIRED


# --- pairing ------------------------------------------------------------------------------------

def test_pairing_gives_both_sides_the_same_keys_and_confirmation_words() -> None:
    invite = invitation()

    async def main() -> tuple[Any, Any]:
        a, b = memory_mailbox_pair()
        return await both(pair_as_practitioner(a, invite), pair_as_client(b, " 7 Amber harbor"))

    practitioner, client = run(main)
    assert isinstance(practitioner, SessionKeys) and isinstance(client, SessionKeys)
    assert (practitioner.role, client.role) == ("practitioner", "client")
    assert practitioner.practitioner_to_client == client.practitioner_to_client
    assert practitioner.client_to_practitioner == client.client_to_practitioner
    assert practitioner.practitioner_to_client != practitioner.client_to_practitioner
    assert practitioner.send_key == client.receive_key and client.send_key == practitioner.receive_key
    assert practitioner.session_id == client.session_id and len(practitioner.session_id) == 16
    assert practitioner.confirmation == client.confirmation
    assert len(practitioner.confirmation.split()) == 3 and set(practitioner.confirmation.split()) <= set(words())
    assert practitioner.send_key.hex() not in repr(practitioner)  # keys stay out of logs
    assert invite.used


def test_keys_are_the_documented_derivation_of_the_spake2_key() -> None:
    """An independent client, written here from the documented wire format with spake2, hmac and
    cryptography's HKDF, pairs with the real practitioner side and derives the same keys."""
    invite = invitation()
    salt = b"somafeedback remote session v1"

    def hkdf(key: bytes, info: bytes, length: int) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(key)

    async def own_client(box: MemoryMailbox) -> bytes:
        spake = SPAKE2_B(b"7-amber-harbor", idA=b"somafeedback practitioner", idB=b"somafeedback client")
        msg_b = spake.start()
        await box.send(b"SFRP\x01\x01" + msg_b)
        reply = await box.receive(5.0)
        assert reply[:6] == b"SFRP\x01\x02" and len(reply) == 6 + 33 + 32
        msg_a, confirm_a = reply[6:39], reply[39:]
        key: bytes = spake.finish(msg_a)
        transcript = b"SFRP\x01" + msg_a + msg_b
        assert confirm_a == hmac.new(hkdf(key, b"confirm practitioner", 32), transcript, hashlib.sha256).digest()
        await box.send(b"SFRP\x01\x03" + hmac.new(hkdf(key, b"confirm client", 32), transcript, hashlib.sha256).digest())
        return key

    async def main() -> tuple[Any, Any]:
        a, b = memory_mailbox_pair()
        return await both(pair_as_practitioner(a, invite), own_client(b))

    keys, spake_key = run(main)
    assert isinstance(keys, SessionKeys), keys
    assert keys.practitioner_to_client == hkdf(spake_key, b"practitioner->client", 32)
    assert keys.client_to_practitioner == hkdf(spake_key, b"client->practitioner", 32)
    assert keys.session_id == hkdf(spake_key, b"session id", 16)
    assert keys.confirmation == " ".join(words()[i] for i in hkdf(spake_key, b"confirmation words", 3))


def test_independent_practitioner_is_accepted_by_the_client() -> None:
    """The mirror check: a practitioner written here with SPAKE2_A; the real client pairs with it."""
    async def own_practitioner(box: MemoryMailbox) -> bytes:
        hello = await box.receive(5.0)
        spake = SPAKE2_A(b"7-amber-harbor", idA=b"somafeedback practitioner", idB=b"somafeedback client")
        msg_a = spake.start()
        key: bytes = spake.finish(hello[6:])
        confirm_key = pairing._hkdf(key, b"confirm practitioner", 32)
        await box.send(b"SFRP\x01\x02" + msg_a + hmac.new(confirm_key, b"SFRP\x01" + msg_a + hello[6:], hashlib.sha256).digest())
        assert (await box.receive(5.0))[:6] == b"SFRP\x01\x03"
        return key

    async def main() -> tuple[Any, Any]:
        a, b = memory_mailbox_pair()
        return await both(own_practitioner(a), pair_as_client(b, CODE))

    spake_key, keys = run(main)
    assert isinstance(keys, SessionKeys), keys
    assert keys == pairing.derive_session_keys(spake_key, "client")


def test_wrong_code_fails_on_both_sides_and_burns_the_code() -> None:
    invite = invitation()

    async def main() -> tuple[Any, Any]:
        a, b = memory_mailbox_pair()
        return await both(pair_as_practitioner(a, invite), pair_as_client(b, "7-amber-otter"))

    practitioner, client = run(main)
    for side in (practitioner, client):
        assert isinstance(side, PairingError), side
        assert str(side).startswith("the code was not accepted")
        assert side.reason == pairing.WRONG_CODE
    assert invite.used

    async def retry() -> tuple[Any, Any]:  # even the right code cannot be tried again
        a, b = memory_mailbox_pair()
        result = await both(pair_as_practitioner(a, invite), pair_as_client(b, CODE, step_timeout_s=5.0))
        assert a.sent == []  # refused before any exchange
        return result

    practitioner, client = run(retry)
    assert isinstance(practitioner, PairingError) and practitioner.reason == codes.USED
    assert isinstance(client, PairingError) and client.reason == pairing.TIMEOUT


def test_a_guesser_that_ignores_the_practitioners_confirmation_is_refused() -> None:
    """An attacker's client need not check confirm_A or send refuse(code): it answers with a
    confirmation from its own guess. The practitioner's own check refuses it, and the code is spent."""
    invite = invitation()

    async def guesser(box: MemoryMailbox) -> None:
        spake = SPAKE2_B(b"7-amber-otter", idA=b"somafeedback practitioner", idB=b"somafeedback client")
        msg_b = spake.start()
        await box.send(b"SFRP\x01\x01" + msg_b)
        reply = await box.receive(5.0)
        key = spake.finish(reply[6:39])
        confirm_key = pairing._hkdf(key, b"confirm client", 32)
        await box.send(b"SFRP\x01\x03" + hmac.new(confirm_key, b"SFRP\x01" + reply[6:39] + msg_b, hashlib.sha256).digest())

    async def main() -> tuple[Any, Any]:
        a, b = memory_mailbox_pair()
        return await both(pair_as_practitioner(a, invite), guesser(b))

    practitioner, _ = run(main)
    assert isinstance(practitioner, PairingError) and practitioner.reason == pairing.WRONG_CODE
    assert str(practitioner).startswith("the code was not accepted") and invite.used


def test_a_used_code_is_refused_before_any_exchange() -> None:
    invite = invitation()

    async def main() -> tuple[Any, Any]:
        a, b = memory_mailbox_pair()
        first = await both(pair_as_practitioner(a, invite), pair_as_client(b, CODE))
        assert all(isinstance(keys, SessionKeys) for keys in first)
        a, b = memory_mailbox_pair()
        with pytest.raises(PairingError, match="already been used") as raised:
            await pair_as_practitioner(a, invite)
        assert a.sent == [] and raised.value.reason == codes.USED
        return first

    run(main)


def test_an_expired_code_is_refused_before_any_exchange() -> None:
    clock = ManualClock()
    invite = invitation(clock)
    clock.t += 600.0

    async def main() -> tuple[Any, Any]:
        a, b = memory_mailbox_pair()
        result = await both(pair_as_practitioner(a, invite), pair_as_client(b, CODE))
        assert a.sent == [] and a.pending() == 1  # the client's hello was never even read
        return result

    practitioner, client = run(main)
    assert isinstance(practitioner, PairingError) and practitioner.reason == codes.EXPIRED
    assert "expired" in str(practitioner) and "new invitation" in str(practitioner)
    assert isinstance(client, PairingError) and client.reason == pairing.TIMEOUT and "expired" in str(client)
    assert not invite.used


def test_a_code_that_expires_while_the_practitioner_waits() -> None:
    """The practitioner waits (in session time) until the code expires, then says so."""
    async def main() -> tuple[float, PairingError]:
        invite = Invitation.create(LoopClock(asyncio.get_running_loop()), lifetime_s=600.0)
        a, _b = memory_mailbox_pair()
        with pytest.raises(PairingError) as raised:
            await pair_as_practitioner(a, invite)
        return asyncio.get_running_loop().time() - invite.created_at, raised.value

    waited_s, error = run(main)
    assert waited_s == pytest.approx(600.0, abs=1.5)  # session seconds (the loop's virtual time)
    assert error.reason == codes.EXPIRED and "expired before the client joined" in str(error)


def test_a_client_arriving_after_expiry_is_told_so() -> None:
    clock = ManualClock()
    invite = invitation(clock)

    async def main() -> tuple[Any, Any]:
        a, b = memory_mailbox_pair()
        waiting = asyncio.ensure_future(pair_as_practitioner(a, invite))
        await asyncio.sleep(0)  # the practitioner is now waiting for the client
        clock.t += 601.0  # ... and the code expires before the client's hello arrives
        return await both(waiting, pair_as_client(b, CODE))

    practitioner, client = run(main)
    assert isinstance(practitioner, PairingError) and practitioner.reason == codes.EXPIRED
    assert isinstance(client, PairingError) and client.reason == codes.EXPIRED
    assert str(client) == "the code has expired: ask your practitioner for a new one"


def test_a_peer_with_another_protocol_version_gets_a_clear_message() -> None:
    invite = invitation()

    async def future_client(box: MemoryMailbox) -> bytes:
        await box.send(b"SFRP\x02\x01" + bytes(33))
        return await box.receive(5.0)

    async def future_practitioner(box: MemoryMailbox) -> bytes:
        await box.receive(5.0)
        await box.send(b"SFRP\x02\x02" + bytes(65))
        return await box.receive(5.0)

    async def main() -> tuple[Any, Any, Any, Any]:
        a, b = memory_mailbox_pair()
        practitioner, refusal = await both(pair_as_practitioner(a, invite), future_client(b))
        a, b = memory_mailbox_pair()
        answer, client = await both(future_practitioner(a), pair_as_client(b, CODE))
        return practitioner, refusal, client, answer

    practitioner, refusal, client, answer = run(main)
    for side in (practitioner, client):
        assert isinstance(side, PairingError) and side.reason == pairing.VERSION_MISMATCH
        assert "another version" in str(side) and "protocol 2" in str(side)
    assert refusal == b"SFRP\x01\x04\x01"  # the practitioner told the newer client why, in the fixed header
    assert answer == b"SFRP\x01\x04\x01"
    assert not invite.used  # no guess was made


def test_a_silent_practitioner_times_out_in_bounded_time() -> None:
    async def main() -> tuple[float, PairingError]:
        _a, b = memory_mailbox_pair()
        with pytest.raises(PairingError) as raised:
            await pair_as_client(b, CODE, step_timeout_s=30.0)
        return asyncio.get_running_loop().time(), raised.value

    ended_at, error = run(main)
    assert 30.0 <= ended_at <= 31.5  # session seconds
    assert error.reason == pairing.TIMEOUT and "no answer from your practitioner within 30 s" in str(error)


def test_a_client_that_goes_silent_after_its_hello_times_out_and_burns_the_code() -> None:
    invite = invitation()

    async def main() -> PairingError:
        a, b = memory_mailbox_pair()
        await b.send(b"SFRP\x01\x01" + SPAKE2_B(b"7-amber-harbor").start())
        with pytest.raises(PairingError) as raised:
            await pair_as_practitioner(a, invite, step_timeout_s=30.0)
        return raised.value

    error = run(main)
    assert error.reason == pairing.TIMEOUT and "did not confirm" in str(error)
    assert invite.used


def test_a_reflected_practitioner_reply_is_refused() -> None:
    """A relay bouncing the practitioner's own SPAKE2 message back as the client's hello gets no key."""
    invite = invitation()

    async def main() -> PairingError:
        a, b = memory_mailbox_pair()
        await b.send(b"SFRP\x01\x01" + SPAKE2_A(b"7-amber-harbor").start())
        with pytest.raises(PairingError) as raised:
            await pair_as_practitioner(a, invite)
        assert a.sent == []
        return raised.value

    assert run(main).reason == pairing.PROTOCOL


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_instead_of_a_hello_gives_a_pairing_error_never_a_crash(garbage: bytes) -> None:
    invite = invitation()

    async def main() -> Any:
        a, b = memory_mailbox_pair()
        await b.send(garbage)
        try:
            return await pair_as_practitioner(a, invite, step_timeout_s=5.0)
        except PairingError as error:
            return error

    result = run(main)
    assert isinstance(result, PairingError)
    assert "Traceback" not in str(result)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_instead_of_a_reply_gives_a_pairing_error_never_a_crash(garbage: bytes) -> None:
    async def main() -> Any:
        a, b = memory_mailbox_pair()
        await a.send(garbage)
        try:
            return await pair_as_client(b, CODE, step_timeout_s=5.0)
        except PairingError as error:
            return error

    assert isinstance(run(main), PairingError)
