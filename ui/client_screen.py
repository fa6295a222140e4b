"""The client's window in session: a calm resting view, script cards and the breathing pacer.

Design rules (research/somatic.md §4.2, §4.7, §8):

- Default is a neutral resting view: a soft background and one short, neutral line.
- The practitioner pushes what the client sees: an exercise (a script card in large text,
  one step at a time, with the pacer under the text on pacer steps), a single approved
  line, or the pacer alone. Nothing appears here by itself.
- Numbers are away by default; when the practitioner turns them on they show only while
  the signal is valid, small and at the bottom.
- While an exercise runs, a small muted line at the bottom says where it is: "Step 2 of 4",
  with the time left in the exercise ("Step 2 of 4 · 1:30 left") unless the practitioner
  hides it (:meth:`ClientScreen.set_time_left_visible`; the ``client/time_left`` setting).
- No red, no scores, no state words: the palette is colour-blind safe (soft blues and warm
  greys), and every fixed string this module can show is listed in :func:`client_texts`.

Time comes from the injected session clock, never from counting timer ticks: the current
exercise step is found from ``clock() - started_at_s`` and the steps' durations, so a
simulated or replayed session at another speed, or a late timer, shows the right step.
The step timer (5 Hz) and the pacer's frame timer only prompt a re-read of the clock.

:meth:`ClientScreen.view_state` is a read-only summary of what the client sees right now
(:class:`ClientViewState`, plain data): the practitioner window's mirror
(:mod:`somafeedback.ui.client_mirror`) shows it, and :meth:`ClientScreen.clear` and
:meth:`ClientScreen.pacer_only` are its two controls. The practitioner can also hold a
pushed exercise on its step (:meth:`ClientScreen.pause_exercise`, the step line then says
"paused"; :meth:`ClientScreen.resume_exercise` runs on from there) and move to any step
(:meth:`ClientScreen.go_to_step`). :meth:`ClientScreen.show_held_step` shows one step of an
exercise whose steps someone else times (the home practice's pause, timed by the engine).

View changes fade in over a short time (:data:`FADE_MS`); the state (:meth:`current_text`
and friends) changes at once, so callers and tests never wait for an animation.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from PySide6 import QtCore, QtGui, QtWidgets

from somafeedback.regulation.exercises import Exercise
from somafeedback.regulation.pacer import Pacer, PacerSettings

from .pacer_widget import PHASE_LABELS, PacerWidget

WINDOW_TITLE: Final = "somafeedback — client view"
RESTING_TEXT: Final = "Take your time."
NUMBERS_HR: Final = "HR {hr:.0f} bpm"
NUMBERS_RMSSD: Final = "RMSSD {rmssd:.0f} ms"
NUMBERS_SEPARATOR: Final = " · "
STEP_LINE: Final = "Step {number} of {count}"
TIME_LEFT: Final = "{time} left"
STEP_SEPARATOR: Final = " · "
PAUSED_TEXT: Final = "paused"  # on the step line while the practitioner holds a pushed exercise

FADE_MS: Final = 300  # gentle, and short enough never to hold up a step
STEP_TICK_MS: Final = 200  # how often the step timer re-reads the clock
CONTENT_SPACING_PX: Final = 18  # between the title, the text and the pacer
CONTENT_TOP_PX: Final = 24
CONTENT_BOTTOM_PX: Final = 12
TEXT_MIN_PX: Final = 20  # the main text's usual smallest size ...
TEXT_FIT_MIN_PX: Final = 12  # ... and how far a long text may shrink to fit a small window

# Soft, colour-blind-safe palette: a pale mist background, slate text, no red.
BACKGROUND_TOP: Final = QtGui.QColor(236, 241, 243)
BACKGROUND_BOTTOM: Final = QtGui.QColor(218, 228, 232)
TEXT_COLOUR: Final = QtGui.QColor(52, 68, 79)
MUTED_COLOUR: Final = QtGui.QColor(104, 122, 133)


def client_texts() -> tuple[str, ...]:
    """Every fixed string this screen can show (exercise texts come with the exercises)."""
    numbers = NUMBERS_SEPARATOR.join((NUMBERS_HR.format(hr=66.0), NUMBERS_RMSSD.format(rmssd=38.0)))
    return (WINDOW_TITLE, RESTING_TEXT, numbers, format_step_line(1, 4, 90.0),
            format_step_line(1, 4) + STEP_SEPARATOR + PAUSED_TEXT, *PHASE_LABELS.values())


def format_time_left(seconds: float) -> str:
    """A time left as ``m:ss``, counted up to the whole second (``0:01`` until the very end).

    89.2 s -> ``1:30``, 5 s -> ``0:05``, 0 or less -> ``0:00``; an hour or more -> ``h:mm:ss``.
    """
    whole = max(0, math.ceil(seconds - 1e-9)) if math.isfinite(seconds) else 0
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_step_line(number: int, count: int, seconds_left: float | None = None) -> str:
    """The client's step line: ``Step 2 of 4``, with ``· 1:30 left`` when ``seconds_left`` is given."""
    line = STEP_LINE.format(number=number, count=count)
    if seconds_left is None:
        return line
    return line + STEP_SEPARATOR + TIME_LEFT.format(time=format_time_left(seconds_left))


