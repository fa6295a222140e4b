"""The commands that read what was recorded: ``analyze`` (a whole RR file or session),
``replay`` (a session played back through the live pipeline) and ``sessions`` (the library:
list, filter, tag, delete, verify, repair). Reading never writes: only ``tag``, ``repair`` and
``delete`` change files, each its own. Each ``add_*`` declares one command on the subparsers and points it at
its implementation.

Thread: the main thread (``replay`` runs one asyncio loop on it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from somafeedback.interop.rr_files import RRSeries
    from somafeedback.live.stream_printer import StreamPrinter
    from somafeedback.sessions.analysis import SessionSeries
    from somafeedback.sessions.file import TimelineItem

from .options import (
    add_library_option,
    add_lsl_option,
    add_progress_option,
    date_arg,
    library_folder,
    progress_bar,
    seconds_arg,
    speed_arg,
)
from .running import EXIT_OK, EXIT_USAGE, closing, open_session, run_loop, with_lsl


def add_analyze(commands: Any) -> None:
    analyze = commands.add_parser("analyze", help="analyse a whole RR recording (plain, Kubios, HRV Logger, Polar "
                                  "files) or a recorded session")
    analyze.add_argument("path", metavar="PATH|SESSION",
                         help="an RR file, a session file, or a session id from the library")
    add_library_option(analyze)
    output = analyze.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="one JSON object with the summary")
    output.add_argument("--series", action="store_true", help="the windowed metrics over time, as CSV")
    analyze.add_argument("--step", type=seconds_arg, default=5.0, metavar="S",
                         help="with --series: one row every S seconds of recording (default 5)")
    analyze.add_argument("--conventions", choices=("kubios", "task-force", "live"), default="kubios",
                         help="how LF and HF are computed (default kubios; see docs/metrics.md, section 5)")
    analyze.add_argument("--full", action="store_true",
                         help="add neurokit2's nonlinear indices (Poincaré SD1/SD2, DFA α1/α2, sample entropy) "
                         "per 5-min segment; takes a few seconds more")
    add_progress_option(analyze)
    analyze.set_defaults(run=_analyze)


def add_replay(commands: Any) -> None:
    replay = commands.add_parser("replay", help="play a recorded session back through the live pipeline")
    replay.add_argument("session", metavar="SESSION", help="a session file, or a session id from the library")
    add_library_option(replay)
    replay.add_argument("--speed", type=speed_arg, default=1.0, metavar="X|max",
                        help="replay speed: 1 (real time), 2, 10, ... or max (default 1)")
    replay.add_argument("--metrics", action="store_true", help="print the live metric set on every beat")
    add_lsl_option(replay)
    replay.add_argument("--json", action="store_true", help="one JSON object per line")
    replay.set_defaults(run=_replay)


def add_sessions(commands: Any) -> None:
    sessions = commands.add_parser("sessions", help="the session library: list, filter, tag, verify, repair, delete")
    add_library_option(sessions)
    sessions.add_argument("--client", metavar="NAME")
    sessions.add_argument("--mode", metavar="MODE")
    sessions.add_argument("--tag", metavar="TAG")
    sessions.add_argument("--since", type=date_arg, metavar="YYYY-MM-DD")
    sessions.add_argument("--until", type=date_arg, metavar="YYYY-MM-DD")
    sessions.add_argument("--json", action="store_true", help="one JSON object per session")
    actions = sessions.add_subparsers(dest="action", metavar="ACTION")
    delete = actions.add_parser("delete", help="delete a session")
    delete.add_argument("session", metavar="SESSION")
    tag = actions.add_parser("tag", help="add (or --remove) tags")
    tag.add_argument("session", metavar="SESSION")
    tag.add_argument("tags", nargs="+", metavar="TAG")
    tag.add_argument("--remove", action="store_true")
    verify = actions.add_parser("verify", help="check that sessions hold exactly what was recorded "
                                "(all of them, or one); exit code 1 when damage is found")
    verify.add_argument("session", metavar="SESSION", nargs="?")
    repair = actions.add_parser("repair", help="make an interrupted recording one self-contained file "
                                "(merges its side file; says what it did)")
    repair.add_argument("session", metavar="SESSION")
    sessions.set_defaults(run=_sessions)


SESSION_SUFFIX = ".session.sqlite"  # sessions.file.SUFFIX, named here so an RR file's analysis imports no session code


def _analyze(args: argparse.Namespace) -> int:
    """Analyse an RR file or a session. The session modules (and what they import: the session
    file, the ECG and motion decoders) are imported only for a session, so the analysis of an
    RR file starts fast."""
    from somafeedback.reports.analysis_summary import print_series, print_summary

    path, is_id, is_session = recording_kind(args.path)
    series = _session_series(args, path, is_id) if is_session else _rr_series(args)
    if series is None:
        return EXIT_USAGE
    bar = progress_bar(args, "analysing")
    if args.series:
        print_series(series, args.step, progress=bar)
    else:
        print_summary(series, as_json=args.json, progress=bar, full=args.full, conventions=args.conventions)
    return EXIT_OK


def recording_kind(text: str) -> tuple[Path, bool, bool]:
    """(path, is it a session id?, is it a session?) of what the user typed: an RR file, a session file or id."""
    path = Path(text).expanduser()
    is_id = not path.exists() and not {os.sep, "/"} & set(text)  # a session id, or a file in the library
    return path, is_id, is_id or str(path).endswith(SESSION_SUFFIX) or _is_sqlite(path)


def _rr_series(args: argparse.Namespace) -> RRSeries | None:
    """The RR file named by ``args.path``; None (after saying why) when it cannot be read."""
    from somafeedback.interop.rr_files import RRFileError, read_rr_file

    try:
        return read_rr_file(args.path)
    except RRFileError as error:
        print(f"somafeedback analyze: {error}", file=sys.stderr)
        return None


def _session_series(args: argparse.Namespace, path: Path, is_id: bool) -> SessionSeries | None:
    """The beat series of the session at ``path`` (or named by its id in the library); None
    (after saying why) when it cannot be read."""
    from somafeedback.sessions.analysis import session_series
    from somafeedback.sessions.file import SessionFileError
    from somafeedback.sessions.library import find_session

    try:
        return session_series(find_session(args.path, library_folder(args)) if is_id else path)
    except SessionFileError as error:
        print(f"somafeedback analyze: {error}", file=sys.stderr)
        return None


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _replay(args: argparse.Namespace) -> int:
    from somafeedback.live.raw_ahead import RawAhead
    from somafeedback.live.stream_printer import StreamPrinter
    from somafeedback.sessions.file import SessionFileError

    try:
        session = open_session(args)
    except SessionFileError as error:
        print(f"somafeedback replay: {error}", file=sys.stderr)
        return EXIT_USAGE
    straps = {getattr(item, "strap_id", None) for item in session.notifications}
    printer = StreamPrinter(json_lines=args.json, label_straps=len(straps) > 1, metrics=args.metrics)
    as_fast_as_possible = math.isinf(args.speed)
    # At max speed another process computes the chest motion meanwhile (the same outputs; live/raw_ahead.py),
    # forked before anything starts a thread (LSL outlets do).
    ahead = RawAhead.start(session.timeline) if as_fast_as_possible else None
    printer.analysis.ahead = ahead
    try:
        return _replay_into(printer, session.timeline, args, as_fast_as_possible)
    finally:
        if ahead is not None:
            ahead.close()


def _replay_into(printer: StreamPrinter, timeline: Sequence[TimelineItem], args: argparse.Namespace,
                 as_fast_as_possible: bool) -> int:
    """Play ``timeline`` into ``printer`` (and the LSL outlets asked for) on a session-time loop."""
    import asyncio

    from somafeedback.devices.replay import ReplaySource

    sink, outlets = with_lsl(args, printer)
    # At max speed nothing waits for the recorded times: the player delivers item after item
    # (yielding to the loop now and then) instead of one virtual-time sleep per recorded stamp,
    # and the lines are written in blocks. The same items reach the sink in the same order.
    printer.flush_lines = not as_fast_as_possible

    async def main() -> int:
        streaming = asyncio.current_task()
        assert streaming is not None
        printer.on_output_closed = streaming.cancel
        try:
            await ReplaySource(timeline, sink, speed=math.inf if as_fast_as_possible else 1.0).run()
        except asyncio.CancelledError:
            if not printer.output_closed:
                raise
        finally:
            printer.flush()
        return EXIT_OK

    return closing(outlets, lambda: run_loop(main, args.speed, simulated=True))


def _sessions(args: argparse.Namespace) -> int:
    from somafeedback.sessions.library import delete_session, filter_sessions, find_session, list_sessions, set_tags
    from somafeedback.sessions.file import SessionFileError

    library = library_folder(args)
    try:
        if args.action == "delete":
            path = find_session(args.session, library)
            delete_session(path)
            print(f"deleted {path}")
            return EXIT_OK
        if args.action == "verify":
            return _verify(args, library)
        if args.action == "repair":
            from somafeedback.sessions.repair import repair_session

            print(repair_session(find_session(args.session, library)))
            return EXIT_OK
        if args.action == "tag":
            path = find_session(args.session, library)
            tags = set_tags(path, remove=args.tags) if args.remove else set_tags(path, add=args.tags)
            print(f"{path.name}: tags {', '.join(tags) or '(none)'}")
            return EXIT_OK
    except SessionFileError as error:
        print(f"somafeedback sessions: {error}", file=sys.stderr)
        return EXIT_USAGE
    found = filter_sessions(list_sessions(library), args.client, args.mode, args.tag, args.since, args.until)
    if args.json:
        for summary in found:
            print(json.dumps(summary.as_dict()))
        return EXIT_OK
    if not found:
        print(f"no sessions in {library}" + (" match" if any((args.client, args.mode, args.tag, args.since, args.until)) else ""))
        return EXIT_OK
    print(f"{'started':<20} {'min':>6}  {'client':<14} {'mode':<12} {'status':<19} {'tags':<16} id")
    for s in found:
        started = s.started.strftime("%Y-%m-%d %H:%M") if s.started else "?"
        minutes = f"{s.duration_s / 60:.1f}" if s.duration_s is not None else "?"
        print(f"{started:<20} {minutes:>6}  {(s.client or '-'):<14} {(s.mode or '-'):<12} {s.status:<19} "
              f"{','.join(s.tags) or '-':<16} {s.session_id[:12]}")
        if s.problem:
            print(f"{'':<20} {'':>6}  {s.path.name}: {s.problem}")
    return EXIT_OK


EXIT_DAMAGED = 1  # `sessions verify` found damage


def _verify(args: argparse.Namespace, library: Path) -> int:
    """Verify one session (by id or path) or every session of the library; 1 when any is damaged."""
    from somafeedback.sessions.file import SUFFIX
    from somafeedback.sessions.library import find_session
    from somafeedback.sessions.verify import verify_session

    if args.session:
        paths = [find_session(args.session, library)]
    else:
        paths = sorted(library.glob(f"*{SUFFIX}")) if library.is_dir() else []
        if not paths:
            print(f"no sessions in {library}")
            return EXIT_OK
    damaged = 0
    for path in paths:
        verdict = verify_session(path)
        damaged += verdict.damaged
        if args.json:
            print(json.dumps({"path": str(path), "status": verdict.status, "details": verdict.lines}))
            continue
        print(f"{path.name}: {verdict.status}")
        for line in verdict.lines:
            print(f"    {line}")
    if len(paths) > 1 and not args.json:
        print(f"{len(paths)} sessions checked: {damaged} damaged")
    return EXIT_DAMAGED if damaged else EXIT_OK
