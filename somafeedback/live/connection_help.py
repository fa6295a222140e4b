"""Help for a connection problem: what was seen, in plain words, and what to try next on this OS.

``help_for(problem, platform)`` is what the app's connection-help panel, the CLI and
``somafeedback doctor`` show for a :class:`~somafeedback.devices.connection_problems.Problem`.
The steps come from what users of peer apps met and what fixed it (research/peers.md, "What
users ask for"):

* no strap found: a Polar strap switches on only when worn with wet electrodes, and accepts one
  or two Bluetooth connections at a time, so a phone app holding it hides it (polar-ble-sdk
  docs; OpenTracks#228: an H10 on a phone and a bike computer at once);
* connect hangs on Windows: an old pairing in Windows blocks a new connection; removing the
  device in Bluetooth settings and searching again is the maintainers' advice (OpenHRV#15, #29;
  bleakheart#5; hbldh/bleak#1943: Windows 11 keeps a bond that breaks the next session);
* repeated drops on Linux: an H10/H9 dropped system-wide exactly 150 s after connecting on
  Debian 12 and Ubuntu 22.04 (OpenHRV#39, confirmed by its maintainer; another bleak-based app
  did not show it); its cause is not confirmed. What is known to end BlueZ links at a fixed
  time: the link supervision timeout (disconnect reason 0x08 "Connection Timeout", bluez#289)
  and rejected connection-parameter updates (reason 0x3b, bluepy#53, gattlib#144). BlueZ reads
  ``[LE] ConnectionSupervisionTimeout`` (10 ms units) from ``/etc/bluetooth/main.conf`` at start,
  and a per-device value in ``/var/lib/bluetooth/<adapter>/<device>/info``
  (``[ConnectionParameters] Timeout``) overrides it; ``btmon`` shows each disconnect's reason;
* macOS permission: without the Bluetooth permission macOS stops the app (TCC); it is granted in
  System Settings -> Privacy & Security -> Bluetooth (hbldh/bleak#761, OpenHRV#24);
* PMD refused: older H10 firmware serves no or fewer raw streams (PolarBand2lsl#4); Polar Flow
  updates it; the Heart Rate service is unaffected.

Thread: any (pure data).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Final

from somafeedback.devices.connection_problems import Problem

TRY_SIMULATED: Final = "Meanwhile you can try the app with its simulated strap."


@dataclass(frozen=True, slots=True)
class ConnectionHelp:
    """What to show for one problem on one operating system."""

    problem: Problem
    title: str
    cause: str  # what was seen, in words a therapist understands
    next_steps: tuple[str, ...]  # in the order to try them


def os_family(platform: str) -> str:
    """``windows``, ``macos`` or ``linux`` (anything else counts as Linux) for a ``sys.platform`` value."""
    if platform.startswith(("win", "cygwin", "msys")):
        return "windows"
    return "macos" if platform == "darwin" else "linux"


# (title, cause, {"before" | os family | "all": steps}): shown in that order
_HELP: Final[dict[Problem, tuple[str, str, dict[str, tuple[str, ...]]]]] = {
    Problem.NO_ADAPTER: (
        "No Bluetooth found on this computer",
        "The app could not find a Bluetooth adapter it can use, or the computer's Bluetooth service is not running.",
        {
            "linux": ("Check that the Bluetooth service runs: in a terminal, 'systemctl status bluetooth' "
                      "('sudo systemctl start bluetooth' starts it).",),
            "windows": ("Open Settings > Bluetooth & devices and check that Bluetooth is listed; if it is missing, "
                        "the adapter's driver may need installing (Device Manager).",),
            "macos": ("Open System Settings > Bluetooth and check that Bluetooth is listed.",),
            "all": ("A computer without built-in Bluetooth can use a USB Bluetooth adapter (Bluetooth 4.0 or newer).",
                    TRY_SIMULATED),
        },
    ),
    Problem.BLUETOOTH_OFF: (
        "Bluetooth is switched off",
        "This computer has Bluetooth, but it is switched off.",
        {
            "linux": ("Switch Bluetooth on in the system settings (or 'bluetoothctl power on' in a terminal); "
                      "if it stays off, 'rfkill unblock bluetooth' lifts a block.",),
            "windows": ("Switch Bluetooth on in Settings > Bluetooth & devices (or in the quick settings panel), "
                        "and check that airplane mode is off.",),
            "macos": ("Switch Bluetooth on in System Settings > Bluetooth (or in Control Centre).",),
            "all": ("Then search for the strap again.",),
        },
    ),
    Problem.PERMISSION_DENIED: (
        "The app may not use Bluetooth yet",
        "The system did not allow this app to use Bluetooth.",
        {
            "macos": ("Open System Settings > Privacy & Security > Bluetooth and switch somafeedback on "
                      "(when it was started from a terminal, the terminal app needs the permission).",
                      "Quit somafeedback and start it again."),
            "windows": ("Open Settings > Privacy & security and check that apps may use Bluetooth and control "
                        "device radios.",),
            "linux": ("Your user account may need permission to use Bluetooth (on some systems, membership of the "
                      "'bluetooth' group); whoever looks after this computer can grant it.",),
            "all": (TRY_SIMULATED,),
        },
    ),
    Problem.NO_STRAP_FOUND: (
        "No strap found nearby",
        "Bluetooth works, but no heart-rate strap answered the search.",
        {
            "windows": ("A strap does not need pairing in Windows settings: the search here is enough.",),
            "all": ("Wet the strap's electrodes (the ribbed patches on its inside) with a little water.",
                    "Put the strap on, snug just below the chest: it switches on only when it is worn.",
                    "Close any phone or watch app that is connected to the strap, or switch the phone's Bluetooth "
                    "off for now: a strap accepts only one or two connections at a time.",
                    "Bring the strap within a few metres of the computer and search again.",
                    TRY_SIMULATED),
        },
    ),
    Problem.CONNECT_HANGS: (
        "Connecting to the strap does not finish",
        "The strap was found, but connecting to it did not finish in time.",
        {
            "windows": ("Open Settings > Bluetooth & devices, choose the strap and 'Remove device', then search again "
                        "here: an old pairing kept by Windows can block a new connection.",
                        "If it still hangs, switch Bluetooth off and on again."),
            "macos": ("If the strap is listed in System Settings > Bluetooth, choose 'Forget This Device', "
                      "then search again here.",),
            "linux": ("Remove the strap from the system's Bluetooth settings (or 'bluetoothctl remove' with its "
                      "address), then search again here.",),
            "all": ("Take the strap off for a minute (it switches itself off), then put it on again and search again.",),
        },
    ),
    Problem.REPEATED_DROPS: (
        "The connection drops at a regular interval",
        "The connection to the strap ended after about the same time, again and again. A regular interval points "
        "to a setting of this computer's Bluetooth, not to the strap or to the person wearing it.",
        {
            "before": ("The app reconnects by itself and marks each gap in the recording; the measures leave the "
                       "gaps out.",),
            "linux": ("Update the system (the Bluetooth service, BlueZ, and the kernel), or try another Bluetooth "
                      "adapter if one is at hand.",
                      "Whoever looks after this computer can raise the link's supervision timeout: in "
                      "/etc/bluetooth/main.conf, section [LE], ConnectionSupervisionTimeout (in 10 ms units, "
                      "e.g. 400 for 4 s), then restart Bluetooth. A value stored for the strap under "
                      "/var/lib/bluetooth/ ([ConnectionParameters] Timeout) takes precedence.",
                      "'btmon' in a terminal shows the reason for each drop (for example 'Connection Timeout' or "
                      "'Unacceptable Connection Parameters')."),
            "windows": ("Remove the strap in Settings > Bluetooth & devices, switch Bluetooth off and on, and "
                        "connect again.",),
            "macos": ("Choose 'Forget This Device' for the strap in System Settings > Bluetooth if it is listed, "
                      "switch Bluetooth off and on, and connect again.",),
            "all": ("Keep the computer within a few metres of the strap.",),
        },
    ),
    Problem.PMD_REFUSED: (
        "Raw ECG and chest motion are not available",
        "The strap did not start raw ECG or chest motion. Heart rate and RR go on as usual.",
        {
            "all": ("Update the strap's firmware with the Polar Flow app on a phone (it offers the update when "
                    "the strap is connected), then close Polar Flow or switch the phone's Bluetooth off and "
                    "connect here again.",
                    "Heart rate, RR and the measures from RR (RMSSD in ms, breathing rate from RR) work "
                    "without raw ECG."),
        },
    ),
}


def help_for(problem: Problem, platform: str = sys.platform) -> ConnectionHelp:
    """The title, cause and next steps for ``problem`` on ``platform`` (a ``sys.platform`` value)."""
    title, cause, steps = _HELP[problem]
    ordered = steps.get("before", ()) + steps.get(os_family(platform), ()) + steps.get("all", ())
    return ConnectionHelp(problem, title, cause, ordered)