ViewKind = Literal["resting", "exercise", "text", "pacer"]


@dataclass(frozen=True, slots=True)
class ClientViewState:
    """What the client view shows at one moment (plain data, from :meth:`ClientScreen.view_state`).

    ``kind`` is ``"resting"`` (the neutral resting view), ``"exercise"`` (a script card),
    ``"text"`` (one line pushed by the practitioner) or ``"pacer"`` (the pacer alone, with
    or without a line above it). ``step_index`` is 0-based (``step_number`` counts from 1);
    the seconds left are for the exercise's current step and the whole exercise.
    ``finished`` is true on the resting view that follows an exercise run to its end, until
    something else is shown. ``pacer_rate_bpm`` is the pacer's breaths per minute now.
    ``paused`` is true while the exercise's step timer is held (:meth:`ClientScreen.pause_exercise`).
    """

    kind: ViewKind
    text: str
    exercise_id: str | None = None
    exercise_title: str | None = None
    step_index: int | None = None
    step_count: int | None = None
    step_seconds_left: float | None = None
    exercise_seconds_left: float | None = None
    pacer_visible: bool = False
    pacer_rate_bpm: float | None = None
    time_left_visible: bool = True
    finished: bool = False
    paused: bool = False

    @property
    def resting(self) -> bool:
        return self.kind == "resting"

    @property
    def step_number(self) -> int | None:
        """The step shown, counted from 1 (``None`` with no exercise)."""
        return None if self.step_index is None else self.step_index + 1


def format_numbers(hr_bpm: float | None, rmssd_ms: float | None) -> str:
    """The numbers line, e.g. "HR 66 bpm · RMSSD 38 ms"; a missing or non-finite value is left out."""
    parts = []
    if hr_bpm is not None and math.isfinite(hr_bpm):
        parts.append(NUMBERS_HR.format(hr=hr_bpm))
    if rmssd_ms is not None and math.isfinite(rmssd_ms):
        parts.append(NUMBERS_RMSSD.format(rmssd=rmssd_ms))
    return NUMBERS_SEPARATOR.join(parts)


