"""The practitioner's engine moves onto the client's clock once (somafeedback.live.remote_timebase): driven item
by item with an injected clock, checked against the offsets worked out by hand."""

from __future__ import annotations

from manual_clock import ManualClock
from remote_practitioner import Kept

from somafeedback.devices.events import LinkEvent, LinkState, Notification, TimelineEvent
from somafeedback.live.remote_timebase import BY_CLOCK_CHECK, BY_FIRST_ARRIVAL, TIMEBASE_EVENT, RemoteTimebase


def _timebase(now_s: float) -> tuple[RemoteTimebase, Kept, list[object]]:
    kept, calls = Kept(), []
    timebase = RemoteTimebase(kept, ManualClock(now_s), lambda offset: calls.append(("fix", offset)),
                              lambda: calls.append("opened"))
    return timebase, kept, calls


def _clock_event(at_s: float, offset_s: float | None) -> TimelineEvent:
    return TimelineEvent("remote-clock", round(at_s * 1e9), 0.0, {"offset_s": offset_s, "uncertainty_s": 0.004})


def test_the_first_clock_check_fixes_the_offset_once_and_later_checks_show_the_drift() -> None:
    timebase, kept, calls = _timebase(1000.0)
    timebase.event(_clock_event(999.0, None))  # no answer yet: passed on as it is
    timebase.event(_clock_event(1000.0, -990.25))  # the client's clock is 990.25 s behind
    assert calls == [("fix", -990_250_000_000), "opened"]
    assert timebase.offset_ns == -990_250_000_000
    first, fixed, announced = kept.items[0], kept.items[2], kept.items[1]
    assert first.host_ns == 999_000_000_000  # before the fix: untouched
    assert announced.kind == TIMEBASE_EVENT and announced.data["how"] == BY_CLOCK_CHECK
    assert announced.data["offset_s"] == -990.25 and announced.host_ns == round((1000.0 - 990.25) * 1e9)
    assert fixed.host_ns == round(9.75 * 1e9) and fixed.data["residual_s"] == 0.0
    timebase.event(_clock_event(1600.0, -990.20))  # ten minutes on the client's clock ran 50 ms fast
    drifted = kept.items[-1]
    assert drifted.host_ns == round((1600.0 - 990.25) * 1e9) and abs(drifted.data["residual_s"] - 0.05) < 1e-9
    assert calls == [("fix", -990_250_000_000), "opened"]  # never stepped


def test_a_client_item_before_any_clock_check_fixes_it_by_its_arrival_and_is_passed_on_after() -> None:
    timebase, kept, calls = _timebase(500.0)
    notification = Notification("strap1", "00002a37-0000-1000-8000-00805f9b34fb", 1, 12_000_000_000, 1.7e9, bytes([0, 60]))
    timebase.notification(notification)
    assert calls == [("fix", 12_000_000_000 - 500_000_000_000), "opened"]
    assert [type(i).__name__ for i in kept.items] == ["TimelineEvent", "Notification"]
    assert kept.items[0].data["how"] == BY_FIRST_ARRIVAL and kept.items[1] is notification
    timebase.event(LinkEvent("strap1", LinkState.STREAMING, 13_000_000_000, 1.7e9))
    timebase.event(_clock_event(501.0, -487.9))
    assert len([c for c in calls if c != "opened"]) == 1 and kept.items[-2].host_ns == 13_000_000_000
    assert kept.items[-1].host_ns == round((501.0 - 488.0) * 1e9)  # on the client's timeline
    assert abs(kept.items[-1].data["residual_s"] - 0.1) < 1e-9
