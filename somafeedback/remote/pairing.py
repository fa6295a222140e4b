"""Pairing: a spoken code -> a shared session key, by SPAKE2 with key confirmation.

**Which SPAKE2.** ``SPAKE2_A`` (practitioner) and ``SPAKE2_B`` (client) from the ``spake2``
package, not the symmetric variant: the roles are fixed (the practitioner creates the invitation,
the client types it), the asymmetric form is the one analysed by Abdalla and Pointcheval, and each
message carries its side, so a relay that reflects a side's own message back to it is refused by the
library instead of yielding a key. Symmetric SPAKE2 exists for peers that cannot tell who is who.

**Wire format** (protocol version :data:`PROTOCOL_VERSION`; every later version must keep the
first 5 bytes, ``b"SFRP"`` and the version byte, so that a mismatch is always recognised)::

    frame = b"SFRP" | version u8 | kind u8 | body
    1 client hello          client -> practitioner   body = SPAKE2_B message (33 bytes)
    2 practitioner reply    practitioner -> client   body = SPAKE2_A message (33) | confirm_A (32)
    3 client confirm        client -> practitioner   body = confirm_B (32)
    4 refuse                either way               body = reason u8 (version, expired, used, code)

``confirm_X = HMAC-SHA256(HKDF(k, info="confirm practitioner" | "confirm client"), transcript)`` with
``transcript = b"SFRP" | version | SPAKE2_A message | SPAKE2_B message`` and ``k`` the SPAKE2 key;
distinct keys per side, so one side's confirmation cannot be reflected as the other's. All HKDFs are
HKDF-SHA256 with salt :data:`KEY_SALT`. The client checks confirm_A first and, on a mismatch (a
wrong code), sends *refuse(code)* rather than its own confirmation, so that both sides report
"the code was not accepted". The client speaks first, so the practitioner's side only ever answers.

**One guess per code.** The practitioner's invitation is checked (unused, not expired) before
anything is received and burnt as soon as a well-formed hello arrives, before its key is used:
whatever follows, that code is spent. A relay that alters or drops the *last* message can leave the
client paired while the practitioner's side is not; the sealed channel then carries nothing the
client can open or answer, and the session layer must treat that silence as a failed session.

Runs on the asyncio loop that awaits it; every receive is bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from spake2 import SPAKE2_A, SPAKE2_B

from somafeedback.remote.codes import (
    EXPIRED,
    USED,
    Invitation,
    PairingCode,
    PairingError,
    parse_code,
    words,
)
from somafeedback.remote.mailbox import Mailbox

PROTOCOL_VERSION = 1
MAGIC = b"SFRP"
HEADER_LEN = len(MAGIC) + 2  # magic, version, kind
PAKE_MESSAGE_LEN = 33  # bytes: side letter + an Ed25519 group element
MAC_LEN = 32  # bytes, HMAC-SHA256

KIND_CLIENT_HELLO = 1
KIND_PRACTITIONER_REPLY = 2
KIND_CLIENT_CONFIRM = 3
KIND_REFUSE = 4
REFUSE_VERSION, REFUSE_EXPIRED, REFUSE_USED, REFUSE_CODE = 1, 2, 3, 4

STEP_TIMEOUT_S = 30.0  # seconds to wait for each answer once the exchange has started
RECEIVE_GRACE_S = 1.0  # seconds our own bound waits past the mailbox's timeout (it should fire first)

ID_PRACTITIONER = b"somafeedback practitioner"
ID_CLIENT = b"somafeedback client"
KEY_SALT = b"somafeedback remote session v1"
INFO_PRACTITIONER_TO_CLIENT = b"practitioner->client"
INFO_CLIENT_TO_PRACTITIONER = b"client->practitioner"
INFO_SESSION_ID = b"session id"
INFO_CONFIRMATION_WORDS = b"confirmation words"
INFO_CONFIRM_PRACTITIONER = b"confirm practitioner"
INFO_CONFIRM_CLIENT = b"confirm client"
SESSION_KEY_LEN = 32  # bytes per direction (ChaCha20-Poly1305 keys)
SESSION_ID_LEN = 16  # bytes
CONFIRMATION_WORD_COUNT = 3  # 24 bits: enough to notice a relay in the middle when compared aloud

# PairingError reasons added here (codes.py has malformed-code, expired, used).
WRONG_CODE = "wrong-code"
VERSION_MISMATCH = "version"
TIMEOUT = "timeout"
PROTOCOL = "protocol"

Role = Literal["practitioner", "client"]


@dataclass(frozen=True)
class SessionKeys:
    """What a successful pairing gives one side: a key per direction, a session id and the
    confirmation words both people may compare aloud. Keys are kept out of ``repr``."""

    role: Role
    practitioner_to_client: bytes = field(repr=False)
    client_to_practitioner: bytes = field(repr=False)
    session_id: bytes
    confirmation: str
    protocol_version: int = PROTOCOL_VERSION

    @property
    def send_key(self) -> bytes:
        return self.practitioner_to_client if self.role == "practitioner" else self.client_to_practitioner

    @property
    def receive_key(self) -> bytes:
        return self.client_to_practitioner if self.role == "practitioner" else self.practitioner_to_client


def _hkdf(key: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=KEY_SALT, info=info).derive(key)


def confirmation_words(spake_key: bytes) -> str:
    """Three list words derived from the SPAKE2 key, e.g. ``otter lantern quartz``."""
    listed = words()
    return " ".join(listed[b] for b in _hkdf(spake_key, INFO_CONFIRMATION_WORDS, CONFIRMATION_WORD_COUNT))


def derive_session_keys(spake_key: bytes, role: Role) -> SessionKeys:
    """The session keys both sides derive from the shared SPAKE2 key."""
    return SessionKeys(
        role=role,
        practitioner_to_client=_hkdf(spake_key, INFO_PRACTITIONER_TO_CLIENT, SESSION_KEY_LEN),
        client_to_practitioner=_hkdf(spake_key, INFO_CLIENT_TO_PRACTITIONER, SESSION_KEY_LEN),
        session_id=_hkdf(spake_key, INFO_SESSION_ID, SESSION_ID_LEN),
        confirmation=confirmation_words(spake_key),
    )


def _confirm_mac(spake_key: bytes, info: bytes, msg_a: bytes, msg_b: bytes) -> bytes:
    transcript = MAGIC + bytes([PROTOCOL_VERSION]) + msg_a + msg_b
    return hmac.new(_hkdf(spake_key, info, MAC_LEN), transcript, hashlib.sha256).digest()


def _frame(kind: int, body: bytes) -> bytes:
    return MAGIC + bytes([PROTOCOL_VERSION, kind]) + body


def _parse(data: bytes, from_whom: str) -> tuple[int, int, bytes]:
    """(version, kind, body) of a pairing frame; anything else is a protocol error."""
    if len(data) < HEADER_LEN or not data.startswith(MAGIC):
        raise PairingError(f"a message from {from_whom} was not a somafeedback pairing message: ask for a new code", PROTOCOL)
    return data[len(MAGIC)], data[len(MAGIC) + 1], bytes(data[HEADER_LEN:])


def _version_error(peer: str, version: int) -> PairingError:
    return PairingError(
        f"{peer}'s somafeedback uses another version of remote sessions (protocol {version}; this one uses "
        f"{PROTOCOL_VERSION}): update both to the same version of somafeedback, then pair again",
        VERSION_MISMATCH,
    )


def _wrong_code(practitioner: bool) -> PairingError:
    if practitioner:
        message = ("the code was not accepted: the client's code did not match; "
                   "this code cannot be used again, create a new invitation and read it out once more")
    else:
        message = "the code was not accepted: check it with your practitioner and ask for a new one (each code works once)"
    return PairingError(message, WRONG_CODE)


async def _receive(mailbox: Mailbox, timeout_s: float) -> bytes:
    """The next message, bounded twice: by the mailbox's own timeout and by ours just after it."""
    return await asyncio.wait_for(mailbox.receive(timeout_s), timeout=timeout_s + RECEIVE_GRACE_S)


