"""The practitioner's window: live plots, state, suggestions, markers, and the device status.

A frame timer (~30 fps) drains what the engine produced since the last frame and redraws
once; the engine's thread never touches a widget. Decisions and markers go back to the
engine (``Engine.approve``, ``Engine.add_event``), which records them on the timeline.

Markers, notes and cues are drawn on the heart-rate plot; Ctrl+Z (or the button) undoes the last
marker with an ``undo`` timeline event naming it (the session keeps the marker: it is a record),
its line leaves the plot and the log strikes it out. While the baseline is measured the side
panel shows "baseline 3:20 of 5:00" with Restart and Skip (skip: the client's stored baseline,
else a plain note why not). A new suggestion lights up and fades (the panel's injectable clock,
advanced by the frame timer), with an optional soft tone (Session menu, off by default);
"cues muted" and "snoozed until m:ss" show under it. Messages are plain words, never exception
names or terminal commands (:func:`plain_message`); a button does what a command would.

Safety (issue #14): the exercise box shows purpose, length, when to use, when to stop and the
cautions before a push (an exercise that turns toward difficult material needs a confirming
second click), a pending suggestion shows its exercise's cautions before Approve, a pushed
exercise can be paused, resumed, stepped and cleared (each recorded as a ``cue`` event:
``pushed-paused``, ``pushed-resumed``, ``pushed-step``, ``cleared``), and a baseline whose heart
rate was above the client's usual resting range offers "Re-baseline now".

When the practitioner's own strap streams (the strap panel's practitioner), a "Co-regulation" tab
(:mod:`.coregulation_panel`) shows both heart rates and how they moved together (the engine's
PairWindow items); the client view never shows it.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from PySide6 import QtCore, QtGui, QtWidgets

from somafeedback.devices.events import ContactChange, GapEvent, LinkEvent, MalformedPacket, StrapInfo, TimelineEvent
from somafeedback.live.engine import Engine, StrapOutput
from somafeedback.regulation.exercises import Exercise
from somafeedback.regulation.methods import rest_comparison_text
from somafeedback.regulation.pacer import Pacer
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.regulation.states import Baseline, RegulationModel
from somafeedback.sessions.segments import PHASES
from somafeedback.sessions.client_strap import CLIENT_STRAP
from somafeedback.synchrony.pair_window import PairWindow

from .chimes import Chimes
from .coregulation_panel import COREGULATION_TAB, CoregulationPanel
from .cue_panel import MARKERS, CuePanel, clock_mm_ss
from .device_panel import DevicePanel
from .live_plots import LivePlots
from .method_box import MethodBox
from .pendulation_view import PendulationView
from .raw_plots import RAW_OUTPUTS, RawPlots
from .remote_invite import COMPUTED_ON_CLIENT
from .resonance_settings import default_pacer
from .resonance_words import assessment_log_text
from .time_axis import clock_text  # the review window's mm:ss, so both show a time alike

if TYPE_CHECKING:
    from .settings import AppSettings

# the practitioner's controls of the client view -> the cue action recorded on the timeline
PUSHED_ACTIONS: Final = {"pause": "pushed-paused", "resume": "pushed-resumed", "back": "pushed-step",
                         "next": "pushed-step", "clear": "cleared"}
PUSHED_LOGGED: Final = frozenset(PUSHED_ACTIONS.values())

FRAME_MS = 30  # a little over 30 frames per second, so a late frame still keeps 30
SIDE_PANEL_WIDTH: Final = 470  # the side panel's width at the default size (it keeps at least its contents' width)
SUGGESTION_SOUND_KEY: Final = "sound/suggestions"  # settings: a soft tone with each new suggestion (off by default)
CLIENT_NUMBERS_KEY: Final = "client/numbers"
NO_BASELINE_TEXT: Final = ("No baseline stored for this client yet (it comes from an earlier recorded session with a "
                           "measured baseline), so the baseline keeps measuring.")
NO_CLIENT_TEXT: Final = ("Skipping needs the client's name (Session → Settings…) and an earlier recorded session; "
                         "the baseline keeps measuring.")
NO_STRAP_TEXT: Final = ("No heart-rate strap was found nearby. Check that it is worn with moist contacts and "
                        "switched on, or use the simulated strap to try the app.")
NO_BLUETOOTH_TEXT: Final = ("This computer has no usable Bluetooth adapter or Bluetooth service, so no strap can "
                            "connect. You can use the simulated strap to try the app.")
LSL_UNAVAILABLE_TEXT: Final = ("Lab Streaming Layer is not available on this computer (its library is not installed), "
                               "so nothing is published.")
PENDULATION_TAB: Final = "Pendulation swings"
MOVEMENT_BLOCK_CSE_ONLY_TEXT: Final = ("Movement blocks (B) are marked in Clinical Somatic Education sessions: "
                                       "choose CSE under Method first.")
ENGINE_STOPPED_TEXT: Final = "The connection to the straps stopped. The session view stays open; what was recorded is kept."
_EXCEPTION_PREFIX = re.compile(r"^\s*[A-Z]\w*(Error|Exception|Found|Unavailable|Warning|Exit)\b:?\s*")
_EXCEPTION_DETAIL = re.compile(r"\s*\((?:[\w.]+\.)?[A-Z]\w*(?:Error|Exception)\b[^)]*\)")
_COMMAND = re.compile(r"(\bsomafeedback [a-z-]+|\bpip install\b|\bsudo\b|\bapt(-get)? install\b|\s--[a-z])")


def plain_message(text: str) -> str:
    """A message for the window: no Python exception name, no terminal command (a button does that instead).

    Sentences naming a command are dropped; a leading ``SomethingError:`` is removed.
    """
    text = _EXCEPTION_DETAIL.sub("", _EXCEPTION_PREFIX.sub("", text.strip()))
    sentences = re.split(r"(?<=[.!?])\s+|\n+", text)
    kept = [part for part in sentences if part and not _COMMAND.search(part)]
    out = " ".join(kept).strip()
    if out and out[-1] not in ".!?":
        out += "."
    return out[:1].upper() + out[1:]


class PractitionerWindow(QtWidgets.QMainWindow):
    """The main window; ``engine`` runs the source, ``client`` is the client view (optional)."""

    def __init__(self, engine: Engine, exercises: dict[str, Exercise], client: Any = None,
                 use_simulator: Callable[[], None] | None = None, settings: AppSettings | None = None,
                 clock: Callable[[], float] | None = None, use_remote: Callable[..., None] | None = None) -> None:
        super().__init__()
        from .settings import AppSettings

        self.engine = engine
        self.exercises = exercises
        self.client = client
        self._use_simulator = use_simulator
        self._use_remote = use_remote  # swaps onto an engine whose source is a remote client (ui/remote_invite.py)
        self.settings = settings if settings is not None else AppSettings()
        self.setWindowTitle("somafeedback — practitioner")
        self.plots = LivePlots()
        self.panel = CuePanel(exercises, self.decide, self.push_exercise, self.mark, self.note,
                              on_undo=self.undo_marker, on_baseline=self.baseline_action, clock=clock)
        self.devices = DevicePanel(lambda: self.engine.scan(), lambda address, strap: self.engine.connect(address, strap),
                                   lambda strap: self.engine.disconnect(strap))
        self.panel.column.insertWidget(0, self.devices)
        self.method_box = MethodBox(getattr(engine.options, "method", "SE"), self.set_method)
        self.panel.column.insertWidget(1, self.method_box)
        self.movement_block_open = False  # a CSE movement block marked with B is open
        self.mirror = None
        self.push_controls = None
        if client is not None:  # what the client sees, with "Clear" and "Pacer only", under the exercises
            from .client_mirror import ClientMirror, PushControls

            self.mirror = ClientMirror(client, pacer_settings=lambda: default_pacer(self.settings, self._client_name()),
                                      on_action=self.pushed_control)  # the client's own rate when one is kept
            # Pause / Resume, Back a step, Next step for a pushed exercise, under the mirror
            self.push_controls = PushControls(client, on_action=self.pushed_control)
            at = self.panel.column.indexOf(self.panel.exercises_box) + 1  # under the exercises and their push button
            self.panel.column.insertWidget(at, self.mirror)
            self.panel.column.insertWidget(at + 1, self.push_controls)
            client.set_time_left_visible(self.settings.client_time_left)
        self.raw = RawPlots(pacer=self._client_pacer)
        self._pacer_key: object = None  # the engine, pacer and settings last handed to Engine.set_pacer
        self.raw.setVisible(False)  # until a strap streams raw ECG or chest motion
        plots = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self.pendulation = PendulationView()  # each swing above the usual range: peak and time back
        self.plot_tabs = QtWidgets.QTabWidget()
        self.plot_tabs.setDocumentMode(True)
        self.plot_tabs.addTab(self.plots, "Live")
        self.plot_tabs.addTab(self.pendulation, PENDULATION_TAB)
        self.coregulation = CoregulationPanel()  # a tab once the practitioner's own strap streams (never on the client view)
        plots.addWidget(self.plot_tabs)
        plots.addWidget(self.raw)
        plots.setStretchFactor(0, 3)
        plots.setStretchFactor(1, 1)
        self.plots_splitter = plots
        splitter = QtWidgets.QSplitter()
        splitter.addWidget(plots)
        side = QtWidgets.QScrollArea()
        side.setWidget(self.panel)
        side.setWidgetResizable(True)
        side.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # never narrower than what the panel needs (labels wrap, buttons stay whole), plus a scroll bar
        scroll_bar = side.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_ScrollBarExtent)
        side.setMinimumWidth(max(self.panel.minimumSizeHint().width(), 420) + scroll_bar + 2 * side.frameWidth())
        self.side = side
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setCollapsible(1, False)
        splitter.setSizes([1400 - SIDE_PANEL_WIDTH, SIDE_PANEL_WIDTH])
        self.splitter = splitter
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
        from .connection_help_panel import attach_practitioner

        self.connection_help = attach_practitioner(self, layout)  # "Try without a strap" stays the banner's
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
        self.snoozed_until_s: float | None = None  # session time the snooze ends
        self.state: str | None = None
        self.state_by_client = False  # the state shown is a remote client's own (computed on their computer)
        self.markers: list[dict[str, Any]] = []  # {"host_ns", "label", "item", "undone"}: markers this session
        self._span_start: dict[str, float] = {}  # per strap: first beat since the start or the last gap
        self.chimes = Chimes(report=lambda text: self.statusBar().showMessage(text, 8000), parent=self)
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

    def set_method(self, method: str) -> None:
        """The method chosen in the side panel: the session follows it, and it becomes the client's default."""
        self.engine.set_method(method)
        client = (getattr(self.engine.options, "manifest", {}) or {}).get("client") or self.settings.names()[0]
        if client:
            self.settings.set_method(str(client), method)

    def toggle_movement_block(self) -> None:
        """B: start or end a movement block (CSE); in other methods say where it belongs."""
        if self.method_box.method != "CSE":
            self.statusBar().showMessage(MOVEMENT_BLOCK_CSE_ONLY_TEXT, 8000)
            return
        self.engine.movement_block(not self.movement_block_open)

    def mark_phase(self, phase: str) -> None:
        """The session's ``phase`` (baseline, practice, recovery) starts now: a ``phase`` event, which
        the review's segments and the report's per-phase table read (Ctrl+1/2/3, Session → Phase)."""
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}")
        self.engine.add_event("phase", phase=phase)

    def undo_marker(self) -> None:
        """Undo the last marker: an ``undo`` event on the timeline that names it (a session is a record: nothing
        is deleted); its line leaves the plots and the log strikes it out when the event comes back."""
        marker = next((m for m in reversed(self.markers) if not m["undone"] and not m["undoing"]), None)
        if marker is None:
            self.statusBar().showMessage("No marker to undo.", 5000)
            return
        marker["undoing"] = True
        self.engine.add_event("undo", of="marker", host_ns=marker["host_ns"], label=marker["label"])
        self._update_undo()

    def _update_undo(self) -> None:
        self.panel.marker_undoable(any(not m["undone"] and not m["undoing"] for m in self.markers))

    def baseline_action(self, action: str) -> None:
        """"restart": measure the baseline again; "skip": use the client's stored baseline, if there is one."""
        if action == "restart":
            self.panel.show_baseline_message("")
            self.panel.show_above_usual_range(False)  # the new baseline will say again
            self.engine.restart_baseline()
            return
        stored = self.stored_baseline()
        if isinstance(stored, str):
            self.panel.show_baseline_message(stored)
            return
        self.panel.show_baseline_message("")
        self.engine.skip_baseline(stored)

    def _client_name(self) -> str:
        return str((getattr(self.engine.options, "manifest", {}) or {}).get("client") or self.settings.names()[0] or "")

    def stored_baseline(self) -> Baseline | str:
        """The client's stored baseline (rolling median of earlier sessions), or why there is none."""
        from somafeedback.regulation.usual_range import usual_range

        manifest = getattr(self.engine.options, "manifest", {}) or {}
        client = manifest.get("client") or self.settings.names()[0]
        if not client:
            return NO_CLIENT_TEXT
        usual = usual_range(self.engine.options.record_to or self.settings.recordings, str(client))
        return NO_BASELINE_TEXT if usual is None else usual

    def note(self, text: str) -> None:
        self.engine.add_event("note", text=text)

    def push_exercise(self, exercise: Exercise) -> None:
        """The practitioner's own choice of exercise, to the client view (via the engine's timeline, so it is recorded)."""
        self.engine.add_event("cue", action="pushed", cue_id=None, kind="manual", exercise=exercise.id, text=exercise.title)

    def pushed_control(self, action: str) -> None:
        """Record what the practitioner did to the client view ("pause", "resume", "back", "next", "clear").

        The buttons change the client view themselves (at once, engine or not); this puts a
        ``cue`` event on the timeline: ``pushed-paused``, ``pushed-resumed``, ``pushed-step``
        or ``cleared``, with the step (1-based) and the exercise shown.
        """
        recorded = PUSHED_ACTIONS.get(action)
        if recorded is None:
            raise ValueError(f"unknown client view action {action!r}")
        if self.client is None:
            return
        state = self.client.view_state()
        self.engine.add_event("cue", action=recorded, cue_id=state.step_number, kind="manual",
                              exercise=state.exercise_id, text=state.text)

    def show_problem(self, message: str) -> None:
        """A plain-language message about an error in one of the window's handlers (non-blocking banner)."""
        self.problem_text.setText(message)
        self.problem.setVisible(True)

    def toggle_mute(self) -> None:
        self.muted = not self.muted
        self.mark("mute" if self.muted else "unmute")
        self._show_cue_status()

    def _show_cue_status(self) -> None:
        parts = []
        if self.muted:
            parts.append("cues muted (M to unmute)")
        if self.snoozed_until_s is not None:
            if self.engine.session_s() < self.snoozed_until_s:
                parts.append(f"snoozed until {clock_mm_ss(self.snoozed_until_s)}")
            else:
                self.snoozed_until_s = None
        self.panel.show_cue_status(" · ".join(parts))

    def _install_shortcuts(self) -> None:
        def bind(key: str, action: Callable[[], None]) -> None:
            shortcut = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            shortcut.activated.connect(action)

        for key, label, _ in MARKERS:
            bind(key, functools.partial(self.mark, label))
        bind("N", self.panel.note.setFocus)
        bind("Space", lambda: self.decide("approve"))
        bind("S", lambda: self.decide("snooze"))
        bind("Escape", lambda: self.decide("dismiss"))
        bind("M", self.toggle_mute)
        bind("B", self.toggle_movement_block)
        bind("Ctrl+Z", self.undo_marker)
        for number, phase in enumerate(PHASES, start=1):
            bind(f"Ctrl+{number}", functools.partial(self.mark_phase, phase))
        if self.client is not None:
            bind("F11", self.client.toggle_full_screen)

    def _install_menus(self) -> None:
        from .settings import SettingsDialog, show_shortcuts

        session = self.menuBar().addMenu("&Session")
        self.record_action = session.addAction("Record this session")
        self.record_action.setCheckable(True)
        self.record_action.toggled.connect(self.set_recording)
        self.lsl_action = session.addAction("Publish Lab Streaming Layer streams")
        self.lsl_action.setCheckable(True)
        self.lsl_action.setToolTip("HR, RR, ECG, chest motion, metrics and markers as LSL streams on the local "
                                   "network, for research recording (off: nothing listens on the network)")
        self.lsl_action.toggled.connect(lambda on: self.engine.set_lsl(on))
        from .remote_invite import RemoteSession

        session.addSeparator()
        self.remote = RemoteSession(self, session, self._use_remote)
        session.addSeparator()
        phases = session.addMenu("Phase starts now")
        for number, phase in enumerate(PHASES, start=1):
            phases.addAction(f"{phase.capitalize()} (Ctrl+{number})", functools.partial(self.mark_phase, phase))
        from .resonance_session import AssessmentSession

        self.assessment = AssessmentSession(self, session)  # "Assess breathing rate…" and its step view (#19)
        session.addAction("Open a session for review…", self.open_review)
        for fmt, label in (("html", "HTML"), ("pdf", "PDF")):
            session.addAction(f"A client's progress over the weeks ({label})…",
                              functools.partial(self.choose_progress_report, fmt))
        self.sound_action = session.addAction("Soft sound with each new suggestion")
        self.sound_action.setCheckable(True)
        self.sound_action.setChecked(self.settings.suggestion_sound)
        self.sound_action.toggled.connect(self.set_suggestion_sound)
        session.addAction("Settings…", lambda: SettingsDialog(self.settings, self).exec())
        session.addSeparator()
        session.addAction("Quit", self.close)
        view = self.menuBar().addMenu("&View")
        if self.client is not None:
            view.addAction("Client view full screen (F11)", self.client.toggle_full_screen)
            numbers = view.addAction("Show numbers on the client view")
            numbers.setCheckable(True)
            numbers.setChecked(self.settings.client_numbers)
            numbers.toggled.connect(self.set_client_numbers)
            self.numbers_action = numbers
            self.client.set_numbers_visible(self.settings.client_numbers)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction("Keyboard shortcuts", lambda: show_shortcuts(self))
        from .welcome import add_help_action

        add_help_action(help_menu, self, self.settings, self._switch_to_simulator if self._use_simulator else None,
                        self.connection_help.use_strap)

    def set_client_numbers(self, on: bool) -> None:
        """View → numbers on the client view; kept in the settings for the next session."""
        if self.client is not None:
            self.client.set_numbers_visible(on)
        self.settings.set(CLIENT_NUMBERS_KEY, bool(on))

    def set_suggestion_sound(self, on: bool) -> None:
        """A soft tone with each new suggestion (off by default); kept in the settings."""
        self.settings.set(SUGGESTION_SOUND_KEY, bool(on))
        self.chimes.set_enabled(on)  # without sound here: a one-time plain note in the status bar

    def choose_progress_report(self, fmt: str) -> None:
        client, ok = QtWidgets.QInputDialog.getText(self, "Progress report", "Client (pseudonym as recorded):")
        if ok and client.strip():
            self.progress_report(client.strip(), fmt, self.settings.recordings)

    def progress_report(self, client: str, fmt: str, out: Path) -> Path | None:
        """A client's weekly progress report, built with a progress dialog; its path, or None."""
        from somafeedback.interop.export import ExportError
        from somafeedback.reports.common import ReportError
        from somafeedback.reports.progress_content import progress_content

        from .progress_dialog import run_with_progress
        from .report.render import write_progress_report

        try:
            content = run_with_progress(self, f"Reading {client}'s sessions…",
                                        lambda progress: progress_content(self.settings.recordings, client, progress))
            written = None if content is None else write_progress_report(content, fmt, out)
        except (ReportError, ExportError) as error:
            QtWidgets.QMessageBox.warning(self, "somafeedback", plain_message(str(error)))
            return None
        self.statusBar().showMessage("Report cancelled: nothing was written." if written is None
                                     else f"Progress report saved: {written}", 8000)
        return written

    def open_review(self) -> None:
        from .replay_window import ReplayWindow

        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open a session", str(self.settings.recordings),
                                                        "Sessions (*.session.sqlite)")
        if path:
            self._reviews = [*getattr(self, "_reviews", []), ReplayWindow(Path(path), self.exercises)]
            self._reviews[-1].show()

    def set_recording(self, on: bool) -> None:
        if on:
            client, practitioner = self.settings.names()
            manifest: dict[str, Any] = {"client": client or None, "practitioner": practitioner or None,
                                        "mode": self.engine.options.mode, "tags": [], "devices": []}
            self.engine.start_recording(self.settings.recordings, manifest)
        else:
            self.engine.stop_recording()

    # -- the frame --------------------------------------------------------------------------------
    def on_frame(self) -> None:
        pacer = self._client_pacer()  # the engine measures how the breathing follows the pacer the client sees
        pacer_key = (id(self.engine), id(pacer), pacer.changes if pacer is not None else None)
        if pacer_key != self._pacer_key and not self.assessment.running:  # an assessment's run owns the pacer
            self._pacer_key = pacer_key
            self.engine.set_pacer(pacer)
        for item in self.engine.drain():
            self._take(item)
        self.assessment.tick()
        self.plots.redraw()
        if self.plot_tabs.currentWidget() is self.coregulation:
            self.coregulation.redraw()
        if self.raw.isVisible():
            self.raw.redraw()
        self.status["elapsed"].setText(clock_text(self.engine.session_s()))
        self.panel.tick()
        if self.state_by_client:  # a remote client's own state (state, metrics): this side measures no baseline
            self.panel.show_baseline(None)
        elif self.state == "calibrating" or (self.state in ("signal lost", "re-checking", "moving", "paused") and self._measuring()):
            self.panel.show_baseline(self.engine.baseline_progress())
        else:
            self.panel.show_baseline(None)
        if self.snoozed_until_s is not None:
            self._show_cue_status()

    def _measuring(self) -> bool:
        return self.engine.baseline_progress() is not None

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
        elif isinstance(item, PairWindow):  # the engine's synchrony of the practitioner and one other person
            self._show_coregulation()
            self.coregulation.take(item)
        self.connection_help.take(item)  # a connection problem: what was seen and the next steps, under the banner

    def _show_coregulation(self) -> None:
        """The co-regulation tab, added once a second strap streams as the practitioner's."""
        if self.plot_tabs.indexOf(self.coregulation) < 0:
            self.plot_tabs.addTab(self.coregulation, COREGULATION_TAB)

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
                    total = sum(self.plots_splitter.sizes())
                    self.plots_splitter.setSizes([round(total * 0.7), total - round(total * 0.7)])  # trends first
            return
        if isinstance(output, BeatMetrics):
            v = output.time.validity
            if output.rr_ms is None:
                self._span_start.pop(strap_id, None)  # a gap: the windows refill from the next beat
            else:
                self._span_start.setdefault(strap_id, output.t_s)
            start = self._span_start.get(strap_id)
            self.devices.quality(strap_id, v, None if start is None else output.t_s - start)
            self.coregulation.take_metrics(strap_id, output)
            if strap_id == self.coregulation.practitioner and output.rr_ms is not None:
                self._show_coregulation()
            if strap_id != CLIENT_STRAP:
                return
            self.assessment.take_beat(output)  # the assessment's per-step heart-rate curves (#19)
            self.plots.add_metrics(output)
            self.pendulation.take_metrics(output)
            self._show_swing_count()
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
        self.pendulation.take_event(event)  # baselines set the usual range the swings are measured against
        if self.assessment.take(event) and assessment_log_text(data, event.kind):
            self._log(stamp, assessment_log_text(data, event.kind))
        if event.kind == "state":
            self.state = str(data.get("state"))
            reason = str(data.get("reason", ""))
            self.state_by_client = data.get("computed_by") == "client"
            if self.state_by_client:  # a remote client sharing at state or metrics
                reason = f"{reason} ({COMPUTED_ON_CLIENT})" if reason else COMPUTED_ON_CLIENT
            self.panel.show_state(self.state, reason)
            self._log(stamp, f"state: {data.get('state')}")
        elif event.kind == "baseline":
            self._show_band(data)
            self.panel.show_above_usual_range(bool(data.get("above_usual_range")))
            self._log(stamp, f"baseline: HR {data['hr_ref']:.0f} bpm")
        elif event.kind == "calibration":
            if data.get("action") == "skipped" and isinstance(data.get("baseline"), dict):
                self._show_band(data["baseline"])
                self.panel.show_above_usual_range(False)  # judged against the client's stored range now
                hr_ref = data["baseline"]["hr_ref"]
                self._log(stamp, f"baseline skipped: usual range from earlier sessions (HR {hr_ref:.0f} bpm)")
            else:
                self._log(stamp, "baseline: measuring again")
        elif event.kind == "cue":
            self._take_cue(event)
        elif event.kind == "marker":
            self._take_marker(event)
        elif event.kind == "note":
            text = str(data.get("text"))
            self._log(stamp, f"note: {text}")
            self.plots.add_mark(("note", stamp), stamp / 1e9, "note", text)
        elif event.kind == "phase":
            self._log(stamp, f"phase: {data.get('phase')} starts")
            self.plots.add_mark(("phase", stamp), stamp / 1e9, "phase", f"{data.get('phase')} starts")
        elif event.kind == "undo":
            self._take_undo(event)
        elif event.kind == "engine-error":
            self.banner_text.setText(self._engine_error_text(str(data.get("text"))))
            self.simulator_button.setVisible(self._use_simulator is not None)
            self.banner.setVisible(True)
        elif event.kind == "engine-warning":
            text = str(data.get("text"))
            self._log(stamp, NO_BLUETOOTH_TEXT if "Bluetooth adapter" in text else plain_message(text))
        elif event.kind == "lsl":
            on = bool(data.get("on"))
            self.lsl_action.blockSignals(True)
            self.lsl_action.setChecked(on)
            self.lsl_action.blockSignals(False)
            text = str(data.get("text") or "")
            if "unavailable" in text:
                text = LSL_UNAVAILABLE_TEXT
            self.statusBar().showMessage(text or ("Publishing Lab Streaming Layer streams"
                                                  if on else "Lab Streaming Layer streams stopped"), 8000)
        elif event.kind == "recording":
            on = data.get("state") == "started"
            self.status["recording"].setText(f"recording: {Path(str(data.get('path'))).name}" if on else "not recording")
            self.record_action.blockSignals(True)
            self.record_action.setChecked(on)
            self.record_action.blockSignals(False)
            self._log(stamp, f"recording {data.get('state')}")
            if data.get("state") == "failed":  # a full disk or a removed stick: the session goes on unrecorded
                self.statusBar().showMessage(str(data.get("text")))
                self._log(stamp, str(data.get("text")))
        elif event.kind == "scan":
            self.devices.show_scan(list(data.get("straps", [])))
            self.remote.found(list(data.get("straps", [])))
        elif event.kind == "method":
            self.method_box.show_method(str(data.get("method")))
            self._log(stamp, f"method: {data.get('title')}")
        elif event.kind == "movement":
            self.movement_block_open = data.get("action") == "start" and data.get("source") == "practitioner"
            text = f"movement block {'starts' if data.get('action') == 'start' else 'ends'} ({data.get('source')})"
            self._log(stamp, text)
            self.plots.add_mark(("movement", stamp), stamp / 1e9, "phase", text)
        elif event.kind == "rest-comparison":
            self._log(stamp, rest_comparison_text(data))
        elif event.kind.startswith("remote-"):
            self.remote.take(event)

    def _show_swing_count(self) -> None:
        count = len(self.pendulation.swings)
        label = f"{PENDULATION_TAB} ({count})" if count else PENDULATION_TAB
        if self.plot_tabs.tabText(1) != label:
            self.plot_tabs.setTabText(1, label)

    def _show_band(self, data: Mapping[str, Any]) -> None:
        if isinstance(data.get("usual"), dict):  # today's start was above the usual range: judged against that
            data = data["usual"]
        thresholds = RegulationModel(baseline=Baseline.from_dict(data)).thresholds()  # the event carries more keys
        self.plots.set_band(data["hr_ref"], thresholds["band_top_bpm"], thresholds["above_bpm"])

    def _engine_error_text(self, text: str) -> str:
        """What stopped the engine, in plain words, without exception names or commands."""
        from somafeedback.live.sources import NoStrapFound

        if "Bluetooth adapter" in text:
            return NO_BLUETOOTH_TEXT
        if isinstance(self.engine.error, NoStrapFound) or "No heart-rate strap found" in text:
            return NO_STRAP_TEXT
        return plain_message(text) or ENGINE_STOPPED_TEXT

    def _take_marker(self, event: TimelineEvent) -> None:
        label = str(event.data.get("label"))
        if event.data.get("by") == "client":  # a remote client's own marker: shown and drawn, not the practitioner's to undo
            self._log(event.host_ns, f"the client says: {label}")
            self.plots.add_mark(("marker", event.host_ns), event.host_ns / 1e9, "marker", f"client: {label}")
            return
        item = self._log(event.host_ns, f"marker: {label}")
        if label in ("mute", "unmute"):
            return  # cue switches, not moments of the session: not undoable, not drawn
        self.markers.append({"host_ns": event.host_ns, "label": label, "item": item, "undone": False, "undoing": False})
        self.plots.add_mark(("marker", event.host_ns), event.host_ns / 1e9, "marker", label)
        self._update_undo()

    def _take_undo(self, event: TimelineEvent) -> None:
        data = event.data
        if data.get("of") != "marker":
            return
        marker = next((m for m in self.markers if m["host_ns"] == data.get("host_ns")), None)
        if marker is not None:
            marker["undone"], marker["undoing"] = True, False
            self.plots.remove_mark(("marker", marker["host_ns"]))
            item: QtWidgets.QListWidgetItem = marker["item"]
            if self.timeline.row(item) >= 0:
                font = item.font()
                font.setStrikeOut(True)
                item.setFont(font)
                item.setForeground(QtGui.QColor("#888888"))
                item.setText(item.text() + "  (undone)")
        self._log(event.host_ns, f"undo: marker {data.get('label')}")
        self._update_undo()

    def _take_cue(self, event: TimelineEvent) -> None:
        data = event.data
        action = data.get("action")
        if action == "suggested":
            self.pending_cue = dict(data)
            self.panel.show_suggestion(str(data.get("text")), self.exercises.get(str(data.get("exercise"))))
            self.plots.add_mark(("cue", data.get("cue_id"), event.host_ns), event.host_ns / 1e9, "cue",
                                f"cue: {data.get('kind')}")
            if self.sound_action.isChecked():
                self.chimes.set_enabled(True)
                self.chimes.play("step")
        elif action in ("approved", "snoozed", "dismissed", "expired", "withdrawn"):
            self.pending_cue = None
            self.panel.show_suggestion(None)
            if action == "snoozed":
                snooze_s = getattr(getattr(self.engine.options, "cues", None), "snooze_s", 300.0)
                self.snoozed_until_s = self.engine.session_s(event.host_ns or None) + snooze_s
                self._show_cue_status()
        if action == "pushed":
            self.plots.add_mark(("cue", "pushed", event.host_ns), event.host_ns / 1e9, "cue", f"pushed: {data.get('text')}")
        if action in ("delivered", "pushed") and self.client is not None:
            exercise = self.exercises.get(str(data.get("exercise")))
            if exercise is not None:
                self.client.show_exercise(exercise, self.engine.now_s())
                if self.method_box.method == "Focusing":  # untimed: each step waits for Next (or the client's pace)
                    self.client.pause_exercise()
            else:
                self.client.show_text(str(data.get("text")))
        if action in PUSHED_LOGGED:
            step = f" step {data.get('cue_id')}" if data.get("cue_id") is not None else ""
            what = f"{data.get('exercise') or 'client view'}{step}"
        else:
            what = f"{data.get('kind')} — {data.get('text')}" if action == "pushed" else str(data.get("kind"))
        self._log(event.host_ns, f"cue {action}: {what}")

    def _log(self, host_ns: int, text: str) -> QtWidgets.QListWidgetItem:
        """A line on the live log, at its time on the session clock (``host_ns`` 0: now)."""
        t_s = self.engine.session_s(host_ns or None)
        item = QtWidgets.QListWidgetItem(f"{clock_text(t_s)}  {text}")
        self.timeline.insertItem(0, item)
        while self.timeline.count() > 200:
            self.timeline.takeItem(self.timeline.count() - 1)
        return item

    def _switch_to_simulator(self) -> None:
        self.banner.setVisible(False)
        if self._use_simulator is not None:
            self._use_simulator()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.frame_timer.stop()
        self.remote.close()
        if self.client is not None:
            self.client.close()
        super().closeEvent(event)
