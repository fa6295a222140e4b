"""What went wrong with Bluetooth, named: a failure the code saw, turned into a :class:`Problem`.

The app, the CLI and ``somafeedback doctor`` match a problem to its help text
(``somafeedback.live.connection_help``). What can be told apart today:

* no adapter / Bluetooth off / permission denied: bleak 3.1 raises
  ``BleakBluetoothNotAvailableError`` with a ``reason`` (BlueZ, WinRT, CoreBluetooth); older
  texts and D-Bus errors are read as well; no system D-Bus socket at all (a Linux without
  bluetoothd, like a container) is an ``OSError`` from the bus connection;
* no strap found: a scan that saw no Heart Rate strap (:class:`NoStrapFound`,
  :class:`StrapNotFound`, bleak's ``BleakDeviceNotFoundError``);
* connect hangs: a connection attempt that did not finish within its bound
  (:class:`ConnectHung`, a bare ``TimeoutError`` from bleak's ``connect``);
* repeated drops: links that end after about the same time each time (:class:`DropPattern`;
  on Linux BlueZ a strap has been seen to drop exactly 150 s after connecting, OpenHRV#39);
* PMD refused: the H10 answered a raw-stream request with an error status
  (:func:`pmd_refused`).

The supervisor reports each as a ``connection-problem`` :class:`~.events.TimelineEvent`
(:func:`problem_event`, read back with :func:`problem_of`).

Thread: any (pure functions; a :class:`DropPattern` belongs to one supervisor's loop).
"""

from __future__ import annotations

import errno
import statistics
from collections.abc import Mapping
from enum import Enum
from typing import Any, Final

from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason, BleakDBusError, BleakDeviceNotFoundError, BleakError

from .events import LinkEvent, LinkState, TimelineEvent
from .pmd_commands import PmdStatus


class Problem(str, Enum):
    """A connection problem the app can name and help with."""

    NO_ADAPTER = "no-adapter"  # no Bluetooth adapter (or no Bluetooth service) on this computer
    BLUETOOTH_OFF = "bluetooth-off"  # an adapter, switched off
    PERMISSION_DENIED = "permission-denied"  # the system does not let this app use Bluetooth
    NO_STRAP_FOUND = "no-strap-found"  # Bluetooth works; no heart-rate strap answered the scan
    CONNECT_HANGS = "connect-hangs"  # the strap was seen, the connection never completed
    REPEATED_DROPS = "repeated-drops"  # the link ends after about the same time, again and again
    PMD_REFUSED = "pmd-refused"  # the H10 refused raw ECG/motion; heart rate goes on


class NoStrapFound(RuntimeError):
    """No strap could be found (the message says why and how to use the simulator).

    Raised with ``from`` the Bluetooth error when the scan itself failed, so
    :func:`classify_error` names that cause (no adapter, off, denied)."""


class StrapNotFound(TimeoutError):
    """A supervisor's search saw no (wanted) strap within its scan time."""


class ConnectHung(TimeoutError):
    """A strap was seen but connecting to it did not finish within the bound."""


PROBLEM_EVENT: Final = "connection-problem"  # TimelineEvent kind; data: {"problem": value, "detail": text}

_REASONS: Final[Mapping[BleakBluetoothNotAvailableReason, Problem]] = {
    BleakBluetoothNotAvailableReason.NO_BLUETOOTH: Problem.NO_ADAPTER,
    BleakBluetoothNotAvailableReason.NO_BLE_CENTRAL_ROLE: Problem.NO_ADAPTER,
    BleakBluetoothNotAvailableReason.POWERED_OFF: Problem.BLUETOOTH_OFF,
    BleakBluetoothNotAvailableReason.DENIED_BY_USER: Problem.PERMISSION_DENIED,
    BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM: Problem.PERMISSION_DENIED,
    BleakBluetoothNotAvailableReason.DENIED_BY_UNKNOWN: Problem.PERMISSION_DENIED,
    BleakBluetoothNotAvailableReason.UNKNOWN: Problem.NO_ADAPTER,
}
_DBUS_ERRORS: Final[Mapping[str, Problem]] = {
    "org.bluez.Error.NotReady": Problem.BLUETOOTH_OFF,  # BlueZ: the adapter is powered off
    "org.freedesktop.DBus.Error.ServiceUnknown": Problem.NO_ADAPTER,  # bluetoothd is not running
    "org.freedesktop.DBus.Error.AccessDenied": Problem.PERMISSION_DENIED,
    "org.bluez.Error.NotPermitted": Problem.PERMISSION_DENIED,
}
# BleakError texts of older bleak releases and the backends (matched lower-case, first match wins)
_TEXTS: Final = (
    ("no bluetooth adapters", Problem.NO_ADAPTER),
    ("bluetooth adapter not found", Problem.NO_ADAPTER),
    ("no powered bluetooth adapters", Problem.BLUETOOTH_OFF),
    ("is bluetooth turned on", Problem.BLUETOOTH_OFF),  # WinRT: "Failed to start scanner. Is Bluetooth turned on?"
    ("bluetooth device is turned off", Problem.BLUETOOTH_OFF),  # CoreBluetooth before bleak 2.0
    ("unauthorized", Problem.PERMISSION_DENIED),  # CoreBluetooth: "Bluetooth device is unauthorized"
    ("not authorized", Problem.PERMISSION_DENIED),
)
_NO_SERVICE_ERRNOS: Final = (errno.ENOENT, errno.ECONNREFUSED)  # the system D-Bus socket missing / nobody listening
_DENIED_ERRNOS: Final = (errno.EACCES, errno.EPERM)


