"""Simulated strap -> bumble link -> bleak (bumble backend) -> supervisor -> beats.

Everything runs through real BLE protocol code on a max-speed session loop, so minutes of
session time take well under a second and every run is deterministic.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from session_helpers import run_in_session_time

from somafeedback.clock import LoopClock
from somafeedback.devices.events import (
    Beat,
    ContactChange,
    GapEvent,
    LinkEvent,
    LinkState,
    MalformedPacket,
    Notification,
    SourceEvent,
    StrapInfo,
)
from somafeedback.devices.gatt_uuids import HEART_RATE_MEASUREMENT
from somafeedback.devices.heart_rate_stream import HeartRateStream, StreamItem
from somafeedback.devices.simulator.radio import SimulatedRadio
from somafeedback.devices.simulator.strap import SimulatedStrap
from somafeedback.devices.supervisor import ReconnectPolicy, StrapSupervisor


class Collector:
    """A StrapSink that keeps everything and decodes it like the app does."""

    def __init__(self) -> None:
        self.notifications: list[Notification] = []
        self.events: list[SourceEvent] = []
        self.items: list[StreamItem] = []
        self._streams: dict[str, HeartRateStream] = {}

    def _stream(self, strap_id: str) -> HeartRateStream:
        return self._streams.setdefault(strap_id, HeartRateStream(strap_id))

    def notification(self, notification: Notification) -> None:
        self.notifications.append(notification)
        self.items.extend(self._stream(notification.strap_id).feed(notification))

    def event(self, event: SourceEvent) -> None:
        self.events.append(event)
        if isinstance(event, GapEvent):
            self._stream(event.strap_id).gap(event)

    def beats(self, strap_id: str | None = None) -> list[Beat]:
        return [i for i in self.items if isinstance(i, Beat) and strap_id in (None, i.strap_id)]

    def states(self, strap_id: str) -> list[LinkState]:
        return [e.state for e in self.events if isinstance(e, LinkEvent) and e.strap_id == strap_id]


async def _stream_for(
    radio: SimulatedRadio, straps: list[SimulatedStrap], duration_s: float, collector: Collector,
    during: object = None,
) -> list[StrapSupervisor]:
    clock = LoopClock(asyncio.get_running_loop())
    supervisors = [
        StrapSupervisor(radio.stack, collector, clock, strap_id=f"strap{k}", address=strap.address)
        for k, strap in enumerate(straps, start=1)
    ]
    tasks = [asyncio.create_task(s.run()) for s in supervisors]
    if during is not None:
        await during  # type: ignore[misc]
    await asyncio.sleep(duration_s)
    for supervisor in supervisors:
        supervisor.stop()
    await asyncio.gather(*tasks)
    return supervisors


def test_received_beats_equal_the_simulators_ground_truth_exactly() -> None:
    collector = Collector()

    async def main() -> SimulatedStrap:
        async with SimulatedRadio() as radio:
            strap = await radio.add_strap("activation", seed=11)
            await _stream_for(radio, [strap], 600.0, collector)
            return strap

    strap = run_in_session_time(main)
    beats = collector.beats()
    assert len(beats) > 600
    assert [b.rr_1024 for b in beats] == strap.sent_rr_1024()
    assert [n.payload for n in collector.notifications] == [s.payload for s in strap.sent]
    assert [n.seq for n in collector.notifications] == list(range(1, len(collector.notifications) + 1))
    # one segment: beat times are the cumulative RR sum (exactly one RR apart) ...
    assert {b.segment for b in beats} == {0}
    times = np.array([b.t_s for b in beats])
    assert np.allclose(np.diff(times), [b.rr_1024 / 1024 for b in beats[1:]], atol=1e-9)
    # ... offset from the true beat times by a constant notification latency under 1.1 s
    generated_rr = [b.rr_1024 for b in strap.generated]
    first = next(i for i in range(len(generated_rr)) if generated_rr[i:i + len(beats)] == [b.rr_1024 for b in beats])
    truth = np.array([b.t_end_s for b in strap.generated[first:first + len(beats)]])
    offsets = times - truth
    assert np.ptp(offsets) < 1e-6 and 0.0 <= offsets[0] < 1.1
    # and never stamped with the arrival time of their packet when a packet carries several
    shared_arrival = [b for b in beats if sum(1 for o in beats if o.arrival_ns == b.arrival_ns) > 1]
    assert all(b.t_s < b.arrival_ns / 1e9 + 1.5 for b in beats)
    assert len({b.t_s for b in shared_arrival}) == len(shared_arrival)


def test_link_drop_reconnects_resubscribes_and_reports_the_gap() -> None:
    collector = Collector()

    async def main() -> tuple[SimulatedStrap, list[StrapSupervisor]]:
        async with SimulatedRadio() as radio:
            strap = await radio.add_strap("calm", seed=5)

            async def drop_twice() -> None:
                await asyncio.sleep(60.0)
                strap.drop_link(8.0)
                await asyncio.sleep(60.0)
                strap.drop_link(3.0)

            supervisors = await _stream_for(radio, [strap], 200.0, collector, during=drop_twice())
            return strap, supervisors

    strap, (supervisor,) = run_in_session_time(main)
    states = collector.states("strap1")
    assert states[:2] == [LinkState.CONNECTING, LinkState.STREAMING]
    assert states.count(LinkState.LOST) == 2 and states.count(LinkState.STREAMING) == 3
    assert states[-1] == LinkState.STOPPED
    assert supervisor.reconnects == 2
    gaps = [e for e in collector.events if isinstance(e, GapEvent)]
    assert [round(g.start_ns / 1e9) for g in gaps] == [60, 120]
    assert gaps[0].duration_s == pytest.approx(8.0, abs=1.0) and gaps[1].duration_s == pytest.approx(3.0, abs=1.0)
    # re-subscribed: beats arrive after each reconnection, and nothing sent was lost or invented
    beats = collector.beats()
    assert [b.rr_1024 for b in beats] == strap.sent_rr_1024()
    for gap in gaps:
        assert any(b.arrival_ns > gap.end_ns for b in beats)
    # each gap starts a new timing segment
    assert sorted({b.segment for b in beats}) == [0, 1, 2]
    infos = [e for e in collector.events if isinstance(e, StrapInfo)]
    assert len(infos) == 3 and infos[0].battery_percent == 87 and infos[0].body_location == "Chest"


def test_dropout_scenario_contact_loss_malformed_packets_and_link_drop() -> None:
    collector = Collector()

    async def main() -> SimulatedStrap:
        async with SimulatedRadio() as radio:
            strap = await radio.add_strap("dropout")
            await _stream_for(radio, [strap], strap.scenario.duration_s, collector)
            return strap

    strap = run_in_session_time(main)
    contact = [(round(c.host_ns / 1e9), c.contact) for c in collector.items if isinstance(c, ContactChange)]
    assert [c for _, c in contact] == [True, False, True]
    assert contact[1][0] == pytest.approx(120, abs=2) and contact[2][0] - contact[1][0] == pytest.approx(15, abs=2)
    malformed = [i for i in collector.items if isinstance(i, MalformedPacket)]
    assert len(malformed) == 2 and all("payload hex" in m.error for m in malformed)
    assert any(isinstance(e, GapEvent) and e.duration_s > 5 for e in collector.events)
    # every byte received was kept, and every valid RR sent became a beat
    assert [n.payload for n in collector.notifications] == [s.payload for s in strap.sent]
    assert [b.rr_1024 for b in collector.beats()] == strap.sent_rr_1024()


def test_two_straps_stream_at_once_on_one_loop() -> None:
    collector = Collector()

    async def main() -> list[SimulatedStrap]:
        async with SimulatedRadio() as radio:
            client = await radio.add_strap("activation", seed=1)
            practitioner = await radio.add_strap("calm", seed=2)
            await _stream_for(radio, [client, practitioner], 120.0, collector)
            return [client, practitioner]

    client, practitioner = run_in_session_time(main)
    assert client.address != practitioner.address
    for strap_id, strap in (("strap1", client), ("strap2", practitioner)):
        beats = collector.beats(strap_id)
        assert len(beats) > 100
        assert [b.rr_1024 for b in beats] == strap.sent_rr_1024()
        assert LinkState.STREAMING in collector.states(strap_id)
    assert client.sent_rr_1024() != practitioner.sent_rr_1024()


def test_a_silent_stream_is_treated_as_a_lost_link() -> None:
    collector = Collector()

    async def main() -> None:
        async with SimulatedRadio() as radio:
            strap = await radio.add_strap("calm", seed=3)

            async def go_silent() -> None:
                await asyncio.sleep(30.0)
                await strap.stop()  # the notification clock stops: the link stays up, silent

            await _stream_for(radio, [strap], 60.0, collector, during=go_silent())

    run_in_session_time(main)
    lost = [e for e in collector.events if isinstance(e, LinkEvent) and e.state is LinkState.LOST]
    assert lost and lost[0].detail.startswith("no data for")
    assert lost[0].host_ns / 1e9 == pytest.approx(30 + ReconnectPolicy().stall_timeout_s, abs=1.5)


def test_notifications_carry_raw_bytes_and_session_timestamps() -> None:
    collector = Collector()

    async def main() -> None:
        async with SimulatedRadio() as radio:
            strap = await radio.add_strap("calm", seed=9)
            await _stream_for(radio, [strap], 30.0, collector)

    run_in_session_time(main)
    first = collector.notifications[0]
    assert first.characteristic == HEART_RATE_MEASUREMENT
    assert isinstance(first.payload, bytes) and first.payload[0] & 0x10  # RR present
    arrivals = [n.host_ns for n in collector.notifications]
    assert arrivals == sorted(arrivals) and arrivals[-1] / 1e9 < 30.5
    walls = [n.wall_time for n in collector.notifications]
    assert np.allclose(np.diff(walls), np.diff(arrivals) / 1e9, atol=1e-6)


def test_a_failing_consumer_never_breaks_the_link(caplog: pytest.LogCaptureFixture) -> None:
    class Failing(Collector):
        def notification(self, notification: Notification) -> None:
            super().notification(notification)
            if notification.seq % 2:
                raise RuntimeError("consumer bug")

    collector = Failing()

    async def main() -> SimulatedStrap:
        async with SimulatedRadio() as radio:
            strap = await radio.add_strap("calm", seed=4)
            await _stream_for(radio, [strap], 60.0, collector)
            return strap

    strap = run_in_session_time(main)
    assert [n.payload for n in collector.notifications] == [s.payload for s in strap.sent]  # every one delivered
    assert collector.states("strap1") == [LinkState.CONNECTING, LinkState.STREAMING, LinkState.STOPPED]
    reports = [r for r in caplog.records if "consumer of strap data failed" in r.getMessage()]
    assert len(reports) == 1  # reported once, not once per packet


def test_stopping_while_the_strap_is_unreachable_is_prompt_and_closes_the_gap() -> None:
    collector = Collector()

    async def main() -> float:
        async with SimulatedRadio() as radio:
            strap = await radio.add_strap("calm", seed=8)
            clock = LoopClock(asyncio.get_running_loop())
            supervisor = StrapSupervisor(radio.stack, collector, clock, strap_id="strap1", address=strap.address)
            task = asyncio.create_task(supervisor.run())
            await asyncio.sleep(20.0)
            strap.drop_link(600.0)  # gone for good, as far as this session knows
            await asyncio.sleep(3.0)  # the supervisor is searching again
            supervisor.stop()
            asked = clock.now()
            await task
            return clock.now() - asked

    took_s = run_in_session_time(main)
    assert took_s < 1.0  # not the whole 10 s search
    states = collector.states("strap1")
    assert states[-1] is LinkState.STOPPED and LinkState.LOST in states
    gaps = [e for e in collector.events if isinstance(e, GapEvent)]
    assert len(gaps) == 1 and gaps[0].duration_s == pytest.approx(3.0, abs=1.0)
