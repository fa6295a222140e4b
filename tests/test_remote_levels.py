"""Sharing at levels ``state`` and ``metrics`` (issue #17): the client's computer sends its analysis' results only.

A real nats-server on a free loopback port (the ``relay`` fixture); a simulated H10 (bumble, ECG and chest
motion) at the client in session time at max speed, the practitioner and the client each on a real-time
loop of its own. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from remote_practitioner import WAIT_S, Kept

from somafeedback.clock import LoopClock, SystemClock, run_in_session_time
from somafeedback.devices.events import Notification, SourceEvent, TimelineEvent
from somafeedback.hrv.metric_rows import metrics_row
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.live.analysis import LiveAnalysis
from somafeedback.live.remote_share import SharedAnalysis
from somafeedback.live.sinks import FanOut
from somafeedback.live.sources import StrapSource, stream_straps
from somafeedback.live.stream_printer import StreamPrinter
from somafeedback.remote.consent import (
    BREATHING_EVENT, CONSENT_EVENT, METRICS_EVENT, STATE_ONLY_FIELDS, Consent, ConsentError, SharingLevel,
)
from somafeedback.remote.loop_thread import LoopThread
from somafeedback.remote.relay import LocalRelay
from somafeedback.remote.session import RemoteClient, RemoteHost
from somafeedback.remote.transport import RelayLink
from somafeedback.sessions.file import SessionWriter, read_session

SESSION_S = 30.0  # s of simulated strap time per test
SWITCH_AT = 60  # the client changes level at this notification of its strap (about half way)


class AtNotification:
    """A StrapSink calling ``act`` once, before the ``n``-th notification goes on to the next sinks."""

    def __init__(self, n: int, act: Callable[[], None]) -> None:
        self.n, self.act, self.seen = n, act, 0

    def notification(self, _notification: Notification) -> None:
        self.seen += 1
        if self.seen == self.n:
            self.act()

    def event(self, _event: SourceEvent) -> None:
        pass


def _share(relay: LocalRelay, tmp_path: Path, threads: Callable[[], LoopThread], level: SharingLevel,
           switch_to: SharingLevel | None = None) -> tuple[Kept, RemoteClient, Path]:
    """A simulated H10 shared at ``level`` (switched at :data:`SWITCH_AT` if asked): what the practitioner got,
    the client, the client's recording. The session's stream is left on the relay (for its store)."""
    host_thread, client_thread = threads(), threads()
    got = Kept()

    async def start_host() -> tuple[RemoteHost, str]:
        host = RemoteHost(await RelayLink.connect(relay.url), got, clock_every_s=None)
        return host, str(await host.invite())

    host, code = host_thread.submit(start_host()).result(WAIT_S)
    host_paired = host_thread.submit(host.pair())

    async def start_client() -> RemoteClient:
        client = RemoteClient(await RelayLink.connect(relay.url), consent=Consent(level))
        await client.pair(code)
        client.confirm()
        return client

    client = client_thread.submit(start_client()).result(WAIT_S)
    host_paired.result(WAIT_S)
    host_running = host_thread.submit(host.run())

    async def choose(new: SharingLevel) -> None:
        client.choose(new)

    switch = AtNotification(SWITCH_AT, lambda: client_thread.submit(choose(switch_to)).result(WAIT_S)
                            if switch_to is not None else None)
    recording = tmp_path / "client.sfs"

    async def strap() -> None:
        writer = SessionWriter(recording, LoopClock(asyncio.get_running_loop()), {"mode": "home"})
        try:
            await stream_straps(StrapSource(simulate="calm", seed=5), FanOut(writer, switch, client,
                                                                              SharedAnalysis(client.submit)), SESSION_S)
        finally:
            writer.close("duration reached")

    run_in_session_time(strap, math.inf)
    assert client_thread.submit(client.end()).result(WAIT_S)
    assert host_running.result(WAIT_S) == "the client ended the session"
    for thread, side in ((client_thread, client), (host_thread, host)):
        thread.submit(side.link.close()).result(WAIT_S)
    return got, client, recording


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row with NaN as None (NaN never equals itself)."""
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}


def _own_metrics(timeline: list[Notification | SourceEvent]) -> list[tuple[int, dict[str, Any]]]:
    """(time, metrics row without t_s) of every metric set the client's recording gives its own analysis."""
    analysis = LiveAnalysis(metrics=True)
    rows: list[tuple[int, dict[str, Any]]] = []
    for item in timeline:
        outputs = analysis.on_notification(item) if isinstance(item, Notification) else analysis.on_event(item)
        for _strap, output in outputs:
            if isinstance(output, BeatMetrics):
                row = metrics_row(output)
                rows.append((round(output.t_s * 1e9), _plain({k: v for k, v in row.items() if k != "t_s"})))
    return rows


def _received_metrics(got: Kept) -> list[tuple[int, dict[str, Any]]]:
    return [(e.host_ns, _plain({k: v for k, v in e.data.items() if k != "computed_by"})) for e in got.kinds(METRICS_EVENT)]


