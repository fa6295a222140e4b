"""What the client consents to share in a remote session (issue #17): levels, the filter, pause and stop.

The filter is checked against a table written here, over real items: the Heart Rate notifications
and events of recordings/polar-h10-slow-breathing.session.sqlite, and a simulated Polar H10 recorded
through the real BLE path (ECG and acceleration PMD frames, control point answers, pmd events) with
everything the live analysis made of it (beats, metric sets, ECG and motion chunks, breathing).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from manual_clock import ManualClock
from recording_helpers import AnalysisCollector, record_simulated
from session_helpers import REPO

from somafeedback.devices.events import GapEvent, MalformedPacket, Notification, TimelineEvent
from somafeedback.regulation.states import Features, RegulationState, Signal, StateChange
from somafeedback.remote.consent import (
    CONSENT_EVENT, DESCRIPTIONS, PRACTITIONER, Category, Consent, ConsentError, SharingLevel, category, level_allows,
    shared_event_data,
)
from somafeedback.sessions.file import SessionWriter, read_session
from somafeedback.signals.pacer_following import invalid_estimate

SAMPLE = REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite"
LEVELS = ["state", "metrics", "beats", "raw"]  # least to most

# What each kind of item needs, written out here independently of the module: a level, "always"
# (session control, even before consent), "any" (every level, while sharing) or "never".
TABLE = {
    "heart rate notification": "beats",
    "ECG frame": "raw", "ACC frame": "raw", "PMD control point": "raw", "battery notification": "raw",
    "LinkEvent": "any", "GapEvent": "any", "ContactChange": "any", "StrapInfo": "any",
    "StateChange": "state",
    "BeatMetrics": "metrics", "BreathingEstimate": "metrics", "FollowingEstimate": "metrics",
    "Beat": "beats",
    "EcgChunk": "raw", "AccChunk": "raw", "BreathingTrace": "raw", "MalformedPacket": "raw",
    "event state": "state", "event movement": "state",
    "event baseline": "metrics", "event pacer-following": "metrics", "event rest-comparison": "metrics",
    "event marker": "any", "event cue": "any", "event pacer": "any",
    "event pmd_started": "raw", "event pmd_stopped": "raw",
    "event remote-consent": "always", "event remote-clock": "always",
    "event recording": "never", "event engine-warning": "never", "event something-new": "never",
    "str": "never",
}


def label(item: object) -> str:
    if isinstance(item, Notification):
        return {
            "00002a37-0000-1000-8000-00805f9b34fb": "heart rate notification",
            "00002a19-0000-1000-8000-00805f9b34fb": "battery notification",
            "fb005c81-02e7-f387-1cad-8acd2d8df0c8": "PMD control point",
        }.get(item.characteristic) or {0: "ECG frame", 2: "ACC frame"}[item.payload[0]]
    if isinstance(item, TimelineEvent):
        return f"event {item.kind}"
    return type(item).__name__


def expected(level: str, item: object, sharing: bool = True) -> bool:
    need = TABLE[label(item)]
    if need == "always":
        return True
    if need == "never" or not sharing:
        return False
    return need == "any" or LEVELS.index(need) <= LEVELS.index(level)


def event(kind: str, **data: object) -> TimelineEvent:
    return TimelineEvent(kind, 1_000_000_000, 1_780_000_000.0, data)


STATE_CHANGE = StateChange(42.0, RegulationState.IN_BAND, RegulationState.RISING, "HR rising",
                           Features(42.0, 78.2, 6.1, 3.4), Signal.CLEAN)
OTHER_ITEMS: list[object] = [
    STATE_CHANGE, invalid_estimate(40.0, "the pacer stopped"),
    GapEvent("strap1", 1_000_000_000, 6_000_000_000),
    MalformedPacket("strap1", 9, 1_000_000_000, b"\x16", "too short: set aside"),
    Notification("strap1", "00002a19-0000-1000-8000-00805f9b34fb", 10, 1_000_000_000, 1_780_000_000.0, b"\x57"),
    event("state", **STATE_CHANGE.as_dict()), event("movement", action="start", source="accelerometer"),
    event("baseline", hr_bpm=70.0), event("pacer-following", following=True), event("rest-comparison", delta=1.0),
    event("marker", label="resource"), event("cue", action="declined"), event("pacer", running=False),
    event(CONSENT_EVENT, level="raw"), event("remote-clock", offset_s=0.1),
    event("recording", state="started", path="/home/client/somafeedback/x.session.sqlite"),
    event("engine-warning", text="x"), event("something-new"), "not an item",
]


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> list[object]:
    """Real notifications and events of both recordings, the analysis' outputs, and the items above."""
    real = read_session(SAMPLE)
    collector = AnalysisCollector()
    path = tmp_path_factory.mktemp("h10") / "h10.session.sqlite"
    h10 = read_session(record_simulated(path, "slow-breathing", 70.0, also=collector, h10=True))
    return [*real.notifications, *real.events, *h10.notifications, *h10.events,
            *(output for _, output in collector.outputs), *OTHER_ITEMS]


