"""De-identification of an export: names scrubbed, manifest reduced, wall times shifted.

De-identification (``deidentify=True``)
    No client or practitioner name anywhere: file names use the de-identified stem; the
    manifest keeps only ``format``, ``format_version``, ``session_id``, ``app_version``,
    ``mode``, ``started_*``, ``ended_*``, ``end_reason``, ``tags`` and ``devices`` (without
    ``address``/``name``/``host``/``pid``/``path`` entries), plus ``"deidentified": true``;
    every other string written (tags, event details, link details) has the client's and
    practitioner's names (the full name and each word of 3 or more letters, any case) replaced
    by ``[client]``/``[practitioner]``; a note's text is replaced by ``[note]``; strap
    info events lose the strap's name and address; the EDF patient code is ``X``. Every wall
    time is shifted by one offset so the session starts at 2000-01-01 00:00:00 UTC
    (:data:`DEIDENTIFIED_START_WALL`): intervals are preserved and the offset is written
    nowhere. The session id is kept (it lets the practitioner match the export to the record;
    it is random and means nothing to anyone else).

The functions here always de-identify; :class:`~somafeedback.interop.export._context.Context` calls
them only for a de-identified export.

Thread: any.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, Final

from ._writing import safe_name

DEIDENTIFIED_START_WALL: Final = 946684800.0  # 2000-01-01 00:00:00 UTC: de-identified sessions start here
DEID_MANIFEST_KEYS: Final = ("format", "format_version", "session_id", "app_version", "mode", "started_wall",
                             "started_host_ns", "ended_wall", "ended_host_ns", "end_reason", "tags", "devices")
DEID_DROPPED_KEYS: Final = frozenset({"address", "name", "host", "pid", "path"})

NamePatterns = list[tuple[re.Pattern[str], str]]  # (name pattern, replacement)


def name_patterns(manifest: Mapping[str, Any]) -> NamePatterns:
    """Patterns for the client's and practitioner's names (full name and words of 3+ letters, any case)."""
    patterns = []
    for key in ("client", "practitioner"):
        name = manifest.get(key)
        if not isinstance(name, str) or not name.strip():
            continue
        words = [w for w in re.split(r"\W+", name) if len(w) >= 3]
        for part in sorted({name.strip(), *words}, key=len, reverse=True):
            boundary = r"\b" if part[0].isalnum() else ""
            end = r"\b" if part[-1].isalnum() else ""
            patterns.append((re.compile(boundary + re.escape(part) + end, re.IGNORECASE), f"[{key}]"))
    return patterns


def deidentified_stem(session_id: Any, file_name: str) -> str:
    """The file-name stem of a de-identified export: ``session_<first 8 of the id>_deidentified``."""
    ident = safe_name(str(session_id))[:8] if session_id else uuid.uuid5(uuid.NAMESPACE_URL, file_name).hex[:8]
    return f"session_{ident}_deidentified"


def scrub(text: str, patterns: NamePatterns) -> str:
    """``text`` with every name replaced by ``[client]``/``[practitioner]``."""
    for pattern, replacement in patterns:
        text = pattern.sub(replacement, text)
    return text


def scrub_value(value: Any, patterns: NamePatterns, shift_s: float, drop_keys: frozenset[str] = frozenset()) -> Any:
    """``value`` with names scrubbed from every string, ``*_wall`` numbers shifted, ``drop_keys`` removed."""
    if isinstance(value, str):
        return scrub(value, patterns)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if key in drop_keys:
                continue
            if str(key).endswith("_wall") and isinstance(item, (int, float)) and not isinstance(item, bool):
                out[scrub(str(key), patterns)] = item + shift_s
            else:
                out[scrub(str(key), patterns)] = scrub_value(item, patterns, shift_s, drop_keys)
        return out
    if isinstance(value, (list, tuple)):
        return [scrub_value(item, patterns, shift_s, drop_keys) for item in value]
    return value


def hide_note_text(details: dict[str, Any]) -> dict[str, Any]:
    """A note event's details with its text replaced by ``[note]``."""
    details = {key: ("[note]" if key == "text" else value) for key, value in details.items()}
    details.setdefault("text", "[note]")
    return details


def deidentified_manifest(manifest: Mapping[str, Any], start_wall: float, shift_s: float,
                          patterns: NamePatterns) -> dict[str, Any]:
    """The manifest reduced to :data:`DEID_MANIFEST_KEYS`, scrubbed and shifted, plus ``"deidentified": true``."""
    out: dict[str, Any] = {}
    for key in DEID_MANIFEST_KEYS:
        if key not in manifest:
            continue
        value = manifest[key]
        if key == "started_wall":
            out[key] = start_wall
        elif key.endswith("_wall") and isinstance(value, (int, float)):
            out[key] = value + shift_s
        elif key == "devices":
            out[key] = scrub_value(value, patterns, shift_s, DEID_DROPPED_KEYS)
        else:
            out[key] = scrub_value(value, patterns, shift_s)
    out["deidentified"] = True
    return out
