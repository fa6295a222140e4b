"""The ``somafeedback`` command line.

Every command that runs a source takes ``--speed X|max`` (simulated straps and, later,
replay; real straps always run at 1x) and ``--duration S`` in session seconds, so a
20-minute scenario can run in seconds.

Thread: the main thread, which runs one asyncio loop for the command.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from somafeedback import __version__
from somafeedback.clock import SessionEventLoop, Speed, parse_speed

EXIT_OK = 0
EXIT_NO_STRAP = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _speed(text: str) -> Speed:
    try:
        return parse_speed(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, not {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0 s")
    return value


def _add_source_options(parser: argparse.ArgumentParser) -> None:
    from somafeedback.devices.simulator.scenario import DEFAULT_SCENARIO

    parser.add_argument(
        "--simulate", nargs="?", const=DEFAULT_SCENARIO, metavar="SCENARIO",
        help=f"use the built-in simulated strap (default scenario: {DEFAULT_SCENARIO}; "
        "see 'somafeedback scenarios')",
    )
    parser.add_argument("--address", action="append", default=[], metavar="ADDR",
                        help="a real strap's Bluetooth address (repeat for several straps)")
    parser.add_argument("--straps", type=int, default=1, metavar="N", help="number of simulated straps (default 1)")
    parser.add_argument("--seed", type=int, help="seed of the simulated physiology (default: the scenario's)")
    parser.add_argument("--simulated-strap", choices=("h10", "hr"), default="h10",
                        help="what the simulated strap is: a Polar H10 with raw ECG and chest motion (default), "
                        "or a plain heart-rate strap")
    parser.add_argument("--speed", type=_speed, default=1.0, metavar="X|max",
                        help="session seconds per wall second for simulated straps, or 'max' (default 1)")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-11-21, not {text!r}") from None


def _add_progress_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress", action="store_true",
                        help="show a progress bar on stderr even when it is not a terminal (it is shown on a terminal anyway)")


def _progress_bar(args: argparse.Namespace, label: str) -> Any:
    """A progress bar on stderr for long work (a terminal, or --progress); None otherwise. Ctrl-C cancels."""
    from somafeedback.progress import ProgressBar

    bar = ProgressBar(label)
    return bar if bar.interactive or getattr(args, "progress", False) else None


def _add_lsl_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lsl", action="store_true",
                        help="also publish HR, RR, ECG, acceleration, metrics and markers as Lab Streaming Layer "
                        "streams (off by default: nothing listens on the network without it)")


def _with_lsl(args: argparse.Namespace, sink: Any) -> tuple[Any, Any]:
    """``sink`` plus LSL outlets when --lsl was given: (the sink to use, the outlets or None)."""
    if not getattr(args, "lsl", False):
        return sink, None
    from somafeedback.live.lsl_outlets import LslOutlets, LslUnavailable
    from somafeedback.live.sinks import FanOut

    try:
        outlets = LslOutlets(session_name=f"somafeedback-{os.getpid()}")
    except LslUnavailable as error:
        raise SystemExit(f"somafeedback: --lsl: {error}") from error
    print("publishing Lab Streaming Layer streams (somafeedback ...)", file=sys.stderr)
    return FanOut(sink, outlets), outlets


def _closing(outlets: Any, run: Callable[[], int]) -> int:
    """Run a command and close its LSL outlets afterwards (no listening socket is left)."""
    try:
        return run()
    finally:
        if outlets is not None:
            outlets.close()


def _add_library_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--recordings", type=Path, metavar="DIR",
                        help="the session library folder (default: your data folder; or $SOMAFEEDBACK_RECORDINGS)")


def _library(args: argparse.Namespace) -> Path:
    from somafeedback.sessions.library import default_library

    return args.recordings if args.recordings is not None else default_library()


def build_parser(extra_commands: Callable[[Any], None] | None = None) -> argparse.ArgumentParser:
    """The ``somafeedback`` command line; ``extra_commands(subparsers)`` adds commands that live in
    ``ui/`` (reports draw with Qt), handed in by the launcher so the core never imports the UI."""
    parser = argparse.ArgumentParser(
        prog="somafeedback",
        description="Heart rate and beat-to-beat intervals from Bluetooth chest straps, for body-based "
        "regulation practice. A wellness and practice tool, not a medical device. Run 'somafeedback' "
        "without a command to open the desktop app (--simulate [SCENARIO], --replay SESSION, --address ADDR).",
    )
    parser.add_argument("--version", action="version", version=f"somafeedback {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log technical detail (for bug reports) to stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    scan = commands.add_parser("scan", help="list straps advertising the Heart Rate service")
    _add_source_options(scan)
    scan.add_argument("--timeout", type=_positive_seconds, default=5.0, metavar="S", help="scan time (default 5 s)")
    scan.set_defaults(run=_scan)

    stream = commands.add_parser("stream", help="print each beat and connection event as it happens")
    _add_source_options(stream)
    stream.add_argument("--duration", type=_positive_seconds, metavar="S",
                        help="stop after S seconds of session time (default: the end of a simulated "
                        "scenario; a real strap streams until Ctrl-C)")
    stream.add_argument("--json", action="store_true", help="one JSON object per line")
    stream.add_argument("--metrics", action="store_true",
                        help="also print the live metric set (HR, RMSSD, ... with window and validity) on every beat")
    _add_lsl_option(stream)
    stream.set_defaults(run=_stream)

    analyze = commands.add_parser("analyze", help="analyse a whole RR recording (plain, Kubios, HRV Logger, Polar "
                                  "files) or a recorded session")
    analyze.add_argument("path", metavar="PATH|SESSION",
                         help="an RR file, a session file, or a session id from the library")
    _add_library_option(analyze)
    output = analyze.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="one JSON object with the summary")
    output.add_argument("--series", action="store_true", help="the windowed metrics over time, as CSV")
    analyze.add_argument("--step", type=_positive_seconds, default=5.0, metavar="S",
                         help="with --series: one row every S seconds of recording (default 5)")
    _add_progress_option(analyze)
    analyze.set_defaults(run=_analyze)

    record = commands.add_parser("record", help="record a session: every notification and event, crash-safe")
    _add_source_options(record)
    _add_library_option(record)
    record.add_argument("--duration", type=_positive_seconds, metavar="S",
                        help="stop after S seconds of session time (default: the end of a simulated scenario; "
                        "a real strap records until Ctrl-C)")
    record.add_argument("--client", metavar="NAME", help="the client's pseudonym (use no real names)")
    record.add_argument("--practitioner", metavar="NAME")
    record.add_argument("--mode", default="recording", choices=("recording", "practitioner", "home"),
                        help="what kind of session this is (default: recording)")
    record.add_argument("--tag", action="append", default=[], metavar="TAG", help="a tag for the library (repeatable)")
    record.add_argument("--beats", action="store_true", help="also print every beat while recording")
    record.add_argument("--json", action="store_true", help="one JSON object per line")
    _add_lsl_option(record)
    record.set_defaults(run=_record)

    replay = commands.add_parser("replay", help="play a recorded session back through the live pipeline")
    replay.add_argument("session", metavar="SESSION", help="a session file, or a session id from the library")
    _add_library_option(replay)
    replay.add_argument("--speed", type=_speed, default=1.0, metavar="X|max",
                        help="replay speed: 1 (real time), 2, 10, ... or max (default 1)")
    replay.add_argument("--metrics", action="store_true", help="print the live metric set on every beat")
    _add_lsl_option(replay)
    replay.add_argument("--json", action="store_true", help="one JSON object per line")
    replay.set_defaults(run=_replay)

    sessions = commands.add_parser("sessions", help="the session library: list, filter, tag, delete")
    _add_library_option(sessions)
    sessions.add_argument("--client", metavar="NAME")
    sessions.add_argument("--mode", metavar="MODE")
    sessions.add_argument("--tag", metavar="TAG")
    sessions.add_argument("--since", type=_date, metavar="YYYY-MM-DD")
    sessions.add_argument("--until", type=_date, metavar="YYYY-MM-DD")
    sessions.add_argument("--json", action="store_true", help="one JSON object per session")
    actions = sessions.add_subparsers(dest="action", metavar="ACTION")
    delete = actions.add_parser("delete", help="delete a session")
    delete.add_argument("session", metavar="SESSION")
    tag = actions.add_parser("tag", help="add (or --remove) tags")
    tag.add_argument("session", metavar="SESSION")
    tag.add_argument("tags", nargs="+", metavar="TAG")
    tag.add_argument("--remove", action="store_true")
    sessions.set_defaults(run=_sessions)

    importer = commands.add_parser("import", help="turn an RR file into a session in the library")
    importer.add_argument("file", metavar="FILE", help="Kubios RR text, HRV Logger RR CSV, Polar Sensor Logger file, plain RR")
    _add_library_option(importer)
    importer.add_argument("--client", metavar="NAME")
    importer.add_argument("--events", metavar="FILE", help="HRV Logger events CSV to import as markers")
    importer.add_argument("--tag", action="append", default=[], metavar="TAG")
    _add_progress_option(importer)
    importer.set_defaults(run=_import)

    export = commands.add_parser("export", help="export a session: Kubios RR text, CSV per stream, EDF+")
    export.add_argument("session", metavar="SESSION")
    _add_library_option(export)
    export.add_argument("--format", required=True, choices=("kubios", "csv", "edf"))
    export.add_argument("--deidentify", action="store_true", help="drop names and shift dates")
    export.add_argument("--out", metavar="PATH", help="file or folder (default: beside the session)")
    _add_progress_option(export)
    export.set_defaults(run=_export)

    session = commands.add_parser("session", help="the whole regulation loop without the UI: states and cues as they happen")
    _add_source_options(session)
    session.add_argument("--replay", metavar="SESSION", help="run on a recorded session instead of a strap")
    _add_library_option(session)
    session.add_argument("--mode", required=True, choices=("practitioner", "home"))
    session.add_argument("--method", choices=("se", "focusing", "cse"), default="se",
                         help="the session's method: se (Somatic Experiencing, default), focusing (observe only, "
                         "untimed, no suggestions) or cse (Clinical Somatic Education: movement blocks)")
    session.add_argument("--script", metavar="NAME", help="home mode: the exercise to practise (see 'somafeedback exercises')")
    session.add_argument("--plan", metavar="FILE",
                         help="home mode: a text file with the client's own plan, offered when the practice offers to end")
    session.add_argument("--auto-approve", action="store_true", help="practitioner mode: approve every suggestion")
    session.add_argument("--duration", type=_positive_seconds, metavar="S", help="stop after S seconds of session time")
    session.add_argument("--json", action="store_true", help="one JSON object per line, each with a 'type'")
    session.add_argument("--client", metavar="NAME", help="the client's pseudonym (for --record and --baseline history)")
    session.add_argument("--baseline", choices=("calibrate", "history"), default="calibrate",
                         help="measure a baseline now (1 + 4 min, default) or use the rolling median of the "
                         "client's earlier recorded sessions")
    session.add_argument("--record", action="store_true", help="record the session (strap data, states, cues) in the library")
    _add_lsl_option(session)
    session.set_defaults(run=_session)

    exercises = commands.add_parser("exercises", help="list the exercise library (built-in and your own)")
    exercises.set_defaults(run=_exercises)

    scenarios = commands.add_parser("scenarios", help="list the simulated strap's built-in scenarios")
    scenarios.set_defaults(run=_scenarios)
    if extra_commands is not None:
        extra_commands(commands)
    return parser


def _source(args: argparse.Namespace) -> Any:
    from somafeedback.live.sources import StrapSource

    if args.simulate is not None and args.address:
        raise SystemExit("somafeedback: use either --simulate or --address, not both")
    if args.simulate is None and args.speed != 1.0:
        raise SystemExit("somafeedback: --speed applies to simulated straps and replay; a real strap runs in real time")
    if args.straps < 1:
        raise SystemExit("somafeedback: --straps must be at least 1")
    return StrapSource(simulate=args.simulate, addresses=tuple(args.address), simulated_straps=args.straps, seed=args.seed,
                       simulated_model=args.simulated_strap)


def _run(main: Callable[[], Coroutine[Any, Any, int]], speed: Speed, simulated: bool, from_zero: bool = False) -> int:
    """Run ``main`` on the command's single asyncio loop: session time for simulated sources; for
    real straps the host's monotonic clock, or (``from_zero``) real time counted from 0 at the start."""
    factory = (lambda: SessionEventLoop(speed)) if simulated or from_zero else None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main())


