"""Method modes: the policies, and the rest comparison around CSE movement blocks (independent arithmetic)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from somafeedback.regulation.methods import (
    POLICIES,
    REST_AFTER_S,
    REST_BEFORE_S,
    SETTLE_AFTER_S,
    Method,
    MovementBlocks,
    policy,
    rest_measure,
)


def test_methods_parse_in_any_case_and_unknown_ones_name_the_choices() -> None:
    assert Method.parse("focusing") is Method.FOCUSING and Method.parse(" CSE ") is Method.CSE
    assert policy("se") is POLICIES[Method.SE]
    with pytest.raises(ValueError, match="SE, Focusing, CSE"):
        Method.parse("EMDR")


def test_focusing_is_observe_only_and_untimed_cse_has_movement_blocks() -> None:
    focusing, se, cse = policy(Method.FOCUSING), policy(Method.SE), policy(Method.CSE)
    assert (focusing.suggestions, focusing.home_auto_pause, focusing.timed_steps) == (False, False, False)
    assert "felt shift" in focusing.markers
    assert se.suggestions and se.home_auto_pause and se.timed_steps and not se.movement_blocks
    assert cse.movement_blocks and {"movement-start", "movement-end"} <= set(cse.markers)


def _beats(seed: int, until_s: float, rr_at) -> list[tuple[float, float, bool]]:
    rng = np.random.default_rng(seed)
    t, out = 0.0, []
    while t < until_s:
        rr = float(rr_at(t) + rng.normal(0.0, 25.0))
        t += rr / 1000.0
        out.append((t, rr, True))
    return out


def _expected(beats: list[tuple[float, float, bool]], start: float, end: float) -> tuple[float, float]:
    """HR as the mean of 60000/RR, RMSSD of successive accepted beats inside the window: written out here."""
    rr = [r for t, r, ok in beats if start < t <= end and ok]
    hr = sum(60000.0 / r for r in rr) / len(rr)
    diffs = [b - a for a, b in zip(rr, rr[1:], strict=False)]
    return hr, math.sqrt(sum(d * d for d in diffs) / len(diffs))


def test_a_block_is_compared_once_its_rest_after_has_passed() -> None:
    moving = (100.0, 160.0)
    beats = _beats(3, 400.0, lambda t: 600.0 if moving[0] < t < moving[1] else 900.0)
    blocks, out, compared_at = MovementBlocks(), [], None
    for t, rr, ok in beats:
        if not blocks.in_block and moving[0] <= t < moving[1]:
            assert blocks.start(t, "practitioner") and not blocks.start(t, "practitioner")  # blocks do not nest
            start = t
        if blocks.in_block and t >= moving[1]:
            assert blocks.end(t)
            end = t
        new = blocks.beat(t, rr, ok)
        if new and compared_at is None:
            compared_at = t
        out += new
    assert len(out) == 1
    c = out[0]
    assert compared_at >= end + SETTLE_AFTER_S + REST_AFTER_S and compared_at - (end + SETTLE_AFTER_S + REST_AFTER_S) < 1.5
    hr_b, rmssd_b = _expected(beats, start - REST_BEFORE_S, start)
    hr_a, rmssd_a = _expected(beats, end + SETTLE_AFTER_S, end + SETTLE_AFTER_S + REST_AFTER_S)
    assert c.before.valid and c.after.valid and c.source == "practitioner"
    assert c.before.hr_bpm == pytest.approx(hr_b, rel=1e-9) and c.after.hr_bpm == pytest.approx(hr_a, rel=1e-9)
    assert c.before.rmssd_ms == pytest.approx(rmssd_b, rel=1e-9) and c.after.rmssd_ms == pytest.approx(rmssd_a, rel=1e-9)
    assert c.hr_change_bpm == pytest.approx(hr_a - hr_b, rel=1e-9)
    d = c.as_dict()
    assert d["windows"] == "60 s before the block; 60 s starting 30 s after it" and d["before"]["valid"] is True


def test_a_rest_without_enough_clean_beats_is_not_compared() -> None:
    beats = _beats(5, 200.0, lambda t: 900.0)
    sparse = [b for b in beats if not 110.0 < b[0] < 140.0]  # 30 s missing from a 60-s rest: 50 % coverage
    m = rest_measure(sparse, 100.0, 160.0)
    assert not m.valid and "clean beats" in m.reason
    flagged = [(t, rr, not (100.0 < t < 160.0 and i % 10 == 0)) for i, (t, rr, _) in enumerate(beats)]
    m = rest_measure(flagged, 100.0, 160.0)
    assert not m.valid and "rejected" in m.reason


def test_a_session_ending_inside_the_rest_after_still_reports_the_block_as_not_comparable() -> None:
    beats = _beats(7, 200.0, lambda t: 900.0)
    blocks = MovementBlocks()
    for t, rr, ok in beats:
        if t >= 100.0 and not blocks.in_block and t < 101.0:
            blocks.start(t, "script")
        if t >= 150.0 and blocks.in_block:
            blocks.end(t)
        assert blocks.beat(t, rr, ok) == []  # the rest after (180..240 s) never completes
    (c,) = blocks.finish(beats[-1][0])
    assert c.before.valid and not c.after.valid and c.hr_change_bpm is None and c.source == "script"


# -- the modes in the regulation loop -------------------------------------------------------------------
import functools  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from recording_helpers import record_simulated  # noqa: E402

from somafeedback.regulation.cues import HomeScript  # noqa: E402
from somafeedback.devices.events import TimelineEvent  # noqa: E402
from somafeedback.regulation.exercises import load_exercises  # noqa: E402
from somafeedback.regulation.states import RegulationState  # noqa: E402
from somafeedback.live.regulation_session import RegulationSession  # noqa: E402
from somafeedback.live.sinks import FanOut  # noqa: E402

MOVING = ("7:00", "8:30", "11:00", "12:30")  # the movement-plain-strap scenario's movement blocks


@functools.cache
def _cli_session(*args: str) -> tuple[dict, ...]:
    result = subprocess.run([sys.executable, "-m", "somafeedback.cli", "session", "--speed", "max", "--json", *args],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return tuple(json.loads(line) for line in result.stdout.splitlines())


def test_focusing_is_observe_only_states_are_judged_but_nothing_is_suggested() -> None:
    records = _cli_session("--simulate", "sustained-activation", "--mode", "practitioner", "--method", "focusing",
                           "--auto-approve")
    method = [r for r in records if r["type"] == "method"]
    assert len(method) == 1 and method[0]["method"] == "Focusing"
    assert "above band" in [r["state"] for r in records if r["type"] == "state"]  # observed
    assert [r for r in records if r["type"] == "cue"] == []  # the same run in SE mode suggests and delivers


def test_focusing_at_home_never_pauses_by_itself_and_steps_wait_for_the_client() -> None:
    records = _cli_session("--simulate", "sustained-activation", "--mode", "home", "--method", "focusing",
                           "--script", "focusing-round")
    actions = [r["action"] for r in records if r["type"] == "cue"]
    assert actions == ["script-step"]  # step 1 shown; 20 min of activation: no pause, no timed step change


def test_home_script_steps_move_on_by_next_and_back_when_untimed() -> None:
    library = load_exercises()
    script = HomeScript(library["focusing-round"], library, auto_pause=False, timed=False)
    assert [e.cue_id for e in script.start(0.0)] == [1]
    assert script.tick(10_000.0, RegulationState.ABOVE_BAND) == []
    assert [e.action for e in script.control("next", 10_001.0)] == ["client-control", "script-step"]
    assert [e.cue_id for e in script.control("back", 10_002.0)][-1] == 1
    script.control("back", 10_003.0)
    assert script.step == 0  # never before the first step
    for _ in library["focusing-round"].steps:
        events = script.control("next", 10_004.0)
    assert events[-1].action == "script-finished" and events[-1].reason == "completed"


def test_dizzy_during_paced_breathing_never_goes_back_to_the_pacer() -> None:
    library = load_exercises()
    script = HomeScript(library["low-and-slow-breathing"], library)
    script.start(0.0)
    paused = script.control("dizzy", 30.0)
    assert paused[-1].action == "script-paused" and paused[-1].reason == "dizzy"
    t, events = 30.0, []
    while t < 600.0 and not script.finished:
        t += 1.0
        events += script.tick(t, RegulationState.IN_BAND)
    assert script.finished and events[-1].action == "script-finished" and events[-1].reason == "dizzy"
    assert "script-resumed" not in [e.action for e in events]


def _at(clock: str) -> float:
    m, s = clock.split(":")
    return 60.0 * int(m) + float(s)


@functools.cache
def _movement_sessions(tmp: str) -> dict:
    """One recording of movement-plain-strap fed live to three loops: SE (no blocks), CSE with the
    practitioner's M presses at the movement phases, and a CSE home practice of arch-and-curl."""
    library = load_exercises()
    shown: dict[str, list[TimelineEvent]] = {"se": [], "cse": [], "script": []}
    se = RegulationSession("practitioner", library, shown["se"].append, method="SE")
    cse = RegulationSession("practitioner", library, shown["cse"].append, method="CSE")
    home = RegulationSession("home", library, shown["script"].append, method="CSE", script=library["arch-and-curl"])
    starts, ends = (_at(MOVING[0]), _at(MOVING[2])), (_at(MOVING[1]), _at(MOVING[3]))
    markers = ([(t, "marker", {"label": "movement-start"}) for t in starts]
               + [(t, "marker", {"label": "movement-end"}) for t in ends])
    record_simulated(Path(tmp) / "movement.session.sqlite", "movement-plain-strap", 900.0,
                     also=FanOut(se, cse, home), markers=markers,
                     manifest={"client": "Client A", "mode": "practitioner", "method": "CSE"},
                     on_writer=lambda writer: setattr(cse, "recorder", writer))  # the CSE loop's events are recorded
    cse.recorder = None  # closed with the recording
    for loop in (se, cse, home):
        loop.finish()
    return {**shown, "tmp": tmp}


