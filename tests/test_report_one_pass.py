"""A session report runs one pass of the live analysis and every number it shows comes from that pass.

A two-strap session (a Polar H10 with raw ECG as the client's strap, a plain strap beside it) is
recorded through the real BLE path. The report's content is checked against a separate,
straightforward computation written here: the live analysis over the whole timeline (every strap,
as the app runs it), the client strap's metric sets taken from it, and the summary figures, phases
and swings computed from those. The structural test counts the live analyses a whole report
(HTML, PDF, the client version) makes, through the factory the report takes for that purpose.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recording_helpers import record_straps
from somafeedback.devices.events import Beat, Notification, TimelineEvent
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.hrv.whole_record import summarize
from somafeedback.live.analysis import LiveAnalysis
from somafeedback.regulation.pendulation import bands_of, swings_from_beats
from somafeedback.reports.content import session_content
from somafeedback.sessions.file import read_session
from somafeedback.signals.chest_motion import BreathingEstimate

DURATION_S = 300.0  # s of recording
WALL_ORIGIN = 1_715_955_785.0  # 2024-05-17 14:23:05 UTC
BASELINE = {"source": "calibration", "hr_ref": 62.0, "sd_hr": 2.0, "ln_ref": 3.6, "sd_ln": 0.25, "window_s": 60.0,
            "artifact_pct": 1.0}
EVENTS = ((20.0, "baseline", BASELINE), (90.0, "marker", {"label": "resource"}),
          (150.0, "note", {"text": "slower breath"}))


@pytest.fixture(scope="module")
def session_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """strap1: a simulated Polar H10 (raw ECG and motion); strap2: a plain strap with artifacts."""
    path = tmp_path_factory.mktemp("one_pass") / "two.session.sqlite"
    return record_straps(path, [("calm", 5, True), ("artifacts", 6, False)], {"client": "Client B", "mode": "session"},
                         EVENTS, DURATION_S, WALL_ORIGIN)


class _Separate:
    """The live analysis over the whole timeline (every strap), the client strap's outputs kept."""

    def __init__(self, path: Path, strap: str = "strap1") -> None:
        session = read_session(path)
        self.origin_s = session.manifest["started_host_ns"] / 1e9
        self.origin_ns = session.manifest["started_host_ns"]
        self.events = [e for e in session.timeline if isinstance(e, TimelineEvent)]
        self.metrics: list[BeatMetrics] = []
        self.chest: list[BreathingEstimate] = []
        self.sources: list[str] = []
        analysis = LiveAnalysis(metrics=True)
        pending: dict[tuple[float, float], str] = {}
        for item in session.timeline:
            produced = analysis.on_notification(item) if isinstance(item, Notification) else analysis.on_event(item)
            for strap_id, output in produced:
                if strap_id != strap:
                    continue
                if isinstance(output, Beat):
                    pending[(output.t_s, output.rr_ms)] = output.source
                elif isinstance(output, BeatMetrics):
                    self.metrics.append(output)
                    if output.rr_ms is not None:
                        self.sources.append(pending.pop((output.t_s, output.rr_ms), "strap"))
                elif isinstance(output, BreathingEstimate):
                    self.chest.append(output)
        self.beats = [m for m in self.metrics if m.rr_ms is not None]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def test_the_report_numbers_equal_a_separate_computation(session_path: Path) -> None:
    content = session_content(session_path)
    separate = _Separate(session_path)
    assert content.start_s == 0.0 and len(separate.beats) > 200

    # the metric sets: every one of the client strap's, at its time since the start, nothing else
    assert len(content.metrics) == len(separate.metrics)
    for shown, computed in zip(content.metrics, separate.metrics, strict=True):
        assert shown.t_s == pytest.approx(computed.t_s - separate.origin_s, abs=1e-9)
        assert shown.rr_ms == computed.rr_ms and shown.flagged == computed.flagged
        assert shown.time == computed.time
        for part in ("frequency", "breathing", "coherence"):
            a, b = getattr(shown, part), getattr(computed, part)
            assert (a is None) == (b is None)
            if a is not None:
                assert a.computed_at_s == pytest.approx(b.computed_at_s - separate.origin_s, abs=1e-9)

    # the figures, from the separately computed beats
    figures = {f.key: f.value for f in content.figures}
    beats = separate.beats
    assert figures["beats"] == len(beats)
    assert separate.sources.count("ecg") > 0.9 * len(beats)  # the H10's beats are timed by its ECG
    assert str(separate.sources.count("ecg")) in content.beat_source
    rr = np.array([m.rr_ms for m in beats])
    flagged = np.array([m.flagged for m in beats])
    accepted = rr[~flagged]
    assert figures["mean_hr"] == pytest.approx(60000.0 / accepted.mean(), rel=1e-9) \
        or figures["mean_hr"] == pytest.approx(float(np.mean(60000.0 / accepted)), rel=1e-9)
    assert figures["sdnn"] == pytest.approx(float(np.std(accepted, ddof=1)), rel=1e-9)
    assert figures["artifacts"] == pytest.approx(100.0 * flagged.sum() / len(beats), rel=1e-9)
    windows = [m.time.rmssd_ms for m in beats if m.time.validity.valid and m.time.validity.window_s >= 60.0 - 1e-6
               and m.time.rmssd_ms is not None]
    assert windows and figures["rmssd_windows"] == pytest.approx(statistics.median(windows), rel=1e-12)
    breathing = {m.breathing.computed_at_s: m.breathing.rate_bpm for m in beats
                 if m.breathing is not None and m.breathing.validity.valid and m.breathing.rate_bpm is not None}
    assert figures["breathing_hr"] == pytest.approx(_median(list(breathing.values())), rel=1e-12)
    chest = [e.rate_bpm for e in separate.chest if e.valid and math.isfinite(e.rate_bpm)]
    assert chest and figures["breathing_chest"] == pytest.approx(statistics.median(chest), rel=1e-12)
    coherence = {m.coherence.computed_at_s: m.coherence.ratio for m in beats
                 if m.coherence is not None and m.coherence.validity.valid and m.coherence.ratio is not None}
    assert figures["coherence"] == pytest.approx(_median(list(coherence.values())), rel=1e-12)

    # the series and the swings
    assert np.array_equal(content.series.rr_ms, rr) and np.array_equal(content.series.flagged, flagged)
    bands = bands_of(separate.events, separate.origin_ns, None)
    assert bands and content.swings_judged
    shifted = [(m.t_s - separate.origin_s, m.rr_ms, m.flagged) for m in separate.metrics]
    assert list(content.swings) == swings_from_beats(shifted, bands, content.duration_s)