ADAPTER_CHECK_S = 0.2  # s of scanning that shows whether there is a usable Bluetooth adapter


async def _require_adapter(source: Any) -> None:
    """For real straps given by address: raise :class:`~.live.NoStrapFound` with the same words
    as ``scan`` when there is no usable Bluetooth adapter (instead of retrying the link for ever).
    Without addresses, streaming starts with a scan, which says so by itself."""
    if source.simulate is not None or not source.addresses:
        return
    from somafeedback.live.sources import open_stack, scan

    async with open_stack(source) as (stack, _addresses):
        await scan(stack, ADAPTER_CHECK_S)


def _scan(args: argparse.Namespace) -> int:
    from somafeedback.live.sources import NoStrapFound, open_stack, scan

    source = _source(args)

    async def main() -> int:
        async with open_stack(source) as (stack, _addresses):
            try:
                found = await scan(stack, args.timeout)
            except NoStrapFound as error:
                print(error, file=sys.stderr)
                return EXIT_NO_STRAP
        if not found:
            from somafeedback.live.sources import SIMULATOR_HINT

            print(f"No heart-rate strap found in {args.timeout:g} s.\n{SIMULATOR_HINT}", file=sys.stderr)
            return EXIT_NO_STRAP
        print(f"{'name':<28} {'address':<20} RSSI")
        for strap in found:
            rssi = f"{strap.rssi} dBm" if strap.rssi is not None else "?"
            print(f"{strap.name:<28} {strap.address:<20} {rssi}")
        return EXIT_OK

    return _run(main, args.speed, source.simulate is not None)


