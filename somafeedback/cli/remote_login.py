"""What ``remote host`` and ``remote join`` share: their exit codes, the relay login options
(:func:`add_relay_login`, :func:`relay_auth`: user and password, token, credentials file, the relay's
certificate authority, all into :class:`~somafeedback.remote.transport.RelayAuth`) and one printed line.

Thread: the main thread.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Final

EXIT_RELAY_FAILED: Final = 4  # the relay could not start or be reached (the program missing, the port taken, bad settings)
EXIT_PAIRING_FAILED: Final = 5  # the code was not accepted, expired, or nobody answered
PASSWORD_VARIABLE: Final = "SOMAFEEDBACK_RELAY_PASSWORD"  # the relay password, kept off the command line
LEVELS: Final = ("state", "metrics", "beats", "raw")  # the sharing levels, least first


def add_relay_login(parser: argparse.ArgumentParser) -> None:
    """The relay login options of ``remote host`` and ``remote join`` (read by :func:`relay_auth`)."""
    parser.add_argument("--relay-user", metavar="U", help="log in to the relay as U (with --relay-password)")
    parser.add_argument("--relay-password", metavar="P",
                        help=f"the relay password for --relay-user (or set {PASSWORD_VARIABLE}: other accounts "
                        "on this computer can see a command line)")
    parser.add_argument("--relay-token", metavar="T", help="log in to the relay with a token")
    parser.add_argument("--relay-creds", type=Path, metavar="FILE", help="log in with a NATS credentials file")
    parser.add_argument("--relay-ca", type=Path, metavar="FILE",
                        help="the certificate authority that signed the relay's TLS certificate (a clinic's own)")


def relay_auth(args: argparse.Namespace, command: str) -> Any:
    """The :class:`~somafeedback.remote.transport.RelayAuth` the login options name; exits (usage) when
    they contradict each other."""
    from somafeedback.remote.transport import RelayAuth

    password = args.relay_password if args.relay_password is not None else os.environ.get(PASSWORD_VARIABLE)
    if args.relay_user is not None and not password:
        raise SystemExit(f"somafeedback {command}: --relay-user needs a password (--relay-password or {PASSWORD_VARIABLE})")
    if args.relay_password is not None and args.relay_user is None:
        raise SystemExit(f"somafeedback {command}: --relay-password needs --relay-user")
    if sum(x is not None for x in (args.relay_user, args.relay_token, args.relay_creds)) > 1:
        raise SystemExit(f"somafeedback {command}: log in one way: --relay-user, --relay-token or --relay-creds")
    return RelayAuth(user=args.relay_user, password=password if args.relay_user is not None else None,
                     token=args.relay_token, credentials=args.relay_creds, tls_ca=args.relay_ca)


def relay_failure(error: Exception, args: argparse.Namespace) -> str:
    """A relay error in words, with the option that may help when it is about the relay's certificate."""
    text = str(error)
    if "TLS" in text and args.relay_ca is None:
        text += "; a relay with a certificate of its own needs its certificate authority: --relay-ca FILE"
    return text


def say(json_lines: bool, record: dict[str, Any], text: str, error: bool = False) -> None:
    """One line: ``record`` as JSON with ``--json``, else ``text``; an error goes to stderr as text."""
    print(json.dumps(record) if json_lines and not error else text, file=sys.stderr if error else sys.stdout, flush=True)
