"""Running `somafeedback remote host` and `remote join` against each other, as two people would, for
the remote-session tests: the host prints its code, the join is started with it, both run to the end."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from process_lines import LinePrinter

WAIT_S = 30.0  # s any single wait may take before the test fails


@dataclass
class Finished:
    code: int
    lines: list[str]
    err: str


def remote_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "somafeedback.cli", "remote", *args]


def host_and_join(relay_url: str, folder: Path, *join_args: str, host_args: tuple[str, ...] = ()) -> tuple[Finished, Finished]:
    """`remote host --json ... host_args` recording into ``folder/host``, then `remote join CODE ... join_args`
    recording into ``folder/client``; both run to their end (bounded); (host, join) as they finished."""
    host = LinePrinter(remote_command("host", "--relay", relay_url, "--json", "--recordings", str(folder / "host"),
                                      *host_args))
    join: LinePrinter | None = None
    try:
        line = host.wait_for(lambda text: '"code"' in text, WAIT_S)
        assert line is not None, host.finish(5)
        code = json.loads(line)["code"]
        join = LinePrinter(remote_command("join", code, "--relay", relay_url, *join_args,
                                          "--recordings", str(folder / "client")))
        joined = Finished(*join.finish(4 * WAIT_S))
        hosted = Finished(*host.finish(4 * WAIT_S))
    finally:
        for process in (host, join):
            if process is not None and process.process.poll() is None:
                process.process.kill()
    return hosted, joined
