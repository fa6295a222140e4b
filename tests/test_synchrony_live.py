"""Synchrony live in the engine: two simulated people, the injected lag, replay, the chance level off the beat path,
confounds from what the engine knows, and the LSL Synchrony stream."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from somafeedback.devices.events import TimelineEvent
from somafeedback.devices.simulator.dyad import dyad_truth, load_dyad
from somafeedback.devices.simulator.physiology import HeartModel
from somafeedback.hrv.pipeline import MetricsPipeline
from somafeedback.live.engine import Engine, EngineItem, EngineOptions, EngineSource
from somafeedback.live.synchrony_stage import SynchronyStage, inline_submit
from somafeedback.remote.clock_sync import CLOCK_EVENT
from somafeedback.signals.chest_motion import BreathingEstimate
from somafeedback.signals.pacer_following import FollowingEstimate
from somafeedback.synchrony.pair_window import PLAIN_STRAP_TIMING, PairWindow, describe
from somafeedback.synchrony.confounds import SHARED_BREATHING
from somafeedback.synchrony.surrogates import ChanceLevel, windows_chance_level
from somafeedback.synchrony.windows import compute_windows

SCENARIO = "dyad-in-phase"
UNTIL_S = 820.0  # session s: through the second coupled span (10:30-13:30) and the windows that end in it
TIMEOUT_S = 90.0


def _windows(items: list[EngineItem]) -> list[PairWindow]:
    return [i for i in items if isinstance(i, PairWindow)]


def _run_until(engine: Engine, done) -> list[EngineItem]:
    """Drain the engine until ``done(items)`` or it finishes (bounded)."""
    items: list[EngineItem] = []
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        items += engine.drain()
        if done(items) or engine.finished.is_set():
            return items + engine.drain()
        time.sleep(0.05)
    raise AssertionError(f"timed out with {len(_windows(items))} synchrony windows")


def _live_and_replay(scenario: str, until_s: float, library: Path) -> tuple[list[PairWindow], list[PairWindow]]:
    """The windows of a live engine on two simulated people (two plain straps at max speed, recorded into
    ``library``) until a window starts after ``until_s``, and of the replay of that recording."""
    engine = Engine(EngineSource(simulate=scenario, speed=math.inf, simulated_model="hr"),
                    EngineOptions(record_to=library))
    engine.start()
    try:
        items = _run_until(engine, lambda got: any(w.window.start_s > until_s for w in _windows(got[-50:])))
    finally:
        engine.stop()
    items += engine.drain()
    assert engine.error is None and engine.recording is not None
    replay = Engine(EngineSource(replay=engine.recording, speed=math.inf))
    replay.start()
    replayed = _run_until(replay, lambda got: False)
    assert replay.error is None
    return _windows(items), _windows(replayed)


@pytest.fixture(scope="module")
def live_and_replay(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[PairWindow], list[PairWindow]]:
    """The windows of a live engine on two simulated people (recorded), and of the replay of that recording."""
    return _live_and_replay(SCENARIO, UNTIL_S, tmp_path_factory.mktemp("dyad"))


def test_the_injected_lag_is_recovered_client_after_practitioner(live_and_replay) -> None:
    live, _ = live_and_replay
    assert {w.pair for w in live} == {("strap2", "strap1")}  # A the practitioner, B the client
    span = dyad_truth(SCENARIO)[1]  # the strong span: practitioner leads by 2 s
    inside = [w.window for w in live if w.window.r is not None
              and span.full_start_s <= w.window.start_s and w.window.end_s <= span.full_end_s]
    assert len(inside) >= 15
    assert all(w.r is not None and w.r > 0 for w in inside)  # in phase
    assert float(np.median([w.lag_s for w in inside])) == pytest.approx(span.lag_from("practitioner"), abs=0.5)
    assert span.lag_from("practitioner") > 0  # positive: the client followed
    judged = [w for w in live if w.window.above_chance is not None]
    assert judged and judged[-1].effect_size is not None  # a chance level arrived and judged later windows


def test_a_replay_of_the_recorded_session_gives_the_same_windows(live_and_replay) -> None:
    live, replayed = live_and_replay
    assert len(live) > 100
    assert [w.row() for w in replayed] == [w.row() for w in live]


def test_windows_say_when_beats_were_timed_without_ecg(live_and_replay) -> None:
    """Two plain straps: every window carries the timing note (in its words too); two H10s streaming ECG: none
    once the ECG times both people's beats."""
    live, _ = live_and_replay
    assert all(w.timing_note == PLAIN_STRAP_TIMING for w in live)
    said = next(w for w in live if w.window.lag_s is not None)
    assert said.text().endswith("; " + PLAIN_STRAP_TIMING) and said.row()["timing_note"] == PLAIN_STRAP_TIMING
    engine = Engine(EngineSource(simulate=SCENARIO, speed=math.inf, simulated_model="h10"), EngineOptions())
    engine.start()
    try:
        h10 = _windows(_run_until(engine, lambda got: len(_windows(got)) >= 12))
    finally:
        engine.stop()
    assert h10[-1].timing_note is None and h10[-1].text() == describe(h10[-1].window)


