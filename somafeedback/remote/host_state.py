"""What a practitioner's side keeps on disk to come back to a remote session after it stopped (a crash,
a laptop restart): :class:`HostState`, saved by a :class:`StateKeeper`, read by ``RemoteHost.resume``.

**What is kept.** The session keys and the hello (where the stream is), the relay as shown (never its
password), the consent as last followed, the recording the session went into, and three positions:

* ``down_next_seq``: the next sealed sequence number the host may use for a down message. The client
  refuses a number it has seen, so this may never go back: the keeper *reserves* :data:`DOWN_RESERVE`
  numbers at a time and saves the end of the block before the first of them is sealed. A resumed host
  starts at that end; the client counts the unused rest of the block as skipped, nothing more.
* ``up_position`` (the stream sequence of the last up message handed on) and ``up_next_expected`` (the
  sealed channel's next number): saved only right after the recording committed, every
  :data:`SAVE_EVERY_S` of the host's clock. A resumed host follows the up channel from
  ``up_position + 1``; what came after the last save and was also committed before the stop arrives
  again, so a few messages may be in both recordings (never none of them).
* ``next_ping_id``: late answers to the earlier process's clock pings are refused, not taken as new.

**On disk.** One JSON file per session in ``remote-sessions/`` of the data folder (0700), the file 0600,
replaced atomically at every save, removed when the session ends normally. It holds the session keys:
they are on disk only while the session lasts, readable by this account only (see docs/remote.md).

Thread: the host's loop (file writes are small and synchronous). Pure helpers: any thread.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Final, Protocol

from somafeedback.devices.events import TimelineEvent
from somafeedback.sessions.private import create_private_file, private_folder

from somafeedback.clock import Clock

from .channel import PRACTITIONER_TO_CLIENT, Sealer, SecureChannel
from .clock_sync import ClockSync
from .consent import LINK_EVENT, Consent, SharingLevel
from .messages import Hello
from .pairing import SessionKeys
from .stream import stream_name

STATE_FORMAT: Final = "somafeedback-remote-host"
STATE_VERSION: Final = 1
STATE_FOLDER: Final = "remote-sessions"  # in the data folder
SAVE_EVERY_S: Final = 2.0  # s of the host's clock between saves of the up position (each after a commit)
DOWN_RESERVE: Final = 32  # down sequence numbers reserved (saved ahead) at a time
GONE_TEXT: Final = "that remote session has ended or expired: start a new one"
REJOINED_TEXT: Final = ("the practitioner's side restarted and rejoined the session: what the client sent "
                        "meanwhile follows")


class SessionGone(Exception):
    """The session to rejoin is over: its stream is gone, too old, or its saved state unreadable (words in ``str``)."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(GONE_TEXT + (f" ({detail})" if detail else ""))


@dataclass(frozen=True)
class HostState:
    """What a host needs to come back to its session (see the module docstring)."""

    relay: str  # as shown: without password or token
    keys: SessionKeys
    hello: Hello
    recording: str  # file name of the recording the session last went into
    paired_wall: float
    saved_wall: float
    down_next_seq: int = 0
    up_position: int = 0
    up_next_expected: int = 0
    next_ping_id: int = 1
    consent: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["keys"] = {"role": self.keys.role, "practitioner_to_client": self.keys.practitioner_to_client.hex(),
                        "client_to_practitioner": self.keys.client_to_practitioner.hex(),
                        "session_id": self.keys.session_id.hex(), "confirmation": self.keys.confirmation,
                        "protocol_version": self.keys.protocol_version}
        return {"format": STATE_FORMAT, "version": STATE_VERSION, **data}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HostState:
        """The state in ``data``; :class:`SessionGone` when it is not one this version reads."""
        if data.get("format") != STATE_FORMAT or data.get("version") != STATE_VERSION:
            raise SessionGone("its saved state is not one this version reads")
        try:
            keys, hello = data["keys"], data["hello"]
            state = cls(str(data["relay"]), SessionKeys(
                keys["role"], bytes.fromhex(keys["practitioner_to_client"]), bytes.fromhex(keys["client_to_practitioner"]),
                bytes.fromhex(keys["session_id"]), str(keys["confirmation"]), int(keys["protocol_version"])),
                Hello(str(hello["session_subject"]), str(hello["up_channel"]), str(hello["down_channel"]), int(hello["protocol"])),
                str(data["recording"]), float(data["paired_wall"]), float(data["saved_wall"]),
                int(data["down_next_seq"]), int(data["up_position"]), int(data["up_next_expected"]),
                int(data["next_ping_id"]), data.get("consent"))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise SessionGone("its saved state could not be read") from None
        if state.keys.role != "practitioner":
            raise SessionGone("its saved state is not the practitioner's")
        return state


def state_folder() -> Path:
    """``remote-sessions`` in the data folder (made private when created)."""
    from platformdirs import user_data_path

    return user_data_path("somafeedback", appauthor=False) / STATE_FOLDER


def state_path(folder: Path, hello: Hello) -> Path:
    return folder / f"{stream_name(hello.session_subject)}.json"


def save_state(path: Path, state: HostState) -> None:
    """Write ``state`` to ``path`` (0600), replacing the old one atomically."""
    private_folder(path.parent)
    staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staged.unlink(missing_ok=True)
    with open(create_private_file(staged), "w", encoding="utf-8") as stream:
        json.dump(state.to_json(), stream)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(staged, path)


