"""Pairing codes (``7-amber-harbor``), invitations and the relay meeting subject.

A code is a number from 2 to 99 and two words from the 256-word list in ``words.txt``:
98 × 256 × 256 = 6,422,528 codes, about 2^22.6 (:data:`CODE_ENTROPY_BITS`). That is far too
little to be a key, and it never is one: the code is the *password* of a SPAKE2 exchange
(``pairing.py``), which lets an attacker test exactly one guess per exchange, online, and the
practitioner's :class:`Invitation` works once and is burnt by any exchange that reaches it, right
or wrong. One guess in 6.4 million per invitation is the security argument; nothing else here
(the subject hash in particular) may ever be relied on for secrecy.

Pure functions and plain objects; any thread. Time comes from an injected :class:`Clock`.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from somafeedback.clock import Clock

CODE_NUMBER_MIN = 2
CODE_NUMBER_MAX = 99
WORD_LIST_SIZE = 256
CODE_SPACE = (CODE_NUMBER_MAX - CODE_NUMBER_MIN + 1) * WORD_LIST_SIZE**2  # 6,422,528 codes
CODE_ENTROPY_BITS = math.log2(CODE_SPACE)  # ≈ 22.61 bits
DEFAULT_INVITATION_LIFETIME_S = 600.0  # seconds a fresh code may be used (10 min)

# Spellings a person may reasonably type for a listed word (British/American variants).
WORD_ALIASES = {"harbour": "harbor"}

# Reasons carried by PairingError (for code and logs; the message is what people read).
MALFORMED_CODE = "malformed-code"
EXPIRED = "expired"
USED = "used"

_EXAMPLE = "7-amber-harbor"


class PairingError(Exception):
    """A pairing that did not happen. ``str(error)`` is a message a therapist can read aloud;
    ``reason`` is a short machine-readable tag (``wrong-code``, ``expired``, ``timeout``, ...)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@cache
def words() -> tuple[str, ...]:
    """The 256 code words, in list order (a word's index is its value)."""
    text = resources.files(__package__).joinpath("words.txt").read_text(encoding="utf-8")
    listed = tuple(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))
    if len(listed) != WORD_LIST_SIZE or len(set(listed)) != WORD_LIST_SIZE:
        raise RuntimeError(f"words.txt must hold {WORD_LIST_SIZE} distinct words, not {len(set(listed))}")
    return listed


@cache
def _word_set() -> frozenset[str]:
    return frozenset(words())


@dataclass(frozen=True)
class PairingCode:
    """One code: ``number`` in 2..99 and two listed words. ``str(code)`` is its canonical form."""

    number: int
    first: str
    second: str

    def __post_init__(self) -> None:
        if not CODE_NUMBER_MIN <= self.number <= CODE_NUMBER_MAX:
            raise ValueError(f"code number must be {CODE_NUMBER_MIN}..{CODE_NUMBER_MAX}, not {self.number}")
        for word in (self.first, self.second):
            if word not in _word_set():
                raise ValueError(f"{word!r} is not a code word")

    def __str__(self) -> str:
        return f"{self.number}-{self.first}-{self.second}"

    @property
    def password(self) -> bytes:
        """The SPAKE2 password: the canonical text, ASCII."""
        return str(self).encode("ascii")


def generate_code(randbelow: Callable[[int], int] = secrets.randbelow) -> PairingCode:
    """A fresh random code (``randbelow`` is injectable for tests; the default is ``secrets``)."""
    listed = words()
    number = CODE_NUMBER_MIN + randbelow(CODE_NUMBER_MAX - CODE_NUMBER_MIN + 1)
    return PairingCode(number, listed[randbelow(WORD_LIST_SIZE)], listed[randbelow(WORD_LIST_SIZE)])


class CodeError(PairingError, ValueError):
    """Typed text that is not a code (the message says what is wrong with it)."""


def _not_a_code(detail: str) -> CodeError:
    return CodeError(f"{detail}: a code is a number and two words, like {_EXAMPLE}", MALFORMED_CODE)


def _split_glued(token: str) -> tuple[str, str] | None:
    """``amberharbor`` -> (``amber``, ``harbor``) when exactly one split gives two listed words."""
    known = _word_set()
    splits = [(token[:i], token[i:]) for i in range(1, len(token))]
    found = [(a, b) for a, b in splits if WORD_ALIASES.get(a, a) in known and WORD_ALIASES.get(b, b) in known]
    return found[0] if len(found) == 1 else None


