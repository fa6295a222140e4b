"""The simulated Polar H10 through the real BLE path: PMD control, ECG beats, breathing.

Everything runs simulator -> bumble -> bleak -> supervisor -> LiveAnalysis at max speed, so
the control point's indications, the MTU-sized data frames, the device clock and the
decoders are the ones a real strap meets.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from recording_helpers import AnalysisCollector, record_simulated
from session_helpers import run_in_session_time

from somafeedback.hrv.artifacts import FlagReason
from somafeedback.signals.chest_motion import BreathingEstimate
from somafeedback.clock import LoopClock
from somafeedback.devices.events import Beat, EcgChunk, Notification, SourceEvent, StrapSink, TimelineEvent
from somafeedback.devices.gatt_uuids import POLAR_PMD_CONTROL_POINT, POLAR_PMD_DATA
from somafeedback.devices.polar_pmd import (
    MeasurementType,
    PmdStatus,
    SettingType,
    decode_data_frame,
    parse_control_message,
    start_request,
)
from somafeedback.devices.scan import find_strap
from somafeedback.devices.simulator.radio import SimulatedRadio
from somafeedback.devices.simulator.strap import SimulatedStrap
from somafeedback.devices.supervisor import StrapSupervisor
from somafeedback.regulation.pacer import Pacer, PacerSettings
from somafeedback.signals.pacer_following import PacerFollowing
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.regulation.states import Baseline
from somafeedback.live.regulation_session import RegulationSession
from somafeedback.sessions.file import read_session
from somafeedback.live.sinks import FanOut


class Everything(AnalysisCollector):
    """Keeps the raw notifications and events too."""

    def __init__(self) -> None:
        super().__init__()
        self.notifications: list[Notification] = []
        self.events: list[SourceEvent] = []

    def notification(self, notification: Notification) -> None:
        self.notifications.append(notification)
        super().notification(notification)

    def event(self, event: SourceEvent) -> None:
        self.events.append(event)
        super().event(event)

    def timeline(self, kind: str) -> list[TimelineEvent]:
        return [e for e in self.events if isinstance(e, TimelineEvent) and e.kind == kind]

    def of(self, kind: type) -> list[Any]:
        return [item for _, item in self.outputs if isinstance(item, kind)]


def stream_h10(scenario: str, duration_s: float, seed: int = 3, also: StrapSink | None = None,
               **strap_options: Any) -> tuple[Everything, SimulatedStrap]:
    sink = Everything()
    straps: list[SimulatedStrap] = []

    async def main() -> None:
        clock = LoopClock(asyncio.get_running_loop())
        async with SimulatedRadio() as radio:
            strap = await radio.add_strap(scenario, seed=seed, h10=True, **strap_options)
            straps.append(strap)
            target: StrapSink = sink if also is None else FanOut(sink, also)
            supervisor = StrapSupervisor(radio.stack, target, clock, strap_id="strap1", address=strap.address)
            task = asyncio.create_task(supervisor.run())
            await asyncio.sleep(duration_s)
            supervisor.stop()
            await task
            assert strap.pmd is not None and not strap.pmd.running  # streams were stopped before the link went

    run_in_session_time(main)
    return sink, straps[0]


@pytest.fixture(scope="module")
def slow_breathing() -> tuple[Everything, SimulatedStrap]:
    """Settled breathing (~12/min), then paced breathing at 6/min from 5:00 (30 s ramp)."""
    return stream_h10("slow-breathing", 420.0)


def test_streams_start_with_the_settings_the_strap_offers(slow_breathing: tuple[Everything, SimulatedStrap]) -> None:
    sink, _ = slow_breathing
    started = {e.data["measurement"]: e.data for e in sink.timeline("pmd_started")}
    assert started["ecg"]["sample_rate"] == 130 and started["ecg"]["resolution"] == 14
    assert started["acc"]["sample_rate"] == 25 and started["acc"]["range"] == 4
    stopped = sink.timeline("pmd_stopped")
    assert {e.data["measurement"] for e in stopped} == {"ecg", "acc"}
    assert all(e.data["by"] == "app" for e in stopped)
    assert not sink.timeline("pmd_error")


def test_ecg_frames_are_sized_to_the_link(slow_breathing: tuple[Everything, SimulatedStrap]) -> None:
    sink, strap = slow_breathing
    frames = [decode_data_frame(n.payload) for n in sink.notifications if n.characteristic == POLAR_PMD_DATA
              and n.payload[0] == MeasurementType.ECG]
    assert frames and all(len(f.samples) == 73 for f in frames)  # ATT MTU 232: 229-byte notifications
    acc = [n for n in sink.notifications if n.characteristic == POLAR_PMD_DATA and n.payload[0] == MeasurementType.ACC]
    assert acc and all(decode_data_frame(n.payload).compressed for n in acc)
    assert strap.pmd is not None
    assert len(frames) + len(acc) == len(strap.pmd.frames_sent)  # every frame sent arrived


def test_ecg_beats_match_the_simulated_heart(slow_breathing: tuple[Everything, SimulatedStrap]) -> None:
    sink, strap = slow_breathing
    ecg_beats = [b for b in sink.of(Beat) if b.source == "ecg"]
    truth = np.array([b.t_end_s for b in strap.generated if b.t_end_s > 20.0])
    found = np.array([b.t_s for b in ecg_beats])
    assert len(found) > 200
    nearest = np.abs(found[:, None] - truth[None, :]).min(axis=0)
    covered = truth[(truth > found[0]) & (truth < found[-1])]
    matched = nearest[(truth > found[0]) & (truth < found[-1])] < 0.04
    assert matched.mean() >= 0.995, f"{(~matched).sum()} of {len(covered)} beats not found within 40 ms"
    # the strap's clock runs 35 ppm fast; mapped back, beats sit within a few ms of the truth
    error_s = np.median(np.abs(found[:, None] - truth[None, :]).min(axis=1))
    assert error_s < 0.025
    # RR from R peaks agrees with the simulated RR to within a few ms
    truth_rr = {round(b.t_end_s, 2): b.rr_ms for b in strap.generated}
    errors = [abs(b.rr_ms - truth_rr[round(t, 2)]) for b in ecg_beats
              for t in [truth[np.argmin(np.abs(truth - b.t_s))]] if round(t, 2) in truth_rr]
    assert np.median(errors) < 4.0


def test_metrics_come_from_ecg_beats_while_ecg_streams(slow_breathing: tuple[Everything, SimulatedStrap]) -> None:
    sink, _ = slow_breathing
    ecg_times = {round(b.t_s, 6) for b in sink.of(Beat) if b.source == "ecg"}
    metrics = [m for m in sink.of(BeatMetrics) if m.rr_ms is not None and m.t_s > 30.0]
    assert metrics and sum(round(m.t_s, 6) in ecg_times for m in metrics) / len(metrics) > 0.99
    # clean simulated heart, two detectors agreeing: almost nothing flagged as a disagreement
    disagreements = sum(m.flag_reason is FlagReason.DISAGREES_WITH_STRAP for m in metrics)
    assert disagreements <= 0.01 * len(metrics)


def test_breathing_rate_from_the_chest_matches_the_simulator(slow_breathing: tuple[Everything, SimulatedStrap]) -> None:
    sink, strap = slow_breathing
    times = np.array([b.t_end_s for b in strap.generated])
    cycles = np.array([b.breath_cycles for b in strap.generated])  # the model's own breathing oscillator
    settled = [e for e in sink.of(BreathingEstimate) if e.valid and e.source == "acc" and 60.0 < e.t_s < 295.0]
    paced = [e for e in sink.of(BreathingEstimate) if e.valid and e.source == "acc" and e.t_s > 370.0]
    assert len(settled) > 150 and len(paced) > 30
    for estimate in settled + paced:
        window = (times > estimate.t_s - 45.0) & (times <= estimate.t_s)
        truth_bpm = 60.0 * (cycles[window][-1] - cycles[window][0]) / (times[window][-1] - times[window][0])
        assert abs(estimate.rate_bpm - truth_bpm) <= 1.0, (estimate.t_s, estimate.rate_bpm, truth_bpm)
    assert 10.0 < np.median([e.rate_bpm for e in settled]) < 14.0
    assert 5.0 < np.median([e.rate_bpm for e in paced]) < 7.0


def test_breathing_follows_a_pacer_at_its_rate_and_not_another(slow_breathing: tuple[Everything, SimulatedStrap]) -> None:
    sink, _ = slow_breathing
    paced = [e for e in sink.of(BreathingEstimate) if e.valid and e.source == "acc" and e.t_s > 370.0]
    six, twelve = PacerFollowing(), PacerFollowing()
    pacer_6, pacer_12 = Pacer(PacerSettings.from_rate(6.0), 300.0), Pacer(PacerSettings.from_rate(12.0), 300.0)
    for e in paced:
        a, b = pacer_6.at(e.t_s), pacer_12.at(e.t_s)
        at_six = six.push(e.t_s, e.phase, e.rate_bpm, a.cycle_fraction, a.settings.breaths_per_min)
        at_twelve = twelve.push(e.t_s, e.phase, e.rate_bpm, b.cycle_fraction, b.settings.breaths_per_min)
    assert at_six.valid and abs(at_six.rate_difference_bpm) <= 1.0
    assert at_twelve.valid and not at_twelve.following and abs(at_twelve.rate_difference_bpm) > 4.0


def test_movement_holds_the_state_model(tmp_path: Path) -> None:
    scenario = tmp_path / "move.toml"
    scenario.write_text('name = "move"\nduration = 240\n[[phase]]\nat = 0\nstate = "settled"\n'
                        '[[fault]]\nkind = "movement"\nat = 150\nduration = 8\n')
    events: list[TimelineEvent] = []
    baseline = Baseline(hr_ref=66.0, sd_hr=2.0, ln_ref=3.6, sd_ln=0.2, artifact_pct=0.0, source="history", window_s=300.0)
    session = RegulationSession("practitioner", {}, events.append, baseline=baseline)
    sink, _ = stream_h10(str(scenario), 220.0, also=session)
    moving = [e for e in sink.of(BreathingEstimate) if e.moving]
    assert moving and all(148.0 < e.t_s < 165.0 for e in moving)
    states = [(e.host_ns / 1e9, e.data["state"]) for e in events if e.kind == "state"]
    entered = [t for t, state in states if state == "moving"]
    assert entered and 149.0 < entered[0] < 153.0
    assert any(t > entered[0] and state != "moving" for t, state in states)  # judging resumed after it


def test_disagreeing_detectors_flag_the_beat() -> None:
    sink, strap = stream_h10("artifacts", 300.0, seed=6)
    missed_or_extra = [b.t_end_s for b in strap.generated if b.kind in ("missed", "extra")]
    assert missed_or_extra
    flagged = [m.t_s for m in sink.of(BeatMetrics) if m.flag_reason is FlagReason.DISAGREES_WITH_STRAP]
    # every place where the strap's RR missed or invented a beat shows up as a disagreement nearby
    for t in missed_or_extra:
        assert any(abs(f - t) < 2.5 for f in flagged), t
    # and the ECG itself times the real beats: no ECG RR near those places is implausible
    ecg_rr = np.array([b.rr_ms for b in sink.of(Beat) if b.source == "ecg"])
    assert ecg_rr.min() > 450 and ecg_rr.max() < 1400


def test_reconnect_restarts_the_raw_streams() -> None:
    sink, _ = stream_h10("dropout", 330.0, seed=7)
    ecg_starts = [e for e in sink.timeline("pmd_started") if e.data["measurement"] == "ecg"]
    assert len(ecg_starts) == 2  # once per connection
    assert any(e.data["by"] == "link" for e in sink.timeline("pmd_stopped"))
    after = [b for b in sink.of(Beat) if b.source == "ecg" and b.t_s > ecg_starts[1].host_ns / 1e9]
    assert len(after) > 10


def test_a_stream_the_strap_stops_is_reported_and_started_again(tmp_path: Path) -> None:
    scenario = tmp_path / "stop.toml"
    scenario.write_text('name = "stop"\nduration = 120\n[[phase]]\nat = 0\nstate = "settled"\n'
                        '[[fault]]\nkind = "pmd_stop"\nat = 40\n')
    sink, _ = stream_h10(str(scenario), 90.0)
    by_strap = [e for e in sink.timeline("pmd_stopped") if e.data["by"] == "strap"]
    assert {e.data["measurement"] for e in by_strap} == {"ecg", "acc"}
    assert len(sink.timeline("pmd_started")) == 4
    assert any(b.source == "ecg" and b.t_s > 50.0 for b in sink.of(Beat))


def test_a_link_too_small_for_frames_is_refused_clearly_and_heart_rate_goes_on() -> None:
    sink, _ = stream_h10("calm", 30.0, max_mtu=40)
    errors = sink.timeline("pmd_error")
    assert errors and all(e.data["status"] == PmdStatus.INVALID_MTU for e in errors)
    assert "MTU" in errors[0].data["text"]
    assert sum(1 for b in sink.of(Beat) if b.source == "strap") > 20


def test_small_mtu_gives_smaller_frames_that_still_decode() -> None:
    sink, _ = stream_h10("calm", 30.0, max_mtu=100)
    ecg = [decode_data_frame(n.payload) for n in sink.notifications
           if n.characteristic == POLAR_PMD_DATA and n.payload[0] == MeasurementType.ECG]
    assert ecg and all(len(f.samples) == (100 - 3 - 10) // 3 for f in ecg)
    assert sum(1 for b in sink.of(Beat) if b.source == "ecg") > 20


def test_the_simulated_control_point_names_its_errors() -> None:
    """Raw commands over bleak: a wrong rate and a repeated start get the H10's statuses."""
    answers: list[bytes] = []

    async def main() -> None:
        async with SimulatedRadio() as radio:
            strap = await radio.add_strap("calm", h10=True)
            device = await find_strap(radio.stack, strap.address, 10.0)
            assert device is not None
            client = radio.stack.client(device)
            await client.connect()
            await client.start_notify(POLAR_PMD_CONTROL_POINT, lambda _c, data: answers.append(bytes(data)))
            for request in (start_request(MeasurementType.ECG, {SettingType.SAMPLE_RATE: 250, SettingType.RESOLUTION: 14}),
                            start_request(MeasurementType.ECG, {SettingType.SAMPLE_RATE: 130, SettingType.RESOLUTION: 14}),
                            start_request(MeasurementType.ECG, {SettingType.SAMPLE_RATE: 130, SettingType.RESOLUTION: 14}),
                            bytes([0x02, 0x05])):
                await client.write_gatt_char(POLAR_PMD_CONTROL_POINT, request, response=True)
                await asyncio.sleep(0.5)
            await client.disconnect()

    run_in_session_time(main)
    statuses = [parse_control_message(a).status for a in answers]  # type: ignore[union-attr]
    assert statuses == [PmdStatus.INVALID_SAMPLE_RATE, PmdStatus.SUCCESS, PmdStatus.ALREADY_IN_STATE,
                        PmdStatus.NOT_SUPPORTED]


