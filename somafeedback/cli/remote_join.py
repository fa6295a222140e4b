"""``remote join``: the client's side of a remote session (declared in :mod:`.remote_commands`).

It pairs with the practitioner's code, shows what the practitioner asks to see (``--share`` chooses
another level), streams the client's strap and records it locally. What the practitioner sends down is
printed: a cue as ``{"type": "remote-cue", "action", "exercise", "text": "from your practitioner: ..."}``
(recorded as a ``remote-cue`` event), pacer settings as ``{"type": "remote-pacer", ...}``.

Threads: the main thread runs the strap's loop (session time for a simulated strap); the relay link runs
on a real-time loop of its own (:class:`~somafeedback.remote.loop_thread.LoopThread`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Final

from .options import library_folder, strap_source
from .remote_login import (
    EXIT_PAIRING_FAILED, EXIT_RELAY_FAILED, relay_auth, relay_failure, say,
)
from .running import EXIT_NO_STRAP, EXIT_OK, EXIT_RECORDING_FAILED, no_strap_text, require_adapter, run_loop

FROM_PRACTITIONER: Final = "from your practitioner: "
_LINK_WORDS: Final = {
    "lost": "your link to the relay dropped: your strap and your recording go on, and what your practitioner "
            "missed follows when it is back",
    "back": "your link to the relay is back: sending what was held",
}
_VIEW_WORDS: Final = {  # what the client reads for each change to the exercise shown (a show names it)
    "pause": "the exercise is paused for now",
    "resume": "the exercise goes on, whenever you are ready",
    "clear": "the exercise is closed",
}


def exercise_titles() -> dict[str, str]:
    """The exercises' titles by id, to name a cue (empty when the library cannot be read)."""
    from somafeedback.regulation.exercises import ExerciseError, load_exercises

    try:
        return {exercise_id: exercise.title for exercise_id, exercise in load_exercises().items()}
    except ExerciseError:
        return {}


def shown_down(message: Any, titles: dict[str, str], host_ns: int, wall_time: float) -> tuple[dict[str, Any], str, Any] | None:
    """What the client sees of a down ``Cue`` or ``PacerSettings``: (the JSON line, its text, the
    ``remote-cue`` event to record or None); None for data this version cannot read."""
    from somafeedback.remote.downlink import client_view_command, pacer_settings, received_event
    from somafeedback.remote.messages import Cue

    if isinstance(message, Cue):
        command = client_view_command(message)
        if command is None:
            return None
        if command.action == "show":
            words = command.text or titles.get(command.exercise or "", command.exercise or "")
            words += " (an invitation: you can always say not now)"
        elif command.action == "step":
            words = f"step {command.step} of the exercise"
        else:
            words = _VIEW_WORDS[command.action]
        text = FROM_PRACTITIONER + words
        line: dict[str, Any] = {"type": "remote-cue", "action": command.action, "exercise": command.exercise, "text": text,
                "step": command.step}
        return line, text, received_event(command, host_ns, wall_time)
    readable, breath = pacer_settings(message)
    if not readable:
        return None
    if breath is None:
        return {"type": "remote-pacer", "running": False}, FROM_PRACTITIONER + "the breathing pacer stops", None
    line = {"type": "remote-pacer", "running": True, "inhale_s": breath.inhale_s, "exhale_s": breath.exhale_s,
            "hold_in_s": breath.hold_in_s, "hold_out_s": breath.hold_out_s}
    return line, (FROM_PRACTITIONER + f"a breathing pacer, if you like: in {breath.inhale_s:g} s, "
                  f"out {breath.exhale_s:g} s"), None


async def choose_level(client: Any, chosen: Any) -> Any:
    """The level the client shares (on the relay loop): ``chosen``, or what the practitioner asked for."""
    if chosen is not None:
        client.choose(chosen)
    return client.consent.level


async def confirm(client: Any) -> None:
    """The client confirms the level shown (on the relay loop)."""
    client.confirm()


class _LocalEvents:
    """The client's own session events (consent, remote link, cues received), held until the recording
    starts (strap loop)."""

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


def _shared(level: Any, client: Any) -> Any:
    """What the client's strap feeds besides the printer (on the strap's loop): the session's client, and
    at ``state`` or ``metrics`` the client's own analysis, whose results are what is sent."""
    from somafeedback.live.remote_share import SharedAnalysis
    from somafeedback.live.sinks import FanOut
    from somafeedback.remote.derived import DERIVED_LEVELS

    return FanOut(client, SharedAnalysis(client.submit)) if level in DERIVED_LEVELS else client


def dyad_person_source(source: Any, person: str | None, speed: Any) -> Any:
    """``source`` simulating only ``person`` of its dyad scenario (``--person``); exits with a message when
    there is no dyad to take the person from, or when ``speed`` is not real time (the practitioner's
    computer simulates the other person in real time)."""
    if person is None:
        return source
    if source.simulate is None:
        raise SystemExit("somafeedback remote join: --person needs --simulate with a dyad scenario (e.g. dyad-in-phase)")
    if speed != 1.0:
        raise SystemExit("somafeedback remote join: --person runs in real time (your practitioner's computer "
                         "simulates the other person in real time): leave out --speed")
    from dataclasses import replace

    from somafeedback.devices.simulator.dyad import ScenarioError, person_index

    try:
        person_index(source.simulate, person)
    except ScenarioError as error:
        raise SystemExit(f"somafeedback remote join: {error}") from None
    return replace(source, person=person)


