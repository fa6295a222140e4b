"""The review window as a review tool, offscreen, driven by mouse and keys on a recorded session.

The whole session drawn at once (not cleared by a seek), clicks that go there and pause at any
speed, notes and phase marks landing at the cursor, dragged segments whose statistics match
independent numpy computations, two segments side by side, Poincaré SD1/SD2 and the spectrum.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets
from recording_helpers import record_simulated

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from somafeedback.devices.events import GapEvent  # noqa: E402
from somafeedback.regulation.exercises import load_exercises  # noqa: E402
from somafeedback.sessions.review_notes import review_notes  # noqa: E402
from somafeedback.sessions.beats import decode_beats  # noqa: E402
from somafeedback.sessions.file import read_session  # noqa: E402

LEFT = QtCore.Qt.MouseButton.LeftButton
SESSION_S = 480.0


@pytest.fixture(scope="module")
def library():
    return load_exercises()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """480 s of the dropout scenario (a link loss near 300 s), recorded through the simulated strap."""
    path = tmp_path_factory.mktemp("recorded") / "dropout.session.sqlite"
    return record_simulated(path, "dropout", SESSION_S, markers=[(30.0, "marker", {"label": "resource"})])


@pytest.fixture
def library_folder(qapp, tmp_path: Path):
    """The user's library folder, set in the app's settings; the setting is removed afterwards."""
    from somafeedback.ui.settings import AppSettings

    settings = AppSettings()
    folder = tmp_path / "data" / "library"
    settings.set("recordings/folder", str(folder))
    yield folder
    settings.store.remove("recordings/folder")
    settings.store.sync()


@pytest.fixture(autouse=True)
def every_mouse_move():
    """pyqtgraph drops mouse moves closer than 1/100 s apart: let every one through (no wall-clock in the tests)."""
    import pyqtgraph as pg

    before = pg.getConfigOption("mouseRateLimit")
    pg.setConfigOption("mouseRateLimit", 0)
    yield
    pg.setConfigOption("mouseRateLimit", before)


@pytest.fixture
def window(qtbot, library, library_folder, recorded):
    """The review window on the user's own copy of the recording (notes go into it)."""
    from somafeedback.ui.replay_window import ReplayWindow

    library_folder.mkdir(parents=True, exist_ok=True)
    path = library_folder / recorded.name
    shutil.copyfile(recorded, path)
    path.chmod(0o600)
    shown = ReplayWindow(path, library)
    qtbot.addWidget(shown)
    shown.show()
    qtbot.waitExposed(shown)
    return shown


def settle(qtbot, window, at_s: float | None = None) -> None:
    qtbot.waitUntil(lambda: window._pending_seek is None, timeout=10000)
    if at_s is not None:
        qtbot.waitUntil(lambda: abs(window.position_s() - at_s) < 1.5, timeout=10000)


def view_x(widget, point: QtCore.QPoint, plot) -> float:
    """The session time under a widget pixel of a plot (what a click there means)."""
    return float(plot.getViewBox().mapSceneToView(widget.mapToScene(point)).x())


def drag(qtbot, widget: QtWidgets.QGraphicsView, start: QtCore.QPoint, end: QtCore.QPoint, steps: int = 12) -> None:
    """Press at ``start``, move with the button held to ``end`` in steps, release (real mouse events)."""
    viewport = widget.viewport()
    qtbot.mousePress(viewport, LEFT, pos=start)
    for i in range(1, steps + 1):  # moves with the button held, straight to the viewport (wherever the screen is)
        at = QtCore.QPointF(start + (end - start) * (i / steps))
        move = QtGui.QMouseEvent(QtCore.QEvent.Type.MouseMove, at, viewport.mapToGlobal(at),
                                 QtCore.Qt.MouseButton.NoButton, LEFT, QtCore.Qt.KeyboardModifier.NoModifier)
        QtWidgets.QApplication.sendEvent(viewport, move)
    qtbot.mouseRelease(viewport, LEFT, pos=end)


def drag_edge(qtbot, window, name: str, edge: int, to_s: float) -> None:
    """Drag segment ``name``'s edge (0 left, 1 right) on the heart-rate plot to ``to_s``."""
    plots = window.session_plots
    line = plots.regions[name].lines[edge]
    drag(qtbot, plots, plots.pixel_of(float(line.value())), plots.pixel_of(to_s))


