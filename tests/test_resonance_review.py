"""A recorded breathing-rate assessment in the review window ("Breathing rate" tab) and the session report (#19).

The session is written in the test with the project's SessionWriter: one Heart Rate notification per beat
(the RR rising and falling with each paced breath) and the assessment's ``resonance-step`` / ``resonance``
events in the documented format (somafeedback/resonance/events.py); the third step could not be assessed.
The heart-rate series are checked against 60000/RR computed here from the RR written.
"""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from manual_clock import ManualClock  # noqa: E402

from somafeedback.devices.events import Notification, TimelineEvent  # noqa: E402
from somafeedback.devices.gatt_uuids import HEART_RATE_MEASUREMENT  # noqa: E402
from somafeedback.regulation.exercises import load_exercises  # noqa: E402
from somafeedback.reports.content import session_content  # noqa: E402
from somafeedback.resonance.events import RESULT_EVENT, STEP_EVENT  # noqa: E402
from somafeedback.regulation.assessment_protocol import ResonanceProtocol  # noqa: E402
from somafeedback.resonance.result import ResonanceResult, StepMeasures  # noqa: E402
from somafeedback.sessions.file import SessionWriter  # noqa: E402

LEFT = QtCore.Qt.MouseButton.LeftButton
PROTOCOL = ResonanceProtocol(rates_bpm=(6.0, 5.5, 5.0), step_s=60.0, settle_s=15.0, rest_s=10.0)
START_S = 20.0  # s of ordinary breathing before the assessment
NOT_FOLLOWING = "the breathing did not follow the pacer (following 20 % of the time)"
WEIGHTS = {"peak_trough_hr": 0.4, "lf_power": 0.3, "lf_peak": 0.2, "phase": 0.1}


def _rr_ticks(t_s: float) -> int:
    """RR (1/1024 s) at ``t_s``: ~67 bpm swinging with the step's paced rate (or 12/min outside the steps)."""
    rate = 12.0
    for k, r in enumerate(PROTOCOL.rates_bpm):
        start = START_S + k * (PROTOCOL.step_s + PROTOCOL.rest_s)
        if start <= t_s < start + PROTOCOL.step_s:
            rate = r
    rr_ms = 900.0 + 60.0 * math.sin(2 * math.pi * rate / 60.0 * t_s)
    return round(rr_ms * 1.024)


def _measures(k: int, rate: float, t0: float, t1: float) -> StepMeasures:
    base = StepMeasures(index=k, step=k, rate_bpm=rate, t0_s=t0, t1_s=t1, beats=50, flagged_share=0.0, breaths=4,
                        peak_trough_hr_bpm=9.0 + k, lf_power_ms2=1800.0 + 100 * k, lf_peak_hz=rate / 60.0,
                        lf_peak_amplitude_ms2_per_hz=9000.0, spectral_peaks=1, hr_breath_phase_deg=-10.0 + 5 * k,
                        breathing_source="acc", following_share=0.9, following_checked=True, following=True,
                        assessable=True)
    if k == 2:
        return StepMeasures(index=k, step=k, rate_bpm=rate, t0_s=t0, t1_s=t1, beats=50, following_share=0.2,
                            following_checked=True, following=False, assessable=False, reason=NOT_FOLLOWING)
    return base.with_score((0.62, 0.81)[k], (2, 1)[k])


