"""A practitioner's Engine hosting a remote session in a process of its own, for the tests that kill it
mid-session (a crash, as SIGKILL makes it: nothing of the engine runs after it, no state is cleaned up).

``python tests/remote_engine_process.py RELAY_URL LIBRARY`` prints one JSON line per ``remote-code``,
``remote-paired`` and ``recording`` event and per beat of the client's strap, until it is killed.
:func:`crash_mid_session` runs it with a client (``remote join``) and kills it.

Why a process of its own: an engine in the test's process cannot be stopped without running its cleanup
(that is what ``stop`` is for), and a test-only "stop without ending" method would test a path no crash takes.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

from process_lines import LinePrinter
from remote_cli import WAIT_S, remote_command

from somafeedback.devices.events import Beat, TimelineEvent
from somafeedback.live.engine import Engine, EngineOptions, EngineSource, StrapOutput

POLL_S = 0.02  # s between two drains (a poll interval)
BEATS_AFTER_SAVE = 5  # beats the engine shows after a saved position, before it is killed


def _saved_with_recording(folder: Path) -> Path:
    """The one saved state, once it names its recording and is past the start (bounded)."""
    from somafeedback.remote.host_state import load_state

    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        for path in folder.glob("*.json"):
            state = load_state(path)
            if state.recording and state.up_position > 0:
                return path
        time.sleep(0.05)  # a poll interval
    raise AssertionError("no saved session state with a recording and a position")


def crash_mid_session(relay_url: str, library: Path, client_folder: Path, processes: list[LinePrinter]) -> Path:
    """Host a remote session in an engine process, a ``remote join`` client (simulated strap at speed 5, long
    duration) streaming into it, then SIGKILL the engine mid-recording. The saved state's path (in the
    data folder of ``XDG_DATA_HOME``); the client is ``processes[-1]`` (both are added to ``processes``)."""
    from somafeedback.remote.host_state import state_folder

    first = LinePrinter([sys.executable, __file__, relay_url, str(library)])
    processes.append(first)
    line = first.wait_for(lambda text: '"remote-code"' in text, WAIT_S)
    assert line is not None, first.finish(5)
    join = LinePrinter(remote_command("join", json.loads(line)["code"], "--relay", relay_url, "--simulate", "calm",
                                      "--speed", "5", "--duration", "300", "--json", "--recordings", str(client_folder)))
    processes.append(join)
    assert first.wait_for(lambda text: '"beat"' in text, WAIT_S) is not None, first.finish(5)
    saved = _saved_with_recording(state_folder())
    for _ in range(BEATS_AFTER_SAVE):  # more than was saved: killed in the middle of recording
        assert first.wait_for(lambda text: '"beat"' in text, WAIT_S) is not None, first.finish(5)
    first.process.send_signal(signal.SIGKILL)
    assert first.finish(WAIT_S)[0] == -signal.SIGKILL
    return saved


def main(relay_url: str, library: str) -> None:
    engine = Engine(EngineSource(remote_relay=relay_url), EngineOptions(record_to=Path(library)))
    engine.start()
    while not engine.finished.is_set():
        for item in engine.drain():
            if isinstance(item, TimelineEvent) and item.kind in ("remote-code", "remote-paired", "recording"):
                print(json.dumps({"type": item.kind, **item.data}), flush=True)
            elif isinstance(item, StrapOutput) and isinstance(item.output, Beat):
                print(json.dumps({"type": "beat", "t_s": item.output.t_s}), flush=True)
        time.sleep(POLL_S)


if __name__ == "__main__":
    main(*sys.argv[1:3])
