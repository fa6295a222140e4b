"""The remote-session commands: ``relay`` (a local nats-server with JetStream for remote sessions) and
``remote host`` / ``remote join`` (a practitioner receiving a client's strap through a relay).

``remote host`` prints the code to read out (``--json``: first ``{"type": "code", "code": ...}``), pairs,
then prints what arrives as ``stream --json --metrics`` does and records it into the library, until the
client ends, ``--duration`` passes or Ctrl-C (then the client is told). ``remote join CODE`` streams the
client's own strap (simulated or real) to the practitioner and records it locally, until the strap's
``--duration`` (session time) or the practitioner ends the session. The relay link of ``join`` runs on
a real-time loop of its own (:class:`~somafeedback.remote.loop_thread.LoopThread`): a simulated strap at
``--speed max`` runs in session time, which jumps past network waits.

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

from .options import add_library_option, add_source_options, library_folder, seconds_arg, strap_source
from .running import EXIT_NO_STRAP, EXIT_OK, EXIT_RECORDING_FAILED, require_adapter, run_loop

EXIT_RELAY_FAILED: Final = 4  # the relay could not start or be reached (the program missing, the port taken, bad settings)
EXIT_PAIRING_FAILED: Final = 5  # the code was not accepted, expired, or nobody answered
EXIT_SHARING_NOT_YET: Final = 6  # a sharing level the client cannot send yet (state, metrics)


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
    host = roles.add_parser("host", help="the practitioner: show a code, then receive and record the client's strap")
    host.add_argument("--relay", required=True, metavar="URL", help="the relay (nats://host:4222 or tls://host:4222)")
    add_library_option(host)
    host.add_argument("--duration", type=seconds_arg, metavar="S", help="end the session after S seconds (default: when the client ends)")
    host.add_argument("--json", action="store_true", help='one JSON object per line, the first {"type": "code", ...}')
    _add_rejoin(host)
    host.set_defaults(run=_host)
    join = roles.add_parser("join", help="the client: stream your strap to your practitioner with their code")
    join.add_argument("code", metavar="CODE", help="the code your practitioner read out, e.g. 7-amber-harbor")
    join.add_argument("--relay", required=True, metavar="URL", help="the relay your practitioner named")
    add_source_options(join)
    add_library_option(join)
    join.add_argument("--duration", type=seconds_arg, metavar="S",
                      help="stop after S seconds of session time (default: the end of a simulated scenario; a real strap until Ctrl-C)")
    join.add_argument("--share", choices=("state", "metrics", "beats", "raw"), default="raw",
                      help="what your practitioner sees: raw (default, what they ask for: everything from your strap), "
                      "beats (every heartbeat, no raw ECG or chest movement); state and metrics are not possible yet")
    join.add_argument("--beats", action="store_true", help="also print every beat")
    join.add_argument("--json", action="store_true", help="one JSON object per line")
    join.set_defaults(run=_join)


def _say(json_lines: bool, record: dict[str, Any], text: str, error: bool = False) -> None:
    print(json.dumps(record) if json_lines and not error else text, file=sys.stderr if error else sys.stdout, flush=True)


_LINK_WORDS: Final = {
    "lost": "your link to the relay dropped: your strap and your recording go on, and what your practitioner "
            "missed follows when it is back",
    "back": "your link to the relay is back: sending what was held",
}


async def _confirm(client: Any) -> None:
    """The client confirms the level shown (on the relay loop)."""
    client.confirm()


class _LocalEvents:
    """The client's own session events (consent, remote link), held until the recording starts (strap loop)."""

    def __init__(self) -> None:
        self._held: list[Any] = []
        self._writer: Any = None

    def attach(self, writer: Any) -> None:
        self._writer = writer
        for event in self._held:
            writer.event(event)
        self._held.clear()

    def event(self, event: Any) -> None:
        if self._writer is None:
            self._held.append(event)
        else:
            self._writer.event(event)


