"""Pendulation swings: the rule on synthetic HR series with known swings, the boundaries, swings not back,
HR30 equal to the state model's, live and recorded paths agreeing, and the pendulation-swings scenario."""

from __future__ import annotations

import asyncio
import math
import statistics
from pathlib import Path

import numpy as np
import pytest
from session_helpers import run_in_session_time

from somafeedback.clock import LoopClock
from somafeedback.devices.events import TimelineEvent
from somafeedback.devices.simulator.physiology import HeartModel
from somafeedback.devices.simulator.radio import SimulatedRadio
from somafeedback.devices.simulator.scenario import load_scenario
from somafeedback.devices.supervisor import StrapSupervisor
from somafeedback.live.analysis import LiveAnalysis
from somafeedback.regulation.pendulation import (
    BACK_HOLD_S,
    MIN_ABOVE_S,
    MIN_HEIGHT_BPM,
    Band,
    Hr30,
    LiveSwings,
    Outcome,
    SwingTracker,
    bands_of,
    session_swings,
    swings_from_beats,
)
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.regulation.states import Baseline, RegulationModel
from somafeedback.live.regulation_session import RegulationSession
from somafeedback.sessions.file import SessionWriter, read_session
from somafeedback.live.sinks import FanOut

BAND = Band(hr_ref_bpm=66.0, band_top_bpm=70.0)
STEP_S = 1.0  # s between HR30 values of the synthetic series


def _series(shape: list[tuple[float, float]], end_s: float) -> list[tuple[float, float]]:
    """(t, HR30) every STEP_S, linear between the (t, bpm) corners of ``shape``."""
    ts = np.arange(0.0, end_s + 1e-9, STEP_S)
    xs, ys = zip(*shape, strict=True)
    return [(float(t), float(np.interp(t, xs, ys))) for t in ts]


def _run(series: list[tuple[float, float | None]], band: Band = BAND, finish_s: float | None = None) -> SwingTracker:
    tracker = SwingTracker(band)
    for t, hr in series:
        tracker.update(t, hr)
    tracker.finish(series[-1][0] if finish_s is None else finish_s)
    return tracker


def _expected(series: list[tuple[float, float]], top: float) -> list[dict[str, float]]:
    """Independent reading of a clean series: every stretch above ``top``, its max and the first value back."""
    out, inside = [], None
    for t, hr in series:
        if hr > top and inside is None:
            inside = {"start": t, "peak": hr, "peak_s": t}
        elif hr > top and inside is not None and hr > inside["peak"]:
            inside.update(peak=hr, peak_s=t)
        elif hr <= top and inside is not None:
            inside["back"] = t
            out.append(inside)
            inside = None
    return out


# -- the rule on synthetic series ------------------------------------------------------------------------
def test_two_swings_of_known_height_and_recovery() -> None:
    shape = [(0, 64), (100, 65), (130, 80), (160, 80), (250, 66),  # swing 1: peak 80 at 130 s
             (400, 66), (430, 74), (460, 66), (600, 65)]  # swing 2: peak 74 at 430 s
    series = _series(shape, 600)
    tracker = _run(series)
    want = _expected(series, BAND.band_top_bpm)
    assert len(want) == 2 and len(tracker.swings) == 2
    for swing, ref in zip(tracker.swings, want, strict=True):
        assert swing.outcome is Outcome.BACK
        assert swing.start_s == ref["start"] and swing.peak_s == ref["peak_s"] and swing.back_s == ref["back"]
        assert swing.peak_bpm == pytest.approx(ref["peak"])
        assert swing.peak_above_usual_bpm == pytest.approx(ref["peak"] - 66.0)
        assert swing.recovery_s == pytest.approx(ref["back"] - ref["peak_s"])
        assert swing.rise_s == pytest.approx(ref["peak_s"] - ref["start"])
    # by hand: swing 1 rises from 65 (100 s) to 80 (130 s): above 70 from 110 s; back from 80 (160 s) down to
    # 66 (250 s) crosses 70 at 160 + 90 * 10/14 = 224.3 s, the first whole second at or below it is 225 s
    assert tracker.swings[0].start_s == 111.0 and tracker.swings[0].peak_s == 130.0
    assert tracker.swings[0].recovery_s == pytest.approx(225.0 - 130.0)
    assert [s.number for s in tracker.swings] == [1, 2]


def test_just_below_the_minimum_height_is_no_swing_and_at_it_is_one() -> None:
    top = BAND.band_top_bpm
    low = _series([(0, 66), (100, 66), (110, top + MIN_HEIGHT_BPM - 0.1), (200, top + MIN_HEIGHT_BPM - 0.1),
                   (210, 66), (300, 66)], 300)
    assert _run(low).swings == []
    high = _series([(0, 66), (100, 66), (110, top + MIN_HEIGHT_BPM), (200, top + MIN_HEIGHT_BPM),
                    (210, 66), (300, 66)], 300)
    assert len(_run(high).swings) == 1


