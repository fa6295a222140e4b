"""The session as an export sees it: time bases, wall times, file stem, the session's beats, output paths.

:func:`make_context` builds one :class:`Context` per export; the format writers read
everything through it, so times, wall times and de-identification are the same in every
format (the time bases and output names are described in the :mod:`somafeedback.interop.export`
docstring).

Thread: any.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from somafeedback.devices.events import Notification, TimelineEvent
from somafeedback.sessions.beat_series import session_beats
from somafeedback.sessions.beats import StrapBeats
from somafeedback.sessions.file import SUFFIX, Session, TimelineItem
from somafeedback.sessions.reader import SessionReader
from somafeedback.sessions.span import recording_start_ns
from ._deidentify import (
    DEIDENTIFIED_START_WALL,
    NamePatterns,
    count_free_text,
    deidentified_manifest,
    deidentified_stem,
    name_patterns,
    scrub,
    scrub_value,
    without_free_text,
)
from ._writing import ExportError, Outputs, dedupe, safe_name

SUFFIXES: Final = {"kubios": ".txt", "edf": ".edf"}


@dataclass
class Context:
    session: Session | SessionReader  # a reader (EDF): every walk over its timeline reads the file again
    deidentify: bool
    start_ns: int  # host clock at the session start
    start_wall: float  # wall time (Unix s) of the session start, shifted when de-identified
    shift_s: float  # added to every recorded wall time (0 unless de-identified)
    stem: str
    names: NamePatterns  # (name pattern, replacement) for de-identification
    keep_notes: bool = False  # de-identified but with typed free text kept (names still scrubbed)
    removed: dict[str, int] | None = None  # free text left out per kind (de-identified without keep_notes)
    beat_columns: bool = False  # the beats kept as columns (times and RR), no Beat objects (EDF)

    @functools.cached_property
    def beats(self) -> dict[str, StrapBeats]:
        """Per strap, in the order the session first names them: the session's one beat series
        (:func:`~somafeedback.sessions.beat_series.session_beats`, the beats replay, the app, analyze
        and the report measure). Computed on first use (a report, which runs the live analysis
        itself, never needs it)."""
        return self.measure_beats(self.session.timeline)

    def measure_beats(self, timeline: Iterable[TimelineItem]) -> dict[str, StrapBeats]:
        """:attr:`beats` measured in one walk over ``timeline`` (this session's, perhaps watched on
        the way by the caller) and kept as :attr:`beats`."""
        order: dict[str, int] = {}  # straps in the order the session first mentions them

        def noted(items: Iterable[TimelineItem]) -> Iterator[TimelineItem]:
            for item in items:
                strap = getattr(item, "strap_id", None)
                if strap is not None:
                    order.setdefault(strap, len(order))
                yield item

        beats = session_beats(noted(timeline), columns=self.beat_columns)
        measured = {strap: beats[strap] for strap in sorted(beats, key=lambda s: order.get(s, len(order)))}
        self.__dict__["beats"] = measured  # the cached property's value from now on
        return measured

    @property
    def item_count(self) -> int:
        """How many items the timeline holds (a streamed session: counted in one walk)."""
        timeline = self.session.timeline
        return len(timeline) if isinstance(timeline, list) else sum(1 for _ in timeline)

    # times
    def rel_s(self, host_ns: int) -> float:
        return (host_ns - self.start_ns) / 1e9

    def beat_rel_s(self, t_s: float) -> float:
        return t_s - self.start_ns / 1e9

    def wall_at(self, rel_s: float) -> float:
        return self.start_wall + rel_s

    def recorded_wall(self, wall_time: float | None, host_ns: int) -> float:
        """A recorded wall time (shifted), or the one the host clock gives when none was recorded."""
        if wall_time:
            return wall_time + self.shift_s
        return self.wall_at(self.rel_s(host_ns))

    @staticmethod
    def iso(wall: float) -> str:
        stamp = dt.datetime.fromtimestamp(wall, tz=dt.timezone.utc)
        return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    @property
    def duration_s(self) -> float:
        return max(self.session.duration_s, 0.0)

    # de-identification
    def scrub(self, text: str) -> str:
        if not self.deidentify:
            return text
        return scrub(text, self.names)

    def scrub_value(self, value: Any, drop_keys: frozenset[str] = frozenset()) -> Any:
        """``value`` with names scrubbed from every string, ``*_wall`` numbers shifted, ``drop_keys`` removed."""
        if not self.deidentify:
            return value
        return scrub_value(value, self.names, self.shift_s, drop_keys)

    def event_details(self, event: TimelineEvent) -> dict[str, Any]:
        """The event's details as exported: free text left out when de-identified (unless keep_notes), names scrubbed."""
        details = dict(event.data)
        if self.deidentify and not self.keep_notes:
            details = without_free_text(event)[0]
        return self.scrub_value(details)

    def manifest(self) -> dict[str, Any]:
        manifest = dict(self.session.manifest)
        if not self.deidentify:
            return manifest
        return deidentified_manifest(manifest, self.start_wall, self.shift_s, self.names, self.removed)

    @property
    def client(self) -> str | None:
        client = self.session.manifest.get("client")
        return None if self.deidentify or not client else str(client)

    @property
    def practitioner(self) -> str | None:
        practitioner = self.session.manifest.get("practitioner")
        return None if self.deidentify or not practitioner else str(practitioner)