def reference_beats(path: Path, origin_ns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The recorded beats (session seconds, RR ms, flagged, gap-free segment), decoded as the live path does."""
    strap = decode_beats(read_session(path).timeline)["strap1"]
    t = np.array([b.t_s for b in strap.beats]) - origin_ns / 1e9
    return t, np.array([b.rr_ms for b in strap.beats]), np.array(strap.flagged, dtype=bool), np.array(
        [b.segment for b in strap.beats])


def reference_stats(beats, low: float, high: float) -> dict[str, float]:
    """Textbook formulas on the stretch's beats: flagged beats out, differences only of adjacent accepted pairs."""
    t, rr, flagged, parts = beats
    inside = (t >= low) & (t <= high)
    x, bad, part = rr[inside], flagged[inside], parts[inside]
    pairs = [(a, b) for a, b, fa, fb, pa, pb in zip(x[:-1], x[1:], bad[:-1], bad[1:], part[:-1], part[1:], strict=True)
             if not fa and not fb and pa == pb]
    first, second = np.array([a for a, _ in pairs]), np.array([b for _, b in pairs])
    d = second - first
    good = x[~bad]
    return {
        "hr": float(np.mean(60000.0 / good)),
        "rmssd": math.sqrt(float(np.mean(d**2))),
        "sdnn": float(np.std(good, ddof=1)),
        "pnn50": 100.0 * float(np.mean(np.abs(d) > 50.0)),
        "artifacts": 100.0 * float(np.mean(bad)),
        "sd1": float(np.std((second - first) / math.sqrt(2.0), ddof=1)),  # across the identity line
        "sd2": float(np.std((second + first) / math.sqrt(2.0), ddof=1)),  # along it
        "n": float(inside.sum()),
        "pairs": (first, second),
    }


def test_the_whole_session_is_drawn_and_a_seek_does_not_clear_it(qtbot, window) -> None:
    from somafeedback.ui.time_axis import MinutesSecondsAxis

    plots = window.session_plots
    drawn = plots.drawn()
    x, hr = drawn["hr"]
    assert x[0] < 5.0 and x[-1] > window.duration_s - 5.0  # the entire session, not the last 10 minutes
    finite = hr[np.isfinite(hr)]
    assert len(finite) > 300 and 40 < float(np.median(finite)) < 120
    assert np.isfinite(drawn["rmssd"][1]).sum() > 100 and np.isfinite(drawn["breath"][1]).sum() > 5
    for plot in (*plots.plots, window.strip.getPlotItem()):
        assert isinstance(plot.getAxis("bottom"), MinutesSecondsAxis)
    low, high = plots.x_range()
    assert low <= 0.0 and high >= window.duration_s
    window.set_speed(math.inf)
    window.seek_s(300.0)
    settle(qtbot, window)
    qtbot.waitUntil(lambda: window.plots.rr.n > 5, timeout=10000)  # the live-style view refilled from 300 s ...
    after = plots.drawn()  # ... the whole-session view is as it was
    for key in ("hr", "rmssd", "breath"):
        assert np.array_equal(after[key][0], drawn[key][0])
        assert np.array_equal(after[key][1], drawn[key][1], equal_nan=True)
    qtbot.waitUntil(lambda: abs(plots.cursor_s() - window.position_s()) < 2.0, timeout=5000)  # the cursor moves with it


def test_wheel_zooms_in_time_the_strip_follows_and_whole_session_resets(qtbot, window) -> None:
    plots = window.session_plots
    window.pause()
    at = plots.pixel_of(200.0)
    viewport = plots.viewport()
    for _ in range(3):
        wheel = QtGui.QWheelEvent(QtCore.QPointF(at), QtCore.QPointF(viewport.mapToGlobal(at)), QtCore.QPoint(0, 0),
                                  QtCore.QPoint(0, 120), QtCore.Qt.MouseButton.NoButton,
                                  QtCore.Qt.KeyboardModifier.NoModifier,
                                  QtCore.Qt.ScrollPhase.NoScrollPhase, False)
        QtWidgets.QApplication.sendEvent(viewport, wheel)
    qtbot.waitUntil(lambda: plots.x_range()[1] - plots.x_range()[0] < 0.8 * window.duration_s, timeout=5000)
    low, high = plots.x_range()
    assert low < 200.0 < high  # zoomed about the mouse
    for plot in plots.plots:  # the three plots share the zoom, and so does the strip
        assert plot.getViewBox().viewRange()[0] == pytest.approx([low, high])
    assert window.strip.getPlotItem().getViewBox().viewRange()[0] == pytest.approx([low, high])
    qtbot.mouseClick(window.whole_button, LEFT)
    low, high = plots.x_range()
    assert low <= 0.0 and high >= window.duration_s


@pytest.mark.parametrize("speed", ["as fast as possible", "1×"])
def test_a_click_on_the_plots_or_the_strip_goes_there_and_pauses_and_the_note_lands_at_the_cursor(
        qtbot, window, speed) -> None:
    window.speed_box.setCurrentIndex(window.speed_box.findText(speed))
    qtbot.waitUntil(lambda: window.position_s() > 0.5, timeout=10000)
    plots = window.session_plots
    where = plots.pixel_of(200.0, plots.rmssd_plot)
    clicked_s = view_x(plots, where, plots.rmssd_plot)
    qtbot.mouseClick(plots.viewport(), LEFT, pos=where)
    assert window.is_paused()
    settle(qtbot, window, at_s=clicked_s)
    assert window.position_s() == pytest.approx(clicked_s, abs=0.01)
    assert plots.cursor_s() == pytest.approx(clicked_s, abs=0.01)  # the cursor on the moment clicked
    assert window.strip.position.value() == pytest.approx(clicked_s, abs=0.01)

    window.play()  # playing again; a click on the strip pauses too
    strip_at = window.strip.x_of_view(350.0)
    strip_s = view_x(window.strip, strip_at, window.strip.getPlotItem())
    qtbot.mouseClick(window.strip.viewport(), LEFT, pos=strip_at)
    assert window.is_paused()
    settle(qtbot, window, at_s=strip_s)
    qtbot.waitUntil(lambda: window.engine.finished.is_set() or window.engine.replay.paused, timeout=5000)
    qtbot.wait(100)  # paused: the position holds (no wall-clock rate is asserted)
    assert window.position_s() == pytest.approx(strip_s, abs=0.01)

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_N)
    qtbot.waitUntil(window.note_field.hasFocus, timeout=5000)
    qtbot.keyClicks(window.note_field, "feet on the floor here")
    qtbot.keyClick(window.note_field, QtCore.Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.note_field.text() == "", timeout=5000)
    (note,) = review_notes(read_session(window.path))
    assert note.data["text"] == "feet on the floor here"
    assert (note.host_ns - window.origin_ns) / 1e9 == pytest.approx(strip_s, abs=0.01)  # at the cursor