def test_a_high_but_brief_excursion_is_no_swing() -> None:
    brief = [(float(t), 66.0) for t in range(100)]
    brief += [(100.0 + k, 85.0) for k in range(int(MIN_ABOVE_S) - 2)]  # above for less than MIN_ABOVE_S
    brief += [(200.0 + k, 66.0) for k in range(60)]
    assert _run(brief).swings == []
    longer = [(float(t), 66.0) for t in range(100)] + [(100.0 + k, 85.0) for k in range(int(MIN_ABOVE_S) + 2)]
    longer += [(200.0 + k, 66.0) for k in range(60)]
    assert len(_run(longer).swings) == 1


def test_a_swing_not_back_by_the_end_is_kept_and_says_so() -> None:
    series = _series([(0, 66), (100, 66), (150, 84), (300, 82)], 300)
    tracker = _run(series)
    (swing,) = tracker.swings
    assert swing.outcome is Outcome.NOT_BACK and swing.back_s is None and swing.recovery_s is None
    assert swing.recovery_text == "not back by the end"
    assert swing.peak_bpm == pytest.approx(84.0) and swing.peak_s == 150.0


def test_a_gap_before_the_return_says_signal_lost_and_the_same_rise_is_not_counted_twice() -> None:
    series: list[tuple[float, float | None]] = list(_series([(0, 66), (100, 66), (130, 84), (200, 84)], 200))
    series += [(201.0 + k, None) for k in range(20)]  # no HR30 (the strap's data stopped)
    series += [(221.0 + k, 83.0) for k in range(60)]  # back still above: the same excursion, not a new swing
    series += [(281.0 + k, 66.0) for k in range(60)]
    tracker = _run(series)  # type: ignore[arg-type]
    (swing,) = tracker.swings
    assert swing.outcome is Outcome.SIGNAL_LOST and swing.recovery_text == "signal lost before return"
    assert swing.last_above_s == 200.0


def test_a_wobble_on_the_line_does_not_split_a_swing() -> None:
    top = BAND.band_top_bpm
    series = [(float(t), 66.0) for t in range(60)] + [(60.0 + k, 80.0) for k in range(60)]
    series += [(120.0 + k, top) for k in range(int(BACK_HOLD_S) - 2)]  # back for less than the hold
    series += [(130.0 + k, 78.0) for k in range(40)] + [(170.0 + k, 66.0) for k in range(60)]
    tracker = _run(series)
    (swing,) = tracker.swings
    assert swing.start_s == 60.0 and swing.back_s == 170.0 and swing.outcome is Outcome.BACK


def test_live_updates_show_the_running_swing_then_its_return() -> None:
    tracker = SwingTracker(BAND)
    seen = []
    for t, hr in _series([(0, 66), (100, 66), (130, 84), (160, 84), (220, 66), (300, 66)], 300):
        seen += tracker.update(t, hr)
    assert seen[0].outcome is Outcome.ONGOING and seen[0].start_s + MIN_ABOVE_S <= 200
    assert seen[-1].outcome is Outcome.BACK and len(tracker.swings) == 1 and tracker.running is None


def test_no_band_no_swings_and_a_new_baseline_ends_a_running_swing() -> None:
    series = _series([(0, 66), (100, 66), (130, 84), (300, 84)], 300)
    assert _run(series, band=None).swings == []  # type: ignore[arg-type]
    tracker = SwingTracker(BAND)
    for t, hr in series:
        tracker.update(t, hr)
    tracker.set_band(None, 300.0)  # measuring again
    assert tracker.swings[0].outcome is Outcome.RANGE_CHANGED


def test_bands_from_recorded_events() -> None:
    data = Baseline(66.0, 2.0, 3.6, 0.1, 0.0, "calibration", 240.0).as_dict()
    events = [TimelineEvent("baseline", 300_000_000_000, 0.0, {**data, "clean_s": 240.0}),  # extra keys are read past
              TimelineEvent("calibration", 600_000_000_000, 0.0, {"action": "restarted"}),
              TimelineEvent("calibration", 700_000_000_000, 0.0, {"action": "skipped", "baseline": {**data, "hr_ref": 60.0}})]
    bands = bands_of(events, origin_ns=0)
    assert [t for t, _ in bands] == [300.0, 600.0, 700.0]
    assert bands[0][1] == Band(66.0, 66.0 + max(4.0, 1.25 * 2.0)) and bands[1][1] is None
    assert bands[2][1] is not None and bands[2][1].hr_ref_bpm == 60.0
    assert bands_of([], 0, manifest_baseline=data) == [(-math.inf, Band(66.0, 70.0))]
    high = {**data, "hr_ref": 80.0, "above_usual_range": True, "usual": data}  # judged against the usual range
    assert bands_of([TimelineEvent("baseline", 0, 0.0, high)], 0) == [(0.0, Band(66.0, 70.0))]


def test_hr30_is_the_median_of_the_accepted_beats_of_the_last_30_s() -> None:
    hr30 = Hr30()
    t, values = 0.0, []
    rng = np.random.default_rng(3)
    rows = []
    for k in range(200):
        rr = float(rng.uniform(700, 1000))
        t += rr / 1000.0
        flagged = k % 17 == 0
        rows.append((t, rr, flagged))
        values.append(hr30.beat(t, rr, flagged))
    for i, (t, _, _) in enumerate(rows):
        window = [60000.0 / rr for tb, rr, f in rows[: i + 1] if tb > t - 30.0 and not f]
        assert values[i] == (statistics.median(window) if len(window) >= 10 else None)
    hr30.gap()
    assert hr30.beat(t + 1.0, 800.0, False) is None


