"""The remote dyad (issue #18): the client's strap through the relay and the practitioner's own strap, one timeline.

A real Engine hosts a remote session (its remote source on a real nats-server, the ``relay`` fixture) and
simulates the practitioner person of a dyad scenario on this computer (strap2); the client is the real
``somafeedback remote join`` command in a subprocess simulating the client person of the same scenario
(strap1, through the relay). Both people's simulated hearts read the shared coupling at the same dyad
time, the client's session clock, which the practitioner's engine runs on once the clock offset is measured.

Real time (``--speed 1``) on both sides, and it has to be: the two simulated people are on two computers
(here two processes) whose clocks only an NTP-style exchange over the relay lines up. The client's session
clock could run faster (a SessionEventLoop), but the practitioner's engine runs on a real-time loop in a
remote session (the relay, its timeouts and the clock checks are in wall time), and the offset between
the two is one number, not a rate: a client clock running at 10x would leave the practitioner's simulated
person further behind with every second. So the test keeps the run short instead: ``dyad-remote-short``
couples the two people from its first seconds, and about 100 s of it suffice.

Both straps are simulated Polar H10s (the default): their beats are timed by the ECG, whose frames carry
the strap's own clock (mapped by its lower envelope, ``devices/device_clock.py``). A plain heart-rate
strap's beats are anchored at the arrival of the first packet that carries them (``devices/beat_timing.py``):
up to one notification period (1 s) late, differently for each strap, which alone can move a measured lag
between two such straps by up to ±1 s, whatever the clocks' alignment.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from process_lines import LinePrinter
from remote_cli import WAIT_S, remote_command
from test_remote_engine_host import drain_until, event

from somafeedback.devices.events import Notification, TimelineEvent
from somafeedback.devices.simulator.dyad import dyad_truth
from somafeedback.live.engine import Engine, EngineItem, EngineOptions, EngineSource
from somafeedback.sessions.analysis import session_series
from somafeedback.sessions.file import read_session
from somafeedback.synchrony.beats import Beats
from somafeedback.synchrony.dyad import analyse_dyad

SCENARIO = "dyad-remote-short"
CLIENT_DURATION_S = 115  # s of the client's session clock: about 100 s of both people once paired
LAG_TOLERANCE_S = 0.5


def beats_of(path: Path, strap: str, start_s: float, end_s: float) -> Beats:
    """One strap's accepted-and-flagged beats of the recording between ``start_s`` and ``end_s`` (dyad time, s)."""
    series = session_series(path, strap)
    assert series.strap_id == strap
    keep = (series.beat_times_s >= start_s) & (series.beat_times_s <= end_s)
    return Beats(series.beat_times_s[keep], series.rr_ms[keep], series.flagged[keep])


def test_the_client_through_the_relay_and_the_practitioners_strap_share_one_timeline(relay, tmp_path: Path) -> None:
    engine = Engine(EngineSource(remote_relay=relay.url, simulate=SCENARIO),
                    EngineOptions(record_to=tmp_path / "library"))
    engine.start()
    join: LinePrinter | None = None
    seen: list[EngineItem] = []
    try:
        code = drain_until(engine, seen, event("remote-code"))
        join = LinePrinter(remote_command("join", code.data["code"], "--relay", relay.url, "--simulate", SCENARIO,
                                          "--person", "client", "--speed", "1",
                                          "--duration", str(CLIENT_DURATION_S), "--json",
                                          "--recordings", str(tmp_path / "client")))
        drain_until(engine, seen, event("remote-paired"))
        code_, lines, err = join.finish(CLIENT_DURATION_S + 2 * WAIT_S)
        assert code_ == 0 and any('"ended"' in line for line in lines), err
        deadline = time.monotonic() + WAIT_S  # the client ended the session: the engine closes the recording
        while not engine.finished.is_set() and time.monotonic() < deadline:
            seen.extend(engine.drain())
            time.sleep(0.05)  # a poll interval, not a guess at how long anything takes
        assert engine.finished.is_set() and engine.error is None, engine.error
    finally:
        engine.stop(timeout_s=WAIT_S)
        if join is not None and join.process.poll() is None:
            join.process.kill()
            join.finish(5)

    assert engine.recording is not None
    recorded = read_session(engine.recording)
    notifications = [n for n in recorded.timeline if isinstance(n, Notification)]
    client = [n.host_ns for n in notifications if n.strap_id == "strap1"]
    own = [n.host_ns for n in notifications if n.strap_id == "strap2"]
    assert client and own, "the recording holds the client's strap1 (through the relay) and the practitioner's strap2"
    assert not any(n.strap_id not in ("strap1", "strap2") for n in notifications)
    # one timeline: the engine moved onto the client's clock once, and the practitioner's strap started after
    (timebase,) = [e for e in recorded.timeline if isinstance(e, TimelineEvent) and e.kind == "remote-timebase"]
    assert timebase.host_ns <= min(own)
    # both on the client's session clock (seconds from 0), whichever strap's data came first
    assert abs(min(own) - min(client)) < 10e9 and abs(max(own) - max(client)) < 10e9
    assert max(client) < (CLIENT_DURATION_S + 5) * 1e9

    # both people read the coupling at the same dyad time: the injected lag is recovered where it is coupled
    (span,) = dyad_truth(SCENARIO)
    start_s, end_s = max(span.full_start_s, min(own) / 1e9), min(span.full_end_s, max(own) / 1e9, max(client) / 1e9)
    assert end_s - start_s > 60, "about a minute and a half of both people's beats"
    practitioner = beats_of(engine.recording, "strap2", start_s, end_s)  # A: the practitioner
    client_beats = beats_of(engine.recording, "strap1", start_s, end_s)  # B: the client
    summary = analyse_dyad(practitioner, client_beats, slow=False)["summary"]
    truth = span.lag_from("practitioner")  # > 0: the client follows the practitioner
    assert truth > 0
    assert summary["windows_above_chance"] >= 3, summary
    assert abs(summary["lag_s"] - truth) <= LAG_TOLERANCE_S, (summary, truth)
    assert summary["in_phase_share_of_above_chance"] > 0.5, summary  # in-phase, as injected
    assert np.isfinite(summary["effect_size"]) and summary["effect_size"] > 0

    # the client's own recording holds the client's strap only (the join simulated one person of the dyad)
    (client_file,) = (tmp_path / "client").rglob("*.session.sqlite")
    client_side = read_session(client_file)
    assert {n.strap_id for n in client_side.timeline if isinstance(n, Notification)} == {"strap1"}


def test_a_person_without_a_dyad_is_refused_in_words(tmp_path: Path) -> None:
    join = LinePrinter(remote_command("join", "7-amber-harbor", "--relay", "nats://127.0.0.1:1", "--simulate", "calm",
                                      "--person", "client", "--recordings", str(tmp_path)))
    code_, _, err = join.finish(WAIT_S)
    assert code_ != 0 and "not a dyad scenario" in err and "Traceback" not in err
