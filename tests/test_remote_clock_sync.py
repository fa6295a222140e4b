"""Clock alignment for remote sessions (issue #17): the four-timestamp exchange and the minimum-delay filter.

Exchanges are simulated with a known true offset between the two session clocks and seeded random
delays (asymmetric, jittered, with queueing spikes on the client's upload), on injected clocks: no
sleeps, no wall-clock time.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
from manual_clock import ManualClock

from somafeedback.devices.events import TimelineEvent
from somafeedback.remote.clock_sync import (
    CERTAIN_BELOW_S, CLOCK_EVENT, MAX_RTT_S, PING_EVERY_S, SAMPLES_KEPT, ClockEstimate, ClockFilter, ClockSample,
    ClockSync, answer_ping,
)
from somafeedback.sessions.file import SessionWriter, read_session

EVENT_FIELDS = ("offset_s", "rtt_s", "uncertainty_s", "samples", "certain")


class Link:
    """The practitioner and the client, with true time ``T``: the client's clock reads ``T + offset``."""

    def __init__(self, offset_s: float, seed: int, forward_base_s: float = 0.020, back_base_s: float = 0.020) -> None:
        self.offset_s = offset_s
        self.rng = random.Random(seed)
        self.forward_base_s, self.back_base_s = forward_base_s, back_base_s
        self.practitioner, self.client = ManualClock(), ManualClock()
        self.sync = ClockSync(self.practitioner)
        self.true_t = 0.0

    def delays(self) -> tuple[float, float, float]:
        """(practitioner -> client, client processing, client -> practitioner), seconds."""
        forward = self.forward_base_s + self.rng.expovariate(1 / 0.005)
        back = self.back_base_s + self.rng.expovariate(1 / 0.080)  # a home upload queues
        if self.rng.random() < 0.2:
            back += self.rng.uniform(0.1, 0.4)  # now and then a long queue
        return forward, self.rng.uniform(0.0005, 0.004), back

    def exchange(self, client_glitch_s: float = 0.0) -> tuple[dict, ClockSample]:
        """One ping and its answer at the next due time; returns the event data and the raw sample.

        ``client_glitch_s``: the client's clock reads that much off for this one exchange only."""
        self.true_t += self.sync.seconds_until_due()
        self.practitioner.t = self.true_t
        ping = self.sync.ping_if_due()
        assert ping is not None
        forward, processing, back = self.delays()
        self.client.t = self.true_t + forward + self.offset_s + client_glitch_s
        received = self.client.now()
        self.client.t += processing
        pong = answer_ping(json.loads(json.dumps(ping)), received, self.client)
        assert pong is not None
        self.true_t += forward + processing + back
        self.practitioner.t = self.true_t
        event = self.sync.on_pong(json.loads(json.dumps(pong)))
        return event, ClockSample(ping["t0"], pong["t1"], pong["t2"], self.practitioner.t)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_offset_recovered_within_its_uncertainty_and_better_than_the_mean(seed: int) -> None:
    link = Link(offset_s=123.456, seed=seed)
    samples = []
    for _ in range(30):  # five minutes of pings
        event, sample = link.exchange()
        samples.append(sample)
        # the hard bound: whatever the delays each way, the truth lies within offset ± uncertainty
        assert abs(event["offset_s"] - link.offset_s) <= event["uncertainty_s"] + 1e-6
    estimate = link.sync.estimate()
    assert estimate is not None and estimate.samples == SAMPLES_KEPT
    filtered_error = abs(estimate.offset_s - link.offset_s)
    mean_error = abs(sum(s.offset_s for s in samples) / len(samples) - link.offset_s)
    assert filtered_error < mean_error / 2, (filtered_error, mean_error)
    assert estimate.uncertainty_s < CERTAIN_BELOW_S and estimate.certain
    assert math.isclose(estimate.uncertainty_s, estimate.rtt_s / 2)
    # the chosen sample is the fastest of the last SAMPLES_KEPT
    assert estimate.rtt_s == min(s.rtt_s for s in samples[-SAMPLES_KEPT:])


def test_over_many_runs_the_filter_is_an_order_of_magnitude_closer_than_the_mean() -> None:
    filtered, plain = [], []
    for seed in range(100, 120):
        link = Link(offset_s=0.5, seed=seed)
        offsets = [link.exchange()[1].offset_s for _ in range(30)]
        estimate = link.sync.estimate()
        assert estimate is not None
        filtered.append(abs(estimate.offset_s - link.offset_s))
        plain.append(abs(sum(offsets) / len(offsets) - link.offset_s))
    filtered.sort()
    plain.sort()
    assert filtered[10] < 0.010 < 0.040 < plain[10]  # medians, s
    assert filtered[10] * 10 < plain[10]


