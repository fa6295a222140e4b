"""Helpers shared by the tests (imported as a plain module: tests/ is on sys.path)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from somafeedback import clock
from somafeedback.clock import MAX_SPEED

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def run_in_session_time(main: Callable[[], Coroutine[Any, Any, T]], speed: float = MAX_SPEED) -> T:
    """Run ``main()`` on a fresh SessionEventLoop (max speed: deterministic and instant)."""
    return clock.run_in_session_time(main, speed)  # type: ignore[return-value]
