"""Recording and replay: the golden round trip, pacing, pause and seek, and the CLI."""

from __future__ import annotations

import asyncio
import json
import math
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from recording_helpers import AnalysisCollector, record_simulated
from session_helpers import run_in_session_time

from somafeedback.devices.events import Beat, GapEvent, LinkEvent, Notification, TimelineEvent
from somafeedback.devices.replay import ReplaySource, recorded_ns
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.sessions.file import COMMIT_INTERVAL_S, read_session


def _replayed(path: Path, speed: float = math.inf) -> AnalysisCollector:
    session = read_session(path)
    collector = AnalysisCollector()

    async def main() -> None:
        await ReplaySource(session.timeline, collector, speed=speed).run()

    run_in_session_time(main)
    return collector


def test_golden_round_trip_replay_gives_the_live_beats_and_every_metric(tmp_path: Path) -> None:
    live = AnalysisCollector()
    path = record_simulated(tmp_path / "golden.session.sqlite", "dropout", 480.0, also=live,
                            markers=[(30.0, "marker", {"label": "resource"}), (200.0, "note", {"text": "settling"})])
    replay = _replayed(path)
    assert len(live.outputs) > 900
    assert replay.outputs == live.outputs  # beats, contact changes and every metric set, identical
    beats = [o for _, o in live.outputs if isinstance(o, Beat)]
    metrics = [o for _, o in live.outputs if isinstance(o, BeatMetrics)]
    assert len(beats) > 450 and len(metrics) > len(beats)  # + one metric set per loss and gap
    assert any(not m.time.validity.valid for m in metrics) and any(m.time.validity.valid for m in metrics)


def test_recording_keeps_every_byte_events_and_markers_in_order(tmp_path: Path) -> None:
    received: list[Notification] = []

    class Keep:
        def notification(self, notification: Notification) -> None:
            received.append(notification)

        def event(self, event: object) -> None:
            pass

    path = record_simulated(tmp_path / "s.session.sqlite", "dropout", 480.0, also=Keep(),
                            markers=[(30.0, "marker", {"label": "resource"})])
    session = read_session(path)
    assert session.notifications == received  # every notification, byte for byte, with its stamps
    kinds = [type(e).__name__ if not isinstance(e, TimelineEvent) else e.kind for e in session.events]
    assert kinds.count("marker") == 1 and "GapEvent" in kinds and "LinkEvent" in kinds and "StrapInfo" in kinds
    stamps = [recorded_ns(item) for item in session.timeline]
    assert stamps == sorted(stamps)  # one timeline, in the order things happened
    assert not session.ended_unexpectedly and session.manifest["end_reason"] == "duration reached"
    assert session.manifest["devices"][0]["strap_id"] == "strap1"
    assert session.duration_s == pytest.approx(480.0, abs=0.1)


def test_files_are_private_and_never_overwritten(tmp_path: Path) -> None:
    path = record_simulated(tmp_path / "p.session.sqlite", "calm", 30.0)
    for candidate in tmp_path.iterdir():
        assert stat.S_IMODE(candidate.stat().st_mode) == 0o600, candidate
    with pytest.raises(FileExistsError):
        record_simulated(path, "calm", 5.0)


def test_replay_paces_by_the_recorded_times_times_the_speed(tmp_path: Path) -> None:
    path = record_simulated(tmp_path / "pace.session.sqlite", "calm", 40.0)
    session = read_session(path)
    seen: list[tuple[float, int]] = []

    class Clocked:
        def notification(self, notification: Notification) -> None:
            seen.append((asyncio.get_running_loop().time(), notification.host_ns))

        def event(self, event: object) -> None:
            pass

    async def main() -> None:
        await ReplaySource(session.timeline, Clocked(), speed=4.0).run()

    run_in_session_time(main)
    (t0, n0), (t1, n1) = seen[0], seen[-1]
    assert t1 - t0 == pytest.approx((n1 - n0) / 1e9 / 4.0, abs=1e-6)


def test_pause_resume_and_seek(tmp_path: Path) -> None:
    path = record_simulated(tmp_path / "seek.session.sqlite", "calm", 120.0)
    session = read_session(path)
    collector = AnalysisCollector()
    log: list[object] = []

    class Both(AnalysisCollector):
        def notification(self, notification: Notification) -> None:
            log.append(notification)
            collector.notification(notification)

        def event(self, event: object) -> None:
            log.append(event)
            collector.event(event)  # type: ignore[arg-type]

    async def main() -> tuple[int, int]:
        player = ReplaySource(session.timeline, Both(), speed=1.0)
        task = asyncio.create_task(player.run())
        await asyncio.sleep(10.0)
        player.pause()
        during_pause = player.delivered
        await asyncio.sleep(30.0)
        assert player.delivered == during_pause  # nothing plays while paused
        player.seek(player.start_ns + 90_000_000_000)
        player.resume()
        await task
        return during_pause, player.delivered

    paused_at, total = run_in_session_time(main)
    assert 0 < paused_at < total < len(session.timeline)  # the middle was skipped
    seeks = [e for e in log if isinstance(e, TimelineEvent) and e.kind == "seek"]
    assert len(seeks) == 1
    after = [n.host_ns for n in log[log.index(seeks[0]) + 1:] if isinstance(n, Notification)]
    assert after and min(after) >= seeks[0].host_ns
    beats_after = [o for _, o in collector.outputs if isinstance(o, Beat) and o.arrival_ns > seeks[0].host_ns]
    assert beats_after and beats_after[0].segment == 0  # decoding started afresh after the seek


