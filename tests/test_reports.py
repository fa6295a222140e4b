"""Session reports and progress-over-weeks reports (HTML and PDF) of sessions recorded through the real path.

Sessions are recorded as the app records them: simulated strap -> bumble link -> bleak ->
StrapSupervisor -> SessionWriter on a max-speed session loop with a fixed wall-clock origin.
The practitioner session also runs the regulation loop (states, a grounding suggestion that
is approved and a containment suggestion that is dismissed), on a simulated Polar H10 (raw
ECG and chest motion), with markers, a note naming the client, and a review note.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import html
import math
import os
import re
import shutil
import statistics
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from recording_helpers import record_simulated

from somafeedback.hrv.whole_record import summarize
from somafeedback.clock import MAX_SPEED, LoopClock, SessionEventLoop
from somafeedback.devices.events import Notification, TimelineEvent
from somafeedback.devices.simulator.radio import SimulatedRadio
from somafeedback.devices.supervisor import StrapSupervisor
from somafeedback.regulation.exercises import load_exercises
from somafeedback.interop.export import ExportError
from somafeedback.live.analysis import LiveAnalysis
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.reports.practice_history import resting_ln_rmssd
from somafeedback.progress import Cancelled
from somafeedback.live.regulation_session import RegulationSession
from somafeedback.reports.common import ReportError, clock
from somafeedback.reports.content import report_texts, session_content
from somafeedback.reports.progress_content import progress_content
from somafeedback.sessions.review_notes import add_review_note
from somafeedback.sessions.analysis import session_series
from somafeedback.sessions.file import SessionWriter, read_session
from somafeedback.live.sinks import FanOut

WALL_ORIGIN = 1715955785.375  # 2024-05-17 14:23:05.375 UTC: the real start of the practitioner session
CLIENT = "Wren Halloway"
PRACTITIONER = "Ilse Marchetti"
NAME_WORDS = ("wren", "halloway", "ilse", "marchetti")
REAL_DATES = ("2024-05-17", "20240517", "2024/05/17", "17.05.2024", "17/05/2024", "05/17/2024", "17 may 2024",
              "may 17", "1715955785")
NOTE = f"{CLIENT} felt warm in the chest, 2024-05-17"
EVENTS = ((60.0, "marker", {"label": "resource"}), (130.0, "note", {"text": NOTE}),
          (400.0, "marker", {"label": "grounding"}))
PRACTITIONER_S = 720.0  # activation: above band from ~7 min; grounding suggested ~7:34, containment ~10:34
PNG = b"\x89PNG\r\n\x1a\n"
DATA_URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def _record(path: Path, scenario: str, duration_s: float, wall_origin: float, manifest: dict[str, Any],
            events: Sequence[tuple[float, str, dict]] = (), h10: bool = False, regulation: bool = False,
            seed: int = 1) -> Path:
    """Record a simulated session through the BLE path; with ``regulation`` the first suggestion is approved
    and the second dismissed, as a practitioner would in the app."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        clock = LoopClock(loop)
        writer = SessionWriter(path, clock, manifest)
        sink: Any = writer
        if regulation:
            decisions = iter(("approve", "dismiss"))

            def decide(event: TimelineEvent) -> None:
                if event.kind == "cue" and event.data.get("action") == "suggested":
                    choice = next(decisions, None)
                    if choice is not None:
                        loop.call_soon(getattr(session, choice))

            session = RegulationSession("practitioner", load_exercises(), decide, recorder=writer)
            sink = FanOut(writer, session)
        async with SimulatedRadio() as radio:
            strap = await radio.add_strap(scenario, seed=seed, h10=h10)
            supervisor = StrapSupervisor(radio.stack, sink, clock, strap_id="strap1", address=strap.address)
            task = asyncio.create_task(supervisor.run())
            for at_s, kind, data in sorted(events, key=lambda e: e[0]):
                await asyncio.sleep(max(0.0, at_s - clock.now()))
                sink.event(TimelineEvent(kind, clock.now_ns(), clock.wall_time(), data))
            await asyncio.sleep(max(0.0, duration_s - clock.now()))
            supervisor.stop()
            await task
        writer.close("stopped")

    with asyncio.Runner(loop_factory=lambda: SessionEventLoop(MAX_SPEED, wall_origin=wall_origin)) as runner:
        runner.run(main())
    return path


@pytest.fixture(scope="module")
def practitioner_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("practitioner") / "2024-05-17_142305_Wren-Halloway_0001.session.sqlite"
    _record(path, "activation", PRACTITIONER_S, WALL_ORIGIN,
            {"client": CLIENT, "practitioner": PRACTITIONER, "mode": "practitioner", "tags": ["wren follow-up"]},
            EVENTS, h10=True, regulation=True)
    add_review_note(path, round(300e9), "settled after the resource, per Wren", author=PRACTITIONER)
    return path


@pytest.fixture(scope="module")
def plain_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain heart-rate strap (no ECG): the live beats are the strap's RR, as ``analyze`` reads them."""
    return record_simulated(tmp_path_factory.mktemp("plain") / "plain.session.sqlite", "calm", 300.0)


@pytest.fixture(scope="module")
def qt_app() -> Any:
    from somafeedback.ui.report.render import ensure_app

    return ensure_app()


