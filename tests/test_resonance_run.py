"""The assessment run (resonance/run.py) driven by beat time, the exercise file, and the run inside a
RegulationSession on a simulated strap (pacer and resonance events recorded; following computed from them).

The run's measure and ranking are written in the tests (tests/resonance_fakes.py): the criteria's are
tested on their own; here what counts is which data each step was measured on and when.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from resonance_fakes import MEASURED, fake_measure, fake_rank, record_assessment

from somafeedback.devices.events import TimelineEvent
from somafeedback.hrv.pipeline import BeatMetrics, MetricsPipeline
from somafeedback.live.analysis import PACER_EVENT, pacer_from_data
from somafeedback.live.engine import Engine, EngineOptions, EngineSource, StrapOutput
from somafeedback.live.regulation_session import FOLLOWING_EVENT, RegulationSession
from somafeedback.regulation.exercises import ExerciseError, load_exercises, parse_exercise_text
from somafeedback.resonance.events import PROGRESS_EVERY_S, RESULT_EVENT, STEP_EVENT
from somafeedback.regulation.assessment_protocol import ResonanceProtocol
from somafeedback.resonance.run import AssessmentRun
from somafeedback.sessions.file import read_session

SHORT = ResonanceProtocol(rates_bpm=(6.0, 5.0), step_s=60.0, settle_s=15.0, rest_s=20.0)  # 140 s


def _beats(t0: float, t1: float) -> list[BeatMetrics]:
    """One beat a second (RR swinging 900..1100 ms) from t0 to t1."""
    pipeline = MetricsPipeline()
    out, t = [], t0
    while t <= t1:
        out.append(pipeline.push_beat(t, 1000.0 + 100.0 * math.sin(t), 0))
        t += 1.0
    return out


def _drive(run: AssessmentRun, beats: list[BeatMetrics]) -> list[tuple[str, float, dict]]:
    events = run.begin(beats[0].t_s)
    for beat in beats:
        events += run.feed(beat)
    return events


def _actions(events: list[tuple[str, float, dict]]) -> list[tuple[str, float]]:
    return [(data.get("action", kind), round(t, 3)) for kind, t, data in events]


def test_timeline_steps_rests_settle_progress_and_result() -> None:
    MEASURED.clear()
    run = AssessmentRun(SHORT, fake_measure, fake_rank, client="Client A")
    pacers: list[tuple[float, object]] = []
    events = run.begin(0.0)
    for beat in _beats(0.0, 150.0):
        events += run.feed(beat)
        pacers.append((beat.t_s, run.pacer))
    progress_1 = [15.0 + PROGRESS_EVERY_S * k for k in range(1, 5)]  # 25..55 s: the scored part of step 1
    progress_2 = [95.0 + PROGRESS_EVERY_S * k for k in range(1, 5)]
    assert _actions(events) == ([("begin", 0.0), ("start", 0.0)] + [("progress", t) for t in progress_1]
                                + [("end", 60.0), ("rest", 60.0), ("start", 80.0)] + [("progress", t) for t in progress_2]
                                + [("end", 140.0), (RESULT_EVENT, 140.0)])
    assert events[0][2]["client"] == "Client A" and events[0][2]["planned_s"] == SHORT.duration_s
    starts = [d for _, _, d in events if d.get("action") == "start"]
    assert [(d["step"], d["rate_bpm"], d["scored_from_s"], d["ends_s"]) for d in starts] == [(0, 6.0, 15.0, 60.0), (1, 5.0, 95.0, 140.0)]
    ends = [d["measures"] for _, _, d in events if d.get("action") == "end"]
    assert [(m["t0_s"], m["t1_s"], m["beats"]) for m in ends] == [(15.0, 60.0, 45), (95.0, 140.0, 45)]  # settling left out: [15, 60)
    for data in MEASURED:  # every measure (progress too) only on beats of its scored span
        assert data.beat_t_s.size and data.t0_s <= data.beat_t_s.min() and data.beat_t_s.max() <= data.t1_s
    assert all((p is None) == (60.0 <= t < 80.0 or t >= 140.0) for t, p in pacers)  # no pacer while resting
    assert run.finished and run.result is not None and run.result.best_rate_bpm in (5.0, 6.0)
    assert run.tick(500.0) == [] and run.pacer is None


def test_skip_repeat_and_stop() -> None:
    run = AssessmentRun(SHORT, fake_measure, fake_rank)
    events = _drive(run, _beats(0.0, 30.0))
    events += run.control("repeat", 30.0)  # the first step again, new index
    events += run.control("skip", 40.0)  # skipped before its settling ended: measured on nothing
    events += run.control("skip", 45.0)  # the rest skipped: the next step at once
    assert run.current is not None and (run.current["step"], run.current["index"], run.current["started_s"]) == (1, 2, 45.0)
    events += run.control("stop", 70.0, by="client", reason="the client tapped 'dizzy'")
    assert _actions(events)[-8:] == [("repeat", 30.0), ("start", 30.0), ("skipped", 40.0), ("rest", 40.0),
                                     ("start", 45.0), ("progress", 70.0), ("stopped", 70.0), (RESULT_EVENT, 70.0)]
    stopped = events[-2][2]
    assert (stopped["by"], stopped["reason"], stopped["index"]) == ("client", "the client tapped 'dizzy'", 2)
    result = events[-1][2]
    assert result["complete"] is False and [s["index"] for s in result["steps"]] == [1, 2]
    assert run.pacer is None and run.control("skip", 80.0) == []
    with pytest.raises(ValueError):
        AssessmentRun(SHORT, fake_measure, fake_rank).control("faster", 0.0)


def test_memory_stays_bounded_to_the_current_step() -> None:
    """An hour of repeats: the run holds no more than one step's scored beats at any time."""
    protocol = ResonanceProtocol(rates_bpm=(6.0,), step_s=60.0, settle_s=15.0, rest_s=0.0)
    run = AssessmentRun(protocol, fake_measure, fake_rank)
    run.begin(0.0)
    pipeline, most = MetricsPipeline(), 0
    for second in range(3600):
        run.feed(pipeline.push_beat(float(second), 1000.0, 0))
        if second % 50 == 49:
            run.control("repeat", float(second))
        most = max(most, len(run._step.beats) if run._step is not None else 0)  # noqa: SLF001 - the bound itself
    assert 0 < most <= 60 - 15 + 1


