"""The R peaks and chest motion computed in other processes give the analysis exactly what computing them here gives.

Two simulated Polar H10 straps (one with a contact loss, a link drop and malformed notifications)
are recorded through the real BLE path; their timeline, with a replay seek put in, goes through
:class:`LiveAnalysis` twice: computing everything here, and taking the R peaks and the chest motion
from :class:`RawAhead`'s children. Every output must be equal, arrays bit for bit; so must they when a
child is killed half-way (the rest is computed here) and a report's pass with and without them.
"""

from __future__ import annotations

import dataclasses
import os
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recording_helpers import record_straps
from somafeedback.devices.events import Beat, GapEvent, LinkEvent, Notification, TimelineEvent
from somafeedback.devices.gatt_uuids import HEART_RATE_MEASUREMENT
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.live.analysis import LiveAnalysis
from somafeedback.live.raw_ahead import ALL_KINDS, KINDS, RawAhead, raw_answers
from somafeedback.progress import Progress
from somafeedback.live.strap_pass import analyze_strap
from somafeedback.sessions.file import read_session
from somafeedback.signals.chest_motion import BreathingEstimate
from somafeedback.signals.raw_signals import BreathingTrace

pytestmark = pytest.mark.skipif(not RawAhead.possible(), reason="no fork on this platform: computed in-process")

DURATION_S = 300.0


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """The two straps' timeline with a replay seek back to the first minute put in at its middle."""
    path = record_straps(tmp_path_factory.mktemp("ahead") / "two.session.sqlite",
                         [("dropout", 3, True), ("calm", 5, True)], {"client": "Client C", "mode": "session"},
                         (), DURATION_S, 1_715_955_785.0)
    timeline = list(read_session(path).timeline)
    middle = len(timeline) // 2
    seek_ns = timeline[middle].host_ns
    to_ns = timeline[0].host_ns + 60_000_000_000
    return [*timeline[:middle], TimelineEvent("seek", seek_ns, 0.0, {"from_ns": seek_ns, "to_ns": to_ns}),
            *timeline[middle:]]


def _outputs(items: list[Any], ahead: RawAhead | None = None, stop_child_after: int | None = None) -> list[tuple[str, Any]]:
    """Every output of a LiveAnalysis (metrics on) over ``items``; ``stop_child_after``: SIGKILL each child
    once that many of its chunks were answered (and wait until it is gone)."""
    analysis = LiveAnalysis(metrics=True, ahead=ahead)
    out: list[tuple[str, Any]] = []
    for item in items:
        for stage in ahead.stages.values() if ahead is not None and stop_child_after is not None else ():
            if stage.taken >= stop_child_after and stage.process.is_alive():
                os.kill(stage.process.pid, signal.SIGKILL)
                stage.process.join(30.0)
                assert not stage.process.is_alive()
        out.extend(analysis.on_notification(item) if isinstance(item, Notification) else analysis.on_event(item))
    return out


