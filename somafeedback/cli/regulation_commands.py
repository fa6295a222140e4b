"""The regulation loop without the UI: ``session`` (states and cues as they happen, on a strap
or a recorded session, in practitioner or home mode) and ``exercises`` (the exercises it
draws on). Each ``add_*`` declares one command on the subparsers and points it at its
implementation.

Thread: the main thread, which runs one asyncio loop for the command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .options import add_library_option, add_lsl_option, add_method_option, add_source_options, library_folder, seconds_arg, strap_source
from .running import EXIT_NO_STRAP, EXIT_OK, EXIT_RECORDING_FAILED, EXIT_USAGE, closing, no_strap_text, open_session, require_adapter, run_loop, with_lsl

ASSESSMENT_MARGIN_S = 30.0  # s of session time allowed before the first beat starts a home assessment


def add_session(commands: Any) -> None:
    session = commands.add_parser("session", help="the whole regulation loop without the UI: states and cues as they happen")
    add_source_options(session)
    session.add_argument("--replay", metavar="SESSION", help="run on a recorded session instead of a strap")
    add_library_option(session)
    session.add_argument("--mode", required=True, choices=("practitioner", "home"))
    add_method_option(session)
    session.add_argument("--script", metavar="NAME", help="home mode: the exercise to practise (see 'somafeedback exercises')")
    session.add_argument("--plan", metavar="FILE",
                         help="home mode: a text file with the client's own plan, offered when the practice offers to end")
    session.add_argument("--auto-approve", action="store_true", help="practitioner mode: approve every suggestion")
    session.add_argument("--duration", type=seconds_arg, metavar="S", help="stop after S seconds of session time")
    session.add_argument("--json", action="store_true", help="one JSON object per line, each with a 'type'")
    session.add_argument("--client", metavar="NAME", help="the client's pseudonym (for --record and --baseline history)")
    session.add_argument("--baseline", choices=("calibrate", "history"), default="calibrate",
                         help="measure a baseline now (1 + 4 min, default) or use the rolling median of the "
                         "client's earlier recorded sessions")
    session.add_argument("--record", action="store_true", help="record the session (strap data, states, cues) in the library")
    add_lsl_option(session)
    session.set_defaults(run=_session)


def _assessment_or_client_rate(args: argparse.Namespace, script: Any, printer: Any) -> tuple[Any, Any]:
    """Home mode: the script's assessment protocol, or the script with its pacer at the client's rate
    (``--client``: the latest assessment's best rate or the practitioner's, said in the stream)."""
    from somafeedback.devices.events import TimelineEvent
    from somafeedback.resonance.client_rate import client_rate, with_client_rate

    protocol = script.assessment if args.mode == "home" and script is not None else None
    if script is None or protocol is not None or not script.uses_pacer or not args.client:
        return script, protocol
    rate = client_rate(library_folder(args), args.client)
    if rate is None:
        return script, None
    printer.event(TimelineEvent("client-rate", 0, 0.0, {"text": rate.describe(), "rate_bpm": rate.rate_bpm,
                                                        "source": rate.source, "date": rate.date_text}))
    return with_client_rate(script, rate), None


def add_exercises(commands: Any) -> None:
    exercises = commands.add_parser("exercises", help="list the exercise library (built-in and your own)")
    exercises.set_defaults(run=_exercises)


def _session(args: argparse.Namespace) -> int:
    import asyncio

    from somafeedback.regulation.cues import check_home_script
    from somafeedback.regulation.exercises import ExerciseError, load_exercises
    from somafeedback.live.sources import NoStrapFound, RecordingFailed, stream_straps
    from somafeedback.live.regulation_session import RegulationSession
    from somafeedback.sessions.file import SessionFileError
    from somafeedback.live.sinks import FanOut
    from somafeedback.live.stream_printer import StreamPrinter
    from somafeedback.live.resonance_stage import analysis_pacer_view

    try:
        exercises = load_exercises()
    except ExerciseError as error:
        print(f"somafeedback session: {error}", file=sys.stderr)
        return EXIT_USAGE
    script = None
    if args.mode == "home":
        if not args.script or args.script not in exercises:
            known = ", ".join(sorted(e for e in exercises if "home" in exercises[e].where))
            print(f"somafeedback session: home mode needs --script NAME (one of: {known})", file=sys.stderr)
            return EXIT_USAGE
        script = exercises[args.script]
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
        usual = usual_range(library_folder(args), args.client)  # today's measured baseline is compared with it
        if usual is None and args.baseline == "history":
            print(f"somafeedback session: no stored baseline for {args.client} yet; run a session with --record "
                  "and a calibrated baseline first", file=sys.stderr)
            return EXIT_USAGE
        baseline = usual if args.baseline == "history" else None
    printer = StreamPrinter(json_lines=args.json, beats=False)
    try:
        script, protocol = _assessment_or_client_rate(args, script, printer)
    except ValueError as error:  # an assessment table the protocol refuses
        print(f"somafeedback session: {error}", file=sys.stderr)
        return EXIT_USAGE
    if protocol is not None and args.duration is None:  # the whole assessment, from the first beat
        args.duration = protocol.duration_s + ASSESSMENT_MARGIN_S
    strap_data, outlets = with_lsl(args, printer)
    emit = printer.event if outlets is None else FanOut(printer, outlets).event  # states and cues
    try:
        loop_session = RegulationSession(args.mode, exercises, emit, script=script,
                                         auto_approve=args.auto_approve, baseline=baseline, usual=usual, plan_text=plan_text,
                                         method=args.method, client=args.client)
    except ValueError as error:  # e.g. a script for sessions with a practitioner only
        print(f"somafeedback session: {error}", file=sys.stderr)
        return closing(outlets, lambda: EXIT_USAGE)
    sink = FanOut(loop_session, strap_data)
    paced = protocol is not None or (script is not None and script.uses_pacer)
    # closed loop: a simulated person may follow the pacer the analysis knows (only when one can run)
    view = {"pacer_view": analysis_pacer_view(loop_session.analysis)} if paced else {}

    if args.replay:
        from somafeedback.devices.replay import ReplaySource

        try:
            args.session = args.replay
            recorded = open_session(args)
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

        return closing(outlets, lambda: run_loop(replay_main, args.speed, simulated=True))

    source = strap_source(args)

    def attach(writer: Any) -> None:
        loop_session.recorder = writer

    async def live_main() -> int:
        try:
            await require_adapter(source)
            if args.record:
                from somafeedback.live.sources import record_straps

                manifest = {"client": args.client, "mode": args.mode, "method": str(loop_session.method), "tags": [], "devices": [],
                            "source": {"kind": "simulated", "scenario": source.simulate, "seed": source.seed}
                            if source.simulate is not None else {"kind": "ble", "addresses": list(source.addresses)}}
                writer = await record_straps(source, sink, args.duration, library_folder(args), manifest, attach, **view)
                loop_session.recorder = None  # closed: what the end adds is printed only
                loop_session.finish()
                print(f"saved {writer.path}", file=sys.stderr)
            else:
                await stream_straps(source, sink, args.duration, **view)
                loop_session.finish()
        except NoStrapFound as error:
            print(no_strap_text(error), file=sys.stderr)
            return EXIT_NO_STRAP
        except RecordingFailed as error:  # e.g. a full disk: what was written is kept
            loop_session.recorder = None
            print(f"somafeedback session: {error}", file=sys.stderr, flush=True)
            return EXIT_RECORDING_FAILED
        return EXIT_OK

    return closing(outlets, lambda: run_loop(live_main, args.speed, source.simulate is not None))


def _exercises(args: argparse.Namespace) -> int:
    from somafeedback.regulation.exercises import ExerciseError, load_exercises

    try:
        exercises = load_exercises()
    except ExerciseError as error:
        print(f"somafeedback exercises: {error}", file=sys.stderr)
        return EXIT_USAGE

    for exercise in sorted(exercises.values(), key=lambda e: e.id):
        where = " + ".join(sorted(exercise.where))
        methods = ", ".join(m for m in ("SE", "Focusing", "CSE") if m in exercise.methods)
        print(f"{exercise.id:<32} {exercise.duration_text:>8}  {where:<16} {methods:<19} {exercise.title}")
    return EXIT_OK
