"""The regulation loop on the simulator's scenarios, the state model and the cue engine."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from recording_helpers import record_simulated

from somafeedback.cues import CueConfig, PractitionerCues
from somafeedback.devices.events import TimelineEvent
from somafeedback.exercise_library import load_library
from somafeedback.regulation import Baseline, Features, RegulationModel, RegulationState, StateChange
from somafeedback.regulation_session import RegulationSession
from somafeedback.session_file import read_session


@cache
def run_session(scenario: str, *extra: str) -> tuple[dict, ...]:
    result = subprocess.run(
        [sys.executable, "-m", "somafeedback.cli", "session", "--simulate", scenario, "--speed", "max", "--json", *extra],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return tuple(json.loads(line) for line in result.stdout.splitlines())


def states(records: tuple[dict, ...]) -> list[str]:
    return [r["state"] for r in records if r["type"] == "state"]


def cues(records: tuple[dict, ...], action: str = "suggested") -> list[dict]:
    return [r for r in records if r["type"] == "cue" and r["action"] == action]


def _in_order(sequence: list[str], wanted: list[str]) -> bool:
    position = 0
    for item in sequence:
        if position < len(wanted) and item == wanted[position]:
            position += 1
    return position == len(wanted)


def test_calm_gives_no_grounding_cue_and_stays_in_band() -> None:
    records = run_session("calm", "--mode", "practitioner")
    assert states(records)[:2] == ["calibrating", "in band"]
    assert not {"rising", "above band", "settling"} & set(states(records))
    assert cues(records) == []
    baseline = next(r for r in records if r["type"] == "baseline")
    assert 60 < baseline["hr_ref"] < 72 and baseline["source"] == "calibration"


def test_activation_rises_goes_above_band_gets_grounding_then_settles() -> None:
    records = run_session("activation", "--mode", "practitioner")
    sequence = [("state", r["state"]) if r["type"] == "state" else (r["type"], r.get("kind", ""))
                for r in records if r["type"] in ("state", "cue") and r.get("action", "suggested") == "suggested"]
    flat = [f"{kind}:{what}" for kind, what in sequence]
    assert _in_order(flat, ["state:in band", "state:rising", "state:above band", "cue:grounding", "state:settling", "state:in band"])
    grounding = cues(records)[0]
    above_at = next(r["t_s"] for r in records if r["type"] == "state" and r["state"] == "above band")
    assert grounding["kind"] == "grounding" and grounding["exercise"] == "feet-and-seat-grounding"
    assert grounding["t_s"] - above_at >= 30.0  # above band for 30 s first
    assert cues(records, "expired")  # nobody approved it: it faded


def test_sustained_activation_leads_to_the_pendulation_invitation() -> None:
    records = run_session("sustained-activation", "--mode", "practitioner")
    kinds = [c["kind"] for c in cues(records)]
    assert "pendulation" in kinds
    invitation = next(c for c in cues(records) if c["kind"] == "pendulation")
    rising_at = next(r["t_s"] for r in records if r["type"] == "state" and r["state"] in ("rising", "above band"))
    assert invitation["t_s"] - rising_at >= 240.0 and invitation["exercise"] == "titrated-pendulation"
    assert "settling" not in states(records)


@pytest.mark.parametrize("scenario", ["artifacts", "dropout"])
def test_bad_signal_freezes_the_model_instead_of_producing_false_states(scenario: str) -> None:
    records = run_session(scenario, "--mode", "practitioner")
    assert "low signal" in states(records)
    assert not {"rising", "above band", "settling", "quiet drop — check in?"} & set(states(records))
    assert cues(records) == []


def test_states_never_flicker() -> None:
    records = run_session("activation", "--mode", "practitioner")
    judged = [r for r in records if r["type"] == "state" and r["state"] not in ("low signal", "calibrating")]
    for before, after in zip(judged, judged[1:], strict=False):
        assert after["t_s"] - before["t_s"] >= 20.0, (before, after)


def test_auto_approve_delivers_the_cue_and_containment_follows_if_activation_persists() -> None:
    records = run_session("sustained-activation", "--mode", "practitioner", "--auto-approve")
    delivered = [c["kind"] for c in cues(records, "delivered")]
    assert delivered[:2] == ["grounding", "containment"]
    times = [c["t_s"] for c in cues(records)]
    assert all(b - a >= 180.0 for a, b in zip(times, times[1:], strict=False))  # at least 3 min apart


def test_home_mode_pauses_the_script_into_grounding_and_resumes_when_settled() -> None:
    records = run_session("activation", "--mode", "home", "--script", "low-and-slow-breathing")
    actions = [r["action"] for r in records if r["type"] == "cue"]
    assert actions[0] == "script-step"
    assert _in_order(actions, ["script-step", "script-paused", "script-resumed"])
    paused = next(r for r in records if r.get("action") == "script-paused")
    assert paused["exercise"] == "feet-and-seat-grounding"
    above_at = next(r["t_s"] for r in records if r["type"] == "state" and r["state"] == "above band")
    assert paused["t_s"] - above_at >= 60.0
    assert cues(records) == []  # home mode never makes practitioner suggestions


def test_home_mode_needs_a_script() -> None:
    result = subprocess.run([sys.executable, "-m", "somafeedback.cli", "session", "--simulate", "--mode", "home"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--script" in result.stderr and "Traceback" not in result.stderr


def test_state_changes_and_cue_steps_are_recorded_and_replay_identically(tmp_path: Path) -> None:
    from somafeedback.clock import SystemClock
    from somafeedback.session_file import SessionWriter

    library = load_library()
    shown: list[TimelineEvent] = []
    path = tmp_path / "loop.session.sqlite"
    writer = SessionWriter(path, SystemClock(), {"mode": "practitioner"})
    loop = RegulationSession("practitioner", library, shown.append, auto_approve=True, recorder=writer)
    raw = tmp_path / "raw.session.sqlite"
    record_simulated(raw, "activation", 1200.0)
    from somafeedback.devices.replay import ReplaySource
    from session_helpers import run_in_session_time

    async def main() -> None:
        await ReplaySource(read_session(raw).timeline, loop).run()

    run_in_session_time(main)
    writer.close()
    recorded = [e for e in read_session(path).events if isinstance(e, TimelineEvent) and e.kind in ("state", "cue", "baseline")]
    assert [(e.kind, dict(e.data)) for e in recorded] == [(e.kind, dict(e.data)) for e in shown]
    assert {e.data.get("action") for e in recorded if e.kind == "cue"} >= {"suggested", "approved", "delivered"}
    # replaying the raw session through the loop again gives the same states and cues
    again: list[TimelineEvent] = []
    loop2 = RegulationSession("practitioner", library, again.append, auto_approve=True)

    async def main2() -> None:
        await ReplaySource(read_session(raw).timeline, loop2).run()

    run_in_session_time(main2)
    assert [(e.kind, dict(e.data)) for e in again] == [(e.kind, dict(e.data)) for e in shown]


# -- units -----------------------------------------------------------------------------------
def test_a_stored_baseline_skips_calibration_and_history_is_a_rolling_median() -> None:
    rows = [Baseline(60 + k, 1.0 + k / 10, 3.5, 0.1, 0.5, "calibration", 240.0) for k in range(12)]
    history = Baseline.from_history(rows)
    assert history.hr_ref == pytest.approx(60 + 6.5) and history.source == "history"  # the last 10: 62..71
    assert RegulationModel(baseline=history).state is RegulationState.IN_BAND
    with pytest.raises(ValueError, match="no stored baselines"):
        Baseline.from_history([])


def _change(state: RegulationState, t: float) -> StateChange:
    return StateChange(t, RegulationState.IN_BAND, state, "test", Features(t, 90.0, 1.0, None))


def test_cue_lifecycle_snooze_dismiss_rate_limit_and_quiet_periods() -> None:
    library = load_library()
    engine = PractitionerCues(library, CueConfig())
    f = lambda t, slope=1.0: Features(t, 90.0, slope, None)  # noqa: E731
    engine.on_state(_change(RegulationState.CALIBRATING, 0.0))
    assert engine.tick(f(100.0)) == []  # quiet while calibrating
    engine.on_state(_change(RegulationState.ABOVE_BAND, 300.0))
    assert engine.tick(f(320.0)) == []  # not yet 30 s above band
    assert [e.action for e in engine.tick(f(331.0))] == ["suggested"]
    assert [e.action for e in engine.snooze(335.0)] == ["snoozed"]
    assert engine.tick(f(600.0)) == []  # snoozed for 5 min
    engine.on_state(_change(RegulationState.SETTLING, 640.0))
    engine.on_state(_change(RegulationState.ABOVE_BAND, 700.0))
    assert engine.tick(f(740.0, slope=-1.0)) == []  # coming down already: no grounding
    assert [e.action for e in engine.tick(f(741.0, slope=0.5))] == ["suggested"]
    assert [e.action for e in engine.dismiss(742.0)] == ["dismissed"]
    engine.on_state(_change(RegulationState.IN_BAND, 805.0))
    engine.on_state(_change(RegulationState.ABOVE_BAND, 900.0))
    engine.on_marker("discharge", 900.0)  # the practitioner holds space: quiet for 2 min
    assert engine.tick(f(935.0)) == [] and engine.tick(f(1015.0)) == []
    assert [e.action for e in engine.tick(f(1021.0))] == ["suggested"]
    assert [e.action for e in engine.tick(f(1067.0))] == ["expired"]  # 45 s unanswered


def test_at_most_six_suggestions_per_session() -> None:
    engine = PractitionerCues(load_library(), CueConfig(min_gap_s=0.0))
    made = 0
    for episode in range(10):
        t0 = 1000.0 * episode
        engine.on_state(_change(RegulationState.IN_BAND, t0))
        engine.on_state(_change(RegulationState.ABOVE_BAND, t0 + 10))
        made += sum(e.action == "suggested" for e in engine.tick(Features(t0 + 50, 90.0, 1.0, None)))
        engine.dismiss(t0 + 51)
    assert made == 6


def test_quiet_drop_is_practitioner_facing_and_waits_after_a_resource_marker() -> None:
    from somafeedback.pipeline import MetricsPipeline

    baseline = Baseline(70.0, 1.0, 3.6, 0.1, 0.0, "history", 240.0)
    model, pipeline = RegulationModel(baseline=baseline), MetricsPipeline()
    model.marker("resource", 0.0)
    t, seen = 0.0, []
    while t < 400.0:  # HR 60 bpm: 10 below the baseline
        t += 1.0
        seen += model.update(pipeline.push_beat(t, 1000.0 + 20.0 * ((int(t) % 4) - 1.5)))
    drop = [c for c in seen if c.state is RegulationState.QUIET_DROP]
    assert len(drop) == 1 and drop[0].t_s >= 120.0 + 60.0  # not within 2 min of the resource marker


def test_a_recorded_session_gives_later_sessions_a_stored_baseline(tmp_path: Path) -> None:
    base = [sys.executable, "-m", "somafeedback.cli", "session", "--mode", "practitioner", "--speed", "max",
            "--client", "C9", "--recordings", str(tmp_path), "--json"]
    refused = subprocess.run(base + ["--simulate", "calm", "--baseline", "history"], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "no stored baseline for C9" in refused.stderr
    first = subprocess.run(base + ["--simulate", "calm", "--record"], capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    (path,) = tmp_path.glob("*.session.sqlite")
    stored = read_session(path)
    assert stored.manifest["baseline"]["source"] == "calibration"
    assert any(isinstance(e, TimelineEvent) and e.kind == "state" for e in stored.events)  # states are recorded
    second = subprocess.run(base + ["--simulate", "activation", "--baseline", "history", "--duration", "600"],
                            capture_output=True, text=True, timeout=300)
    records = [json.loads(line) for line in second.stdout.splitlines()]
    assert states(tuple(records))[0] == "in band" and "calibrating" not in states(tuple(records))
    assert "above band" in states(tuple(records))
