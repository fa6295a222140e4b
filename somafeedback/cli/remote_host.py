"""``remote host``: the practitioner's side of a remote session (declared in :mod:`.remote_commands`).

It prints the code, pairs, then runs what arrives from the client through the recorder, the printer
(``stream --json --metrics``) and a practitioner-mode
:class:`~somafeedback.live.regulation_session.RegulationSession`: its states, cue suggestions and
baseline are printed as ``session --json`` prints them and recorded in the practitioner's file, and each
delivered cue and pacer change goes down to the client (:class:`~somafeedback.remote.down_sender.DownSender`).
While the session lasts its state is kept (:class:`~somafeedback.remote.host_state.StateKeeper`), so
``remote host --rejoin`` comes back to it after a crash: no new code, a new recording that continues the
earlier one, the client's data sent meanwhile following.

Thread: the main thread, which runs one asyncio loop (real time) for the command.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
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


def host_manifest(args: argparse.Namespace, **more: Any) -> dict[str, Any]:
    """The manifest of the practitioner's recording of a remote session."""
    from somafeedback.remote.transport import shown_url

    return {"client": None, "practitioner": None, "mode": "practitioner", "method": args.method, "tags": ["remote"],
            "source": {"kind": "remote", "relay": shown_url(args.relay)}, "devices": [], **more}


@dataclass
class _Side:
    """The practitioner's side of one run: the recording, the regulation loop, the host and its down sender."""

    writer: Any
    guard: Any
    regulation: Any
    host: Any
    down: Any


def _side(args: argparse.Namespace, link: Any, clock: Any, manifest: dict[str, Any], printer: Any) -> _Side:
    """Open the recording and build the host feeding it, the printer and the regulation loop. Raises
    ExerciseError (the recording is then removed)."""
    from somafeedback.live.sinks import FanOut, GuardedRecorder
    from somafeedback.regulation.exercises import ExerciseError
    from somafeedback.remote.consent import SharingLevel
    from somafeedback.remote.down_sender import DownSender
    from somafeedback.remote.session import RemoteHost
    from somafeedback.sessions.file import SessionWriter, new_session_path

    writer = SessionWriter(new_session_path(library_folder(args), clock.wall_time(), None), clock, manifest)
    guard = GuardedRecorder(writer, lambda _error: None)
    down: list[Any] = []

    def emit(event: Any) -> None:  # the regulation loop's events, on this loop: the screen and the client
        printer.event(event)
        down[0].event(event)

    try:
        regulation = regulation_loop(args, guard, emit)
    except ExerciseError:
        guard.close("the exercises could not be read")
        writer.path.unlink(missing_ok=True)
        raise
    host = RemoteHost(link, FanOut(guard, printer, regulation), clock=clock, requested=SharingLevel(args.ask))
    down.append(DownSender(host))
    return _Side(writer, guard, regulation, host, down[0])


async def _open(args: argparse.Namespace, auth: Any, printer: Any, manifest: dict[str, Any]) -> tuple[Any, _Side] | int:
    """Connect to the relay and build the practitioner's side (:func:`_side`); the exit code instead when
    either fails (said in words)."""
    import asyncio

    from somafeedback.clock import LoopClock
    from somafeedback.regulation.exercises import ExerciseError
    from somafeedback.remote.errors import RelayError
    from somafeedback.remote.transport import RelayLink

    clock = LoopClock(asyncio.get_running_loop())
    try:
        link = await RelayLink.connect(args.relay, auth, clock=clock)
    except RelayError as error:
        say(False, {}, f"somafeedback remote host: {relay_failure(error, args)}", error=True)
        return EXIT_RELAY_FAILED
    try:
        return link, _side(args, link, clock, manifest, printer)
    except ExerciseError as error:
        say(False, {}, f"somafeedback remote host: {error}", error=True)
        await link.close()
        return EXIT_USAGE


async def _follow(side: _Side, keeper: Any, duration: float | None) -> tuple[str, BaseException | None]:
    """Keep the session's state saved and pass on what arrives until the client ends, ``duration`` passes or
    Ctrl-C / a stop signal (the client is told); then end the session and remove its saved state. The end
    reason, and the cancellation to raise once the recording is closed and its place said (None: none)."""
    import asyncio

    keeper.start()
    cancelled: asyncio.CancelledError | None = None
    try:
        reason = await asyncio.wait_for(side.host.run(), duration)
    except TimeoutError:
        reason = "duration reached"
    except asyncio.CancelledError as stop:
        cancelled = stop
        reason = stop.args[0] if stop.args and isinstance(stop.args[0], str) else "interrupted"
    side.regulation.finish()
    await side.down.close()
    await side.host.end(reason)
    await keeper.finish()
    return reason, cancelled