def test_asymmetric_paths_stay_within_the_stated_uncertainty() -> None:
    link = Link(offset_s=-42.0, seed=7, forward_base_s=0.010, back_base_s=0.060)
    for _ in range(20):
        event, _ = link.exchange()
        assert abs(event["offset_s"] - link.offset_s) <= event["uncertainty_s"] + 1e-6
    estimate = link.sync.estimate()
    assert estimate is not None
    # the path asymmetry (25 ms) shows as error, and the uncertainty owns up to it
    assert 0.020 < abs(estimate.offset_s - link.offset_s) <= estimate.uncertainty_s + 1e-6


def test_slow_link_is_not_certain_enough() -> None:
    link = Link(offset_s=5.0, seed=3, forward_base_s=0.080, back_base_s=0.080)
    for _ in range(10):
        event, _ = link.exchange()
    assert event["certain"] is False and event["uncertainty_s"] >= CERTAIN_BELOW_S
    assert "not precise enough" in event["text"]


def test_a_clock_step_is_confirmed_then_followed() -> None:
    link = Link(offset_s=10.0, seed=11)
    for _ in range(10):
        before, _ = link.exchange()
    link.offset_s += 2.0  # the client's session clock jumps ahead
    suspect, _ = link.exchange()
    assert suspect["offset_s"] == before["offset_s"] and "step_s" not in suspect  # one sample is not enough
    stepped, _ = link.exchange()
    assert stepped["step_s"] == pytest.approx(2.0, abs=0.3)
    assert stepped["samples"] == 2 and "started afresh" in stepped["text"]
    assert abs(stepped["offset_s"] - link.offset_s) <= stepped["uncertainty_s"] + 1e-6
    for _ in range(10):
        after, _ = link.exchange()
        assert abs(after["offset_s"] - link.offset_s) <= after["uncertainty_s"] + 1e-6
    assert link.sync.filter.steps == [pytest.approx(2.0, abs=0.3)]


def test_a_single_sample_far_off_is_dropped() -> None:
    link = Link(offset_s=10.0, seed=12)
    for _ in range(6):
        before, _ = link.exchange()
    spike, _ = link.exchange(client_glitch_s=3.0)
    assert spike["offset_s"] == before["offset_s"] and spike["samples"] == before["samples"]
    after, _ = link.exchange()
    assert after["samples"] == before["samples"] + 1 and "step_s" not in after
    assert link.sync.filter.spikes == 1 and link.sync.filter.steps == []


def test_a_peer_that_never_answers_gives_no_estimate_and_says_so() -> None:
    clock = ManualClock()
    sync = ClockSync(clock)
    report = sync.report()
    assert report["offset_s"] is None and report["certain"] is False and "waiting" in report["note"]
    for i in range(5):
        assert sync.silent == (i > 2)
        assert sync.ping_if_due() is not None
        assert sync.ping_if_due() is None  # not due again yet
        clock.t += PING_EVERY_S
    report = sync.report()
    assert sync.estimate() is None and sync.unanswered == 4 and sync.silent
    assert report["offset_s"] is None and report["samples"] == 0 and report["certain"] is False
    assert "no answer to 4 clock checks" in report["note"]
    # the other side wakes up and answers the latest ping: an estimate again
    ping = sync.ping_if_due()
    assert ping is not None
    clock.t += 0.04
    back = sync.on_pong({"type": "clock-pong", "id": ping["id"], "t0": ping["t0"], "t1": ping["t0"] + 3.02, "t2": ping["t0"] + 3.02})
    assert back["offset_s"] == pytest.approx(3.0) and back["certain"] and back["unanswered"] == 0 and not sync.silent
    assert "note" not in back


def test_pings_are_due_every_interval() -> None:
    clock = ManualClock(100.0)
    sync = ClockSync(clock)
    assert sync.seconds_until_due() == 0.0
    ping = sync.ping_if_due()
    assert ping is not None and ping["t0"] == 100.0 and ping["type"] == "clock-ping"
    clock.t = 104.0
    assert sync.seconds_until_due() == pytest.approx(6.0) and sync.ping_if_due() is None
    clock.t = 110.0
    second = sync.ping_if_due()
    assert second is not None and second["id"] == ping["id"] + 1
    with pytest.raises(ValueError):
        ClockSync(clock, every_s=0)


