"""Practice summaries and weekly trends, from sessions recorded through the real simulated path.

One home practice is recorded by the engine exactly as the home window runs it (simulated
strap -> BLE stack -> analysis -> regulation session and home script -> session file);
others by the plain recording path (no states, no baseline), and the weekly trend also
on synthetic manifests with chosen dates (ISO weeks, a year boundary, empty weeks).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from pathlib import Path

import numpy as np
import pytest
from recording_helpers import record_simulated

from somafeedback.devices.events import Notification, TimelineEvent
from somafeedback.devices.gatt_uuids import HEART_RATE_MEASUREMENT
from somafeedback.live.engine import Engine, EngineOptions, EngineSource
from somafeedback.regulation.exercises import Exercise, load_exercises, parse_exercise_text
from somafeedback.reports.practice_history import (
    NOTE_TEXT,
    PracticeSummary,
    WindowValues,
    HR_SAME_BPM,
    LN_SAME,
    describe,
    describe_hr_change,
    describe_ln_rmssd_change,
    practice_summary,
    resting_ln_rmssd,
    round_half_up,
    trend_texts,
    weekly_trend,
    whole_beats_change,
)
from somafeedback.sessions.beats import decode_beats
from somafeedback.sessions.file import SessionWriter, read_session

BANNED = re.compile(r"diagnos|vagal|dorsal|ventral|shutdown|trauma|stress|score|bad|fail", re.I)

SHORT_PRACTICE = """
title = "Short paced practice"
purpose = "A short practice with the pacer, for the tests."
role = "paced-breathing"
where = ["home"]
entry_trigger = "Chosen at home."
exit_condition = "The steps end."

[[step]]
text = "You can keep your eyes open or closed, and you can stop at any time."
seconds = 20

[[step]]
text = "Breathe along with the pacer, gently."
seconds = 90
pacer = { inhale_s = 4, exhale_s = 6 }
"""


def short_practice() -> Exercise:
    return parse_exercise_text(SHORT_PRACTICE, "short-paced-practice.toml")


def record_home_practice(folder: Path, exercise: Exercise, scenario: str = "calm", speed: float = 200.0) -> Path:
    """A home practice recorded by the engine (as the home window runs it) until the script ends."""
    library = {**load_exercises(), exercise.id: exercise}
    engine = Engine(EngineSource(simulate=scenario, speed=speed, seed=4, simulated_model="hr"),
                    EngineOptions(mode="home", script=exercise.id, record_to=folder,
                                  manifest={"client": "Client A", "mode": "home", "script": exercise.id}), library)
    engine.start()
    deadline = time.monotonic() + 40.0
    finished = False
    while not finished and time.monotonic() < deadline and not engine.finished.is_set():
        for item in engine.drain():
            finished = finished or (isinstance(item, TimelineEvent) and item.kind == "cue"
                                    and item.data.get("action") == "script-finished")
        time.sleep(0.01)
    engine.stop()
    assert finished, f"the script did not finish ({engine.error})"
    assert engine.recording is not None
    return engine.recording


@pytest.fixture(scope="module")
def home_practice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record_home_practice(tmp_path_factory.mktemp("home"), short_practice())


@pytest.fixture(scope="module")
def plain_home_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Recorded without the regulation session: no states, no cues, no baseline in the manifest."""
    folder = tmp_path_factory.mktemp("plain")
    return record_simulated(folder / "plain.session.sqlite", "calm", 200.0,
                            manifest={"client": "Client B", "mode": "home"})


def _mean_hr_before(path: Path, t_s: float, window_s: float = 60.0) -> float:
    """Mean HR of the beats in (t - 60 s, t], straight from the recorded notifications."""
    beats = decode_beats(read_session(path).timeline)["strap1"]
    t, rr, flagged = beats.t_s, beats.rr_ms, np.array(beats.flagged)
    keep = (t > t_s - window_s) & (t <= t_s + 1e-9) & ~flagged
    return 60000.0 / float(np.mean(rr[keep]))


# --- one practice --------------------------------------------------------------------------------

