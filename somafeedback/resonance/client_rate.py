"""A client's own breathing rate: the latest recorded assessment's best rate, or the practitioner's
override (which wins), and the pacer settings it gives.

The override is kept privately in the library folder (``client-rates.json``, 0600, replaced whole,
never edited in place); the assessments are read from the library's session files, read-only.

Thread: the caller's (file reads and one small write).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from somafeedback.clock import Clock, SystemClock
from somafeedback.regulation.exercises import Exercise
from somafeedback.regulation.pacer import PacerSettings
from somafeedback.sessions.file import SessionFileError
from somafeedback.sessions.library import filter_sessions, list_sessions
from somafeedback.sessions.opening import NotASession, open_read_only
from somafeedback.sessions.private import private_folder, write_private_bytes

from .events import RESULT_EVENT
from somafeedback.regulation.assessment_protocol import RATE_MAX_BPM, RATE_MIN_BPM

OVERRIDES_FILE: Final = "client-rates.json"  # in the library folder, 0600


@dataclass(frozen=True, slots=True)
class ClientRate:
    """``rate_bpm`` for ``client``, from ``source`` "assessment" (``session``: its file) or
    "practitioner" (an override); ``wall_time``: when it was measured or set (s since the epoch)."""

    client: str
    rate_bpm: float
    source: str
    wall_time: float | None
    session: Path | None = None
    by: str = ""

    @property
    def date_text(self) -> str:
        """The day it was measured or set, e.g. ``2026-12-06`` ("" when unknown)."""
        return "" if self.wall_time is None else dt.datetime.fromtimestamp(self.wall_time).astimezone().date().isoformat()

    @property
    def rate_text(self) -> str:
        """The rate as said to people: ``5.0``, ``5.25``."""
        text = f"{self.rate_bpm:.2f}".rstrip("0")
        return text + "0" if text.endswith(".") else text

    def describe(self) -> str:
        """One line for the stream: where the pacer's rate comes from."""
        if self.source == "practitioner":
            return f"pacer at your rate set by your practitioner on {self.date_text}: {self.rate_text} breaths/min"
        return f"pacer at your rate from the assessment of {self.date_text}: {self.rate_text} breaths/min"


def _key(client: str) -> str:
    return client.strip().casefold()


def _overrides_path(library: Path) -> Path:
    return Path(library) / OVERRIDES_FILE


def _read_overrides(library: Path) -> dict[str, Any]:
    try:
        data = json.loads(_overrides_path(library).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_overrides(library: Path, overrides: dict[str, Any]) -> None:
    folder = private_folder(library)
    target = _overrides_path(folder)
    staged = folder / f".{OVERRIDES_FILE}.{os.getpid()}.tmp"
    staged.unlink(missing_ok=True)
    write_private_bytes(staged, json.dumps(overrides, indent=1, sort_keys=True).encode("utf-8"))
    os.replace(staged, target)


def latest_assessment(library: Path, client: str) -> ClientRate | None:
    """The best rate of ``client``'s latest recorded assessment that found one (None: none)."""
    try:
        sessions = filter_sessions(list_sessions(Path(library)), client=client)
    except OSError:
        return None
    for summary in reversed(sessions):  # newest first
        try:
            with open_read_only(summary.path) as opened:
                rows = opened.db.execute("SELECT data, wall_time FROM events WHERE kind = ? ORDER BY timeline_seq DESC",
                                         (RESULT_EVENT,)).fetchall()
        except (NotASession, SessionFileError, sqlite3.DatabaseError, OSError):
            continue
        for text, wall in rows:
            try:
                best = json.loads(text).get("best_rate_bpm")
            except (ValueError, AttributeError, RecursionError):
                continue
            if isinstance(best, (int, float)) and not isinstance(best, bool):
                return ClientRate(summary.client or client, float(best), "assessment", wall if isinstance(wall, float) else summary.started_wall,
                                  summary.path)
    return None


def client_rate(library: Path, client: str | None) -> ClientRate | None:
    """``client``'s rate: the practitioner's override when there is one, else the latest assessment's best."""
    if not client:
        return None
    saved = _read_overrides(Path(library)).get(_key(client))
    if isinstance(saved, dict) and isinstance(saved.get("rate_bpm"), (int, float)):
        wall = saved.get("wall_time")
        return ClientRate(client, float(saved["rate_bpm"]), "practitioner", float(wall) if isinstance(wall, (int, float)) else None,
                          by=str(saved.get("by", "practitioner")))
    return latest_assessment(Path(library), client)


def set_client_rate(library: Path, client: str, rate_bpm: float, by: str = "practitioner",
                    clock: Clock | None = None) -> ClientRate:
    """Save ``rate_bpm`` as ``client``'s rate (wins over assessments). ValueError outside 3..10 breaths/min."""
    rate = float(rate_bpm)
    if not RATE_MIN_BPM <= rate <= RATE_MAX_BPM:
        raise ValueError(f"breathing rate {rate:g}/min is outside {RATE_MIN_BPM:g}..{RATE_MAX_BPM:g} breaths/min")
    if not client.strip():
        raise ValueError("a client's pseudonym is needed")
    wall = (clock or SystemClock()).wall_time()
    overrides = _read_overrides(Path(library))
    overrides[_key(client)] = {"client": client, "rate_bpm": rate, "by": by, "wall_time": wall}
    _write_overrides(Path(library), overrides)
    return ClientRate(client, rate, "practitioner", wall, by=by)


def clear_client_rate(library: Path, client: str) -> bool:
    """Forget the override for ``client`` (True if there was one): the latest assessment counts again."""
    overrides = _read_overrides(Path(library))
    if overrides.pop(_key(client), None) is None:
        return False
    _write_overrides(Path(library), overrides)
    return True


def client_pacer(rate: ClientRate | float, inhale_share: float = 0.4) -> PacerSettings:
    """The pacer at the client's rate, ``inhale_share`` of each breath breathing in (40:60 by default)."""
    bpm = rate.rate_bpm if isinstance(rate, ClientRate) else float(rate)
    return PacerSettings.from_rate(bpm, inhale_share)


def with_client_rate(script: Exercise, rate: ClientRate) -> Exercise:
    """``script`` with every pacer step at the client's rate (each step's inhale share kept)."""
    steps = tuple(replace(step, pacer=client_pacer(rate, step.pacer.inhale_s / step.pacer.period_s))
                  if step.pacer is not None else step for step in script.steps)
    return replace(script, steps=steps)