def _stream(args: argparse.Namespace) -> int:
    from somafeedback.live.sources import NoStrapFound, stream_straps
    from somafeedback.live.stream_printer import StreamPrinter

    source = _source(args)
    printer = StreamPrinter(
        json_lines=args.json,
        label_straps=max(len(source.addresses), source.simulated_straps) > 1,
        metrics=args.metrics,
    )
    sink, outlets = _with_lsl(args, printer)

    async def main() -> int:
        streaming = asyncio.current_task()
        assert streaming is not None
        printer.on_output_closed = streaming.cancel
        try:
            await _require_adapter(source)
            await stream_straps(source, sink, args.duration)
        except NoStrapFound as error:
            print(error, file=sys.stderr)
            return EXIT_NO_STRAP
        except asyncio.CancelledError:
            if not printer.output_closed:
                raise
        return EXIT_OK

    # times count from 0 at the start, for real straps as for simulated ones
    return _closing(outlets, lambda: _run(main, args.speed, source.simulate is not None, from_zero=True))


def _analyze(args: argparse.Namespace) -> int:
    from somafeedback.reports.analysis_summary import print_series, print_summary
    from somafeedback.interop.rr_files import RRFileError, read_rr_file
    from somafeedback.sessions.file import SUFFIX, SessionFileError

    try:
        path = Path(args.path).expanduser()
        if not path.exists() and not {os.sep, "/"} & set(args.path):  # a session id, or a file in the library
            from somafeedback.sessions.library import find_session

            path = find_session(args.path, _library(args))
        if str(path).endswith(SUFFIX) or _is_sqlite(path):
            from somafeedback.sessions.analysis import session_series

            series = session_series(path)
        else:
            series = read_rr_file(args.path)
    except (RRFileError, SessionFileError) as error:
        print(f"somafeedback analyze: {error}", file=sys.stderr)
        return EXIT_USAGE
    bar = _progress_bar(args, "analysing")
    if args.series:
        print_series(series, args.step, progress=bar)
    else:
        print_summary(series, as_json=args.json, progress=bar)
    return EXIT_OK


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _record(args: argparse.Namespace) -> int:
    from somafeedback.live.sources import NoStrapFound, record_straps
    from somafeedback.live.stream_printer import StreamPrinter

    source = _source(args)
    printer = StreamPrinter(json_lines=args.json, label_straps=max(len(source.addresses), source.simulated_straps) > 1,
                            beats=args.beats)
    library = _library(args)
    origin = ({"kind": "simulated", "scenario": source.simulate, "seed": source.seed, "speed": args.speed}
              if source.simulate is not None else {"kind": "ble", "addresses": list(source.addresses)})
    manifest = {"client": args.client, "practitioner": args.practitioner, "mode": args.mode,
                "tags": list(args.tag), "source": origin, "devices": []}
    sink, outlets = _with_lsl(args, printer)

    async def main() -> int:
        try:
            await _require_adapter(source)
            writer = await record_straps(source, sink, args.duration, library, manifest)
        except NoStrapFound as error:
            print(error, file=sys.stderr)
            return EXIT_NO_STRAP
        message = (f"saved {writer.path} ({writer.notifications} notifications, {writer.events} events, "
                   f"ended: {writer.manifest.get('end_reason')})")
        print(json.dumps({"type": "saved", "path": str(writer.path), "notifications": writer.notifications,
                          "events": writer.events}) if args.json else message, flush=True)
        return EXIT_OK

    print(f"recording into {library}", file=sys.stderr)
    return _closing(outlets, lambda: _run(main, args.speed, source.simulate is not None))