def test_recorded_raw_streams_replay_to_the_same_beats(tmp_path: Path) -> None:
    live = AnalysisCollector()
    path = record_simulated(tmp_path / "h10.sfsession", "calm", 90.0, also=live, seed=4, h10=True)
    replayed = AnalysisCollector()
    for item in read_session(path).timeline:
        (replayed.notification if isinstance(item, Notification) else replayed.event)(item)  # type: ignore[arg-type]
    live_beats = [(b.t_s, b.rr_ms) for _, b in live.outputs if isinstance(b, Beat) and b.source == "ecg"]
    replay_beats = [(b.t_s, b.rr_ms) for _, b in replayed.outputs if isinstance(b, Beat) and b.source == "ecg"]
    assert len(live_beats) > 60 and live_beats == replay_beats
    ecg_chunks = [c for _, c in replayed.outputs if isinstance(c, EcgChunk)]
    assert sum(len(c.uv) for c in ecg_chunks) > 80 * 130


def test_the_edf_export_carries_the_ecg(tmp_path: Path) -> None:
    import pyedflib

    from somafeedback.interop.export import export_session
    from somafeedback.sessions.raw_signals import decode_signals

    path = record_simulated(tmp_path / "h10.sfsession", "calm", 60.0, seed=5, h10=True)
    session = read_session(path)
    (edf,) = export_session(session, "edf", tmp_path / "out.edf")
    recorded = decode_signals(session.timeline)["strap1"]
    t, uv = recorded.ecg_samples()
    with pyedflib.EdfReader(str(edf)) as reader:
        labels = reader.getSignalLabels()
        ecg_index = labels.index("ECG strap1")
        assert reader.getSampleFrequency(ecg_index) == 130
        assert reader.getPhysicalDimension(ecg_index) == "uV"
        ecg = reader.readSignal(ecg_index)
    assert np.count_nonzero(ecg) >= 0.98 * len(uv)  # every recorded sample has its place
    # the same samples, in the same order, at their recorded times
    kept = ecg[np.flatnonzero(ecg)]
    assert np.allclose(np.sort(kept)[-200:], np.sort(uv[uv != 0])[-200:], atol=1.0)
    assert abs(float(np.max(ecg)) - float(np.max(uv))) <= 1.0
