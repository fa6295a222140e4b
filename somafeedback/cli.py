"""The ``somafeedback`` command line.

Every command that runs a source takes ``--speed X|max`` (simulated straps and, later,
replay; real straps always run at 1x) and ``--duration S`` in session seconds, so a
20-minute scenario can run in seconds.

Thread: the main thread, which runs one asyncio loop for the command.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from . import __version__
from .clock import SessionEventLoop, Speed, parse_speed

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
    from .devices.simulator.scenario import DEFAULT_SCENARIO

    parser.add_argument(
        "--simulate", nargs="?", const=DEFAULT_SCENARIO, metavar="SCENARIO",
        help=f"use the built-in simulated strap (default scenario: {DEFAULT_SCENARIO}; "
        "see 'somafeedback scenarios')",
    )
    parser.add_argument("--address", action="append", default=[], metavar="ADDR",
                        help="a real strap's Bluetooth address (repeat for several straps)")
    parser.add_argument("--straps", type=int, default=1, metavar="N", help="number of simulated straps (default 1)")
    parser.add_argument("--seed", type=int, help="seed of the simulated physiology (default: the scenario's)")
    parser.add_argument("--speed", type=_speed, default=1.0, metavar="X|max",
                        help="session seconds per wall second for simulated straps, or 'max' (default 1)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="somafeedback",
        description="Heart rate and beat-to-beat intervals from Bluetooth chest straps, for body-based "
        "regulation practice. A wellness and practice tool, not a medical device.",
    )
    parser.add_argument("--version", action="version", version=f"somafeedback {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log diagnostic detail to stderr")
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
    stream.set_defaults(run=_stream)

    analyze = commands.add_parser("analyze", help="analyse a whole RR recording (plain, Kubios, HRV Logger, Polar files)")
    analyze.add_argument("path", metavar="PATH", help="an RR file")
    output = analyze.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="one JSON object with the summary")
    output.add_argument("--series", action="store_true", help="the windowed metrics over time, as CSV")
    analyze.add_argument("--step", type=_positive_seconds, default=5.0, metavar="S",
                         help="with --series: one row every S seconds of recording (default 5)")
    analyze.set_defaults(run=_analyze)

    scenarios = commands.add_parser("scenarios", help="list the simulated strap's built-in scenarios")
    scenarios.set_defaults(run=_scenarios)
    return parser


def _source(args: argparse.Namespace) -> Any:
    from .live import StrapSource

    if args.simulate is not None and args.address:
        raise SystemExit("somafeedback: use either --simulate or --address, not both")
    if args.simulate is None and args.speed != 1.0:
        raise SystemExit("somafeedback: --speed applies to simulated straps and replay; a real strap runs in real time")
    if args.straps < 1:
        raise SystemExit("somafeedback: --straps must be at least 1")
    return StrapSource(simulate=args.simulate, addresses=tuple(args.address), simulated_straps=args.straps, seed=args.seed)


def _run(main: Callable[[], Coroutine[Any, Any, int]], speed: Speed, simulated: bool) -> int:
    """Run ``main`` on the command's single asyncio loop (session time for simulated sources)."""
    factory = (lambda: SessionEventLoop(speed)) if simulated else None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main())


def _scan(args: argparse.Namespace) -> int:
    from .live import NoStrapFound, open_stack, scan

    source = _source(args)

    async def main() -> int:
        async with open_stack(source) as (stack, _addresses):
            try:
                found = await scan(stack, args.timeout)
            except NoStrapFound as error:
                print(error, file=sys.stderr)
                return EXIT_NO_STRAP
        if not found:
            from .live import SIMULATOR_HINT

            print(f"No heart-rate strap found in {args.timeout:g} s.\n{SIMULATOR_HINT}", file=sys.stderr)
            return EXIT_NO_STRAP
        print(f"{'name':<28} {'address':<20} RSSI")
        for strap in found:
            rssi = f"{strap.rssi} dBm" if strap.rssi is not None else "?"
            print(f"{strap.name:<28} {strap.address:<20} {rssi}")
        return EXIT_OK

    return _run(main, args.speed, source.simulate is not None)


def _stream(args: argparse.Namespace) -> int:
    from .live import NoStrapFound, stream_straps
    from .stream_printer import StreamPrinter

    source = _source(args)
    printer = StreamPrinter(
        json_lines=args.json,
        label_straps=max(len(source.addresses), source.simulated_straps) > 1,
        metrics=args.metrics,
    )

    async def main() -> int:
        streaming = asyncio.current_task()
        assert streaming is not None
        printer.on_output_closed = streaming.cancel
        try:
            await stream_straps(source, printer, args.duration)
        except NoStrapFound as error:
            print(error, file=sys.stderr)
            return EXIT_NO_STRAP
        except asyncio.CancelledError:
            if not printer.output_closed:
                raise
        return EXIT_OK

    return _run(main, args.speed, source.simulate is not None)


def _analyze(args: argparse.Namespace) -> int:
    from .analysis_report import print_series, print_summary
    from .rr_files import RRFileError, read_rr_file

    try:
        series = read_rr_file(args.path)
    except RRFileError as error:
        print(f"somafeedback analyze: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.series:
        print_series(series, args.step)
    else:
        print_summary(series, as_json=args.json)
    return EXIT_OK


def _scenarios(args: argparse.Namespace) -> int:
    from .devices.simulator.scenario import builtin_scenarios, load_scenario

    for name in builtin_scenarios():
        scenario = load_scenario(name)
        print(f"{name:<22} {scenario.duration_s / 60:5.1f} min  {scenario.description}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
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
