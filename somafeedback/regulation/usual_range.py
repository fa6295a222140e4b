"""A client's usual range: the rolling median of the baselines recorded in their earlier sessions.

Read from the session library on the caller's thread (the app reads it once when a session
starts; the CLI's ``session`` when it parses its options).
"""

from __future__ import annotations

from pathlib import Path

from somafeedback.sessions.library import client_baselines

from .states import Baseline


def usual_range(library: Path, client: str | None) -> Baseline | None:
    """``client``'s usual range: the rolling median of the baselines of their earlier sessions
    (:meth:`Baseline.from_history`); None without a client, a stored baseline or a readable folder."""
    if not client:
        return None
    try:
        stored = client_baselines(library, client)
    except (OSError, ValueError):
        return None
    return Baseline.from_history(stored) if stored else None