@pytest.fixture(scope="module")
def movement(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return _movement_sessions(str(tmp_path_factory.mktemp("movement")))


def _states(events: list[TimelineEvent]) -> list[tuple[float, str]]:
    return [(e.host_ns / 1e9, e.data["state"]) for e in events if e.kind == "state"]


def test_a_plain_strap_reads_movement_as_activation_without_blocks(movement) -> None:
    assert "above band" in [s for _, s in _states(movement["se"])]  # the control: SE ignores the M presses
    assert not [e for e in movement["se"] if e.kind in ("movement", "rest-comparison")]


def test_cse_movement_blocks_hold_judging_and_compare_the_rest_before_and_after(movement) -> None:
    events = movement["cse"]
    states = [s for _, s in _states(events)]
    assert not {"rising", "above band"} & set(states) and "moving" in states
    blocks = [(e.host_ns / 1e9, e.data["action"]) for e in events if e.kind == "movement"]
    assert [a for _, a in blocks] == ["start", "end", "start", "end"]
    assert [t for t, _ in blocks] == pytest.approx([_at(c) for c in MOVING], abs=0.5)
    comparisons = [e.data for e in events if e.kind == "rest-comparison"]
    assert len(comparisons) == 2 and all(c["source"] == "practitioner" for c in comparisons)
    for c in comparisons:
        assert c["before"]["valid"] and c["after"]["valid"], c
        assert abs(c["hr_change_bpm"]) < 6.0  # settled before and after: about the same heart rate
        assert 55.0 < c["before"]["hr_bpm"] < 75.0


def test_a_scripts_movement_steps_are_blocks_in_any_strap(movement) -> None:
    events = movement["script"]
    steps = [e for e in events if e.kind == "cue" and e.data["action"] == "script-step"]
    script = load_exercises()["arch-and-curl"]
    blocks = [e for e in events if e.kind == "movement"]
    assert blocks and blocks[0].data == {"action": "start", "source": "script"}
    first_marked = next(e for e in steps if script.steps[e.data["cue_id"] - 1].pause_judging)
    assert blocks[0].host_ns == first_marked.host_ns  # the block starts with the first movement step
    moving_states = [t for t, s in _states(events) if s == "moving"]
    assert moving_states and moving_states[0] == pytest.approx(first_marked.host_ns / 1e9)


def test_the_report_names_the_method_and_tables_each_blocks_rest_before_and_after(movement) -> None:
    from somafeedback.reports.content import session_content
    from somafeedback.ui.report.html import session_html

    content = session_content(Path(movement["tmp"]) / "movement.session.sqlite")
    assert content.method == "CSE"
    assert [round(r.start_s) for r in content.rest_comparisons] == [round(_at(MOVING[0])), round(_at(MOVING[2]))]
    assert all(r.before_hr and r.after_hr and not r.note for r in content.rest_comparisons)
    text = session_html(content, [], lambda image: "")
    assert "Movement blocks: rest before and after" in text and "<td>CSE</td>" in text.replace(" ", "")


def test_changing_the_method_mid_session_withdraws_an_open_suggestion_and_is_recorded() -> None:
    from somafeedback.regulation.cues import CueConfig
    from somafeedback.regulation.states import Features, StateChange

    shown: list[TimelineEvent] = []
    loop = RegulationSession("practitioner", load_exercises(), shown.append, cue_config=CueConfig())
    f = Features(100.0, 95.0, 1.0, 3.0)
    loop._states([StateChange(100.0, RegulationState.IN_BAND, RegulationState.ABOVE_BAND, "test", f)])
    loop._cue_events(loop.cues.tick(Features(131.0, 95.0, 1.0, 3.0)))
    assert loop.cues.pending is not None  # grounding suggested after 30 s above band
    loop.set_method("focusing", 140.0)
    assert loop.cues is None and loop.method is Method.FOCUSING
    kinds = [(e.kind, e.data.get("action") or e.data.get("method")) for e in shown]
    assert kinds[-2:] == [("method", "Focusing"), ("cue", "withdrawn")]
    loop.set_method("focusing", 150.0)  # the same method: nothing new
    assert len(shown) == len(kinds)
    with pytest.raises(ValueError, match="EMDR"):
        loop.set_method("EMDR")


def test_the_engine_changes_method_on_its_loop_and_rejects_unknown_ones_in_the_caller(tmp_path: Path) -> None:
    import time

    from somafeedback.live.engine import Engine, EngineOptions, EngineSource

    engine = Engine(EngineSource(simulate="calm", speed=60.0), EngineOptions(record_to=tmp_path, method="CSE"))
    engine.start()
    try:
        with pytest.raises(ValueError, match="choose one of"):
            engine.set_method("yoga")
        items, deadline = [], time.monotonic() + 60.0
        while not any(getattr(i, "kind", None) == "method" for i in items) and time.monotonic() < deadline:
            items += engine.drain()
            time.sleep(0.02)
        engine.set_method("focusing")
        while (sum(getattr(i, "kind", None) == "method" for i in items) < 2) and time.monotonic() < deadline:
            items += engine.drain()
            time.sleep(0.02)
    finally:
        engine.stop()
    methods = [i.data["method"] for i in items if getattr(i, "kind", None) == "method"]
    assert methods == ["CSE", "Focusing"]
    from somafeedback.sessions.file import read_session

    session = read_session(engine.recording)
    assert session.manifest["method"] == "CSE"  # how the session began; the change is on the timeline
    assert [e.data["method"] for e in session.events if isinstance(e, TimelineEvent) and e.kind == "method"] == ["CSE", "Focusing"]


def test_se_on_repeated_swings_follows_each_swing_and_only_grounds() -> None:
    """Four swings that each come back: the states cycle four times; grounding is suggested, never a
    resource (each swing returns) and never pendulation."""
    records = _cli_session("--simulate", "pendulation-swings", "--simulated-strap", "hr", "--mode", "practitioner")
    states = [r["state"] for r in records if r["type"] == "state"]
    cycle = ["rising", "above band", "settling", "in band"]
    at, cycles = 0, 0
    for state in states[states.index("in band") + 1:]:
        if state == cycle[at]:
            at = (at + 1) % len(cycle)
            cycles += at == 0
    assert cycles == 4, states
    kinds = {r["kind"] for r in records if r["type"] == "cue" and r["action"] == "suggested"}
    assert kinds and kinds <= {"grounding", "containment"}, kinds


def test_on_an_h10_cse_takes_the_chest_accelerometers_movement_as_blocks(tmp_path: Path) -> None:
    shown: list[TimelineEvent] = []
    cse = RegulationSession("practitioner", load_exercises(), shown.append, method="CSE")
    record_simulated(tmp_path / "h10.session.sqlite", "movement-plain-strap", 900.0, also=cse, h10=True)
    cse.finish()
    blocks = [(e.host_ns / 1e9, e.data["action"], e.data["source"]) for e in shown if e.kind == "movement"]
    assert [(a, s) for _, a, s in blocks] == [("start", "accelerometer"), ("end", "accelerometer")] * 2
    assert [t for t, _, _ in blocks] == pytest.approx([_at(c) for c in MOVING], abs=8.0)  # the motion estimate's lag
    assert not {"rising", "above band"} & {s for _, s in _states(shown)}
    comparisons = [e.data for e in shown if e.kind == "rest-comparison"]
    assert len(comparisons) == 2 and all(c["before"]["valid"] and c["after"]["valid"] for c in comparisons)