def test_a_dragged_segment_gives_the_statistics_of_its_beats(qtbot, window) -> None:
    window.pause()
    review = window.segments
    drag_edge(qtbot, window, "A", 0, 140.0)  # after the contact loss at 2:00-2:15, before the link drop at 5:00
    drag_edge(qtbot, window, "A", 1, 295.0)
    low, high = window.session_plots.segment_bounds("A")
    assert low == pytest.approx(140.0, abs=3.0) and high == pytest.approx(295.0, abs=3.0)  # where the mouse left it
    assert review.choosers["A"].currentText() == "the selection on the plot"
    ref = reference_stats(reference_beats(window.path, window.origin_ns), low, high)
    table = review.table
    for key in ("hr", "rmssd", "sdnn", "pnn50", "artifacts", "sd1", "sd2"):
        assert table.value("A", key) == pytest.approx(ref[key], rel=1e-9), key
    assert table.text("A", "rmssd") == f"{ref['rmssd']:.1f}"
    assert table.text("A", "beats").endswith(f"/ {int(ref['n'])}")
    assert table.value("A", "validity") is True and table.text("A", "validity") == "valid"
    assert table.value("A", "lf") is not None and table.value("A", "hf") is not None
    assert table.value("A", "breathing") is not None
    assert table.value("A", "stretch") == pytest.approx(high - low)
    # Poincaré: the adjacent accepted pairs, SD1/SD2 stated
    x, y = review.poincare.scatters["A"].getData()
    assert np.array_equal(x, ref["pairs"][0]) and np.array_equal(y, ref["pairs"][1])
    assert f"SD1 {ref['sd1']:.1f} ms · SD2 {ref['sd2']:.1f} ms" in review.poincare.title_text()
    # the spectrum of the stretch, with the LF and HF bands shaded
    freqs, psd = review.spectrum.curves["A"].getData()
    assert len(freqs) > 20 and freqs[0] == 0.0 and freqs[-1] <= 0.5 and np.all(psd >= 0)
    assert review.spectrum.bands["LF"].getRegion() == pytest.approx((0.04, 0.15))
    assert review.spectrum.bands["HF"].getRegion() == pytest.approx((0.15, 0.40))
    assert "A: " in review.spectrum.title_text() and "s analysed" in review.spectrum.title_text()