# ------------------------------------------------------------------ the stage, driven chunk by chunk


def _model_outputs(until_s: float, scenario: str = SCENARIO) -> list[list[tuple[str, object]]]:
    """Both people's beats as the analysis outputs them (real metric sets), one notification per beat, in time order."""
    dyad = load_dyad(scenario)
    beats = [(b.t_end_s, strap, b.rr_1024 / 1.024) for strap, person in (("strap1", dyad.client),
                                                                       ("strap2", dyad.practitioner))
             for b in HeartModel(person).beats_until(until_s)]
    pipelines = {"strap1": MetricsPipeline(), "strap2": MetricsPipeline()}
    return [[(strap, pipelines[strap].push_beat(t, rr))] for t, strap, rr in sorted(beats)]


def test_the_chance_level_is_computed_off_the_beat_path_and_judges_later_windows() -> None:
    jobs: list[tuple[Callable[[], ChanceLevel], Future[ChanceLevel]]] = []

    def held(function: Callable[..., Any], *args: Any) -> Future[Any]:  # the worker has not run the job yet
        if function is compute_windows:  # the windows' jobs run at once
            return inline_submit(function, *args)
        future: Future[Any] = Future()
        if function is windows_chance_level:
            jobs.append((lambda: function(*args), future))
        return future

    stage = SynchronyStage(submit=held)
    windows: list[PairWindow] = []
    outputs = iter(_model_outputs(400.0))
    while len(windows) < 20:  # the job of window 12 stays pending: the beats keep flowing, windows keep coming
        windows += stage.outputs(next(outputs))
    assert len(jobs) == 1 and not jobs[0][1].done()
    assert all(w.window.above_chance is None and w.effect_size is None for w in windows)
    job, future = jobs[0]
    future.set_result(job())  # the worker finishes; the next window on the loop takes it
    later: list[PairWindow] = []
    while not later:
        later = stage.outputs(next(outputs))
    valued = [w for w in later if w.window.z is not None]
    assert valued and valued[0].window.above_chance is not None and valued[0].effect_size is not None
    assert stage.pairs["strap1"].chance.surrogates >= 100