def test_the_whole_session_figures_use_the_pass_segments(session_path: Path) -> None:
    """RMSSD and pNN50 of the whole session: adjacent accepted beats of one gap-free part (computed here)."""
    content = session_content(session_path)
    beats = [m for m in content.metrics if m.rr_ms is not None]
    summary = summarize(np.array([m.rr_ms for m in beats]), np.array([m.t_s for m in beats]), None,
                        np.array([m.flagged for m in beats]))
    # without gaps in this recording the segments are one part: the same as no segments at all
    assert content.figure("rmssd_session").value == pytest.approx(summary["corrected"]["rmssd_ms"], rel=1e-12)
    assert content.figure("pnn50").value == pytest.approx(summary["corrected"]["pnn50_pct"], rel=1e-12)


def test_a_report_runs_one_pass_of_the_live_analysis(session_path: Path, tmp_path: Path) -> None:
    from somafeedback.ui.report.render import ensure_app, render_session_report

    ensure_app()
    passes: list[LiveAnalysis] = []

    def counted() -> LiveAnalysis:
        passes.append(LiveAnalysis(metrics=True))
        return passes[-1]

    for fmt, audience in (("html", "practitioner"), ("pdf", "practitioner"), ("html", "client")):
        passes.clear()
        written = render_session_report(session_path, fmt, tmp_path / f"{fmt}_{audience}", audience=audience,
                                        new_analysis=counted)
        assert written.exists() and written.stat().st_size > 1000
        assert len(passes) == 1, (fmt, audience)
        # the one pass saw the client strap only (the other strap's items never reached it)
        assert set(passes[0].streams) == {"strap1"}


def test_counting_passes_can_fail(session_path: Path) -> None:
    """The counter sees every pass: two contents, two passes."""
    made: list[Any] = []

    def counted() -> LiveAnalysis:
        made.append(LiveAnalysis(metrics=True))
        return made[-1]

    session_content(session_path, new_analysis=counted)
    session_content(session_path, new_analysis=counted)
    assert len(made) == 2


def test_the_command_writes_the_file_the_app_writes(session_path: Path, tmp_path: Path) -> None:
    """``somafeedback report`` has the chest motion computed in another process; the app renders in this
    process alone: the HTML files (practitioner and client) are the same bytes."""
    import contextlib
    import io

    from somafeedback.ui.report.command import main as report_main
    from somafeedback.ui.report.render import ensure_app, render_session_report

    ensure_app()
    for audience in ("practitioner", "client"):
        by_app = render_session_report(session_path, "html", tmp_path / f"app_{audience}.html", audience=audience)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            code = report_main(["report", str(session_path), "--format", "html", "--audience", audience,
                             "--out", str(tmp_path / f"cli_{audience}.html")])
        assert code == 0
        by_command = Path(printed.getvalue().strip())
        assert by_command == tmp_path / f"cli_{audience}.html"
        assert by_command.read_bytes() == by_app.read_bytes(), audience