def test_two_segments_side_by_side_and_across_a_gap(qtbot, window) -> None:
    window.pause()
    review = window.segments
    qtbot.mouseClick(review.add_b_button, LEFT)
    assert "B" in window.session_plots.regions and not review.add_b_button.isEnabled()
    gap_s = next((e.start_ns - window.origin_ns) / 1e9 for e in read_session(window.path).events
                 if isinstance(e, GapEvent))  # the link drop near 5:00
    drag_edge(qtbot, window, "B", 0, gap_s - 60.0)
    drag_edge(qtbot, window, "B", 1, gap_s + 60.0)
    beats = reference_beats(window.path, window.origin_ns)
    table = review.table
    for name in ("A", "B"):
        low, high = window.session_plots.segment_bounds(name)
        ref = reference_stats(beats, low, high)
        assert table.value(name, "rmssd") == pytest.approx(ref["rmssd"], rel=1e-9)
        assert table.value(name, "hr") == pytest.approx(ref["hr"], rel=1e-9)
    assert table.value("A", "rmssd") != table.value("B", "rmssd")
    # B spans the link loss: no spectrum across it, said so; the time domain still holds
    assert table.value("B", "lf") is None and table.text("B", "lf") == "—" and "gap" in table.text("B", "notes")
    assert "B: no spectrum" in review.spectrum.title_text()
    assert len(review.poincare.scatters["B"].getData()[0]) > 50


def test_phases_marked_at_the_cursor_are_saved_and_chosen_as_segments(qtbot, window) -> None:
    window.pause()
    review = window.segments
    assert window.phases() == []  # the dropout recording has no phase marks and no measured baseline
    for at_s, phase in ((20.0, "baseline"), (140.0, "practice"), (400.0, "recovery")):
        qtbot.mouseClick(window.strip.viewport(), LEFT, pos=window.strip.x_of_view(at_s))
        settle(qtbot, window)
        window.phase_box.setCurrentIndex(window.phase_box.findText(phase))
        qtbot.mouseClick(window.phase_button, LEFT)
    marks = [n for n in review_notes(read_session(window.path)) if "phase" in n.data]
    assert [n.data["phase"] for n in marks] == ["baseline", "practice", "recovery"]
    starts = [(n.host_ns - window.origin_ns) / 1e9 for n in marks]
    assert starts == pytest.approx([20.0, 140.0, 400.0], abs=2.0)
    phases = window.phases()
    assert [p.label for p in phases] == ["baseline", "practice", "recovery"]
    assert [p.start_s for p in phases] == pytest.approx(starts)
    assert phases[-1].end_s == pytest.approx(window.duration_s)
    drawn = window.session_plots.phase_lines  # and drawn on the whole session, named
    assert [line.value() for line in drawn] == pytest.approx(starts)
    assert [line.label.format for line in drawn] == ["baseline", "practice", "recovery"]
    # choose the baseline for A from its combo box, with the keyboard
    box = review.choosers["A"]
    box.setFocus()
    qtbot.waitUntil(box.hasFocus, timeout=5000)
    qtbot.keyClick(box, QtCore.Qt.Key.Key_Down)
    assert box.currentText().startswith("baseline")
    assert window.session_plots.segment_bounds("A") == pytest.approx((phases[0].start_s, phases[0].end_s))
    ref = reference_stats(reference_beats(window.path, window.origin_ns), phases[0].start_s, phases[0].end_s)
    assert review.table.value("A", "rmssd") == pytest.approx(ref["rmssd"], rel=1e-9)
    assert "baseline" in review.table.text("A", "stretch")
    window.close()
    again = type(window)(window.path, window.exercises)  # reopened: the marks are read back as phases
    try:
        assert [p.label for p in again.phases()] == ["baseline", "practice", "recovery"]
    finally:
        again.close()


