"""What the commands share when they run: the exit codes, the command's single asyncio loop,
the Bluetooth adapter check, the opt-in LSL outlets and opening a recorded session.

Thread: the main thread, which runs one asyncio loop for the command.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # asyncio and the clock are imported by the commands that run a loop, when they run it
    from somafeedback.clock import Speed

from .options import library_folder

EXIT_OK = 0
EXIT_NO_STRAP = 1
EXIT_USAGE = 2
EXIT_RECORDING_FAILED = 3  # the session file could not be written (a full disk): what was written is kept
EXIT_INTERRUPTED = 130


# Signals that end a command as cleanly as Ctrl-C: a logout or shutdown, the terminal closed, a
# service manager stopping it. Each cancels the command's main task (its recording closes as
# after Ctrl-C, the cancel message naming the signal) and the command exits with 128 + the signal.
STOP_SIGNALS: Final = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
STOP_WORDS: Final = {"SIGTERM": "the system asked it to stop (SIGTERM: logout, shutdown or a service manager)",
                     "SIGHUP": "its terminal was closed (SIGHUP)"}


def no_strap_text(error: BaseException) -> str:
    """What a command prints when no strap could be used: the error, then the help for what was seen
    (no adapter, Bluetooth off, no permission, no strap found...) with its next steps for this computer."""
    from somafeedback.devices.connection_problems import classify_error
    from somafeedback.live.connection_help import help_for

    problem = classify_error(error)
    if problem is None:
        return str(error)
    help_text = help_for(problem)
    return "\n".join([str(error), "", f"{help_text.title}: {help_text.cause}",
                      *(f"  - {step}" for step in help_text.next_steps)])


def stop_reason(signal_name: str) -> str:
    """What a recording's end reason says when ``signal_name`` ended it (in words)."""
    return f"stopped: {STOP_WORDS.get(signal_name, signal_name)}"


def run_loop(main: Callable[[], Coroutine[Any, Any, int]], speed: Speed, simulated: bool, from_zero: bool = False) -> int:
    """Run ``main`` on the command's single asyncio loop: session time for simulated sources; for
    real straps the host's monotonic clock, or (``from_zero``) real time counted from 0 at the start.

    Ctrl-C (asyncio's own handling) and :data:`STOP_SIGNALS` cancel ``main``; a stop signal then
    returns 128 + its number after ``main`` has closed what it had open.
    """
    import asyncio

    from somafeedback.clock import SessionEventLoop

    factory = (lambda: SessionEventLoop(speed)) if simulated or from_zero else None
    received: list[signal.Signals] = []

    async def guarded() -> int:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def stop(number: signal.Signals) -> None:
            received.append(number)
            task.cancel(stop_reason(number.name))

        installed = []
        for number in STOP_SIGNALS:
            try:
                loop.add_signal_handler(number, stop, number)
                installed.append(number)
            except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
                pass
        try:
            return await main()
        finally:
            for number in installed:
                loop.remove_signal_handler(number)

    with asyncio.Runner(loop_factory=factory) as runner:
        try:
            return runner.run(guarded())
        except asyncio.CancelledError:
            if not received:
                raise
    try:
        print(f"stopped: {STOP_WORDS.get(received[0].name, received[0].name)}", file=sys.stderr, flush=True)
    except OSError:  # the terminal is gone (SIGHUP)
        pass
    return 128 + int(received[0])


ADAPTER_CHECK_S = 0.2  # s of scanning that shows whether there is a usable Bluetooth adapter


async def require_adapter(source: Any) -> None:
    """For real straps given by address: raise :class:`~.live.NoStrapFound` with the same words
    as ``scan`` when there is no usable Bluetooth adapter (instead of retrying the link for ever).
    Without addresses, streaming starts with a scan, which says so by itself."""
    if source.simulate is not None or not source.addresses:
        return
    from somafeedback.live.sources import open_stack, scan

    async with open_stack(source) as (stack, _addresses):
        await scan(stack, ADAPTER_CHECK_S)


def with_lsl(args: argparse.Namespace, sink: Any) -> tuple[Any, Any]:
    """``sink`` plus LSL outlets when --lsl was given: (the sink to use, the outlets or None)."""
    if not getattr(args, "lsl", False):
        return sink, None
    from somafeedback.live.lsl_outlets import LslOutlets, LslUnavailable
    from somafeedback.live.sinks import FanOut

    try:
        outlets = LslOutlets(session_name=f"somafeedback-{os.getpid()}")
    except LslUnavailable as error:
        raise SystemExit(f"somafeedback: --lsl: {error}") from error
    print("publishing Lab Streaming Layer streams (somafeedback ...)", file=sys.stderr)
    return FanOut(sink, outlets), outlets


def closing(outlets: Any, run: Callable[[], int]) -> int:
    """Run a command and close its LSL outlets afterwards (no listening socket is left)."""
    try:
        return run()
    finally:
        if outlets is not None:
            outlets.close()


def open_session(args: argparse.Namespace, stream: bool = False) -> Any:
    """The session named on the command line (``args.session``), read back (recovering what it can).

    ``stream``: a :class:`~somafeedback.sessions.reader.SessionReader` (the caller closes it); its
    problems take one walk over the file to know."""
    from somafeedback.sessions.library import find_session
    from somafeedback.sessions.file import read_session
    from somafeedback.sessions.reader import SessionReader

    path = find_session(args.session, library_folder(args))
    session = SessionReader(path) if stream else read_session(path)
    if session.problems:
        print(f"{session.path}: damaged; recovered what could be read ({'; '.join(session.problems)})", file=sys.stderr)
    if session.ended_unexpectedly:
        print(f"{session.path}: this session ended unexpectedly (the recording was not closed)", file=sys.stderr)
    return session
