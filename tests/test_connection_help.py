"""Connection problems: each failure the code can detect is named (classify_error, DropPattern, the
supervisor on the simulated radio) and maps to help with a cause and next steps per OS."""

from __future__ import annotations

import asyncio
import errno
import re
from pathlib import Path

import pytest
from bleak.exc import (BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason, BleakDBusError,
                       BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError)
from session_helpers import run_in_session_time

from somafeedback.clock import LoopClock
from somafeedback.devices.connection_problems import (ConnectHung, DropPattern, NoStrapFound, Problem, StrapNotFound,
                                                      classify_error, problem_of)
from somafeedback.devices.events import LinkEvent, LinkState, Notification, SourceEvent
from somafeedback.devices.fleet import StrapFleet
from somafeedback.devices.simulator.radio import SimulatedRadio
from somafeedback.devices.supervisor import ReconnectPolicy
from somafeedback.live.connection_help import help_for
from somafeedback.live.sources import StrapSource, stream_straps

PLATFORMS = ("linux", "win32", "darwin")


class Problems:
    """A sink keeping the connection problems reported (and counting notifications)."""

    def __init__(self) -> None:
        self.events: list[SourceEvent] = []
        self.notifications = 0

    def notification(self, notification: Notification) -> None:
        self.notifications += 1

    def event(self, event: SourceEvent) -> None:
        self.events.append(event)

    def problems(self) -> list[Problem]:
        return [p for p in map(problem_of, self.events) if p is not None]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_problem_has_a_title_a_cause_and_next_steps(platform: str) -> None:
    for problem in Problem:
        help_text = help_for(problem, platform)
        assert help_text.problem is problem and help_text.title and help_text.cause.endswith(".")
        assert help_text.next_steps and all(step.strip() for step in help_text.next_steps)


def test_the_help_says_what_users_of_each_os_need() -> None:
    no_strap = " ".join(help_for(Problem.NO_STRAP_FOUND, "linux").next_steps)
    assert "electrodes" in no_strap and "worn" in no_strap and "one or two connections" in no_strap
    assert "Remove device" in " ".join(help_for(Problem.CONNECT_HANGS, "win32").next_steps)
    assert "Remove device" not in " ".join(help_for(Problem.CONNECT_HANGS, "darwin").next_steps)
    assert "Privacy & Security > Bluetooth" in " ".join(help_for(Problem.PERMISSION_DENIED, "darwin").next_steps)
    drops_linux = " ".join(help_for(Problem.REPEATED_DROPS, "linux").next_steps)
    assert "ConnectionSupervisionTimeout" in drops_linux and "btmon" in drops_linux
    assert "ConnectionSupervisionTimeout" not in " ".join(help_for(Problem.REPEATED_DROPS, "win32").next_steps)
    pmd = help_for(Problem.PMD_REFUSED, "win32")
    assert "Polar Flow" in " ".join(pmd.next_steps) and "Heart rate" in pmd.cause