async def pair_as_practitioner(
    mailbox: Mailbox, invitation: Invitation, *,
    wait_for_client_s: float | None = None, step_timeout_s: float = STEP_TIMEOUT_S,
) -> SessionKeys:
    """Wait for the client's hello on ``mailbox`` (at most until the code expires, or
    ``wait_for_client_s``), then complete the exchange. Raises :class:`PairingError`."""
    invitation.check_usable()  # an expired or used code is refused before anything is exchanged
    wait_s = invitation.remaining_s() if wait_for_client_s is None else min(wait_for_client_s, invitation.remaining_s())
    try:
        data = await _receive(mailbox, wait_s)
    except TimeoutError:
        if invitation.expired():
            raise PairingError("the code expired before the client joined: create a new invitation", EXPIRED) from None
        raise PairingError(
            f"the client has not joined within {wait_s:.0f} s: the code is still valid, keep waiting or create a new one", TIMEOUT,
        ) from None
    version, kind, body = _parse(data, "the client")
    if version != PROTOCOL_VERSION:
        await mailbox.send(_frame(KIND_REFUSE, bytes([REFUSE_VERSION])))
        raise _version_error("the client", version)
    if kind != KIND_CLIENT_HELLO or len(body) != PAKE_MESSAGE_LEN:
        raise PairingError("the client's first message was not a pairing request: ask the client to join again", PROTOCOL)
    if invitation.used or invitation.expired():  # it may have expired (or been used) while we waited
        await mailbox.send(_frame(KIND_REFUSE, bytes([REFUSE_USED if invitation.used else REFUSE_EXPIRED])))
        invitation.check_usable()
    invitation.burn()  # a guess is being made: the code is spent whatever follows

    spake = SPAKE2_A(invitation.code.password, idA=ID_PRACTITIONER, idB=ID_CLIENT)
    msg_a = spake.start()
    try:
        key = spake.finish(body)
    except Exception:  # spake2 raises assorted errors (wrong side, reflection, not a group element)
        raise PairingError("the client's pairing message could not be read: create a new invitation", PROTOCOL) from None
    await mailbox.send(_frame(KIND_PRACTITIONER_REPLY, msg_a + _confirm_mac(key, INFO_CONFIRM_PRACTITIONER, msg_a, body)))

    try:
        data = await _receive(mailbox, step_timeout_s)
    except TimeoutError:
        raise PairingError(f"the client did not confirm the code within {step_timeout_s:.0f} s: create a new invitation", TIMEOUT) from None
    version, kind, answer = _parse(data, "the client")
    if kind == KIND_REFUSE and answer == bytes([REFUSE_CODE]):
        raise _wrong_code(practitioner=True)
    if version != PROTOCOL_VERSION or kind != KIND_CLIENT_CONFIRM or len(answer) != MAC_LEN:
        raise PairingError("the client's confirmation was not understood: create a new invitation", PROTOCOL)
    if not hmac.compare_digest(answer, _confirm_mac(key, INFO_CONFIRM_CLIENT, msg_a, body)):
        raise _wrong_code(practitioner=True)
    return derive_session_keys(key, "practitioner")


