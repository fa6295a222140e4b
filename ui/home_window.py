"""The home-practice window: choose a practice, do it with the strap, look back on it.

Design rules (research/somatic.md §4.3, §4.7, §5, §8):

- Three calm pages: *choose* (the exercises allowed at home, with their length and
  purpose, an eyes-closed chimes option and the safety lines), *practice* (the client view
  reused from the session app, :class:`~somafeedback.ui.client_screen.ClientScreen`) and
  *summary* (what the practice looked like, and the weeks so far).
- The engine runs the practice in home mode: a resting measurement, then the script step
  by step; when the heart rate stays above the usual range it pauses into grounding and
  resumes later. The window only *follows* the engine's script events (``script-step``,
  ``script-paused``, ``script-resumed``, ``script-finished``); it never times steps itself.
- Numbers are away by default (a checkbox turns them on), sound is off by default, and
  nothing here scores, ranks, counts streaks or colours a day: the summary and the trend
  chart describe (see :mod:`somafeedback.reports.practice_history`).
- The summary speaks plainly to the client (:func:`plain_summary`): what was practised, for
  how long, and what changed, in words ("your heart rate settled from about 78 to about
  70 beats per minute"; "about the same" by the core's rule,
  :func:`~somafeedback.reports.practice_history.whole_beats_change`); no metric names or
  units beyond beats and breaths per minute, no verdict on the practice or the person,
  nothing medical.
- Exercise lengths are :attr:`Exercise.duration_text`, as on the command line (150 s is
  "2.5 min", never "2 min").
- No strap found: the window offers the simulated strap, as the practitioner window does.
  Help → the welcome: a strap picked there (or "Try without a strap") moves a practice on
  screen to it, or, between practices, is the strap of the next one (said on the choose page).
- Safety (issue #14): the choose page shows the chosen exercise's purpose, when to use it,
  when to stop and its cautions (Start is the confirmation); an exercise not meant for home
  is refused with a plain message and no engine starts. During the practice "Too much",
  "Dizzy", "Help now" and "Done" go to the engine (``Engine.home_control``); the window
  follows the pause the engine runs (``script-paused``, ``pause-step``: the pause
  exercise's steps with their step line, no pacer after "Dizzy") and its offer to end
  (``end-offered``: the client's own plan text, from the practitioner's settings, with
  "End the practice" and "Keep going").

A frame timer (~30 fps) drains the engine; the engine's thread never touches a widget.
Ending the practice (the script's end, or the End button) stops the engine, which closes
the session file in the library; then the summary and the weekly trend are read back
from that file and the library.

Thread: the Qt GUI thread (the engine runs on its own).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from somafeedback.devices.events import TimelineEvent
from somafeedback.live.engine import Engine, EngineOptions, EngineSource
from somafeedback.regulation.exercises import Exercise
from somafeedback.regulation.methods import Method, policy
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.reports.practice_history import (
    PracticeSummary,
    WeekRow,
    describe_ln_rmssd_change,
    practice_summary,
    resting_to_show,
    round_half_up,
    weekly_trend,
    whole_beats_change,
)
from somafeedback.sessions.file import SessionFileError

from .chimes import Chimes
from .client_screen import ClientScreen
from .cue_panel import exercise_details_html
from .remote_home_session import SAVED_TEXT, RemoteSessionPage
from .remote_join import RemoteJoinDialog
from .resonance_home import HomeAssessment

FRAME_MS: Final = 33  # ~30 frames per second

WINDOW_TITLE: Final = "somafeedback — home practice"
CHOOSE_TEXT: Final = "Choose a practice"
SAFETY_TEXT: Final = ("This is not a medical device and not an emergency service. "
                      "Stop if you feel dizzy, numb or overwhelmed.")
CHIMES_LABEL: Final = "Soft chimes at each breath and each new step (for practising with eyes closed)"
NUMBERS_LABEL: Final = "Show heart rate numbers during the practice"
START_LABEL: Final = "Start"
END_LABEL: Final = "End the practice"
NEXT_LABEL: Final = "Next step"  # untimed practice (Focusing): the client moves on when ready
BACK_LABEL: Final = "Back a step"
AGAIN_LABEL: Final = "Back to the practices"
SIMULATOR_LABEL: Final = "Use the simulated strap"
JOIN_REMOTE_LABEL: Final = "Join my practitioner's session"
RELAY_KEY: Final = "remote/relay"  # AppSettings: the relay address last used to join
RESTING_FIRST_TEXT: Final = "Sit comfortably and rest. The practice begins after a few quiet minutes."
RESTING_SHORT_TEXT: Final = "Sit comfortably. The practice begins in a moment."
NO_STRAP_TEXT: Final = ("No heart-rate strap was found. Check that it is worn, moistened and awake, then start "
                        "again, or try the practice with the simulated strap.")
LOW_SIGNAL_TEXT: Final = "The strap signal is unclear; check that it sits snugly and its contacts are moist."
NOTHING_RECORDED_TEXT: Final = "Nothing was recorded in this practice."
UNREADABLE_TEXT: Final = "The practice was saved, but it could not be read back for a summary."
MINUTES_TITLE: Final = "Minutes practised per week"
RESTING_TITLE: Final = ("Resting heart-rhythm variation, typical value per week "
                         "(shown for weeks with 3 or more practices)")
NO_WEEKS_TEXT: Final = "Your weeks of practice will show here."
NOT_AT_HOME_TEXT: Final = "“{title}” is for sessions with a practitioner only, not for home practice."
CHOSEN_STRAP_TEXT: Final = "Your next practice uses the strap you chose ({address})."
CHOSEN_SIMULATOR_TEXT: Final = "Your next practice uses the simulated strap (no strap needed)."
CHOOSE_DETAILS_TEXT: Final = "Choose a practice to read what it is for, when to use it, when to stop and its cautions."
# During the practice: the client's own controls (HomeWindow.home_control) and the offer to end.
CONTROLS: Final = (("too-much", "Too much", "Pause the practice and come back to the ground for a while"),
                   ("dizzy", "Dizzy", "Pause the practice and let your breathing go back to its own rhythm"),
                   ("help-now", "Help now", "Pause the practice with a short exercise for the senses"),
                   ("done", "Done", "End the practice here"))
KEEP_GOING_LABEL: Final = "Keep going"

# Okabe-Ito sky blue and blue (colour-blind safe), as in the pacer; no red anywhere.
BAR_BRUSH: Final = (86, 180, 233, 200)
LINE_PEN: Final = (0, 114, 178)

EngineFactory = Callable[[str], Engine]

# The summary's sentences (plain words for the client; see plain_summary).
SUMMARY_PRACTISED: Final = "You practised for {length}{what}."
SUMMARY_REST_FIRST: Final = "It began with a few quiet minutes of rest."
SUMMARY_NO_BEATS: Final = "No heartbeats were recorded this time, so there is nothing to compare."
SUMMARY_TOO_SHORT: Final = "The practice was too short to compare the start with the end."
SUMMARY_HR_LOWER: Final = "Your heart rate settled from about {start} to about {end} beats per minute."
SUMMARY_HR_HIGHER: Final = "Your heart rate went from about {start} up to about {end} beats per minute."
SUMMARY_HR_SAME: Final = "Your heart rate stayed about the same, at about {end} beats per minute."
SUMMARY_VAR_MORE: Final = ("The small changes in timing from one heartbeat to the next were larger at the end "
                           "than at the start.")
SUMMARY_VAR_LESS: Final = ("The small changes in timing from one heartbeat to the next were smaller at the end "
                           "than at the start.")
SUMMARY_VAR_SAME: Final = ("The small changes in timing from one heartbeat to the next were about the same at "
                           "the end as at the start.")
SUMMARY_PACED: Final = ("While the pacer was on, your heartbeat rose and fell with your breath about {seen} times "
                        "a minute{pacer}.")
SUMMARY_PACER_SET: Final = " (the pacer was set to {rate})"
SUMMARY_UNCLEAR: Final = "Part of the signal was unclear (about {share} % of the beats), so these numbers are rough."
SUMMARY_NOTE: Final = ("These numbers describe this one practice. They change from day to day for many ordinary "
                       "reasons, such as sleep, meals, movement or the time of day.")
REST_FIRST_S: Final = 60.0  # a resting part this long is mentioned
UNCLEAR_PCT: Final = 5.0  # an unclear share from this much on is mentioned


def _length_text(minutes: float) -> str:
    if minutes < 1.0:
        return "less than a minute"
    whole = round_half_up(minutes)
    return "about 1 minute" if whole == 1 else f"about {whole} minutes"


def _rate_text(breaths_per_min: float) -> str:
    return f"{round(breaths_per_min, 1):g}"


def plain_summary(summary: PracticeSummary) -> str:
    """The end-of-practice summary for the client, one plain sentence per line.

    What was practised and for how long; the heart rate at the start and at the end (the
    first and last valid minute); whether the beat-to-beat variation was larger, smaller or
    about the same; the breathing rhythm seen while the pacer ran; a rough-signal note when
    needed; and that the numbers describe this one practice. No metric names, no units
    other than beats and breaths per minute, no verdict, nothing medical.
    """
    what = f" ({summary.script_title})" if summary.script_title else ""
    lines = [SUMMARY_PRACTISED.format(length=_length_text(summary.duration_min), what=what)]
    if summary.state_seconds.get("calibrating", 0.0) >= REST_FIRST_S:
        lines.append(SUMMARY_REST_FIRST)
    if summary.n_beats == 0:
        lines.append(SUMMARY_NO_BEATS)
        return "\n".join(lines)
    start, end = summary.start_window, summary.end_window
    if start is None or end is None:
        lines.append(SUMMARY_TOO_SHORT)
    else:
        # the core's rule (practice_history), on the whole beats this text shows
        a, b, hr_change = whole_beats_change(start.hr_bpm, end.hr_bpm)
        lines.append(SUMMARY_HR_SAME.format(end=b) if hr_change == "same"
                     else (SUMMARY_HR_LOWER if hr_change == "lower" else SUMMARY_HR_HIGHER).format(start=a, end=b))
        variation = describe_ln_rmssd_change(end.ln_rmssd - start.ln_rmssd)
        lines.append(SUMMARY_VAR_SAME if variation == "same"
                     else SUMMARY_VAR_MORE if variation == "higher" else SUMMARY_VAR_LESS)
    if summary.paced_breathing_bpm is not None:
        pacer = SUMMARY_PACER_SET.format(rate=_rate_text(summary.pacer_bpm)) if summary.pacer_bpm is not None else ""
        lines.append(SUMMARY_PACED.format(seen=_rate_text(summary.paced_breathing_bpm), pacer=pacer))
    if summary.artifact_pct is not None and summary.artifact_pct >= UNCLEAR_PCT:
        lines.append(SUMMARY_UNCLEAR.format(share=round_half_up(summary.artifact_pct)))
    lines.append(SUMMARY_NOTE)
    return "\n".join(lines)


def practice_method(exercise: Exercise, default: str) -> str:
    """The method a home practice runs in: Focusing for a Focusing-only exercise (untimed, never paused by
    the app); otherwise the client's default, except Focusing (a timed exercise keeps its timing)."""
    if exercise.methods == frozenset({"Focusing"}):
        return "Focusing"
    return "SE" if Method.parse(default) is Method.FOCUSING else str(Method.parse(default))


