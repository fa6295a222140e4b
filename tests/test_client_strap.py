"""Which strap of a recording is the client's: strap1 when it sent anything, else the first strap that did."""

from __future__ import annotations

from somafeedback.devices.events import Notification, TimelineEvent
from somafeedback.sessions.client_strap import CLIENT_STRAP, client_strap


def _note(strap: str, t_ns: int) -> Notification:
    return Notification(strap, "00002a37-0000-1000-8000-00805f9b34fb", seq=t_ns, host_ns=t_ns, wall_time=0.0,
                        payload=bytes([0x00, 60]))


def test_strap1_is_followed_whenever_it_sent_something() -> None:
    timeline = [TimelineEvent("marker", 0, 0.0, {"label": "start"}), _note("strap2", 1), _note("strap1", 2)]
    assert client_strap(timeline) == CLIENT_STRAP == "strap1"


def test_without_strap1_the_first_strap_with_data_is_followed() -> None:
    assert client_strap([_note("strap3", 1), _note("strap2", 2), _note("strap3", 3)]) == "strap3"


def test_a_recording_without_data_has_no_client_strap() -> None:
    assert client_strap([TimelineEvent("marker", 0, 0.0, {"label": "start"})]) is None
    assert client_strap([]) is None
