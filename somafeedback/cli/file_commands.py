"""The commands that move sessions in and out of the library as files: ``import`` (an RR file
becomes a session) and ``export`` (a session as Kubios RR text, CSV per stream or EDF+). Each
``add_*`` declares one command on the subparsers and points it at its implementation.

Thread: the main thread.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .options import add_library_option, add_progress_option, library_folder, progress_bar
from .running import EXIT_OK, EXIT_USAGE, open_session


def add_import(commands: Any) -> None:
    importer = commands.add_parser("import", help="turn an RR file into a session in the library")
    importer.add_argument("file", metavar="FILE", help="Kubios RR text, HRV Logger RR CSV, Polar Sensor Logger file, plain RR")
    add_library_option(importer)
    importer.add_argument("--client", metavar="NAME")
    importer.add_argument("--events", metavar="FILE", help="HRV Logger events CSV to import as markers")
    importer.add_argument("--tag", action="append", default=[], metavar="TAG")
    add_progress_option(importer)
    importer.set_defaults(run=_import)


def add_export(commands: Any) -> None:
    export = commands.add_parser("export", help="export a session: Kubios RR text, CSV per stream, EDF+")
    export.add_argument("session", metavar="SESSION")
    add_library_option(export)
    export.add_argument("--format", required=True, choices=("kubios", "csv", "edf"))
    export.add_argument("--deidentify", action="store_true",
                        help="leave out names and typed text (notes, marker labels, cue texts, tags) and move dates "
                        "to 2000-01-01; says what it left out")
    export.add_argument("--keep-notes", action="store_true",
                        help="with --deidentify: keep typed notes, marker labels, cue texts and tags "
                        "(names of the client and practitioner are still left out)")
    export.add_argument("--out", metavar="PATH", help="file or folder (default: beside the session)")
    add_progress_option(export)
    export.set_defaults(run=_export)


def _import(args: argparse.Namespace) -> int:
    from somafeedback.interop.importer import ImportFileError, import_file
    from somafeedback.interop.rr_files import RRFileError

    try:
        path = import_file(args.file, library_folder(args), client=args.client, events_path=args.events, tags=args.tag,
                           progress=progress_bar(args, "importing"))
    except (ImportFileError, RRFileError) as error:
        print(f"somafeedback import: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"imported {args.file} as {path}")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from somafeedback.interop.export import ExportError, export_session, removed_text
    from somafeedback.sessions.file import SessionFileError
    from somafeedback.sessions.private import private_if_library

    if args.keep_notes and not args.deidentify:
        print("somafeedback export: --keep-notes goes with --deidentify (without it every note is exported anyway)",
              file=sys.stderr)
        return EXIT_USAGE
    out = Path(args.out) if args.out else None
    session = None
    try:
        session = open_session(args, stream=args.format == "edf")  # EDF streams the file: bounded memory
        target_folder = session.path.parent if out is None else out if out.is_dir() or args.format == "csv" else out.parent
        private_if_library(target_folder, library_folder(args))
        written = export_session(session, args.format, out, args.deidentify,
                                 progress=progress_bar(args, f"exporting {args.format}"), keep_notes=args.keep_notes)
    except (ExportError, SessionFileError) as error:
        print(f"somafeedback export: {error}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        close = getattr(session, "close", None)  # a streamed session's file is closed
        if close is not None:
            close()
    if args.deidentify:
        kept = "typed text kept (--keep-notes); " if args.keep_notes else ""
        left_out = "" if args.keep_notes else f"; typed text left out: {removed_text(written.removed or {})}"
        print(f"de-identified: {kept}names left out, dates moved to 2000-01-01{left_out}", file=sys.stderr)
    for path in written:
        print(path)
    return EXIT_OK