def run_host(args: argparse.Namespace) -> int:
    """``remote host``: a code, the pairing, the session (or ``--rejoin``: the session this computer was running)."""
    if args.rejoin is not None:
        return _run_rejoin(args)
    import asyncio

    from somafeedback.live.sources import keep_committed
    from somafeedback.live.stored_pass import finisher
    from somafeedback.live.stream_printer import StreamPrinter
    from somafeedback.remote.codes import PairingError
    from somafeedback.remote.errors import RelayError
    from somafeedback.remote.host_state import StateKeeper, state_folder
    from somafeedback.remote.transport import shown_url

    auth = relay_auth(args, "remote host")
    printer = StreamPrinter(json_lines=args.json, metrics=True)

    async def main() -> int:
        opened = await _open(args, auth, printer, host_manifest(args))
        if isinstance(opened, int):
            return opened
        link, side = opened
        host, writer = side.host, side.writer
        reason = "interrupted"
        cancelled: BaseException | None = None
        committer: asyncio.Task[None] | None = None
        try:
            invitation = await host.invite()
            say(args.json, {"type": "code", "code": str(invitation), "asks": args.ask},
                f"give the client this code: {invitation} (valid {host.lifetime_s / 60:.0f} min, once)")
            try:
                keys = await host.pair()
            except (PairingError, RelayError) as error:
                say(False, {}, f"somafeedback remote host: {error}", error=True)
                reason = "pairing failed"
                return EXIT_PAIRING_FAILED
            say(args.json, {"type": "paired", "confirmation": keys.confirmation},
                f"paired: ask the client whether they see the words “{keys.confirmation}”")
            keeper = StateKeeper.for_host(host, state_folder(), shown_url(args.relay), writer.path.name, writer.commit)
            committer = asyncio.create_task(keep_committed(side.guard))
            reason, cancelled = await _follow(side, keeper, args.duration)
        finally:
            if committer is not None:
                committer.cancel()
            side.guard.close(reason, finisher(reason))
            if writer.notifications == 0 and writer.events == 0 and reason == "pairing failed":
                writer.path.unlink(missing_ok=True)  # nothing was recorded: leave no empty session behind
            await link.close()
        printer.flush()
        return _saved(args, side, reason, cancelled)

    return run_loop(main, speed=1.0, simulated=False)


def _run_rejoin(args: argparse.Namespace) -> int:
    """``remote host --rejoin``: resume the saved session, recording into a new file that continues the earlier one."""
    import asyncio
    from dataclasses import replace

    from somafeedback.live.sources import keep_committed
    from somafeedback.live.stored_pass import finisher
    from somafeedback.live.stream_printer import StreamPrinter
    from somafeedback.remote.errors import RelayError
    from somafeedback.remote.host_state import SessionGone, StateKeeper, load_state, newest_state, state_folder
    from somafeedback.remote.transport import shown_url

    auth = relay_auth(args, "remote host")
    found = Path(args.rejoin) if args.rejoin else newest_state(state_folder())
    try:
        if found is None:
            raise SessionGone("no session that did not end was found on this computer")
        state = load_state(found)
    except SessionGone as error:
        say(False, {}, f"somafeedback remote host: {error}", error=True)
        return EXIT_PAIRING_FAILED
    printer = StreamPrinter(json_lines=args.json, metrics=True)

    async def main() -> int:
        opened = await _open(args, auth, printer, host_manifest(args, continues=state.recording))
        if isinstance(opened, int):
            return opened
        link, side = opened
        reason = "rejoin failed"
        cancelled: BaseException | None = None
        committer: asyncio.Task[None] | None = None
        try:
            try:
                await side.host.resume(state)
            except (SessionGone, RelayError) as error:
                say(False, {}, f"somafeedback remote host: {error}", error=True)
                if isinstance(error, SessionGone) and shown_url(args.relay) == state.relay:
                    found.unlink(missing_ok=True)  # over for good on its own relay: never offered again
                return EXIT_PAIRING_FAILED if isinstance(error, SessionGone) else EXIT_RELAY_FAILED
            say(args.json, {"type": "rejoined", "continues": state.recording, "confirmation": state.keys.confirmation},
                f"rejoined the remote session (the words were “{state.keys.confirmation}”); "
                f"this recording continues {state.recording}")
            reason = "interrupted"
            keeper = StateKeeper(side.host, found, replace(state, recording=side.writer.path.name), side.writer.commit)
            committer = asyncio.create_task(keep_committed(side.guard))
            reason, cancelled = await _follow(side, keeper, args.duration)
        finally:
            if committer is not None:
                committer.cancel()
            side.guard.close(reason, finisher(reason))
            if reason == "rejoin failed":
                side.writer.path.unlink(missing_ok=True)  # nothing of the session was recorded
            await link.close()
        printer.flush()
        return _saved(args, side, reason, cancelled)

    return run_loop(main, speed=1.0, simulated=False)


def _saved(args: argparse.Namespace, side: _Side, reason: str, cancelled: BaseException | None = None) -> int:
    """The host's last line: where the session is saved and what the session counted; the exit code (or
    ``cancelled`` raised, so the command's exit says which signal stopped it)."""
    if side.guard.failure is not None:
        say(False, {}, f"somafeedback remote host: the recording stopped: {side.guard.failure}", error=True)
        return EXIT_RECORDING_FAILED
    writer, host, down, stats = side.writer, side.host, side.down, side.host.stats
    say(args.json, {"type": "saved", "path": str(writer.path), "notifications": writer.notifications,
                    "events": writer.events, "end_reason": reason, "rejected": dict(stats.rejected), "gaps": stats.gaps,
                    "sharing": str(host.consent.level), "confirmed": host.consent.confirmed,
                    "sent_down": down.sent, "not_sent_down": down.unavailable},
        f"saved {writer.path} ({writer.notifications} notifications, {writer.events} events, ended: {reason}; "
        f"{sum(stats.rejected.values())} messages refused, {stats.gaps} missing; the client shared "
        f"{host.consent.level if host.consent.confirmed else 'nothing (never confirmed)'}; "
        f"{down.sent} cues and pacer changes sent to the client"
        + (f", {down.unavailable} could not be sent" if down.unavailable else "") + ")")
    if cancelled is not None:
        raise cancelled
    return EXIT_OK
