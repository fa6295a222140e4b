"""The ``somafeedback`` command line: the parser (``build_parser``, which lists the commands in
help order; each command group declares its own options) and ``main``, which parses, runs the
chosen command and turns Ctrl-C and a closed pipe into exit codes.

The commands live by group: ``strap_commands`` (scan, stream, record, scenarios),
``reading_commands`` (analyze, replay, sessions), ``synchrony_command`` (synchrony), ``file_commands`` (import, export) and
``regulation_commands`` (session, exercises), ``resonance_command`` (resonance), ``remote_commands`` (relay, remote host/join), ``doctor_command`` (doctor); the options they share are in ``options`` and what
they share when they run (exit codes, the asyncio loop, LSL) in ``running``.

Thread: the main thread, which runs one asyncio loop for the command.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from somafeedback import __version__

from . import doctor_command, file_commands, reading_commands, regulation_commands, remote_commands, resonance_command, strap_commands, synchrony_command
from .running import EXIT_INTERRUPTED, EXIT_OK


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
    # the order in which help lists the commands
    strap_commands.add_scan(commands)
    strap_commands.add_stream(commands)
    reading_commands.add_analyze(commands)
    strap_commands.add_record(commands)
    reading_commands.add_replay(commands)
    reading_commands.add_sessions(commands)
    synchrony_command.add_synchrony(commands)
    file_commands.add_import(commands)
    file_commands.add_export(commands)
    regulation_commands.add_session(commands)
    regulation_commands.add_exercises(commands)
    resonance_command.add_resonance(commands)
    strap_commands.add_scenarios(commands)
    remote_commands.add_relay(commands)
    remote_commands.add_remote(commands)
    doctor_command.add_doctor(commands)
    if extra_commands is not None:
        extra_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None, extra_commands: Callable[[Any], None] | None = None) -> int:
    """Parse ``argv`` (default: the process's arguments), run the command, return its exit code."""
    parser = build_parser(extra_commands)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from somafeedback.sessions.private import set_notice_handler

    set_notice_handler(lambda message: print(f"somafeedback: {message}", file=sys.stderr, flush=True))  # folders made private
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