def classify_error(error: BaseException) -> Problem | None:
    """The problem a failed scan or connection attempt shows (None: not one the app can name)."""
    if isinstance(error, NoStrapFound):
        cause = error.__cause__
        return (classify_error(cause) if cause is not None else None) or Problem.NO_STRAP_FOUND
    if isinstance(error, (StrapNotFound, BleakDeviceNotFoundError)):
        return Problem.NO_STRAP_FOUND
    if isinstance(error, ConnectHung):
        return Problem.CONNECT_HANGS
    if isinstance(error, BleakBluetoothNotAvailableError):
        return _REASONS.get(error.reason, Problem.NO_ADAPTER)
    if isinstance(error, BleakDBusError) and error.dbus_error in _DBUS_ERRORS:
        return _DBUS_ERRORS[error.dbus_error]
    if isinstance(error, BleakError):
        text = str(error).lower()
        return next((problem for words, problem in _TEXTS if words in text), None)
    if isinstance(error, TimeoutError):  # bleak's connect timeout (also asyncio.TimeoutError)
        return Problem.CONNECT_HANGS
    if isinstance(error, OSError):
        if error.errno in _NO_SERVICE_ERRNOS:
            return Problem.NO_ADAPTER
        if error.errno in _DENIED_ERRNOS:
            return Problem.PERMISSION_DENIED
    return None


def pmd_refused(details: Mapping[str, Any]) -> bool:
    """Whether a ``pmd_error`` event's details are the strap refusing a raw stream.

    The strap answered with an error status (not "already running"), or the stream is not
    among the features it offers (older H10 firmware)."""
    status = details.get("status")
    if status is not None:
        return int(status) != PmdStatus.ALREADY_IN_STATE
    return "does not offer" in str(details.get("text", ""))


def problem_event(strap_id: str, problem: Problem, detail: str, host_ns: int, wall_time: float) -> TimelineEvent:
    """The timeline event that reports ``problem`` for a strap (recorded with the session)."""
    return TimelineEvent(PROBLEM_EVENT, host_ns, wall_time, {"problem": problem.value, "detail": detail}, strap_id)


def problem_of(event: object) -> Problem | None:
    """The problem a ``connection-problem`` event reports (None for any other event or an unknown name)."""
    if not isinstance(event, TimelineEvent) or event.kind != PROBLEM_EVENT:
        return None
    try:
        return Problem(event.data.get("problem"))
    except ValueError:
        return None


MIN_DROPS: Final = 3  # links that ended at about the same age before saying so
MIN_LINK_S: Final = 20.0  # s; shorter links are flapping, not a timer
TOLERANCE_S: Final = 5.0  # s either side of the median age a link may end ...
TOLERANCE_FRACTION: Final = 0.05  # ... or this share of it, whichever is larger


class DropPattern:
    """Watches one strap's link events; says REPEATED_DROPS when links end at about the same age.

    A link's age is the time from ``streaming`` to ``lost`` (or from one ``lost`` to the next
    when no ``streaming`` came between). The last :data:`MIN_DROPS` ages must all lie within
    max(:data:`TOLERANCE_S`, :data:`TOLERANCE_FRACTION` x median) of their median and be at
    least :data:`MIN_LINK_S`. Feed it every :class:`~.events.LinkEvent` of the strap in order.
    """

    def __init__(self, min_drops: int = MIN_DROPS) -> None:
        self.min_drops = min_drops
        self.ages_s: list[float] = []  # age of every link that was lost
        self._since_ns: int | None = None

    def feed(self, event: LinkEvent) -> Problem | None:
        """REPEATED_DROPS on a loss that completes the pattern (and on every loss that keeps it)."""
        if event.state is LinkState.STREAMING:
            self._since_ns = event.host_ns
            return None
        if event.state is not LinkState.LOST:
            return None
        if self._since_ns is not None:
            self.ages_s.append((event.host_ns - self._since_ns) / 1e9)
        self._since_ns = event.host_ns
        return Problem.REPEATED_DROPS if self.repeating() else None

    def repeating(self) -> bool:
        """Whether the last links ended at about the same age."""
        recent = self.ages_s[-self.min_drops:]
        if len(recent) < self.min_drops:
            return False
        median = statistics.median(recent)
        tolerance = max(TOLERANCE_S, TOLERANCE_FRACTION * median)
        return median >= MIN_LINK_S and all(abs(age - median) <= tolerance for age in recent)

    @property
    def interval_s(self) -> float | None:
        """The usual age of a link when the pattern holds (None otherwise)."""
        return statistics.median(self.ages_s[-self.min_drops:]) if self.repeating() else None