def test_the_items_cover_the_whole_table(items: list[object]) -> None:
    seen = Counter(label(item) for item in items)
    assert set(seen) == set(TABLE)
    assert seen["heart rate notification"] >= 620 and seen["ECG frame"] > 10 and seen["ACC frame"] > 10
    assert seen["Beat"] > 50 and seen["BeatMetrics"] > 20


@pytest.mark.parametrize("level", LEVELS)
def test_each_level_lets_through_exactly_what_the_table_says(items: list[object], level: str) -> None:
    consent = Consent(SharingLevel(level))
    consent.confirm()
    wrong = [(label(item), consent.allows(item)) for item in items if consent.allows(item) != expected(level, item)]
    assert wrong == []
    assert all(level_allows(SharingLevel(level), item) == expected(level, item) for item in items)


def test_categories_by_name() -> None:
    assert category(STATE_CHANGE) is Category.STATE and category("x") is Category.LOCAL
    assert category(event(CONSENT_EVENT)) is Category.CONTROL


def test_nothing_but_control_before_the_client_confirms(items: list[object]) -> None:
    consent = Consent()
    assert consent.level is SharingLevel.RAW and not consent.sharing  # the default when raw is asked for
    assert "Not sharing yet" in consent.status_text()
    passed = {label(item) for item in items if consent.allows(item)}
    assert passed == {"event remote-consent", "event remote-clock"}
    consent.confirm()
    assert all(consent.allows(item) == expected("raw", item) for item in items)
    assert consent.status_text() == "Sharing with your practitioner: everything from your strap."


def test_the_client_chooses_less_than_asked() -> None:
    consent = Consent(SharingLevel.RAW)
    chose = consent.choose("metrics", reason="only the numbers today")
    confirmed = consent.confirm()
    assert chose is not None and chose["change"] == "chose" and chose["level"] == "metrics" and not chose["sharing"]
    assert chose["requested"] == "raw" and chose["reason"] == "only the numbers today" and chose["by"] == "client"
    assert confirmed is not None and confirmed["sharing"] and confirmed["level"] == "metrics"
    hr = Notification("strap1", "00002a37-0000-1000-8000-00805f9b34fb", 1, 0, 0.0, b"\x16\x40\x00\x04")
    assert not consent.allows(hr) and consent.allows(STATE_CHANGE)
    lowered = consent.choose(SharingLevel.STATE)  # while sharing: applies at once
    assert lowered is not None and consent.level is SharingLevel.STATE
    with pytest.raises(ConsentError, match="no sharing level"):
        consent.choose("everything")


def test_pause_and_stop(items: list[object]) -> None:
    consent = Consent(SharingLevel.BEATS)
    consent.confirm()
    paused = consent.pause(reason="a break")
    assert paused is not None and paused["paused"] and paused["paused_by"] == "client" and not paused["sharing"]
    assert consent.status_text() == "Sharing paused: nothing is being sent."
    assert all(consent.allows(item) == expected("beats", item, sharing=False) for item in items)
    assert consent.pause() is None  # already paused: no change, no event
    with pytest.raises(ConsentError, match="only the client can resume"):
        consent.resume(by=PRACTITIONER)
    resumed = consent.resume()
    assert resumed is not None and resumed["sharing"]
    assert all(consent.allows(item) == expected("beats", item) for item in items)
    assert consent.resume() is None
    # the practitioner may pause, and resume what they paused
    consent.pause(by=PRACTITIONER, reason="let's pause the numbers and talk")
    assert consent.status_text() == "Sharing paused by your practitioner: nothing is being sent."
    assert consent.resume(by=PRACTITIONER) is not None and consent.sharing
    stopped = consent.stop(reason="session over")
    assert stopped is not None and stopped["stopped"] and not stopped["sharing"]
    assert consent.status_text() == "Sharing stopped: nothing more is sent."
    assert all(consent.allows(item) == expected("beats", item, sharing=False) for item in items)
    assert consent.stop() is None and consent.pause() is None
    for change in (consent.confirm, consent.resume, lambda: consent.choose("raw")):
        with pytest.raises(ConsentError, match="sharing has stopped"):
            change()