def test_summary_of_a_recorded_home_practice(home_practice: Path) -> None:
    library = {**load_exercises(), "short-paced-practice": short_practice()}
    summary = practice_summary(home_practice, library)
    session = read_session(home_practice)

    assert summary.script_id == "short-paced-practice" and summary.script_title == "Short paced practice"
    assert summary.duration_min == pytest.approx(session.duration_s / 60.0)
    # a 5-min resting measurement (1 + 4 min), then the 110-s script
    assert 5.0 + 110 / 60 - 0.1 < summary.duration_min < 5.0 + 110 / 60 + 1.0
    assert summary.state_seconds["calibrating"] == pytest.approx(300.0, abs=5.0)
    assert summary.state_seconds["in band"] > 100.0
    assert sum(summary.state_seconds.values()) == pytest.approx(summary.duration_min * 60.0, abs=90.0)

    start, end = summary.start_window, summary.end_window
    assert start is not None and end is not None
    assert end.t_s - start.t_s >= 60.0
    for window in (start, end):
        assert 55.0 < window.hr_bpm < 80.0 and 2.5 < window.ln_rmssd < 4.5
        assert window.hr_bpm == pytest.approx(_mean_hr_before(home_practice, window.t_s), abs=0.6)
    assert summary.hr_change_bpm == pytest.approx(end.hr_bpm - start.hr_bpm)
    assert summary.ln_rmssd_change == pytest.approx(end.ln_rmssd - start.ln_rmssd)

    assert summary.pacer_bpm == pytest.approx(6.0)
    assert summary.paced_breathing_bpm is not None and 4.0 < summary.paced_breathing_bpm < 20.0
    assert summary.artifact_pct is not None and summary.artifact_pct < 5.0
    assert summary.n_beats > 300

    text = summary.text
    assert text.startswith("You practised for about 7 minutes (Short paced practice).")
    assert "at the end than at the start" in text or "about the same at the end as at the start" in text
    assert "While the pacer was on" in text and "(the pacer was set to 6.0)" in text
    assert "Resting measurement at the start: about 5 minutes" in text
    assert text.endswith(NOTE_TEXT)
    assert not BANNED.search(text), BANNED.search(text)


def test_summary_accepts_a_read_session_and_finds_the_script_in_the_events(home_practice: Path) -> None:
    session = read_session(home_practice)
    session.manifest.pop("script")
    summary = practice_summary(session, {"short-paced-practice": short_practice()})
    assert summary.script_id == "short-paced-practice" and summary.pacer_bpm == pytest.approx(6.0)


def test_summary_without_states_or_script(plain_home_session: Path) -> None:
    summary = practice_summary(plain_home_session, {})
    assert summary.script_id is None and summary.state_seconds == {}
    assert summary.pacer_bpm is None and summary.paced_breathing_bpm is None
    assert summary.start_window is not None and summary.end_window is not None
    assert summary.lines[0] == "You practised for about 3 minutes."
    assert not BANNED.search(summary.text)


def _summary(start: tuple[float, float] | None, end: tuple[float, float] | None, n_beats: int = 500,
             **states: float) -> PracticeSummary:
    return PracticeSummary("x", None, None, 12.0, "s", "Some practice", state_seconds=dict(states),
                           start_window=WindowValues(60.0, *start) if start else None,
                           end_window=WindowValues(700.0, *end) if end else None,
                           artifact_pct=2.4, n_beats=n_beats)


def test_the_wording_describes_changes_neutrally() -> None:
    lower = describe(_summary((70.2, 3.50), (66.1, 3.80)))
    assert "Your heart rate was 4 bpm lower at the end than at the start (70 bpm at the start, 66 bpm at the end)." in lower
    assert "Beat-to-beat variability (ln RMSSD) was 0.30 higher at the end than at the start (3.50 at the start, 3.80 at the end)." in lower
    higher = describe(_summary((64.0, 3.9), (71.0, 3.6)))
    assert "7 bpm higher at the end" in "\n".join(higher) and "0.30 lower at the end" in "\n".join(higher)
    same = describe(_summary((66.0, 3.70), (66.4, 3.72)))
    assert "Your heart rate was about the same at the end as at the start (about 66 bpm)." in same
    assert "Beat-to-beat variability (ln RMSSD) was about the same at the end as at the start (about 3.72)." in same
    short = describe(_summary((66.0, 3.7), None))
    assert "The recording was too short to compare the start with the end." in short
    empty = describe(_summary(None, None, n_beats=0))
    assert empty[-1].startswith("No heartbeats were recorded")
    states = "\n".join(describe(_summary((66, 3.7), (66, 3.7), **{"in band": 400.0, "quiet drop — check in?": 90.0,
                                                                  "above band": 50.0})))
    assert "In your usual range: about 7 minutes; above your usual range: less than a minute." in states
    assert "quiet" not in states.lower()  # a practitioner-only state never reaches the client's text
    assert "2 % of the beats were set aside as unclear signal." in states
    for text in (*lower, *higher, *same, *short, *empty, states, *trend_texts()):
        assert not BANNED.search(text), text


