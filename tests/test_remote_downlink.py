"""What goes down to the client's screen (somafeedback.remote.downlink): the practitioner's real cue and
pacer events, through the wire format's bytes, read back as the client's commands."""

from __future__ import annotations

from somafeedback.devices.events import TimelineEvent
from somafeedback.live.analysis import pacer_event_data
from somafeedback.regulation.cues import CueConfig, PractitionerCues
from somafeedback.regulation.exercises import load_exercises
from somafeedback.regulation.states import Features, RegulationState, StateChange
from somafeedback.regulation.pacer import Pacer, PacerSettings as Breath
from somafeedback.remote.consent import Category, SharingLevel, category, level_allows
from somafeedback.remote.downlink import (
    DECLINED, REMOTE_CUE_EVENT, client_view_command, declined_event, down_message, pacer_settings, received_event,
)
from somafeedback.remote.messages import Cue, PacerSettings, decode, encode


def _through_the_wire(message):
    return decode(encode(message))


def test_an_approved_suggestion_reaches_the_client_as_the_exercise_it_names() -> None:
    exercises = load_exercises()
    cues = PractitionerCues(exercises, CueConfig(), auto_approve=False)
    above = Features(60.0, 95.0, 1.0, 2.5)
    cues.on_state(StateChange(60.0, RegulationState.IN_BAND, RegulationState.ABOVE_BAND, "test", above))
    suggested = cues.tick(Features(100.0, 95.0, 1.0, 2.5))
    assert [e.kind for e in suggested if e.action == "suggested"] == ["grounding"]
    delivered = [e for e in cues.approve(101.0) if e.action == "delivered"]
    assert len(delivered) == 1
    event = TimelineEvent("cue", 101_000_000_000, 1.7e9, delivered[0].as_dict())
    message = _through_the_wire(down_message(event))
    assert isinstance(message, Cue)
    command = client_view_command(message)
    assert command is not None and command.action == "show"
    assert command.exercise == delivered[0].exercise and command.exercise in exercises
    assert command.cue_id == delivered[0].cue_id


def test_each_change_to_the_client_view_has_its_command_and_other_events_stay_up() -> None:
    cases = {
        ("pushed", None, "Orienting"): ("show", None),
        ("pushed-paused", 2, "step two"): ("pause", None),
        ("pushed-resumed", 2, "step two"): ("resume", None),
        ("pushed-step", 3, "step three"): ("step", 3),
        ("cleared", None, ""): ("clear", None),
    }
    for (action, cue_id, text), (command_action, step) in cases.items():
        event = TimelineEvent("cue", 1, 2.0, {"action": action, "cue_id": cue_id, "kind": "manual",
                                               "exercise": "orienting", "text": text})
        command = client_view_command(_through_the_wire(down_message(event)))
        assert command is not None, action
        assert (command.action, command.step) == (command_action, step), action
    for action in ("suggested", "snoozed", "dismissed", "expired", "withdrawn", "approved"):
        assert down_message(TimelineEvent("cue", 1, 2.0, {"action": action, "text": "x"})) is None, action
    assert down_message(TimelineEvent("marker", 1, 2.0, {"label": "discharge"})) is None


def test_the_pacer_goes_down_without_session_times_and_comes_back_as_the_same_breath() -> None:
    pacer = Pacer(Breath(4.0, 6.0), 10.0)
    pacer.set_settings(Breath(5.0, 5.0, 1.0, 0.0), 40.0)
    message = _through_the_wire(down_message(TimelineEvent("pacer", 1, 2.0, pacer_event_data(pacer))))
    assert isinstance(message, PacerSettings)
    assert "changes" not in message.data and "at_s" not in str(message.data)
    assert pacer_settings(message) == (True, Breath(5.0, 5.0, 1.0, 0.0))
    stopped = _through_the_wire(down_message(TimelineEvent("pacer", 1, 2.0, pacer_event_data(None))))
    assert pacer_settings(stopped) == (True, None)


def test_data_this_version_cannot_read_is_refused_not_guessed() -> None:
    for data in ({"action": "dance"}, {"action": "show"}, {"action": "step", "step": None},
                 {"action": "step", "step": 0}, {"action": "step", "step": True}, {"action": "show", "text": 7},
                 {"action": "show", "exercise": ["x"], "text": "t"}):
        assert client_view_command(Cue(data)) is None, data
    assert pacer_settings(PacerSettings({"running": True, "inhale_s": "slow"})) == (False, None)
    assert pacer_settings(PacerSettings({"running": True, "inhale_s": 0.1, "exhale_s": 0.1,
                                         "hold_in_s": 0, "hold_out_s": 0})) == (False, None)  # a 0.2 s breath


def test_the_clients_not_now_is_recorded_and_shared_at_every_level() -> None:
    command = client_view_command(Cue({"action": "show", "exercise": "orienting", "text": "Orienting", "cue_id": 4}))
    assert command is not None
    declined = declined_event(command, 5, 6.0)
    assert declined.kind == REMOTE_CUE_EVENT and declined.data["action"] == DECLINED
    assert declined.data["declined"] == "show" and declined.data["cue_id"] == 4
    assert category(declined) is Category.STATUS
    assert all(level_allows(level, declined) for level in SharingLevel)
    received = received_event(command, 5, 6.0)
    assert received.data["received"] is True and received.data["exercise"] == "orienting"