def _host(args: argparse.Namespace) -> int:
    import asyncio

    from somafeedback.clock import LoopClock
    from somafeedback.live.sinks import FanOut, GuardedRecorder
    from somafeedback.live.sources import keep_committed
    from somafeedback.live.stream_printer import StreamPrinter
    from somafeedback.remote.codes import PairingError
    from somafeedback.remote.errors import RelayError
    from somafeedback.remote.host_state import StateKeeper, state_folder
    from somafeedback.remote.session import RemoteHost
    from somafeedback.remote.transport import RelayLink, shown_url
    from somafeedback.sessions.file import SessionWriter, new_session_path

    if args.rejoin is not None:
        return _rejoin(args)
    printer = StreamPrinter(json_lines=args.json, metrics=True)
    library = library_folder(args)
    manifest = _host_manifest(args.relay)

    async def main() -> int:
        clock = LoopClock(asyncio.get_running_loop())
        try:
            link = await RelayLink.connect(args.relay, clock=clock)
        except RelayError as error:
            _say(False, {}, f"somafeedback remote host: {error}", error=True)
            return EXIT_RELAY_FAILED
        writer = SessionWriter(new_session_path(library, clock.wall_time(), None), clock, manifest)
        guard = GuardedRecorder(writer, lambda _error: None)
        host = RemoteHost(link, FanOut(guard, printer), clock=clock)
        reason = "interrupted"
        committer: asyncio.Task[None] | None = None
        try:
            code = await host.invite()
            _say(args.json, {"type": "code", "code": str(code)},
                 f"give the client this code: {code} (valid {host.lifetime_s / 60:.0f} min, once)")
            try:
                keys = await host.pair()
            except (PairingError, RelayError) as error:
                _say(False, {}, f"somafeedback remote host: {error}", error=True)
                reason = "pairing failed"
                return EXIT_PAIRING_FAILED
            _say(args.json, {"type": "paired", "confirmation": keys.confirmation},
                 f"paired: ask the client whether they see the words “{keys.confirmation}”")
            keeper = StateKeeper.for_host(host, state_folder(), shown_url(args.relay), writer.path.name, writer.commit)
            committer = asyncio.create_task(keep_committed(guard))
            reason = await _follow(host, keeper, args.duration)
        finally:
            if committer is not None:
                committer.cancel()
            guard.close(reason)
            if writer.notifications == 0 and writer.events == 0 and reason == "pairing failed":
                writer.path.unlink(missing_ok=True)  # nothing was recorded: leave no empty session behind
            await link.close()
        printer.flush()
        return _saved(args.json, host, writer, guard, reason)

    return run_loop(main, speed=1.0, simulated=False)


def _add_rejoin(host: argparse.ArgumentParser) -> None:
    host.add_argument("--rejoin", nargs="?", const="", metavar="FILE",
                      help="come back to the remote session this computer was running when the program stopped "
                      "(no new code: the client's data sent meanwhile follows); FILE: a saved session state "
                      "(default: the newest one)")


def _rejoin(args: argparse.Namespace) -> int:
    """``remote host --rejoin``: resume the saved session, recording into a new file that continues the earlier one."""
    import asyncio
    from dataclasses import replace

    from somafeedback.clock import LoopClock
    from somafeedback.live.sinks import FanOut, GuardedRecorder
    from somafeedback.live.sources import keep_committed
    from somafeedback.live.stream_printer import StreamPrinter
    from somafeedback.remote.errors import RelayError
    from somafeedback.remote.host_state import (
        SessionGone, StateKeeper, load_state, newest_state, state_folder,
    )
    from somafeedback.remote.session import RemoteHost
    from somafeedback.remote.transport import RelayLink, shown_url
    from somafeedback.sessions.file import SessionWriter, new_session_path

    found = Path(args.rejoin) if args.rejoin else newest_state(state_folder())
    try:
        if found is None:
            raise SessionGone("no session that did not end was found on this computer")
        state = load_state(found)
    except SessionGone as error:
        _say(False, {}, f"somafeedback remote host: {error}", error=True)
        return EXIT_PAIRING_FAILED
    printer = StreamPrinter(json_lines=args.json, metrics=True)
    library = library_folder(args)

    async def main() -> int:
        clock = LoopClock(asyncio.get_running_loop())
        try:
            link = await RelayLink.connect(args.relay, clock=clock)
        except RelayError as error:
            _say(False, {}, f"somafeedback remote host: {error}", error=True)
            return EXIT_RELAY_FAILED
        writer = SessionWriter(new_session_path(library, clock.wall_time(), None), clock,
                               {**_host_manifest(args.relay), "continues": state.recording})
        guard = GuardedRecorder(writer, lambda _error: None)
        host = RemoteHost(link, FanOut(guard, printer), clock=clock)
        reason = "rejoin failed"
        committer: asyncio.Task[None] | None = None
        try:
            try:
                await host.resume(state)
            except (SessionGone, RelayError) as error:
                _say(False, {}, f"somafeedback remote host: {error}", error=True)
                if isinstance(error, SessionGone) and shown_url(args.relay) == state.relay:
                    found.unlink(missing_ok=True)  # over for good on its own relay: never offered again
                return EXIT_PAIRING_FAILED if isinstance(error, SessionGone) else EXIT_RELAY_FAILED
            _say(args.json, {"type": "rejoined", "continues": state.recording, "confirmation": state.keys.confirmation},
                 f"rejoined the remote session (the words were “{state.keys.confirmation}”); "
                 f"this recording continues {state.recording}")
            reason = "interrupted"
            keeper = StateKeeper(host, found, replace(state, recording=writer.path.name), writer.commit)
            committer = asyncio.create_task(keep_committed(guard))
            reason = await _follow(host, keeper, args.duration)
        finally:
            if committer is not None:
                committer.cancel()
            guard.close(reason)
            if reason == "rejoin failed":
                writer.path.unlink(missing_ok=True)  # nothing of the session was recorded
            await link.close()
        printer.flush()
        return _saved(args.json, host, writer, guard, reason)

    return run_loop(main, speed=1.0, simulated=False)


