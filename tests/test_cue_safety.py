"""Safe cue content and a home practice that is safe alone (issue #14, "Safety").

* sustained activation without a return brings a *resource* invitation, never an exercise that
  turns toward activation (titrated pendulation is the practitioner's choice only);
* home practice pauses into the grounding script's real steps, offers to end with the
  client's own plan after 5 min still above the usual range, and answers the client's
  controls ("too much", "dizzy", "help now", "done", "keep going");
* home mode refuses a script not marked for home use;
* the cue engine's gap, expiry and snooze are pinned at their boundaries.

Times are beat times fed in by the tests (no wall clock), except the one engine test, which
waits on the engine's output with a bounded timeout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from functools import cache
from pathlib import Path

import pytest

from somafeedback.regulation import cues
from somafeedback.regulation.cues import CueConfig, CueEvent, HomeScript, PractitionerCues
from somafeedback.devices.events import TimelineEvent
from somafeedback.regulation.exercises import builtin_exercises
from somafeedback.regulation.states import Baseline, Features, RegulationState, StateChange
from somafeedback.live.regulation_session import RegulationSession

LIBRARY = builtin_exercises()
SCRIPT = LIBRARY["low-and-slow-breathing"]  # steps of 15, 15, 60, 60, 60, 120, 60, 60 s
GROUNDING = LIBRARY["feet-and-seat-grounding"]  # steps of 10, 15, 25, 30, 25, 25, 20 s
SENSES = LIBRARY["senses-5-4-3-2-1"]
A, B = RegulationState.ABOVE_BAND, RegulationState.IN_BAND


@cache
def run_cli(*args: str) -> tuple[dict, ...]:
    result = subprocess.run([sys.executable, "-m", "somafeedback.cli", "session", "--speed", "max", "--json", *args],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return tuple(json.loads(line) for line in result.stdout.splitlines())


def cue_records(records: tuple[dict, ...], *actions: str) -> list[dict]:
    return [r for r in records if r["type"] == "cue" and (not actions or r["action"] in actions)]


# -- 1. activation without a return: a resource, never pendulation --------------------------------
def test_sustained_activation_with_auto_approve_delivers_a_resource_and_never_pendulation() -> None:
    records = run_cli("--simulate", "sustained-activation", "--mode", "practitioner", "--auto-approve")
    roles = {c["exercise"]: LIBRARY[c["exercise"]].role for c in cue_records(records) if c["exercise"]}
    assert not set(roles.values()) & cues.ACTIVATING_ROLES, roles
    assert "titrated-pendulation" not in roles
    delivered = [(c["kind"], c["exercise"]) for c in cue_records(records, "delivered")]
    assert ("resource", "resource-anchoring") in delivered
    resource = next(c for c in cue_records(records, "suggested") if c["kind"] == "resource")
    assert "usual range" in resource["text"] and "resource" in resource["text"]


def test_the_resource_rule_fires_after_4_min_of_activation_with_no_return() -> None:
    engine = PractitionerCues(LIBRARY, CueConfig())
    engine.on_state(StateChange(1000.0, RegulationState.IN_BAND, RegulationState.RISING, "test", Features(1000.0, 80.0, 5.0, None)))
    assert engine.tick(Features(1239.9, 80.0, 1.0, None)) == []
    assert engine.tick(Features(1240.0, 80.0, -0.5, None)) == []  # coming down: a return has begun
    (made,) = engine.tick(Features(1240.5, 80.0, 0.0, None))
    assert (made.action, made.kind, made.exercise) == ("suggested", "resource", "resource-anchoring")


def test_no_automatic_suggestion_can_name_an_exercise_that_turns_toward_activation() -> None:
    assert "pendulation" in cues.ACTIVATING_ROLES
    assert not cues.ACTIVATING_ROLES & set(cues.ROLE.values())
    assert set(cues.SUGGESTION_TEXT) == set(cues.ROLE) and "pendulation" not in cues.SUGGESTION_TEXT


# -- 2. home practice: the pause runs grounding's steps, then offers to end --------------------------
def _pause_checks(records: tuple[dict, ...]) -> tuple[dict, list[dict], list[dict]]:
    paused = next(c for c in cue_records(records) if c["action"] == "script-paused")
    steps = [c for c in cue_records(records) if c["action"] == "pause-step"]
    offers = [c for c in cue_records(records) if c["action"] == "end-offered"]
    return paused, steps, offers


def test_home_sustained_activation_pauses_into_grounding_steps_and_offers_to_end() -> None:
    records = run_cli("--simulate", "sustained-activation", "--mode", "home", "--script", "low-and-slow-breathing")
    paused, steps, offers = _pause_checks(records)
    assert (paused["cue_id"], paused["exercise"], paused["reason"]) == (1, GROUNDING.id, "activation")
    assert paused["text"] == GROUNDING.steps[0].text
    assert [s["cue_id"] for s in steps] == list(range(2, len(GROUNDING.steps) + 1))  # every step once, no loop
    assert [s["text"] for s in steps] == [step.text for step in GROUNDING.steps[1:]]
    times = [paused["t_s"]] + [s["t_s"] for s in steps]
    for k, (before, after) in enumerate(zip(times, times[1:], strict=False)):
        assert GROUNDING.steps[k].seconds <= after - before < GROUNDING.steps[k].seconds + 2.0  # beat time
    (offer,) = offers  # once per pause
    assert offer["text"] == cues.DEFAULT_PLAN_TEXT
    assert 300.0 <= offer["t_s"] - paused["t_s"] < 302.0
    assert not cue_records(records, "script-resumed")  # still above band: never resumed


def test_home_end_offer_shows_the_clients_own_plan(tmp_path: Path) -> None:
    plan = tmp_path / "plan.txt"
    plan.write_text("Make a cup of tea and call Sam.\n", encoding="utf-8")
    records = run_cli("--simulate", "sustained-activation", "--mode", "home", "--script", "low-and-slow-breathing",
                      "--plan", str(plan))
    (offer,) = [c for c in cue_records(records) if c["action"] == "end-offered"]
    assert offer["text"] == "Make a cup of tea and call Sam."


# -- 3. home mode refuses scripts not marked for home use ---------------------------------------------
def test_home_mode_refuses_a_practitioner_only_script_on_the_command_line() -> None:
    result = subprocess.run([sys.executable, "-m", "somafeedback.cli", "session", "--simulate", "--mode", "home",
                             "--script", "titrated-pendulation", "--speed", "max", "--duration", "5"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert ("'titrated-pendulation' is for sessions with a practitioner only, not for home practice"
            in result.stderr)
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_home_session_refuses_a_practitioner_only_script() -> None:
    with pytest.raises(ValueError, match="for sessions with a practitioner only, not for home practice"):
        RegulationSession("home", LIBRARY, lambda event: None, script=LIBRARY["titrated-pendulation"])
    RegulationSession("practitioner", LIBRARY, lambda event: None)  # the practitioner's session is untouched


# -- HomeScript units: synthetic states and beat times --------------------------------------------------
def _started(plan_text: str | None = None) -> HomeScript:
    home = HomeScript(SCRIPT, LIBRARY, CueConfig(), plan_text=plan_text)
    (first,) = home.start(0.0)
    assert (first.action, first.cue_id) == ("script-step", 1)
    return home


def _run(home: HomeScript, start: float, end: float, state: RegulationState, step: float = 0.5) -> list[CueEvent]:
    events, t = [], start
    while t <= end + 1e-9:
        events += home.tick(round(t, 3), state)
        t += step
    return events


def test_an_automatic_pause_walks_grounding_by_beat_time_and_stays_on_its_last_step() -> None:
    home = _started()
    assert _run(home, 0.5, 10.0, B) == []  # in band: step 1 still (15 s)
    steps = _run(home, 10.5, 70.0, A)  # above band from 10.5 s, not yet 60 s
    assert [(e.action, e.cue_id, e.t_s) for e in steps] == [("script-step", 2, 15.0), ("script-step", 3, 30.0)]
    (paused,) = home.tick(70.5, A)  # above band since 10.5: 60 s
    assert (paused.action, paused.reason, paused.cue_id, paused.exercise) == ("script-paused", "activation", 1, GROUNDING.id)
    assert paused.as_dict()["reason"] == "activation"
    assert home.tick(80.4, A) == []  # step 1 lasts 10 s
    (step2,) = home.tick(80.5, A)
    assert (step2.action, step2.cue_id, step2.text) == ("pause-step", 2, GROUNDING.steps[1].text)
    later = _run(home, 81.0, 369.5, A)
    assert [e.cue_id for e in later if e.action == "pause-step"] == [3, 4, 5, 6, 7]  # then stays on 7
    assert not [e for e in later if e.action not in ("pause-step",)]  # no offer before 300 s of pause


def test_the_end_offer_comes_at_300_s_still_above_band_once_then_back_in_band_resumes() -> None:
    home = _started(plan_text="Walk round the block, then text Jo.")
    _run(home, 0.5, 60.5, A)
    assert home.paused and home.pause_started == 60.5
    _run(home, 61.0, 360.0, A)
    assert not home.end_offered
    (offer,) = home.tick(360.5, A)
    assert (offer.action, offer.text) == ("end-offered", "Walk round the block, then text Jo.")
    assert [e.action for e in home.control("keep-going", 361.0)] == ["client-control"]  # the pause continues
    assert _run(home, 361.5, 1000.0, A) == []  # offered once per pause
    (resumed,) = home.tick(1000.5, B)  # an automatic pause resumes when back in band
    assert (resumed.action, resumed.exercise, resumed.text) == ("script-resumed", SCRIPT.id, SCRIPT.steps[2].text)


def test_no_end_offer_when_no_longer_above_band() -> None:
    home = _started()
    _run(home, 0.5, 60.5, A)
    assert home.paused
    events = _run(home, 61.0, 500.0, RegulationState.RISING)  # rising, not above band
    assert "end-offered" not in [e.action for e in events] and not home.end_offered


def test_too_much_pauses_into_grounding_and_resumes_only_after_its_steps() -> None:
    home = _started()
    control, paused = home.control("too-much", 5.0)
    assert control.as_dict() == {"action": "client-control", "cue_id": None, "kind": "script",
                                 "exercise": SCRIPT.id, "text": "too-much"}
    assert (paused.action, paused.reason, paused.exercise, paused.cue_id, paused.text) == (
        "script-paused", "too-much", GROUNDING.id, 1, GROUNDING.steps[0].text)
    events = _run(home, 5.5, 154.5, B)  # in band all along, but the client asked for the pause
    assert [e.action for e in events] == ["pause-step"] * 6
    (resumed,) = home.tick(155.0, B)  # grounding's 150 s are through
    assert (resumed.action, resumed.text) == ("script-resumed", SCRIPT.steps[0].text)


def test_dizzy_lets_the_breath_go_and_pauses_into_grounding() -> None:
    home = _started()
    control, paused = home.control("dizzy", 20.0)
    assert (control.action, control.text) == ("client-control", "dizzy")
    assert (paused.action, paused.reason, paused.exercise, paused.cue_id) == ("script-paused", "dizzy", GROUNDING.id, 1)
    assert paused.text.startswith("Let your breathing go back to its own rhythm.")
    assert "stop at any time" in paused.text


def test_help_now_pauses_into_the_senses_exercise() -> None:
    home = _started()
    _, paused = home.control("help-now", 3.0)
    assert (paused.action, paused.reason, paused.exercise, paused.text) == (
        "script-paused", "help-now", "senses-5-4-3-2-1", SENSES.steps[0].text)
    (step2,) = home.tick(3.0 + SENSES.steps[0].seconds, A)
    assert (step2.action, step2.exercise, step2.cue_id) == ("pause-step", SENSES.id, 2)


def test_done_ends_the_practice_and_the_script_end_says_completed() -> None:
    home = _started()
    control, finished = home.control("done", 30.0)
    assert (control.text, finished.action, finished.reason) == ("done", "script-finished", "done")
    assert home.finished and home.tick(31.0, A) == []
    whole = _started()
    events = _run(whole, 0.5, SCRIPT.duration_s + 1.0, B)
    assert events[-1].action == "script-finished" and events[-1].reason == "completed"
    assert [e.cue_id for e in events if e.action == "script-step"] == list(range(2, len(SCRIPT.steps) + 1))


def test_a_pause_during_the_resting_measurement_leads_into_the_first_step_once_through() -> None:
    home = HomeScript(SCRIPT, LIBRARY, CueConfig())
    _, paused = home.control("too-much", 10.0)  # still measuring the usual range: no step shown yet
    assert paused.action == "script-paused"
    assert [e.action for e in _run(home, 10.5, 100.0, RegulationState.CALIBRATING)] == ["pause-step"] * 4
    assert home.start(100.0) == []  # the measurement is done, but the client is in the pause
    events = _run(home, 100.5, 160.0, B)
    assert [(e.action, e.cue_id) for e in events] == [("pause-step", 6), ("pause-step", 7), ("script-step", 1)]
    assert events[-1].t_s == 160.0  # grounding's 150 s are through


def test_unknown_controls_raise_and_a_reason_is_only_there_when_set() -> None:
    home = _started()
    with pytest.raises(ValueError, match="unknown home control"):
        home.control("panic", 1.0)
    assert "reason" not in CueEvent(1.0, "script-step", 1, "script", SCRIPT.id, "x").as_dict()


def test_the_session_records_the_clients_controls() -> None:
    shown: list[TimelineEvent] = []
    session = RegulationSession("home", LIBRARY, shown.append, script=SCRIPT,
                                baseline=Baseline(66.0, 1.0, 3.6, 0.1, 0.0, "history", 240.0))
    session.home_control("help-now", 12.0)
    session.home_control("done", 20.0)
    recorded = [(e.host_ns, e.data["action"], e.data["text"] if e.data["action"] == "client-control" else e.data.get("reason"))
                for e in shown if e.kind == "cue"]
    assert recorded == [(12_000_000_000, "client-control", "help-now"), (12_000_000_000, "script-paused", "help-now"),
                        (20_000_000_000, "client-control", "done"), (20_000_000_000, "script-finished", "done")]


def test_the_engine_takes_the_clients_controls_on_its_loop() -> None:
    from somafeedback.live.engine import Engine, EngineOptions, EngineSource

    stored = Baseline(66.0, 1.0, 3.6, 0.1, 0.0, "history", 240.0)
    engine = Engine(EngineSource(simulate="calm", speed=60.0),
                    EngineOptions(mode="home", script=SCRIPT.id, baseline=stored, plan_text="Tea."), exercises=LIBRARY)
    with pytest.raises(ValueError, match="unknown home control"):
        engine.home_control("panic")
    engine.start()
    seen: list[dict] = []

    def wait_for(action: str) -> dict:
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline:
            seen.extend(dict(i.data) for i in engine.drain() if isinstance(i, TimelineEvent) and i.kind == "cue")
            found = [d for d in seen if d["action"] == action]
            if found:
                return found[-1]
            time.sleep(0.02)
        raise AssertionError(f"no {action} within 60 s; got {[d['action'] for d in seen]}")

    try:
        wait_for("script-step")
        engine.home_control("too-much")
        paused = wait_for("script-paused")
        engine.home_control("done")
        finished = wait_for("script-finished")
    finally:
        engine.stop()
    assert engine.error is None and engine.session.script.plan_text == "Tea."
    assert (paused["reason"], paused["exercise"]) == ("too-much", GROUNDING.id)
    assert finished["reason"] == "done"
    assert [d["text"] for d in seen if d["action"] == "client-control"] == ["too-much", "done"]


# -- 4. the cue engine's gap, expiry and snooze at their boundaries ------------------------------------
def _episode(engine: PractitionerCues, above_at: float) -> None:
    """A fresh activation episode: back in band, then above band from ``above_at``."""
    engine.on_state(StateChange(above_at - 20.0, RegulationState.ABOVE_BAND, RegulationState.IN_BAND, "test",
                                Features(above_at - 20.0, 70.0, 0.0, None)))
    engine.on_state(StateChange(above_at, RegulationState.IN_BAND, RegulationState.ABOVE_BAND, "test",
                                Features(above_at, 90.0, 1.0, None)))


def _grounding_at(engine: PractitionerCues, t: float) -> list[str]:
    return [e.action for e in engine.tick(Features(t, 90.0, 1.0, None))]


def test_after_a_dismissal_the_next_suggestion_waits_the_3_min_gap_from_the_last_one() -> None:
    engine = PractitionerCues(LIBRARY, CueConfig())
    _episode(engine, 100.0)
    assert _grounding_at(engine, 130.0) == ["suggested"]
    assert [e.action for e in engine.dismiss(140.0)] == ["dismissed"]
    _episode(engine, 200.0)  # conditions met again from 230 s
    assert _grounding_at(engine, 309.9) == []  # 179.9 s after the last suggestion
    assert _grounding_at(engine, 310.0) == ["suggested"]  # 180 s: the gap is over


def test_an_unanswered_suggestion_expires_at_45_s() -> None:
    engine = PractitionerCues(LIBRARY, CueConfig())
    _episode(engine, 100.0)
    assert _grounding_at(engine, 130.0) == ["suggested"]
    assert _grounding_at(engine, 174.9) == []
    assert _grounding_at(engine, 175.0) == ["expired"]


def test_a_snooze_keeps_the_engine_quiet_for_5_min() -> None:
    engine = PractitionerCues(LIBRARY, CueConfig())
    _episode(engine, 100.0)
    assert _grounding_at(engine, 130.0) == ["suggested"]
    assert [e.action for e in engine.snooze(140.0)] == ["snoozed"]
    _episode(engine, 300.0)  # past the 3-min gap, inside the snooze
    assert _grounding_at(engine, 439.9) == []
    assert _grounding_at(engine, 440.0) == ["suggested"]
