"""The practitioner's window: live plots, state, suggestions, markers, and the device status.

A frame timer (~30 fps) drains what the engine produced since the last frame and redraws
once; the engine's thread never touches a widget. Decisions and markers go back to the
engine (``Engine.approve``, ``Engine.add_event``), which records them on the timeline.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from somafeedback.devices.events import ContactChange, GapEvent, LinkEvent, MalformedPacket, StrapInfo, TimelineEvent
from somafeedback.engine import Engine, StrapOutput
from somafeedback.exercise_library import Exercise
from somafeedback.pacer import Pacer
from somafeedback.pipeline import BeatMetrics
from somafeedback.regulation import Baseline, RegulationModel

from .cue_panel import MARKERS, CuePanel
from .device_panel import DevicePanel
from .live_plots import LivePlots
from .raw_plots import RAW_OUTPUTS, RawPlots
from .replay_window import clock_text  # the review window's mm:ss, so both show a time alike

CLIENT_STRAP = "strap1"  # the client's strap drives the plots, the states and the cues

FRAME_MS = 30  # a little over 30 frames per second, so a late frame still keeps 30


class PractitionerWindow(QtWidgets.QMainWindow):
    """The main window; ``engine`` runs the source, ``client`` is the client view (optional)."""

    def __init__(self, engine: Engine, library: dict[str, Exercise], client: Any = None,
                 use_simulator: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.library = library
        self.client = client
        self._use_simulator = use_simulator
        self.setWindowTitle("somafeedback — practitioner")
        self.plots = LivePlots()
        self.panel = CuePanel(library, self.decide, self.push_exercise, self.mark, self.note)
        self.devices = DevicePanel(lambda: self.engine.scan(), lambda address, strap: self.engine.connect(address, strap),
                                   lambda strap: self.engine.disconnect(strap))
        self.panel.layout().insertWidget(0, self.devices)
        self.raw = RawPlots(pacer=self._client_pacer)
        self.raw.setVisible(False)  # until a strap streams raw ECG or chest motion
        plots = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        plots.addWidget(self.plots)
        plots.addWidget(self.raw)
        plots.setStretchFactor(0, 3)
        plots.setStretchFactor(1, 1)
        splitter = QtWidgets.QSplitter()
        splitter.addWidget(plots)
        side = QtWidgets.QScrollArea()
        side.setWidget(self.panel)
        side.setWidgetResizable(True)
        side.setMinimumWidth(420)
        side.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([960, 440])
        central = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(central)
        self.banner = QtWidgets.QWidget()
        banner_layout = QtWidgets.QHBoxLayout(self.banner)
        self.banner_text = QtWidgets.QLabel()
        self.banner_text.setWordWrap(True)
        self.simulator_button = QtWidgets.QPushButton("Use the simulated strap")
        self.simulator_button.clicked.connect(self._switch_to_simulator)
        banner_layout.addWidget(self.banner_text, 1)
        banner_layout.addWidget(self.simulator_button)
        self.banner.setVisible(False)
        layout.addWidget(self.banner)
        self.problem = QtWidgets.QWidget()  # an error in one of the window's handlers (ui/error_report.py)
        problem_layout = QtWidgets.QHBoxLayout(self.problem)
        self.problem_text = QtWidgets.QLabel()
        self.problem_text.setWordWrap(True)
        self.problem_text.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        problem_close = QtWidgets.QPushButton("OK")
        problem_close.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # never takes the keyboard from the hotkeys
        problem_close.clicked.connect(lambda: self.problem.setVisible(False))
        problem_layout.addWidget(self.problem_text, 1)
        problem_layout.addWidget(problem_close)
        self.problem.setStyleSheet("background: #fff3cd;")
        self.problem.setVisible(False)
        layout.addWidget(self.problem)
        layout.addWidget(splitter, 1)
        self.timeline = QtWidgets.QListWidget()
        self.timeline.setMaximumHeight(110)
        layout.addWidget(self.timeline)
        self.setCentralWidget(central)
        self.status = {name: QtWidgets.QLabel("—") for name in ("link", "strap", "contact", "quality", "elapsed", "recording")}
        # the status bar summarises the client's strap; the device panel shows every strap
        for label in self.status.values():
            self.statusBar().addPermanentWidget(label)
        self.status["recording"].setText("not recording")
        self.latest: BeatMetrics | None = None
        self.pending_cue: dict[str, Any] | None = None
        self.muted = False
        self._install_shortcuts()
        self._install_menus()
        self.frame_timer = QtCore.QTimer(self)
        self.frame_timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.frame_timer.setInterval(FRAME_MS)
        self.frame_timer.timeout.connect(self.on_frame)
        self.frame_timer.start()
        self.resize(1400, 900)

    # -- practitioner actions --------------------------------------------------------------------
    def decide(self, decision: str) -> None:
        {"approve": self.engine.approve, "snooze": self.engine.snooze, "dismiss": self.engine.dismiss}[decision]()

    def mark(self, label: str) -> None:
        self.engine.add_event("marker", label=label)

    def note(self, text: str) -> None:
        self.engine.add_event("note", text=text)

    def push_exercise(self, exercise: Exercise) -> None:
        """The practitioner's own choice of exercise, to the client view (via the engine's timeline, so it is recorded)."""
        self.engine.add_event("cue", action="pushed", cue_id=None, kind="manual", exercise=exercise.id, text=exercise.title)

    def show_problem(self, message: str) -> None:
        """A plain-language message about an error in one of the window's handlers (non-blocking banner)."""
        self.problem_text.setText(message)
        self.problem.setVisible(True)

    def toggle_mute(self) -> None:
        self.muted = not self.muted
        self.mark("mute" if self.muted else "unmute")

    def _install_shortcuts(self) -> None:
        def bind(key: str, action: Callable[[], None]) -> None:
            shortcut = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            shortcut.activated.connect(action)

        for key, label, _ in MARKERS:
            bind(key, lambda value=label: self.mark(value))
        bind("N", self.panel.note.setFocus)
        bind("Space", lambda: self.decide("approve"))
        bind("S", lambda: self.decide("snooze"))
        bind("Escape", lambda: self.decide("dismiss"))
        bind("M", self.toggle_mute)
        if self.client is not None:
            bind("F11", self.client.toggle_full_screen)

    def _install_menus(self) -> None:
        from .settings import AppSettings, SettingsDialog, show_shortcuts

        self.settings = AppSettings()
        session = self.menuBar().addMenu("&Session")
        self.record_action = session.addAction("Record this session")
        self.record_action.setCheckable(True)
        self.record_action.toggled.connect(self.set_recording)
        self.lsl_action = session.addAction("Publish Lab Streaming Layer streams")
        self.lsl_action.setCheckable(True)
        self.lsl_action.setToolTip("HR, RR, ECG, chest motion, metrics and markers as LSL streams on the local "
                                   "network, for research recording (off: nothing listens on the network)")
        self.lsl_action.toggled.connect(lambda on: self.engine.set_lsl(on))
        session.addAction("Open a session for review…", self.open_review)
        for fmt, label in (("html", "HTML"), ("pdf", "PDF")):
            session.addAction(f"A client's progress over the weeks ({label})…", lambda fmt=fmt: self.choose_progress_report(fmt))
        session.addAction("Settings…", lambda: SettingsDialog(self.settings, self).exec())
        session.addSeparator()
        session.addAction("Quit", self.close)
        view = self.menuBar().addMenu("&View")
        if self.client is not None:
            view.addAction("Client view full screen (F11)", self.client.toggle_full_screen)
            numbers = view.addAction("Show numbers on the client view")
            numbers.setCheckable(True)
            numbers.setChecked(self.settings.client_numbers)
            numbers.toggled.connect(self.client.set_numbers_visible)
            self.client.set_numbers_visible(self.settings.client_numbers)
        self.menuBar().addMenu("&Help").addAction("Keyboard shortcuts", lambda: show_shortcuts(self))

    def choose_progress_report(self, fmt: str) -> None:
        client, ok = QtWidgets.QInputDialog.getText(self, "Progress report", "Client (pseudonym as recorded):")
        if ok and client.strip():
            self.progress_report(client.strip(), fmt, self.settings.recordings)

    def progress_report(self, client: str, fmt: str, out: Path) -> Path | None:
        """A client's weekly progress report, built with a progress dialog; its path, or None."""
        from somafeedback.export import ExportError
        from somafeedback.report_content import ReportError, progress_content

        from .progress_dialog import run_with_progress
        from .report_render import write_progress_report

        try:
            content = run_with_progress(self, f"Reading {client}'s sessions…",
                                        lambda progress: progress_content(self.settings.recordings, client, progress))
            written = None if content is None else write_progress_report(content, fmt, out)
        except (ReportError, ExportError) as error:
            QtWidgets.QMessageBox.warning(self, "somafeedback", str(error))
            return None
        self.statusBar().showMessage("Report cancelled: nothing was written." if written is None
                                     else f"Progress report saved: {written}", 8000)
        return written

    def open_review(self) -> None:
        from .replay_window import ReplayWindow

        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open a session", str(self.settings.recordings),
                                                        "Sessions (*.session.sqlite)")
        if path:
            self._reviews = [*getattr(self, "_reviews", []), ReplayWindow(Path(path), self.library)]
            self._reviews[-1].show()

    def set_recording(self, on: bool) -> None:
        if on:
            client, practitioner = self.settings.names()
            manifest = {"client": client or None, "practitioner": practitioner or None, "mode": self.engine.options.mode,
                        "tags": [], "devices": []}
            self.engine.start_recording(self.settings.recordings, manifest)
        else:
            self.engine.stop_recording()

    # -- the frame --------------------------------------------------------------------------------
    def on_frame(self) -> None:
        for item in self.engine.drain():
            self._take(item)
        self.plots.redraw()
        if self.raw.isVisible():
            self.raw.redraw()
        self.status["elapsed"].setText(clock_text(self.engine.session_s()))


    def _take(self, item: object) -> None:
        if isinstance(item, StrapOutput):
            self._take_output(item.strap_id, item.output)
        elif isinstance(item, LinkEvent):
            self.devices.link(item)
            if item.strap_id == CLIENT_STRAP:
                attempt = f" (attempt {item.attempt})" if item.attempt else ""
                self.status["link"].setText(f"link: {item.state}{attempt}")
            self._log(item.host_ns, f"{item.strap_id} link {item.state}{' — ' + item.detail if item.detail else ''}")
        elif isinstance(item, StrapInfo):
            self.devices.info(item)
            if item.strap_id == CLIENT_STRAP:
                battery = f", battery {item.battery_percent} %" if item.battery_percent is not None else ""
                self.status["strap"].setText(f"{item.name}{battery}")
        elif isinstance(item, GapEvent):
            self._log(item.end_ns, f"{item.strap_id} gap: no data for {item.duration_s:.1f} s")
        elif isinstance(item, TimelineEvent):
            self._take_timeline(item)

    def _client_pacer(self) -> Pacer | None:
        """The pacer the client sees, if one runs."""
        if self.client is None or not self.client.pacer_visible():
            return None
        return self.client.pacer_widget().pacer()

    def _take_output(self, strap_id: str, output: object) -> None:
        if isinstance(output, RAW_OUTPUTS):
            if strap_id == CLIENT_STRAP:
                self.raw.add(output)
                if not self.raw.isVisible() and self.raw.has_data:
                    self.raw.setVisible(True)
            return
        if isinstance(output, BeatMetrics):
            v = output.time.validity
            self.devices.quality(strap_id, v.artifact_pct, v.valid)
            if strap_id != CLIENT_STRAP:
                return
            self.plots.add_metrics(output)
            self.latest = output
            self.status["quality"].setText(f"{v.artifact_pct:.0f} % beats rejected (60 s)" if v.n_beats else "—")
            if self.client is not None:
                self.client.update_numbers(output.time.hr_bpm, output.time.rmssd_ms, v.valid)
        elif isinstance(output, ContactChange):
            self.devices.contact(output)
            if strap_id == CLIENT_STRAP:
                self.status["contact"].setText({True: "skin contact", False: "NO skin contact",
                                                None: "contact n/a"}[output.contact])
        elif isinstance(output, MalformedPacket):
            self._log(output.host_ns, f"{strap_id}: skipped a malformed packet")

    def _take_timeline(self, event: TimelineEvent) -> None:
        data, stamp = event.data, event.host_ns  # on the engine's clock; the log shows it in session time
        if event.kind == "state":
            self.panel.show_state(str(data.get("state")), str(data.get("reason", "")))
            self._log(stamp, f"state: {data.get('state')}")
        elif event.kind == "baseline":
            thresholds = RegulationModel(baseline=Baseline(**data)).thresholds()
            self.plots.set_band(data["hr_ref"], thresholds["band_top_bpm"], thresholds["above_bpm"])
            self._log(stamp, f"baseline: HR {data['hr_ref']:.0f} bpm")
        elif event.kind == "cue":
            self._take_cue(event)
        elif event.kind in ("marker", "note"):
            self._log(stamp, f"{event.kind}: {data.get('label') or data.get('text')}")
        elif event.kind == "engine-error":
            self.banner_text.setText(str(data.get("text")))
            self.simulator_button.setVisible(self._use_simulator is not None)
            self.banner.setVisible(True)
        elif event.kind == "engine-warning":
            self._log(stamp, str(data.get("text")))
        elif event.kind == "lsl":
            on = bool(data.get("on"))
            self.lsl_action.blockSignals(True)
            self.lsl_action.setChecked(on)
            self.lsl_action.blockSignals(False)
            self.statusBar().showMessage(str(data.get("text") or ("Publishing Lab Streaming Layer streams"
                                                                   if on else "Lab Streaming Layer streams stopped")), 8000)
        elif event.kind == "recording":
            on = data.get("state") == "started"
            self.status["recording"].setText(f"recording: {Path(str(data.get('path'))).name}" if on else "not recording")
            self.record_action.blockSignals(True)
            self.record_action.setChecked(on)
            self.record_action.blockSignals(False)
            self._log(stamp, f"recording {data.get('state')}")
        elif event.kind == "scan":
            self.devices.show_scan(list(data.get("straps", [])))

    def _take_cue(self, event: TimelineEvent) -> None:
        data = event.data
        action = data.get("action")
        if action == "suggested":
            self.pending_cue = dict(data)
            self.panel.show_suggestion(str(data.get("text")))
        elif action in ("approved", "snoozed", "dismissed", "expired"):
            self.pending_cue = None
            self.panel.show_suggestion(None)
        elif action in ("delivered", "pushed") and self.client is not None:
            exercise = self.library.get(str(data.get("exercise")))
            if exercise is not None:
                self.client.show_exercise(exercise, self.engine.now_s())
            else:
                self.client.show_text(str(data.get("text")))
        what = f"{data.get('kind')} — {data.get('text')}" if action == "pushed" else data.get("kind")
        self._log(event.host_ns, f"cue {action}: {what}")

    def _log(self, host_ns: int, text: str) -> None:
        """A line on the live log, at its time on the session clock (``host_ns`` 0: now)."""
        t_s = self.engine.session_s(host_ns or None)
        self.timeline.insertItem(0, f"{clock_text(t_s)}  {text}")
        while self.timeline.count() > 200:
            self.timeline.takeItem(self.timeline.count() - 1)

    def _switch_to_simulator(self) -> None:
        self.banner.setVisible(False)
        if self._use_simulator is not None:
            self._use_simulator()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.frame_timer.stop()
        if self.client is not None:
            self.client.close()
        super().closeEvent(event)
