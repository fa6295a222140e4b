"""Boundary tests pinning two policies a mutation check found unpinned (issue #14).

1. The artifact rule's thresholds (somafeedback/hrv/artifacts.py, the rule in its docstring): for each
   one, a beat just inside the boundary is accepted and a beat just outside is flagged. Every
   expected number is written here from the documented rule (never imported from the module, so a
   changed constant turns a test red), and once more on real records with the rule recomputed
   independently in numpy.
2. Salvage reads only committed WAL frames (somafeedback/sessions/salvage.py): rows of a transaction
   still open, or of one whose commit frame was torn by a kill, are not returned.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from real_records import clean_segments, irurzun_ms, nsr001_ms, polar_slow_breathing_ms

from somafeedback.hrv.artifacts import ArtifactDetector, FlagReason, Judgement, flag_artifacts
from somafeedback.devices.events import Notification, TimelineEvent
from somafeedback.sessions.file import SessionWriter
from somafeedback.sessions.salvage import salvage

EPS_MS = 0.1  # how far inside / outside a boundary a probe beat sits


def _after(history: list[float], probe: float) -> Judgement:
    """The verdict on ``probe`` from a fresh detector that has seen ``history`` (each beat of it accepted)."""
    detector = ArtifactDetector()
    verdicts = [detector.judge(rr).flagged for rr in history]
    assert not any(verdicts), "the history must be accepted whole, or the expectations below do not hold"
    return detector.judge(probe)


# -- 1. artifact thresholds: synthetic beat streams ---------------------------------------------------
STEADY = [1000.0] * 40  # 5 warm-up beats + 35 judged: 35 deviations and steps of 0 ms (>= 20: adaptive stage)


@pytest.mark.parametrize(("rhythm_ms", "inside", "outside", "reason"), [
    (305.0, 300.0, 299.9, FlagReason.TOO_SHORT),  # shortest plausible RR: 300 ms (200 bpm)
    (1995.0, 2000.0, 2000.1, FlagReason.TOO_LONG),  # longest plausible RR: 2000 ms (30 bpm)
])
def test_plausible_rr_bounds(rhythm_ms: float, inside: float, outside: float, reason: FlagReason) -> None:
    history = [rhythm_ms] * 40
    assert not _after(history, inside).flagged
    assert _after(history, outside).reason is reason


@pytest.mark.parametrize("side", [+1.0, -1.0])
def test_deviation_floor_is_15_percent_of_the_reference(side: float) -> None:
    # A rhythm without any variability: the spread term 5.2 QD + median is 0 ms, so the floor
    # 15 % x 1000 ms = 150 ms decides. The step (150 ms) stays under its own 20 % floor (200 ms).
    assert not _after(STEADY, 1000.0 + side * (150.0 - EPS_MS)).flagged
    assert not _after(STEADY, 1000.0 + side * 150.0).flagged  # exactly at the threshold: kept ("flagged if >")
    judgement = _after(STEADY, 1000.0 + side * (150.0 + EPS_MS))
    assert judgement.reason is FlagReason.OUT_OF_RHYTHM
    assert judgement.reference_ms == 1000.0 and judgement.threshold_ms == pytest.approx(150.0)


def test_warm_up_beats_are_judged_at_20_percent_of_the_beats_seen_before() -> None:
    # Fewer than 5 accepted beats: a beat is compared with the median of the beats seen before it.
    assert not _after([1000.0] * 3, 1200.0 - EPS_MS).flagged
    assert not _after([1000.0] * 3, 1200.0).flagged
    assert _after([1000.0] * 3, 1200.0 + EPS_MS).flagged
    assert not _after([1000.0] * 3, 800.0 + EPS_MS).flagged
    assert _after([1000.0] * 3, 800.0 - EPS_MS).flagged


def test_a_short_deviation_history_is_judged_at_20_percent_of_the_reference() -> None:
    # 5 warm-up beats + 10 judged ones: 10 < 20 deviations known, so the threshold is 20 % x 1000 ms
    # and the step criterion is still off.
    history = [1000.0] * 15
    assert not _after(history, 1200.0 - EPS_MS).flagged
    assert not _after(history, 1200.0).flagged
    judgement = _after(history, 1200.0 + EPS_MS)
    assert judgement.flagged and judgement.threshold_ms == pytest.approx(200.0)


def test_the_deviation_threshold_is_5_2_quartile_deviations_above_the_median() -> None:
    # The reference stays at 1000 ms: every 11 accepted beats hold at least two 1000s and at most
    # 5 beats above and 5 below. The deviations repeat {0, 40, 40, 120, 120} ms: over the last 91,
    # Q1 = 40, median = 40, Q3 = 120, so the threshold is 5.2 x (120 - 40) / 2 + 40 = 248 ms, above
    # the 150 ms floor. The steps repeat {40, 80, 160, 240, 120}: their threshold 5.2 x 40 + 120 =
    # 328 ms lets a probe 248 ms after a 1000 ms beat through.
    history = [1000.0, 1040.0, 960.0, 1120.0, 880.0] * 21 + [1000.0]
    deviations = [abs(rr - 1000.0) for rr in history[5:]][-91:]
    q1, median, q3 = np.quantile(deviations, [0.25, 0.5, 0.75])
    assert (q1, median, q3) == (40.0, 40.0, 120.0)  # the arithmetic above, checked
    assert not _after(history, 1248.0 - EPS_MS).flagged
    assert not _after(history, 1248.0).flagged
    judgement = _after(history, 1248.0 + EPS_MS)
    assert judgement.reason is FlagReason.OUT_OF_RHYTHM and judgement.threshold_ms == pytest.approx(248.0)
    assert not _after(history, 752.0 + EPS_MS).flagged
    assert _after(history, 752.0 - EPS_MS).flagged


def test_the_step_threshold_is_20_percent_of_the_reference() -> None:
    # After a steady rhythm, one accepted beat 100 ms short: the reference stays 1000 ms, every
    # spread term is 0 ms. A beat up to 150 ms off the reference passes the deviation test, but a
    # step of more than 20 % x 1000 = 200 ms from the 900 ms beat is flagged.
    history = STEADY + [900.0]
    assert not _after(history, 1100.0 - EPS_MS).flagged  # deviation 99.9 ms, step 199.9 ms
    assert not _after(history, 1100.0).flagged  # a step of exactly 200 ms is kept
    judgement = _after(history, 1100.0 + EPS_MS)  # deviation 100.1 ms (< 150), step 200.1 ms
    assert judgement.reason is FlagReason.OUT_OF_RHYTHM and judgement.threshold_ms == pytest.approx(200.0)


def test_a_step_counts_only_beyond_8_percent_off_the_reference() -> None:
    # The last accepted beat is 870 ms (reference 1000 ms): a beat at 1080 ms is a 210 ms step, over
    # the 200 ms step threshold, yet it counts only once the beat is more than 8 % x 1000 = 80 ms off
    # the reference.
    history = STEADY + [870.0]
    assert not _after(history, 1080.0 - EPS_MS).flagged  # deviation 79.9 ms: the step is not looked at
    assert not _after(history, 1080.0).flagged  # exactly 80 ms off: still not looked at
    assert _after(history, 1080.0 + EPS_MS).flagged  # deviation 80.1 ms, step 210.1 ms


@pytest.mark.parametrize(("top_ms", "relocked"), [(690.0 - EPS_MS, True), (690.0 + EPS_MS, False)])
def test_a_new_rhythm_is_learned_from_5_flagged_beats_within_15_percent(top_ms: float, relocked: bool) -> None:
    # 5 flagged beats between 600 and 690 ms (max/min - 1 = 15 %) agree with each other: the
    # history restarts from them and a beat at 645 ms is accepted; a wider run is no new rhythm.
    detector = ArtifactDetector()
    assert not any(detector.judge(rr).flagged for rr in STEADY)
    assert all(detector.judge(rr).flagged for rr in [600.0, top_ms, 600.0, top_ms, 645.0])
    assert detector.judge(645.0).flagged is not relocked


# -- 1. artifact thresholds: real records, the rule recomputed in numpy -----------------------------------
def _rule_thresholds(rr: np.ndarray) -> tuple[float, float, float, float]:
    """(reference, deviation floor, spread term, step threshold) for the beat after ``rr``, all beats accepted.

    The documented rule: reference = median of the last 11 beats; each beat after the first 5
    adds |RR - its reference| and |RR - previous RR|; thresholds use the last 91 of each.
    """
    deviations = [abs(rr[i] - np.median(rr[max(0, i - 11):i])) for i in range(5, len(rr))][-91:]
    steps = np.abs(np.diff(rr))[4:][-91:]

    def spread(values: np.ndarray | list[float]) -> float:
        q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
        return 5.2 * (q3 - q1) / 2 + median

    reference = float(np.median(rr[-11:]))
    return reference, 0.15 * reference, spread(deviations), max(0.20 * reference, spread(steps))


@pytest.mark.parametrize(("record", "dominant"), [
    ("nsr001", "floor"),  # a calm 24 h Holter stretch: the 15 % floor decides
    ("irurzun", "spread"),
    ("polar_slow_breathing", "spread"),  # large slow-breathing swings widen the deviation distribution
])
def test_real_beat_streams_flag_exactly_beyond_the_documented_threshold(record: str, dominant: str) -> None:
    prefix = {
        "nsr001": lambda: clean_segments(nsr001_ms(), 2, 20000)[1][:200],
        "irurzun": lambda: clean_segments(irurzun_ms(), 1, 5000)[0][:200],
        "polar_slow_breathing": lambda: polar_slow_breathing_ms()[57:267],  # after the record's flagged beats 55-56
    }[record]()
    assert not flag_artifacts(prefix).any()  # every beat accepted: the recomputation above applies
    reference, floor, spread, step_threshold = _rule_thresholds(prefix)
    assert ("spread" if spread > floor else "floor") == dominant
    threshold = max(floor, spread)
    side = 1.0 if prefix[-1] >= reference else -1.0  # probe on the last beat's side: its step stays small
    inside, outside = reference + side * (threshold - 0.5), reference + side * (threshold + 0.5)
    assert abs(inside - prefix[-1]) < step_threshold - 1.0  # the step criterion does not mask the boundary
    assert not flag_artifacts(np.append(prefix, inside))[-1]
    assert flag_artifacts(np.append(prefix, outside))[-1]


# -- 2. salvage reads only committed WAL frames -------------------------------------------------------------
class _HeldClock:
    """Session time that never moves: the writer commits only when told to (thread: the test's)."""

    def now(self) -> float:
        return 10.0

    def now_ns(self) -> int:
        return 10_000_000_000

    def wall_time(self) -> float:
        return 1_700_000_000.3


def _note(n: int, tag: bytes, size: int = 1000) -> Notification:
    """A notification whose payload names the transaction it belongs to (found again in the raw bytes).

    Its wall time has a fraction (whole-number wall times are covered by their own test below).
    """
    payload = (tag + b"-%06d-" % n) * (size // (len(tag) + 8) + 1)
    return Notification("strap1", "hr", n, 10_000_000_000 + n, 1_700_000_000.3 + n / 1024, payload[:size])


def _copy_with_wal(path: Path, target: Path) -> Path:
    """The file and its -wal as they are on disk right now (what a kill would leave behind)."""
    shutil.copy(path, target)
    shutil.copy(f"{path}-wal", f"{target}-wal")
    return target


def _sqlite_count(path: Path, scratch: Path) -> int:
    """Notifications SQLite itself reads from a copy (its WAL recovery is the reference)."""
    copy = _copy_with_wal(path, scratch)
    db = sqlite3.connect(copy)
    try:
        return int(db.execute("SELECT count(*) FROM notifications").fetchone()[0])
    finally:
        db.close()


def test_salvage_skips_the_frames_of_a_transaction_still_open(tmp_path: Path) -> None:
    writer = SessionWriter(tmp_path / "live.session.sqlite", _HeldClock(), {"client": "A"})
    try:
        for n in range(1, 101):
            writer.notification(_note(n, b"COMMITTED"))
        writer.commit()
        # 4 MB never committed: more than SQLite's 2 MB page cache, so it spills these pages
        # into the -wal as frames without a commit mark, as a recording between two commits can.
        for n in range(101, 4101):
            writer.notification(_note(n, b"OPEN"))
        killed = _copy_with_wal(writer.path, tmp_path / "killed.session.sqlite")
    finally:
        writer.close()
    assert b"OPEN-000101-" in Path(f"{killed}-wal").read_bytes()  # the open transaction's rows are on disk
    assert _sqlite_count(killed, tmp_path / "check.session.sqlite") == 100

    rows = salvage(killed)
    assert sorted(rows.notifications) == list(range(1, 101))
    assert all(row[5].startswith(b"COMMITTED") for row in rows.notifications.values())


def test_salvage_skips_a_transaction_whose_commit_frame_is_torn(tmp_path: Path) -> None:
    writer = SessionWriter(tmp_path / "live.session.sqlite", _HeldClock(), {"client": "A"})
    try:
        for n in range(1, 101):
            writer.notification(_note(n, b"COMMITTED"))
        writer.commit()
        committed_wal_bytes = Path(f"{writer.path}-wal").stat().st_size
        for n in range(101, 201):  # about 25 pages: the transaction spans many frames, its commit mark on the last
            writer.notification(_note(n, b"TORN"))
        writer.commit()
        killed = _copy_with_wal(writer.path, tmp_path / "killed.session.sqlite")
    finally:
        writer.close()
    wal = Path(f"{killed}-wal")
    data = wal.read_bytes()
    page_size = int.from_bytes(data[8:12], "big")
    wal.write_bytes(data[:len(data) - page_size // 2])  # killed halfway through writing the commit frame
    assert len(data) - page_size // 2 > committed_wal_bytes
    assert b"TORN-000101-" in wal.read_bytes()[committed_wal_bytes:]  # whole frames of the torn transaction remain
    assert _sqlite_count(killed, tmp_path / "check.session.sqlite") == 100

    rows = salvage(killed)
    assert sorted(rows.notifications) == list(range(1, 101))
    assert all(row[5].startswith(b"COMMITTED") for row in rows.notifications.values())


def test_salvage_keeps_rows_whose_wall_time_is_a_whole_number(tmp_path: Path) -> None:
    """SQLite stores a whole-number REAL as an integer on disk: such rows are still notifications and events."""
    writer = SessionWriter(tmp_path / "live.session.sqlite", _HeldClock(), {"client": "A"})
    try:
        for n in range(1, 21):
            writer.notification(Notification("strap1", "hr", n, 10_000_000_000 + n, 1_700_000_000.0 + n / 2, b"\x10\x40"))
        writer.event(TimelineEvent("marker", 10_000_000_000, 1_700_000_010.0, {"label": "resource"}))
        writer.commit()
        killed = _copy_with_wal(writer.path, tmp_path / "killed.session.sqlite")
    finally:
        writer.close()
    rows = salvage(killed)
    assert sorted(rows.notifications) == list(range(1, 21))  # n even: a whole-number wall time
    assert rows.notifications[2][4] == 1_700_000_001.0 and isinstance(rows.notifications[2][4], float)
    (event,) = rows.events.values()
    assert event[1] == 1_700_000_010.0 and isinstance(event[1], float)