def _host_manifest(relay: str) -> dict[str, Any]:
    """The manifest of the practitioner's recording of a remote session."""
    from somafeedback.remote.transport import shown_url

    return {"client": None, "practitioner": None, "mode": "practitioner", "tags": ["remote"],
            "source": {"kind": "remote", "relay": shown_url(relay)}, "devices": []}


async def _follow(host: Any, keeper: Any, duration: float | None) -> str:
    """Keep the session's state saved and pass on what arrives until the client ends, ``duration`` passes or
    Ctrl-C (the client is told); then end the session and remove its saved state. The end reason."""
    import asyncio

    keeper.start()
    try:
        reason = await asyncio.wait_for(host.run(), duration)
    except TimeoutError:
        reason = "duration reached"
    except asyncio.CancelledError as cancelled:
        reason = cancelled.args[0] if cancelled.args and isinstance(cancelled.args[0], str) else "interrupted"
        await host.end(reason)
        await keeper.finish()
        raise
    await host.end(reason)
    await keeper.finish()
    return reason


def _saved(json_lines: bool, host: Any, writer: Any, guard: Any, reason: str) -> int:
    """Say where the practitioner's recording was saved and what the session counted; the exit code."""
    if guard.failure is not None:
        _say(False, {}, f"somafeedback remote host: the recording stopped: {guard.failure}", error=True)
        return EXIT_RECORDING_FAILED
    stats = host.stats
    _say(json_lines, {"type": "saved", "path": str(writer.path), "notifications": writer.notifications,
                      "events": writer.events, "end_reason": reason, "rejected": dict(stats.rejected), "gaps": stats.gaps,
                      "sharing": str(host.consent.level), "confirmed": host.consent.confirmed},
         f"saved {writer.path} ({writer.notifications} notifications, {writer.events} events, ended: {reason}; "
         f"{sum(stats.rejected.values())} messages refused, {stats.gaps} missing; the client shared "
         f"{host.consent.level if host.consent.confirmed else 'nothing (never confirmed)'})")
    return EXIT_OK


