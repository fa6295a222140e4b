"""The straps: what is connected (client and practitioner), its state, and the scan list.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from somafeedback.devices.events import ContactChange, LinkEvent, StrapInfo
from somafeedback.hrv.time_domain import WindowValidity

ROLES = {"strap1": "client", "strap2": "practitioner"}
COLUMNS = ("role", "strap", "link", "battery", "contact", "signal")


def signal_text(validity: WindowValidity, filled_s: float | None = None) -> str:
    """A window's signal in a few words: "2 % rejected", or "filling (40 of 60 s)" while it fills.

    A window that is still filling on clean data is not a poor signal, so it never says "not valid".
    """
    if validity.reason in ("filling the window", "refilling after a gap", "no beats yet", "no data since the gap"):
        what = "refilling" if "gap" in validity.reason else "filling"
        if filled_s is None:
            return what
        return f"{what} ({min(filled_s, validity.window_s):.0f} of {validity.window_s:.0f} s)"
    return f"{validity.artifact_pct:.0f} % rejected"


class DevicePanel(QtWidgets.QGroupBox):
    """A row per strap, a scan list, and connect / disconnect."""

    def __init__(
        self,
        on_scan: Callable[[], None],
        on_connect: Callable[[str, str], None],
        on_disconnect: Callable[[str], None],
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__("Straps", parent)
        layout = QtWidgets.QVBoxLayout(self)
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([c.capitalize() for c in COLUMNS])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)  # a long strap name wraps inside its column instead of being cut
        self.table.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.table.horizontalHeader()
        for index, column in enumerate(COLUMNS):  # short values fit their contents, the strap name and signal share the rest
            mode = (QtWidgets.QHeaderView.ResizeMode.Stretch if column in ("strap", "signal")
                    else QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
            header.setSectionResizeMode(index, mode)
        self.table.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        self._fit_height()
        layout.addWidget(self.table)
        self.remote_note = QtWidgets.QLabel()  # a remote client: its relay link and the clocks' alignment
        self.remote_note.setWordWrap(True)
        self.remote_note.setVisible(False)
        layout.addWidget(self.remote_note)
        self.remote_straps: dict[str, str] = {}  # strap id -> the remote link's state in words
        self._remote_clock = ""
        row = QtWidgets.QHBoxLayout()
        self.scan_button = QtWidgets.QPushButton("Scan")
        self.scan_button.clicked.connect(on_scan)
        self.disconnect_button = QtWidgets.QPushButton("Disconnect selected")
        self.disconnect_button.clicked.connect(lambda: self._disconnect(on_disconnect))
        row.addWidget(self.scan_button)
        row.addWidget(self.disconnect_button)
        layout.addLayout(row)
        self.found = QtWidgets.QListWidget()
        self.found.setMaximumHeight(70)
        layout.addWidget(self.found)
        connect_row = QtWidgets.QHBoxLayout()
        for strap_id, role in ROLES.items():
            button = QtWidgets.QPushButton(f"Connect as {role}")
            button.clicked.connect(lambda _=False, s=strap_id: self._connect(on_connect, s))
            connect_row.addWidget(button)
        layout.addLayout(connect_row)
        self.rows: dict[str, int] = {}

    def _row(self, strap_id: str) -> int:
        if strap_id not in self.rows:
            self.rows[strap_id] = self.table.rowCount()
            self.table.insertRow(self.table.rowCount())
            self._set(strap_id, "role", ROLES.get(strap_id, strap_id))
        return self.rows[strap_id]

    def _set(self, strap_id: str, column: str, text: str) -> None:
        row, index = self._row(strap_id), COLUMNS.index(column)
        item = self.table.item(row, index)
        if item is not None and item.text() == text:
            return
        self.table.setItem(row, index, QtWidgets.QTableWidgetItem(text))
        self._fit_height()

    def _fit_height(self) -> None:
        """Rows as tall as their (wrapped) text, the table as tall as its rows: nothing cut, no scrolling."""
        self.table.resizeRowsToContents()
        rows = sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        header = self.table.horizontalHeader().sizeHint().height()
        rows = max(rows, self.table.verticalHeader().defaultSectionSize())  # an empty table keeps one row's room
        self.table.setFixedHeight(header + rows + 2 * self.table.frameWidth())

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        QtCore.QTimer.singleShot(0, self._fit_height)  # columns changed width: wrapped rows may need more height

    def cell(self, strap_id: str, column: str) -> str:
        item = self.table.item(self._row(strap_id), COLUMNS.index(column))
        return item.text() if item is not None else ""

    # -- updates -----------------------------------------------------------------------------
    def link(self, event: LinkEvent) -> None:
        attempt = f" (attempt {event.attempt})" if event.attempt else ""
        self._set(event.strap_id, "link", f"{event.state}{attempt}")

    def info(self, info: StrapInfo) -> None:
        relayed = " (through the relay)" if info.strap_id in self.remote_straps else ""
        self._set(info.strap_id, "strap", f"{info.name or info.address}{relayed}")
        self._set(info.strap_id, "battery", f"{info.battery_percent} %" if info.battery_percent is not None else "?")

    def contact(self, change: ContactChange) -> None:
        self._set(change.strap_id, "contact", {True: "yes", False: "NO", None: "n/a"}[change.contact])

    def quality(self, strap_id: str, validity: WindowValidity, filled_s: float | None = None) -> None:
        """The strap's signal: what share of the window's beats were rejected, or how far it has filled."""
        self._set(strap_id, "signal", signal_text(validity, filled_s))

    def set_role(self, strap_id: str, text: str) -> None:
        """``strap_id``'s role in words (e.g. the practitioner's own strap in a remote session)."""
        self._set(strap_id, "role", text)

    def remote_row(self, strap_id: str, link_text: str) -> None:
        """``strap_id`` is a remote client's strap: its row says so; ``link_text`` is the remote link's state
        (kept apart from the strap's own link and gaps)."""
        if strap_id not in self.remote_straps:
            self._set(strap_id, "role", "remote client")
            self._set(strap_id, "strap", f"{strap_id} (through the relay)")
        self.remote_straps[strap_id] = link_text
        self._show_remote()

    def remote_clock(self, text: str) -> None:
        """The latest clock alignment between the client's computer and this one, in words."""
        self._remote_clock = text
        self._show_remote()

    def _show_remote(self) -> None:
        lines = [f"remote client — {strap} (through the relay): {state}" for strap, state in self.remote_straps.items()]
        if self._remote_clock:
            lines.append(self._remote_clock)
        self.remote_note.setText("\n".join(lines))
        self.remote_note.setVisible(bool(lines))

    def show_scan(self, straps: list[dict]) -> None:
        self.found.clear()
        for strap in straps:
            item = QtWidgets.QListWidgetItem(f"{strap['name'] or '?'}  {strap['address']}  {strap.get('rssi')} dBm")
            item.setData(QtCore.Qt.ItemDataRole.UserRole, strap["address"])
            self.found.addItem(item)
        if not straps:
            self.found.addItem("No strap found.")

    # -- actions ------------------------------------------------------------------------------
    def _connect(self, on_connect: Callable[[str, str], None], strap_id: str) -> None:
        item = self.found.currentItem()
        address = item.data(QtCore.Qt.ItemDataRole.UserRole) if item is not None else None
        if address:
            on_connect(address, strap_id)

    def _disconnect(self, on_disconnect: Callable[[str], None]) -> None:
        row = self.table.currentRow()
        for strap_id, index in self.rows.items():
            if index == row:
                on_disconnect(strap_id)
