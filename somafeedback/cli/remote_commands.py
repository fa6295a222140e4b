"""The remote-session commands: ``relay`` (a local nats-server with JetStream for remote sessions).

``relay`` starts :class:`~somafeedback.remote.relay.LocalRelay`, prints one line with the URL to give
the client (``--json``: one JSON line ``{"type": "relay", "url": ...}``), runs until Ctrl-C, SIGTERM
or ``--duration`` passes, then stops it.

Thread: the main thread, which runs one asyncio loop for the command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Final

from .options import seconds_arg
from .running import EXIT_OK, run_loop

EXIT_RELAY_FAILED: Final = 4  # the relay could not start (the program missing, the port taken, bad settings)


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