def load_state(path: Path) -> HostState:
    """The state saved in ``path``; :class:`SessionGone` when it is missing or unreadable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SessionGone(f"no saved state could be read from {path}: {type(error).__name__}") from None
    if not isinstance(data, dict):
        raise SessionGone("its saved state could not be read")
    return HostState.from_json(data)


def newest_state(folder: Path) -> Path | None:
    """The most recently saved state in ``folder`` (a session that did not end normally), if any."""
    found = [p for p in folder.glob("*.json") if p.is_file()] if folder.is_dir() else []
    return max(found, key=lambda p: p.stat().st_mtime, default=None)


def consent_state(consent: Consent) -> dict[str, Any]:
    return {"requested": str(consent.requested), "level": str(consent.level), "confirmed": consent.confirmed,
            "paused_by": consent.paused_by, "stopped": consent.stopped}


def restore_consent(consent: Consent, saved: Mapping[str, Any] | None) -> None:
    """Put the saved consent back on the practitioner's copy (it follows the client's changes from there)."""
    if not saved:
        return
    consent.requested = SharingLevel(saved.get("requested", consent.requested))
    consent.level = SharingLevel(saved.get("level", consent.level))
    consent.confirmed = bool(saved.get("confirmed"))
    paused_by = saved.get("paused_by")
    consent.paused_by = paused_by if isinstance(paused_by, str) else None
    consent.stopped = bool(saved.get("stopped"))


def rejoined_event(host_ns: int, wall_time: float) -> TimelineEvent:
    """The practitioner's ``remote-link`` event: this side came back to the session."""
    return TimelineEvent(LINK_EVENT, host_ns, wall_time, {"state": "rejoined", "side": "practitioner",
                                                          "text": REJOINED_TEXT})


class ReservingSealer(Sealer):
    """A down-channel sealer that calls ``reserve(block_end)`` (which must save it) before sealing past the
    numbers already reserved, so a restarted host never seals a number twice."""

    def __init__(self, keys: SessionKeys, next_seq: int, reserve: Callable[[int], None]) -> None:
        super().__init__(keys.send_key, keys.session_id, PRACTITIONER_TO_CLIENT, next_seq=next_seq,
                         version=keys.protocol_version)
        self.reserved_until = next_seq
        self._reserve = reserve

    def seal(self, plain: bytes) -> bytes:
        if self.next_seq >= self.reserved_until:
            self._reserve(self.next_seq + DOWN_RESERVE)  # saved before any of these numbers is used
            self.reserved_until = self.next_seq + DOWN_RESERVE
        return super().seal(plain)


class KeptHost(Protocol):
    """What a :class:`StateKeeper` reads of a host (``session.RemoteHost``, named so to keep imports one-way)."""

    clock: Clock
    keys: SessionKeys | None
    hello: Hello | None
    channel: SecureChannel | None
    clock_sync: ClockSync | None
    consent: Consent
    up_position: int


class StateKeeper:
    """Keeps a paired (or resumed) host's :class:`HostState` saved in ``path`` while the session runs.

    Make it right after ``pair`` or ``resume``, before the loop runs anything else (it takes over the
    down channel's numbering). ``commit`` commits the recording (raises when it cannot); ``start`` on the
    host's loop; ``finish`` when the session ended normally (the file goes). After a crash the file stays."""

    def __init__(self, host: KeptHost, path: Path, state: HostState, commit: Callable[[], None]) -> None:
        assert host.keys is not None and host.channel is not None
        self.host, self.path, self._commit = host, path, commit
        self._task: asyncio.Task[None] | None = None
        next_seq = host.channel.sealer.next_seq  # numbers sealed before the keeper (a clock ping) are never reused
        self.state = replace(state, down_next_seq=max(state.down_next_seq, next_seq))
        host.channel.sealer = ReservingSealer(host.keys, next_seq, self._reserve)

    @classmethod
    def for_host(cls, host: KeptHost, folder: Path, relay: str, recording: str, commit: Callable[[], None]) -> StateKeeper:
        """A keeper of a freshly paired host's session."""
        assert host.keys is not None and host.hello is not None
        now = host.clock.wall_time()
        state = HostState(relay, host.keys, host.hello, recording, now, now)
        return cls(host, state_path(folder, host.hello), state, commit)

    def _reserve(self, block_end: int) -> None:
        self.state = replace(self.state, down_next_seq=block_end)
        self._write()

    def _write(self) -> None:
        sync = self.host.clock_sync
        self.state = replace(self.state, saved_wall=self.host.clock.wall_time(), consent=consent_state(self.host.consent),
                             next_ping_id=sync.next_id if sync is not None else self.state.next_ping_id)
        save_state(self.path, self.state)

    def save(self) -> None:
        """Commit the recording, then save how far it goes (when the commit fails, the old position stays)."""
        assert self.host.channel is not None
        position, expected = self.host.up_position, self.host.channel.opener.next_expected
        try:
            self._commit()
        except Exception:  # noqa: BLE001 - the recording's own guard reports it; the saved position stays behind
            self._write()
            return
        self.state = replace(self.state, up_position=max(position, self.state.up_position),
                             up_next_expected=max(expected, self.state.up_next_expected))
        self._write()

    def start(self) -> None:
        """Save now and every :data:`SAVE_EVERY_S` of the host's clock (on the host's loop)."""
        self.save()
        self._task = asyncio.create_task(self._keep())

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(SAVE_EVERY_S)
            self.save()

    async def finish(self) -> None:
        """The session ended normally: stop saving and remove the file (the keys leave the disk)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.path.unlink(missing_ok=True)
