"""The practitioner's co-regulation panel (issue #18), offscreen, driven by clicks.

* two simulated straps on ``dyad-in-phase`` (client strap1, practitioner strap2): the "Co-regulation"
  tab appears once the practitioner's strap streams, never on the client view; both heart rates are
  drawn on one time axis; PairWindows (computed by SynchronyTracker from the simulator's own heart
  models) show as bars with the latest window in words and the session so far;
* a confounded window is hatched and names its confound on hover;
* three straps: a pair selector picks which pair is shown.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from PySide6 import QtCore, QtGui

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from somafeedback.devices.simulator.dyad import load_dyad  # noqa: E402
from somafeedback.devices.simulator.physiology import HeartModel  # noqa: E402
from somafeedback.live.engine import Engine, EngineOptions, EngineSource  # noqa: E402
from somafeedback.regulation.exercises import load_exercises  # noqa: E402
from somafeedback.synchrony.confounds import ConfoundSpans  # noqa: E402
from somafeedback.synchrony.dyad import summarize  # noqa: E402
from somafeedback.synchrony.pair_window import PairWindow  # noqa: E402
from somafeedback.synchrony.tracker import SynchronyTracker  # noqa: E402

LEFT = QtCore.Qt.MouseButton.LeftButton
UNTIL_S = 420.0  # the first coupled span of dyad-in-phase (180-420 s) is inside
CHUNK_S = 10.0  # beats go to the tracker in chunks of this many session seconds, as the engine feeds it


def _beats(scenario, until_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    beats = HeartModel(scenario).beats_until(until_s)
    t = np.array([b.t_end_s for b in beats])
    return t, np.array([b.rr_1024 / 1.024 for b in beats]), np.zeros(len(t), dtype=bool)


def pair_windows(name: str, b_strap: str = "strap1", spans: ConfoundSpans = ConfoundSpans()) -> list[PairWindow]:
    """Real PairWindows: the dyad's two heart models through a SynchronyTracker, chunk by chunk."""
    dyad = load_dyad(name)
    a, b = _beats(dyad.practitioner, UNTIL_S), _beats(dyad.client, UNTIL_S)
    tracker = SynchronyTracker(spans=spans)
    out = []
    for end in np.arange(CHUNK_S, UNTIL_S + CHUNK_S, CHUNK_S):
        chunk = [tuple(x[(a_or_b[0] >= end - CHUNK_S) & (a_or_b[0] < end)] for x in a_or_b) for a_or_b in (a, b)]
        for window in tracker.update(a=chunk[0], b=chunk[1]):  # type: ignore[arg-type]
            s = summarize(tracker.windows, tracker.chance)
            out.append(PairWindow("strap2", b_strap, window, s["effect_size"], s["share_above_chance"]))
    return out


@pytest.fixture(scope="module")
def in_phase() -> list[PairWindow]:
    return pair_windows("dyad-in-phase")


def _dyad_window(qtbot, synchrony: bool):
    from somafeedback.ui.client_screen import ClientScreen
    from somafeedback.ui.practitioner_window import PractitionerWindow

    library = load_exercises()
    engine = Engine(EngineSource(simulate="dyad-in-phase", speed=8.0), EngineOptions(synchrony=synchrony), library)
    client = ClientScreen(engine.now_s)
    window = PractitionerWindow(engine, library, client)
    qtbot.addWidget(window)
    qtbot.addWidget(client)
    window.show()
    tabs_before = [window.plot_tabs.tabText(i) for i in range(window.plot_tabs.count())]
    engine.start()
    return window, client, tabs_before


@pytest.fixture
def dyad_window(qtbot):
    """The practitioner window on a simulated dyad whose engine measures no synchrony: the test feeds the windows."""
    window, client, tabs_before = _dyad_window(qtbot, synchrony=False)
    yield window, client, tabs_before
    window.engine.stop()


def test_the_engines_own_windows_reach_the_panel(qtbot) -> None:
    window, _client, _tabs = _dyad_window(qtbot, synchrony=True)
    try:
        tabs = window.plot_tabs
        qtbot.waitUntil(lambda: "Co-regulation" in [tabs.tabText(i) for i in range(tabs.count())], timeout=20000)
        click_tab(qtbot, tabs, "Co-regulation")
        panel = window.coregulation
        qtbot.waitUntil(lambda: len(panel.sync.rows) >= 1, timeout=30000)  # the first window: ~38 s of session time
        assert panel.words_text().startswith(("Latest window: heart rates", "Latest window: not enough clean beats"))
    finally:
        window.engine.stop()