def make_context(session: Session | SessionReader, deidentify: bool, keep_notes: bool = False,
                 beat_columns: bool = False) -> Context:
    """The export's view of ``session``; ``keep_notes`` keeps typed free text in a de-identified export;
    ``beat_columns`` keeps the beats as columns (see :attr:`Context.beat_columns`)."""
    manifest = session.manifest
    start_ns = recording_start_ns(session)
    start_wall = manifest.get("started_wall")
    if not isinstance(start_wall, (int, float)) or isinstance(start_wall, bool):
        first = next((n for n in session.timeline if isinstance(n, Notification) and n.wall_time), None)
        start_wall = first.wall_time - (first.host_ns - start_ns) / 1e9 if first is not None else None
    if start_wall is None:
        start_wall = DEIDENTIFIED_START_WALL if deidentify else 0.0
    shift = DEIDENTIFIED_START_WALL - float(start_wall) if deidentify else 0.0
    if deidentify:
        stem = deidentified_stem(manifest.get("session_id"), session.path.name)
    else:
        name = session.path.name
        stem = name[: -len(SUFFIX)] if name.endswith(SUFFIX) else session.path.stem
    start = DEIDENTIFIED_START_WALL if deidentify else float(start_wall)  # exact: never a rounding off 2000-01-01
    removed = count_free_text(session.timeline, manifest) if deidentify and not keep_notes else None
    return Context(session, deidentify, int(start_ns), start, shift, stem,
                   name_patterns(manifest) if deidentify else [], keep_notes, removed, beat_columns)


def straps_with_beats(ctx: Context) -> list[StrapBeats]:
    straps = [record for record in ctx.beats.values() if record.count]
    if not straps:
        raise ExportError(f"{ctx.session.path}: the session has no heartbeats to export "
                          "(no strap sent RR intervals)")
    return straps


def file_targets(ctx: Context, outputs: Outputs, out: Path | None, fmt: str, parts: Sequence[str | None]) -> list[Path]:
    """Final paths for ``kubios``/``edf``: one per part (None: no part suffix)."""
    suffix = SUFFIXES[fmt]
    if out is None or out.is_dir():
        folder, stem = (ctx.session.path.parent if out is None else out), ctx.stem
    else:
        folder = outputs.folder(out.parent)
        stem, suffix = (out.stem, out.suffix) if out.suffix else (out.name, suffix)
    names = dedupe([stem if part is None else f"{stem}_{safe_name(part)}" for part in parts])
    return [folder / f"{name}{suffix}" for name in names]

