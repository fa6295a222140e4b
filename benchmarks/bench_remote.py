"""Many remote sessions (issue #17) through one local relay: latency, loss, relay and client cost.

For each N of ``--sessions`` (default 1,10,100) a fresh local nats-server (LocalRelay, JetStream,
file store in a temporary folder) carries N sessions at once. Each session is a practitioner
RemoteHost and a client RemoteClient, each with its own relay connection, paired by code (SPAKE2)
as in the app. The client then hands its sink, at real-time pace for ``--seconds`` (default 60),
what a simulated Polar H10 sends: Heart Rate notifications (~1/s), ECG frames of 73 samples
(~every 0.56 s) and ACC frames. The payloads come from one short recording made at the start: the
simulated H10 streamed through the real BLE path (bumble -> bleak -> supervisor) at max speed in
session time; its steady part (``RECORDING_FROM_S`` to ``RECORDING_TO_S``) is replayed in a loop,
each session starting at a random phase within its first second, each notification with a fresh
``seq`` (1, 2, ... per session) and ``host_ns`` = this machine's monotonic clock at hand-off.

All hosts run on one asyncio loop thread, all clients (and their pacing tasks) on another
(:class:`LoopThread`), in this one process; both sides read the same monotonic clock, so the
latency of a notification is the practitioner's sink time minus its ``host_ns``: sealing, the
JetStream publish and its acknowledgement, delivery to the host's ordered consumer, opening and
decoding included.

Prints `name: value unit` lines per N:
  remote_nN_pair_s                 pairing all N sessions (10 at a time)
  remote_nN_messages               notifications handed over by the clients
  remote_nN_latency_p50_ms/_p99_ms/_max_ms   client hand-off -> practitioner's sink
  remote_nN_lost, _duplicated      per session, by seq, after every client said goodbye
  remote_nN_rejected               messages the hosts refused (forged, replayed, ...)
  remote_nN_relay_cpu              nats-server user+sys CPU seconds per wall second while streaming
  remote_nN_relay_peak_rss_mib     nats-server peak resident memory (VmHWM)
  remote_nN_bench_cpu              this process (all hosts + all clients) the same way
Goal (issue #17): p99 <= 250 ms and 0 lost at 100 sessions on a 2-core machine.
Run: python benchmarks/bench_remote.py [--sessions 1,10,100] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from somafeedback.clock import run_in_session_time
from somafeedback.devices.events import Notification, SourceEvent
from somafeedback.live.sources import StrapSource, stream_straps
from somafeedback.remote.loop_thread import LoopThread
from somafeedback.remote.relay import LocalRelay, RelayConfig
from somafeedback.remote.session import RemoteClient, RemoteHost
from somafeedback.remote.transport import RelayLink

RECORDING_S = 40.0  # s of simulated H10 recorded once at the start
RECORDING_FROM_S = 5.0  # s: the replayed loop starts here (every stream running)
RECORDING_TO_S = 35.0  # s: ... and ends here, then starts again
PAIR_AT_ONCE = 10  # sessions paired concurrently
WAIT_S = 120.0  # s any single step may take before the benchmark gives up
TICKS = os.sysconf("SC_CLK_TCK")
SEED = 17


class Recorder:
    """A sink keeping the simulated strap's notifications (the recording loop's thread)."""

    def __init__(self) -> None:
        self.notifications: list[Notification] = []

    def notification(self, notification: Notification) -> None:
        self.notifications.append(notification)

    def event(self, event: SourceEvent) -> None:
        pass  # link and contact events: not part of what is replayed


def record_h10() -> list[tuple[float, Notification]]:
    """(offset in the loop in s, notification) from a simulated H10, steady part only."""
    recorder = Recorder()

    async def main() -> None:
        await stream_straps(StrapSource(simulate="calm", seed=1), recorder, RECORDING_S)

    run_in_session_time(main, math.inf)
    start_ns = round(RECORDING_FROM_S * 1e9)
    return [((n.host_ns - start_ns) / 1e9, n) for n in recorder.notifications
            if RECORDING_FROM_S * 1e9 <= n.host_ns < RECORDING_TO_S * 1e9]


@dataclass
class Arrivals:
    """The practitioner's sink of one session: latency and seq of each notification (the hosts' loop)."""

    latencies_ns: list[int] = field(default_factory=list)
    seqs: Counter[int] = field(default_factory=Counter)

    def notification(self, notification: Notification) -> None:
        self.latencies_ns.append(time.monotonic_ns() - notification.host_ns)
        self.seqs[notification.seq] += 1

    def event(self, event: SourceEvent) -> None:
        pass


@dataclass
class Session:
    host: RemoteHost
    client: RemoteClient
    arrivals: Arrivals
    sent: int = 0


async def pace(session: Session, plan: list[tuple[float, Notification]], start: float, seconds: float) -> None:
    """Hand the client the plan's notifications at their times from ``start`` (monotonic s), looping (clients' loop)."""
    period = RECORDING_TO_S - RECORDING_FROM_S
    for cycle in range(math.ceil(seconds / period) + 1):
        for offset, note in plan:
            at = cycle * period + offset
            if at >= seconds:
                return
            delay = start + at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            session.sent += 1
            session.client.notification(replace(note, seq=session.sent, host_ns=time.monotonic_ns(),
                                                wall_time=time.time()))


def cpu_seconds(pid: int) -> float:
    """user + sys CPU seconds of a process so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14 and 15)


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan


