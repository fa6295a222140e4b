"""reanalyze_states: the states and baseline of a session recorded without them, from its recorded beats."""

from __future__ import annotations

import pytest
from session_helpers import REPO

from somafeedback.devices.events import Notification, TimelineEvent
from somafeedback.live.reanalysis import reanalyze_states
from somafeedback.regulation.exercises import load_exercises
from somafeedback.regulation.states import band_of
from somafeedback.sessions.file import read_session

SAMPLE = REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite"  # a recording without states


@pytest.fixture(scope="module")
def timeline() -> list:
    session = read_session(SAMPLE)
    assert not any(isinstance(e, TimelineEvent) and e.kind in ("state", "baseline") for e in session.events)
    return list(session.timeline)


@pytest.fixture(scope="module")
def found(timeline: list) -> list[TimelineEvent]:
    events = reanalyze_states(timeline, load_exercises())
    assert events is not None
    return events


def test_a_session_recorded_without_states_gets_them_and_a_baseline(timeline: list, found: list) -> None:
    assert {e.kind for e in found} == {"state", "baseline"}
    assert [e.host_ns for e in found] == sorted(e.host_ns for e in found)
    states = [e.data["state"] for e in found if e.kind == "state"]
    assert states[0] == "calibrating" and "in band" in states
    baselines = [e for e in found if e.kind == "baseline"]
    assert len(baselines) == 1
    band = band_of(dict(baselines[0].data))
    assert band is not None and 55.0 < band[0] < 70.0 and band[0] < band[1] < band[2]
    # the states start once the beats do, and the baseline comes before the first judged state
    first_beat = next(item.host_ns for item in timeline if isinstance(item, Notification))
    first_in_band = next(e.host_ns for e in found if e.kind == "state" and e.data["state"] == "in band")
    assert first_beat <= baselines[0].host_ns <= first_in_band


def test_the_same_recording_gives_the_same_states(timeline: list, found: list) -> None:
    again = reanalyze_states(timeline, load_exercises())
    assert again is not None
    assert [(e.kind, e.host_ns, e.data) for e in again] == [(e.kind, e.host_ns, e.data) for e in found]


def test_cancelled_stops_at_once_and_gives_nothing(timeline: list) -> None:
    asked = []

    def cancelled() -> bool:
        asked.append(True)
        return len(asked) > 100

    assert reanalyze_states(timeline, load_exercises(), cancelled) is None
    assert len(asked) == 101  # asked before each item, no further once it said so
    assert reanalyze_states([], load_exercises(), lambda: True) == []  # nothing to do: nothing cancelled


def test_a_damaged_recording_gives_what_was_found_before_the_damage(timeline: list, found: list) -> None:
    in_band = next(e.host_ns for e in found if e.kind == "state" and e.data["state"] == "in band")
    cut = next(i for i, item in enumerate(timeline) if item.host_ns > in_band)  # after "in band", before the end
    damaged = TimelineEvent("marker", timeline[cut].host_ns, 0.0, None)  # a marker without its data
    before = [e for e in found if e.host_ns <= in_band]
    assert len(before) < len(found)  # something came after the damage in the whole recording
    assert reanalyze_states([*timeline[:cut], damaged, *timeline[cut:]], load_exercises()) == before