def test_the_beat_path_only_hands_windows_to_the_worker_and_they_come_out_in_order() -> None:
    """With the worker held, the beats keep flowing and no window is computed; once its jobs run, the next
    notification gives every window, in window order, with the values an inline stage gives them."""
    jobs: list[tuple[Callable[..., Any], tuple[Any, ...], Future[Any]]] = []

    def held(function: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        jobs.append((function, args, future))
        return future

    stage, inline = SynchronyStage(submit=held), SynchronyStage()
    outputs = _model_outputs(200.0)
    expected = [w for beat in outputs[:-1] for w in inline.outputs(beat)]
    assert len(expected) >= 10
    assert not [w for beat in outputs[:-1] for w in stage.outputs(beat)]
    assert stage.pairs["strap1"].tracker.windows == []  # nothing computed on the beat path
    assert sum(function is compute_windows for function, _, _ in jobs) >= len(expected) // 2
    for function, args, future in jobs:  # the worker runs the jobs
        future.set_result(function(*args))
    made = stage.outputs(outputs[-1])
    assert [w.window.index for w in made][:len(expected)] == list(range(len(expected)))
    values = [(w.window.start_s, w.window.r, w.window.lag_s, w.window.confounds) for w in made]
    assert values[:len(expected)] == [(w.window.start_s, w.window.r, w.window.lag_s, w.window.confounds)
                                      for w in expected]  # judged live: the chance job is still held


def test_confounds_come_from_movement_a_shared_pacer_and_an_uncertain_clock() -> None:
    stage = SynchronyStage()
    outputs = _model_outputs(300.0)

    def moving(strap: str, t_s: float) -> tuple[str, BreathingEstimate]:
        return strap, BreathingEstimate(t_s, math.nan, math.nan, math.nan, False, "movement", True, "acc")

    def following(strap: str, t_s: float, on: bool) -> tuple[str, FollowingEstimate]:
        return strap, FollowingEstimate(t_s, 0.9, 0.1, 0.0, on, True, "", 60, 60.0, 6.0, "acc")

    still = ("strap1", replace(moving("strap1", 95.0)[1], moving=False))
    extra = {95.0: [still], 100.0: [moving("strap1", 100.0), moving("strap1", 105.0)],  # the client moves 95..105 s
             150.0: [following("strap1", 150.0, True), following("strap2", 150.0, True)],  # both from 140 s ...
             160.0: [following("strap1", 160.0, True), following("strap2", 160.0, False)],  # ... to 150 s
             200.0: [following("strap1", 200.0, True)]}  # the client alone: no shared pacer
    windows: list[PairWindow] = []
    clock = TimelineEvent(CLOCK_EVENT, round(230e9), 0.0, {"uncertainty_s": 0.2})
    for beat in outputs:
        t_s = beat[0][1].t_s  # type: ignore[attr-defined]
        for at_s in [at for at in extra if at <= t_s]:
            windows += stage.outputs(extra.pop(at_s))
        if t_s >= 230.0 and clock is not None:
            stage.event(clock)
            clock = None
        windows += stage.outputs(beat)

    def marked(name: str) -> set[float]:
        return {w.window.start_s for w in windows if name in w.window.confounds}

    def overlapping(lo: float, hi: float) -> set[float]:
        return {w.window.start_s for w in windows if w.window.start_s < hi and w.window.end_s > lo}

    assert marked("movement") == overlapping(95.0, 105.0)
    assert marked("shared pacer") == overlapping(140.0, 150.0)
    assert marked("clock uncertain") == overlapping(230.0, math.inf) and marked("clock uncertain")


# ------------------------------------------------------------------ a shared breathing rhythm, live

PACED = "dyad-shared-pacer"
PACED_UNTIL_S = 790.0  # session s: the windows that end before the pacer stops (5:00-13:00)


@pytest.fixture(scope="module")
def paced_live_and_replay(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[PairWindow], list[PairWindow]]:
    """dyad-shared-pacer through the engine at max speed (two plain straps, recorded), and its replay."""
    return _live_and_replay(PACED, PACED_UNTIL_S, tmp_path_factory.mktemp("paced"))


def test_live_windows_inside_a_shared_pacer_carry_the_shared_breathing_mark(paced_live_and_replay) -> None:
    """From a minute into the pacer the live windows are marked as the offline command marks them (offline
    95 %; live 95 % on the model's beats), read off the beat path; without a pacer rarely."""
    live, _ = paced_live_and_replay
    (pacer,) = load_dyad(PACED).pacers
    inside = [w.window for w in live if pacer.at_s + 60 <= w.window.start_s
              and w.window.end_s <= pacer.at_s + pacer.duration_s]
    before = [w.window for w in live if w.window.end_s <= pacer.at_s]
    assert len(inside) >= 60
    assert sum(SHARED_BREATHING in w.confounds for w in inside) >= 0.8 * len(inside)
    assert sum(SHARED_BREATHING in w.confounds for w in before) <= 0.1 * len(before)
    stage = SynchronyStage()  # two people breathing on their own: rarely marked (0 of 115 windows measured)
    uncoupled = [w for beat in _model_outputs(600.0, "dyad-uncoupled") for w in stage.outputs(beat)]
    assert len(uncoupled) >= 100
    assert sum(SHARED_BREATHING in w.window.confounds for w in uncoupled) <= 0.05 * len(uncoupled)


def test_a_replay_gives_the_same_shared_breathing_marks(paced_live_and_replay) -> None:
    live, replayed = paced_live_and_replay
    marked = [w.window.start_s for w in live if SHARED_BREATHING in w.window.confounds]
    assert marked and [w.window.start_s for w in replayed if SHARED_BREATHING in w.window.confounds][:len(marked)] \
        == marked
    assert [w.row() for w in replayed][:len(live)] == [w.row() for w in live]


# ------------------------------------------------------------------ LSL


def test_the_synchrony_stream_carries_each_window_and_says_its_conventions() -> None:
    pylsl = pytest.importorskip("pylsl")
    from somafeedback.live.lsl_outlets import LslOutlets, LslStream

    stage = SynchronyStage()
    windows = [w for beat in _model_outputs(200.0) for w in stage.outputs(beat)]
    windows = windows[:5] + [replace(windows[5], window=replace(windows[5].window, above_chance=True), effect_size=1.5)]
    outlets = LslOutlets(f"sync{os.getpid()}", clock_offset=lambda: 1000.0)
    inlets = {}

    def connect(stream: LslStream) -> None:
        (info,) = pylsl.resolve_byprop("source_id", stream.source_id, minimum=1, timeout=5.0)
        inlets[stream.kind] = pylsl.StreamInlet(info)
        inlets[stream.kind].open_stream(timeout=5.0)

    outlets.on_outlet_created = connect
    try:
        for w in windows:
            outlets.synchrony(w, stage.settings)
        inlet = inlets["Synchrony"]
        samples: list[list[float]] = []
        stamps: list[float] = []
        deadline = time.monotonic() + 5.0
        while len(samples) < len(windows) and time.monotonic() < deadline:
            chunk, times = inlet.pull_chunk(timeout=0.5)
            samples += chunk
            stamps += times
        info = inlet.info(timeout=5.0)
    finally:
        outlets.close()
    assert len(samples) == len(windows)
    labels = [c.child_value("label") for c in _children(info.desc().child("channels"), "channel")]
    first, last = dict(zip(labels, samples[0])), dict(zip(labels, samples[-1]))
    assert first["r"] == pytest.approx(windows[0].window.r) and first["lag_s"] == windows[0].window.lag_s
    assert math.isnan(first["above_chance"]) and math.isnan(first["effect_size"])
    assert last["above_chance"] == 1.0 and last["effect_size"] == 1.5
    assert stamps[0] == pytest.approx(windows[0].window.start_s + 1000.0)
    ours = info.desc().child("somafeedback")
    assert (ours.child_value("a_strap"), ours.child_value("b_strap")) == ("strap2", "strap1")
    assert "B follows A" in ours.child("conventions").child_value("lag_sign")
    assert ours.child("settings").child_value("window_s") == "30.0"


def _children(node, name: str) -> list:
    out, child = [], node.child(name)
    while not child.empty():
        out.append(child)
        child = child.next_sibling(name)
    return out



def test_the_engine_publishes_synchrony_while_lsl_is_on() -> None:
    pylsl = pytest.importorskip("pylsl")
    engine = Engine(EngineSource(simulate=SCENARIO, speed=math.inf, simulated_model="hr"), EngineOptions(lsl=True))
    engine.start()
    try:
        _run_until(engine, lambda got: len(_windows(got)) >= 3)
        ours = f"somafeedback-somafeedback-{os.getpid()}-strap2-strap1-Synchrony"
        found = pylsl.resolve_byprop("source_id", ours, minimum=1, timeout=10.0)
    finally:
        engine.stop()
    assert found and found[0].type() == "Synchrony" and found[0].name() == "somafeedback strap2-strap1 Synchrony"
