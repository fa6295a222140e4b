"""The straps: what is connected (client and practitioner), its state, and the scan list.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtWidgets

from somafeedback.devices.events import ContactChange, LinkEvent, StrapInfo

ROLES = {"strap1": "client", "strap2": "practitioner"}
COLUMNS = ("role", "strap", "link", "battery", "contact", "signal")


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
        self.table.setMaximumHeight(90)
        layout.addWidget(self.table)
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
        self.table.setItem(self._row(strap_id), COLUMNS.index(column), QtWidgets.QTableWidgetItem(text))

    def cell(self, strap_id: str, column: str) -> str:
        item = self.table.item(self._row(strap_id), COLUMNS.index(column))
        return item.text() if item is not None else ""

    # -- updates -----------------------------------------------------------------------------
    def link(self, event: LinkEvent) -> None:
        attempt = f" (attempt {event.attempt})" if event.attempt else ""
        self._set(event.strap_id, "link", f"{event.state}{attempt}")

    def info(self, info: StrapInfo) -> None:
        self._set(info.strap_id, "strap", info.name or info.address)
        self._set(info.strap_id, "battery", f"{info.battery_percent} %" if info.battery_percent is not None else "?")

    def contact(self, change: ContactChange) -> None:
        self._set(change.strap_id, "contact", {True: "yes", False: "NO", None: "n/a"}[change.contact])

    def quality(self, strap_id: str, artifact_pct: float, valid: bool) -> None:
        self._set(strap_id, "signal", f"{artifact_pct:.0f} % rejected" + ("" if valid else " (not valid)"))

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