def test_the_words_are_those_of_a_wellness_tool(window) -> None:
    review = window.segments
    table = review.table
    words = [table.verticalHeaderItem(i).text() for i in range(table.rowCount())]
    words += [table.horizontalHeaderItem(i).text() for i in range(table.columnCount())]
    words += [table.toolTip(), review.poincare.title_text(), review.spectrum.title_text(),
              *(p.titleLabel.text for p in window.session_plots.plots)]
    text = " ".join(words).lower()
    for word in ("stress", "diagnos", "disorder", "abnormal", "patient", "sympathetic", "health"):
        assert word not in text, word
    assert "ratio of the two powers" in text and "(bpm)" in text and "(ms)" in text and "(ms²)" in text


def test_the_conventions_setting_is_what_the_segment_table_computes(qtbot, library, library_folder, recorded) -> None:
    """Settings → "LF/HF in reviews and reports": the segment table's LF and HF are made under that set."""
    from somafeedback.hrv.conventions import TASK_FORCE
    from somafeedback.sessions.segments import Segment, segment_stats
    from somafeedback.ui.replay_window import ReplayWindow
    from somafeedback.ui.settings import CONVENTIONS_KEY, AppSettings

    settings = AppSettings()
    settings.set(CONVENTIONS_KEY, "task-force")
    try:
        library_folder.mkdir(parents=True, exist_ok=True)
        path = library_folder / f"tf-{recorded.name}"
        shutil.copyfile(recorded, path)
        shown = ReplayWindow(path, library)
        qtbot.addWidget(shown)
        shown.show()
        qtbot.waitExposed(shown)
        shown.pause()
        drag_edge(qtbot, shown, "A", 0, 140.0)
        drag_edge(qtbot, shown, "A", 1, 295.0)
        low, high = shown.session_plots.segment_bounds("A")
        b = shown.segments.beats
        task_force = segment_stats(Segment("A", low, high), b.t_s, b.rr_ms, b.flagged, b.gap_segments, TASK_FORCE)
        kubios = segment_stats(Segment("A", low, high), b.t_s, b.rr_ms, b.flagged, b.gap_segments)
        assert shown.segments.table.value("A", "lf") == pytest.approx(task_force.lf_ms2, rel=1e-12)
        assert shown.segments.table.value("A", "hf") == pytest.approx(task_force.hf_ms2, rel=1e-12)
        assert task_force.lf_ms2 != pytest.approx(kubios.lf_ms2, rel=1e-3)
        assert "task-force conventions" in shown.segments.stats["A"].conventions
    finally:
        settings.store.remove(CONVENTIONS_KEY)


def test_the_nonlinear_button_fills_dfa_and_sample_entropy_for_the_segment(qtbot, window) -> None:
    from somafeedback.hrv.nonlinear import segment_indices

    window.pause()
    review = window.segments
    drag_edge(qtbot, window, "A", 0, 140.0)
    drag_edge(qtbot, window, "A", 1, 295.0)
    assert review.table.value("A", "dfa1") is None and "Nonlinear indices" in review.table.item(
        review.table.row_of("dfa1"), 0).toolTip()
    qtbot.mouseClick(review.nonlinear_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: review.table.value("A", "dfa1") is not None, timeout=60000)
    low, high = window.session_plots.segment_bounds("A")
    b = review.beats
    inside = (b.t_s >= low) & (b.t_s <= high) & ~b.flagged
    expected = segment_indices(b.rr_ms[inside], b.t_s[inside])
    assert review.table.value("A", "dfa1") == pytest.approx(expected["dfa_alpha1"], rel=1e-12)
    assert review.table.value("A", "sampen") == pytest.approx(expected["sample_entropy"], rel=1e-12)
    assert review.table.text("A", "dfa1") == f"{expected['dfa_alpha1']:.2f}"
