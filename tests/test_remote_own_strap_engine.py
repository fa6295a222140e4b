"""The practitioner's own strap in a remote session (issue #18), on the engine and in `remote host`.

"Connect as client" and "Scan" on an engine hosting a remote client (a real relay, the ``relay`` fixture),
before any local strap: strap1 is the client's strap through the relay, so connecting a local strap under
that id is refused in words; a scan looks with this computer's Bluetooth (here: none, said in words).
`remote host --simulate DYAD --person practitioner` runs against a real `remote join` of the dyad's client.
"""

from __future__ import annotations

import json
from pathlib import Path

from process_lines import LinePrinter
from remote_cli import WAIT_S, host_and_join, remote_command
from test_remote_engine_host import drain_until, event

from somafeedback.live.engine import Engine, EngineItem, EngineOptions, EngineSource
from somafeedback.live.remote_local_straps import CLIENT_STRAP_TEXT
from somafeedback.sessions.file import read_session

SCENARIO = "dyad-remote-short"
CLIENT_DURATION_S = 75  # s of the client's session clock: the first windows of both once paired


def test_connecting_as_the_client_is_refused_and_a_scan_answers_in_words(relay, tmp_path: Path) -> None:
    engine = Engine(EngineSource(remote_relay=relay.url), EngineOptions(record_to=tmp_path / "library"))
    engine.start()
    seen: list[EngineItem] = []
    try:
        drain_until(engine, seen, event("remote-code"))
        engine.connect("AA:BB:CC:DD:EE:FF", "strap1")  # the strap panel's "Connect as client"
        drain_until(engine, seen, event("engine-warning", text=CLIENT_STRAP_TEXT))
        engine.scan(timeout_s=0.5)  # the strap panel's "Scan": this computer's Bluetooth (none in the test box)
        answer = drain_until(engine, seen, lambda items: next(
            (i for i in items if getattr(i, "kind", None) in ("scan", "engine-warning")
             and i.data.get("text") != CLIENT_STRAP_TEXT), None), WAIT_S)
        assert "NoneType" not in str(answer.data) and "Traceback" not in str(answer.data), answer.data
    finally:
        engine.stop(timeout_s=WAIT_S)
    assert engine.error is None, engine.error


def test_remote_host_with_the_practitioners_simulated_strap_prints_synchrony(relay, tmp_path: Path) -> None:
    """`remote host --simulate DYAD --person practitioner --json` against `remote join --simulate DYAD --person
    client`: the host's recording holds strap1 (the client's) and strap2 (its own), and it prints the engine's
    synchrony windows of the pair strap2/strap1 (real time: the first window comes ~40 s after both stream)."""
    hosted, joined = host_and_join(relay.url, tmp_path, "--simulate", SCENARIO, "--person", "client", "--speed", "1",
                                   "--duration", str(CLIENT_DURATION_S), "--json",
                                   host_args=("--simulate", SCENARIO, "--person", "practitioner"))
    assert joined.code == 0, joined.err
    assert hosted.code == 0 and "Traceback" not in hosted.err, hosted.err
    records = [json.loads(line) for line in hosted.lines if line.startswith("{")]
    windows = [r for r in records if r["type"] == "synchrony"]
    assert windows and all((w["a_strap"], w["b_strap"]) == ("strap2", "strap1") for w in windows), records[-3:]
    assert all(set(w) >= {"start_s", "end_s", "r", "lag_s", "above_chance"} for w in windows)
    (saved,) = [r for r in records if r["type"] == "saved"]
    assert saved["synchrony_windows"] == len(windows)
    straps = {n.strap_id for n in read_session(Path(saved["path"])).notifications}
    assert straps == {"strap1", "strap2"}


def test_remote_host_refuses_a_person_without_a_dyad_in_words(tmp_path: Path) -> None:
    host = LinePrinter(remote_command("host", "--relay", "nats://127.0.0.1:1", "--simulate", "calm",
                                      "--person", "practitioner", "--recordings", str(tmp_path)))
    code, _, err = host.finish(WAIT_S)
    assert code == 2 and "not a dyad scenario" in err and "Traceback" not in err