def parse_code(text: str) -> PairingCode:
    """What a person typed -> a code, forgiving case, spaces, any separator (``7 Amber_Harbor``,
    ``7.amber.harbor``, ``7amber-harbor``, ``7–amber–harbor``), words typed together
    (``7-amberharbor``), leading zeros and the number at the end. Raises :class:`CodeError`."""
    cleaned = unicodedata.normalize("NFKC", text).casefold()
    # Digit runs and letter runs; everything else (spaces, any dash, dots, underscores) separates.
    tokens = re.findall(r"[0-9]+|[^\W\d_]+", cleaned)
    numbers = [t for t in tokens if t.isdigit()]
    letters = [t for t in tokens if not t.isdigit()]
    if not tokens:
        raise _not_a_code("no code was entered")
    if len(numbers) != 1:
        raise _not_a_code("the code needs exactly one number" if numbers == [] else "the code has more than one number")
    if len(letters) == 1 and (glued := _split_glued(letters[0])) is not None:
        letters = list(glued)
    if len(letters) != 2:
        raise _not_a_code(f"the code needs two words, not {len(letters)}")
    number = int(numbers[0])
    if not CODE_NUMBER_MIN <= number <= CODE_NUMBER_MAX:
        raise _not_a_code(f"{numbers[0]} is not a code number (codes use {CODE_NUMBER_MIN} to {CODE_NUMBER_MAX})")
    resolved = [WORD_ALIASES.get(word, word) for word in letters]
    for typed, word in zip(letters, resolved):
        if word not in _word_set():
            raise CodeError(f"“{typed}” is not one of the code words: check the spelling with your practitioner", MALFORMED_CODE)
    return PairingCode(number, resolved[0], resolved[1])


@dataclass
class Invitation:
    """The practitioner's side of one code: created at ``created_at`` (``clock.now()`` seconds),
    valid for ``lifetime_s``, and usable once (``used`` is set by the first exchange that reaches
    it, successful or not). Not thread-safe: use it from the loop that runs the pairing."""

    code: PairingCode
    created_at: float
    clock: Clock = field(repr=False)
    lifetime_s: float = DEFAULT_INVITATION_LIFETIME_S
    used: bool = False

    @classmethod
    def create(
        cls, clock: Clock, lifetime_s: float = DEFAULT_INVITATION_LIFETIME_S,
        randbelow: Callable[[int], int] = secrets.randbelow,
    ) -> Invitation:
        """A new invitation with a fresh random code, starting now on ``clock``."""
        if not lifetime_s > 0:
            raise ValueError("an invitation's lifetime must be positive")
        return cls(generate_code(randbelow), clock.now(), clock, lifetime_s)

    @property
    def expires_at(self) -> float:
        return self.created_at + self.lifetime_s

    def remaining_s(self) -> float:
        """Seconds left before the code expires (0 once expired)."""
        return max(0.0, self.expires_at - self.clock.now())

    def expired(self) -> bool:
        return self.clock.now() >= self.expires_at

    def check_usable(self) -> None:
        """Raise :class:`PairingError` if the code was used or has expired."""
        if self.used:
            raise PairingError("this code has already been used (a code works only once): create a new invitation", USED)
        if self.expired():
            minutes = round(self.lifetime_s / 60)
            raise PairingError(f"this code has expired (codes last {minutes} min): create a new invitation", EXPIRED)

    def burn(self) -> None:
        """Mark the code used: no further exchange may use it."""
        self.used = True


# --- The relay meeting subject -------------------------------------------------------------------

SUBJECT_SALT = b"somafeedback remote meeting subject v1"
SUBJECT_PREFIX = "somafeedback.pair"
# scrypt cost: ~0.1 s and 32 MiB per code here. A fast hash of a 22.6-bit code could be inverted by the
# relay in seconds (it would then know the code and could sit in the middle of the SPAKE2 exchange);
# scrypt makes trying all 6.4 M codes cost ~180 CPU-hours and ~1000 cores to finish within a code's
# 10 minutes. It raises the price; it is not the defence: the one-guess SPAKE2 exchange and the
# confirmation words both people may compare are (a relay in the middle gives them different words).
SUBJECT_SCRYPT_N = 2**15
SUBJECT_SCRYPT_R = 8
SUBJECT_SCRYPT_P = 1
_SUBJECT_SCRYPT_MAXMEM = 64 * 1024 * 1024  # bytes; n=2^15, r=8 needs 32 MiB plus a little


def meeting_id(code: PairingCode) -> str:
    """32 hex characters both sides derive from the code (scrypt with a fixed salt), so the relay
    never sees the code itself. Costs ~0.1 s of CPU: call it off the UI thread."""
    digest = hashlib.scrypt(
        code.password, salt=SUBJECT_SALT, n=SUBJECT_SCRYPT_N, r=SUBJECT_SCRYPT_R, p=SUBJECT_SCRYPT_P,
        maxmem=_SUBJECT_SCRYPT_MAXMEM, dklen=16,
    )
    return digest.hex()


def relay_subject(code: PairingCode, prefix: str = SUBJECT_PREFIX) -> str:
    """The relay subject the two sides meet on for pairing, e.g. ``somafeedback.pair.<32 hex>``."""
    return f"{prefix}.{meeting_id(code)}"
