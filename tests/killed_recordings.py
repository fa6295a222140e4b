"""A recording killed mid-way, as a crash or power cut leaves it: the session file and its -wal,
copied while the writer still held them (for the reader, repair and app tests)."""

from __future__ import annotations

import shutil
from pathlib import Path

from manual_clock import ManualClock

from somafeedback.devices.events import Notification
from somafeedback.sessions.file import SUFFIX, SessionWriter

HR = "00002a37-0000-1000-8000-00805f9b34fb"


def hr_beat(rr_ms: int) -> bytes:
    """A Heart Rate Measurement (flags: 8-bit HR, RR present) with one RR in 1/1024 s."""
    rr = round(rr_ms * 1.024)
    return bytes([0x10, round(60000 / rr_ms)]) + rr.to_bytes(2, "little")


def write_beats(writer: SessionWriter, clock: ManualClock, beats: int, strap: str = "strap1") -> None:
    for n in range(beats):
        clock.advance(0.8)
        writer.notification(Notification(strap, HR, n + 1, clock.now_ns(), clock.wall_time(), hr_beat(800 + 10 * (n % 5))))


def killed_recording(folder: Path, name: str, client: str, beats: int = 200, checkpoint_after: int = 0) -> Path:
    """What a killed recorder leaves: the file and its -wal, copied while the writer still held them.

    ``checkpoint_after``: beats written (and checkpointed into the file itself) before the rest.
    """
    clock = ManualClock(start_wall=1_700_000_000.0)
    live = folder.parent / f"live-{name}"
    live.mkdir()
    path = live / f"{name}{SUFFIX}"
    gone = {"pid": 1, "host": "the machine that recorded it"}  # its recorder is not running here
    writer = SessionWriter(path, clock, {"client": client, "mode": "recording", "recorder": gone})
    writer._db.execute("PRAGMA wal_autocheckpoint=0")  # everything stays in the -wal, as after a crash
    write_beats(writer, clock, checkpoint_after)
    writer.commit()
    writer._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    write_beats(writer, clock, beats - checkpoint_after)
    writer.commit()
    target = folder / path.name
    for suffix in ("", "-wal"):
        shutil.copyfile(f"{path}{suffix}", f"{target}{suffix}")
    writer.close()
    shutil.rmtree(live)
    return target
