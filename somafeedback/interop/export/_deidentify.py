"""De-identification of an export: names scrubbed, manifest reduced, wall times shifted.

De-identification (``deidentify=True``)
    No client or practitioner name anywhere: file names use the de-identified stem; the
    manifest keeps only ``format``, ``format_version``, ``session_id``, ``app_version``,
    ``mode``, ``started_*``, ``ended_*``, ``end_reason``, ``tags`` and ``devices`` (without
    ``address``/``name``/``host``/``pid``/``path`` entries), plus ``"deidentified": true``;
    every other string written (event details, link details) has the client's and
    practitioner's names (the full name and each word of 3 or more letters, any case) replaced
    by ``[client]``/``[practitioner]``; strap info events lose the strap's name and address;
    the EDF patient code is ``X``. Every wall
    time is shifted by one offset so the session starts at 2000-01-01 00:00:00 UTC
    (:data:`DEIDENTIFIED_START_WALL`): intervals are preserved and the offset is written
    nowhere. The session id is kept (it lets the practitioner match the export to the record;
    it is random and means nothing to anyone else).

Free text (dropped unless ``keep_notes=True``, :func:`without_free_text`)
    Whatever someone typed may name people, places and dates, so it is left out and counted
    per kind (:data:`FREE_TEXT_KINDS`): a note's text becomes ``[note]`` (``notes``; a review
    note's likewise, ``review notes``, and its author is dropped; a review note that marks a
    phase keeps ``phase: <phase> starts``); a marker keeps its time and its label only when it
    is one of the app's own (:data:`APP_MARKER_LABELS`), else the label is ``marker``
    (``marker labels``; an ``undo`` of a marker likewise); a cue keeps its action, step,
    exercise id and reason, not its text (``cue texts``: it can be the client's own plan); the
    manifest's tags are emptied (``tags``); an event of a kind the app does not make itself
    loses any ``text``/``label``/``comment``/``description``/``note``/``notes``/``plan``/``title``
    string (``other texts``). The counts go into the manifest as ``"free_text_removed"`` and are
    printed by the ``export`` command. With ``keep_notes`` the texts stay, names still scrubbed.

The functions here always de-identify; :class:`~somafeedback.interop.export._context.Context` calls
them only for a de-identified export.

Thread: any.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Final

from somafeedback.devices.events import TimelineEvent
from somafeedback.sessions.segments import phase_mark_of
from ._writing import safe_name

DEIDENTIFIED_START_WALL: Final = 946684800.0  # 2000-01-01 00:00:00 UTC: de-identified sessions start here
DEID_MANIFEST_KEYS: Final = ("format", "format_version", "session_id", "app_version", "mode", "started_wall",
                             "started_host_ns", "ended_wall", "ended_host_ns", "end_reason", "tags", "devices")
DEID_DROPPED_KEYS: Final = frozenset({"address", "name", "host", "pid", "path"})

NamePatterns = list[tuple[re.Pattern[str], str]]  # (name pattern, replacement)

FREE_TEXT_KINDS: Final = ("notes", "review notes", "marker labels", "cue texts", "tags", "other texts")
NOTE_PLACEHOLDER: Final = "[note]"  # a note's text in a de-identified export
NEUTRAL_MARKER: Final = "marker"  # a typed marker label in a de-identified export
# The marker labels the app itself records (the practitioner panel's buttons, ui/cue_panel.py MARKERS;
# mute/unmute; the movement-block hotkey): a fixed vocabulary, never typed, so kept.
APP_MARKER_LABELS: Final = frozenset({
    "resource", "activation", "pendulation", "discharge", "grounding", "orienting", "containment", "felt shift",
    "hypoarousal signs observed", "charged material", "mute", "unmute", "movement-start", "movement-end",
})
# Event kinds the app writes itself from fixed texts (their strings are not typed by anyone).
APP_EVENT_KINDS: Final = frozenset({
    "state", "method", "movement", "calibration", "rest-comparison", "baseline", "phase", "pacer", "pacer-following",
    "seek", "settings", "pmd_started", "pmd_stopped", "pmd_error",
})
FREE_TEXT_KEYS: Final = ("text", "label", "comment", "description", "note", "notes", "plan", "title")


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


def without_free_text(event: TimelineEvent) -> tuple[dict[str, Any], str | None]:
    """``event``'s details with typed free text left out, and the kind of text left out (None: none).

    The rules per event kind are in the module docstring ("Free text").
    """
    data = dict(event.data)
    if event.kind == "note":
        review = data.get("review") is True
        phase = phase_mark_of(event)
        if phase is not None:  # a phase marked in review: the app wrote the text, the phase is structure
            return {"text": f"phase: {phase} starts", "review": True, "phase": phase}, None
        typed = _typed(data.get("text")) or _typed(data.get("author"))
        details: dict[str, Any] = {"text": NOTE_PLACEHOLDER, **({"review": True} if review else {})}
        return details, ("review notes" if review else "notes") if typed else None
    if event.kind == "marker" or (event.kind == "undo" and data.get("of") == "marker"):
        label = data.get("label")
        kept = label if isinstance(label, str) and label in APP_MARKER_LABELS else NEUTRAL_MARKER
        if event.kind == "marker":
            details = {"label": kept}
        else:
            details = {key: value for key, value in data.items() if key not in FREE_TEXT_KEYS} | {"label": kept}
        return details, "marker labels" if kept != label and _typed(label) else None
    if event.kind == "cue":
        typed = any(_typed(data.get(key)) for key in FREE_TEXT_KEYS)
        return {key: value for key, value in data.items() if key not in FREE_TEXT_KEYS}, "cue texts" if typed else None
    if event.kind in APP_EVENT_KINDS:
        return data, None
    typed = any(_typed(data.get(key)) for key in FREE_TEXT_KEYS)
    return {key: value for key, value in data.items() if key not in FREE_TEXT_KEYS}, "other texts" if typed else None


def _typed(value: Any) -> bool:
    """Whether ``value`` is text with something in it."""
    return isinstance(value, str) and bool(value.strip())


def count_free_text(events: Iterable[Any], manifest: Mapping[str, Any]) -> dict[str, int]:
    """How many texts of each of :data:`FREE_TEXT_KINDS` a de-identified export leaves out."""
    counts = dict.fromkeys(FREE_TEXT_KINDS, 0)
    for event in events:
        if isinstance(event, TimelineEvent):
            kind = without_free_text(event)[1]
            if kind is not None:
                counts[kind] += 1
    tags = manifest.get("tags")
    counts["tags"] = sum(1 for tag in tags if _typed(tag)) if isinstance(tags, list) else 0
    return counts


def removed_text(counts: Mapping[str, int]) -> str:
    """The counts in words, e.g. "2 notes, 1 marker label" ("nothing" when all are 0)."""
    parts = [f"{n} {kind if n != 1 else kind.removesuffix('s')}"
             for kind, n in counts.items() if n]
    return ", ".join(parts) or "nothing"


def deidentified_manifest(manifest: Mapping[str, Any], start_wall: float, shift_s: float,
                          patterns: NamePatterns, removed: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The manifest reduced to :data:`DEID_MANIFEST_KEYS`, scrubbed and shifted, plus ``"deidentified": true``.

    ``removed`` (free text left out, per kind): tags are emptied and the counts recorded as
    ``"free_text_removed"``; None: free text kept (``"free_text_removed": null``).
    """
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
        elif key == "tags" and removed is not None:
            out[key] = []
        else:
            out[key] = scrub_value(value, patterns, shift_s)
    out["deidentified"] = True
    out["free_text_removed"] = dict(removed) if removed is not None else None
    return out