def _write_session(path: Path, assessment: bool = True, result_data: dict | None = None,
                   finished: bool = True) -> tuple[Path, np.ndarray, np.ndarray]:
    """The session file, the beat times (s) and RRs (ms) written."""
    clock = ManualClock()
    writer = SessionWriter(path, clock, {"client": "Client R", "mode": "home"})
    events: list[tuple[float, dict]] = []
    steps = []
    if assessment:
        events.append((START_S - 0.5, {"action": "begin", "protocol": PROTOCOL.as_dict(), "planned_s": 200.0,
                                       "client": None}))
        for k, rate in enumerate(PROTOCOL.rates_bpm):
            start = START_S + k * (PROTOCOL.step_s + PROTOCOL.rest_s)
            t0, t1 = start + PROTOCOL.settle_s, start + PROTOCOL.step_s
            events.append((start, {"action": "start", "index": k, "step": k, "rate_bpm": rate, "inhale_share": 0.4,
                                   "started_s": start, "scored_from_s": t0, "ends_s": t1}))
            steps.append(_measures(k, rate, t0, t1))
            if finished or k < 2:
                events.append((t1, {"action": "end", "index": k, "step": k, "rate_bpm": rate,
                                    "measures": steps[-1].as_dict()}))
        if finished:
            result = ResonanceResult(tuple(steps), WEIGHTS, PROTOCOL.as_dict(), best_rate_bpm=5.5, second_rate_bpm=6.0)
            events.append((t1 + 1.0, result.as_dict() if result_data is None else result_data))
    end_s = START_S + PROTOCOL.duration_s + 5.0
    times, rrs, seq = [], [], 0
    t = 0.0
    pending = sorted(events, key=lambda e: e[0])
    while t < end_s:
        ticks = _rr_ticks(t)
        t += ticks / 1024
        while pending and pending[0][0] <= t:
            at, data = pending.pop(0)
            clock.t = at
            kind = RESULT_EVENT if "action" not in data else STEP_EVENT
            writer.event(TimelineEvent(kind, clock.now_ns(), clock.wall_time(), data))
        clock.t = t
        seq += 1
        payload = bytes([0x10, round(60000 / (ticks / 1.024))]) + struct.pack("<H", ticks)
        writer.notification(Notification("strap1", HEART_RATE_MEASUREMENT, seq, clock.now_ns(), clock.wall_time(),
                                         payload))
        times.append(t)
        rrs.append(ticks * 1000 / 1024)
    writer.close("stopped")
    return path, np.array(times), np.array(rrs)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    return _write_session(tmp_path_factory.mktemp("resonance") / "assessment.session.sqlite")


def _open_tab(qtbot, path: Path, library: Path):
    from somafeedback.ui.replay_window import ReplayWindow
    from somafeedback.ui.resonance_results import RESONANCE_TAB

    window = ReplayWindow(path, load_exercises(), recordings=library)
    qtbot.addWidget(window)
    window.show()
    tabs = window.tabs
    index = next((i for i in range(tabs.count()) if tabs.tabText(i) == RESONANCE_TAB), None)
    if index is not None:
        qtbot.mouseClick(tabs.tabBar(), LEFT, pos=tabs.tabBar().tabRect(index).center())
    return window, index


def test_the_report_content_has_each_step_and_its_heart_rate_over_the_scored_span(recorded) -> None:
    path, times, rrs = recorded
    content = session_content(path)
    record = content.resonance
    assert record is not None and record.ranked and not record.problem
    assert [s.rate_bpm for s in record.result.steps] == [6.0, 5.5, 5.0]
    assert [s.rate_bpm for s in record.series] == [6.0, 5.5, 5.0]
    for k, series in enumerate(record.series):  # independently: the beats written inside the scored span
        start = START_S + k * (PROTOCOL.step_s + PROTOCOL.rest_s)
        inside = (times >= start + PROTOCOL.settle_s) & (times <= start + PROTOCOL.step_s)
        assert series.t0_s == pytest.approx(start + PROTOCOL.settle_s)
        assert series.t_s == pytest.approx(times[inside], abs=0.01)
        assert series.hr_bpm == pytest.approx(60000.0 / rrs[inside], rel=1e-9)
        assert np.ptp(series.hr_bpm) > 5.0  # the breath-by-breath swing is in the series


