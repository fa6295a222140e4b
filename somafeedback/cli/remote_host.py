"""``remote host``: the practitioner's side of a remote session (declared in :mod:`.remote_commands`).

It prints the code, pairs, then runs what arrives from the client through the recorder, the printer
(``stream --json --metrics``) and a practitioner-mode
:class:`~somafeedback.live.regulation_session.RegulationSession`: its states, cue suggestions and
baseline are printed as ``session --json`` prints them and recorded in the practitioner's file, and each
delivered cue and pacer change goes down to the client (:class:`~somafeedback.remote.down_sender.DownSender`).

Thread: the main thread, which runs one asyncio loop (real time) for the command.
"""

from __future__ import annotations

import argparse
from typing import Any

from .options import library_folder
from .remote_login import EXIT_PAIRING_FAILED, EXIT_RELAY_FAILED, relay_auth, relay_failure, say
from .running import EXIT_OK, EXIT_RECORDING_FAILED, EXIT_USAGE, run_loop


def regulation_loop(args: argparse.Namespace, recorder: Any, emit: Any) -> Any:
    """The practitioner-mode regulation loop on the client's strap (``--method``, ``--auto-approve``):
    ``recorder`` gets its events for the file, ``emit`` for the screen and the client."""
    from somafeedback.live.regulation_session import RegulationSession
    from somafeedback.regulation.exercises import load_exercises

    return RegulationSession("practitioner", load_exercises(), emit, auto_approve=args.auto_approve,
                             recorder=recorder, method=args.method)


def run_host(args: argparse.Namespace) -> int:
    import asyncio

    from somafeedback.clock import LoopClock
    from somafeedback.live.sinks import FanOut, GuardedRecorder
    from somafeedback.live.sources import keep_committed
    from somafeedback.live.stream_printer import StreamPrinter
    from somafeedback.regulation.exercises import ExerciseError
    from somafeedback.remote.codes import PairingError
    from somafeedback.remote.consent import SharingLevel
    from somafeedback.remote.down_sender import DownSender
    from somafeedback.remote.errors import RelayError
    from somafeedback.remote.session import RemoteHost
    from somafeedback.remote.transport import RelayLink, shown_url
    from somafeedback.sessions.file import SessionWriter, new_session_path

    auth = relay_auth(args, "remote host")
    printer = StreamPrinter(json_lines=args.json, metrics=True)
    library = library_folder(args)
    manifest = {"client": None, "practitioner": None, "mode": "practitioner", "method": args.method, "tags": ["remote"],
                "source": {"kind": "remote", "relay": shown_url(args.relay)}, "devices": []}

    async def main() -> int:
        clock = LoopClock(asyncio.get_running_loop())
        try:
            link = await RelayLink.connect(args.relay, auth, clock=clock)
        except RelayError as error:
            say(False, {}, f"somafeedback remote host: {relay_failure(error, args)}", error=True)
            return EXIT_RELAY_FAILED
        writer = SessionWriter(new_session_path(library, clock.wall_time(), None), clock, manifest)
        guard = GuardedRecorder(writer, lambda _error: None)
        down: list[DownSender] = []

        def emit(event: Any) -> None:  # the regulation loop's events, on this loop: the screen and the client
            printer.event(event)
            down[0].event(event)

        try:
            loop_session = regulation_loop(args, guard, emit)
        except ExerciseError as error:
            say(False, {}, f"somafeedback remote host: {error}", error=True)
            guard.close("the exercises could not be read")
            writer.path.unlink(missing_ok=True)
            await link.close()
            return EXIT_USAGE
        host = RemoteHost(link, FanOut(guard, printer, loop_session), clock=clock, requested=SharingLevel(args.ask))
        down.append(DownSender(host))
        reason = "interrupted"
        committer: asyncio.Task[None] | None = None
        try:
            code = await host.invite()
            say(args.json, {"type": "code", "code": str(code), "asks": args.ask},
                f"give the client this code: {code} (valid {host.lifetime_s / 60:.0f} min, once)")
            try:
                keys = await host.pair()
            except (PairingError, RelayError) as error:
                say(False, {}, f"somafeedback remote host: {error}", error=True)
                reason = "pairing failed"
                return EXIT_PAIRING_FAILED
            say(args.json, {"type": "paired", "confirmation": keys.confirmation},
                f"paired: ask the client whether they see the words “{keys.confirmation}”")
            committer = asyncio.create_task(keep_committed(guard))
            try:
                reason = await asyncio.wait_for(host.run(), args.duration)
            except TimeoutError:
                reason = "duration reached"
            except asyncio.CancelledError as cancelled:
                reason = cancelled.args[0] if cancelled.args and isinstance(cancelled.args[0], str) else "interrupted"
                await down[0].close()
                await host.end(reason)
                raise
            loop_session.finish()
            await down[0].close()
            await host.end(reason)
        finally:
            if committer is not None:
                committer.cancel()
            guard.close(reason)
            if writer.notifications == 0 and writer.events == 0 and reason == "pairing failed":
                writer.path.unlink(missing_ok=True)  # nothing was recorded: leave no empty session behind
            await link.close()
        printer.flush()
        if guard.failure is not None:
            say(False, {}, f"somafeedback remote host: the recording stopped: {guard.failure}", error=True)
            return EXIT_RECORDING_FAILED
        say_saved(args, writer, host, reason, down[0])
        return EXIT_OK

    return run_loop(main, speed=1.0, simulated=False)


def say_saved(args: argparse.Namespace, writer: Any, host: Any, reason: str, down: Any) -> None:
    """The host's last line: where the session is saved and what the session counted."""
    stats = host.stats
    say(args.json, {"type": "saved", "path": str(writer.path), "notifications": writer.notifications,
                    "events": writer.events, "end_reason": reason, "rejected": dict(stats.rejected), "gaps": stats.gaps,
                    "sharing": str(host.consent.level), "confirmed": host.consent.confirmed,
                    "sent_down": down.sent, "not_sent_down": down.unavailable},
        f"saved {writer.path} ({writer.notifications} notifications, {writer.events} events, ended: {reason}; "
        f"{sum(stats.rejected.values())} messages refused, {stats.gaps} missing; the client shared "
        f"{host.consent.level if host.consent.confirmed else 'nothing (never confirmed)'}; "
        f"{down.sent} cues and pacer changes sent to the client"
        + (f", {down.unavailable} could not be sent" if down.unavailable else "") + ")")
