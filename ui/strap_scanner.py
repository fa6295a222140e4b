"""Looking for straps for the welcome: on a thread of its own (first start, before any engine) or with the
running engine's scan (the welcome opened again from Help).

Both report through ``done(straps, error)`` on the GUI thread: the straps found as dicts (name, address,
rssi in dBm; strongest first), and the error that stopped the search (None: none).

Thread: the Qt GUI thread (:class:`StrapScanner`'s search runs on its own thread).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, Final, Protocol

from PySide6 import QtCore

from somafeedback.live.sources import StrapSource

SCAN_TIMEOUT_S: Final = 5.0  # s; how long "Look for straps" listens
ENGINE_GRACE_S: Final = 5.0  # s beyond the scan's own time before an engine scan that never answered counts as empty


class Scanner(Protocol):
    """What the welcome needs of a scanner."""

    done: Any  # QtCore.SignalInstance(list, object)
    timeout_s: float

    def start(self) -> None: ...


class StrapScanner(QtCore.QObject):
    """Looks for straps on ``source``'s radio (the computer's Bluetooth, or the simulator's) on a thread.

    ``done`` carries the straps found (dicts: name, address, rssi; strongest first) and the error (None: none).
    """

    done = QtCore.Signal(list, object)

    def __init__(self, source: StrapSource | None = None, timeout_s: float = SCAN_TIMEOUT_S,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.source = source or StrapSource()
        self.timeout_s = timeout_s
        self._worker: threading.Thread | None = None

    def running(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def start(self) -> None:
        """Scan once (ignored while a scan runs). Thread: GUI; the result arrives on the GUI thread."""
        if self.running():
            return
        self._worker = threading.Thread(target=self._run, name="somafeedback welcome scan", daemon=True)
        self._worker.start()

    def _run(self) -> None:
        try:
            straps = asyncio.run(self._scan())
        except Exception as error:  # noqa: BLE001 - shown as connection help, never raised
            self.done.emit([], error)
            return
        self.done.emit(straps, None)

    async def _scan(self) -> list[dict[str, Any]]:
        from somafeedback.live.sources import open_stack, scan

        async with open_stack(self.source) as (stack, _addresses):
            found = await scan(stack, self.timeout_s)
        return [{"name": f.name, "address": f.address, "rssi": f.rssi} for f in found]


class EngineScanner(QtCore.QObject):
    """Scans with a running engine (``engine()``: the window's engine now); the window's items come back
    through :meth:`feed`. An engine that has stopped (no Bluetooth, say) is replaced by a
    :class:`StrapScanner` on the computer's Bluetooth."""

    done = QtCore.Signal(list, object)

    def __init__(self, engine: Callable[[], Any], timeout_s: float = SCAN_TIMEOUT_S,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.timeout_s = timeout_s
        self._waiting = False
        self._fallback = StrapScanner(timeout_s=timeout_s, parent=self)
        self._fallback.done.connect(self.done)
        self._grace = QtCore.QTimer(self)
        self._grace.setSingleShot(True)
        self._grace.timeout.connect(self._no_answer)

    def start(self) -> None:
        engine = self.engine()
        if engine is None or engine.finished.is_set():
            self._fallback.start()
            return
        self._waiting = True
        engine.scan(self.timeout_s)
        self._grace.start(round((self.timeout_s + ENGINE_GRACE_S) * 1000))

    def feed(self, item: object) -> None:
        """One of the window's engine items: a scan's result ends the wait."""
        from somafeedback.devices.events import TimelineEvent

        if self._waiting and isinstance(item, TimelineEvent) and item.kind == "scan":
            self._waiting = False
            self._grace.stop()
            self.done.emit(list(item.data.get("straps", [])), None)

    def _no_answer(self) -> None:
        if self._waiting:  # the engine could not scan (it said why in its own window)
            self._waiting = False
            self.done.emit([], None)
