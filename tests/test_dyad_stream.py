"""A dyad scenario over the simulated radio: two straps, strap1 the client and strap2 the practitioner."""

from __future__ import annotations

import json
import subprocess
import sys

from somafeedback.devices.simulator.dyad import load_dyad
from somafeedback.devices.simulator.physiology import HeartModel


def _stream(*args: str) -> list[dict]:
    result = subprocess.run([sys.executable, "-m", "somafeedback.cli", "stream", *args, "--speed", "max", "--json"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def _is_run_of(sent: list[int], generated: list[int]) -> bool:
    """``sent`` appears as one unbroken run in ``generated`` (a strap drops beats before anyone subscribes)."""
    return any(generated[k : k + len(sent)] == sent for k in range(len(generated) - len(sent) + 1))


def test_stream_a_dyad_gives_both_people_on_one_radio_with_their_roles() -> None:
    records = _stream("--simulate", "dyad-in-phase", "--duration", "40")
    straps = {r["strap"]: r for r in records if r["type"] == "strap"}
    assert set(straps) == {"strap1", "strap2"}
    rr = {s: [r["rr_1024"] for r in records if r["type"] == "beat" and r["strap"] == s and r["source"] == "strap"]
          for s in ("strap1", "strap2")}
    assert len(rr["strap1"]) >= 30 and len(rr["strap2"]) >= 30
    dyad = load_dyad("dyad-in-phase")
    client, practitioner = ([b.rr_1024 for b in HeartModel(p).beats_until(45)] for p in dyad.people())
    assert _is_run_of(rr["strap1"], client) and not _is_run_of(rr["strap1"], practitioner)
    assert _is_run_of(rr["strap2"], practitioner) and not _is_run_of(rr["strap2"], client)
