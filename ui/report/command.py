"""The ``somafeedback report`` and ``somafeedback progress`` commands (HTML or PDF reports).

``report SESSION --format html|pdf [--audience practitioner|client] [--deidentify] [--out PATH] [--recordings DIR]``
    SESSION is a session file, or (a unique prefix of) a session id or file name in the
    library, as for the other commands. ``--audience client`` writes the plain-language
    client version (what they practised, how long, what changed, in words) instead of the
    practitioner's full report.
``progress CLIENT --format html|pdf [--out PATH] [--recordings DIR]``
    One client's sessions in the library, week by week.

Each prints the path written; bad input (no such session or client, an unreadable file, an
output that already exists, a format not offered) gives one line on stderr and exit status 2.
On a terminal (or with ``--progress``) a progress bar runs on stderr; Ctrl-C stops the work
and leaves nothing behind.

:func:`add_arguments` adds both commands to the ``somafeedback`` command's subparsers (each
with ``run=run`` as its default, like the other commands); :func:`main` runs them on their
own. They live in ui/ because the figures are drawn by the app's plotting code (Qt).

Thread: the main thread.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

COMMANDS: Final = ("report", "progress")
EXIT_OK: Final = 0
EXIT_USAGE: Final = 2
FORMAT_CHOICES: Final = ("html", "pdf")
AUDIENCE_CHOICES: Final = ("practitioner", "client")


def _add_common(parser: argparse.ArgumentParser, out_help: str) -> None:
    parser.add_argument("--format", required=True, choices=FORMAT_CHOICES,
                        help="html: one self-contained file; pdf: A4 pages")
    parser.add_argument("--out", type=Path, metavar="PATH", help=out_help)
    parser.add_argument("--recordings", type=Path, metavar="DIR",
                        help="the session library folder (default: your data folder; or $SOMAFEEDBACK_RECORDINGS)")
    parser.add_argument("--progress", action="store_true",
                        help="show a progress bar on stderr even when it is not a terminal (it is shown on a terminal anyway)")


def add_arguments(subparsers: Any) -> None:
    """Add ``report`` and ``progress`` to the ``somafeedback`` command's subparsers."""
    report = subparsers.add_parser(
        "report", help="a session report (HTML or PDF): figures, the app's plots, notes, markers, cue decisions")
    report.add_argument("session", metavar="SESSION", help="a session file, or a session id from the library")
    report.add_argument("--audience", choices=AUDIENCE_CHOICES, default="practitioner",
                        help="practitioner: the full report (default); client: a plain-language version for the "
                        "client (what they practised, how long, what changed; no technical measures)")
    report.add_argument("--deidentify", action="store_true",
                        help="no names, note texts hidden, the session placed at 2000-01-01")
    report.add_argument("--conventions", choices=("kubios", "task-force", "live"), default="kubios",
                        help="how the summary's and phases' LF and HF are computed (default kubios; docs/metrics.md)")
    report.add_argument("--full", action="store_true",
                        help="add neurokit2's nonlinear indices (DFA α1/α2, sample entropy) to each phase; a few seconds more")
    _add_common(report, "a file or a folder (default: beside the session; never overwrites)")
    report.set_defaults(run=run, report_command="report")

    progress = subparsers.add_parser(
        "progress", help="a client's sessions week by week (HTML or PDF): minutes, resting ln RMSSD, time in band, cues")
    progress.add_argument("client", metavar="CLIENT", help="the client's pseudonym as recorded (case is ignored)")
    _add_common(progress, "a file or a folder (default: the library folder; never overwrites)")
    progress.set_defaults(run=run, report_command="progress")


def run(args: argparse.Namespace) -> int:
    """Write the report asked for; print its path. Exit status 2 with one line on stderr for bad input."""
    from somafeedback.interop.export import ExportError
    from somafeedback.sessions.library import default_library, find_session
    from somafeedback.reports.common import ReportError
    from somafeedback.sessions.file import SessionFileError

    from somafeedback.progress import ProgressBar

    command = getattr(args, "report_command", None) or getattr(args, "command", None) or "report"
    library = args.recordings if args.recordings is not None else default_library()
    bar = ProgressBar(f"{command} ({args.format})")
    progress = bar if bar.interactive or getattr(args, "progress", False) else None  # Ctrl-C cancels: nothing is left
    try:
        from somafeedback.sessions.private import private_if_library

        if command == "report":
            path = find_session(args.session, library)
            private_if_library(_folder_of(args.out, path.parent), library)  # writing into the library: keep it 0700
            written = _session_report(path, args, progress)
        else:
            from .render import render_progress_report

            private_if_library(_folder_of(args.out, Path(library)), library)
            written = render_progress_report(library, args.client, args.format, args.out, progress=progress)
    except (ReportError, ExportError, SessionFileError) as error:
        print(f"somafeedback {command}: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(written)
    return EXIT_OK


def _session_report(path: Path, args: argparse.Namespace, progress: Any) -> Path:
    """``report``: the content first (Qt-free), its pass with the chest motion in another process
    (:mod:`somafeedback.live.raw_ahead`), forked before Qt and its threads exist; then the drawing code and the file.

    The same file as :func:`~.render.render_session_report` writes (the app's and the tests' way in).
    """
    from .stages import CONTENT_SHARE, prepared_content

    content, stages = prepared_content(path, args.format, args.out, progress, args.deidentify,
                                       conventions=getattr(args, "conventions", "kubios"),
                                       nonlinear=getattr(args, "full", False), raw_ahead=True)
    from .render import write_report  # Qt and pyqtgraph from here on

    return write_report(content, getattr(args, "audience", "practitioner"), args.format, args.out,
                        stages.part(CONTENT_SHARE, 1.0))


def _folder_of(out: Path | None, default: Path) -> Path:
    """The folder a report goes to: ``out`` when it is a folder, its parent when a file, else ``default``."""
    if out is None:
        return default
    return out if out.is_dir() else out.parent


def client_report(session: str | Path, fmt: str = "pdf", out: Path | None = None, deidentify: bool = False,
                  progress: Any = None) -> Path:
    """The client version of one session's report, for the app (GUI thread): the path written.

    Raises what :func:`~.render.render_session_report` raises.
    """
    from .render import render_client_report

    return render_client_report(session, fmt, out, deidentify, progress)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="somafeedback", description="Session and progress reports (HTML or PDF). "
                                     "A wellness and practice tool, not a medical device.")
    add_arguments(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``somafeedback report ...`` / ``somafeedback progress ...`` on their own."""
    from somafeedback.sessions.private import set_notice_handler

    args = build_parser().parse_args(argv)
    set_notice_handler(lambda message: print(f"somafeedback: {message}", file=sys.stderr, flush=True))
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