class ClientScreen(QtWidgets.QWidget):
    """The second window, for the client.

    ``clock`` returns session seconds (the same clock the exercise start times use); the
    screen and its pacer share it, and :meth:`set_clock` is the one way to change it.
    Signals: ``step_changed(int)`` when an exercise shows a new step,
    ``exercise_finished(str)`` (the exercise id) when one runs to its end, and
    ``view_changed()`` whenever what the client sees changes (a new view, a pause, a resume).
    """

    step_changed = QtCore.Signal(int)
    exercise_finished = QtCore.Signal(str)
    view_changed = QtCore.Signal()

    def __init__(self, clock: Callable[[], float], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._clock = clock
        self._resting_text = RESTING_TEXT
        self._text = ""
        self._exercise: Exercise | None = None
        self._started_at_s = 0.0
        self._step_index: int | None = None
        self._paused_at_s: float | None = None  # the clock's time the exercise's step timer was held at
        self._held: tuple[Exercise, int] | None = None  # a step shown for its caller, who moves it on (home pause)
        self._numbers_visible = False
        self._numbers = ("", False)  # (formatted text, valid)
        self._time_left_visible = True
        self._finished_exercise: str | None = None  # the exercise that ran to its end, until the next view
        self._last_pacer_settings: PacerSettings | None = None
        self._fade_ms = FADE_MS
        self._normal_geometry: QtCore.QRect | None = None

        self.setWindowTitle(WINDOW_TITLE)
        self.setMinimumSize(480, 360)
        self.resize(1024, 700)
        # The content (title, text, pacer) fades; the numbers line sits outside the fade.
        self._content = QtWidgets.QWidget(self)
        content_layout = QtWidgets.QVBoxLayout(self._content)
        content_layout.setSpacing(CONTENT_SPACING_PX)
        self._title_label = self._make_label(MUTED_COLOUR)
        self._text_label = self._make_label(TEXT_COLOUR)
        self._pacer = PacerWidget(clock, self._content)
        self._pacer.hide()
        content_layout.addStretch(1)
        content_layout.addWidget(self._title_label)
        content_layout.addWidget(self._text_label)
        content_layout.addWidget(self._pacer, 1)
        content_layout.addStretch(1)

        # Where the exercise is ("Step 2 of 4 · 1:30 left"): small, muted, outside the fade.
        self._step_label = self._make_label(MUTED_COLOUR)
        self._step_label.hide()
        self._numbers_label = self._make_label(MUTED_COLOUR)
        self._numbers_label.hide()

        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self._content, 1)
        layout.addWidget(self._step_label)
        layout.addWidget(self._numbers_label)

        self._fade_effect = QtWidgets.QGraphicsOpacityEffect(self._content)
        self._fade_effect.setOpacity(1.0)
        self._fade_effect.setEnabled(False)
        self._content.setGraphicsEffect(self._fade_effect)
        self._fade = QtCore.QPropertyAnimation(self._fade_effect, b"opacity", self)
        self._fade.setStartValue(0.0)
        self._fade.setEndValue(1.0)
        self._fade.setEasingCurve(QtCore.QEasingCurve.Type.InOutSine)
        self._fade.finished.connect(lambda: self._fade_effect.setEnabled(False))

        self._step_timer = QtCore.QTimer(self)
        self._step_timer.setInterval(STEP_TICK_MS)
        self._step_timer.timeout.connect(self.refresh)

        for key, slot in ((QtCore.Qt.Key.Key_F11, self.toggle_full_screen),
                          (QtCore.Qt.Key.Key_Escape, self.leave_full_screen)):
            shortcut = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            shortcut.activated.connect(slot)

        self._show_view(self._resting_text, title="", pacer=None, fade=False)
        self._update_fonts()

    # --- clock ----------------------------------------------------------------------------------

    @property
    def clock(self) -> Callable[[], float]:
        """The session clock the screen and its pacer read (set it with :meth:`set_clock`)."""
        return self._clock

    def set_clock(self, clock: Callable[[], float]) -> None:
        """Read session time from ``clock`` from now on, here and in the pacer (GUI thread).

        The one way to change the clock, e.g. when the app moves to a new engine. Start
        times taken on the old clock mean nothing on the new one, so whatever ran (an
        exercise, the pacer) stops and the resting view returns.
        """
        if clock == self._clock:  # == : a bound method (engine.now_s) is a new object on each access
            return
        self._clock = clock
        self._pacer.set_clock(clock)
        if not self.is_resting():
            self.clear()

    # --- what the client sees ---------------------------------------------------------------

    def show_exercise(self, exercise: Exercise, started_at_s: float) -> None:
        """Run ``exercise`` from session time ``started_at_s``, one step at a time.

        The step shown is the one ``clock() - started_at_s`` falls in; a step with pacer
        settings shows the pacer under its text; after the last step the resting view
        returns and ``exercise_finished`` is emitted.
        """
        self._held = None
        self._exercise = exercise
        self._started_at_s = float(started_at_s)
        self._step_index = None
        self._paused_at_s = None
        self._step_timer.start()
        self.refresh()

    def pause_exercise(self) -> bool:
        """Hold the running exercise on its current step (the step line says "paused"); False with none running.

        The time in the step stops counting; the pacer (if the step has one) keeps breathing.
        """
        if self._exercise is None or self._paused_at_s is not None:
            return False
        self.refresh()  # the step the clock falls in now is the one held
        if self._exercise is None:
            return False  # it had just ended
        self._paused_at_s = self._clock()
        self._render_step_line()
        self.view_changed.emit()
        return True

    def resume_exercise(self) -> bool:
        """Let a held exercise run on from where it was held; False when none is held."""
        if self._exercise is None or self._paused_at_s is None:
            return False
        self._started_at_s += self._clock() - self._paused_at_s
        self._paused_at_s = None
        self.refresh()
        self._render_step_line()
        self.view_changed.emit()
        return True

    def is_exercise_paused(self) -> bool:
        return self._exercise is not None and self._paused_at_s is not None

    def go_to_step(self, index: int) -> bool:
        """Show step ``index`` (0-based) of the running exercise from its start (held if it was held).

        False with no exercise running or ``index`` out of range.
        """
        exercise = self._exercise
        if exercise is None or not 0 <= index < len(exercise.steps):
            return False
        now = self._clock() if self._paused_at_s is None else self._paused_at_s
        self._started_at_s = now - sum(step.seconds for step in exercise.steps[:index])
        self._step_index = None  # redraw the step even if it is the one shown
        self.refresh()
        return True

    def show_held_step(self, exercise: Exercise, index: int, text: str | None = None, pacer: bool = True) -> None:
        """Show step ``index`` of ``exercise`` with its title and step line, held until the caller moves on.

        For steps timed elsewhere (the home practice's pause, whose steps the engine times):
        no step timer runs and :meth:`current_exercise` stays None. ``text`` replaces the
        step's own text; ``pacer=False`` leaves the step's pacer off.
        """
        index = max(0, min(int(index), len(exercise.steps) - 1))
        step = exercise.steps[index]
        self._stop_exercise()
        self._held = (exercise, index)
        shown = (text if text is not None else step.text).strip() or step.text
        settings = step.pacer if pacer else None
        current = self._pacer.pacer()
        keep = current is not None and settings is not None and current.settings == settings  # same breath on
        model = current if keep else (Pacer(settings, self._clock()) if settings is not None else None)
        self._show_view(shown, title=exercise.title, pacer=model)

    def show_text(self, text: str) -> None:
        """Show one approved line (no exercise, no pacer); an empty line means :meth:`clear`."""
        text = text.strip()
        if not text:
            self.clear()
            return
        self._stop_exercise()
        self._show_view(text, title="", pacer=None)

    def show_pacer(self, settings: PacerSettings | None, at_s: float | None = None, text: str = "") -> None:
        """Show the pacer alone (with an optional line above it); ``None`` means :meth:`clear`.

        Pushing new settings while the pacer shows keeps the breath going (phase-continuous
        from ``at_s``, default now).
        """
        if settings is None:
            self.clear()
            return
        text = text.strip()
        keep = self._exercise is None and self._pacer.has_pacer()
        self._stop_exercise()
        if keep:
            self._pacer.set_pacer(settings, at_s)  # phase-continuous retiming
            if text != self._text:
                self._show_view(text, title="", pacer=self._pacer.pacer())
            return
        at = self._clock() if at_s is None else float(at_s)
        self._show_view(text, title="", pacer=Pacer(settings, at))

    def clear(self) -> None:
        """Back to the neutral resting view (stops any exercise and the pacer)."""
        self._stop_exercise()
        self._show_view(self._resting_text, title="", pacer=None)

    def pacer_only(self, settings: PacerSettings | None = None) -> None:
        """Hide the text (and an exercise's title and step line) and keep only the pacer.

        A pacer that runs now keeps running as it is (same breath, same pattern, even when
        it was an exercise's pacer: the exercise stops, its pacer stays). With no pacer
        showing, one starts now with ``settings``, else the pattern last shown here, else
        the default 4 s in, 6 s out.
        """
        current = self._pacer.pacer() if self.pacer_visible() else None
        self._stop_exercise()
        if current is None:
            chosen = settings or self._last_pacer_settings or PacerSettings()
            current = Pacer(chosen, self._clock())
        self._show_view("", title="", pacer=current)

    def set_time_left_visible(self, visible: bool) -> None:
        """Show the time left in the exercise on the step line (on by default)."""
        self._time_left_visible = bool(visible)
        self._render_step_line()

    def time_left_visible(self) -> bool:
        return self._time_left_visible

    def set_resting_text(self, text: str) -> None:
        """Change the resting line (a practitioner's own neutral words)."""
        was_resting = self.is_resting()
        self._resting_text = text.strip()
        if was_resting:
            self._show_view(self._resting_text, title="", pacer=None, fade=False)

    def set_phase_label_visible(self, visible: bool) -> None:
        """Show the phase word ("breathe in", "hold", "breathe out") under the pacer."""
        self._pacer.set_phase_label_visible(visible)

    # --- numbers ----------------------------------------------------------------------------

    def set_numbers_visible(self, visible: bool) -> None:
        """Numbers are away by default; the practitioner may turn them on."""
        self._numbers_visible = bool(visible)
        self._numbers_label.setVisible(self._numbers_visible)
        self._render_numbers()

    def numbers_visible(self) -> bool:
        return self._numbers_visible

    def update_numbers(self, hr_bpm: float | None, rmssd_ms: float | None, valid: bool) -> None:
        """The latest values; shown only while numbers are visible and ``valid`` is true."""
        self._numbers = (format_numbers(hr_bpm, rmssd_ms), bool(valid))
        self._render_numbers()

    def numbers_text(self) -> str:
        """The numbers line as shown ("" when hidden or not valid)."""
        return self._numbers_label.text() if self._numbers_visible else ""

    # --- window -------------------------------------------------------------------------------

    def toggle_full_screen(self) -> None:
        if self.isFullScreen():
            self.leave_full_screen()
        else:
            self._normal_geometry = self.geometry()
            self.showFullScreen()
            self.setCursor(QtCore.Qt.CursorShape.BlankCursor)

    def leave_full_screen(self) -> None:
        if not self.isFullScreen():
            return
        self.showNormal()
        self.unsetCursor()
        if self._normal_geometry is not None:
            self.setGeometry(self._normal_geometry)

    def move_to_screen(self, index: int) -> bool:
        """Move the window to screen ``index`` (full screen stays full screen there).

        A no-op returning False with a single screen or an index out of range.
        """
        screens = QtGui.QGuiApplication.screens()
        if len(screens) < 2 or not 0 <= index < len(screens):
            return False
        target = screens[index]
        was_full = self.isFullScreen()
        if was_full:
            self.showNormal()
        self.setScreen(target)
        available = target.availableGeometry()
        size = self.size().boundedTo(available.size())
        frame = QtCore.QRect(QtCore.QPoint(0, 0), size)
        frame.moveCenter(available.center())
        self.setGeometry(frame)
        self._normal_geometry = frame
        if was_full:
            self.showFullScreen()
        return True

    # --- for tests and the practitioner window ----------------------------------------------------

    def current_text(self) -> str:
        """The main line shown now ("" for the pacer alone)."""
        return self._text

    def current_title(self) -> str:
        return self._title_label.text()

    def pacer_visible(self) -> bool:
        return self._pacer.has_pacer() and not self._pacer.isHidden()

    def pacer_widget(self) -> PacerWidget:
        return self._pacer

    def text_label(self) -> QtWidgets.QLabel:
        """The label of the main line (for layout checks)."""
        return self._text_label

    def title_label(self) -> QtWidgets.QLabel:
        """The label of the exercise title (for layout checks)."""
        return self._title_label

    def current_step_index(self) -> int | None:
        """The exercise step shown (0-based), or ``None`` with no exercise running."""
        return self._step_index if self._exercise is not None else None

    def current_exercise(self) -> Exercise | None:
        return self._exercise

    def step_label(self) -> QtWidgets.QLabel:
        """The label of the step line (for layout checks)."""
        return self._step_label

    def step_line(self) -> str:
        """The step line as shown ("Step 2 of 4 · 1:30 left"); "" with no exercise running."""
        return self._step_label.text() if not self._step_label.isHidden() else ""

    def view_state(self, now_s: float | None = None) -> ClientViewState:
        """What the client sees now (``now_s``: the clock's time, read when not given).

        Read-only and cheap: it reads the clock and the current view, and changes nothing
        (the step timer, not this, moves an exercise on).
        """
        now = self._clock() if now_s is None else float(now_s)
        pacer = self._pacer.pacer() if self.pacer_visible() else None
        rate = pacer.settings_at(now).breaths_per_min if pacer is not None else None
        exercise = self._exercise
        if exercise is not None and self._step_index is not None:
            elapsed = (self._paused_at_s if self._paused_at_s is not None else now) - self._started_at_s
            ends = _step_ends(exercise)
            index = self._step_index
            return ClientViewState(
                kind="exercise", text=self._text, exercise_id=exercise.id, exercise_title=exercise.title,
                step_index=index, step_count=len(exercise.steps),
                step_seconds_left=max(0.0, ends[index] - elapsed), exercise_seconds_left=max(0.0, ends[-1] - elapsed),
                pacer_visible=pacer is not None, pacer_rate_bpm=rate, time_left_visible=self._time_left_visible,
                paused=self._paused_at_s is not None)
        if self.is_resting():
            kind: ViewKind = "resting"
        elif pacer is not None:
            kind = "pacer"
        else:
            kind = "text"
        return ClientViewState(kind=kind, text=self._text, pacer_visible=pacer is not None, pacer_rate_bpm=rate,
                               time_left_visible=self._time_left_visible,
                               finished=kind == "resting" and self._finished_exercise is not None)

    def is_resting(self) -> bool:
        return self._exercise is None and not self._pacer.has_pacer() and self._text == self._resting_text

    def is_fading(self) -> bool:
        return self._fade.state() == QtCore.QAbstractAnimation.State.Running

    def set_fade_ms(self, ms: int) -> None:
        """Length of the fade-in on a view change (0 = no fade); capped at 400 ms."""
        self._fade_ms = max(0, min(int(ms), 400))

    def refresh(self) -> None:
        """Re-read the clock and show the exercise step it falls in (the step timer calls this)."""
        exercise = self._exercise
        if exercise is None:
            return
        elapsed = self._elapsed()
        ends = _step_ends(exercise)
        if elapsed >= ends[-1]:
            self._stop_exercise()
            self._show_view(self._resting_text, title="", pacer=None)
            self._finished_exercise = exercise.id
            self.exercise_finished.emit(exercise.id)
            return
        index = next(i for i, end in enumerate(ends) if elapsed < end)
        if index == self._step_index:
            self._render_step_line(elapsed)  # the time left moves on within a step
            return
        self._step_index = index
        step = exercise.steps[index]
        self._show_view(step.text, title=exercise.title, pacer=self._exercise_pacer(exercise, index))
        self.step_changed.emit(index)

    # --- Qt -----------------------------------------------------------------------------------

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        try:
            gradient = QtGui.QLinearGradient(0.0, 0.0, 0.0, float(self.height()))
            gradient.setColorAt(0.0, BACKGROUND_TOP)
            gradient.setColorAt(1.0, BACKGROUND_BOTTOM)
            painter.fillRect(self.rect(), QtGui.QBrush(gradient))
        finally:
            painter.end()

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._update_fonts()

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    # --- helpers --------------------------------------------------------------------------------

    def _make_label(self, colour: QtGui.QColor) -> QtWidgets.QLabel:
        label = QtWidgets.QLabel(self)
        label.setTextFormat(QtCore.Qt.TextFormat.PlainText)  # exercise files are text, never markup
        label.setWordWrap(True)
        label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        # Preferred, not Maximum: a wrapped label's size hint is taken at a guessed width, and as a
        # maximum it cut off the lines that the real width needs (issue #13). The layout asks
        # heightForWidth at the real width; the stretches and the pacer take the free space.
        label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Preferred)
        palette = label.palette()
        palette.setColor(QtGui.QPalette.ColorRole.WindowText, colour)
        label.setPalette(palette)
        return label

    def _update_fonts(self) -> None:
        """Scale the text with the window (large enough to read from across a room), then shrink
        the main text, if it must, until all of it fits beside the title, pacer and numbers."""
        outer, content = self.layout(), self._content.layout()
        if outer is None or content is None:
            return  # still being built
        side = min(self.width(), self.height() * 1.4)
        for label, share, smallest in ((self._title_label, 0.022, 13), (self._step_label, 0.018, 11),
                                       (self._numbers_label, 0.02, 12)):
            font = QtGui.QFont(label.font())
            font.setPixelSize(max(smallest, round(side * share)))
            label.setFont(font)
        margin = round(self.width() * 0.1)
        content.setContentsMargins(margin, CONTENT_TOP_PX, margin, CONTENT_BOTTOM_PX)

        outer_margins = outer.contentsMargins()
        inner_width = self.width() - outer_margins.left() - outer_margins.right()
        width = max(1, inner_width - 2 * margin)
        room = self.height() - outer_margins.top() - outer_margins.bottom() - CONTENT_TOP_PX - CONTENT_BOTTOM_PX
        for line in (self._step_label, self._numbers_label):
            if not line.isHidden():
                room -= max(line.heightForWidth(inner_width), line.fontMetrics().height()) + outer.spacing()
        if not self._title_label.isHidden():
            room -= self._title_label.heightForWidth(width) + content.spacing()
        if not self._pacer.isHidden():
            room -= self._pacer.minimumSizeHint().height() + content.spacing()

        text_share = 0.045 if self._pacer.isHidden() else 0.036  # on pacer steps the shape leads
        font = QtGui.QFont(self._text_label.font())
        size = max(TEXT_MIN_PX, round(side * text_share))
        text = self._text_label.text()
        while size > TEXT_FIT_MIN_PX and _wrapped_height(font, size, width, text) > room:
            size -= 1  # a long text gets smaller rather than cut off at the top and bottom
        font.setPixelSize(size)
        self._text_label.setFont(font)

    def _show_view(self, text: str, *, title: str, pacer: Pacer | None, fade: bool = True) -> None:
        self._finished_exercise = None
        if pacer is not None:
            self._last_pacer_settings = pacer.settings
        self._text = text
        self._text_label.setText(text)
        self._text_label.setVisible(bool(text))
        self._title_label.setText(title)
        self._title_label.setVisible(bool(title))
        if pacer is not self._pacer.pacer():
            self._pacer.set_pacer_model(pacer)
        self._pacer.setVisible(pacer is not None)
        self._render_step_line()
        # Text alone sits in the middle; with the pacer, the shape takes the free space.
        layout = self._content.layout()
        assert isinstance(layout, QtWidgets.QBoxLayout)
        for index in (0, layout.count() - 1):
            layout.setStretch(index, 0 if pacer is not None else 1)
        self._update_fonts()
        layout.activate()
        if fade:
            self._fade_in()
        self.view_changed.emit()

    def _fade_in(self) -> None:
        self._fade.stop()
        if self._fade_ms <= 0 or not self.isVisible():
            self._fade_effect.setEnabled(False)
            return
        self._fade.setDuration(self._fade_ms)
        self._fade_effect.setOpacity(0.0)
        self._fade_effect.setEnabled(True)
        self._fade.start()

    def _render_numbers(self) -> None:
        text, valid = self._numbers
        self._numbers_label.setText(text if self._numbers_visible and valid else "")

    def _render_step_line(self, elapsed: float | None = None) -> None:
        """The step line for the exercise step shown now (hidden with no exercise running)."""
        exercise, index = self._exercise, self._step_index
        if exercise is None or index is None:
            held = self._held
            text = "" if held is None else format_step_line(held[1] + 1, len(held[0].steps))
        elif self._paused_at_s is not None:
            text = format_step_line(index + 1, len(exercise.steps)) + STEP_SEPARATOR + PAUSED_TEXT
        else:
            if elapsed is None:
                elapsed = self._elapsed()
            left = max(0.0, _step_ends(exercise)[-1] - elapsed) if self._time_left_visible else None
            text = format_step_line(index + 1, len(exercise.steps), left)
        if text != self._step_label.text():
            self._step_label.setText(text)
        if self._step_label.isHidden() == bool(text):
            self._step_label.setVisible(bool(text))
            self._update_fonts()  # the text's room changes with the line

    def _elapsed(self) -> float:
        """Seconds into the running exercise (held still while it is paused)."""
        now = self._paused_at_s if self._paused_at_s is not None else self._clock()
        return now - self._started_at_s

    def _stop_exercise(self) -> None:
        self._exercise = None
        self._step_index = None
        self._paused_at_s = None
        self._held = None
        self._step_timer.stop()
        self._render_step_line()

    def _exercise_pacer(self, exercise: Exercise, index: int) -> Pacer | None:
        """The pacer for step ``index`` (``None`` for a step without one).

        A run of consecutive pacer steps is one breath sequence: it starts with an inhale at
        the run's first step, and a step with other settings retimes it phase-continuously
        at that step's start. Built from the script and the start time alone, so jumping
        straight to a step (a late tick, a replay) gives the same pacer as walking to it.
        """
        if exercise.steps[index].pacer is None:
            return None
        starts = (0.0, *_step_ends(exercise)[:-1])
        first = index
        while first > 0 and exercise.steps[first - 1].pacer is not None:
            first -= 1
        pacer: Pacer | None = None
        for k in range(first, index + 1):
            settings = exercise.steps[k].pacer
            assert settings is not None  # every step of the run has a pacer
            at = self._started_at_s + starts[k]
            if pacer is None:
                pacer = Pacer(settings, at)
            elif settings != pacer.settings:
                pacer.set_settings(settings, at)
        return pacer


def _wrapped_height(font: QtGui.QFont, pixel_size: int, width: int, text: str) -> int:
    """The height ``text`` needs in ``font`` at ``pixel_size``, word-wrapped to ``width`` (as a QLabel does)."""
    sized = QtGui.QFont(font)
    sized.setPixelSize(pixel_size)
    flags = QtCore.Qt.AlignmentFlag.AlignCenter | QtCore.Qt.TextFlag.TextWordWrap
    return QtGui.QFontMetrics(sized).boundingRect(QtCore.QRect(0, 0, width, 1 << 20), flags, text).height()


def _step_ends(exercise: Exercise) -> list[float]:
    """Seconds from the exercise start at which each step ends."""
    ends, total = [], 0.0
    for step in exercise.steps:
        total += step.seconds
        ends.append(total)
    return ends
