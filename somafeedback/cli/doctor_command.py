"""``doctor``: checks what somafeedback needs on this computer and says what to do about a problem.

Prints one line per check (ok / problem / not checked: Python, the Qt platform, sound,
Bluetooth, the recordings folder, LSL) with the next steps under each problem; ``--json``
prints one object ``{"ok": bool, "checks": [{"name", "status", "detail", "next_steps",
"problem", "title"}]}`` instead.

Exit status: 0 no problem found (a check that could not run does not count), 1 at least one
problem found, 2 a usage error.

Thread: the main thread.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from typing import TYPE_CHECKING, Any, Final

from .options import add_library_option, library_folder
from .running import EXIT_OK

if TYPE_CHECKING:  # the checks (and bleak, through them) load only when doctor runs
    from .doctor_checks import Check

EXIT_PROBLEM: Final = 1  # at least one check found a problem
WIDTH: Final = 100  # characters of a printed line
LABEL: Final = 13  # width of the status column


def add_doctor(commands: Any) -> None:
    doctor = commands.add_parser(
        "doctor", help="check this computer for what somafeedback needs (Bluetooth, display, sound, folders)",
        description="Checks Python, the Qt platform, sound, the Bluetooth adapter, the recordings folder and LSL. "
        "Exit status: 0 no problem found, 1 a problem found, 2 a usage error.")
    doctor.add_argument("--json", action="store_true", help="one JSON object instead of the text")
    add_library_option(doctor)
    doctor.set_defaults(run=_doctor)


def report_text(checks: list[Check]) -> str:
    """The checks as a terminal reads them."""
    from .doctor_checks import PROBLEM

    lines = ["somafeedback doctor"]
    indent = " " * (LABEL + 2)
    for check in checks:
        head = check.name + (f": {check.title}" if check.title else "")
        lines.append(f"  {check.status:<{LABEL}}{head}")
        lines += textwrap.wrap(check.detail, WIDTH, initial_indent=indent, subsequent_indent=indent)
        for step in check.next_steps:
            lines += textwrap.wrap(step, WIDTH, initial_indent=indent + "- ", subsequent_indent=indent + "  ")
    problems = sum(check.status == PROBLEM for check in checks)
    lines.append("No problem found." if not problems else
                 f"{problems} problem{'s' if problems > 1 else ''} found: see the next steps above.")
    return "\n".join(lines)


def _doctor(args: argparse.Namespace) -> int:
    from .doctor_checks import PROBLEM, run_checks

    checks = run_checks(library_folder(args))
    if args.json:
        print(json.dumps({"ok": not any(c.status == PROBLEM for c in checks), "checks": [c.as_json() for c in checks]}))
    else:
        print(report_text(checks))
    return EXIT_PROBLEM if any(check.status == PROBLEM for check in checks) else EXIT_OK
