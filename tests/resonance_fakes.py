"""A measure and a ranking written in the tests (the criteria's own are tested on their own): enough
to see which data a step was measured on and that the run ranks what it measured."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from recording_helpers import record_simulated

from somafeedback.live.regulation_session import RegulationSession
from somafeedback.regulation.exercises import load_exercises, parse_exercise_text
from somafeedback.sessions.file import SessionWriter
from somafeedback.resonance.result import ResonanceResult, StepMeasures
from somafeedback.resonance.step_data import StepData

MEASURED: list[StepData] = []  # every StepData handed to fake_measure, in order


def fake_measure(data: StepData) -> StepMeasures:
    """Beats and following counted; "assessable" with >= 20 beats; the HR swing = the mean RR spread."""
    MEASURED.append(data)
    beats = int(len(data.rr_ms))
    swing = float(data.rr_ms.max() - data.rr_ms.min()) if beats else math.nan
    following = [f for f in data.following if f[1]]
    share = sum(f[2] for f in following) / len(following) if following else math.nan
    return StepMeasures(index=data.index, step=data.step, rate_bpm=data.rate_bpm, t0_s=data.t0_s, t1_s=data.t1_s,
                        beats=beats, peak_trough_hr_bpm=swing, following_share=share,
                        following_checked=bool(following), following=None if not following else share >= 0.5,
                        breathing_source=data.breath_source,
                        assessable=beats >= 20, reason="" if beats >= 20 else "too short")


def fake_rank(steps: Sequence[StepMeasures], complete: bool) -> ResonanceResult:
    """The assessable steps by HR swing, largest first."""
    ranked = sorted((s for s in steps if s.assessable), key=lambda s: -s.peak_trough_hr_bpm)
    ranks = {id(s): i + 1 for i, s in enumerate(ranked)}
    scored = tuple(s.with_score(1.0 / ranks[id(s)] if id(s) in ranks else math.nan, ranks.get(id(s))) for s in steps)
    return ResonanceResult(steps=scored, weights={"peak_trough_hr_bpm": 1.0}, complete=complete,
                           best_rate_bpm=ranked[0].rate_bpm if ranked else None,
                           second_rate_bpm=ranked[1].rate_bpm if len(ranked) > 1 else None,
                           reason="" if ranked else "no step could be assessed")


def record_assessment(path: Path, duration_s: float = 205.0) -> RegulationSession:
    """A simulated H10 breathing slowly, a home assessment (6 then 5 breaths/min, 80 s steps) from the
    first beat, recorded in ``path`` (client "Client A") with the fake measure and ranking."""
    exercise = load_exercises()["resonance-assessment"]
    text = Path(exercise.source).read_text(encoding="utf-8")
    text = text.replace("rates_bpm = [6.5, 6.0, 5.5, 5.0, 4.5]", "rates_bpm = [6.0, 5.0]").replace("step_s = 120", "step_s = 80")
    script = parse_exercise_text(text, exercise.source)
    session = RegulationSession("home", {}, lambda event: None, script=script, client="Client A")
    session.resonance.measure, session.resonance.rank = fake_measure, fake_rank

    def attach(writer: SessionWriter) -> None:
        session.recorder = writer

    record_simulated(path, "slow-breathing", duration_s, also=session, h10=True, on_writer=attach)
    return session
