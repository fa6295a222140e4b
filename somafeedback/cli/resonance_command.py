"""``resonance``: re-score a recorded breathing-rate assessment (``resonance SESSION``), or set,
clear or show a client's own breathing rate (``resonance --client NAME --set-rate 5.25``).

Re-scoring reads the session file read-only (never changes it) and prints the same object the
session stream ends the assessment with (``--json``), or a table a practitioner can read.

Thread: the main thread.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .options import add_library_option, library_folder
from .running import EXIT_OK, EXIT_USAGE, open_session

EXIT_NOTHING_TO_SCORE = 1  # the recording has no heartbeat to score


def add_resonance(commands: Any) -> None:
    resonance = commands.add_parser(
        "resonance", help="re-score a recorded breathing-rate assessment, or set a client's own breathing rate")
    resonance.add_argument("session", nargs="?", metavar="SESSION", help="a session file, or its id in the library")
    resonance.add_argument("--json", action="store_true", help="one JSON object, as the session stream's 'resonance' line")
    resonance.add_argument("--weights", metavar="K=V,...", help="the ranking's weights, e.g. peak_trough_hr=0.5,lf_power=0.5")
    resonance.add_argument("--client", metavar="NAME", help="the client's pseudonym (with --set-rate, --clear-rate, --show-rate)")
    resonance.add_argument("--set-rate", type=float, metavar="BPM", help="save the client's breathing rate (wins over assessments)")
    resonance.add_argument("--clear-rate", action="store_true", help="forget the saved rate: the latest assessment counts again")
    resonance.add_argument("--show-rate", action="store_true", help="show the client's breathing rate and where it comes from")
    add_library_option(resonance)
    resonance.set_defaults(run=_resonance)


def parse_weights(text: str | None) -> dict[str, float] | None:
    """``k=v,...`` -> {k: v} (ValueError in words for anything else)."""
    if not text:
        return None
    weights: dict[str, float] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not sep or not key.strip() or not number >= 0:
            raise ValueError(f"--weights: {part!r} is not name=number (a number >= 0)")
        weights[key.strip()] = number
    return weights


def _rate_command(args: argparse.Namespace) -> int:
    from somafeedback.resonance.client_rate import clear_client_rate, client_rate, set_client_rate

    if not args.client:
        print("somafeedback resonance: --set-rate, --clear-rate and --show-rate need --client NAME", file=sys.stderr)
        return EXIT_USAGE
    library = library_folder(args)
    try:
        if args.set_rate is not None:
            saved = set_client_rate(library, args.client, args.set_rate)
            print(f"{args.client}: breathing rate set to {saved.rate_text} breaths/min (wins over assessments)")
        elif args.clear_rate:
            cleared = clear_client_rate(library, args.client)
            print(f"{args.client}: " + ("saved rate cleared" if cleared else "no saved rate to clear"))
    except (OSError, ValueError) as error:
        print(f"somafeedback resonance: {error}", file=sys.stderr)
        return EXIT_USAGE
    rate = client_rate(library, args.client)
    print(f"{args.client}: no breathing rate yet (no assessment recorded, none set)" if rate is None
          else f"{rate.client}: {rate.describe()}")
    return EXIT_OK


def _resonance(args: argparse.Namespace) -> int:
    if args.set_rate is not None or args.clear_rate or args.show_rate:
        return _rate_command(args)
    if not args.session:
        print("somafeedback resonance: name a SESSION to re-score (or --client NAME --set-rate BPM)", file=sys.stderr)
        return EXIT_USAGE
    from somafeedback.live.resonance_rescore import rescore
    from somafeedback.resonance.text import result_table
    from somafeedback.sessions.file import SessionFileError

    try:
        weights = parse_weights(args.weights)
        if weights is not None:
            from somafeedback.resonance.scoring import validate_weights

            weights = dict(validate_weights(weights))  # unknown names or all zero: said before reading
        recorded = open_session(args)
    except (SessionFileError, ValueError) as error:
        print(f"somafeedback resonance: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        rescored = rescore(recorded.timeline, weights)
    except ValueError as error:  # nothing to score
        print(f"somafeedback resonance: {recorded.path}: {error}", file=sys.stderr)
        return EXIT_NOTHING_TO_SCORE
    if args.json:
        print(json.dumps(rescored.line()))
        return EXIT_OK
    if not rescored.assessment:
        print(f"{recorded.path.name}: {rescored.result.reason}")
    for row in result_table(rescored.result.as_dict()):
        print(row)
    return EXIT_OK
