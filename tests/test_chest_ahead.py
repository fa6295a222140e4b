"""The chest motion computed in a second process gives the analysis exactly what computing it here gives.

Two simulated Polar H10 straps (one with a contact loss, a link drop and malformed notifications)
are recorded through the real BLE path; their timeline, with a replay seek put in, goes through
:class:`LiveAnalysis` twice: computing everything here, and taking the chest motion from
:class:`ChestAhead`'s child. Every output must be equal, arrays bit for bit; so must they when the
child is killed half-way (the rest is computed here) and a report's pass with and without it.
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
from somafeedback.devices.events import GapEvent, LinkEvent, Notification, TimelineEvent
from somafeedback.devices.gatt_uuids import HEART_RATE_MEASUREMENT
from somafeedback.live.analysis import LiveAnalysis
from somafeedback.live.chest_ahead import ChestAhead, chest_answers
from somafeedback.progress import Progress
from somafeedback.reports.strap_pass import analyze_strap
from somafeedback.sessions.file import read_session
from somafeedback.signals.chest_motion import BreathingEstimate
from somafeedback.signals.raw_signals import BreathingTrace

pytestmark = pytest.mark.skipif(not ChestAhead.possible(), reason="no fork on this platform: computed in-process")

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


def _outputs(items: list[Any], chest: Any = None, stop_child_after: int | None = None) -> list[tuple[str, Any]]:
    """Every output of a LiveAnalysis (metrics on) over ``items``; ``stop_child_after``: SIGKILL the child
    once that many acceleration chunks were answered (and wait until it is gone)."""
    analysis = LiveAnalysis(metrics=True, chest=chest)
    out: list[tuple[str, Any]] = []
    for item in items:
        if stop_child_after is not None and chest._taken >= stop_child_after and chest._process.is_alive():
            os.kill(chest._process.pid, signal.SIGKILL)
            chest._process.join(30.0)
            assert not chest._process.is_alive()
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


def test_the_recording_has_what_restarts_the_chest_motion(items: list[Any]) -> None:
    kinds = {type(item) for item in items}
    assert GapEvent in kinds or LinkEvent in kinds
    assert any(isinstance(item, TimelineEvent) and item.kind == "seek" for item in items)
    assert {key[0] for key, _ in chest_answers(items)} == {"strap1", "strap2"}


def test_the_outputs_with_the_chest_motion_ahead_are_the_outputs_computed_here(items: list[Any]) -> None:
    here = _outputs(items)
    with ChestAhead(items) as ahead:
        there = _outputs(items, ahead)
        assert ahead._taken > 150 and not ahead.child_failed and not ahead._own
    assert sum(isinstance(o, BreathingEstimate) and o.source == "acc" for _, o in here) > 150
    assert sum(isinstance(o, BreathingTrace) for _, o in here) > 150
    assert len(here) == len(there)
    assert all(_same(a, b) for a, b in zip(here, there))


def test_a_child_killed_half_way_is_taken_over_without_a_difference(items: list[Any]) -> None:
    here = _outputs(items)
    ahead = ChestAhead(items)
    there = _outputs(items, ahead, stop_child_after=100)
    assert ahead.child_failed and ahead._taken > 150
    assert all(_same(a, b) for a, b in zip(here, there)) and len(here) == len(there)


def test_other_items_than_the_child_was_given_are_computed_here_afresh(items: list[Any]) -> None:
    """A caller's mistake (the child saw frames the analysis never gets): no exception, the chest motion goes on here."""
    raw = [k for k, item in enumerate(items) if isinstance(item, Notification)
           and item.characteristic != HEART_RATE_MEASUREMENT and item.strap_id == "strap2"]
    dropped = set(raw[len(raw) // 3: len(raw) // 3 + 40])
    fewer = [item for k, item in enumerate(items) if k not in dropped]
    with ChestAhead(items) as ahead:
        out = _outputs(fewer, ahead)
        assert ahead._own and not ahead._process.is_alive()
    after = max(dropped) - len(dropped)  # where the dropped frames were, in ``fewer``
    estimates = [o for _, o in out if isinstance(o, BreathingEstimate)]
    assert sum(o.t_s > fewer[after].host_ns / 1e9 for o in estimates) > 50  # estimates go on after the mistake


def test_close_ends_the_child_early(items: list[Any]) -> None:
    ahead = ChestAhead(items)
    _outputs(items[:200], ahead)
    ahead.close()
    assert not ahead._process.is_alive() and ahead._process.exitcode is not None


def test_a_report_pass_with_the_chest_motion_ahead_is_the_same_pass(items: list[Any], tmp_path: Path) -> None:
    path = record_straps(tmp_path / "one.session.sqlite", [("calm", 7, True)], {"client": "Client D", "mode": "session"},
                         (), 120.0, 1_715_955_785.0)
    session = read_session(path)
    origin_s = session.timeline[0].host_ns / 1e9
    plain = analyze_strap(session, "strap1", origin_s, 120.0, Progress(None))
    ahead = analyze_strap(session, "strap1", origin_s, 120.0, Progress(None), chest_ahead=True)
    assert len(plain.chest) > 50 and plain.has_raw
    assert _same(plain, ahead)
