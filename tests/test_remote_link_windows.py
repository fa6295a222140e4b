"""A remote session's link lost and back restarts the metric windows (issue #17: "no metric window is valid across
it"): real RR intervals fed as Heart Rate notifications through LiveAnalysis, with the client's ``remote-link``
events where a recording of either side has them."""

from __future__ import annotations

from killed_recordings import HR, hr_beat
from real_records import irurzun_ms

from somafeedback.devices.events import Notification, TimelineEvent
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.live.analysis import LiveAnalysis

LOST_S, BACK_S = 200.0, 230.0  # the client's internet drops for 30 s (what it held arrives afterwards, in order)


def _metrics(events: list[tuple[float, dict]]) -> list[BeatMetrics]:
    analysis, out, t, pending = LiveAnalysis(), [], 0.0, list(events)
    for seq, rr in enumerate(irurzun_ms()[:500], start=1):
        t += rr / 1000
        while pending and pending[0][0] <= t:
            at, data = pending.pop(0)
            out += [m for _s, m in analysis.on_event(TimelineEvent("remote-link", round(at * 1e9), 1.7e9 + at, data))
                    if isinstance(m, BeatMetrics)]
        notification = Notification("strap1", HR, seq, round(t * 1e9), 1.7e9 + t, hr_beat(int(rr)))
        out += [m for _s, m in analysis.on_notification(notification) if isinstance(m, BeatMetrics)]
    return out


REFILL_SLACK_S = 2.0  # s: a refilled window counts as full within about a beat of its length (the hrv rule)


def _spanning(metrics: list[BeatMetrics], at_s: float) -> list[BeatMetrics]:
    """Valid time-domain windows that reach back across ``at_s`` (by more than the refill slack)."""
    return [m for m in metrics if m.time.validity.valid and m.t_s > at_s
            and m.t_s - m.time.validity.window_s < at_s - REFILL_SLACK_S]


def test_no_metric_window_is_valid_across_the_clients_link_lost_or_back() -> None:
    plain = _metrics([])
    assert _spanning(plain, LOST_S) and _spanning(plain, BACK_S)  # without the events they would be valid
    linked = _metrics([(LOST_S, {"state": "lost", "side": "client"}), (BACK_S, {"state": "back", "side": "client"})])
    assert not _spanning(linked, LOST_S) and not _spanning(linked, BACK_S)
    refilled = [m for m in linked if m.t_s > BACK_S + 70 and m.time.validity.valid]
    assert refilled, "the windows refill after the link is back"
    # the practitioner's own link (side practitioner) says nothing about the client's data: windows stay as they are
    own = _metrics([(LOST_S, {"state": "lost", "side": "practitioner"}), (BACK_S, {"state": "back", "side": "practitioner"})])
    assert [m.time.rmssd_ms for m in own] == [m.time.rmssd_ms for m in plain]