@pytest.mark.parametrize(("error", "problem"), [
    (BleakBluetoothNotAvailableError("No Bluetooth adapters found.", BleakBluetoothNotAvailableReason.NO_BLUETOOTH),
     Problem.NO_ADAPTER),
    (BleakBluetoothNotAvailableError("no central", BleakBluetoothNotAvailableReason.NO_BLE_CENTRAL_ROLE), Problem.NO_ADAPTER),
    (BleakBluetoothNotAvailableError("Turn on Bluetooth", BleakBluetoothNotAvailableReason.POWERED_OFF), Problem.BLUETOOTH_OFF),
    (BleakBluetoothNotAvailableError("denied", BleakBluetoothNotAvailableReason.DENIED_BY_USER), Problem.PERMISSION_DENIED),
    (BleakBluetoothNotAvailableError("policy", BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM), Problem.PERMISSION_DENIED),
    (BleakDBusError("org.bluez.Error.NotReady", ["Resource Not Ready"]), Problem.BLUETOOTH_OFF),
    (BleakDBusError("org.freedesktop.DBus.Error.ServiceUnknown", ["The name org.bluez was not provided"]), Problem.NO_ADAPTER),
    (BleakError("Failed to start scanner. Is Bluetooth turned on?"), Problem.BLUETOOTH_OFF),  # WinRT
    (BleakError("Bluetooth device is unauthorized"), Problem.PERMISSION_DENIED),  # CoreBluetooth, older bleak
    (BleakDeviceNotFoundError("A0:9E:1A:00:00:01", "Device with address A0:9E:1A:00:00:01 was not found."),
     Problem.NO_STRAP_FOUND),
    (StrapNotFound("any heart-rate strap not found within 10 s"), Problem.NO_STRAP_FOUND),
    (NoStrapFound("No heart-rate strap found nearby"), Problem.NO_STRAP_FOUND),
    (ConnectHung("connecting did not finish within 20 s"), Problem.CONNECT_HANGS),
    (asyncio.TimeoutError(), Problem.CONNECT_HANGS),  # bleak's own connect timeout
    (FileNotFoundError(errno.ENOENT, "No such file or directory"), Problem.NO_ADAPTER),  # no system D-Bus socket
    (PermissionError(errno.EACCES, "Permission denied"), Problem.PERMISSION_DENIED),
    (BleakGATTProtocolError(0x05), None),
    (BleakDBusError("org.bluez.Error.InProgress", ["Operation already in progress"]), None),
    (ValueError("bad value"), None),
])
def test_classify_error_names_what_bleak_and_the_app_raise(error: BaseException, problem: Problem | None) -> None:
    assert classify_error(error) is problem


def test_no_strap_found_names_the_bluetooth_error_that_caused_it() -> None:
    def raised(cause: BaseException) -> NoStrapFound:
        try:
            raise NoStrapFound("No strap found: this machine has no usable Bluetooth adapter") from cause
        except NoStrapFound as error:
            return error

    powered_off = BleakBluetoothNotAvailableError("off", BleakBluetoothNotAvailableReason.POWERED_OFF)
    assert classify_error(raised(powered_off)) is Problem.BLUETOOTH_OFF
    assert classify_error(raised(ValueError("?"))) is Problem.NO_STRAP_FOUND


def _link(state: LinkState, t_s: float) -> LinkEvent:
    return LinkEvent("strap1", state, round(t_s * 1e9), 0.0)


def _drops(lifetimes_s: list[float], reconnect_s: float = 3.0) -> list[Problem | None]:
    pattern, t = DropPattern(), 0.0
    said = [pattern.feed(_link(LinkState.CONNECTING, t))]
    for life in lifetimes_s:
        said.append(pattern.feed(_link(LinkState.STREAMING, t)))
        t += life
        said.append(pattern.feed(_link(LinkState.LOST, t)))
        t += reconnect_s
        said.append(pattern.feed(_link(LinkState.RECONNECTING, t)))
    return said


def test_drops_150_s_apart_are_repeated_drops_and_irregular_ones_are_not() -> None:
    said = _drops([150.2, 149.8, 150.5])
    assert said[-2] is Problem.REPEATED_DROPS and said.count(Problem.REPEATED_DROPS) == 1
    assert Problem.REPEATED_DROPS not in _drops([150.0, 150.0])  # two are not a pattern yet
    assert Problem.REPEATED_DROPS not in _drops([40.0, 310.0, 150.0, 95.0])
    assert Problem.REPEATED_DROPS not in _drops([4.0, 4.0, 4.0, 4.0])  # flapping, not a timer
    lost_only = DropPattern()  # no streaming events between: loss to loss
    assert [lost_only.feed(_link(LinkState.LOST, t)) for t in (150.0, 300.0, 450.0, 600.0)][-1] is Problem.REPEATED_DROPS