def _same(a: Any, b: Any) -> bool:
    """Equal, arrays bit for bit, NaN equal to NaN, dataclasses field by field."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if dataclasses.is_dataclass(a):
        return all(_same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and a != a:
        return b != b
    return a == b


def test_the_recording_has_what_restarts_the_raw_stages(items: list[Any]) -> None:
    kinds = {type(item) for item in items}
    assert GapEvent in kinds or LinkEvent in kinds
    assert any(isinstance(item, TimelineEvent) and item.kind == "seek" for item in items)
    for kind in ALL_KINDS:
        assert {key[:2] for key, _ in raw_answers(items, kind)} == {(kind, "strap1"), (kind, "strap2")}


def test_the_outputs_with_the_raw_stages_ahead_are_the_outputs_computed_here(items: list[Any]) -> None:
    here = _outputs(items)
    with RawAhead(items, ALL_KINDS) as ahead:
        there = _outputs(items, ahead)
        for stage in ahead.stages.values():
            assert stage.taken > 150 and not stage.child_failed and not stage.own
    assert sum(isinstance(o, BreathingEstimate) and o.source == "acc" for _, o in here) > 150
    assert sum(isinstance(o, BreathingEstimate) and o.source == "ecg" for _, o in here) > 10  # before the ACC starts
    assert sum(isinstance(o, Beat) and o.source == "ecg" for _, o in here) > 300
    assert sum(isinstance(o, BeatMetrics) and o.rr_ms is not None for _, o in here) > 300
    assert sum(isinstance(o, BreathingTrace) for _, o in here) > 150
    assert len(here) == len(there)
    assert all(_same(a, b) for a, b in zip(here, there))


class _StallInChild(list):
    """The test's items. Walked by a child process they stop at ``at`` (the child stays alive, mid-work,
    until the test kills it: a child that had already sent every answer and ended could not be killed
    half-way, a race on a loaded machine); walked in this process, a plain list."""

    def __init__(self, items: list[Any], at: int) -> None:
        super().__init__(items)
        self.parent = os.getpid()
        self.at = at

    def __iter__(self) -> Any:
        for k, item in enumerate(super().__iter__()):
            if k == self.at and os.getpid() != self.parent:
                signal.pause()  # until killed (SIGKILL), in the child only
            yield item


def test_a_child_killed_half_way_is_taken_over_without_a_difference(items: list[Any]) -> None:
    here = _outputs(items)
    stalling = _StallInChild(items, at=len(items) * 2 // 3)  # each child answers ~2/3 of its chunks, then waits
    ahead = RawAhead(stalling, ALL_KINDS)
    try:
        there = _outputs(stalling, ahead, stop_child_after=100)
    finally:
        ahead.close()
    assert all(stage.child_failed and stage.taken > 150 for stage in ahead.stages.values())
    assert all(_same(a, b) for a, b in zip(here, there)) and len(here) == len(there)


def test_other_items_than_the_child_was_given_are_computed_here_afresh(items: list[Any]) -> None:
    """A caller's mistake (the children saw frames the analysis never gets): no exception, both stages go on here."""
    raw = [k for k, item in enumerate(items) if isinstance(item, Notification)
           and item.characteristic != HEART_RATE_MEASUREMENT and item.strap_id == "strap2"]
    dropped = set(raw[len(raw) // 3: len(raw) // 3 + 40])
    fewer = [item for k, item in enumerate(items) if k not in dropped]
    with RawAhead(items, ALL_KINDS) as ahead:
        out = _outputs(fewer, ahead)
        assert all(stage.own and not stage.process.is_alive() for stage in ahead.stages.values())
    after = max(dropped) - len(dropped)  # where the dropped frames were, in ``fewer``
    since = fewer[after].host_ns / 1e9
    assert sum(isinstance(o, BreathingEstimate) and o.t_s > since for _, o in out) > 50  # they go on after the mistake
    assert sum(isinstance(o, Beat) and o.source == "ecg" and o.t_s > since for _, o in out) > 50


def test_close_ends_the_child_early(items: list[Any]) -> None:
    ahead = RawAhead(items, ALL_KINDS)
    _outputs(items[:200], ahead)
    ahead.close()
    assert all(not stage.process.is_alive() and stage.process.exitcode is not None for stage in ahead.stages.values())


def test_a_report_pass_with_the_raw_stages_ahead_is_the_same_pass(items: list[Any], tmp_path: Path) -> None:
    path = record_straps(tmp_path / "one.session.sqlite", [("calm", 7, True)], {"client": "Client D", "mode": "session"},
                         (), 120.0, 1_715_955_785.0)
    session = read_session(path)
    origin_s = session.timeline[0].host_ns / 1e9
    plain = analyze_strap(session, "strap1", origin_s, 120.0, Progress(None))
    ahead = analyze_strap(session, "strap1", origin_s, 120.0, Progress(None), raw_ahead=True)
    assert len(plain.chest) > 50 and plain.has_raw and plain.ecg_beats > 100
    assert _same(plain, ahead)


def test_no_second_process_for_heart_rate_alone(items: list[Any]) -> None:
    heart_rate_only = [item for item in items
                       if not isinstance(item, Notification) or item.characteristic == HEART_RATE_MEASUREMENT]
    assert len(heart_rate_only) > 100 and RawAhead.start(heart_rate_only) is None
    ahead = RawAhead.start(items)
    assert ahead is not None and set(ahead.stages) == set(KINDS)
    ahead.close()


def test_the_report_and_replay_commands_fork_before_qt_or_any_thread_exists(tmp_path: Path) -> None:
    """A fork beside running threads (Qt's xcb event reader, LSL's) can leave a child stuck on a lock they held:
    the commands start their second process first. Observed in a fresh process by wrapping the child's start."""
    import subprocess
    import sys

    path = record_straps(tmp_path / "one.session.sqlite", [("calm", 7, True)], {"client": "Client E", "mode": "session"},
                         (), 60.0, 1_715_955_785.0)
    code = ("import sys, threading\n"
            "import somafeedback.live.raw_ahead as ahead\n"
            "start = ahead.StageAhead.__init__\n"
            "def observed(self, *args, **kwargs):\n"
            "    print('fork', 'PySide6' in sys.modules, threading.active_count(), file=sys.stderr)\n"
            "    start(self, *args, **kwargs)\n"
            "ahead.StageAhead.__init__ = observed\n"
            "from somafeedback.ui.launcher import main\n"
            "sys.argv[0] = 'somafeedback'\n"
            "sys.exit(main())\n")
    for argv in (["report", str(path), "--format", "html", "--out", str(tmp_path / "r.html")],
                 ["replay", str(path), "--speed", "max"]):
        done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=300,
                              env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
        assert done.returncode == 0, done.stderr
        forks = [line.split() for line in done.stderr.splitlines() if line.startswith("fork ")]
        assert forks == [["fork", "False", "1"]], (argv[0], done.stderr)