def test_the_about_the_same_rule_and_its_whole_beats_form() -> None:
    assert (HR_SAME_BPM, LN_SAME) == (1.0, 0.05)
    assert [describe_hr_change(c) for c in (-4.1, -1.0, -0.99, 0.0, 0.99, 1.0, 7.0)] == \
        ["lower", "lower", "same", "same", "same", "higher", "higher"]
    assert [describe_ln_rmssd_change(c) for c in (-0.3, -0.05, -0.049, 0.02, 0.049, 0.05, 0.3)] == \
        ["lower", "lower", "same", "same", "same", "higher", "higher"]
    assert [round_half_up(v) for v in (77.49, 77.5, 78.5, 79.5, 0.5, 12.4)] == [77, 78, 79, 80, 1, 12]  # not to even
    # the whole-beats form compares the figures a text shows: 78.6 -> 78.4 reads 79 -> 78 (a change),
    # 78.4 -> 77.6 reads 78 -> 78 (the same), though the unrounded changes say the opposite
    assert whole_beats_change(78.6, 78.4) == (79, 78, "lower")
    assert describe_hr_change(78.4 - 78.6) == "same"
    assert whole_beats_change(78.4, 77.6) == (78, 78, "same")
    assert describe_hr_change(77.6 - 78.4) == "same"
    assert whole_beats_change(77.4, 78.5) == (77, 79, "higher")
    assert whole_beats_change(66.5, 66.0) == (67, 66, "lower")
    # describe() follows the same rule
    assert any("about the same" in line for line in describe(_summary((66.0, 3.70), (66.99, 3.749))))
    changed = "\n".join(describe(_summary((66.0, 3.70), (67.0, 3.76))))
    assert "1 bpm higher" in changed and "0.06 higher" in changed


# --- weeks -----------------------------------------------------------------------------------------

class _FixedClock:
    def now(self) -> float:
        return 0.0

    def now_ns(self) -> int:
        return 0

    def wall_time(self) -> float:
        return 0.0


def _synthetic(folder: Path, name: str, when: dt.datetime, minutes: float, mode: str = "home",
               client: str = "Client A", ln_ref: float | None = None, heart_data: bool = True) -> Path:
    manifest = {"client": client, "mode": mode, "started_wall": when.timestamp(), "started_host_ns": 0}
    if ln_ref is not None:
        manifest["baseline"] = {"hr_ref": 66.0, "sd_hr": 1.0, "ln_ref": ln_ref, "sd_ln": 0.1, "artifact_pct": 0.0,
                                "source": "calibration", "window_s": 240.0}
    writer = SessionWriter(folder / f"{name}.session.sqlite", _FixedClock(), manifest)
    if heart_data:  # one Heart Rate notification (HR 66, no RR): enough to count as a practice, no beats
        writer.notification(Notification("strap1", HEART_RATE_MEASUREMENT, 1, 10**9, when.timestamp() + 1.0, b"\x00\x42"))
    writer.close("stopped", ended_wall=when.timestamp() + minutes * 60.0, ended_host_ns=round(minutes * 60e9))
    return writer.path


