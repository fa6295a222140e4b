"""Export a recorded session for other tools: Kubios RR text, CSV tables, EDF+.

:func:`export_session` turns one :class:`~somafeedback.sessions.file.Session` into files in one
of :data:`FORMATS`. The beats are the ones the live path measures
(:func:`~somafeedback.sessions.beat_series.session_beats`: a Polar H10's ECG R-peak beats while
its ECG streamed, the strap's RR elsewhere), so an export shows what the app, replay, the report
and ``analyze`` showed.

Time bases
    Every "time" below is in seconds since the session start on the host clock
    (``(host_ns - manifest.started_host_ns) / 1e9``; beats: ``Beat.t_s - started_host_ns / 1e9``).
    Wall times are ISO 8601 in UTC with milliseconds (``2024-05-17T14:23:05.375Z``): a
    notification's own recorded wall time, an event's recorded wall time when it has one, and
    otherwise (beats, gaps, strap info) ``manifest.started_wall + time``.

Output names and places
    ``<stem>`` is the session file's name without ``.session.sqlite`` (de-identified:
    ``session_<first 8 characters of the session id>_deidentified``). ``out`` is a folder (an
    existing one; for ``csv`` it is created when missing) or, for ``kubios`` and ``edf``, a file
    path (the format's suffix is added when it has none; with several straps, kubios adds
    ``_<strap>`` to its stem). ``out=None`` writes next to the session file. An existing file is
    never overwritten (:class:`ExportError`). Every file is written under a temporary name
    (``.<name>.<random>.partial``) in its final folder and moved into place only when all of
    them are complete, by a hard link that cannot replace an existing file (or, where the file
    system has no hard links, ``os.replace`` after a check); any failure, or an exception raised
    by ``progress`` (a cancel), removes every temporary file and any folder the export created.
    Files are created owner read/write only (0600) from their first byte, temporary files
    included, and folders the export creates owner only (0700): they are personal data.

Formats (each layout is documented in its module)
    ``kubios`` (:mod:`somafeedback.interop.export.kubios`): one RR text file per strap with beats.
    ``csv`` (:mod:`somafeedback.interop.export.csv_files`): one table per stream, and the manifest.
    ``edf`` (:mod:`somafeedback.interop.export.edf`): one EDF+ file with every strap.

De-identification (``deidentify=True``)
    No client or practitioner name anywhere, a reduced manifest, typed free text left out
    (notes, review notes, typed marker labels, cue texts, tags; unless ``keep_notes=True``) and
    counted per kind (:attr:`Exported.removed`, and ``free_text_removed`` in the CSV manifest),
    and every wall time shifted so the session starts at 2000-01-01 00:00:00 UTC
    (:data:`DEIDENTIFIED_START_WALL`); the details are in
    :mod:`somafeedback.interop.export._deidentify`.

Modules
    ``_writing`` (temporary files, no overwriting, all-or-nothing, progress), ``_context`` (the
    session as an export sees it: times, stem, beats, output paths), ``_deidentify``,
    ``kubios``, ``csv_files``, ``edf``.

Thread: any (pure apart from file I/O; ``progress`` is called on the caller's thread).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from somafeedback.sessions.file import Session
from somafeedback.sessions.reader import SessionReader

# Besides what export_session needs, the public constants of the former single-module export.py
# stay importable from here.
from ._context import SUFFIXES, make_context
from ._deidentify import DEIDENTIFIED_START_WALL, FREE_TEXT_KINDS, removed_text
from ._writing import FILE_MODE, PROGRESS_STEP, ExportError, Outputs, Progress, ProgressCallback
from .csv_files import METRICS_WORK, export_csv
from .edf import (
    EDF_ANNOTATION_BYTES,
    EDF_CHUNK_RECORDS,
    EDF_FILL,
    EDF_FS_HZ,
    EDF_HR_MAX_BPM,
    EDF_LABEL_CHARS,
    EDF_MAX_ANNOTATION_SIGNALS,
    EDF_RR_MAX_MS,
    EDF_YEARS,
    export_edf,
)
from .kubios import export_kubios

FORMATS: Final = ("kubios", "csv", "edf")
_EXPORTERS: Final = {"kubios": export_kubios, "csv": export_csv, "edf": export_edf}


class Exported(list[Path]):
    """The paths an export wrote (a list), and ``removed``: typed free text left out per kind
    (:data:`FREE_TEXT_KINDS`; None when not de-identified or ``keep_notes``)."""

    removed: dict[str, int] | None = None


def export_session(session: Session | SessionReader, fmt: str, out: Path | None = None, deidentify: bool = False,
                   progress: ProgressCallback | None = None, keep_notes: bool = False) -> Exported:
    """Write ``session`` as ``fmt`` (one of :data:`FORMATS`); the paths of the files written.

    ``out``: a folder, or for kubios/edf a file path; None: next to the session file (see the
    module docstring for names and layouts). ``progress(fraction)`` is called with 0.0 first,
    then as work advances (at most about 100 calls), then 1.0 just before the files are moved
    into place; if it raises (a cancel), nothing is left behind and the exception propagates.
    ``keep_notes`` keeps typed free text in a de-identified export (names still scrubbed).
    ``session`` may be a :class:`~somafeedback.sessions.reader.SessionReader`: the ``edf`` export
    then streams it (bounded memory: beats as columns, ECG data records written as they fill);
    the other formats read it whole.
    Raises :class:`ExportError` (naming the session file) for an unknown format, a session
    without beats (kubios, edf), an output that already exists, or a file that cannot be written.

    Thread: any.
    """
    if fmt not in FORMATS:
        raise ExportError(f"{session.path}: unknown export format {fmt!r} (choose one of {', '.join(FORMATS)})")
    outputs = Outputs(Path(session.path))
    reporter = Progress(progress)
    try:
        reporter.start()
        if isinstance(session, SessionReader) and fmt != "edf":
            session = session.whole()
        ctx = make_context(session, deidentify, keep_notes, beat_columns=fmt == "edf")
        _EXPORTERS[fmt](ctx, None if out is None else Path(out), outputs, reporter)
        reporter.finish()
        written = Exported(outputs.commit())
        written.removed = ctx.removed
        return written
    except OSError as error:
        outputs.discard()
        where = f" {error.filename}" if getattr(error, "filename", None) else ""
        raise ExportError(f"{session.path}: cannot write the {fmt} export{where}: {error.strerror or error}") from error
    except BaseException:
        outputs.discard()
        raise


__all__ = ["DEIDENTIFIED_START_WALL", "EDF_FILL", "EDF_FS_HZ", "FORMATS", "FREE_TEXT_KINDS", "ExportError", "Exported",
           "export_session", "removed_text"]