def home_exercises(exercises: Mapping[str, Exercise]) -> list[Exercise]:
    """The exercises that may be practised at home, in the order of ``exercises``."""
    return [exercise for exercise in exercises.values() if "home" in exercise.where]


def home_texts() -> tuple[str, ...]:
    """Every fixed string this window can show (exercise texts come with the exercises)."""
    return (*(label for _, label, _ in CONTROLS), *(tip for _, _, tip in CONTROLS), KEEP_GOING_LABEL,
            NOT_AT_HOME_TEXT, CHOOSE_DETAILS_TEXT, NEXT_LABEL, BACK_LABEL,
            WINDOW_TITLE, CHOOSE_TEXT, SAFETY_TEXT, CHIMES_LABEL, NUMBERS_LABEL, START_LABEL, END_LABEL,
            AGAIN_LABEL, SIMULATOR_LABEL, RESTING_FIRST_TEXT, RESTING_SHORT_TEXT, NO_STRAP_TEXT, LOW_SIGNAL_TEXT,
            NOTHING_RECORDED_TEXT, UNREADABLE_TEXT, MINUTES_TITLE, RESTING_TITLE, NO_WEEKS_TEXT,
            SUMMARY_PRACTISED, SUMMARY_REST_FIRST, SUMMARY_NO_BEATS, SUMMARY_TOO_SHORT, SUMMARY_HR_LOWER,
            SUMMARY_HR_HIGHER, SUMMARY_HR_SAME, SUMMARY_VAR_MORE, SUMMARY_VAR_LESS, SUMMARY_VAR_SAME, SUMMARY_PACED,
            SUMMARY_PACER_SET, SUMMARY_UNCLEAR, SUMMARY_NOTE)


