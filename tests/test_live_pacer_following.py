"""Pacer following computed by the core: LiveAnalysis from ``pacer`` events, recorded by the
RegulationSession as ``pacer-following`` events, and the same again in a replay through the engine.

The reference in each test is :class:`PacerFollowing` run here, independently, on the same
breathing estimates with the same pacer.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from recording_helpers import record_simulated

from somafeedback.devices.events import Notification, TimelineEvent
from somafeedback.live.analysis import FOLLOWING_WINDOW_S, PACER_EVENT, PACER_STOPPED, LiveAnalysis, pacer_event_data, pacer_from_data
from somafeedback.live.engine import Engine, EngineSource, StrapOutput
from somafeedback.live.regulation_session import FOLLOWING_EVENT, FOLLOWING_EVERY_S, RegulationSession
from somafeedback.regulation.pacer import Pacer, PacerSettings
from somafeedback.sessions.file import SessionWriter, read_session
from somafeedback.signals.chest_motion import BreathingEstimate
from somafeedback.signals.pacer_following import FollowingEstimate, PacerFollowing

START_S, CHANGE_S, STOP_S, END_S = 300.0, 360.0, 400.0, 420.0  # the slow-breathing scenario paces at 6/min from 5:00


def _pacer_until(t_s: float) -> Pacer:
    """The pacer the client saw, with the changes made up to ``t_s``."""
    pacer = Pacer(PacerSettings.from_rate(6.0), START_S)
    if t_s >= CHANGE_S:
        pacer.set_settings(PacerSettings.from_rate(6.0, inhale_share=0.5), CHANGE_S)  # 5 s in, 5 s out
    return pacer


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RegulationSession]:
    """A simulated H10 (slow breathing, paced from 5:00) recorded with a pacer that starts, changes and stops,
    the regulation session recording its events into the same file."""
    path = tmp_path_factory.mktemp("following") / "paced.session.sqlite"
    session = RegulationSession("practitioner", {}, lambda event: None)

    def attach(writer: SessionWriter) -> None:
        session.recorder = writer

    markers = [(START_S, PACER_EVENT, pacer_event_data(_pacer_until(START_S))),
               (CHANGE_S, PACER_EVENT, pacer_event_data(_pacer_until(CHANGE_S))),
               (STOP_S, PACER_EVENT, pacer_event_data(None))]
    record_simulated(path, "slow-breathing", END_S, also=session, markers=markers, h10=True, on_writer=attach)
    return path, session


def _independent(path: Path) -> list[FollowingEstimate]:
    """PacerFollowing over the chest-motion breathing of the recording, with the pacer of each moment."""
    analysis = LiveAnalysis(metrics=False)  # never sees the pacer events: only the breathing
    following = PacerFollowing(FOLLOWING_WINDOW_S)
    out: list[FollowingEstimate] = []
    for item in read_session(path).timeline:
        if isinstance(item, TimelineEvent) and item.kind == PACER_EVENT:
            continue
        produced = analysis.on_notification(item) if isinstance(item, Notification) else analysis.on_event(item)
        for _, e in produced:
            if isinstance(e, BreathingEstimate) and e.source == "acc" and e.valid and START_S <= e.t_s < STOP_S:
                state = _pacer_until(e.t_s).at(e.t_s)
                out.append(following.push(e.t_s, e.phase, e.rate_bpm, state.cycle_fraction,
                                          state.settings.breaths_per_min, "acc"))
    return out


def _recorded_rule(estimates: list[FollowingEstimate]) -> list[FollowingEstimate]:
    """What the rate rule keeps: a change of validity, verdict or reason at once, else one every 10 s."""
    kept: list[FollowingEstimate] = []
    for e in estimates:
        last = kept[-1] if kept else None
        if (last is None or (last.valid, last.following, last.reason) != (e.valid, e.following, e.reason)
                or e.t_s - last.t_s >= FOLLOWING_EVERY_S):
            kept.append(e)
    return kept


def _events(items: list, kind: str) -> list[TimelineEvent]:
    return [e for e in items if isinstance(e, TimelineEvent) and e.kind == kind]


def test_pacer_events_rebuild_the_pacer_exactly() -> None:
    pacer = _pacer_until(CHANGE_S + 1.0)
    rebuilt = pacer_from_data(pacer_event_data(pacer))
    assert rebuilt is not None and rebuilt.changes == pacer.changes
    for t in (START_S - 5.0, START_S + 3.3, CHANGE_S, CHANGE_S + 7.7, 1000.0):
        assert rebuilt.at(t) == pacer.at(t)
    assert pacer_from_data(pacer_event_data(None)) is None
    assert pacer_from_data({"running": True, "changes": [{"at_s": 0.0, "inhale_s": -1.0, "exhale_s": 6.0}]}) is None


def test_the_regulation_session_records_the_following_at_a_modest_rate(recorded: tuple[Path, RegulationSession]) -> None:
    path, session = recorded
    expected = _independent(path)
    assert len(expected) > 60 and any(e.valid for e in expected)
    assert abs([e for e in expected if e.valid][-1].rate_difference_bpm) <= 1.0  # the simulator settles at 6/min
    events = _events(session.history, FOLLOWING_EVENT)
    *while_paced, stopped = events
    assert [e.data for e in while_paced] == [e.as_dict() for e in _recorded_rule(expected)]
    assert [e.host_ns for e in while_paced] == [round(e.t_s * 1e9) for e in _recorded_rule(expected)]
    assert len(while_paced) < len(expected) / 5  # a modest rate, not every estimate
    assert stopped.data["reason"] == PACER_STOPPED and not stopped.data["valid"]
    assert stopped.host_ns / 1e9 == pytest.approx(STOP_S, abs=0.01)
    assert while_paced[0].data["window_s"] == FOLLOWING_WINDOW_S and while_paced[0].data["min_locking"] == 0.7
    # the pacer's events and the following are in the recording, and the method/state still come first
    timeline = read_session(path).events
    assert [e.data.get("running") for e in _events(timeline, PACER_EVENT)] == [True, True, False]
    assert [e.data for e in _events(timeline, FOLLOWING_EVENT)] == [e.data for e in events]
    assert [e.kind for e in session.history if e.kind != FOLLOWING_EVENT][:2] == ["method", "state"]


def test_a_replay_through_the_engine_computes_the_same_following(recorded: tuple[Path, RegulationSession]) -> None:
    path, session = recorded
    engine = Engine(EngineSource(replay=path, speed=math.inf))
    engine.start()
    assert engine.finished.wait(120)
    items = engine.drain()
    assert engine.error is None
    published = [i.output for i in items if isinstance(i, StrapOutput) and isinstance(i.output, FollowingEstimate)]
    expected = _independent(path)
    assert [e.as_dict() for e in published[:-1]] == [e.as_dict() for e in expected]
    assert [e.t_s for e in published[:-1]] == [e.t_s for e in expected]
    assert published[-1].reason == PACER_STOPPED
    assert [e.data for e in engine.session.history if e.kind == FOLLOWING_EVENT] == \
        [e.data for e in session.history if e.kind == FOLLOWING_EVENT]


def test_a_seek_finds_the_pacer_in_force_there(recorded: tuple[Path, RegulationSession]) -> None:
    path, _ = recorded
    timeline = read_session(path).timeline
    analysis = LiveAnalysis()
    analysis.learn_pacers(e for e in timeline if isinstance(e, TimelineEvent))
    for to_s, running in ((100.0, False), (START_S + 10.0, True), (CHANGE_S + 10.0, True), (STOP_S + 5.0, False)):
        analysis.on_event(TimelineEvent("seek", round(to_s * 1e9), 0.0, {"from_ns": 0, "to_ns": round(to_s * 1e9)}))
        assert (analysis.pacer is not None) is running
        if running:
            assert analysis.pacer.changes == _pacer_until(to_s).changes
