"""The ``somafeedback`` entry point: the desktop app, or the command line when a command is given.

Thread: the main thread.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

CLI_FLAGS = ("-h", "--help", "--version", "-v", "--verbose", "--help-commands")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from somafeedback.cli import build_parser

    from .report_command import COMMANDS as REPORT_COMMANDS
    from .report_command import add_arguments as add_report_commands

    commands = set(build_parser()._subparsers._group_actions[0].choices) | set(REPORT_COMMANDS)  # type: ignore[union-attr]
    if args and (args[0] in commands or args[0] in CLI_FLAGS):
        from somafeedback.cli import main as cli_main

        return cli_main(["--help"] if args[0] == "--help-commands" else args, extra_commands=add_report_commands)
    from .app import main as app_main

    return app_main(args)


if __name__ == "__main__":
    sys.exit(main())
