"""The review window: replay a recorded session, see all of it at once, compare segments, add review notes.

Layout (top to bottom):

* the **transport** bar: play/pause, the speed (1×, 2×, 10×, as fast as possible), a seek
  slider in session seconds and the position ``mm:ss / mm:ss``;
* the **timeline strip** across the session (:class:`~.timeline_strip.TimelineStrip`): the
  state ribbon (colour *and* height: the higher the bar, the more activated), gaps (grey),
  markers (▼), notes (■), review notes (★), cue events (◆) and the position line; a click goes
  there and pauses;
* the **whole session** (:class:`~.review_plots.SessionPlots`): heart rate, RMSSD and breathing
  rate over the entire recording, computed once from the recorded beats and never cleared by
  a seek, with a cursor at the position; wheel zoom and drag pan along time (the strip
  follows), "Whole session" zooms out; a click goes there and pauses. Segments A and B are
  regions on it (dragged, or set to a phase: baseline / practice / recovery);
* below, in tabs: **Segments A / B** (:class:`~.review_segments.SegmentReview`: the
  statistics table side by side, the Poincaré plot with SD1/SD2, the power spectrum with the
  LF/HF bands), **Replay as seen live** (the same :class:`~.live_plots.LivePlots` as live,
  the last 10 minutes, refilled from the position after every seek) and **Pendulation**
  (:class:`~.pendulation_view.PendulationView`: each swing above the usual heart-rate range with
  its peak and recovery time, from :mod:`somafeedback.regulation.pendulation`; a double-click goes to its start);
  and **Relationship** when the practitioner's strap was recorded beside the client's
  (:mod:`.relationship_timeline`: synchrony, lag and the marks on one axis, computed on a worker thread);
  and **Breathing rate** when the session holds a breathing-rate assessment
  (:class:`~.resonance_results.ResonanceResultsView`: the recorded result, read once from the file when the
  window opens, with each step's heart rate from the recorded beats; a recording that ended before the
  assessment finished shows the steps done and says so). The tab shows the recorded result at once rather
  than when the replay reaches the ``resonance`` event: a review looks at the whole session (as the
  pendulation tab does), a seek back would otherwise have to hide it again, and the replay re-emits the
  same recorded events, so nothing in the tab could change by waiting;
* beside them the **event list** (:mod:`.review_events`; double-click seeks), the **review
  note** field (saved at the position) and the **phase** marker (a phase starts at the
  position; saved as a review note carrying the phase,
  somafeedback.sessions.review_notes.add_phase_mark).

Review notes go into the session file only when it is the user's own session in their
library folder (the settings' recordings folder) and writable. Any other recording (the
sample shipped with the app, a read-only file, one from elsewhere) is kept as it is: the
first note makes a copy of it in the library and the notes go there, and the window says
so beside the note field (somafeedback.sessions.review_notes). The Report and Export menus
(:class:`~.review_outputs.ReviewOutputs`) start their folder dialogs in the library folder.

The replay runs in an :class:`~somafeedback.live.engine.Engine` on its own thread, exactly as a
live session: a ~30 fps frame timer drains it into the plots, and every transport command
goes to the replay through ``Engine.call`` (never touched from this thread). When the
replay reaches the end the engine finishes; play or a seek then starts a fresh engine on
the same file.

The strip and the list show what the file recorded (read once when the window opens);
for a session recorded without states (imported or recorded-only sessions) the states and
the baseline are re-analysed from the recorded beats on a background thread
(:func:`~somafeedback.live.reanalysis.reanalyze_states`) and labelled "re-analysed".

Shortcuts: Space play/pause · ←/→ 5 s · Shift+←/→ 30 s · N review note.

Thread: the Qt GUI thread (the engine and the re-analysis run on their own threads; the whole-session
trends are computed once, on the GUI thread, when the window opens).
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from somafeedback.devices.events import GapEvent, Notification, TimelineEvent
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.live.engine import Engine, EngineOptions, EngineSource
from somafeedback.live.reanalysis import reanalyze_states
from somafeedback.reports.relationship import dyad_straps
from somafeedback.reports.resonance import session_resonance
from somafeedback.regulation.exercises import Exercise
from somafeedback.regulation.pendulation import Swing, bands_of, series_swings, session_bands
from somafeedback.regulation.states import band_of
from somafeedback.sessions.file import SessionFileError, read_session
from somafeedback.sessions.review_notes import (
    add_phase_mark,
    add_review_note,
    copy_for_review,
    find_review_copy,
    notes_in_place,
    stored_review_notes,
)
from somafeedback.sessions.segments import PHASES, Segment, session_beat_series, session_phases, session_trends
from somafeedback.sessions.client_strap import CLIENT_STRAP

from .live_plots import LivePlots, Series
from .pendulation_view import PendulationView
from .raw_plots import RAW_OUTPUTS, RawPlots
from .relationship_timeline import RELATIONSHIP_TAB, RelationshipTab
from .resonance_results import RESONANCE_TAB, ResonanceResultsView
from .review_events import SESSION_ENDED, Entry, entries_of, last_data_ns, timeline_entry
from .review_outputs import ReviewOutputs
from .review_plots import SessionPlots
from .review_segments import SegmentReview
from .settings import AppSettings
from .time_axis import clock_text
from .timeline_strip import STATE_STYLE, STRIP_ROWS, TimelineStrip

FRAME_MS = 33  # ~30 frames per second
SPEEDS: tuple[tuple[str, float], ...] = (("1×", 1.0), ("2×", 2.0), ("10×", 10.0), ("as fast as possible", math.inf))
STEP_S, BIG_STEP_S = 5.0, 30.0  # s: the arrow keys' steps (plain, with Shift)


class Reanalysis(threading.Thread):
    """:func:`~somafeedback.live.reanalysis.reanalyze_states` on a thread of its own; ``result`` is set when done."""

    def __init__(self, timeline: Sequence[Any], exercises: dict[str, Exercise]) -> None:
        super().__init__(name="somafeedback review analysis", daemon=True)
        self.timeline = timeline
        self.exercises = exercises
        self.cancelled = False  # set from the GUI thread: the work stops at the next item, result stays None
        self.result: list[TimelineEvent] | None = None

    def run(self) -> None:
        self.result = reanalyze_states(self.timeline, self.exercises, lambda: self.cancelled)


class ReplayWindow(QtWidgets.QMainWindow):
    """Review one recorded session. Raises SessionFileError when the file cannot be read."""

    def __init__(self, path: Path, exercises: dict[str, Exercise], parent: QtWidgets.QWidget | None = None,
                 recordings: Path | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.exercises = exercises
        self.session = read_session(self.path)
        # the user's library folder (the settings' recordings folder unless given): where notes may go
        self.recordings = Path(recordings) if recordings is not None else AppSettings().recordings
        self.notes_path: Path | None = self._notes_target()  # where review notes go; None: a copy, at the first note
        method = next((e.data.get("method") for e in self.session.events
                       if isinstance(e, TimelineEvent) and e.kind == "method"), None) or self.session.manifest.get("method")
        self.method = str(method) if method else None  # SE | Focusing | CSE, when the session recorded one
        self.setWindowTitle(f"somafeedback — review: {self.path.name}" + (f" · {self.method}" if self.method else ""))
        timeline = self.session.timeline
        stamps = [item.end_ns if isinstance(item, GapEvent) else item.host_ns for item in timeline]
        started = self.session.manifest.get("started_host_ns")
        ended = self.session.manifest.get("ended_host_ns")
        self.origin_ns = min([*stamps, *([started] if isinstance(started, int) else [])], default=0)
        session_origin = self.session.manifest.get("session_origin_host_ns")  # the live session's 00:00, when recorded
        if isinstance(session_origin, int) and not isinstance(session_origin, bool) and session_origin <= self.origin_ns:
            self.origin_ns = session_origin  # times read as they did live (a recording started late begins past 00:00)
        self.end_ns = max([*stamps, *([ended] if isinstance(ended, int) else []), self.origin_ns])
        self.duration_s = (self.end_ns - self.origin_ns) / 1e9
        self._speed = 1.0
        self._paused = False
        self._position_ns = self.origin_ns
        self._pending_seek: int | None = None  # the last seek asked for, until the replay has done them all
        self._held_ns: int | None = None  # paused after a seek: the moment chosen (the replay waits at the next item)
        self._seeks_in_flight = 0
        self._band: tuple[float, float, float] | None = None
        self._ended_ns = last_data_ns(self.session)
        self._entries = entries_of(self.session)
        # what the phases come from: the recorded events, then the review notes (phase marks among them)
        self._phase_events: list[TimelineEvent] = [e for e in self.session.events if isinstance(e, TimelineEvent)]
        if self.notes_path is not None and self.notes_path != self.path:  # notes already in the library's copy
            try:
                stored = stored_review_notes(self.notes_path)
                self._entries += [entry for note in stored if (entry := timeline_entry(note)) is not None]
                self._phase_events += stored
            except SessionFileError:
                self.notes_path = None  # that copy cannot be read: the first note makes a new one
        # the whole session, computed once from the recorded beats (never cleared by a seek)
        self.beats = session_beat_series(timeline, self.origin_ns, CLIENT_STRAP)
        self.trends = session_trends(self.beats)
        self._reanalyzed: list[Entry] = []
        self._reanalysis: Reanalysis | None = None
        self._build()
        self._install_shortcuts()
        self.outputs = ReviewOutputs(self, self.session, self.path, self._report_source, self.recordings,
                                     AppSettings().frequency_conventions)
        self.outputs.add_menus()
        for problem in self.session.problems:
            self.statusBar().showMessage(f"Parts of this session could not be read: {problem}")
        baseline = next((e.data for e in self._entries if e.kind == "baseline"), None) or self.session.manifest.get("baseline")
        if isinstance(baseline, dict):
            self._set_band(band_of(baseline))
        if not any(e.kind == "state" for e in self._entries):
            self._reanalysis = Reanalysis(timeline, exercises)
            self._reanalysis.start()
        self._refresh_events()
        self._refresh_phases()
        self.engine = self._new_engine()
        self.frame_timer = QtCore.QTimer(self)
        self.frame_timer.setInterval(FRAME_MS)
        self.frame_timer.timeout.connect(self.on_frame)
        self.frame_timer.start()
        self.resize(1400, 950)

    # -- reports and exports (ReviewOutputs: the menus, their dialogs) ------------------------------
    def report(self, fmt: str, folder: Path, deidentify: bool = False, audience: str = "practitioner") -> Path | None:
        """A session report with a progress dialog (:meth:`.ReviewOutputs.report`); its path, or None."""
        return self.outputs.report(fmt, folder, deidentify, audience)

    def export(self, fmt: str, folder: Path, deidentify: bool = False) -> list[Path] | None:
        """Export the session with a progress dialog (:meth:`.ReviewOutputs.export`); the files written, or None."""
        return self.outputs.export(fmt, folder, deidentify)

    def _report_source(self) -> Path:
        """The file a report reads: the copy holding the review notes when there is one, else the session."""
        return self.notes_path if self.notes_path is not None and self.notes_path.exists() else self.path

    # -- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        central = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(central)
        transport = QtWidgets.QHBoxLayout()
        self.play_button = QtWidgets.QPushButton("Pause (Space)")
        self.play_button.setMinimumWidth(120)
        self.play_button.clicked.connect(self.toggle_play)
        transport.addWidget(self.play_button)
        transport.addWidget(QtWidgets.QLabel("Speed"))
        self.speed_box = QtWidgets.QComboBox()
        for text, value in SPEEDS:
            self.speed_box.addItem(text, value)
        self.speed_box.currentIndexChanged.connect(lambda i: self.set_speed(float(self.speed_box.itemData(i))))
        transport.addWidget(self.speed_box)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, max(1, math.ceil(self.duration_s)))
        self.slider.setSingleStep(int(STEP_S))
        self.slider.setPageStep(int(BIG_STEP_S))
        self.slider.setToolTip("Drag to go to a moment of the session (seconds)")
        self.slider.valueChanged.connect(self._slider_moved)
        self.slider.sliderReleased.connect(lambda: self.seek_s(float(self.slider.value())))
        transport.addWidget(self.slider, 1)
        self.time_label = QtWidgets.QLabel()
        self.time_label.setMinimumWidth(120)
        transport.addWidget(self.time_label)
        layout.addLayout(transport)

        self.strip = TimelineStrip(self.duration_s, self.seek_and_pause)
        layout.addWidget(self.strip)
        legend = QtWidgets.QLabel(
            "States: " + " · ".join(f'<span style="color: rgb{colour}">■</span> {name.split(" —")[0]}'
                                    for name, (colour, _) in STATE_STYLE.items())
            + " &nbsp; Marks: ▼ marker ◆ cue ■ note ★ review note · grey: gap")
        legend.setStyleSheet("color: #555;")
        layout.addWidget(legend)

        splitter = QtWidgets.QSplitter()
        left = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        whole = QtWidgets.QWidget()  # the whole session, always in view
        whole_layout = QtWidgets.QVBoxLayout(whole)
        whole_layout.setContentsMargins(0, 0, 0, 0)
        whole_bar = QtWidgets.QHBoxLayout()
        self.whole_button = QtWidgets.QPushButton("Whole session")
        self.whole_button.setToolTip("Zoom out to the whole session")
        whole_bar.addWidget(self.whole_button)
        hint = QtWidgets.QLabel("Wheel: zoom · drag: move along · click: go there (pauses) · "
                                "drag the edges of A / B to choose a segment")
        hint.setStyleSheet("color: #555;")
        whole_bar.addWidget(hint, 1)
        whole_layout.addLayout(whole_bar)
        self.session_plots = SessionPlots(self.trends, self.duration_s, self.seek_and_pause)
        whole_layout.addWidget(self.session_plots, 1)
        self.whole_button.clicked.connect(self.session_plots.show_whole)
        # the strip shows the same stretch of time as the plots (one way: its own mouse does not zoom)
        self.session_plots.hr_plot.sigXRangeChanged.connect(lambda _vb, rng: self.strip.setXRange(*rng, padding=0.0))
        self.session_plots.show_whole()
        left.addWidget(whole)
        self.tabs = QtWidgets.QTabWidget()
        self.segments = SegmentReview(self.beats, self.session_plots, conventions=AppSettings().frequency_conventions)
        self.tabs.addTab(self.segments, "Segments A / B")
        self.plots_box = QtWidgets.QWidget()  # the replay as it looked live: the last 10 minutes, refilled on a seek
        self.plots_layout = QtWidgets.QVBoxLayout(self.plots_box)
        self.plots_layout.setContentsMargins(0, 0, 0, 0)
        self.plots = LivePlots()
        self.plots_layout.addWidget(self.plots, 3)
        self.raw = RawPlots()  # a Polar H10's ECG strip and breathing movement, when recorded
        self.raw.setVisible(False)
        self.plots_layout.addWidget(self.raw, 1)
        self.tabs.addTab(self.plots_box, "Replay as seen live")
        self.pendulation = PendulationView()  # each swing above the usual range: peak and time back
        self.pendulation.table.cellDoubleClicked.connect(self._swing_chosen)
        self._show_swings(*self._recorded_swings())
        self.tabs.addTab(self.pendulation, "Pendulation")
        self.relationship: RelationshipTab | None = None  # the practitioner's and the client's straps both recorded
        if dyad_straps({item.strap_id for item in self.session.timeline if isinstance(item, Notification)}):
            self.relationship = RelationshipTab(self.session.timeline, self.origin_ns)  # computed on its own thread
            self.tabs.addTab(self.relationship, RELATIONSHIP_TAB)
        self.resonance: ResonanceResultsView | None = None  # a breathing-rate assessment was recorded
        record = session_resonance(self.session.events, self.beats.t_s, self.beats.rr_ms, self.beats.flagged,
                                   self.origin_ns / 1e9)
        if record is not None:
            self.resonance = ResonanceResultsView()
            self.resonance.show_record(record)
            self.tabs.addTab(self.resonance, RESONANCE_TAB)
        left.addWidget(self.tabs)
        left.setStretchFactor(0, 1)
        left.setStretchFactor(1, 1)
        splitter.addWidget(left)
        side = QtWidgets.QWidget()
        side_layout = QtWidgets.QVBoxLayout(side)
        self.state_label = QtWidgets.QLabel("—")
        self.state_label.setStyleSheet("font-size: 16pt; padding: 4px;")
        self.state_label.setWordWrap(True)
        self.state_label.setToolTip("The state at the position, as recorded (or re-analysed)")
        side_layout.addWidget(self.state_label)
        side_layout.addWidget(QtWidgets.QLabel("Events (double-click to go there)"))
        self.events = QtWidgets.QListWidget()
        self.events.itemDoubleClicked.connect(self._event_chosen)
        self.events.itemActivated.connect(self._event_chosen)
        side_layout.addWidget(self.events, 1)
        notes_box = QtWidgets.QGroupBox("Review note at the position")
        notes_outer = QtWidgets.QVBoxLayout(notes_box)
        self.notes_where = QtWidgets.QLabel(self._notes_where_text())  # which file the notes go into, in plain words
        self.notes_where.setWordWrap(True)
        self.notes_where.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        notes_outer.addWidget(self.notes_where)
        notes_layout = QtWidgets.QHBoxLayout()
        notes_outer.addLayout(notes_layout)
        self.note_field = QtWidgets.QLineEdit()
        self.note_field.setPlaceholderText("Note (N); Enter saves it")
        self.note_field.returnPressed.connect(self._note_entered)
        self.note_button = QtWidgets.QPushButton("Add review note")
        self.note_button.clicked.connect(self._note_entered)
        notes_layout.addWidget(self.note_field, 1)
        notes_layout.addWidget(self.note_button)
        phase_layout = QtWidgets.QHBoxLayout()
        notes_outer.addLayout(phase_layout)
        phase_layout.addWidget(QtWidgets.QLabel("Phase"))
        self.phase_box = QtWidgets.QComboBox()
        self.phase_box.addItems(list(PHASES))
        self.phase_box.setToolTip("Which phase of the session starts at the position")
        phase_layout.addWidget(self.phase_box, 1)
        self.phase_button = QtWidgets.QPushButton("Mark its start here")
        self.phase_button.setToolTip("Saved with the review notes: the phase starts at the position, "
                                     "until the next phase mark or the end")
        self.phase_button.clicked.connect(lambda: self._phase_entered(self.phase_box.currentText()))
        phase_layout.addWidget(self.phase_button)
        side_layout.addWidget(notes_box)
        help_label = QtWidgets.QLabel("Space play/pause · ←/→ 5 s · Shift+←/→ 30 s · N note · "
                                      "click the strip or the plots to go there (pauses)")
        help_label.setWordWrap(True)
        help_label.setStyleSheet("color: #555;")
        side_layout.addWidget(help_label)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([1100, 300])
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)
        self.status_position = QtWidgets.QLabel()
        self.statusBar().addPermanentWidget(self.status_position)

    def _install_shortcuts(self) -> None:
        def bind(key: str, action: Callable[[], None]) -> None:
            shortcut = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            shortcut.activated.connect(action)

        bind("Space", self.toggle_play)
        bind("Left", lambda: self.seek_s(self.position_s() - STEP_S))
        bind("Right", lambda: self.seek_s(self.position_s() + STEP_S))
        bind("Shift+Left", lambda: self.seek_s(self.position_s() - BIG_STEP_S))
        bind("Shift+Right", lambda: self.seek_s(self.position_s() + BIG_STEP_S))
        bind("N", self.note_field.setFocus)

    # -- the engine -----------------------------------------------------------------------------
    def _new_engine(self) -> Engine:
        engine = Engine(EngineSource(replay=self.path, speed=self._speed), EngineOptions(), self.exercises)
        engine.start()
        if self._paused:
            engine.call(lambda: engine.replay and engine.replay.pause())
        return engine

    def _live_engine(self) -> Engine:
        """The engine, started afresh (from the beginning) if the replay has reached the end."""
        if self.engine.finished.is_set():
            self.engine.stop()
            self.engine.drain()
            self.engine = self._new_engine()
            self._seeks_in_flight = 0
            self._fresh_plots()
        return self.engine

    def _on_replay(self, action: Callable[[Any], Any]) -> None:
        engine = self._live_engine()
        engine.call(lambda: engine.replay is not None and action(engine.replay))

    # -- transport (also the API the tests use) ---------------------------------------------------
    def play(self) -> None:
        self._paused = False
        self._held_ns = None
        self._on_replay(lambda replay: replay.resume())
        self._show_transport()

    def pause(self) -> None:
        self._paused = True
        if not self.engine.finished.is_set():
            self.engine.call(lambda engine=self.engine: engine.replay is not None and engine.replay.pause())
        self._show_transport()

    def toggle_play(self) -> None:
        if self._paused or self.engine.finished.is_set():
            self.play()
        else:
            self.pause()

    def is_paused(self) -> bool:
        return self._paused

    def speed(self) -> float:
        return self._speed

    def set_speed(self, speed: float) -> None:
        """Replay speed: session seconds per second (``math.inf``: as fast as possible)."""
        if not speed > 0:
            raise ValueError("replay speed must be positive")
        self._speed = speed
        index = next((i for i, (_, value) in enumerate(SPEEDS) if value == speed), -1)
        if index >= 0 and index != self.speed_box.currentIndex():
            self.speed_box.blockSignals(True)
            self.speed_box.setCurrentIndex(index)
            self.speed_box.blockSignals(False)
        if not self.engine.finished.is_set():
            self.engine.call(lambda engine=self.engine: engine.replay is not None and engine.replay.set_speed(speed))

    def seek_s(self, t_s: float) -> None:
        """Go to ``t_s`` seconds into the session (the plots refill from there)."""
        target = self.origin_ns + round(min(max(t_s, 0.0), self.duration_s) * 1e9)
        self._position_ns = self._pending_seek = target
        self._held_ns = target if self._paused else None  # paused: the cursor (and a note) stay on the moment chosen
        self._on_replay(lambda replay: replay.seek(target))
        self._seeks_in_flight += 1
        self._show_position()

    def seek_and_pause(self, t_s: float) -> None:
        """Go to ``t_s`` and stay there (a click on the strip or the plots, at any speed)."""
        self.pause()
        self.seek_s(t_s)

    def position_ns(self) -> int:
        """The replay's position on the session clock (paused after a seek: the moment sought)."""
        if self._paused and self._held_ns is not None:
            return self._held_ns
        replay = self.engine.replay
        if replay is not None and self._pending_seek is None:
            self._position_ns = int(replay.position_ns)
        return self._position_ns

    def position_s(self) -> float:
        """Seconds into the session."""
        return (self.position_ns() - self.origin_ns) / 1e9

    def events_shown(self) -> list[str]:
        return [self.events.item(i).text() for i in range(self.events.count())]

    def add_note(self, text: str, author: str | None = None) -> None:
        """Save a review note at the position (into the session, or its copy in the library), and show it."""
        text = text.strip()
        if not text:
            return
        at_ns = self.position_ns()
        add_review_note(self._notes_file(), at_ns, text, author)
        note = TimelineEvent("note", at_ns, 0.0, {"text": text, "review": True, "author": author})
        entry = timeline_entry(note)
        assert entry is not None
        self._entries.append(entry)
        self._refresh_events()
        self.statusBar().showMessage(f"Review note saved at {clock_text((at_ns - self.origin_ns) / 1e9)}", 5000)

    def mark_phase(self, phase: str, author: str | None = None) -> None:
        """Mark that ``phase`` (baseline / practice / recovery) starts at the position, saved with the review notes."""
        at_ns = self.position_ns()
        add_phase_mark(self._notes_file(), at_ns, phase, author)
        mark = TimelineEvent("note", at_ns, 0.0, {"text": f"phase: {phase} starts", "review": True,
                                                  "author": author, "phase": phase})
        entry = timeline_entry(mark)
        assert entry is not None
        self._entries.append(entry)
        self._phase_events.append(mark)
        self._refresh_events()
        self._refresh_phases()
        self.statusBar().showMessage(f"{phase.capitalize()} marked from {clock_text((at_ns - self.origin_ns) / 1e9)}", 5000)

    def phases(self) -> list[Segment]:
        """The session's phases (recorded, or marked in review), in session seconds."""
        return session_phases(self._phase_events, self.origin_ns, self.duration_s)

    def _refresh_phases(self) -> None:
        phases = self.phases()
        self.segments.set_phases(phases)
        self.session_plots.set_phases(phases)

    def _phase_entered(self, phase: str) -> None:
        try:
            self.mark_phase(phase)
        except (ValueError, OSError) as error:  # SessionFileError is a ValueError
            QtWidgets.QMessageBox.warning(self, "Phase mark not saved", str(error))

    def _notes_target(self) -> Path | None:
        """Where review notes go: the file itself when it is the user's own, writable, in the library;
        else an earlier copy of it in the library; else None (a copy is made with the first note).

        A copy is made at the first note rather than on opening: only looking at a recording
        (the shipped sample, a colleague's file) then writes nothing anywhere.
        """
        if notes_in_place(self.path, self.recordings):
            return self.path
        session_id = self.session.manifest.get("session_id")
        return find_review_copy(self.recordings, session_id, self.path) if isinstance(session_id, str) else None

    def _notes_file(self) -> Path:
        """The file the next note goes into, its copy made in the library first when needed (GUI thread)."""
        if self.notes_path is None or (self.notes_path != self.path and not self.notes_path.exists()):
            self.notes_path = copy_for_review(self.path, self.recordings)
            self.notes_where.setText(self._notes_where_text())
        return self.notes_path

    def _notes_where_text(self) -> str:
        """Which file review notes go into, in plain words."""
        if self.notes_path == self.path:
            return "Review notes are saved in this session, in your library."
        if self.notes_path is None:
            return ("This recording is kept as it is; your review notes will go into a copy in your library "
                    f"({self.recordings}), made when you add the first one.")
        return f"This recording is kept as it is; your review notes go into a copy in your library: {self.notes_path.name}"

    # -- the frame -------------------------------------------------------------------------------
    def on_frame(self) -> None:
        for item in self.engine.drain():
            self._take(item)
        if self._pending_seek is not None and self.engine.finished.is_set():
            self.seek_s((self._pending_seek - self.origin_ns) / 1e9)  # the replay ended first: again, afresh
        self.plots.redraw()
        if self.raw.isVisible():
            self.raw.redraw()
        if self.relationship is not None:
            self.relationship.poll()
        if self._reanalysis is not None and self._reanalysis.result is not None:
            self._take_reanalysis(self._reanalysis.result)
            self._reanalysis = None
        self._show_position()
        self._show_transport()

    def _take(self, item: object) -> None:
        strap_id = getattr(item, "strap_id", CLIENT_STRAP)
        output = getattr(item, "output", item)  # the engine wraps analysis outputs with their strap
        if isinstance(output, BeatMetrics):
            if strap_id == CLIENT_STRAP:
                self.plots.add_metrics(output)
        elif isinstance(output, RAW_OUTPUTS):
            if strap_id == CLIENT_STRAP:
                self.raw.add(output)
                self.raw.setVisible(self.raw.has_data)
        elif isinstance(item, TimelineEvent):
            if item.kind == "seek":
                self._fresh_plots()
                self._seeks_in_flight = max(0, self._seeks_in_flight - 1)
                if not self._seeks_in_flight:
                    self._pending_seek = None
            elif item.kind == "baseline" and self._band is None:
                self._set_band(band_of(dict(item.data)))
            elif item.kind in ("engine-error", "engine-warning"):
                self.statusBar().showMessage(str(item.data.get("text")))

    def _recorded_swings(self) -> tuple[list[Swing], bool]:
        """The swings against the session's recorded baselines (on the beats already decoded)."""
        bands = session_bands(self.session, self.origin_ns)
        return (series_swings(self.beats, bands), True) if bands else ([], False)

    def _show_swings(self, swings: list[Swing], judged: bool) -> None:
        self._swings_judged = judged
        self.pendulation.set_swings(swings, judged)

    def _swing_chosen(self, row: int, _column: int) -> None:
        """A double-click on a swing goes to its start."""
        if 0 <= row < len(self.pendulation.swings):
            self.seek_s(self.pendulation.swings[row].start_s)

    def _take_reanalysis(self, events: list[TimelineEvent]) -> None:
        if not self._swings_judged:  # recorded without a baseline: swings against the re-analysed one
            bands = bands_of(events, self.origin_ns)
            if bands:
                self._show_swings(series_swings(self.beats, bands), True)
        for event in events:
            entry = timeline_entry(event, reanalyzed=True, ended_ns=self._ended_ns)
            if entry is not None:
                self._reanalyzed.append(entry)
                if entry.kind == "baseline" and self._band is None:
                    self._set_band(band_of(entry.data))
        self._refresh_events()

    def _fresh_plots(self) -> None:
        """The plots start afresh (after a seek, or a new start): every series emptied in place."""
        for series in vars(self.plots).values():
            if isinstance(series, Series):
                series.n = 0
                series.dirty = True
        self.plots.now_s = 0.0
        self.raw.clear()

    def _set_band(self, band: tuple[float, float, float] | None) -> None:
        if band is not None:
            self._band = band
            self.plots.set_band(*band)

    def _show_position(self) -> None:
        t_s = self.position_s()
        self.strip.set_position(t_s)
        self.session_plots.set_cursor(t_s)
        if not self.slider.isSliderDown():
            self.slider.blockSignals(True)
            self.slider.setValue(round(t_s))
            self.slider.blockSignals(False)
            self.time_label.setText(f"{clock_text(t_s)} / {clock_text(self.duration_s)}")
        state = self._state_at(self.position_ns())
        self.state_label.setText(state or "—")

    def _show_transport(self) -> None:
        ended = self.engine.finished.is_set()
        text = "Play (Space)" if self._paused or ended else "Pause (Space)"
        if self.play_button.text() != text:
            self.play_button.setText(text)
        self.status_position.setText(SESSION_ENDED if ended and not self._paused else
                                     "paused" if self._paused else f"playing at {self.speed_box.currentText()}")

    def _slider_moved(self, value: int) -> None:
        if self.slider.isSliderDown():  # dragging: show where, go there on release
            self.time_label.setText(f"{clock_text(value)} / {clock_text(self.duration_s)}")
        else:  # keyboard or a click beside the handle
            self.seek_s(float(value))

    def _event_chosen(self, item: QtWidgets.QListWidgetItem) -> None:
        host_ns = item.data(QtCore.Qt.ItemDataRole.UserRole)
        if host_ns is not None:
            self.seek_s((int(host_ns) - self.origin_ns) / 1e9)

    def _note_entered(self) -> None:
        text = self.note_field.text().strip()
        if not text:
            return
        try:
            self.add_note(text)
        except (ValueError, OSError) as error:  # SessionFileError is a ValueError
            QtWidgets.QMessageBox.warning(self, "Review note not saved", str(error))
            return
        self.note_field.clear()

    # -- events: list and strip --------------------------------------------------------------------
    def _all_entries(self) -> list[Entry]:
        return sorted(self._entries + self._reanalyzed, key=lambda e: e.host_ns)

    def _states(self) -> list[Entry]:
        recorded = [e for e in self._entries if e.kind == "state"]
        return sorted(recorded or [e for e in self._reanalyzed if e.kind == "state"], key=lambda e: e.host_ns)

    def _state_at(self, host_ns: int) -> str | None:
        at = bisect.bisect_right(self._state_stamps, host_ns)
        return self._state_entries[at - 1].data if at else None

    def _refresh_events(self) -> None:
        seconds = lambda ns: (ns - self.origin_ns) / 1e9  # noqa: E731
        self.events.clear()
        for entry in self._all_entries():
            item = QtWidgets.QListWidgetItem(f"{clock_text(seconds(entry.host_ns))}  {entry.text}")
            item.setData(QtCore.Qt.ItemDataRole.UserRole, entry.host_ns)
            self.events.addItem(item)
        states = self._state_entries = self._states()
        self._state_stamps = [e.host_ns for e in states]
        self.strip.set_states([(seconds(e.host_ns), seconds(n.host_ns) if n is not None else self.duration_s, e.data)
                               for e, n in zip(states, [*states[1:], None])])
        self.strip.set_gaps([(seconds(e.host_ns), seconds(e.end_ns or e.host_ns)) for e in self._entries if e.kind == "gap"])
        marks: dict[str, list[tuple[float, str]]] = {kind: [] for kind in STRIP_ROWS}
        for entry in self._entries:
            if entry.kind in marks:
                marks[entry.kind].append((seconds(entry.host_ns), entry.text))
        self.strip.set_marks(marks)
        if self.relationship is not None:
            self.relationship.timeline.set_marks(marks)

    # -- closing -----------------------------------------------------------------------------------
    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.frame_timer.stop()
        if self._reanalysis is not None:
            self._reanalysis.cancelled = True
        self.engine.stop()
        super().closeEvent(event)