def _fresh_copy(source: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    shutil.copy2(source, target)
    return target


def _images(html_text: str) -> list[bytes]:
    return [base64.b64decode(data) for data in DATA_URI.findall(html_text)]


def _without_images(html_text: str) -> str:
    """The HTML with the figures left out and entities resolved (text as a reader sees it)."""
    return html.unescape(DATA_URI.sub('src=""', html_text))


def _has_row(text: str, *cells: str) -> bool:
    """``cells`` as consecutive table cells of ``text`` (whatever their attributes)."""
    return re.search("".join(rf"<td[^>]*>{re.escape(cell)}</td>" for cell in cells), text) is not None


def _live_metrics(path: Path) -> list[BeatMetrics]:
    """The client strap's metric sets, straight from LiveAnalysis over the recorded timeline."""
    analysis = LiveAnalysis(metrics=True)
    out: list[BeatMetrics] = []
    for item in read_session(path).timeline:
        produced = analysis.on_notification(item) if isinstance(item, Notification) else analysis.on_event(item)
        out += [m for strap, m in produced if strap == "strap1" and isinstance(m, BeatMetrics) and m.rr_ms is not None]
    return out


def _pdf_text(path: Path) -> list[str]:
    from PySide6 import QtPdf

    document = QtPdf.QPdfDocument()
    assert document.load(str(path)) == QtPdf.QPdfDocument.Error.None_, document.status()
    texts = [document.getAllText(page).text() for page in range(document.pageCount())]
    document.close()
    return texts


def _assert_progress(calls: list[float]) -> None:
    assert calls[0] == 0.0 and calls[-1] == 1.0
    assert all(b >= a for a, b in zip(calls, calls[1:])), calls
    assert len(calls) <= 250


# -- the session report -------------------------------------------------------------------------------
def test_session_html_shows_the_plots_the_figures_notes_markers_and_cue_decisions(
        practitioner_session: Path, tmp_path: Path, qt_app: Any) -> None:
    from PySide6 import QtGui

    from somafeedback.ui.report.render import render_session_report

    calls: list[float] = []
    written = render_session_report(practitioner_session, "html", tmp_path, progress=calls.append)
    _assert_progress(calls)
    assert written == tmp_path / "2024-05-17_142305_Wren-Halloway_0001_report.html"
    assert os.stat(written).st_mode & 0o777 == 0o600
    html_text = written.read_text(encoding="utf-8")
    assert "<link" not in html_text and "<script" not in html_text  # one self-contained file

    images = _images(html_text)
    assert len(images) >= 4  # timeline strip, the app's plots, two raw excerpts (ECG and breathing movement)
    assert len({hashlib.sha256(image).hexdigest() for image in images}) == len(images)
    for image in images:
        assert image.startswith(PNG) and len(image) > 5000
        picture = QtGui.QImage.fromData(image, "PNG")
        assert not picture.isNull() and picture.width() >= 1500 and picture.height() >= 200
        colours = {picture.pixel(x, y) for x in range(0, picture.width(), 23) for y in range(0, picture.height(), 7)}
        assert len(colours) > 5  # something is drawn, not a blank page

    content = session_content(practitioner_session)
    text = _without_images(html_text)
    for figure in content.figures:
        assert _has_row(text, figure.label, figure.text, figure.detail), figure
    # the figures are the live path's: median of the valid 60-s windows, as LiveAnalysis computed them
    live = _live_metrics(practitioner_session)
    valid = [m.time for m in live if m.time.validity.valid and m.time.validity.window_s >= 60.0]
    rmssd_windows = statistics.median(t.rmssd_ms for t in valid)
    assert content.figure("rmssd_windows").text.startswith(f"{rmssd_windows:.1f} ms (ln ")
    # with ECG-timed beats the whole-session values stay close to `analyze` on the strap's RR
    strap = session_series(practitioner_session)
    analyzed = summarize(strap.rr_ms, strap.beat_times_s, strap.segments, strap.flagged)["corrected"]
    assert content.figure("mean_hr").value == pytest.approx(analyzed["mean_hr_bpm"], abs=0.5)
    assert content.figure("rmssd_session").value == pytest.approx(analyzed["rmssd_ms"], rel=0.05)
    assert "timed by R peaks" in content.beat_source
    assert content.figure("breathing_chest").value is not None

    # states, cues and their decisions, notes and markers, with their times
    assert content.state_seconds["calibrating"] == pytest.approx(300.0, abs=5.0)
    assert {"in band", "rising", "above band"} <= set(content.state_seconds)
    assert sum(content.state_seconds.values()) == pytest.approx(PRACTITIONER_S, abs=5.0)
    assert (content.cue_counts["suggested"], content.cue_counts["approved"], content.cue_counts["dismissed"]) == (2, 1, 1)
    decisions = [(d.kind, d.outcome, d.delivered) for d in content.cue_decisions]
    assert decisions == [("grounding", "approved", True), ("containment", "dismissed", False)]
    assert re.search(r"<td[^>]*>above band</td><td[^>]*>\d+\.\d min</td>", text)
    assert "approved at " in text and "shown to the client" in text and "dismissed at " in text
    assert _has_row(text, "02:10", "note", NOTE)
    assert _has_row(text, "01:00", "resource") and _has_row(text, "06:40", "grounding")
    assert "settled after the resource, per Wren — Ilse Marchetti" in text
    assert "not a medical device" in text and "not a medical assessment" in text and "What was measured" in text
    assert "Raw signals (Polar H10)" in text and CLIENT in text and "2024-05-17" in text


def test_plain_strap_figures_equal_what_analyze_computes(plain_session: Path, tmp_path: Path, qt_app: Any) -> None:
    from somafeedback.ui.report.render import render_session_report

    written = render_session_report(plain_session, "html", tmp_path / "report")
    assert written == tmp_path / "report.html"
    text = _without_images(written.read_text(encoding="utf-8"))
    series = session_series(plain_session)
    analyzed = summarize(series.rr_ms, series.beat_times_s, series.segments, series.flagged)
    corrected = analyzed["corrected"]
    rmssd = corrected["rmssd_ms"]
    assert f">{corrected['mean_hr_bpm']:.1f} bpm</td>" in text
    assert f">{rmssd:.1f} ms (ln {math.log(rmssd):.2f})</td>" in text
    assert f">{corrected['hf_ms2']:.0f} ms²</td>" in text
    assert f">{analyzed['artifact_pct']:.1f} %</td>" in text
    assert f">{analyzed['n_beats']}</td>" in text
    assert "Raw signals" not in text and "from the strap's RR intervals" in text
    assert "No states were recorded" in text and "No cues were suggested" in text
    assert len(_images(written.read_text(encoding="utf-8"))) == 2  # the timeline strip and the app's plots


def test_deidentified_html_has_no_names_and_no_real_date(practitioner_session: Path, tmp_path: Path, qt_app: Any) -> None:
    from somafeedback.ui.report.render import render_session_report

    written = render_session_report(practitioner_session, "html", tmp_path, deidentify=True)
    session_id = read_session(practitioner_session).session_id
    assert written.name == f"session_{session_id[:8]}_deidentified_report.html"
    text = _without_images(written.read_text(encoding="utf-8")).lower()
    for word in NAME_WORDS:
        assert word not in text, word
    for date in REAL_DATES:
        assert date not in text, date
    assert "2000-01-01 00:00 utc" in text and "[note]" in text and "felt warm" not in text
    assert _has_row(text, "01:00", "resource")  # times within the session are kept
    assert "polar h10 sim" not in text  # no strap names (they carry the strap's serial number)
    assert len(_images(written.read_text(encoding="utf-8"))) >= 4


def test_pdf_has_a4_pages_with_sections_and_the_figures(practitioner_session: Path, tmp_path: Path, qt_app: Any) -> None:
    from PySide6 import QtPdf

    from somafeedback.ui.report.render import render_session_report

    calls: list[float] = []
    written = render_session_report(practitioner_session, "pdf", tmp_path, progress=calls.append)
    _assert_progress(calls)
    assert written.suffix == ".pdf" and written.read_bytes().startswith(b"%PDF")
    assert os.stat(written).st_mode & 0o777 == 0o600
    pages = _pdf_text(written)
    assert len(pages) >= 4
    document = QtPdf.QPdfDocument()
    document.load(str(written))
    size = document.pagePointSize(0)
    assert size.width() == pytest.approx(595, abs=2) and size.height() == pytest.approx(842, abs=2)  # A4
    document.close()
    content = session_content(practitioner_session)

    def page_of(needle: str) -> int:
        return next(k for k, page in enumerate(pages) if needle in page.replace("\r\n", " ").replace("\n", " "))

    assert page_of(content.figure("mean_hr").text) == page_of("Summary") == 0
    assert page_of("not a medical device") == 0
    assert page_of("Over the session") > 0
    assert page_of("Raw signals (Polar H10)") >= page_of("Over the session")  # sections flow on, in order
    assert page_of("Notes, markers and cue decisions") >= page_of("Raw signals (Polar H10)")
    assert page_of("resource") == page_of("Markers")


@pytest.mark.parametrize("cancel_at", [0.3, 0.8, 1.0])
def test_a_cancel_leaves_no_file_and_no_temporary_file(plain_session: Path, tmp_path: Path, qt_app: Any,
                                                       cancel_at: float) -> None:
    from somafeedback.ui.report.render import render_session_report

    session = _fresh_copy(plain_session, tmp_path / "library")
    before = sorted(p.name for p in session.parent.iterdir())

    def progress(fraction: float) -> None:
        if fraction >= cancel_at:
            raise Cancelled

    for fmt, out in (("html", None), ("pdf", tmp_path / "new" / "folder" / "report.pdf")):
        with pytest.raises(Cancelled):
            render_session_report(session, fmt, out, progress=progress)
        assert sorted(p.name for p in session.parent.iterdir()) == before
        assert not (tmp_path / "new").exists()  # folders it made are removed again


def test_the_app_builds_the_content_on_a_worker_thread_and_draws_on_the_gui_thread(
        plain_session: Path, tmp_path: Path, qt_app: Any) -> None:
    from somafeedback.reports.content import SessionReportContent
    from somafeedback.ui.report.render import write_session_report

    found: list[SessionReportContent | BaseException] = []

    def work() -> None:
        try:
            content = session_content(plain_session, progress=lambda f: None)
            found.append(content)
            write_session_report(content, "html", tmp_path)  # Qt widgets: refused off the GUI thread
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            found.append(error)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(60.0)
    content, refused = found
    assert isinstance(content, SessionReportContent)
    assert isinstance(refused, ReportError) and "GUI thread" in str(refused)
    assert list(tmp_path.iterdir()) == []
    calls: list[float] = []
    written = write_session_report(content, "pdf", tmp_path, progress=calls.append)
    _assert_progress(calls)
    assert written == tmp_path / "plain_report.pdf" and len(_pdf_text(written)) >= 2


def test_an_existing_report_is_never_overwritten(plain_session: Path, tmp_path: Path, qt_app: Any) -> None:
    from somafeedback.ui.report.render import render_session_report

    target = tmp_path / "report.pdf"
    target.write_bytes(b"keep me")
    with pytest.raises(ExportError, match="already exists"):
        render_session_report(plain_session, "pdf", target)
    assert target.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf"]
    with pytest.raises(ReportError, match="unknown report format"):
        render_session_report(plain_session, "docx", tmp_path)


def test_the_command_resolves_session_ids_prints_the_path_and_reports_bad_input(
        plain_session: Path, tmp_path: Path, qt_app: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from somafeedback.ui.report import command as report_command

    library = tmp_path / "library"
    session = _fresh_copy(plain_session, library)
    session_id = read_session(session).session_id
    out = tmp_path / "out"
    out.mkdir()
    assert report_command.main(["report", session_id[:10], "--format", "pdf", "--recordings", str(library),
                                "--out", str(out)]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == str(out / "plain_report.pdf") and Path(printed).is_file()
    assert report_command.main(["report", str(session), "--format", "html", "--out", str(out), "--progress"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out / "plain_report.html")
    assert "report (html): 0 %" in captured.err and "report (html): 100 %" in captured.err

    assert report_command.main(["report", "no-such-session", "--format", "html", "--recordings", str(library)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("somafeedback report: no-such-session: no such session") and error.count("\n") == 1
    assert report_command.main(["report", str(session), "--format", "pdf", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert report_command.main(["progress", "Nobody", "--format", "html", "--recordings", str(library)]) == 2
    assert "no recorded session of client 'Nobody'" in capsys.readouterr().err
    assert [p.name for p in library.iterdir() if not p.name.startswith(session.name)] == []  # (SQLite's -wal/-shm aside)
    with pytest.raises(SystemExit):
        report_command.main(["report", str(session), "--format", "docx"])


# -- progress over weeks --------------------------------------------------------------------------------
def _noon(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time(12, 0)).timestamp()  # local time, like the library's weeks


WEEK_STATES = (  # a practitioner session with recorded states and cues (as the regulation loop writes them)
    (30.0, "state", {"state": "calibrating"}), (90.0, "state", {"state": "in band"}),
    (150.0, "state", {"state": "above band"}), (200.0, "state", {"state": "in band"}),
    (160.0, "cue", {"action": "suggested", "cue_id": 1, "kind": "grounding", "exercise": "feet-and-seat-grounding",
                    "text": "Invite grounding?"}),
    (170.0, "cue", {"action": "approved", "cue_id": 1, "kind": "grounding", "exercise": "feet-and-seat-grounding",
                    "text": "Invite grounding?"}),
)


@pytest.fixture(scope="module")
def client_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four sessions of Client C over four ISO weeks (one week empty), and one of another client."""
    folder = tmp_path_factory.mktemp("library")
    plan = [  # (day, mode, events, client)
        (dt.date(2025, 1, 6), "home", (), "Client C"),  # Monday, 2025-W02
        (dt.date(2025, 1, 9), "recording", (), "client c"),  # Thursday, same week (names compare ignoring case)
        (dt.date(2025, 1, 22), "home", (), "Client C"),  # 2025-W04 (W03 has nothing)
        (dt.date(2025, 1, 27), "practitioner", WEEK_STATES, "Client C"),  # 2025-W05
        (dt.date(2025, 1, 13), "home", (), "Client D"),
    ]
    for k, (day, mode, events, client) in enumerate(plan):
        _record(folder / f"{day.isoformat()}_{k}.session.sqlite", "calm", 240.0, _noon(day),
                {"client": client, "mode": mode}, events, seed=k + 1)
    return folder


def test_progress_content_counts_weeks_minutes_resting_values_time_in_band_and_cues(client_library: Path) -> None:
    calls: list[float] = []
    content = progress_content(client_library, "client c", progress=calls.append)
    _assert_progress(calls)
    weeks = content.weeks
    assert [(w.year, w.week) for w in weeks] == [(2025, 2), (2025, 3), (2025, 4), (2025, 5)]
    assert [w.start for w in weeks] == [dt.date(2025, 1, 6), dt.date(2025, 1, 13), dt.date(2025, 1, 20), dt.date(2025, 1, 27)]
    assert [w.sessions for w in weeks] == [2, 0, 1, 1]
    assert [w.minutes for w in weeks] == pytest.approx([8.0, 0.0, 4.0, 4.0], abs=0.05)
    assert [w.practices for w in weeks] == [1, 0, 1, 0]
    assert [w.practice_minutes for w in weeks] == pytest.approx([4.0, 0.0, 4.0, 0.0], abs=0.05)
    paths = sorted(client_library.glob("*.session.sqlite"))
    first_week = [resting_ln_rmssd(p) for p in paths if p.name.startswith(("2025-01-06", "2025-01-09"))]
    assert weeks[0].resting_readings == 2 and weeks[0].resting_ln_rmssd == pytest.approx(statistics.median(first_week))
    assert weeks[1].resting_ln_rmssd is None and weeks[1].resting_readings == 0
    assert all(2.0 < w.resting_ln_rmssd < 5.0 for w in weeks if w.resting_ln_rmssd is not None)
    last = weeks[3]
    assert last.in_band_min == pytest.approx((60.0 + 40.0) / 60.0, abs=0.01)  # 90-150 s and 200-240 s
    assert last.judged_min == pytest.approx(150.0 / 60.0, abs=0.01)
    assert last.in_band_pct == pytest.approx(100.0 * 100.0 / 150.0, abs=0.5)
    assert (last.cues_suggested, last.cues_approved) == (1, 1)
    assert [w.in_band_pct for w in weeks[:3]] == [None, None, None]
    assert content.client == "Client C" and len(content.sessions) == 4
    with pytest.raises(ReportError, match="no recorded session of client 'Client Z'"):
        progress_content(client_library, "Client Z")


def test_progress_report_html_and_pdf(client_library: Path, tmp_path: Path, qt_app: Any) -> None:
    from somafeedback.ui.report.render import render_progress_report

    calls: list[float] = []
    written = render_progress_report(client_library, "Client C", "html", tmp_path, progress=calls.append)
    _assert_progress(calls)
    assert written.parent == tmp_path and written.name.startswith("Client-C_progress_") and os.stat(written).st_mode & 0o777 == 0o600
    html_text = written.read_text(encoding="utf-8")
    images = _images(html_text)
    assert len(images) == 2 and all(image.startswith(PNG) and len(image) > 5000 for image in images)
    assert images[0] != images[1]
    text = _without_images(html_text)
    for week in ("2025-W02", "2025-W03", "2025-W04", "2025-W05"):
        assert _has_row(text, week)
    assert re.search(r"<td[^>]*>2025-W05</td><td[^>]*>1</td><td[^>]*>4.0</td><td[^>]*>0 / 0.0</td><td[^>]*>\d.\d\d \(n=1\)</td>"
                     r"<td[^>]*>67 % of 2 min</td><td[^>]*>1 / 1</td>", text)
    assert re.search(r"<td[^>]*>2025-W02</td><td[^>]*>2</td><td[^>]*>8.0</td><td[^>]*>1 / 4.0</td><td[^>]*>\d.\d\d \(n=2\)</td>", text)
    assert "not a medical device" in text and "Client D" not in text
    pdf = render_progress_report(client_library, "Client C", "pdf", tmp_path / "progress.pdf")
    pages = _pdf_text(pdf)
    assert len(pages) >= 2 and "2025-W05" in pages[0] and any("Trends" in page for page in pages)


def test_report_wording_makes_no_claims() -> None:
    banned = re.compile(r"diagnos|stress|vagal|dorsal|ventral|nervous system|trauma|score", re.I)
    for text in report_texts():
        assert not banned.search(text), text
    assert "not a medical device" in report_texts()[1] and "not a medical assessment" in report_texts()[1]


def test_a_session_without_heart_data_gives_a_clear_error(tmp_path: Path) -> None:
    class Fixed:
        def now(self) -> float:
            return 0.0

        def now_ns(self) -> int:
            return 0

        def wall_time(self) -> float:
            return WALL_ORIGIN

    path = tmp_path / "empty.session.sqlite"
    writer = SessionWriter(path, Fixed(), {"client": CLIENT, "mode": "practitioner"})
    writer.close("no strap found")
    with pytest.raises(ReportError, match="no heart data"):
        session_content(path)


def test_the_practitioner_window_builds_a_progress_report_with_its_dialog(client_library: Path, tmp_path: Path,
                                                                          qtbot: Any) -> None:
    from PySide6 import QtCore, QtWidgets

    from somafeedback.live.engine import Engine, EngineOptions, EngineSource
    from somafeedback.regulation.exercises import load_exercises
    from somafeedback.ui.practitioner_window import PractitionerWindow

    library = load_exercises()
    window = PractitionerWindow(Engine(EngineSource(), EngineOptions(), library), library)
    qtbot.addWidget(window)
    window.settings.set("recordings/folder", str(client_library))
    try:
        written = window.progress_report("Client C", "html", tmp_path)
        shown: list[str] = []

        def read_and_close_the_message() -> None:
            box = QtWidgets.QApplication.activeModalWidget()
            if not isinstance(box, QtWidgets.QMessageBox):
                QtCore.QTimer.singleShot(50, read_and_close_the_message)
                return
            shown.append(box.text())
            box.accept()

        QtCore.QTimer.singleShot(50, read_and_close_the_message)
        missing = window.progress_report("Nobody", "html", tmp_path)
    finally:
        window.settings.store.remove("recordings/folder")  # back to the default for later tests and subprocesses
        window.settings.store.sync()
    assert written is not None and written.parent == tmp_path and written.read_text(encoding="utf-8").count("<img") >= 1
    assert missing is None and shown and "Nobody" in shown[0]  # a clear message instead, nothing written
    assert sorted(p.name for p in tmp_path.iterdir()) == [written.name]


# -- issue #13: axes, baseline, phases, summary measures, layout, legends ----------------------------------
LONG_S = 1500.0  # a 25-minute practitioner session: calibration baseline, then practice with states and cues
HEADINGS = ("Summary", "Baseline", "Phases", "Time in each state", "Cues", "Over the session", "Raw signals (Polar H10)",
            "Notes, markers and cue decisions", "Notes", "Markers", "Cue decisions")
CLOCK_TICK = re.compile(r"^\d{1,2}:\d\d$")


@pytest.fixture(scope="module")
def long_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("long") / "2024-05-17_142305_Wren-Halloway_0002.session.sqlite"
    return _record(path, "activation", LONG_S, WALL_ORIGIN,
                   {"client": CLIENT, "practitioner": PRACTITIONER, "mode": "practitioner"}, EVENTS, regulation=True)


def _axis_ticks(axis: Any) -> tuple[list[float], list[str]]:
    """The major tick values an axis draws over its current range, and their labels."""
    low, high = axis.range
    levels = axis.tickValues(low, high, axis.width() if axis.orientation in ("bottom", "top") else axis.height())
    spacing, values = levels[0]
    return list(values), axis.tickStrings(list(values), axis.scale, spacing)


def test_every_time_axis_of_a_25_minute_report_reads_minutes_and_seconds(long_session: Path, qt_app: Any,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import pyqtgraph as pg

    from somafeedback.ui.report import figures as report_figures
    from somafeedback.ui.time_axis import MinutesSecondsAxis

    grabbed: dict[str, list[Any]] = {}
    original = report_figures.grab

    def keep(widget: Any, key: str, *args: Any) -> Any:
        widget.close = lambda: True  # kept open (a closed PlotWidget drops its plot) until the test has read it
        grabbed[key] = [*widget.findChildren(pg.GraphicsView), widget]
        return original(widget, key, *args)

    monkeypatch.setattr(report_figures, "grab", keep)
    content = session_content(long_session)
    assert content.duration_s == pytest.approx(LONG_S, abs=2.0)
    report_figures.session_images(content)
    assert {"timeline", "overview"} <= set(grabbed)
    shown: list[str] = []
    for key, views in grabbed.items():
        plots = {id(p): p for view in views if isinstance(view, pg.GraphicsView)
                 for p in view.scene().items() if isinstance(p, pg.PlotItem)}
        assert plots, key
        for plot in plots.values():
            axis = plot.getAxis("bottom")
            assert isinstance(axis, MinutesSecondsAxis), (key, type(axis))
            if not axis.isVisible() or not axis.style["showValues"]:
                continue
            values, labels = _axis_ticks(axis)
            assert labels and all(CLOCK_TICK.match(label) for label in labels), (key, labels)
            assert all(value % 60.0 == 0.0 for value in values), (key, values)  # whole minutes over 25 min
            shown += labels
    assert "20:00" in shown and not any("ks" in label or "e+" in label for label in shown)


def test_the_report_prints_the_baseline_and_a_per_phase_table(long_session: Path, tmp_path: Path, qt_app: Any) -> None:
    from somafeedback.hrv.conventions import KUBIOS
    from somafeedback.hrv.spectral import band_powers
    from somafeedback.ui.report.render import render_session_report

    text = _without_images(render_session_report(long_session, "html", tmp_path).read_text(encoding="utf-8"))
    session = read_session(long_session)
    baseline = next(e for e in session.timeline if isinstance(e, TimelineEvent) and e.kind == "baseline").data
    assert baseline["source"] == "calibration"
    assert _has_row(text, "Heart rate", f"{baseline['hr_ref']:.1f} bpm")
    assert _has_row(text, "RMSSD", f"{math.exp(baseline['ln_ref']):.1f} ms (ln {baseline['ln_ref']:.2f})")
    assert _has_row(text, "Window", f"{baseline['window_s']:.0f} s")
    assert _has_row(text, "Validity", f"valid, {baseline['artifact_pct']:.1f} % artifacts")

    content = session_content(long_session)
    assert [p.segment.label for p in content.phases] == ["baseline", "practice"]
    base, practice = (p.segment for p in content.phases)
    assert base.end_s - base.start_s == pytest.approx(baseline["window_s"]) and base.end_s == practice.start_s
    assert practice.end_s == pytest.approx(content.start_s + content.duration_s)
    series = content.series
    assert series.gaps == ()  # one gap-free stretch: every adjacent accepted pair counts
    expected: dict[str, list[str]] = {name: [] for name in ("hr", "rmssd", "sdnn", "pnn50", "lf", "hf", "lf_hf", "art")}
    for segment in (base, practice):
        inside = (series.beat_t_s >= segment.start_s) & (series.beat_t_s <= segment.end_s)
        t, rr, bad = series.beat_t_s[inside], series.rr_ms[inside], series.flagged[inside]
        good = rr[~bad]
        pairs = ~bad[1:] & ~bad[:-1]
        diffs = (rr[1:] - rr[:-1])[pairs]
        expected["hr"].append(f"{(60000.0 / good).mean():.1f}")
        expected["rmssd"].append(f"{math.sqrt((diffs ** 2).mean()):.1f}")
        expected["sdnn"].append(f"{good.std(ddof=1):.1f}")
        expected["pnn50"].append(f"{100.0 * (abs(diffs) > 50.0).mean():.1f}")
        expected["art"].append(f"{100.0 * bad.mean():.1f}")
        powers = band_powers(t[~bad], good, KUBIOS)  # the report's default convention set
        expected["lf"].append(f"{powers.lf_ms2:.0f}")
        expected["hf"].append(f"{powers.hf_ms2:.0f}")
        expected["lf_hf"].append(f"{powers.lf_ms2 / powers.hf_ms2:.2f}")
    assert _has_row(text, "Measure", "baseline", "practice") or re.search(r"<th[^>]*>baseline</th><th[^>]*>practice</th>", text)
    for label, key in (("Heart rate (bpm)", "hr"), ("RMSSD (ms)", "rmssd"), ("SDNN (ms)", "sdnn"), ("pNN50 (%)", "pnn50"),
                       ("LF (ms²)", "lf"), ("HF (ms²)", "hf"), ("LF/HF", "lf_hf"), ("Artifacts (% of beats)", "art")):
        assert _has_row(text, label, *expected[key]), (label, expected[key])
    assert _has_row(text, "Window (m:ss)", f"{clock(base.start_s)}–{clock(base.end_s)} ({clock(base.duration_s)})",
                    f"{clock(practice.start_s)}–{clock(practice.end_s)} ({clock(practice.duration_s)})")
    assert re.search(r"<td[^>]*>Breathing rate \(breaths/min\)</td><td[^>]*>\d+\.\d</td><td[^>]*>\d+\.\d</td>", text)
    assert _has_row(text, "Validity", "valid", "valid")


def test_the_summary_gives_sdnn_pnn50_lf_and_lf_hf_as_analyze_computes_them(plain_session: Path, tmp_path: Path,
                                                                          qt_app: Any) -> None:
    from somafeedback.ui.report.render import render_session_report

    text = _without_images(render_session_report(plain_session, "html", tmp_path).read_text(encoding="utf-8"))
    series = session_series(plain_session)
    corrected = summarize(series.rr_ms, series.beat_times_s, series.segments, series.flagged)["corrected"]
    assert re.search(rf"<td[^>]*>SDNN, whole session</td><td[^>]*>{corrected['sdnn_ms']:.1f} ms</td><td[^>]*>standard "
                     r"deviation \(n − 1\)", text)
    assert re.search(rf"<td[^>]*>pNN50, whole session</td><td[^>]*>{corrected['pnn50_pct']:.1f} %</td><td[^>]*>share of "
                     "successive differences", text)
    assert re.search(rf"<td[^>]*>LF power \(0.04–0.15 Hz\)</td><td[^>]*>{corrected['lf_ms2']:.0f} ms²</td><td[^>]*>Welch",
                     text)
    assert re.search(rf"<td[^>]*>LF/HF</td><td[^>]*>{corrected['lf_hf']:.2f}</td><td[^>]*>mean LF over mean HF", text)
    assert _has_row(text, "Measure", "whole session") or re.search(r"<th[^>]*>whole session</th>", text)


def test_the_state_legend_shows_only_the_states_drawn_in_their_colours(long_session: Path, plain_session: Path,
                                                                       tmp_path: Path, qt_app: Any) -> None:
    from somafeedback.ui.timeline_strip import STATE_STYLE
    from somafeedback.ui.report.render import render_session_report

    plain = _without_images(render_session_report(plain_session, "html", tmp_path / "plain").read_text(encoding="utf-8"))
    assert "No states were recorded" in plain
    assert "States:" not in plain and "legend" not in plain.split("<body>")[1]  # no legend element at all
    text = _without_images(render_session_report(long_session, "html", tmp_path / "long").read_text(encoding="utf-8"))
    legend = re.search(r'<p class="caption legend">States: (.*?)</p>', text)
    assert legend is not None
    shown = [(r, g, b, name.strip()) for r, g, b, name in
             re.findall(r'style="color: rgb\((\d+),(\d+),(\d+)\)">■</span> ([^<\xa0]+)', legend.group(1))]
    recorded = list(dict.fromkeys(i.state for i in session_content(long_session).series.states if i.end_s > i.start_s))
    assert [name for *_, name in shown] == recorded  # each state drawn, once, nothing else
    for r, g, b, name in shown:
        assert (int(r), int(g), int(b)) == STATE_STYLE[name][0], name


def _used_height(pdf: Path) -> list[float]:
    """Per page: how far down the page the last ink lies (0..1), page numbers aside."""
    from PySide6 import QtCore, QtGui, QtPdf

    document = QtPdf.QPdfDocument()
    document.load(str(pdf))
    used = []
    for page in range(document.pageCount()):
        image = document.render(page, QtCore.QSize(300, 424)).convertToFormat(QtGui.QImage.Format.Format_ARGB32)
        last = 0
        for y in range(int(image.height() * 0.9)):  # the page number sits in the bottom margin
            if any(QtGui.QColor(image.pixel(x, y)).alpha() > 0 and QtGui.QColor(image.pixel(x, y)).lightness() < 200
                   for x in range(0, image.width(), 2)):
                last = y
        used.append(last / image.height())
    document.close()
    return used


def test_pdf_headings_stay_with_their_content_and_no_page_is_left_near_empty(long_session: Path, tmp_path: Path,
                                                                              qt_app: Any) -> None:
    from somafeedback.ui.report.render import render_session_report

    written = render_session_report(long_session, "pdf", tmp_path)
    pages = [[line.strip() for line in page.splitlines() if line.strip()] for page in _pdf_text(written)]
    for k, lines in enumerate(pages[:-1]):
        text_lines = [line for line in lines if not line.isdigit()]  # the page number
        assert text_lines[-1] not in HEADINGS, (k, text_lines[-3:])
    for heading in ("Baseline", "Phases", "Time in each state", "Cues", "Notes", "Markers", "Cue decisions"):
        page = next(k for k, lines in enumerate(pages) if heading in lines)
        index = pages[page].index(heading)
        assert index < len(pages[page]) - 1 and not pages[page][index + 1].isdigit(), heading  # something follows it
    used = _used_height(written)
    assert all(share > 0.5 for share in used[:-1]), used  # only the last page may be short
    html_text = render_session_report(long_session, "html", tmp_path / "r").read_text(encoding="utf-8")
    assert "h1, h2, h3 { page-break-after: avoid; break-after: avoid; }" in html_text
    assert re.search(r'<div class="figure-block"><p><img [^>]*></p><p class="caption">', html_text)


def test_pdf_moves_a_heading_that_would_end_a_page_to_the_next(qt_app: Any, tmp_path: Path) -> None:
    from PySide6 import QtCore, QtGui

    from somafeedback.ui.report.pdf import PDF_MARGIN_MM, pdf_bytes

    def plain_print(html_text: str, path: Path) -> None:  # Qt's own layout, without the report's page-break pass
        document = QtGui.QTextDocument()
        font = QtGui.QFont("DejaVu Sans")
        font.setPointSizeF(9.0)
        document.setDefaultFont(font)
        document.setHtml(html_text)
        writer = QtGui.QPdfWriter(str(path))
        writer.setPageSize(QtGui.QPageSize(QtGui.QPageSize.PageSizeId.A4))
        writer.setPageMargins(QtCore.QMarginsF(*(PDF_MARGIN_MM,) * 4), QtGui.QPageLayout.Unit.Millimeter)
        writer.setResolution(300)
        document.print_(writer)
        del writer

    def pages_of(path: Path) -> tuple[int, int]:
        pages = [re.sub(r"\s", "", page) for page in _pdf_text(path)]  # the extracted text breaks lines oddly
        return (next(k for k, p in enumerate(pages) if "Lonelyheading" in p),
                next(k for k, p in enumerate(pages) if "Whatfollowsit" in p))

    filler = "".join(f"<p>Filler line {k}.</p>" for k in range(200))
    for extra in range(0, 60):  # find a length where Qt alone leaves the heading at the foot of a page
        html_text = filler + "<p>x</p>" * extra + "<h2>Lonely heading</h2><p>What follows it.</p>"
        plain_print(html_text, tmp_path / "plain.pdf")
        heading_page, next_page = pages_of(tmp_path / "plain.pdf")
        if next_page > heading_page:
            break
    else:
        pytest.fail("no filler length put the heading at the foot of a page")
    (tmp_path / "kept.pdf").write_bytes(pdf_bytes(html_text, [], "t"))
    heading_page, next_page = pages_of(tmp_path / "kept.pdf")
    assert heading_page == next_page


def test_progress_report_of_one_week_headers_integer_cue_ticks_and_legend(client_library: Path, tmp_path: Path,
                                                                         qt_app: Any) -> None:
    from PySide6 import QtGui

    from somafeedback.ui.report.figures import APPROVED_COLOUR, SUGGESTED_COLOUR, WeeklyBandChart, grab
    from somafeedback.ui.report.render import render_progress_report

    one = progress_content(client_library, "Client D")
    assert len(one.weeks) == 1
    text = _without_images(render_progress_report(client_library, "Client D", "html", tmp_path).read_text(encoding="utf-8"))
    assert "(1 week)" in text and "1 weeks" not in text
    four = _without_images(render_progress_report(client_library, "Client C", "html", tmp_path).read_text(encoding="utf-8"))
    assert "(4 weeks)" in four
    pdf = render_progress_report(client_library, "Client C", "pdf", tmp_path / "c.pdf")
    words = set(re.findall(r"[A-Za-z]+", " ".join(_pdf_text(pdf))))
    for word in ("Week", "Sessions", "Minutes", "Home", "practice", "Resting", "RMSSD", "usual", "range", "Cues", "Pauses",
                 "Started", "Mode", "Session"):
        assert word in words, word  # every header word whole, never broken inside

    content = progress_content(client_library, "Client C")
    content = replace(content, weeks=tuple(replace(w, cues_suggested=k + 1, cues_approved=k) for k, w in
                                           enumerate(content.weeks)))
    chart = WeeklyBandChart()
    chart.set_weeks(content)
    chart.close = lambda: True  # laid out by grab() as in the report, and kept open to be read
    grab(chart, "in-band", "", 960, 420)
    values, labels = _axis_ticks(chart.cue_plot.getAxis("left"))
    assert values and all(float(v).is_integer() for v in values), values
    assert all(re.fullmatch(r"\d+", label) for label in labels), labels
    samples = {label.text: sample.item for sample, label in chart.legend.items}
    assert set(samples) == {"suggested", "approved"}
    for name, colour in (("suggested", SUGGESTED_COLOUR), ("approved", APPROVED_COLOUR)):
        brush = samples[name].opts["brush"]
        assert QtGui.QColor(brush.color()).getRgb()[:3] == colour, name  # the legend draws the bars' own colour
    assert "light" not in chart.cue_plot.titleLabel.text and "dark" not in chart.cue_plot.titleLabel.text


def test_a_session_without_notes_markers_or_cues_says_so_in_one_line(qt_app: Any, tmp_path: Path) -> None:
    """The shipped sample has none: one plain line instead of three headings each over "none" (a near-empty page)."""
    from somafeedback.ui.report.html import NOTHING_MARKED_TEXT
    from somafeedback.ui.report.render import render_session_report

    sample = Path(__file__).resolve().parents[1] / "recordings" / "polar-h10-slow-breathing.session.sqlite"
    content = session_content(sample)
    assert not (content.notes or content.markers or content.cue_decisions)
    html_text = render_session_report(sample, "html", tmp_path).read_text(encoding="utf-8")
    assert NOTHING_MARKED_TEXT in html_text
    assert "<h3>Markers</h3>" not in html_text and "<h3>Notes</h3>" not in html_text