def test_only_the_client_gives_consent() -> None:
    consent = Consent()
    for change in (lambda: consent.confirm(by=PRACTITIONER), lambda: consent.choose("beats", by=PRACTITIONER)):
        with pytest.raises(ConsentError, match="only the client"):
            change()
    with pytest.raises(ConsentError, match="client or the practitioner"):
        consent.pause(by="relay")
    assert consent.events == [] and not consent.sharing


def test_every_change_is_an_event_recorded_on_both_sides(tmp_path: Path) -> None:
    client, practitioner = Consent(), Consent()
    changes = [client.choose("beats"), client.confirm(), client.pause(), client.choose("metrics"),
               client.resume(), client.pause(by=PRACTITIONER), client.resume(by=PRACTITIONER), client.stop(by=PRACTITIONER)]
    assert all(change is not None for change in changes) and client.events == changes
    assert [c["change"] for c in changes if c] == ["chose", "confirmed", "paused", "chose", "resumed", "paused",
                                                   "resumed", "stopped"]
    for change in changes:
        assert change is not None
        for field in ("level", "paused", "by", "reason", "change", "sharing", "stopped", "confirmed", "text"):
            assert field in change
        practitioner.apply(json.loads(json.dumps(change)))  # what travelled over the channel
    assert practitioner.events == client.events
    assert (practitioner.level, practitioner.confirmed, practitioner.stopped) == (SharingLevel.METRICS, True, True)
    # recorded as timeline events on each side
    for side, consent in (("client", client), ("practitioner", practitioner)):
        path = tmp_path / f"{side}.session.sqlite"
        clock = ManualClock(5.0)
        writer = SessionWriter(path, clock, {"client": "Client A", "mode": "remote"})
        for data in consent.events:
            writer.event(TimelineEvent(CONSENT_EVENT, clock.now_ns(), clock.wall_time(), data))
        writer.close("stopped")
        recorded = [dict(e.data) for e in read_session(path).events if isinstance(e, TimelineEvent) and e.kind == CONSENT_EVENT]
        assert recorded == client.events


def test_unreadable_changes_from_the_other_side_are_refused() -> None:
    practitioner = Consent()
    for bad in ({}, {"level": "all", "confirmed": True, "stopped": False, "by": "client", "change": "confirmed"},
                {"level": "raw", "confirmed": "yes", "stopped": False, "by": "client", "change": "confirmed"},
                {"level": "raw", "confirmed": True, "stopped": False, "by": "relay", "change": "confirmed"}):
        with pytest.raises(ConsentError, match="could not be read"):
            practitioner.apply(bad)
    assert practitioner.events == [] and not practitioner.sharing


def test_descriptions_are_one_plain_line_each() -> None:
    assert set(DESCRIPTIONS) == set(SharingLevel)
    for level, text in DESCRIPTIONS.items():
        assert "\n" not in text and 20 < len(text) < 200 and text.endswith(".")
    assert "not your heart data" in DESCRIPTIONS[SharingLevel.STATE]
    assert "ECG" in DESCRIPTIONS[SharingLevel.RAW] and "not the raw heart signal" in DESCRIPTIONS[SharingLevel.BEATS]


def test_a_state_event_keeps_only_the_band_at_level_state() -> None:
    data = STATE_CHANGE.as_dict()
    assert shared_event_data(SharingLevel.STATE, "state", data) == {
        "previous": "in band", "state": "rising", "reason": "HR rising", "signal": "clean"}
    assert shared_event_data(SharingLevel.METRICS, "state", data) == data
    assert shared_event_data(SharingLevel.STATE, "marker", {"label": "x"}) == {"label": "x"}


