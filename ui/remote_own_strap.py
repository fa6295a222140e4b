"""The practitioner's own strap in a remote session: "I am wearing a strap too" in the invite dialog.

:class:`OwnStrapBox` is the part of :class:`~.remote_invite.RemoteInviteDialog` where the practitioner
chooses the strap they wear (issue #18, co-regulation): a real strap (the nearest one a scan found, or an
address typed in), or, when the app runs the simulator, the simulated practitioner of a dyad scenario
(the client then simulates the dyad's client person, ``remote join --simulate DYAD --person client``).
The remote engine runs it as its local ``strap2`` once the clocks are lined up
(:mod:`somafeedback.live.remote_local_straps`), and the Co-regulation tab appears as in the room.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from PySide6 import QtWidgets

from somafeedback.live.remote_local_straps import FIRST_LOCAL_STRAP

OWN_STRAP: Final = f"strap{FIRST_LOCAL_STRAP}"  # the practitioner's own strap in a remote session
OWN_ROLE: Final = "practitioner (this computer)"  # its role in the strap panel
DEFAULT_DYAD: Final = "dyad-remote-short"  # the simulated pair offered first (coupled from its first seconds)
NO_SIGNAL_DBM: Final = -1000.0  # dBm: a strap found without a signal strength sorts last
WEARING_TEXT: Final = "I am wearing a strap too"
CHOOSE_TEXT: Final = ("Choose your strap: press “Find my strap” with it worn, or type its address "
                      "— or untick “I am wearing a strap too”.")


@dataclass(frozen=True)
class OwnStrap:
    """The practitioner's own strap: a real strap's ``address``, or the practitioner person of the dyad
    scenario ``simulate``."""

    address: str | None = None
    simulate: str | None = None

    def engine_source(self) -> dict[str, Any]:
        """The :class:`~somafeedback.live.engine.EngineSource` fields that run it as the local strap."""
        if self.simulate is not None:
            return {"simulate": self.simulate}
        return {"addresses": (self.address,) if self.address else ()}


def dyad_scenarios() -> list[str]:
    """The built-in dyad scenarios, the short remote one first."""
    from somafeedback.devices.simulator.dyad import is_dyad
    from somafeedback.devices.simulator.scenario import builtin_scenarios

    names = [name for name in builtin_scenarios() if is_dyad(name)]
    return sorted(names, key=lambda name: (name != DEFAULT_DYAD, name))


def _signal_dbm(strap: dict[str, Any]) -> float:
    """A found strap's signal strength (dBm; the nearest has the strongest)."""
    rssi = strap.get("rssi")
    return float(rssi) if rssi is not None else NO_SIGNAL_DBM


class OwnStrapBox(QtWidgets.QWidget):
    """"I am wearing a strap too" and which strap (see the module docstring). ``simulated``: the app runs
    the simulator, so the choice is a dyad scenario's simulated practitioner; else ``on_scan`` looks for
    straps, whose result comes back through :meth:`found`."""

    def __init__(self, simulated: bool, on_scan: Callable[[], None], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.simulated = simulated
        self._on_scan = on_scan
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.wearing = QtWidgets.QCheckBox(WEARING_TEXT)
        self.wearing.setToolTip("Your own heart rate beside your client's: the Co-regulation tab, for you only")
        self.wearing.toggled.connect(self._toggled)
        layout.addWidget(self.wearing)
        row = QtWidgets.QHBoxLayout()
        self.strap = QtWidgets.QComboBox()
        self.find_button = QtWidgets.QPushButton("Find my strap")
        self.find_button.clicked.connect(self._scan)
        if simulated:
            for name in dyad_scenarios():
                self.strap.addItem(f"simulated practitioner of “{name}”", name)
            self.find_button.setVisible(False)
        else:
            self.strap.setEditable(True)
            line = self.strap.lineEdit()
            assert line is not None
            line.setPlaceholderText("the strap's address, or “Find my strap”")
        row.addWidget(self.strap, 1)
        row.addWidget(self.find_button)
        layout.addLayout(row)
        self.note = QtWidgets.QLabel()  # short lines, broken by hand: a wrapped label in a nested layout is cut
        layout.addWidget(self.note)
        self._toggled(False)

    def _toggled(self, on: bool) -> None:
        self.strap.setEnabled(on)
        self.find_button.setEnabled(on)
        if not on:
            self.note.clear()
        elif self.simulated:
            self.note.setText("Your client's app simulates the client of the same pair.\n"
                              "Your strap starts once the two computers' clocks are lined up.")
        elif self.strap.count() == 0:
            self._scan()

    def _scan(self) -> None:
        self.note.setText("Looking for your strap…")
        self._on_scan()

    def found(self, straps: Sequence[dict[str, Any]]) -> None:
        """A scan's straps (``{"name", "address", "rssi"}``): the nearest (strongest signal) first, chosen."""
        if self.simulated:
            return
        self.strap.clear()
        nearest = sorted(straps, key=lambda strap: -_signal_dbm(strap))
        for strap in nearest:
            self.strap.addItem(f"{strap.get('name') or '?'}  {strap['address']}", strap["address"])
        self.note.setText("The nearest strap is chosen." if nearest else
                          "No strap found: is it worn and awake?\nYou may also type its address.")

    def choice(self) -> OwnStrap | None:
        """The strap chosen, None when not wearing one; ValueError (in words) when wearing one but none is chosen."""
        if not self.wearing.isChecked():
            return None
        if self.simulated:
            return OwnStrap(simulate=str(self.strap.currentData()))
        index = self.strap.currentIndex()
        text = self.strap.currentText().strip()
        chosen = self.strap.itemData(index) if index >= 0 and self.strap.itemText(index) == text else text
        if not chosen:
            raise ValueError(CHOOSE_TEXT)
        return OwnStrap(address=str(chosen))

    def lock(self, locked: bool) -> None:
        """While a session runs its strap is fixed."""
        for widget in (self.wearing, self.strap, self.find_button):
            widget.setEnabled(not locked and (widget is self.wearing or self.wearing.isChecked()))


__all__ = ["OWN_ROLE", "OWN_STRAP", "OwnStrap", "OwnStrapBox", "dyad_scenarios"]