def _open_session(args: argparse.Namespace) -> Any:
    """The session named on the command line, read back (recovering what it can)."""
    from somafeedback.sessions.library import find_session
    from somafeedback.sessions.file import read_session

    session = read_session(find_session(args.session, _library(args)))
    if session.problems:
        print(f"{session.path}: damaged; recovered what could be read ({'; '.join(session.problems)})", file=sys.stderr)
    if session.ended_unexpectedly:
        print(f"{session.path}: this session ended unexpectedly (the recording was not closed)", file=sys.stderr)
    return session


def _replay(args: argparse.Namespace) -> int:
    from somafeedback.devices.replay import ReplaySource
    from somafeedback.sessions.file import SessionFileError
    from somafeedback.live.stream_printer import StreamPrinter

    try:
        session = _open_session(args)
    except SessionFileError as error:
        print(f"somafeedback replay: {error}", file=sys.stderr)
        return EXIT_USAGE
    straps = {getattr(item, "strap_id", None) for item in session.notifications}
    printer = StreamPrinter(json_lines=args.json, label_straps=len(straps) > 1, metrics=args.metrics)
    sink, outlets = _with_lsl(args, printer)

    async def main() -> int:
        streaming = asyncio.current_task()
        assert streaming is not None
        printer.on_output_closed = streaming.cancel
        try:
            await ReplaySource(session.timeline, sink).run()
        except asyncio.CancelledError:
            if not printer.output_closed:
                raise
        return EXIT_OK

    return _closing(outlets, lambda: _run(main, args.speed, simulated=True))


