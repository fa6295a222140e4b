"""The commands that run straps, real or simulated: ``scan``, ``stream``, ``record``, and
``scenarios`` (the simulated strap's built-in scenarios). Each ``add_*`` declares one command on
the subparsers and points it at its implementation.

Thread: the main thread, which runs one asyncio loop for the command.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .options import (
    add_library_option,
    add_lsl_option,
    add_source_options,
    library_folder,
    seconds_arg,
    strap_source,
)
from .running import EXIT_NO_STRAP, EXIT_OK, EXIT_RECORDING_FAILED, closing, no_strap_text, require_adapter, run_loop, with_lsl


def add_scan(commands: Any) -> None:
    scan = commands.add_parser("scan", help="list straps advertising the Heart Rate service")
    add_source_options(scan)
    scan.add_argument("--timeout", type=seconds_arg, default=5.0, metavar="S", help="scan time (default 5 s)")
    scan.set_defaults(run=_scan)


def add_stream(commands: Any) -> None:
    stream = commands.add_parser("stream", help="print each beat and connection event as it happens")
    add_source_options(stream)
    stream.add_argument("--duration", type=seconds_arg, metavar="S",
                        help="stop after S seconds of session time (default: the end of a simulated "
                        "scenario; a real strap streams until Ctrl-C)")
    stream.add_argument("--json", action="store_true", help="one JSON object per line")
    stream.add_argument("--metrics", action="store_true",
                        help="also print the live metric set (HR, RMSSD, ... with window and validity) on every beat")
    add_lsl_option(stream)
    stream.set_defaults(run=_stream)


def add_record(commands: Any) -> None:
    record = commands.add_parser("record", help="record a session: every notification and event, crash-safe")
    add_source_options(record)
    add_library_option(record)
    record.add_argument("--duration", type=seconds_arg, metavar="S",
                        help="stop after S seconds of session time (default: the end of a simulated scenario; "
                        "a real strap records until Ctrl-C)")
    record.add_argument("--client", metavar="NAME", help="the client's pseudonym (use no real names)")
    record.add_argument("--practitioner", metavar="NAME")
    record.add_argument("--mode", default="recording", choices=("recording", "practitioner", "home"),
                        help="what kind of session this is (default: recording)")
    record.add_argument("--tag", action="append", default=[], metavar="TAG", help="a tag for the library (repeatable)")
    record.add_argument("--beats", action="store_true", help="also print every beat while recording")
    record.add_argument("--json", action="store_true", help="one JSON object per line")
    add_lsl_option(record)
    record.set_defaults(run=_record)


def add_scenarios(commands: Any) -> None:
    scenarios = commands.add_parser("scenarios", help="list the simulated strap's built-in scenarios")
    scenarios.set_defaults(run=_scenarios)


def _scan(args: argparse.Namespace) -> int:
    from somafeedback.live.sources import NoStrapFound, open_stack, scan

    source = strap_source(args)

    async def main() -> int:
        async with open_stack(source) as (stack, _addresses):
            try:
                found = await scan(stack, args.timeout)
            except NoStrapFound as error:
                print(no_strap_text(error), file=sys.stderr)
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

    return run_loop(main, args.speed, source.simulate is not None)


def _stream(args: argparse.Namespace) -> int:
    import asyncio

    from somafeedback.live.sources import NoStrapFound, stream_straps
    from somafeedback.live.stream_printer import StreamPrinter

    source = strap_source(args)
    printer = StreamPrinter(
        json_lines=args.json,
        label_straps=max(len(source.addresses), source.simulated_people()) > 1,
        metrics=args.metrics,
    )
    sink, outlets = with_lsl(args, printer)

    async def main() -> int:
        streaming = asyncio.current_task()
        assert streaming is not None
        printer.on_output_closed = streaming.cancel
        try:
            await require_adapter(source)
            await stream_straps(source, sink, args.duration)
        except NoStrapFound as error:
            print(no_strap_text(error), file=sys.stderr)
            return EXIT_NO_STRAP
        except asyncio.CancelledError:
            if not printer.output_closed:
                raise
        return EXIT_OK

    # times count from 0 at the start, for real straps as for simulated ones
    return closing(outlets, lambda: run_loop(main, args.speed, source.simulate is not None, from_zero=True))


def _record(args: argparse.Namespace) -> int:
    from somafeedback.live.sources import NoStrapFound, RecordingFailed, record_straps
    from somafeedback.live.stream_printer import StreamPrinter

    source = strap_source(args)
    printer = StreamPrinter(json_lines=args.json, label_straps=max(len(source.addresses), source.simulated_people()) > 1,
                            beats=args.beats)
    library = library_folder(args)
    origin = ({"kind": "simulated", "scenario": source.simulate, "seed": source.seed, "speed": args.speed}
              if source.simulate is not None else {"kind": "ble", "addresses": list(source.addresses)})
    manifest = {"client": args.client, "practitioner": args.practitioner, "mode": args.mode,
                "tags": list(args.tag), "source": origin, "devices": []}
    sink, outlets = with_lsl(args, printer)

    async def main() -> int:
        try:
            await require_adapter(source)
            writer = await record_straps(source, sink, args.duration, library, manifest)
        except NoStrapFound as error:
            print(no_strap_text(error), file=sys.stderr)
            return EXIT_NO_STRAP
        except RecordingFailed as error:  # e.g. a full disk: what was written is kept
            print(f"somafeedback record: {error}", file=sys.stderr, flush=True)
            return EXIT_RECORDING_FAILED
        message = (f"saved {writer.path} ({writer.notifications} notifications, {writer.events} events, "
                   f"ended: {writer.manifest.get('end_reason')})")
        print(json.dumps({"type": "saved", "path": str(writer.path), "notifications": writer.notifications,
                          "events": writer.events}) if args.json else message, flush=True)
        return EXIT_OK

    print(f"recording into {library}", file=sys.stderr)
    return closing(outlets, lambda: run_loop(main, args.speed, source.simulate is not None))


def _scenarios(args: argparse.Namespace) -> int:
    from somafeedback.devices.simulator.scenario import builtin_scenarios, load_scenario

    for name in builtin_scenarios():
        scenario = load_scenario(name)
        print(f"{name:<22} {scenario.duration_s / 60:5.1f} min  {scenario.description}")
    return EXIT_OK