def _join(args: argparse.Namespace) -> int:
    import asyncio

    from somafeedback.live.sinks import FanOut
    from somafeedback.live.sources import NoStrapFound, RecordingFailed, record_straps
    from somafeedback.live.stream_printer import StreamPrinter
    from somafeedback.devices.events import SourceEvent, TimelineEvent
    from somafeedback.remote.codes import PairingError
    from somafeedback.remote.consent import DESCRIPTIONS, LINK_EVENT, Consent, SharingLevel
    from somafeedback.remote.errors import RelayError
    from somafeedback.remote.loop_thread import LoopThread
    from somafeedback.remote.messages import Message, SessionEnded
    from somafeedback.remote.session import RemoteClient
    from somafeedback.remote.session_control import NOT_YET, SUPPORTED_LEVELS
    from somafeedback.remote.transport import RelayLink, shown_url

    level = SharingLevel(args.share)
    if level not in SUPPORTED_LEVELS:
        _say(False, {}, f"somafeedback remote join: {NOT_YET}", error=True)
        return EXIT_SHARING_NOT_YET
    if args.simulate is None and not args.address:
        raise SystemExit("somafeedback remote join: name your strap (--address ADDR) or use --simulate")
    source = strap_source(args)
    printer = StreamPrinter(json_lines=args.json, beats=args.beats)
    origin = ({"kind": "simulated", "scenario": source.simulate, "seed": source.seed, "speed": args.speed}
              if source.simulate is not None else {"kind": "ble", "addresses": list(source.addresses)})
    manifest = {"client": None, "practitioner": None, "mode": "home", "tags": ["remote"],
                "source": {**origin, "remote": {"relay": shown_url(args.relay), "role": "client"}}, "devices": []}
    relay_loop = LoopThread()

    async def main() -> int:
        from somafeedback.clock import LoopClock

        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        streaming: list[bool] = []
        ended_by: list[str] = []
        local = _LocalEvents()

        def record(event: SourceEvent) -> None:  # on the relay loop: the client's consent and link events
            loop.call_soon_threadsafe(local.event, event)
            if isinstance(event, TimelineEvent) and event.kind == LINK_EVENT:
                state = event.data.get("state")
                loop.call_soon_threadsafe(_say, args.json, {"type": LINK_EVENT, "state": state}, _LINK_WORDS.get(str(state), ""))

        def on_writer(writer: Any) -> None:  # on the strap loop, before streaming starts
            recorders.append(writer)
            local.attach(writer)

        def stop_streaming(reason: str) -> None:  # on the strap's loop
            ended_by.append(reason)
            if streaming:
                task.cancel(reason)

        def on_down(message: Message) -> None:  # on the relay loop
            if isinstance(message, SessionEnded):
                loop.call_soon_threadsafe(stop_streaming, message.reason)
            else:
                loop.call_soon_threadsafe(_say, args.json, {"type": "remote", "kind": type(message).__name__,
                                                            "data": dict(getattr(message, "data", {}))},
                                          f"from your practitioner: {getattr(message, 'data', message)}")

        async def connect() -> RemoteClient:
            client = RemoteClient(await RelayLink.connect(args.relay), consent=Consent(level), record=record,
                                  on_down=on_down, clock=LoopClock(loop))
            try:
                await client.pair(args.code)
            except BaseException:
                await client.link.close()
                raise
            return client

        try:
            await require_adapter(source)
            client = await relay_loop.run(connect())
        except NoStrapFound as error:
            print(error, file=sys.stderr)
            return EXIT_NO_STRAP
        except (PairingError, RelayError) as error:
            _say(False, {}, f"somafeedback remote join: {error}", error=True)
            return EXIT_RELAY_FAILED if isinstance(error, RelayError) else EXIT_PAIRING_FAILED
        assert client.keys is not None
        _say(args.json, {"type": "paired", "confirmation": client.keys.confirmation},
             f"paired: your practitioner should see the words “{client.keys.confirmation}”")
        _say(args.json, {"type": "consent", "level": str(level), "shares": DESCRIPTIONS[level]},
             f"you are sharing: {DESCRIPTIONS[level]}")
        await relay_loop.run(_confirm(client))  # sharing starts: everything before this was control only
        reason, code = "the client ended the session", EXIT_OK
        recorders: list[Any] = []  # the guarded writer, kept also when the practitioner's end cancels the recording
        streaming.append(True)
        try:
            await record_straps(source, FanOut(printer, client), args.duration, library_folder(args), manifest,
                                on_writer=on_writer)
        except asyncio.CancelledError:
            streaming.clear()
            if not ended_by:
                raise
            task.uncancel()
            reason = f"the practitioner ended the session ({ended_by[0]})"
        except NoStrapFound as error:
            print(error, file=sys.stderr)
            code, reason = EXIT_NO_STRAP, "no strap found"
        except RecordingFailed as error:
            _say(False, {}, f"somafeedback remote join: {error}", error=True)
            code, reason = EXIT_RECORDING_FAILED, "the recording failed"
        finally:
            streaming.clear()
            delivered = await relay_loop.run(client.end(reason))
            await relay_loop.run(client.link.close())
        printer.flush()
        sent = sum(client.stats.sent.values())
        saved = str(recorders[0].path) if recorders and recorders[0].path.exists() else None
        _say(args.json, {"type": "ended", "reason": reason, "sent": sent, "delivered": delivered, "saved": saved},
             f"session ended ({reason}): {sent} messages sent" + ("" if delivered else ", some could not reach the relay")
             + (f"; saved {saved}" if saved else ""))
        return code

    try:
        return run_loop(main, args.speed, source.simulate is not None)
    finally:
        relay_loop.stop()