def _sessions(args: argparse.Namespace) -> int:
    from somafeedback.sessions.library import delete_session, filter_sessions, find_session, list_sessions, set_tags
    from somafeedback.sessions.file import SessionFileError

    library = _library(args)
    try:
        if args.action == "delete":
            path = find_session(args.session, library)
            delete_session(path)
            print(f"deleted {path}")
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
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    from somafeedback.interop.importer import ImportFileError, import_file
    from somafeedback.interop.rr_files import RRFileError

    try:
        path = import_file(args.file, _library(args), client=args.client, events_path=args.events, tags=args.tag,
                           progress=_progress_bar(args, "importing"))
    except (ImportFileError, RRFileError) as error:
        print(f"somafeedback import: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"imported {args.file} as {path}")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from somafeedback.interop.export import ExportError, export_session
    from somafeedback.sessions.file import SessionFileError

    try:
        session = _open_session(args)
        written = export_session(session, args.format, Path(args.out) if args.out else None, args.deidentify,
                                 progress=_progress_bar(args, f"exporting {args.format}"))
    except (ExportError, SessionFileError) as error:
        print(f"somafeedback export: {error}", file=sys.stderr)
        return EXIT_USAGE
    for path in written:
        print(path)
    return EXIT_OK


def _session(args: argparse.Namespace) -> int:
    from somafeedback.regulation.cues import check_home_script
    from somafeedback.regulation.exercises import ExerciseError, load_library
    from somafeedback.live.sources import NoStrapFound, stream_straps
    from somafeedback.live.regulation_session import RegulationSession
    from somafeedback.sessions.file import SessionFileError
    from somafeedback.live.sinks import FanOut
    from somafeedback.live.stream_printer import StreamPrinter

    try:
        library = load_library()
    except ExerciseError as error:
        print(f"somafeedback session: {error}", file=sys.stderr)
        return EXIT_USAGE
    script = None
    if args.mode == "home":
        if not args.script or args.script not in library:
            known = ", ".join(sorted(e for e in library if "home" in library[e].where))
            print(f"somafeedback session: home mode needs --script NAME (one of: {known})", file=sys.stderr)
            return EXIT_USAGE
        script = library[args.script]
        try:
            check_home_script(script)  # refused before anything starts (LSL outlets included)
        except ValueError as error:
            print(f"somafeedback session: {error}", file=sys.stderr)
            return EXIT_USAGE
    plan_text = None
    if args.plan:
        try:
            plan_text = Path(args.plan).read_text(encoding="utf-8").strip() or None
        except (OSError, UnicodeDecodeError) as error:
            print(f"somafeedback session: cannot read the plan file {args.plan}: {error}", file=sys.stderr)
            return EXIT_USAGE
    baseline = usual = None
    if args.baseline == "history" or args.client:
        from somafeedback.regulation.usual_range import usual_range

        if not args.client:
            print("somafeedback session: --baseline history needs --client NAME", file=sys.stderr)
            return EXIT_USAGE
        usual = usual_range(_library(args), args.client)  # today's measured baseline is compared with it
        if usual is None and args.baseline == "history":
            print(f"somafeedback session: no stored baseline for {args.client} yet; run a session with --record "
                  "and a calibrated baseline first", file=sys.stderr)
            return EXIT_USAGE
        baseline = usual if args.baseline == "history" else None
    printer = StreamPrinter(json_lines=args.json, beats=False)
    strap_data, outlets = _with_lsl(args, printer)
    emit = printer.event if outlets is None else FanOut(printer, outlets).event  # states and cues
    try:
        loop_session = RegulationSession(args.mode, library, emit, script=script,
                                         auto_approve=args.auto_approve, baseline=baseline, usual=usual, plan_text=plan_text,
                                         method=args.method)
    except ValueError as error:  # e.g. a script for sessions with a practitioner only
        print(f"somafeedback session: {error}", file=sys.stderr)
        return _closing(outlets, lambda: EXIT_USAGE)
    sink = FanOut(loop_session, strap_data)

    if args.replay:
        from somafeedback.devices.replay import ReplaySource

        try:
            args.session = args.replay
            recorded = _open_session(args)
        except SessionFileError as error:
            print(f"somafeedback session: {error}", file=sys.stderr)
            return EXIT_USAGE

        async def replay_main() -> int:
            player = ReplaySource(recorded.timeline, sink)
            if args.duration is None:
                await player.run()
            else:
                await asyncio.wait([asyncio.create_task(player.run())], timeout=args.duration)
            loop_session.finish()
            return EXIT_OK

        return _closing(outlets, lambda: _run(replay_main, args.speed, simulated=True))

    source = _source(args)

    def attach(writer: Any) -> None:
        loop_session.recorder = writer

    async def live_main() -> int:
        try:
            await _require_adapter(source)
            if args.record:
                from somafeedback.live.sources import record_straps

                manifest = {"client": args.client, "mode": args.mode, "method": str(loop_session.method), "tags": [], "devices": [],
                            "source": {"kind": "simulated", "scenario": source.simulate, "seed": source.seed}
                            if source.simulate is not None else {"kind": "ble", "addresses": list(source.addresses)}}
                writer = await record_straps(source, sink, args.duration, _library(args), manifest, attach)
                loop_session.recorder = None  # closed: what the end adds is printed only
                loop_session.finish()
                print(f"saved {writer.path}", file=sys.stderr)
            else:
                await stream_straps(source, sink, args.duration)
                loop_session.finish()
        except NoStrapFound as error:
            print(error, file=sys.stderr)
            return EXIT_NO_STRAP
        return EXIT_OK

    return _closing(outlets, lambda: _run(live_main, args.speed, source.simulate is not None))


def _exercises(args: argparse.Namespace) -> int:
    from somafeedback.regulation.exercises import ExerciseError, load_library

    try:
        library = load_library()
    except ExerciseError as error:
        print(f"somafeedback exercises: {error}", file=sys.stderr)
        return EXIT_USAGE
    for exercise in sorted(library.values(), key=lambda e: e.id):
        where = " + ".join(sorted(exercise.where))
        methods = ", ".join(m for m in ("SE", "Focusing", "CSE") if m in exercise.methods)
        print(f"{exercise.id:<32} {exercise.duration_text:>8}  {where:<16} {methods:<19} {exercise.title}")
    return EXIT_OK


def _scenarios(args: argparse.Namespace) -> int:
    from somafeedback.devices.simulator.scenario import builtin_scenarios, load_scenario

    for name in builtin_scenarios():
        scenario = load_scenario(name)
        print(f"{name:<22} {scenario.duration_s / 60:5.1f} min  {scenario.description}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None, extra_commands: Callable[[Any], None] | None = None) -> int:
    parser = build_parser(extra_commands)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. piped into `head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