def test_the_exercise_file_parses_and_is_listed(capsys: pytest.CaptureFixture[str]) -> None:
    from somafeedback.cli.main import main

    exercise = load_exercises()["resonance-assessment"]
    assert exercise.role == "resonance-assessment" and exercise.where == {"session", "home"}
    assert exercise.assessment == ResonanceProtocol() and exercise.duration_s == 45.0 + ResonanceProtocol().duration_s
    assert any("light-headed" in c and "breathe normally" in c for c in exercise.cautions)
    assert main(["exercises"]) == 0 and "Assess breathing rate" in capsys.readouterr().out
    text = Path(exercise.source).read_text(encoding="utf-8").replace("rates_bpm = [6.5, 6.0, 5.5, 5.0, 4.5]", "rates_bpm = [12.0]")
    with pytest.raises(ExerciseError, match="resonance-assessment.toml: assessment: breathing rate 12/min"):
        parse_exercise_text(text, exercise.source)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RegulationSession]:
    path = tmp_path_factory.mktemp("assessment") / "assessment.session.sqlite"
    return path, record_assessment(path)


def test_the_session_records_pacer_and_resonance_events_and_following_comes_from_them(
        recorded: tuple[Path, RegulationSession]) -> None:
    path, session = recorded
    events = [e for e in read_session(path).timeline if isinstance(e, TimelineEvent)]
    steps = [e for e in events if e.kind == STEP_EVENT]
    assert [e.data["action"] for e in steps if e.data["action"] != "progress"] == ["begin", "start", "end", "rest", "start", "end"]
    assert steps[0].host_ns / 1e9 < 3.0  # from the first beat: no baseline first
    pacers = [e for e in events if e.kind == PACER_EVENT]
    rates = [(round(e.host_ns / 1e9, 3), e.data.get("breaths_per_min")) for e in pacers]
    starts = [round(e.data["started_s"], 3) for e in steps if e.data["action"] == "start"]
    rest = next(e for e in steps if e.data["action"] == "rest")
    assert rates == [(starts[0], 6.0), (round(rest.host_ns / 1e9, 3), None), (starts[1], 5.0), (rates[-1][0], None)]
    first = pacer_from_data(pacers[0].data)
    assert first is not None and first.start_s == starts[0]
    following = [e for e in events if e.kind == FOLLOWING_EVENT]
    in_steps = [e for e in following if any(s <= e.host_ns / 1e9 <= s + 80.0 for s in starts)]
    assert in_steps and any(e.data.get("valid") for e in in_steps)
    assert all(e.data.get("pacer_bpm") in (6.0, 5.0, None) for e in in_steps)
    result = [e for e in events if e.kind == RESULT_EVENT]
    assert len(result) == 1 and [s["rate_bpm"] for s in result[0].data["steps"]] == [6.0, 5.0]
    assert session.resonance.run is not None and session.resonance.run.result is not None
    assert result[0].data == session.resonance.run.result.as_dict()


