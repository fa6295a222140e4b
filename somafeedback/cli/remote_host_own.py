"""``remote host --address ADDR`` / ``--simulate DYAD [--person practitioner]``: the practitioner wears a strap too.

The session runs on the app's engine (:class:`~somafeedback.live.engine.Engine` with a remote source and a
local strap, see :mod:`somafeedback.live.remote_local_straps`): the client's strap arrives through the
relay as ``strap1``, the practitioner's own strap (a real one at ADDR, or the practitioner person of a
dyad scenario) runs on this computer as ``strap2`` once the clocks are lined up, both in the
practitioner's one recording. The engine's synchrony stage pairs them: ``--json`` prints each window as
``{"type": "synchrony", ...}`` (:meth:`~somafeedback.synchrony.pair_window.PairWindow.row`), beside the
lines plain ``remote host`` prints (code, paired, metrics, events, saved).

Thread: the main thread, which drains the engine (its own thread runs the session).
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Final

from .options import library_folder
from .remote_login import EXIT_PAIRING_FAILED, EXIT_RELAY_FAILED, relay_auth, say
from .running import EXIT_INTERRUPTED, EXIT_OK, EXIT_RECORDING_FAILED, EXIT_USAGE

POLL_S: Final = 0.1  # s between two drains of the engine
STOP_TIMEOUT_S: Final = 15.0  # s for the engine to end the session and close the recording


def own_strap_asked(args: argparse.Namespace) -> bool:
    """Whether ``remote host`` was given the practitioner's own strap (``--address`` or ``--simulate``)."""
    return bool(args.address) or args.simulate is not None


def _refusal(args: argparse.Namespace) -> str | None:
    """What cannot be done with the practitioner's own strap, in words (None: all is well)."""
    if args.address and args.simulate is not None:
        return "give either --address (your strap) or --simulate (a simulated one), not both"
    if args.rejoin is not None:
        return "--rejoin does not take your own strap yet: rejoin without --address or --simulate"
    if args.ask != "raw":
        return "with your own strap the client is asked for everything from their strap (--ask raw)"
    from somafeedback.devices.simulator.dyad import ScenarioError, is_dyad, person_index

    if args.person is not None and args.simulate is None:
        return "--person needs --simulate and a dyad scenario"
    try:
        if args.person is not None:
            person_index(args.simulate, args.person)
        elif args.simulate is not None:
            is_dyad(args.simulate)  # the scenario can be read
    except ScenarioError as error:
        return str(error)
    return None


def run_host_own(args: argparse.Namespace) -> int:
    """``remote host`` with the practitioner's own strap (see the module docstring); the exit code."""
    from somafeedback.live.engine import Engine, EngineOptions, EngineSource

    from .remote_host import host_manifest

    refused = _refusal(args)
    if refused is not None:
        say(False, {}, f"somafeedback remote host: {refused}", error=True)
        return EXIT_USAGE
    source = EngineSource(remote_relay=args.relay, remote_auth=relay_auth(args, "remote host"), simulate=args.simulate,
                          addresses=tuple(args.address))
    own = {"kind": "simulated", "scenario": args.simulate} if args.simulate else {"kind": "strap", "address": args.address[0]}
    engine = Engine(source, EngineOptions(mode="practitioner", method=args.method, auto_approve=args.auto_approve,
                                          record_to=library_folder(args),
                                          manifest=host_manifest(args, practitioner_strap=own)))
    follow = _Follow(args)
    engine.start()
    try:
        while not engine.finished.is_set() and follow.exit_code is None:
            for item in engine.drain():
                follow.take(item)
            if follow.paired_at is not None and args.duration is not None \
                    and time.monotonic() - follow.paired_at >= args.duration:
                follow.reason = "duration reached"
                break
            time.sleep(POLL_S)  # a poll interval: the engine's thread runs the session
    except KeyboardInterrupt:
        follow.reason = "interrupted"
    finally:
        engine.stop(timeout_s=STOP_TIMEOUT_S)
        for item in engine.drain():
            follow.take(item)
        follow.printer.flush()
    if follow.exit_code is not None:
        return follow.exit_code
    if engine.error is not None:
        say(False, {}, f"somafeedback remote host: the session stopped: {engine.error}", error=True)
        return EXIT_RECORDING_FAILED
    say(args.json, {"type": "saved", "path": str(engine.recording) if engine.recording else None,
                    "end_reason": follow.reason, "synchrony_windows": follow.windows},
        f"saved {engine.recording} (ended: {follow.reason}; {follow.windows} synchrony windows of you and your client)")
    return EXIT_INTERRUPTED if follow.reason == "interrupted" else EXIT_OK


class _Follow:
    """Prints what the engine reports and notes how the session goes (main thread)."""

    def __init__(self, args: argparse.Namespace) -> None:
        from somafeedback.live.stream_printer import StreamPrinter

        self.args = args
        self.printer = StreamPrinter(json_lines=args.json, metrics=True, beats=False, label_straps=True)
        self.paired_at: float | None = None
        self.reason = "interrupted"
        self.exit_code: int | None = None
        self.windows = 0

    def take(self, item: Any) -> None:
        from somafeedback.devices.events import TimelineEvent
        from somafeedback.live.engine import StrapOutput
        from somafeedback.synchrony.pair_window import PairWindow

        if isinstance(item, PairWindow):
            self.windows += 1
            say(self.args.json, {"type": "synchrony", **item.row()}, f"synchrony  {item.text()}")
        elif isinstance(item, StrapOutput):
            self.printer.output(item.strap_id, item.output)
        elif isinstance(item, TimelineEvent) and item.kind.startswith("remote-"):
            self._remote(item)
        else:
            self.printer.event(item)

    def _remote(self, event: Any) -> None:
        data, json_lines = event.data, self.args.json
        if event.kind == "remote-code":
            say(json_lines, {"type": "code", "code": data.get("code"), "asks": self.args.ask},
                f"give the client this code: {data.get('code')} (valid {float(data.get('valid_s', 600)) / 60:.0f} min, once)")
        elif event.kind == "remote-paired":
            self.paired_at = time.monotonic()
            say(json_lines, {"type": "paired", "confirmation": data.get("confirmation")},
                f"paired: ask the client whether they see the words “{data.get('confirmation')}”")
        elif event.kind == "remote-failed":
            say(False, {}, f"somafeedback remote host: {data.get('text')}", error=True)
            if self.paired_at is None:
                self.reason = "pairing failed"
                self.exit_code = EXIT_RELAY_FAILED if data.get("fatal") else EXIT_PAIRING_FAILED
        elif event.kind == "remote-ended":
            self.reason = str(data.get("reason"))
        else:
            self.printer.event(event)