_REFUSALS = {
    REFUSE_EXPIRED: ("the code has expired: ask your practitioner for a new one", EXPIRED),
    REFUSE_USED: ("the code has already been used (each code works once): ask your practitioner for a new one", USED),
    REFUSE_CODE: ("the code was not accepted: ask your practitioner for a new one", WRONG_CODE),
}


async def pair_as_client(mailbox: Mailbox, code: PairingCode | str, *, step_timeout_s: float = STEP_TIMEOUT_S) -> SessionKeys:
    """Send the hello for ``code`` (typed text is normalised first) and complete the exchange.
    Raises :class:`PairingError` (a :class:`~somafeedback.remote.codes.CodeError` for a mistyped code)."""
    if isinstance(code, str):
        code = parse_code(code)
    spake = SPAKE2_B(code.password, idA=ID_PRACTITIONER, idB=ID_CLIENT)
    msg_b = spake.start()
    await mailbox.send(_frame(KIND_CLIENT_HELLO, msg_b))
    try:
        data = await _receive(mailbox, step_timeout_s)
    except TimeoutError:
        raise PairingError(
            f"no answer from your practitioner within {step_timeout_s:.0f} s: the code may have expired or been used, "
            "or their session is not open; ask them for a new code", TIMEOUT,
        ) from None
    version, kind, body = _parse(data, "your practitioner")
    if version != PROTOCOL_VERSION:
        if kind != KIND_REFUSE:  # a newer practitioner answered in its own format: tell it why we stop
            await mailbox.send(_frame(KIND_REFUSE, bytes([REFUSE_VERSION])))
        raise _version_error("your practitioner", version)
    if kind == KIND_REFUSE and len(body) == 1 and body[0] in _REFUSALS:
        raise PairingError(*_REFUSALS[body[0]])
    if kind != KIND_PRACTITIONER_REPLY or len(body) != PAKE_MESSAGE_LEN + MAC_LEN:
        raise PairingError("your practitioner's answer was not understood: ask them for a new code", PROTOCOL)
    msg_a, confirm_a = body[:PAKE_MESSAGE_LEN], body[PAKE_MESSAGE_LEN:]
    try:
        key = spake.finish(msg_a)
    except Exception:  # spake2 raises assorted errors (wrong side, reflection, not a group element)
        raise PairingError("your practitioner's answer could not be read: ask them for a new code", PROTOCOL) from None
    if not hmac.compare_digest(confirm_a, _confirm_mac(key, INFO_CONFIRM_PRACTITIONER, msg_a, msg_b)):
        await mailbox.send(_frame(KIND_REFUSE, bytes([REFUSE_CODE])))
        raise _wrong_code(practitioner=False)
    await mailbox.send(_frame(KIND_CLIENT_CONFIRM, _confirm_mac(key, INFO_CONFIRM_CLIENT, msg_a, msg_b)))
    return derive_session_keys(key, "client")