def test_record_replay_sessions_cli(tmp_path: Path) -> None:
    library = tmp_path / "library"
    base = [sys.executable, "-m", "somafeedback.cli"]
    recorded = subprocess.run(base + ["record", "--simulate", "activation", "--speed", "max", "--duration", "300",
                                      "--client", "Client B", "--tag", "week1", "--recordings", str(library), "--json"],
                              capture_output=True, text=True, timeout=120)
    assert recorded.returncode == 0, recorded.stderr
    saved = json.loads(recorded.stdout.splitlines()[-1])
    assert saved["type"] == "saved" and saved["notifications"] > 250
    listed = subprocess.run(base + ["sessions", "--recordings", str(library), "--json", "--client", "client b"],
                            capture_output=True, text=True, timeout=60)
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(rows) == 1 and rows[0]["tags"] == ["week1"] and rows[0]["status"] == "complete"
    assert rows[0]["duration_s"] == pytest.approx(300.0, abs=1.0)
    replayed = subprocess.run(base + ["replay", rows[0]["id"][:8], "--recordings", str(library), "--speed", "max",
                                      "--json", "--metrics"], capture_output=True, text=True, timeout=120)
    assert replayed.returncode == 0, replayed.stderr
    records = [json.loads(line) for line in replayed.stdout.splitlines()]
    assert sum(r["type"] == "beat" for r in records) > 250 and any(r["type"] == "metrics" and r["time_valid"] for r in records)
    analyzed = subprocess.run(base + ["analyze", saved["path"], "--json"], capture_output=True, text=True, timeout=60)
    summary = json.loads(analyzed.stdout)
    # one session, one beat series (#22): analyze measures the beats the replay measured (its metric sets)
    assert summary["n_beats"] == sum(r["type"] == "metrics" and r.get("rr_ms") is not None for r in records)
    for action in (["tag", rows[0]["id"], "reviewed"], ["delete", rows[0]["id"]]):
        done = subprocess.run(base + ["sessions", "--recordings", str(library), *action], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert not list(library.glob("*.session.sqlite*"))


def test_sigkill_during_recording_loses_at_most_a_second(tmp_path: Path) -> None:
    library = tmp_path / "library"
    printed: list[dict] = []
    with subprocess.Popen(
        [sys.executable, "-m", "somafeedback.cli", "record", "--simulate", "calm", "--duration", "120", "--beats",
         "--json", "--recordings", str(library)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as process:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            printed.append(json.loads(line))
            if sum(r["type"] == "beat" for r in printed) >= 6:  # real time: about 6 s of session
                break
        process.kill()  # SIGKILL: no chance to close anything
        process.wait(timeout=10)
    assert process.returncode == -9
    (path,) = library.glob("*.session.sqlite")
    session = read_session(path)
    assert session.ended_unexpectedly
    beats = [o for _, o in _replayed(path).outputs if isinstance(o, Beat)]
    assert beats, "the committed part of the session must read back"
    # Every printed beat's notification was written before it was printed, and the writer commits at
    # the first write (or timer tick) once half a second of session time has passed since its last
    # commit: so what was committed reaches to within half a second, plus the spacing of the strap's
    # notifications, of the newest notification printed, however busy the computer was. (A beat's own
    # time lags its notification by the ECG detection, so notifications are compared, not beats.)
    arrivals = sorted(n.host_ns / 1e9 for n in session.notifications)
    last_printed_arrival_s = max(r["arrival_s"] for r in printed if r["type"] == "beat")
    spacing_s = max(b - a for a, b in zip(arrivals, arrivals[1:]))
    assert last_printed_arrival_s - arrivals[-1] <= COMMIT_INTERVAL_S + spacing_s + 1e-3
    listed = subprocess.run([sys.executable, "-m", "somafeedback.cli", "sessions", "--json", "--recordings", str(library)],
                            capture_output=True, text=True)
    assert json.loads(listed.stdout)["status"] == "ended unexpectedly"


def test_gap_and_link_events_survive_the_round_trip_with_their_types(tmp_path: Path) -> None:
    path = record_simulated(tmp_path / "types.session.sqlite", "dropout", 480.0)
    events = read_session(path).events
    gap = next(e for e in events if isinstance(e, GapEvent))
    assert gap.duration_s == pytest.approx(8.1, abs=0.5)
    states = [str(e.state) for e in events if isinstance(e, LinkEvent)]
    assert states[:2] == ["connecting", "streaming"] and "lost" in states and states[-1] == "stopped"


def test_environment_variable_chooses_the_library(tmp_path: Path) -> None:
    env = {**os.environ, "SOMAFEEDBACK_RECORDINGS": str(tmp_path / "elsewhere")}
    done = subprocess.run([sys.executable, "-m", "somafeedback.cli", "record", "--simulate", "calm", "--speed", "max",
                           "--duration", "20"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "elsewhere").glob("*.session.sqlite"))) == 1


def test_kubios_export_reimported_gives_identical_rr(tmp_path: Path) -> None:
    from somafeedback.interop.export import export_session
    from somafeedback.interop.importer import import_file
    from somafeedback.sessions.beats import decode_beats

    path = record_simulated(tmp_path / "k.session.sqlite", "artifacts", 300.0)
    original = decode_beats(read_session(path).timeline)["strap1"]
    (exported,) = export_session(read_session(path), "kubios", tmp_path / "out")
    reimported = import_file(exported, tmp_path / "library")
    again = decode_beats(read_session(reimported).timeline)["strap1"]
    assert [b.rr_1024 for b in again.beats] == [b.rr_1024 for b in original.beats]
    assert len(again.beats) > 250 and any(original.flagged)  # artifacts included, as recorded