class TrendChart(pg.GraphicsLayoutWidget):
    """Minutes per ISO week as bars, and the weekly resting ln RMSSD as a line, x-linked."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.setBackground("w")
        self.setMinimumHeight(260)
        self.minutes_plot = self.addPlot(row=0, col=0, title=MINUTES_TITLE)
        self.resting_plot = self.addPlot(row=1, col=0, title=RESTING_TITLE)
        self.resting_plot.setXLink(self.minutes_plot)
        for plot in (self.minutes_plot, self.resting_plot):
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.showGrid(x=False, y=True, alpha=0.2)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6, brush=pg.mkBrush(*BAR_BRUSH), pen=pg.mkPen(None))
        self.minutes_plot.addItem(self.bars)
        self.line = self.resting_plot.plot([], [], pen=pg.mkPen(LINE_PEN, width=2), symbol="o", symbolSize=7,
                                           symbolBrush=pg.mkBrush(*LINE_PEN), connect="finite")
        self.rows: list[WeekRow] = []

    def set_rows(self, rows: list[WeekRow]) -> None:
        self.rows = list(rows)
        x = list(range(len(rows)))
        self.bars.setOpts(x=x, height=[row.minutes for row in rows], width=0.6)
        resting = [math.nan if value is None else value for value in resting_to_show(rows)]  # the rule: practice_history
        if any(value == value for value in resting):  # NaN marks a week not drawn (a gap in the line)
            self.line.setData(x, resting, connect="finite")
        else:
            self.line.setData([], [])
        step = max(1, -(-len(rows) // 12))  # at most about 12 labels
        ticks = [[(i, row.label) for i, row in enumerate(rows) if i % step == 0 or i == len(rows) - 1]]
        for plot in (self.minutes_plot, self.resting_plot):
            plot.getAxis("bottom").setTicks(ticks)
        if rows:
            self.minutes_plot.setXRange(-0.6, len(rows) - 0.4, padding=0)
            self.minutes_plot.setYRange(0, max(max(row.minutes for row in rows), 5.0) * 1.15, padding=0)

    def minutes_shown(self) -> list[float]:
        heights = self.bars.opts.get("height")
        return [float(h) for h in (heights if heights is not None else [])]

    def resting_shown(self) -> list[float]:
        """The weekly values drawn (NaN for a week left out); [] when none is drawn."""
        _, y = self.line.getData()
        return [] if y is None else [float(v) for v in y]


class HomeWindow(QtWidgets.QMainWindow):
    """Home practice: choose, practise (recorded into ``library_dir``), then the summary and trend.

    ``engine_factory(script_id)`` builds the engine for a practice (tests inject a
    simulated source); by default real straps, with the simulated strap offered when
    none is found (``simulator_factory(script_id)`` builds that engine; default: the calm
    simulated strap in real time, recording into ``library_dir``). ``client`` names the
    client in the manifest and filters the trend. ``chimes`` may be injected (tests); by
    default the window makes its own. ``plan_text`` is the client's own plan if practice
    gets too much (set by the practitioner in the settings); every practice's engine gets it
    as ``EngineOptions.plan_text``, for the offer to end.
    Signal: ``practice_finished(object)`` with the :class:`PracticeSummary` (or None).
    """

    practice_finished = QtCore.Signal(object)

    def __init__(self, exercises: dict[str, Exercise], library_dir: Path,
                 engine_factory: EngineFactory | None = None, client: str | None = None,
                 chimes: Chimes | None = None, simulator_factory: EngineFactory | None = None,
                 parent: QtWidgets.QWidget | None = None, plan_text: str | None = None,
                 settings: Any = None) -> None:
        super().__init__(parent)
        self.exercises = exercises
        self.plan_text = plan_text.strip() if plan_text and plan_text.strip() else None
        self.library_dir = Path(library_dir)
        self.client = client
        self._engine_factory = engine_factory
        self._simulator_factory = simulator_factory
        self.engine: Engine | None = None
        self._chosen_strap: str | None = None  # picked from Help before any practice: the next practice uses it
        self._chosen_simulator = False  # "Try without a strap" from Help before any practice
        self.settings = settings  # AppSettings (remembers the relay address), or None
        self.remote_dialog: RemoteJoinDialog | None = None
        self.exercise: Exercise | None = None
        self.summary: PracticeSummary | None = None
        self._rows: list[WeekRow] = []
        self._summary_text = ""
        self._sound_message: str | None = None
        self._practising = False
        self._step: int | None = None
        self._paused = False
        self._pacer_off = False  # after "Dizzy": the pause shows no pacer until the script resumes
        self._low_signal = False
        self._untimed = False  # Focusing: steps wait for the client's Next (set per practice)
        self._pacer_key: object = None  # the engine, pacer and settings last handed to Engine.set_pacer

        self.setWindowTitle(WINDOW_TITLE)
        self.pages = QtWidgets.QStackedWidget()
        self.setCentralWidget(self.pages)
        self.pages.addWidget(self._build_choose_page())
        self.pages.addWidget(self._build_practice_page())
        self.pages.addWidget(self._build_summary_page())
        self.remote_page = RemoteSessionPage(exercises)
        self.remote_page.paired.connect(lambda words: self.remote_dialog and self.remote_dialog.show_paired(words))
        self.remote_page.failed.connect(lambda text: self.remote_dialog and self.remote_dialog.show_failed(text))
        self.remote_page.finished.connect(self._remote_finished)
        self.pages.addWidget(self.remote_page)
        if settings is not None:  # the app's window: Help → the welcome again
            from .welcome import add_help_action

            add_help_action(self.menuBar().addMenu("&Help"), self, settings, self._simulator_from_help,
                            self._strap_from_help)

        self.chimes = chimes if chimes is not None else Chimes(parent=self)
        self.chimes.set_report(self._report_sound)  # the window shows the message once in its status bar
        self.client_screen.step_changed.connect(lambda _index: self.chimes.step())

        self.frame_timer = QtCore.QTimer(self)
        self.frame_timer.setInterval(FRAME_MS)
        self.frame_timer.timeout.connect(self.on_frame)
        self.resize(1100, 800)

    # --- pages -----------------------------------------------------------------------------------

    def _build_choose_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(page)
        heading = QtWidgets.QLabel(CHOOSE_TEXT)
        font = heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        heading.setFont(font)
        layout.addWidget(heading)
        self.script_list = QtWidgets.QListWidget()
        self.script_list.setWordWrap(True)
        self.script_list.setSpacing(4)
        for exercise in home_exercises(self.exercises):
            item = QtWidgets.QListWidgetItem(f"{exercise.title} — {exercise.duration_text}\n{exercise.purpose}")
            item.setData(QtCore.Qt.ItemDataRole.UserRole, exercise.id)
            item.setToolTip(exercise.purpose)
            self.script_list.addItem(item)
        self.script_list.itemDoubleClicked.connect(lambda _item: self._start_chosen())
        layout.addWidget(self.script_list, 1)
        # the chosen practice's purpose, when to use it, when to stop and its cautions (Start confirms)
        self.caution_panel = QtWidgets.QLabel(CHOOSE_DETAILS_TEXT)
        self.caution_panel.setWordWrap(True)
        self.caution_panel.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.caution_panel.setAccessibleName("about the chosen practice")
        layout.addWidget(self.caution_panel)
        self.script_list.currentItemChanged.connect(lambda *_: self._show_chosen())
        if self.script_list.count():
            self.script_list.setCurrentRow(0)
        self.choose_message = QtWidgets.QLabel("")  # e.g. why a practice cannot be started at home
        self.choose_message.setWordWrap(True)
        self.choose_message.setStyleSheet("color: #7a4a00;")
        self.choose_message.setVisible(False)
        layout.addWidget(self.choose_message)
        self.chimes_box = QtWidgets.QCheckBox(CHIMES_LABEL)  # off by default (§4.7)
        self.chimes_box.toggled.connect(lambda on: self.chimes.set_enabled(on))
        self.numbers_box = QtWidgets.QCheckBox(NUMBERS_LABEL)  # numbers away by default (§4.7)
        layout.addWidget(self.chimes_box)
        layout.addWidget(self.numbers_box)
        safety = QtWidgets.QLabel(SAFETY_TEXT)
        safety.setWordWrap(True)
        layout.addWidget(safety)
        self.start_button = QtWidgets.QPushButton(START_LABEL)
        self.start_button.setEnabled(self.script_list.count() > 0)
        self.start_button.clicked.connect(self._start_chosen)
        self.join_remote_button = QtWidgets.QPushButton(JOIN_REMOTE_LABEL)
        self.join_remote_button.clicked.connect(self.open_remote_join)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.join_remote_button)
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)
        layout.addLayout(buttons)
        return page

    def _build_practice_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        self.banner = QtWidgets.QWidget()
        banner_layout = QtWidgets.QHBoxLayout(self.banner)
        self.banner_text = QtWidgets.QLabel()
        self.banner_text.setWordWrap(True)
        self.simulator_button = QtWidgets.QPushButton(SIMULATOR_LABEL)
        self.simulator_button.clicked.connect(self.use_simulator)
        banner_layout.addWidget(self.banner_text, 1)
        banner_layout.addWidget(self.simulator_button)
        self.banner.setVisible(False)
        layout.addWidget(self.banner)
        from .connection_help_panel import attach_home

        self.connection_help = attach_home(self, layout)
        self.client_screen = ClientScreen(self._now, page)
        self.client_screen.setWindowFlags(QtCore.Qt.WindowType.Widget)  # embedded, not its own window
        layout.addWidget(self.client_screen, 1)
        # the offer to end the practice, with the client's own plan (shown on "end-offered")
        self.end_offer = QtWidgets.QFrame()
        self.end_offer.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        offer_layout = QtWidgets.QVBoxLayout(self.end_offer)
        self.end_offer_text = QtWidgets.QLabel()
        self.end_offer_text.setTextFormat(QtCore.Qt.TextFormat.PlainText)  # the plan is the client's own words
        self.end_offer_text.setWordWrap(True)
        offer_layout.addWidget(self.end_offer_text)
        offer_buttons = QtWidgets.QHBoxLayout()
        self.offer_end_button = QtWidgets.QPushButton(END_LABEL)
        self.offer_end_button.clicked.connect(lambda: self.home_control("done"))
        self.keep_going_button = QtWidgets.QPushButton(KEEP_GOING_LABEL)
        self.keep_going_button.clicked.connect(self._keep_going)
        offer_buttons.addStretch(1)
        offer_buttons.addWidget(self.offer_end_button)
        offer_buttons.addWidget(self.keep_going_button)
        offer_layout.addLayout(offer_buttons)
        self.end_offer.setVisible(False)
        layout.addWidget(self.end_offer)
        controls = QtWidgets.QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)  # the row as tall as the End button alone was (the view keeps its room)
        self.control_buttons: dict[str, QtWidgets.QPushButton] = {}
        for kind, label, tip in CONTROLS:
            button = QtWidgets.QPushButton(label)
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, k=kind: self.home_control(k))
            self.control_buttons[kind] = button
            controls.addWidget(button)
        self.step_buttons: dict[str, QtWidgets.QPushButton] = {}
        for kind, label in (("back", BACK_LABEL), ("next", NEXT_LABEL)):  # untimed practice (Focusing): the client moves on
            button = QtWidgets.QPushButton(label)
            button.clicked.connect(lambda _=False, k=kind: self.home_control(k))
            button.setVisible(False)
            self.step_buttons[kind] = button
            controls.addWidget(button)
        controls.addStretch(1)
        self.end_button = QtWidgets.QPushButton(END_LABEL)
        self.end_button.clicked.connect(self.stop)
        controls.addWidget(self.end_button)
        self.assessment = HomeAssessment(self, controls)  # "Assess breathing rate": Stop, the client's words (#19)
        layout.addLayout(controls)
        return page

    def _build_summary_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(page)
        self.summary_label = QtWidgets.QLabel()
        self.summary_label.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary_label)
        self.trend_chart = TrendChart()
        layout.addWidget(self.trend_chart, 1)
        self.no_weeks_label = QtWidgets.QLabel(NO_WEEKS_TEXT)
        self.no_weeks_label.setVisible(False)
        layout.addWidget(self.no_weeks_label)
        self.again_button = QtWidgets.QPushButton(AGAIN_LABEL)
        self.again_button.clicked.connect(lambda: self.pages.setCurrentIndex(0))
        layout.addWidget(self.again_button, 0, QtCore.Qt.AlignmentFlag.AlignRight)
        return page

    # --- for tests and the app -------------------------------------------------------------------

    def is_practising(self) -> bool:
        return self._practising

    def summary_text(self) -> str:
        """The end-of-practice summary as shown ("" before the first practice ends)."""
        return self._summary_text

    def trend_rows(self) -> list[WeekRow]:
        """The weekly trend shown with the last summary."""
        return list(self._rows)

    def sound_message(self) -> str | None:
        """The message shown when chimes were asked for but sound is not available (else None)."""
        return self._sound_message

    def current_page(self) -> str:
        return ("choose", "practice", "summary", "remote")[self.pages.currentIndex()]

    # --- practice --------------------------------------------------------------------------------

    def _start_chosen(self) -> None:
        item = self.script_list.currentItem()
        if item is not None:
            self.start(str(item.data(QtCore.Qt.ItemDataRole.UserRole)))

    def _show_chosen(self) -> None:
        item = self.script_list.currentItem()
        exercise = None if item is None else self.exercises.get(str(item.data(QtCore.Qt.ItemDataRole.UserRole)))
        self.caution_panel.setText(CHOOSE_DETAILS_TEXT if exercise is None else exercise_details_html(exercise))

    def choose_message_text(self) -> str:
        """The message on the choose page (e.g. a practice refused for home), "" when none shows."""
        return self.choose_message.text() if not self.choose_message.isHidden() else ""

    def start(self, script_id: str) -> bool:
        """Start the practice ``script_id``: build and start the engine, show the practice page.

        An exercise not meant for home (no "home" in its ``where``) is refused: a plain
        message on the choose page, no engine. True when the practice started.
        """
        if self._practising:
            return False
        exercise = self.exercises.get(script_id)
        if exercise is None:
            raise ValueError(f"no exercise {script_id!r}")
        if "home" not in exercise.where:
            self.choose_message.setText(NOT_AT_HOME_TEXT.format(title=exercise.title))
            self.choose_message.setVisible(True)
            self.pages.setCurrentIndex(0)
            return False
        self.choose_message.setVisible(False)
        self.exercise = self.assessment.practice(exercise)  # paced steps at the client's kept rate
        self._begin(self._practice_engine(script_id))
        return True

    def _practice_engine(self, script_id: str) -> Engine:
        """The engine of a practice: on the strap or the simulated strap chosen from Help between practices,
        else on the window's source (real straps, or what the command line asked for)."""
        if self._chosen_simulator:
            return self._simulator_engine(script_id)
        engine = self._strap_engine(script_id)
        if self._chosen_strap is None:
            return engine
        from .connection_help_panel import on_strap

        return on_strap(engine, self._chosen_strap)

    def _strap_engine(self, script_id: str) -> Engine:
        return self._engine_factory(script_id) if self._engine_factory is not None else self._default_engine(script_id)

    def _simulator_engine(self, script_id: str) -> Engine:
        return (self._simulator_factory(script_id) if self._simulator_factory is not None
                else self._default_engine(script_id, simulate="calm"))

    def home_control(self, kind: str) -> None:
        """The client's own control during the practice ("too-much", "dizzy", "help-now", "done",
        "keep-going"), to the engine; the window then follows the events the engine sends back."""
        if self.engine is not None and self._practising:
            self.engine.home_control(kind)

    def _keep_going(self) -> None:
        self.end_offer.setVisible(False)
        self.home_control("keep-going")

    def end_offer_shown(self) -> str:
        """The offer to end (the client's plan text) while it shows, else ""."""
        return self.end_offer_text.text() if not self.end_offer.isHidden() else ""

    def _default_engine(self, script_id: str, simulate: str | None = None) -> Engine:
        options = EngineOptions(mode="home", script=script_id, record_to=self.library_dir,
                                manifest={"client": self.client, "mode": "home", "script": script_id,
                                          "tags": [], "devices": []})
        return Engine(EngineSource(simulate=simulate), options, self.exercises)

    def _begin(self, engine: Engine) -> None:
        assert self.exercise is not None
        # Whatever built the engine, the recording says it is this home practice (for the trend).
        options = engine.options
        options.manifest = {"mode": options.mode, "script": self.exercise.id, "client": self.client,
                            **options.manifest}
        if not options.manifest.get("client"):  # a factory's empty client never hides the window's one
            options.manifest["client"] = self.client
        if getattr(options, "plan_text", None) is None:
            options.plan_text = self.plan_text  # the client's own plan, for the offer to end
        options.method = practice_method(self.exercise, getattr(options, "method", "SE"))
        self.assessment.configure(options)  # an assessment ranks with the settings' weights (#19)
        self._untimed = not policy(options.method).timed_steps
        for button in self.step_buttons.values():
            button.setVisible(self._untimed)
        self.engine = engine
        self._step, self._paused, self._low_signal, self._pacer_off = None, False, False, False
        self.banner.setVisible(False)
        self.end_offer.setVisible(False)
        self.client_screen.set_numbers_visible(self.numbers_box.isChecked())
        self.chimes.set_enabled(self.chimes_box.isChecked())
        self.client_screen.show_text(RESTING_SHORT_TEXT if options.baseline is not None else RESTING_FIRST_TEXT)
        self.pages.setCurrentIndex(1)
        self._practising = True
        engine.start()
        self.frame_timer.start()

    def _strap_from_help(self, address: str) -> None:
        """A strap picked in the welcome opened from Help: a practice on screen moves to it; otherwise the
        next practice uses it (said on the choose page)."""
        if self._practising:
            self.connection_help.use_strap(address)
            return
        self._chosen_strap, self._chosen_simulator = address, False
        self.choose_message.setText(CHOSEN_STRAP_TEXT.format(address=address))
        self.choose_message.setVisible(True)

    def _simulator_from_help(self) -> None:
        """"Try without a strap" in the welcome opened from Help: a practice on screen goes on with the
        simulated strap (:meth:`use_simulator`); otherwise the next practice uses it."""
        if self._practising:
            self.use_simulator()
            return
        self._chosen_strap, self._chosen_simulator = None, True
        self.choose_message.setText(CHOSEN_SIMULATOR_TEXT)
        self.choose_message.setVisible(True)

    def use_simulator(self) -> None:
        """No strap: carry on with the simulated strap (same practice, same library)."""
        self.banner.setVisible(False)
        if not self._practising or self.exercise is None:
            return
        if self.engine is not None:
            self.engine.stop()
        self.frame_timer.stop()
        self._practising = False
        self._begin(self._simulator_engine(self.exercise.id))

    def stop(self) -> None:
        """End the practice now (the session is saved) and show the summary."""
        self._finish()

    def on_frame(self) -> None:
        engine = self.engine
        if engine is None or not self._practising:
            return
        for item in engine.drain():
            self.follow(item)
            if not self._practising:
                return
        pacer = self.client_screen.pacer_widget()
        state = pacer.state() if self.client_screen.pacer_visible() else None
        self.chimes.phase(state.phase if state is not None else None)
        shown = pacer.pacer() if self.client_screen.pacer_visible() else None  # the engine measures the following
        key = (id(engine), id(shown), shown.changes if shown is not None else None)
        if key != self._pacer_key and not self.assessment.running:  # an assessment's run owns the pacer
            self._pacer_key = key
            engine.set_pacer(shown)

    def follow(self, item: object) -> None:
        """Take one item the engine produced (a beat's metrics, a timeline event); the frame timer calls this."""
        if isinstance(item, BeatMetrics):
            time = item.time
            self.client_screen.update_numbers(time.hr_bpm, time.rmssd_ms, time.validity.valid)
        elif isinstance(item, TimelineEvent):
            if self.assessment.take(item):
                return
            if item.kind == "cue":
                self._take_cue(item)
            elif item.kind == "state":
                self._take_state(str(item.data.get("state")))
            elif item.kind == "engine-error":
                self._engine_error(str(item.data.get("text", "")))
        self.connection_help.take(item)  # a connection problem: what was seen and the next steps, under the banner

    def banner_shown(self) -> str:
        """The banner's text while it shows (no strap, engine trouble), else ""."""
        return self.banner_text.text() if not self.banner.isHidden() else ""

    def _take_cue(self, event: TimelineEvent) -> None:
        data, t_s = event.data, event.host_ns / 1e9
        action = data.get("action")
        exercise = self.exercise
        if exercise is None or data.get("kind") != "script":
            return
        if action == "script-step" and isinstance(data.get("cue_id"), int):
            self._step, self._paused = int(data["cue_id"]) - 1, False
            if self._untimed:  # the step stays until the client chooses Next (the engine says so)
                self.client_screen.show_held_step(exercise, self._step)
            else:
                self._show_step(exercise, self._step, t_s)
        elif action == "script-paused":
            self._paused = True
            self._pacer_off = data.get("reason") == "dizzy"  # let the breath find its own rhythm: no pacer
            self.end_offer.setVisible(False)
            self._show_pause_step(data)
            self.chimes.step()
        elif action == "pause-step" and self._paused:
            self._show_pause_step(data)
            self.chimes.step()
        elif action == "end-offered" and self._paused:
            self.end_offer_text.setText(str(data.get("text") or ""))
            self.end_offer.setVisible(True)
        elif action == "script-resumed":
            self._paused, self._pacer_off = False, False
            self.end_offer.setVisible(False)
            if self._step is None:  # paused during the resting measurement: the script begins with the step resumed
                text = data.get("text")
                self._step = next((i for i, step in enumerate(exercise.steps) if step.text == text), 0)
            if self._untimed:
                self.client_screen.show_held_step(exercise, self._step)
            else:
                self._show_step(exercise, self._step, t_s, force=True)
        elif action == "script-finished":
            self._finish()

    def _show_pause_step(self, data: Mapping[str, object]) -> None:
        """The pause exercise's step the engine names (the event's text, the step line), held until the next event."""
        text = str(data.get("text") or "")
        pause = self.exercises.get(str(data.get("exercise")))
        cue_id = data.get("cue_id")
        if pause is None:
            self.client_screen.show_text(text)
            return
        index = int(cue_id) - 1 if isinstance(cue_id, int) else 0
        self.client_screen.show_held_step(pause, index, text=text or None, pacer=not self._pacer_off)

    def _show_step(self, exercise: Exercise, index: int, at_s: float, force: bool = False) -> None:
        """Show step ``index`` as starting at ``at_s`` (the client view then walks on by the clock)."""
        if not 0 <= index < len(exercise.steps):
            return
        screen = self.client_screen
        if not force and screen.current_exercise() is exercise and screen.current_step_index() == index:
            return  # already there: keep the pacer's breath going
        # A script event carries its beat's time, which can run up to ~1.5 s ahead of the clock
        # (see devices/beat_timing.py): a step never starts in the client's future.
        started_at = min(at_s, self._now()) - sum(step.seconds for step in exercise.steps[:index])
        screen.show_exercise(exercise, started_at)

    def _take_state(self, state: str) -> None:
        if state in ("low signal", "signal lost"):  # "low signal": the name before "signal lost"
            self._low_signal = True
            self.statusBar().showMessage(LOW_SIGNAL_TEXT)
        elif self._low_signal:
            self._low_signal = False
            self.statusBar().clearMessage()

    def _engine_error(self, text: str) -> None:
        first = text.splitlines()[0] if text else ""
        no_strap = "NoStrapFound" in first or "No strap" in first or "No heart-rate strap" in first
        self.banner_text.setText(NO_STRAP_TEXT if no_strap else first)
        self.simulator_button.setVisible(no_strap)
        self.banner.setVisible(True)

    def _finish(self) -> None:
        if not self._practising:
            return
        self._practising = False
        self.frame_timer.stop()
        engine = self.engine
        if engine is not None:
            engine.stop()  # closes the session file
            engine.drain()
        self.chimes.phase(None)
        self.client_screen.clear()
        self.end_offer.setVisible(False)
        self.summary = None
        path = engine.recording if engine is not None else None
        if path is not None and Path(path).exists():
            try:
                self.summary = practice_summary(path, self.exercises)
                text = plain_summary(self.summary)
            except SessionFileError:
                text = UNREADABLE_TEXT
        else:
            text = NOTHING_RECORDED_TEXT
        text = self.assessment.summary(text)
        self._summary_text = text
        self.summary_label.setText(text)
        self._rows = weekly_trend(self.library_dir, self.client)
        self.trend_chart.set_rows(self._rows)
        self.no_weeks_label.setVisible(not self._rows)
        self.banner.setVisible(False)
        self.pages.setCurrentIndex(2)
        self.practice_finished.emit(self.summary)

    # --- a practitioner's remote session (ui/remote_join.py, ui/remote_home_session.py) -----------------

    def open_remote_join(self) -> RemoteJoinDialog:
        """Show the join dialog (non-modal); the strap starts when the client chooses Join."""
        relay = str(self.settings.store.value(RELAY_KEY, "") or "") if self.settings is not None else ""
        dialog = RemoteJoinDialog(relay, self)
        dialog.join_requested.connect(self._join_remote)
        dialog.start_sharing.connect(self._start_sharing)
        dialog.not_now.connect(self.remote_page.end)
        self.remote_dialog = dialog
        dialog.show()
        return dialog

    def _join_remote(self, relay: str, code: str, level: str) -> None:
        if self.settings is not None:
            self.settings.set(RELAY_KEY, relay)
        engine = self.remote_page.engine
        if engine is None:  # the strap runs and records from the first Join (a "Try again" keeps it)
            engine = self._practice_engine("")  # a strap (or the simulated one) chosen from Help is used here too
            engine.options.script = None
            engine.options.manifest = {**engine.options.manifest, "mode": "home", "script": None,
                                       "client": engine.options.manifest.get("client") or self.client,
                                       "tags": ["remote"]}
            engine.start()
            self.remote_page.follow_engine(engine)
        engine.join_remote(relay, code, level)

    def _start_sharing(self) -> None:
        if self.remote_page.engine is not None:
            self.remote_page.engine.remote_confirm()
            self.pages.setCurrentIndex(3)

    def _remote_finished(self, saved: bool) -> None:
        self.remote_dialog = None
        self.pages.setCurrentIndex(0)
        if saved:
            self.statusBar().showMessage(SAVED_TEXT, 20000)

    # --- sound -----------------------------------------------------------------------------------

    def _report_sound(self, text: str) -> None:
        if self._sound_message is None:
            self._sound_message = text
            self.statusBar().showMessage(text, 20000)

    # --- Qt --------------------------------------------------------------------------------------

    def _now(self) -> float:
        return self.engine.now_s() if self.engine is not None else 0.0

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt API
        if self._practising:
            self._practising = False
            self.frame_timer.stop()
            if self.engine is not None:
                self.engine.stop()  # the session is saved even when the window closes mid-practice
        if self.remote_page.engine is not None:
            self.remote_page.end()  # the practitioner is told; the recording is saved
        self.chimes.close()
        super().closeEvent(event)