def test_the_review_tab_shows_the_table_the_best_rate_and_a_not_assessable_row(qtbot, recorded, tmp_path) -> None:
    window, index = _open_tab(qtbot, recorded[0], tmp_path)
    assert index is not None
    view = window.resonance
    assert window.tabs.currentWidget() is view
    rows = view.row_texts()
    assert [r[0] for r in rows] == ["6", "5.5", "5"]
    assert rows[1][8:] == ["0.81", "1"] and rows[0][8:] == ["0.62", "2"]
    assert rows[2][8] == f"not assessable — {NOT_FOLLOWING}" and rows[2][9] == "—"
    assert view.table.item(2, 0).foreground().color().getRgb()[:3] == (120, 120, 120)  # greyed
    assert view.best_label.text().startswith("Best breathing rate in this assessment: 5.5 breaths/min; second: 6")
    assert "5.25 and 5.75 breaths/min" in view.best_label.text()
    assert "How the ranking was made" in view.weights_label.text() and "× 0.4" in view.weights_label.text()
    assert view.plots.curves_shown() == 3
    window.close()


def test_the_html_and_pdf_reports_have_the_assessment_page(qapp, recorded, tmp_path) -> None:
    from somafeedback.ui.report.render import render_session_report
    from PySide6 import QtPdf

    html = render_session_report(recorded[0], "html", out=tmp_path / "report").read_text()
    page = html[html.index("Breathing-rate assessment"):]
    assert "Best breathing rate in this assessment: 5.5 breaths/min" in page
    assert "not assessable — the breathing did not follow the pacer" in page
    assert "data:image/png;base64," in page and "How the ranking was made" in page
    pdf = render_session_report(recorded[0], "pdf", out=tmp_path / "report.pdf")
    document = QtPdf.QPdfDocument()
    assert document.load(str(pdf)) == QtPdf.QPdfDocument.Error.None_
    text = " ".join(document.getAllText(p).text() for p in range(document.pageCount()))
    document.close()
    assert "Breathing-rate assessment" in text and "5.5 breaths/min" in text


def test_a_session_without_an_assessment_has_no_tab_and_no_page(qtbot, tmp_path) -> None:
    path, _, _ = _write_session(tmp_path / "plain.session.sqlite", assessment=False)
    assert session_content(path).resonance is None
    window, index = _open_tab(qtbot, path, tmp_path)
    assert index is None and window.resonance is None
    window.close()


def test_a_damaged_result_is_reported_in_words_and_the_steps_done_are_kept(qtbot, tmp_path) -> None:
    path, _, _ = _write_session(tmp_path / "damaged.session.sqlite", result_data={"steps": [{"index": "x"}]})
    window, index = _open_tab(qtbot, path, tmp_path)
    assert index is not None
    view = window.resonance
    assert view.notice.text().startswith("The assessment's recorded result could not be read (a value has the wrong")
    assert [r[0] for r in view.row_texts()] == ["6", "5.5", "5"]  # from the recorded step events
    window.close()


def test_a_recording_that_ended_early_says_which_steps_were_done(qtbot, tmp_path) -> None:
    path, _, _ = _write_session(tmp_path / "early.session.sqlite", finished=False)
    window, index = _open_tab(qtbot, path, tmp_path)
    assert index is not None
    assert window.resonance.notice.text() == ("The recording ended before the assessment finished: 2 of 3 steps done "
                                              "(6, 5.5 breaths/min).")
    window.close()


def test_the_view_draws_a_result_from_beats_as_the_live_run_hands_it(qtbot, recorded) -> None:
    from somafeedback.reports.resonance import read_assessment
    from somafeedback.sessions.beats import decode_beats
    from somafeedback.sessions.file import read_session
    from somafeedback.ui.resonance_results import ResonanceResultsView

    session = read_session(recorded[0])
    result = read_assessment(session.events).result
    beats = decode_beats(session.timeline)["strap1"]  # on the steps' own time axis: no shift
    view = ResonanceResultsView()
    qtbot.addWidget(view)
    view.show_result(result, (beats.t_s, beats.rr_ms, np.array(beats.flagged, dtype=bool)))
    assert view.plots.curves_shown() == 3 and len(view.row_texts()) == 3
    view.show_result(result)  # without beats: the table and the scores, no curves
    assert view.plots.curves_shown() == 0 and view.best_label.text().startswith("Best breathing rate")
