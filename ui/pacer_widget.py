"""The breathing pacer drawn as a calm shape: a soft circle that grows on the in-breath.

The widget never counts timer ticks. Each paint asks the injected session clock for the
time and draws ``Pacer.at(clock()).target_level`` (see :mod:`somafeedback.regulation.pacer`), so a
dropped frame skips nothing, a late frame catches nothing up, and a simulated clock at
``--speed 10`` or a paused replay just works. The frame timer (about 30 fps) only asks for
a repaint, and it runs only while the widget is visible and a pacer is set.

With no pacer the widget draws nothing (the parent's resting background shows through).
Numbers are never drawn; an optional phase word ("breathe in", "hold", "breathe out") can
be shown under the shape. All geometry is in device-independent pixels, so the shape has
the same size and smoothness on high-DPI screens.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from PySide6 import QtCore, QtGui, QtWidgets

from somafeedback.regulation.pacer import Pacer, PacerSettings, PacerState, Phase

FRAME_INTERVAL_MS: Final = 33  # ~30 fps: smooth enough for a slow breath, light on the CPU

# The words the client may see under the shape (no numbers, no judgements).
PHASE_LABELS: Final[dict[Phase, str]] = {
    "inhale": "breathe in",
    "hold_in": "hold",
    "exhale": "breathe out",
    "hold_out": "hold",
}

# Geometry, as fractions of the largest circle that fits the drawing area.
MAX_RADIUS_FRACTION: Final = 0.92  # full lungs: a little margin to the edge
MIN_RADIUS_FRACTION: Final = 0.38  # empty lungs: still a clear, soft disc

# Okabe-Ito sky blue and blue (colour-blind safe), softened; no red anywhere.
FILL_INNER: Final = QtGui.QColor(168, 214, 240, 235)
FILL_OUTER: Final = QtGui.QColor(86, 180, 233, 215)
EDGE: Final = QtGui.QColor(0, 114, 178, 90)
GUIDE: Final = QtGui.QColor(0, 114, 178, 45)
LABEL_COLOUR: Final = QtGui.QColor(59, 74, 84)


class PacerWidget(QtWidgets.QWidget):
    """A breathing pacer shape driven by session time.

    ``clock`` returns session seconds; it is read on every paint (change it only with
    :meth:`set_clock`). Use :meth:`set_pacer`
    to start, retime (phase-continuously) or hide the pacer, or :meth:`set_pacer_model`
    to draw a :class:`~somafeedback.regulation.pacer.Pacer` built elsewhere.
    """

    def __init__(self, clock: Callable[[], float], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._clock = clock
        self._pacer: Pacer | None = None
        self._phase_label_visible = False
        self._last_drawn_radius: float | None = None
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(FRAME_INTERVAL_MS)
        self._timer.timeout.connect(self.update)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent, False)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)
        self.setAccessibleName("breathing pacer")

    # --- clock ----------------------------------------------------------------------------

    @property
    def clock(self) -> Callable[[], float]:
        """The session clock the widget reads (set it with :meth:`set_clock`)."""
        return self._clock

    def set_clock(self, clock: Callable[[], float]) -> None:
        """Read session time from ``clock`` from now on (GUI thread).

        A pacer's start and change times belong to the clock they were taken on, so a new
        clock also forgets the pacer (the shape hides until a new one is set).
        """
        if clock == self._clock:  # == : a bound method (engine.now_s) is a new object on each access
            return
        self._clock = clock
        self.set_pacer_model(None)

    # --- pacer ----------------------------------------------------------------------------

    def set_pacer(self, settings: PacerSettings | None, at_s: float | None = None) -> None:
        """Show the pacer with ``settings`` from session time ``at_s`` (default: now).

        A first call starts a breath (an inhale) at ``at_s``. Later calls keep the breath
        position and apply the new timing from ``at_s`` on (phase-continuous, see
        :meth:`Pacer.set_settings`); a time before the last change counts as that change's
        time. ``None`` hides the shape and forgets the pacer.
        """
        if settings is None:
            self.set_pacer_model(None)
            return
        at = self._clock() if at_s is None else float(at_s)
        if self._pacer is None:
            self.set_pacer_model(Pacer(settings, at))
            return
        last_change = self._pacer.changes[-1][0]
        self._pacer.set_settings(settings, max(at, last_change))
        self.update()

    def set_pacer_model(self, pacer: Pacer | None) -> None:
        """Draw ``pacer`` (or nothing for ``None``); the widget reads it, never changes it."""
        self._pacer = pacer
        self._last_drawn_radius = None
        self._sync_timer()
        self.update()

    def pacer(self) -> Pacer | None:
        return self._pacer

    def has_pacer(self) -> bool:
        return self._pacer is not None

    def state(self) -> PacerState | None:
        """The pacer at the clock's current time, or ``None`` with no pacer."""
        return None if self._pacer is None else self._pacer.at(self._clock())

    def current_level(self) -> float | None:
        """The drawn lung level now (0 empty .. 1 full), or ``None`` with no pacer."""
        state = self.state()
        return None if state is None else state.target_level

    def current_radius(self) -> float:
        """The radius the next paint draws, in device-independent pixels (0 with no pacer)."""
        level = self.current_level()
        return 0.0 if level is None else self.radius_for_level(level)

    def radius_for_level(self, level: float) -> float:
        """The circle radius for a lung level at the widget's current size."""
        full = self._full_radius()
        level = min(max(level, 0.0), 1.0)
        return full * (MIN_RADIUS_FRACTION + (MAX_RADIUS_FRACTION - MIN_RADIUS_FRACTION) * level)

    def last_drawn_radius(self) -> float | None:
        """The radius of the last paint (``None`` before one, or with no pacer)."""
        return self._last_drawn_radius

    def frame_timer_active(self) -> bool:
        return self._timer.isActive()

    # --- phase label ----------------------------------------------------------------------

    def phase_label_visible(self) -> bool:
        return self._phase_label_visible

    def set_phase_label_visible(self, visible: bool) -> None:
        """Show or hide the phase word under the shape (hidden by default)."""
        self._phase_label_visible = bool(visible)
        self.update()

    phaseLabelVisible = QtCore.Property(bool, phase_label_visible, set_phase_label_visible)

    def current_phase_label(self) -> str | None:
        """The phase word now, or ``None`` when it is hidden or there is no pacer."""
        state = self.state()
        if state is None or not self._phase_label_visible:
            return None
        return PHASE_LABELS[state.phase]

    # --- Qt -------------------------------------------------------------------------------

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(320, 320)

    def minimumSizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(120, 120)

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self._sync_timer()

    def hideEvent(self, event: QtGui.QHideEvent) -> None:
        super().hideEvent(event)
        self._sync_timer()

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        state = self.state()
        if state is None:
            self._last_drawn_radius = None
            return
        painter = QtGui.QPainter(self)
        try:
            painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
            area = self._shape_area()
            centre = area.center()
            full = self._full_radius()
            radius = self.radius_for_level(state.target_level)

            # A faint ring where the full breath reaches: something calm to grow towards.
            painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            painter.setPen(QtGui.QPen(GUIDE, 1.5))
            painter.drawEllipse(centre, full * MAX_RADIUS_FRACTION, full * MAX_RADIUS_FRACTION)

            gradient = QtGui.QRadialGradient(centre, max(radius, 1.0))
            gradient.setColorAt(0.0, FILL_INNER)
            gradient.setColorAt(1.0, FILL_OUTER)
            painter.setBrush(QtGui.QBrush(gradient))
            painter.setPen(QtGui.QPen(EDGE, 2.0))
            painter.drawEllipse(centre, radius, radius)

            if self._phase_label_visible:
                font = QtGui.QFont(self.font())
                font.setPixelSize(self._label_pixel_size())
                painter.setFont(font)
                painter.setPen(LABEL_COLOUR)
                label_area = QtCore.QRectF(0.0, area.bottom(), float(self.width()), self._label_height())
                painter.drawText(label_area, QtCore.Qt.AlignmentFlag.AlignCenter, PHASE_LABELS[state.phase])
            self._last_drawn_radius = radius
        finally:
            painter.end()

    # --- helpers --------------------------------------------------------------------------

    def _sync_timer(self) -> None:
        if self._pacer is not None and self.isVisible():
            if not self._timer.isActive():
                self._timer.start()
        else:
            self._timer.stop()

    def _label_pixel_size(self) -> int:
        return max(14, min(36, round(min(self.width(), self.height()) * 0.07)))

    def _label_height(self) -> float:
        return self._label_pixel_size() * 2.0 if self._phase_label_visible else 0.0

    def _shape_area(self) -> QtCore.QRectF:
        """Where the circle lives: the widget minus the phase-word strip at the bottom."""
        return QtCore.QRectF(0.0, 0.0, float(self.width()), max(float(self.height()) - self._label_height(), 0.0))

    def _full_radius(self) -> float:
        area = self._shape_area()
        return max(min(area.width(), area.height()) / 2.0, 0.0)