def _points(curve) -> int:
    x = curve.getData()[0]
    return 0 if x is None else int(np.isfinite(curve.getData()[1]).sum())


def click_tab(qtbot, tabs, text: str) -> None:
    bar = tabs.tabBar()
    index = next(i for i in range(tabs.count()) if tabs.tabText(i) == text)
    qtbot.mouseClick(bar, LEFT, pos=bar.tabRect(index).center())
    assert tabs.currentIndex() == index


def test_two_straps_show_the_panel_with_both_heart_rates_and_the_windows(qtbot, dyad_window, in_phase) -> None:
    from somafeedback.ui.coregulation_panel import CoregulationPanel

    window, client, tabs_before = dyad_window
    assert "Co-regulation" not in tabs_before  # nothing before the practitioner's strap streams
    tabs = window.plot_tabs
    qtbot.waitUntil(lambda: "Co-regulation" in [tabs.tabText(i) for i in range(tabs.count())], timeout=20000)
    assert not client.findChildren(CoregulationPanel)  # never on the client view
    click_tab(qtbot, tabs, "Co-regulation")
    panel = window.coregulation
    qtbot.waitUntil(lambda: all(_points(c) > 5 for c in (panel.a_curve, panel.b_curve)), timeout=20000)
    for item in in_phase:  # what the engine's synchrony stage pushes through Engine.drain()
        window._take(item)
    qtbot.waitUntil(lambda: len(panel.sync.rows) == len(in_phase), timeout=5000)  # drawn by the frame timer
    latest = in_phase[-1]
    assert panel.words_text() == "Latest window: " + latest.text("you", "client")
    assert f"{100 * latest.share_above_chance:.0f} % of windows beyond chance" in panel.so_far.text()
    out = [pw for pw in in_phase if pw.window.above_chance]
    assert out and len(panel.sync.stars.data) == len(out)  # windows beyond chance carry a ★
    assert not panel.pair_box.isVisible()  # one pair: no selector


def test_a_confounded_window_is_hatched_and_named_on_hover(qtbot, in_phase) -> None:
    from somafeedback.ui.coregulation_panel import CoregulationPanel

    moving = pair_windows("dyad-in-phase", spans=ConfoundSpans(movement=((200.0, 215.0),)))
    panel = CoregulationPanel()
    qtbot.addWidget(panel)
    panel.show()
    for item in moving:
        panel.take(item)
    panel.redraw()
    marked = [k for k, pw in enumerate(moving) if "movement" in pw.window.confounds]
    assert marked and len(marked) < len(moving)
    brushes = panel.sync.bars.opts["brushes"]
    assert {brushes[k].style() for k in marked} == {QtCore.Qt.BrushStyle.BDiagPattern}
    window = moving[marked[0]].window
    text = panel.sync.text_at((window.start_s + window.end_s) / 2)
    assert text is not None and "(marked: movement)" in text
    # the hover tooltip: the point under the mouse carries the same words
    spot = panel.sync.hover.pointsAt(QtCore.QPointF((window.start_s + window.end_s) / 2, window.r))
    assert any("(marked: movement)" in str(p.data()) for p in spot)


def test_three_straps_choose_the_pair_shown(qtbot, in_phase) -> None:
    from somafeedback.ui.coregulation_panel import CoregulationPanel

    third = pair_windows("dyad-anti-phase", b_strap="strap3")
    panel = CoregulationPanel()
    qtbot.addWidget(panel)
    panel.show()
    for a, b in zip(in_phase, third):
        panel.take(a)
        panel.take(b)
    panel.redraw()
    assert panel.pair_box.isVisible() and panel.pair_box.count() == 2
    assert panel.pair() == ("strap2", "strap1")
    assert panel.words_text() == "Latest window: " + in_phase[-1].text("you", "client")
    panel.pair_box.setFocus()
    qtbot.keyClick(panel.pair_box, QtCore.Qt.Key.Key_Down)  # the selector, by keyboard as a user would
    assert panel.pair() == ("strap2", "strap3")
    assert panel.words_text() == "Latest window: " + third[-1].text("you", "person on strap3")
    panel.redraw()
    shown = [round(r, 9) for r in panel.sync.bars.opts["height"]]
    assert shown == [round(pw.window.r, 9) for pw in third if pw.window.r is not None]
    assert "person on strap3" in panel.lag_plot.titleLabel.text