def test_the_supervisor_reports_no_strap_found_once_when_no_strap_answers() -> None:
    sink = Problems()

    async def main() -> Problem | None:
        async with SimulatedRadio() as radio:  # the simulated radio with no strap on it
            fleet = StrapFleet(radio.stack, sink, LoopClock(asyncio.get_running_loop()),
                               ReconnectPolicy(scan_timeout_s=2.0, max_attempts=3))
            supervisor = fleet.connect("F0:00:00:00:00:01", "strap1")
            await fleet.wait(60.0)
            return supervisor.problem

    assert run_in_session_time(main) is Problem.NO_STRAP_FOUND
    assert sink.problems() == [Problem.NO_STRAP_FOUND]
    assert [e.state for e in sink.events if isinstance(e, LinkEvent)][-1] is LinkState.STOPPED


def test_links_dropping_every_150_s_on_the_simulated_strap_are_reported_as_repeated_drops(tmp_path: Path) -> None:
    faults = "".join(f'[[fault]]\nkind = "link_drop"\nat = {at}\nduration = 2\n' for at in (150, 300, 450, 600))
    scenario = tmp_path / "drops-150.toml"
    scenario.write_text(f'name = "drops-150"\nduration = 640\n[[phase]]\nat = 0\nstate = "settled"\n{faults}')
    sink = Problems()

    async def main() -> None:
        await stream_straps(StrapSource(simulate=str(scenario), simulated_model="hr", seed=2), sink, None)

    run_in_session_time(main)
    events = [e for e in sink.events if problem_of(e) is Problem.REPEATED_DROPS]
    assert len(events) == 1
    said_s = float(re.search(r"about (\d+) s", events[0].data["detail"]).group(1))  # type: ignore[union-attr]
    assert said_s == pytest.approx(150.0, abs=4.0)  # each link lives from its reconnection to the next drop
    assert sink.notifications > 500  # heart rate went on between the drops


def test_the_dropout_scenarios_single_link_drop_is_no_pattern() -> None:
    sink = Problems()

    async def main() -> None:
        await stream_straps(StrapSource(simulate="dropout", simulated_model="hr"), sink, None)

    run_in_session_time(main)
    assert any(isinstance(e, LinkEvent) and e.state is LinkState.LOST for e in sink.events)
    assert sink.problems() == []


def test_an_h10_refusing_raw_streams_is_reported_as_pmd_refused_and_heart_rate_goes_on() -> None:
    sink = Problems()

    async def main() -> Problem | None:
        async with SimulatedRadio() as radio:
            strap = await radio.add_strap("calm", seed=4, h10=True, max_mtu=40)  # too small a link: the H10 refuses
            fleet = StrapFleet(radio.stack, sink, LoopClock(asyncio.get_running_loop()))
            supervisor = fleet.connect(strap.address, "strap1")
            await asyncio.sleep(30.0)
            await fleet.close()
            return supervisor.problem

    assert run_in_session_time(main) is Problem.PMD_REFUSED
    assert sink.problems() == [Problem.PMD_REFUSED]  # once, though ECG and motion were both refused
    assert sink.notifications > 20


def test_a_strap_that_stops_answering_connection_requests_is_reported_once_as_a_hanging_connect(tmp_path: Path) -> None:
    # seen by every scan, the strap answers no connection request for its first 70 s; bleak's 20 s connect
    # timeout (the session loop's clock, so instant at max speed) ends each attempt, and the supervisor retries
    scenario = tmp_path / "unresponsive.toml"
    scenario.write_text('name = "unresponsive"\nduration = 120\n[[phase]]\nat = 0\nstate = "settled"\n'
                        '[[fault]]\nkind = "unresponsive"\nat = 0\nduration = 70\n')
    sink = Problems()

    async def main() -> list[Problem | None]:
        supervisors = await stream_straps(StrapSource(simulate=str(scenario), simulated_model="hr", seed=3), sink, None)
        return [s.problem for s in supervisors]

    assert run_in_session_time(main) == [None]  # cured once it streamed
    assert sink.problems() == [Problem.CONNECT_HANGS]
    links = [e for e in sink.events if isinstance(e, LinkEvent)]
    streaming = [e for e in links if e.state is LinkState.STREAMING]
    assert len([e for e in links if e.state is LinkState.RECONNECTING and e.detail]) >= 3  # it kept trying
    assert streaming and streaming[0].host_ns >= 70e9  # ... and streamed once the strap answered
    assert sink.notifications >= 30