def test_at_metrics_the_practitioner_gets_the_clients_own_measures_and_no_strap_data(
        relay: LocalRelay, tmp_path: Path, threads: Callable[[], LoopThread]) -> None:
    got, client, recording = _share(relay, tmp_path, threads, SharingLevel.METRICS)
    timeline = read_session(recording).timeline
    payloads = {bytes(n.payload) for n in read_session(recording).notifications if len(n.payload) >= 6}
    relay.stop()  # the server writes out what it holds (the session's stream was not deleted)
    stored = b"".join(p.read_bytes() for p in (tmp_path / "store").rglob("*") if p.is_file())

    assert got.notifications() == [] and client.stats.sent["Notification"] == 0
    assert client.stats.withheld["beats"] > 0 and client.stats.withheld["raw"] > 0
    own = _own_metrics(timeline)
    assert len(own) > 10 and _received_metrics(got) == own  # the same values, at the same times
    assert all(e.data["computed_by"] == "client" for e in got.kinds(METRICS_EVENT))
    breathing = got.kinds(BREATHING_EVENT)
    assert breathing and all(e.data["computed_by"] == "client" and e.data["source"] in ("acc", "ecg") for e in breathing)
    assert got.kinds("state") and all(e.data["computed_by"] == "client" for e in got.kinds("state"))
    assert len(stored) > 10_000 and payloads  # the stored stream is there: the search looks at the right bytes
    assert not any(payload in stored for payload in payloads)  # no heart-rate or ECG payload in the relay's store


def test_at_state_only_the_band_leaves(relay: LocalRelay, tmp_path: Path, threads: Callable[[], LoopThread]) -> None:
    got, client, _recording = _share(relay, tmp_path, threads, SharingLevel.STATE)
    timeline_kinds = {e.kind for e in got.items if isinstance(e, TimelineEvent) and not e.kind.startswith("remote-")}
    assert got.notifications() == [] and timeline_kinds == {"state"}
    assert all(set(e.data) <= set(STATE_ONLY_FIELDS) and e.data["computed_by"] == "client" for e in got.kinds("state"))
    assert client.stats.withheld["metrics"] > 10  # the client's measures stayed on its computer


def test_switching_from_metrics_to_raw_starts_the_notifications_and_stops_the_clients_measures(
        relay: LocalRelay, tmp_path: Path, threads: Callable[[], LoopThread]) -> None:
    got, client, recording = _share(relay, tmp_path, threads, SharingLevel.METRICS, switch_to=SharingLevel.RAW)
    sent = read_session(recording).notifications
    chose = [e for e in got.kinds(CONSENT_EVENT) if e.data["change"] == "chose"]
    assert len(chose) == 1 and chose[0].data["level"] == "raw"
    assert got.notifications() == sent[SWITCH_AT - 1:]  # every one from the switch on, none before
    before = got.items[:got.items.index(chose[0])]
    after = got.items[got.items.index(chose[0]):]
    assert any(isinstance(i, TimelineEvent) and i.kind == METRICS_EVENT for i in before)
    assert not any(isinstance(i, TimelineEvent) and i.data.get("computed_by") for i in after)  # computed there now
    assert client.stats.withheld["derived"] > 0


def test_a_level_that_does_not_exist_is_refused_in_words(relay: LocalRelay) -> None:
    async def body() -> None:
        link = await asyncio.wait_for(RelayLink.connect(relay.url), WAIT_S)
        client = RemoteClient(link, consent=Consent(SharingLevel.STATE))  # every level can be shared now
        with pytest.raises(ConsentError, match="choose state, metrics, beats or raw"):
            client.choose("everything")
        await link.close()

    asyncio.run(asyncio.wait_for(body(), WAIT_S))


def test_the_clients_measures_print_as_one_readable_line() -> None:
    out = io.StringIO()
    data = {"hr_bpm": 61.04, "hr_valid": True, "rmssd_ms": 42.0, "sdnn_ms": 51.2, "pnn50_pct": 20.0,
            "time_window_s": 60.0, "time_valid": True, "time_reason": "", "computed_by": "client"}
    printer = StreamPrinter(out=out)
    printer.event(TimelineEvent(METRICS_EVENT, 5 * 10**9, SystemClock().wall_time(), data, "strap1"))
    printer.event(TimelineEvent(BREATHING_EVENT, 6 * 10**9, SystemClock().wall_time(),
                                {"valid": True, "rate_bpm": 11.5, "source": "acc", "computed_by": "client"}, "strap1"))
    lines = out.getvalue().splitlines()
    assert "HR 61.0 bpm | RMSSD 42.0 ms SDNN 51.2 ms pNN50 20.0 % [60 s] (computed on the client's computer)" in lines[0]
    assert "breathing 11.5 breaths/min (from chest motion) (computed on the client's computer)" in lines[1]


def test_join_at_metrics_end_to_end(relay: LocalRelay, tmp_path: Path) -> None:
    from remote_cli import host_and_join

    hosted, joined = host_and_join(relay.url, tmp_path, "--simulate", "calm", "--speed", "max", "--duration", "30",
                                   "--share", "metrics", "--json")
    assert joined.code == 0, joined.err
    assert hosted.code == 0, hosted.err
    records = [json.loads(text) for text in hosted.lines]
    client_saved = json.loads(joined.lines[-1])["saved"]
    kinds = {r["type"] for r in records}
    assert METRICS_EVENT in kinds and "state" in kinds and not kinds & {"beat", "metrics", "breathing"}
    saved = records[-1]
    assert saved["type"] == "saved" and saved["sharing"] == "metrics" and saved["notifications"] == 0
    host_rows = read_session(saved["path"])
    received = [(e.host_ns, _plain({k: v for k, v in e.data.items() if k != "computed_by"}))
                for e in host_rows.events if isinstance(e, TimelineEvent) and e.kind == METRICS_EVENT]
    assert received and received == _own_metrics(read_session(client_saved).timeline)
