"""The ``somafeedback`` entry point: the desktop app, or the command line when a command is given.

Before the app opens on X11 it checks that the system libraries Qt needs are there (see
:mod:`ui.platform_check`): when some are missing it says which, and the line that installs
them, instead of letting Qt abort.

Thread: the main thread.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from .platform_check import OS_RELEASE, Probe, check, probe_missing

CLI_FLAGS = ("--version", "-v", "--verbose", "--help-commands")
HELP_FLAGS = ("-h", "--help")


def _commands_parser() -> argparse.ArgumentParser:
    """The command line's parser, with the report commands that live in ``ui/``."""
    from somafeedback.cli.main import build_parser

    from .report.command import add_arguments as add_report_commands

    return build_parser(extra_commands=add_report_commands)


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    """(name, one-line help) of every command of ``parser``."""
    for action in parser._subparsers._group_actions if parser._subparsers else ():
        if isinstance(action, argparse._SubParsersAction):
            return [(choice.dest, choice.help or "") for choice in action._choices_actions]
    return []


def help_text() -> str:
    """``somafeedback --help``: the app's options, then the list of commands."""
    from .app import build_parser as build_app_parser

    app_help = build_app_parser().format_help().rstrip()
    commands = _subcommands(_commands_parser())
    width = max(len(name) for name, _ in commands) + 2
    lines = [app_help, "", "commands (run in a terminal; 'somafeedback COMMAND --help' for each):"]
    lines += [f"  {name:<{width}}{text}" for name, text in commands]
    lines += ["", "'somafeedback --help-commands' shows the command line's own options (--version, --verbose)."]
    return "\n".join(lines) + "\n"


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
    probe: Probe = probe_missing,
    os_release: Path = OS_RELEASE,
    err: TextIO | None = None,
) -> int:
    """Run a command, print help, or open the app. ``environ``, ``platform``, ``probe`` and
    ``os_release`` (default: this process and machine) feed the check of Qt's system libraries."""
    args = list(sys.argv[1:] if argv is None else argv)
    from .report.command import COMMANDS as REPORT_COMMANDS

    parser = _commands_parser()
    commands = {name for name, _ in _subcommands(parser)} | set(REPORT_COMMANDS)
    if not (args and args[0] in commands) and any(arg in HELP_FLAGS for arg in args):
        sys.stdout.write(help_text())
        return 0
    if args and (args[0] in commands or args[0] in CLI_FLAGS):
        from somafeedback.cli.main import main as cli_main

        from .report.command import add_arguments as add_report_commands

        return cli_main(["--help"] if args[0] == "--help-commands" else args, extra_commands=add_report_commands)
    problem = check(sys.platform if platform is None else platform, os.environ if environ is None else environ,
                    probe, os_release)
    if problem is not None:
        print(problem, file=err or sys.stderr)
        return 1
    from .app import main as app_main

    return app_main(args)


if __name__ == "__main__":
    sys.exit(main())
