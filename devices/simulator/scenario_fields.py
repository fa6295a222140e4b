"""Reading scenario TOML values: times, numbers, tables, and the :class:`ScenarioError` naming the field.

Shared by single-person scenarios (:mod:`.scenario`) and dyads (:mod:`.dyad_format`). Pure functions.
"""

from __future__ import annotations

import math
import re
from typing import Any

_CLOCK = re.compile(r"^\s*(?:(\d+):)?(\d+):(\d{1,2}(?:\.\d+)?)\s*$")


class ScenarioError(ValueError):
    """An invalid scenario; the message names the file and the field."""


def fail(source: str, field: str, message: str) -> ScenarioError:
    return ScenarioError(f"{source}: {field}: {message}" if field else f"{source}: {message}")


def show(value: Any) -> str:
    """A value as the TOML author wrote it (roughly)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value)


def seconds(value: Any, source: str, field: str) -> float:
    """A time: a number of seconds or a 'm:ss' / 'h:mm:ss' string."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise fail(source, field, f"expected seconds (a number, or a 'm:ss' string), got {show(value)}")
    if isinstance(value, str):
        m = _CLOCK.match(value)
        if not m:
            raise fail(source, field, f"expected seconds (a number, or a 'm:ss' string), got {show(value)}")
        hours, minutes, secs = m.groups()
        if float(secs) >= 60 or (hours is not None and int(minutes) >= 60):
            raise fail(source, field, f"not a valid clock time: {show(value)}")
        return int(hours or 0) * 3600.0 + int(minutes) * 60.0 + float(secs)
    seconds = float(value)
    if not math.isfinite(seconds):
        raise fail(source, field, f"must be finite, got {show(value)}")
    if seconds < 0:
        raise fail(source, field, f"must be >= 0, got {show(value)}")
    return seconds


def number(value: Any, source: str, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(source, field, f"expected a number, got {show(value)}")
    return float(value)


def integer(value: Any, source: str, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(source, field, f"expected a whole number, got {show(value)}")
    return value


def string(value: Any, source: str, field: str) -> str:
    if not isinstance(value, str):
        raise fail(source, field, f"expected a string, got {show(value)}")
    return value


def table(value: Any, source: str, field: str, allowed: tuple[str, ...], required: tuple[str, ...]) -> dict:
    if not isinstance(value, dict):
        raise fail(source, field, f"expected a table (use [[{field.split('[')[0]}]]), got {show(value)}")
    for key in value:
        if key not in allowed:
            prefix = f"{field}." if field else ""
            raise fail(source, f"{prefix}{key}", f"unknown key {key!r} (allowed: {', '.join(allowed)})")
    for key in required:
        if key not in value:
            prefix = f"{field}." if field else ""
            raise fail(source, f"{prefix}{key}", "missing")
    return value


def array_of_tables(value: Any, source: str, field: str) -> list:
    if not isinstance(value, list):
        raise fail(source, field, f"expected [[{field}]] blocks, got {show(value)}")
    return value


def heading(data: dict[str, Any], source: str, default_name: str) -> tuple[str, str, float]:
    """The fields every scenario file opens with: ``name`` (not empty), ``description`` and ``duration`` (s)."""
    name = string(data.get("name", default_name), source, "name").strip()
    if not name:
        raise fail(source, "name", "must not be empty")
    description = string(data.get("description", ""), source, "description").strip()
    return name, description, seconds(data["duration"], source, "duration")