def test_the_engine_starts_and_stops_an_assessment_from_another_thread() -> None:
    engine = Engine(EngineSource(simulate="calm", speed=60.0), EngineOptions())
    engine.start()
    got: list = []

    def until(done, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not done() and time.monotonic() < deadline:
            got.extend(i.output if isinstance(i, StrapOutput) else i for i in engine.drain())
            time.sleep(0.02)
        assert done(), f"timed out; got {len(got)} items"

    def events(kind: str) -> list[TimelineEvent]:
        return [i for i in got if isinstance(i, TimelineEvent) and i.kind == kind]

    try:
        until(lambda: sum(isinstance(i, BeatMetrics) for i in got) >= 5)
        engine.call(lambda: setattr(engine.session.resonance, "measure", fake_measure))
        engine.call(lambda: setattr(engine.session.resonance, "rank", fake_rank))
        engine.start_assessment(SHORT)
        until(lambda: any(e.data.get("running") for e in events(PACER_EVENT)))
        with pytest.raises(ValueError):
            engine.assessment_control("faster")
        engine.assessment_control("stop")
        until(lambda: bool(events(RESULT_EVENT)))
    finally:
        engine.stop()
    assert [e.data["action"] for e in events(STEP_EVENT)][:2] == ["begin", "start"]
    assert events(STEP_EVENT)[-1].data["by"] == "practitioner"
    assert [e.data.get("breaths_per_min") for e in events(PACER_EVENT)] == [6.0, None]
    assert engine.error is None


def test_without_chest_motion_the_phase_comes_from_ecg_derived_breathing() -> None:
    """No accelerometer: the step's breathing is the ECG-derived respiration (R amplitudes falling while
    breathing in), and its HR–breath phase agrees with the one chest-motion breathing would give."""
    from somafeedback.regulation.pacer import Pacer, PacerSettings
    from somafeedback.resonance.criteria import measure_step
    from somafeedback.signals.chest_motion import BreathingEstimate
    from somafeedback.signals.ecg_respiration import EcgRespiration

    protocol = ResonanceProtocol(rates_bpm=(6.0,), step_s=150.0, settle_s=30.0, rest_s=0.0)
    pacer = Pacer(PacerSettings.from_rate(6.0, 0.4), 0.0)

    def lung(t: float) -> float:  # the pacer's drawn lung volume, 0..1
        return pacer.at(t).target_level

    def run_with(estimates: str) -> dict:
        run = AssessmentRun(protocol, measure_step, client=None)
        edr, pipeline, t, last = EcgRespiration(), MetricsPipeline(), 0.0, -1.0
        events = run.begin(0.0)
        while t < 160.0:
            # RR shortest (heart rate highest) at full lungs: in phase (0°); a beat's RR belongs to its end (~1 s on)
            rr = 1000.0 - 120.0 * (lung(t + 1.0) - 0.5)
            t += rr / 1000.0
            edr.push_peak(t, 1000.0 * (1.0 - 0.1 * (lung(t) - 0.5)))  # R amplitude falls while breathing in
            events += run.feed(pipeline.push_beat(t, rr, 0))
            if int(t) > last:
                last = int(t)
                state = pacer.at(t)
                acc = BreathingEstimate(t, 6.0, state.cycle_fraction, 10.0, True, "", False, "acc")
                ecg = edr.estimate(t)
                for estimate in ((ecg,) if estimates == "ecg" else (acc, ecg)):
                    if estimate is not None:
                        events += run.feed(estimate)
        return next(d for _, _, d in events if d.get("action") == "end")["measures"]

    from_ecg, from_both = run_with("ecg"), run_with("acc and ecg")
    assert from_ecg["breathing_source"] == "ecg" and from_both["breathing_source"] == "acc"  # chest motion first
    assert abs(from_both["hr_breath_phase_deg"]) < 10.0
    assert abs(from_ecg["hr_breath_phase_deg"] - from_both["hr_breath_phase_deg"]) < 30.0
