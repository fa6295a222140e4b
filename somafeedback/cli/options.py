"""Options that several commands share: their argparse types, how each is declared, and what
the parsed value gives a command (the strap source, the session library, a progress bar).

Every command that runs a source takes ``--speed X|max`` (simulated straps and replay; real
straps always run at 1x) and ``--duration S`` in session seconds, so a 20-minute scenario can run
in seconds.

Thread: the main thread (parsing, then the command's set-up before its asyncio loop starts).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # the clock imports asyncio: only the commands that run a loop need it
    from somafeedback.clock import Speed

# The simulated strap's default scenario, named here so that declaring the options does not
# import the simulator (every command declares them; tests/test_startup_imports.py checks that
# this is the simulator's own DEFAULT_SCENARIO).
DEFAULT_SCENARIO: Final = "calm"


def speed_arg(text: str) -> Speed:
    """``--speed``: session seconds per wall second (a number > 0) or ``max``."""
    from somafeedback.clock import parse_speed

    try:
        return parse_speed(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def seconds_arg(text: str) -> float:
    """A time in seconds (s) that must be more than 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, not {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0 s")
    return value


def date_arg(text: str) -> dt.date:
    """A calendar date written YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-11-21, not {text!r}") from None


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """The strap options: --simulate, --address, --straps, --seed, --simulated-strap, --speed."""
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
    parser.add_argument("--speed", type=speed_arg, default=1.0, metavar="X|max",
                        help="session seconds per wall second for simulated straps, or 'max' (default 1)")


def strap_source(args: argparse.Namespace) -> Any:
    """The :class:`~somafeedback.live.sources.StrapSource` the source options name; exits with a
    message when they contradict each other."""
    from somafeedback.live.sources import StrapSource

    if args.simulate is not None and args.address:
        raise SystemExit("somafeedback: use either --simulate or --address, not both")
    if args.simulate is None and args.speed != 1.0:
        raise SystemExit("somafeedback: --speed applies to simulated straps and replay; a real strap runs in real time")
    if args.straps < 1:
        raise SystemExit("somafeedback: --straps must be at least 1")
    if args.simulate is not None:  # an unknown or broken scenario is said before anything starts
        from somafeedback.devices.simulator.dyad import is_dyad, load_dyad
        from somafeedback.devices.simulator.scenario import load_scenario
        from somafeedback.devices.simulator.scenario_fields import ScenarioError

        try:
            load_dyad(args.simulate) if is_dyad(args.simulate) else load_scenario(args.simulate)
        except ScenarioError as error:
            raise SystemExit(f"somafeedback: {error}") from None
    return StrapSource(simulate=args.simulate, addresses=tuple(args.address), simulated_straps=args.straps, seed=args.seed,
                       simulated_model=args.simulated_strap)


def add_progress_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress", action="store_true",
                        help="show a progress bar on stderr even when it is not a terminal (it is shown on a terminal anyway)")


def progress_bar(args: argparse.Namespace, label: str) -> Any:
    """A progress bar on stderr for long work (a terminal, or --progress); None otherwise. Ctrl-C cancels."""
    from somafeedback.progress import ProgressBar

    bar = ProgressBar(label)
    return bar if bar.interactive or getattr(args, "progress", False) else None


def add_lsl_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lsl", action="store_true",
                        help="also publish HR, RR, ECG, acceleration, metrics and markers as Lab Streaming Layer "
                        "streams (off by default: nothing listens on the network without it)")


def add_library_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--recordings", type=Path, metavar="DIR",
                        help="the session library folder (default: your data folder; or $SOMAFEEDBACK_RECORDINGS)")


def library_folder(args: argparse.Namespace) -> Path:
    """The session library: --recordings, or the default one."""
    from somafeedback.sessions.library import default_library

    return args.recordings if args.recordings is not None else default_library()


METHODS = ("se", "focusing", "cse")  # the session methods (somafeedback.regulation.methods), as typed


def add_method_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--method", type=str.lower, choices=METHODS, default="se",
                        help="the session's method: se (Somatic Experiencing, default), focusing (observe only, "
                        "untimed, no suggestions) or cse (Clinical Somatic Education: movement blocks)")
