"""The live step view of the breathing-rate assessment, for the practitioner (issue #19).

It follows the run's timeline events exactly as :mod:`somafeedback.resonance.events` documents them
(``resonance-step`` begin/start/progress/end/skipped/repeat/rest/stopped, the ``resonance`` result and the
``pacer`` events the run's pacer makes): the current rate in large text, "step k of n", the time left (the
event's ``ends_s`` against ``clock()``, the engine's clock in seconds, the one the pacer and the beats use),
"settling" during the first ``settle_s`` of a step, "rest: breathe as you like" between steps, and the step's
criteria filling in from the ``progress`` and ``end`` events. Stop, Repeat this step and Skip step (Alt+S,
Alt+R, Alt+K, or Tab to them) call ``control(action)`` (``Engine.assessment_control``). The pacer shows with
the app's :class:`PacerWidget` (and :class:`Chimes` for eyes-closed practice) as the ``pacer`` events say; the
over-breathing caution shows from the start. At the end: the results (:class:`ResonanceResultsView`, with each
step's heart-rate curve from the client strap's beats handed to :meth:`take_beat` while the run is on) and
"Use X breaths/min as <client>'s rate" (the best, the second or a typed rate).

The view never times anything itself: :meth:`tick` (the window's frame timer) re-reads the clock.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from PySide6 import QtCore, QtGui, QtWidgets

from somafeedback.devices.events import TimelineEvent
from somafeedback.live.analysis import PACER_EVENT, pacer_from_data
from somafeedback.resonance.events import RESULT_EVENT, STEP_EVENT
from somafeedback.regulation.assessment_protocol import DEFAULT_SETTLE_S, RATE_MAX_BPM, RATE_MIN_BPM
from somafeedback.resonance.result import ResonanceResult

from . import resonance_words as words
from .chimes import Chimes
from .pacer_widget import PacerWidget
from .resonance_beats import StepBeats
from .resonance_results import ResonanceResultsView

RATE_POINT_SIZE: Final = 30  # the current rate, readable across a room
ENDS: Final = ("end", "skipped")


class ResonanceStepView(QtWidgets.QWidget):
    """The practitioner's live view of one assessment. ``control(action)``: "skip", "repeat" or "stop";
    ``use_rate(rate_bpm) -> str``: keep the rate for the client (returns the message to show);
    ``client``: the client's pseudonym (for the button's words)."""

    def __init__(self, control: Callable[[str], None], clock: Callable[[], float], cautions: Sequence[str] = (),
                 use_rate: Callable[[float], str] | None = None, client: str | None = None,
                 chimes: Chimes | None = None, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._control, self._clock, self._use_rate, self._client = control, clock, use_rate, client
        self.chimes = chimes if chimes is not None else Chimes(parent=self)
        self.step_data: dict[str, Any] | None = None  # the latest start/progress data of the running step
        self.mode = "waiting"  # waiting, step, rest, done, stopped
        self.count = 0  # the protocol's steps
        self.settle_s = DEFAULT_SETTLE_S
        self.rest_ends_s: float | None = None
        self.result: dict[str, Any] | None = None
        self.beats = StepBeats()  # the client's beats over the steps' scored spans (the results' curves)
        layout = QtWidgets.QVBoxLayout(self)
        caution_lines = [c for c in cautions if c.strip()] or [words.OVER_BREATHING_TEXT]
        self.caution = QtWidgets.QLabel(f"<b>{words.CAUTION_TITLE}</b>: " + " ".join(caution_lines))
        self.caution.setWordWrap(True)
        self.caution.setStyleSheet("background: #fff3cd; padding: 6px;")
        layout.addWidget(self.caution)
        top = QtWidgets.QHBoxLayout()
        left = QtWidgets.QVBoxLayout()
        self.rate_label = QtWidgets.QLabel(words.BEGIN_TEXT)
        font = self.rate_label.font()
        font.setPointSize(RATE_POINT_SIZE)
        self.rate_label.setFont(font)
        self.step_label, self.status_label, self.time_label = QtWidgets.QLabel(), QtWidgets.QLabel(), QtWidgets.QLabel()
        for label in (self.rate_label, self.step_label, self.status_label, self.time_label):
            label.setWordWrap(True)
            left.addWidget(label)
        form = QtWidgets.QFormLayout()
        self.criteria: dict[str, QtWidgets.QLabel] = {}
        for key, text in words.CRITERIA:
            self.criteria[key] = QtWidgets.QLabel(words.NOT_YET)
            form.addRow(text, self.criteria[key])
        left.addLayout(form)
        left.addStretch(1)
        top.addLayout(left, 3)
        pacer_column = QtWidgets.QVBoxLayout()
        self.pacer = PacerWidget(clock)
        self.pacer.setMinimumSize(160, 160)
        pacer_column.addWidget(self.pacer, 1)
        self.chimes_box = QtWidgets.QCheckBox("Soft chimes (eyes-closed practice)")
        self.chimes_box.toggled.connect(self.chimes.set_enabled)
        pacer_column.addWidget(self.chimes_box)
        top.addLayout(pacer_column, 2)
        layout.addLayout(top, 1)
        buttons = QtWidgets.QHBoxLayout()
        self.buttons: dict[str, QtWidgets.QPushButton] = {}
        for action, caption in (("stop", "&Stop"), ("repeat", "&Repeat this step"), ("skip", "S&kip step")):
            button = QtWidgets.QPushButton(caption)
            button.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
            button.clicked.connect(lambda _=False, a=action: self._control(a))
            button.setEnabled(False)
            self.buttons[action] = button
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.results_box = QtWidgets.QWidget()
        results_layout = QtWidgets.QVBoxLayout(self.results_box)
        results_layout.setContentsMargins(0, 0, 0, 0)
        self.results = ResonanceResultsView()  # the table, the best rates in words, the weights, the plots
        results_layout.addWidget(self.results, 1)
        choose = QtWidgets.QHBoxLayout()
        self.rate_choice = QtWidgets.QComboBox()
        self.rate_choice.setEditable(True)
        self.rate_choice.setAccessibleName("breathing rate to keep, breaths/min")
        self.rate_choice.setValidator(QtGui.QDoubleValidator(RATE_MIN_BPM, RATE_MAX_BPM, 2, self.rate_choice))
        self.rate_choice.currentTextChanged.connect(lambda _text: self._update_use_button())
        self.use_button = QtWidgets.QPushButton()
        self.use_button.clicked.connect(self.use_chosen_rate)
        self.use_message = QtWidgets.QLabel()
        self.use_message.setWordWrap(True)
        choose.addWidget(self.rate_choice)
        choose.addWidget(self.use_button)
        choose.addStretch(1)
        results_layout.addLayout(choose)
        results_layout.addWidget(self.use_message)
        self.results_box.setVisible(False)
        layout.addWidget(self.results_box, 2)
        self.tick()

    # --- events ------------------------------------------------------------------------------------

    def take(self, event: TimelineEvent) -> bool:
        """Follow one timeline event; True when it was the assessment's (``resonance-step``, ``resonance``,
        ``pacer``)."""
        if event.kind == PACER_EVENT:
            self.pacer.set_pacer_model(pacer_from_data(event.data))
            return True
        if event.kind == RESULT_EVENT:
            self.show_result(dict(event.data))
            return True
        if event.kind != STEP_EVENT:
            return False
        data, action = dict(event.data), event.data.get("action")
        self.beats.step_event(data)
        if action == "begin":
            protocol = data.get("protocol") or {}
            self.count = len(protocol.get("rates_bpm") or ())
            self.settle_s = float(protocol.get("settle_s", DEFAULT_SETTLE_S))
            self.mode = "waiting"
        elif action == "start":
            self.mode, self.step_data = "step", data
            self._fill(None, final=False)
            self.chimes.step()
        elif action == "progress":
            self.mode, self.step_data = "step", data
            self._fill(data.get("measures"), final=False)
        elif action in ENDS:
            self._fill(data.get("measures"), final=True)
        elif action == "rest":
            self.mode, self.rest_ends_s = "rest", _number(data.get("ends_s"))
        elif action == "stopped":
            self.mode = "stopped"
            self.status_label.setText(words.STOPPED_TEXT.format(by=data.get("by") or "practitioner"))
        self.tick()
        return True

    def take_beat(self, t_s: float, rr_ms: float | None, flagged: bool) -> None:
        """One beat of the client's strap (session time): kept while it falls in a step's scored span."""
        if self.result is None:
            self.beats.beat(t_s, rr_ms, flagged)

    def tick(self) -> None:
        """Re-read the clock: the time left and the settling/measuring line (the window's frame timer)."""
        running = self.mode in ("step", "rest", "waiting") and self.result is None
        self.buttons["stop"].setEnabled(running)
        self.buttons["skip"].setEnabled(running and self.mode == "step")
        self.buttons["repeat"].setEnabled(running and self.step_data is not None)
        state = self.pacer.state()
        self.chimes.phase(state.phase if state is not None else None)
        if self.mode == "step" and self.step_data is not None:
            data, now = self.step_data, self._clock()
            self.rate_label.setText(words.RATE_TEXT.format(rate=float(data.get("rate_bpm", 0.0))))
            step, count = int(data.get("step", 0)) + 1, self.count or int(data.get("step", 0)) + 1
            again = int(data.get("index", 0)) != int(data.get("step", 0))
            self.step_label.setText((words.STEP_AGAIN_TEXT if again else words.STEP_TEXT).format(number=step, count=count))
            scored_from = _number(data.get("scored_from_s"))
            settling = scored_from is not None and now < scored_from
            self.status_label.setText(words.SETTLE_TEXT.format(settle=self.settle_s) if settling else words.MEASURING_TEXT)
            ends = _number(data.get("ends_s"))
            self.time_label.setText("" if ends is None else words.TIME_LEFT_TEXT.format(left=words.clock_text(ends - now)))
        elif self.mode == "rest":
            self.status_label.setText(words.REST_TEXT)
            ends = self.rest_ends_s
            self.time_label.setText("" if ends is None else words.REST_LEFT_TEXT.format(
                left=words.clock_text(ends - self._clock())))
        elif self.mode in ("done", "stopped"):
            self.time_label.setText("")

    # --- results -----------------------------------------------------------------------------------

    def show_result(self, result: Mapping[str, Any]) -> None:
        """The ``resonance`` event's data: the results, the best rate line and the rate to keep."""
        self.result = dict(result)
        if self.mode != "stopped":
            self.mode = "done"
            self.status_label.setText(words.DONE_TEXT)
        self.pacer.set_pacer_model(None)
        try:
            self.results.show_result(ResonanceResult.from_dict(result), beats=self.beats.arrays())
        except (KeyError, TypeError, ValueError):
            self.results.best_label.setText(words.RESULT_UNREADABLE_TEXT)
        self.rate_choice.clear()
        for key in ("best_rate_bpm", "second_rate_bpm"):
            rate = _number(result.get(key))
            if rate is not None:
                self.rate_choice.addItem(f"{rate:g}")
        self.results_box.setVisible(True)
        self.tick()
        self._update_use_button()

    def chosen_rate(self) -> float | None:
        """The rate in the choice box (best, second or typed), or None when it is not a rate."""
        rate = _number(self.rate_choice.currentText().replace(",", "."))
        return rate if rate is not None and RATE_MIN_BPM <= rate <= RATE_MAX_BPM else None

    def use_chosen_rate(self) -> None:
        rate = self.chosen_rate()
        if rate is None:
            self.use_message.setText(words.RATE_BAD_TEXT)
            return
        self.use_message.setText(self._use_rate(rate) if self._use_rate is not None else "")

    def _update_use_button(self) -> None:
        rate = self.chosen_rate()
        self.use_button.setEnabled(rate is not None and self._use_rate is not None)
        shown = rate if rate is not None else 0.0
        self.use_button.setText(words.USE_RATE_TEXT.format(rate=shown, client=self._client) if self._client
                                else words.USE_RATE_NO_CLIENT.format(rate=shown))

    # --- helpers -----------------------------------------------------------------------------------

    def criteria_shown(self) -> dict[str, str]:
        """Each criterion row's text, by key (tests, the screenshot)."""
        return {key: label.text() for key, label in self.criteria.items()}

    def _fill(self, measures: Mapping[str, Any] | None, final: bool) -> None:
        for key, text in words.criteria_texts(measures, final).items():
            self.criteria[key].setText(text)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None