def _answer(sync: ClockSync, clock: ManualClock, t1: float, t2: float, t3: float, changes: dict) -> dict:
    ping = sync.ping_if_due()
    assert ping is not None
    clock.t = t3
    return sync.on_pong({"type": "clock-pong", "id": ping["id"], "t0": ping["t0"], "t1": t1, "t2": t2, **changes})


@pytest.mark.parametrize(("t1", "t2", "t3", "changes", "reason"), [
    (50.05, 50.04, 0.1, {}, "the other side answered before it received the question"),
    (50.0, 70.0, 0.1, {}, "a negative round trip"),
    (50.0, 50.01, MAX_RTT_S + 1, {}, f"a round trip over {MAX_RTT_S:g} s"),
    (float("nan"), 50.01, 0.1, {}, "a time that is not a number"),
    (50.0, 50.01, 0.1, {"t2": "soon"}, "a time that is not a number"),
    (50.0, 50.01, 0.1, {"id": 999}, "an answer to no question asked"),
    (50.0, 50.01, 0.1, {"type": "hello"}, "an answer to no question asked"),
])
def test_absurd_answers_are_rejected(t1: float, t2: float, t3: float, changes: dict, reason: str) -> None:
    clock = ManualClock()
    sync = ClockSync(clock)
    event = _answer(sync, clock, t1, t2, t3, changes)
    assert sync.estimate() is None and event["offset_s"] is None
    assert sync.filter.rejected == {reason: 1} and event["rejected"] == 1


def test_an_answer_counts_once_and_uses_our_own_send_time() -> None:
    clock = ManualClock()
    sync = ClockSync(clock)
    ping = sync.ping_if_due()
    assert ping is not None
    clock.t = 0.1
    pong = {"type": "clock-pong", "id": ping["id"], "t0": -999.0, "t1": 50.04, "t2": 50.05}  # a wrong echo of t0
    event = sync.on_pong(pong)
    assert event["offset_s"] == pytest.approx(49.995) and event["rtt_s"] == pytest.approx(0.09)
    again = sync.on_pong(pong)  # the same answer twice
    assert again["samples"] == 1 and sync.filter.rejected == {"an answer to no question asked": 1}


def test_the_client_answers_only_pings() -> None:
    clock = ManualClock(7.0)
    assert answer_ping({"type": "clock-ping", "id": 3, "t0": 1.5}, 6.9, clock) == \
        {"type": "clock-pong", "id": 3, "t0": 1.5, "t1": 6.9, "t2": 7.0}
    for bad in ({"type": "clock-pong", "id": 3, "t0": 1.5}, {"type": "clock-ping", "id": True, "t0": 1.5},
                {"type": "clock-ping", "id": 3, "t0": "x"}, {}):
        assert answer_ping(bad, 6.9, clock) is None


def test_filter_and_estimate_directly() -> None:
    f = ClockFilter()
    assert f.estimate() is None
    assert f.add(ClockSample(0.0, 10.03, 10.04, 0.1)) == "accepted"  # rtt 90 ms
    assert f.add(ClockSample(10.0, 20.01, 20.02, 10.03)) == "accepted"  # rtt 20 ms: the best
    assert f.add(ClockSample(20.0, 30.0, 29.0, 20.1)).startswith("rejected")
    estimate = f.estimate()
    assert estimate == ClockEstimate(pytest.approx(10.0), pytest.approx(0.02), pytest.approx(0.01), 2)
    assert estimate is not None and estimate.to_practitioner_time(110.0) == pytest.approx(100.0)
    assert estimate.to_client_time(100.0) == pytest.approx(110.0)


def test_event_has_every_field_and_records_as_a_timeline_event(tmp_path: Path) -> None:
    link = Link(offset_s=1.25, seed=21)
    event, _ = link.exchange()
    assert set(EVENT_FIELDS) <= set(event)
    assert isinstance(event["samples"], int) and isinstance(event["certain"], bool)
    assert event["text"].startswith("clocks")
    clock = ManualClock(3.0)
    writer = SessionWriter(tmp_path / "s.session.sqlite", clock, {"client": "Client A", "mode": "recording"})
    writer.event(TimelineEvent(CLOCK_EVENT, clock.now_ns(), clock.wall_time(), event))
    writer.event(TimelineEvent(CLOCK_EVENT, clock.now_ns(), clock.wall_time(), ClockSync(clock).report()))
    writer.close("stopped")
    recorded = [e for e in read_session(tmp_path / "s.session.sqlite").events if isinstance(e, TimelineEvent)]
    assert [dict(e.data) for e in recorded if e.kind == CLOCK_EVENT] == [event, ClockSync(clock).report()]