def test_weekly_trend_counts_iso_weeks_and_keeps_empty_weeks(tmp_path: Path) -> None:
    noon = dt.time(12, 0)
    _synthetic(tmp_path, "a", dt.datetime.combine(dt.date(2024, 12, 30), noon), 10.0, ln_ref=3.4)  # ISO 2025-W01
    _synthetic(tmp_path, "b", dt.datetime.combine(dt.date(2025, 1, 2), noon), 15.0, ln_ref=3.8)
    _synthetic(tmp_path, "c", dt.datetime.combine(dt.date(2025, 1, 5), noon), 5.0, ln_ref=3.5)  # Sunday: still W01
    _synthetic(tmp_path, "d", dt.datetime.combine(dt.date(2025, 1, 8), noon), 30.0, mode="practitioner", ln_ref=2.0)
    _synthetic(tmp_path, "e", dt.datetime.combine(dt.date(2025, 1, 22), noon), 12.5)  # W04, no baseline, no beats
    _synthetic(tmp_path, "f", dt.datetime.combine(dt.date(2025, 2, 10), noon), 20.0, client="Client B", ln_ref=4.0)
    _synthetic(tmp_path, "g", dt.datetime.combine(dt.date(2025, 3, 3), noon), 0.1, heart_data=False)  # no strap found

    rows = weekly_trend(tmp_path, client="client a")
    assert [(r.year, r.week) for r in rows] == [(2025, 1), (2025, 2), (2025, 3), (2025, 4)]
    assert [r.start for r in rows] == [dt.date(2024, 12, 30), dt.date(2025, 1, 6), dt.date(2025, 1, 13), dt.date(2025, 1, 20)]
    assert [r.minutes for r in rows] == pytest.approx([30.0, 0.0, 0.0, 12.5])
    assert [r.practices for r in rows] == [3, 0, 0, 1]
    assert rows[0].resting_ln_rmssd == pytest.approx(3.5) and rows[0].resting_readings == 3  # median of 3.4, 3.8, 3.5
    assert [r.resting_ln_rmssd for r in rows[1:]] == [None, None, None]
    assert rows[0].label == "30 Dec"

    everyone = weekly_trend(tmp_path)
    assert len(everyone) == 7 and everyone[-1].start == dt.date(2025, 2, 10) and everyone[-1].minutes == pytest.approx(20.0)
    assert sum(r.practices for r in everyone) == 5  # the practitioner session is not home practice
    assert all(r.minutes == 0.0 for r in everyone[4:6])
    assert weekly_trend(tmp_path / "missing") == [] and weekly_trend(tmp_path, client="nobody") == []


def test_resting_value_falls_back_to_the_first_valid_window(plain_home_session: Path, home_practice: Path) -> None:
    first = practice_summary(plain_home_session, {}).start_window
    assert first is not None
    assert resting_ln_rmssd(plain_home_session) == pytest.approx(first.ln_rmssd)
    baseline = read_session(home_practice).manifest["baseline"]["ln_ref"]
    assert resting_ln_rmssd(home_practice) == pytest.approx(baseline)
    assert math.isfinite(baseline)


def test_weekly_trend_from_recorded_practices(tmp_path: Path, plain_home_session: Path, home_practice: Path) -> None:
    for path in (plain_home_session, home_practice):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    rows = weekly_trend(tmp_path)
    assert sum(r.practices for r in rows) == 2
    total = sum(read_session(p).duration_s for p in (plain_home_session, home_practice)) / 60.0
    assert sum(r.minutes for r in rows) == pytest.approx(total)
    readings = [r for r in rows if r.resting_readings]
    assert sum(r.resting_readings for r in readings) == 2


def test_a_weeks_resting_value_is_shown_only_from_three_readings() -> None:
    """The chart's rule, in the core: a week's resting median is drawn from MIN_RESTING_READINGS readings on."""
    from somafeedback.reports.practice_history import MIN_RESTING_READINGS, WeekRow, resting_to_show

    monday = dt.date(2025, 1, 6)
    rows = [WeekRow(2025, 2 + k, monday + dt.timedelta(days=7 * k), 20.0, n, value, n)
            for k, (n, value) in enumerate(((3, 3.4), (2, 3.6), (0, None), (5, 3.2), (1, 3.9)))]
    assert MIN_RESTING_READINGS == 3
    assert resting_to_show(rows) == [3.4, None, None, 3.2, None]
    assert resting_to_show([]) == []