def run_join(args: argparse.Namespace) -> int:
    import asyncio

    from somafeedback.live.sinks import FanOut
    from somafeedback.live.sources import NoStrapFound, RecordingFailed, record_straps
    from somafeedback.live.stream_printer import StreamPrinter
    from somafeedback.devices.events import SourceEvent, TimelineEvent
    from somafeedback.remote.codes import PairingError
    from somafeedback.remote.consent import DESCRIPTIONS, LINK_EVENT, SharingLevel
    from somafeedback.remote.errors import RelayError
    from somafeedback.remote.loop_thread import LoopThread
    from somafeedback.remote.messages import Cue, Message, PacerSettings, SessionEnded
    from somafeedback.remote.session import RemoteClient
    from somafeedback.remote.transport import RelayLink, shown_url

    chosen = None if args.share is None else SharingLevel(args.share)  # None: what the practitioner asks for
    auth = relay_auth(args, "remote join")
    titles = exercise_titles()
    if args.simulate is None and not args.address:
        raise SystemExit("somafeedback remote join: name your strap (--address ADDR) or use --simulate")
    source = dyad_person_source(strap_source(args), args.person, args.speed)
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
        unreadable: list[Message] = []  # cues and pacer settings this version cannot read: shown nowhere, counted
        local = _LocalEvents()

        def record(event: SourceEvent) -> None:  # on the relay loop: the client's consent and link events
            loop.call_soon_threadsafe(local.event, event)
            if isinstance(event, TimelineEvent) and event.kind == LINK_EVENT:
                state = event.data.get("state")
                loop.call_soon_threadsafe(say, args.json, {"type": LINK_EVENT, "state": state}, _LINK_WORDS.get(str(state), ""))

        def on_writer(writer: Any) -> None:  # on the strap loop, before streaming starts
            recorders.append(writer)
            local.attach(writer)

        def stop_streaming(reason: str) -> None:  # on the strap's loop
            ended_by.append(reason)
            if streaming:
                task.cancel(reason)

        clock = LoopClock(loop)

        def show_down(message: Cue | PacerSettings) -> None:  # on the strap loop: printed, a cue recorded
            shown = shown_down(message, titles, clock.now_ns(), clock.wall_time())
            if shown is None:
                unreadable.append(message)
                return
            line, text, event = shown
            say(args.json, line, text)
            if event is not None:
                local.event(event)

        def on_down(message: Message) -> None:  # on the relay loop
            if isinstance(message, SessionEnded):
                loop.call_soon_threadsafe(stop_streaming, message.reason)
            elif isinstance(message, (Cue, PacerSettings)):
                loop.call_soon_threadsafe(show_down, message)

        async def connect() -> RemoteClient:
            client = RemoteClient(await RelayLink.connect(args.relay, auth), record=record, on_down=on_down, clock=clock)
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
            print(no_strap_text(error), file=sys.stderr)
            return EXIT_NO_STRAP
        except (PairingError, RelayError) as error:
            text = relay_failure(error, args) if isinstance(error, RelayError) else str(error)
            say(False, {}, f"somafeedback remote join: {text}", error=True)
            return EXIT_RELAY_FAILED if isinstance(error, RelayError) else EXIT_PAIRING_FAILED
        assert client.keys is not None
        say(args.json, {"type": "paired", "confirmation": client.keys.confirmation},
            f"paired: your practitioner should see the words “{client.keys.confirmation}”")
        level = await relay_loop.run(choose_level(client, chosen))
        asked = client.requested or level
        say(args.json, {"type": "consent", "level": str(level), "shares": DESCRIPTIONS[level], "asked": str(asked)},
            f"your practitioner asks for: {DESCRIPTIONS[asked]}\n" + ("you are sharing this" if level == asked else
                                                                     f"you are sharing: {DESCRIPTIONS[level]}")
            + " (Ctrl-C stops sharing at any time)")
        await relay_loop.run(confirm(client))  # sharing starts: everything before this was control only
        reason, code = "the client ended the session", EXIT_OK
        recorders: list[Any] = []  # the guarded writer, kept also when the practitioner's end cancels the recording
        streaming.append(True)
        try:
            await record_straps(source, FanOut(printer, _shared(level, client)), args.duration, library_folder(args), manifest,
                                on_writer=on_writer)
        except asyncio.CancelledError:
            streaming.clear()
            if not ended_by:
                raise
            task.uncancel()
            reason = f"the practitioner ended the session ({ended_by[0]})"
        except NoStrapFound as error:
            print(no_strap_text(error), file=sys.stderr)
            code, reason = EXIT_NO_STRAP, "no strap found"
        except RecordingFailed as error:
            say(False, {}, f"somafeedback remote join: {error}", error=True)
            code, reason = EXIT_RECORDING_FAILED, "the recording failed"
        finally:
            streaming.clear()
            delivered = await relay_loop.run(client.end(reason))
            await relay_loop.run(client.link.close())
        printer.flush()
        sent = sum(client.stats.sent.values())
        saved = str(recorders[0].path) if recorders and recorders[0].path.exists() else None
        say(args.json, {"type": "ended", "reason": reason, "sent": sent, "delivered": delivered, "saved": saved,
                        "unreadable": len(unreadable)},
            f"session ended ({reason}): {sent} messages sent" + ("" if delivered else ", some could not reach the relay")
            + (f"; saved {saved}" if saved else ""))
        return code

    try:
        return run_loop(main, args.speed, source.simulate is not None)
    finally:
        relay_loop.stop()