# -- a recorded session: the pendulation-swings scenario ---------------------------------------------------
SCENARIO = "pendulation-swings"
TOLERANCE_S = 30.0  # s: HR30 trails the beats by up to ~15 s, and the simulated heart rate wanders (drift)
HEIGHT_TOLERANCE_BPM = 4.0


def _record(path: Path, scenario: str, duration_s: float, seed: int = 1) -> Path:
    """A simulated strap through the BLE path, with the regulation loop recording its baselines and states."""

    async def main() -> None:
        clock = LoopClock(asyncio.get_running_loop())
        writer = SessionWriter(path, clock, {"client": "Client P", "mode": "practitioner"})
        session = RegulationSession("practitioner", {}, lambda event: None, recorder=writer)
        async with SimulatedRadio() as radio:
            strap = await radio.add_strap(scenario, seed=seed)
            supervisor = StrapSupervisor(radio.stack, FanOut(writer, session), clock, strap_id="strap1",
                                         address=strap.address)
            task = asyncio.create_task(supervisor.run())
            await asyncio.sleep(max(0.0, duration_s - clock.now()))
            supervisor.stop()
            await task
        writer.close("stopped")

    run_in_session_time(main)
    return path


@pytest.fixture(scope="module")
def swings_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    duration = load_scenario(SCENARIO).duration_s
    return _record(tmp_path_factory.mktemp("pendulation") / "swings.session.sqlite", SCENARIO, duration)


def _origin_ns(session) -> int:
    return min(item.host_ns for item in session.timeline if hasattr(item, "host_ns"))


def _layout_swings(top: float, hr_ref: float) -> list[dict[str, float]]:
    """The scenario's own heart rate (the blended state parameters, no noise) read against the band top."""
    scenario = load_scenario(SCENARIO)
    model = HeartModel(scenario)
    series = [(float(t), model.params_at(t).hr_bpm) for t in range(int(scenario.duration_s))]
    return [dict(s, height=s["peak"] - hr_ref) for s in _expected(series, top)]


def test_the_scenario_gives_its_swings_with_their_recovery_times(swings_session: Path) -> None:
    session = read_session(swings_session)
    swings, judged = session_swings(session, _origin_ns(session))
    assert judged
    band = swings[0]
    layout = _layout_swings(band.band_top_bpm, band.hr_ref_bpm)
    assert len(layout) == 4 and len(swings) == len(layout)
    for swing, ref in zip(swings, layout, strict=True):
        assert swing.outcome is Outcome.BACK
        assert swing.start_s == pytest.approx(ref["start"], abs=TOLERANCE_S)
        assert swing.recovery_s == pytest.approx(ref["back"] - ref["peak_s"], abs=TOLERANCE_S)
        assert swing.peak_above_usual_bpm == pytest.approx(ref["height"], abs=HEIGHT_TOLERANCE_BPM)
    assert swings[0].recovery_s > 2 * max(s.recovery_s for s in swings[1:])  # the slow first return stands out


def test_live_path_equals_the_recorded_path_and_hr30_equals_the_state_models(swings_session: Path) -> None:
    """Fed beat by beat as the live window is (metric sets and events), the same swings as read afterwards;
    and HR30 at every beat equal to the state model's."""
    session = read_session(swings_session)
    origin = _origin_ns(session)
    analysis, live, model, hr30 = LiveAnalysis(metrics=True), LiveSwings(), RegulationModel(), Hr30()
    differences = 0
    beats: list[BeatMetrics] = []
    for item in session.timeline:
        outputs = analysis.on_notification(item) if hasattr(item, "payload") else analysis.on_event(item)
        for strap, output in outputs:
            if strap == "strap1" and isinstance(output, BeatMetrics):
                beats.append(output)
                model.update(output)
                live.metrics(output)
                if output.rr_ms is None:
                    hr30.gap()
                elif hr30.beat(output.t_s, output.rr_ms, output.flagged) != model.features.hr30:
                    differences += 1
        if isinstance(item, TimelineEvent):
            live.event(item)
    live.finish()
    assert len(beats) > 1500 and differences == 0
    recorded, _ = session_swings(session, origin)
    assert len(live.swings) == len(recorded) == 4
    for a, b in zip(live.swings, recorded, strict=True):
        assert a.start_s - origin / 1e9 == pytest.approx(b.start_s, abs=1e-6)
        assert a.peak_bpm == pytest.approx(b.peak_bpm) and a.recovery_s == pytest.approx(b.recovery_s)
    again = swings_from_beats([(m.t_s, m.rr_ms, m.flagged) for m in beats],
                              [(t + origin / 1e9, band) for t, band in bands_of(
                                  [e for e in session.events if isinstance(e, TimelineEvent)], origin)])
    assert [s.as_dict() for s in again] == [s.as_dict() for s in live.swings]