async def pair_one(url: str, hosts: LoopThread, clients: LoopThread) -> Session:
    arrivals = Arrivals()

    async def invite() -> tuple[RemoteHost, str]:
        host = RemoteHost(await RelayLink.connect(url), arrivals)
        return host, str(await host.invite())

    host, code = await hosts.run(invite())

    async def join() -> RemoteClient:
        client = RemoteClient(await RelayLink.connect(url))
        await client.pair(code)
        return client

    _keys, client = await asyncio.gather(hosts.run(host.pair()), clients.run(join()))
    return Session(host, client, arrivals)


async def run_sessions(n: int, seconds: float, plan: list[tuple[float, Notification]], store: Path) -> dict[str, float]:
    """N sessions through one fresh relay for ``seconds``; the figures."""
    figures: dict[str, float] = {}
    relay = LocalRelay(RelayConfig(store=store))
    await asyncio.to_thread(relay.start)
    relay_pid = relay.pid  # the child nats-server, for /proc
    assert relay_pid is not None
    hosts, clients = LoopThread("bench-hosts"), LoopThread("bench-clients")
    try:
        limit = asyncio.Semaphore(PAIR_AT_ONCE)

        async def paired() -> Session:
            async with limit:
                return await asyncio.wait_for(pair_one(relay.url, hosts, clients), WAIT_S)

        began = time.perf_counter()
        sessions = await asyncio.gather(*(paired() for _ in range(n)))
        figures["pair_s"] = time.perf_counter() - began
        running = [hosts.submit(s.host.run()) for s in sessions]

        phases = random.Random(SEED)
        start = time.monotonic() + 0.5

        async def stream_all() -> None:
            await asyncio.gather(*(pace(s, plan, start + phases.random(), seconds) for s in sessions))

        relay_cpu, own, wall = cpu_seconds(relay_pid), os.times(), time.monotonic()
        await clients.run(stream_all())
        wall = time.monotonic() - wall
        figures["relay_cpu"] = (cpu_seconds(relay_pid) - relay_cpu) / wall
        after = os.times()
        figures["bench_cpu"] = (after.user + after.system - own.user - own.system) / wall

        async def end_all() -> list[bool]:
            return list(await asyncio.gather(*(s.client.end() for s in sessions)))

        delivered = await clients.run(asyncio.wait_for(end_all(), WAIT_S))
        for future in running:
            await asyncio.wait_for(asyncio.wrap_future(future), WAIT_S)
        figures["relay_peak_rss_mib"] = peak_rss_mib(relay_pid)

        async def close_hosts() -> None:
            await asyncio.gather(*(s.host.end() for s in sessions))
            await asyncio.gather(*(s.host.link.close() for s in sessions))

        async def close_clients() -> None:
            await asyncio.gather(*(s.client.link.close() for s in sessions))

        await hosts.run(asyncio.wait_for(close_hosts(), WAIT_S))
        await clients.run(asyncio.wait_for(close_clients(), WAIT_S))
    finally:
        hosts.stop()
        clients.stop()
        await asyncio.to_thread(relay.stop)

    latencies = np.array([x for s in sessions for x in s.arrivals.latencies_ns], dtype=float) / 1e6
    figures["messages"] = sum(s.sent for s in sessions)
    figures["undelivered_ends"] = delivered.count(False)
    figures["latency_p50_ms"] = float(np.percentile(latencies, 50))
    figures["latency_p99_ms"] = float(np.percentile(latencies, 99))
    figures["latency_max_ms"] = float(latencies.max())
    figures["lost"] = sum(len(set(range(1, s.sent + 1)) - set(s.arrivals.seqs)) for s in sessions)
    figures["duplicated"] = sum(count - 1 for s in sessions for count in s.arrivals.seqs.values())
    figures["rejected"] = sum(sum(s.host.stats.rejected.values()) for s in sessions)
    figures["client_retries"] = sum(s.client.stats.retries for s in sessions)
    return figures


UNITS = {"pair_s": "s", "messages": "messages", "latency_p50_ms": "ms", "latency_p99_ms": "ms", "latency_max_ms": "ms",
         "lost": "messages", "duplicated": "messages", "rejected": "messages", "client_retries": "retries",
         "undelivered_ends": "sessions", "relay_cpu": "cores", "relay_peak_rss_mib": "MiB", "bench_cpu": "cores"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1,10,100", help="comma-separated session counts (default 1,10,100)")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of streaming per run (default 60)")
    options = parser.parse_args()
    plan = record_h10()
    kinds = Counter(note.characteristic[4:8] for _offset, note in plan)
    period = RECORDING_TO_S - RECORDING_FROM_S
    print(f"remote_h10_rate: {len(plan) / period:.2f} notifications/s per session "
          f"(HR {kinds['2a37'] / period:.2f}, ECG+ACC {kinds['5c82'] / period:.2f})")
    for n in (int(part) for part in options.sessions.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            figures = asyncio.run(run_sessions(n, options.seconds, plan, Path(folder) / "store"))
        for name, unit in UNITS.items():
            value = figures[name]
            digits = 0 if unit in ("messages", "retries", "sessions") else 3 if unit == "cores" else 2
            text = f"{value:.{digits}f}"
            print(f"remote_n{n}_{name}: {text} {unit}", flush=True)


if __name__ == "__main__":
    main()
