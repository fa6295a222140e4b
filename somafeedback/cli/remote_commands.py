"""The remote-session commands: ``relay`` (a local nats-server with JetStream for remote sessions) and
``remote host`` / ``remote join`` (a practitioner receiving a client's strap through a relay).

``remote host`` prints the code to read out (``--json``: first ``{"type": "code", "code": ...}``), pairs,
then prints what arrives as ``stream --json --metrics`` does, with the states, cues and baseline of the
regulation loop as ``session --json`` prints them, and records it all into the library, until the
client ends, ``--duration`` passes or Ctrl-C (then the client is told); delivered cues and pacer
changes go down to the client, who sees them as ``remote-cue`` and ``remote-pacer`` lines. ``remote join CODE`` streams the
client's own strap (simulated or real) to the practitioner and records it locally, until the strap's
``--duration`` (session time) or the practitioner ends the session. The relay link of ``join`` runs on
a real-time loop of its own (:class:`~somafeedback.remote.loop_thread.LoopThread`): a simulated strap at
``--speed max`` runs in session time, which jumps past network waits.

``remote host --address ADDR`` (the strap the practitioner wears) or ``--simulate DYAD --person
practitioner`` (a dyad scenario's practitioner person) adds the practitioner's own strap as ``strap2``,
recorded beside the client's ``strap1``; the session then runs on the app's engine, and ``--json`` also
prints its synchrony windows as ``{"type": "synchrony", ...}`` lines (:mod:`.remote_host_own`).

``relay`` starts :class:`~somafeedback.remote.relay.LocalRelay`, prints one line with the URL to give
the client (``--json``: one JSON line ``{"type": "relay", "url": ...}``), runs until Ctrl-C, SIGTERM
or ``--duration`` passes, then stops it.

Both log in to the relay (:func:`add_relay_login`, :func:`relay_auth`): a user and password (also in the
URL), a token, a NATS credentials file, and a CA for a relay with a certificate of its own. The bodies
of ``remote host`` and ``remote join`` are in :mod:`.remote_host` and :mod:`.remote_join`.

Thread: the main thread, which runs one asyncio loop for the command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .options import add_library_option, add_method_option, add_source_options, seconds_arg
from .remote_login import EXIT_RELAY_FAILED, LEVELS, add_relay_login
from .running import EXIT_OK, run_loop


def listen_arg(text: str) -> tuple[str, int]:
    """``--listen HOST:PORT`` (``[::1]:4222`` for IPv6; port 0 chooses a free one)."""
    host, colon, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not colon or not host or not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT such as 127.0.0.1:4222 (port 0: any free one), not {text!r}")
    return host, number


def add_relay(commands: Any) -> None:
    relay = commands.add_parser("relay", help="run a local relay (nats-server) for remote sessions")
    relay.add_argument("--listen", type=listen_arg, default=("127.0.0.1", 0), metavar="HOST:PORT",
                       help="where it listens (default 127.0.0.1 and a free port: this computer only; "
                       "0.0.0.0:4222 for the clinic's network)")
    relay.add_argument("--tls-cert", type=Path, metavar="FILE", help="TLS certificate (with --tls-key): clients use tls://")
    relay.add_argument("--tls-key", type=Path, metavar="FILE", help="the TLS certificate's private key")
    relay.add_argument("--store", type=Path, metavar="DIR",
                       help="where it keeps sessions' messages during outages (default: your data folder; private)")
    login = relay.add_mutually_exclusive_group()
    login.add_argument("--user", metavar="U", help="a user name clients must log in with (with --password)")
    login.add_argument("--token", metavar="T", help="a token clients must log in with")
    relay.add_argument("--password", metavar="P", help="the password for --user")
    relay.add_argument("--duration", type=seconds_arg, metavar="S", help="stop after S seconds (default: until Ctrl-C)")
    relay.add_argument("--json", action="store_true", help='print {"type": "relay", "url": ...} as one JSON line')
    relay.set_defaults(run=_relay)


def _relay(args: argparse.Namespace) -> int:
    import asyncio

    from somafeedback.remote.errors import RelayError
    from somafeedback.remote.relay import LocalRelay, RelayConfig

    host, port = args.listen
    config = RelayConfig(host=host, port=port, store=args.store, tls_cert=args.tls_cert, tls_key=args.tls_key,
                         user=args.user, password=args.password, token=args.token)

    async def serve() -> int:
        relay = LocalRelay(config)
        try:
            await asyncio.to_thread(relay.start)
        except RelayError as error:
            print(f"somafeedback relay: {error}", file=sys.stderr)
            return EXIT_RELAY_FAILED
        try:
            if args.json:
                print(json.dumps({"type": "relay", "url": relay.url}), flush=True)
            else:
                print(f"relay running: give the client {relay.url} (stop with Ctrl-C)", flush=True)
            if args.duration is not None:
                await asyncio.sleep(args.duration)
            else:
                await asyncio.Event().wait()
        finally:
            relay.stop()  # bounded: terminate, wait, kill
            print("relay stopped", file=sys.stderr, flush=True)
        return EXIT_OK

    return run_loop(serve, speed=1.0, simulated=False)


def add_remote(commands: Any) -> None:
    remote = commands.add_parser("remote", help="a remote session: a client's strap streamed, end-to-end encrypted, through a relay")
    roles = remote.add_subparsers(dest="role", metavar="ROLE", required=True)
    host = roles.add_parser("host", help="the practitioner: show a code, then receive and record the client's strap, "
                            "with its states and cues")
    host.add_argument("--relay", required=True, metavar="URL", help="the relay (nats://host:4222 or tls://host:4222)")
    add_relay_login(host)
    add_library_option(host)
    add_method_option(host)
    host.add_argument("--auto-approve", action="store_true",
                      help="approve every suggestion: the cue is delivered to the client's screen")
    host.add_argument("--ask", choices=LEVELS, default="raw",
                      help="what to ask the client to share (default raw: everything from their strap); they choose")
    host.add_argument("--duration", type=seconds_arg, metavar="S", help="end the session after S seconds (default: when the client ends)")
    host.add_argument("--json", action="store_true", help='one JSON object per line, the first {"type": "code", ...}')
    host.add_argument("--rejoin", nargs="?", const="", metavar="FILE",
                      help="come back to the remote session this computer was running when the program stopped "
                      "(no new code: the client's data sent meanwhile follows); FILE: a saved session state "
                      "(default: the newest one)")
    own = host.add_argument_group("your own strap (co-regulation: your heart rate beside your client's)")
    own.add_argument("--address", action="append", default=[], metavar="ADDR",
                     help="the strap you wear (its Bluetooth address): recorded as strap2 beside the client's strap1")
    own.add_argument("--simulate", metavar="SCENARIO",
                     help="a simulated strap instead: a dyad scenario's practitioner person (the client runs "
                     "'remote join --simulate SCENARIO --person client')")
    own.add_argument("--person", choices=("practitioner",),
                     help="with --simulate and a dyad scenario: the person you simulate (the practitioner)")
    host.set_defaults(run=_host)
    join = roles.add_parser("join", help="the client: stream your strap to your practitioner with their code")
    join.add_argument("code", metavar="CODE", help="the code your practitioner read out, e.g. 7-amber-harbor")
    join.add_argument("--relay", required=True, metavar="URL", help="the relay your practitioner named")
    add_relay_login(join)
    add_source_options(join)
    add_library_option(join)
    join.add_argument("--duration", type=seconds_arg, metavar="S",
                      help="stop after S seconds of session time (default: the end of a simulated scenario; a real strap until Ctrl-C)")
    join.add_argument("--share", choices=LEVELS,
                      help="what your practitioner sees (default: what they ask for): raw (everything from your strap), "
                      "beats (every heartbeat, no raw ECG or chest movement), metrics (your measures and state, "
                      "computed on your computer) or state (only your regulation state)")
    join.add_argument("--person", choices=("client", "practitioner"),
                      help="with --simulate and a dyad scenario: simulate only this person (the practitioner's computer "
                      "simulates the other), on the dyad's time, the client's session clock")
    join.add_argument("--beats", action="store_true", help="also print every beat")
    join.add_argument("--json", action="store_true", help="one JSON object per line")
    join.set_defaults(run=_join)


def _host(args: argparse.Namespace) -> int:
    from .remote_host import run_host
    from .remote_host_own import own_strap_asked, run_host_own

    return run_host_own(args) if own_strap_asked(args) or args.person is not None else run_host(args)


def _join(args: argparse.Namespace) -> int:
    from .remote_join import run_join

    return run_join(args)
