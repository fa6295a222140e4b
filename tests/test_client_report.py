"""The plain-language client version of a session report (issue #13).

A 25-minute practitioner session is recorded through the real path (simulated strap -> BLE ->
supervisor -> SessionWriter, with the regulation loop: a calibration baseline, states, one
grounding suggestion approved and one containment suggestion dismissed). The client version
must say what was practised, for how long and what changed, in words, with no technical
measures, no diagnosis and no verdict on the person.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_reports import CLIENT, EVENTS, PRACTITIONER, WALL_ORIGIN, _pdf_text, _record

from somafeedback.reports.client import client_report, client_texts
from somafeedback.devices.events import TimelineEvent
from somafeedback.regulation.exercises import load_exercises
from somafeedback.reports.content import session_content
from somafeedback.sessions.file import read_session

SESSION_S = 1500.0
# Nothing technical, nothing diagnostic, no theory's state names, no verdict on the person.
BANNED = re.compile(r"ms²|\bms\b|\bln\b|RMSSD|LF/HF|\bLF\b|\bHF\b|SDNN|pNN50|coherence|vagal|polyvagal|ventral|dorsal|"
                    r"sympathetic|nervous system|diagnos|disorder|stress|anxiety|trauma|score|\bgood\b|\bbad\b|better|"
                    r"worse|should|fail|abnormal|healthy|unhealthy|ratio|artifact|baseline|band", re.I)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("client") / "2024-05-17_142305_Wren-Halloway_0003.session.sqlite"
    return _record(path, "activation", SESSION_S, WALL_ORIGIN,
                   {"client": CLIENT, "practitioner": PRACTITIONER, "mode": "practitioner"}, EVENTS, regulation=True)


@pytest.fixture(scope="module")
def qt_app() -> Any:
    from somafeedback.ui.report.render import ensure_app

    return ensure_app()


def _words(path: Path) -> str:
    return re.sub(r"\s+", " ", " ".join(_pdf_text(path)))


def _rounded_median(values: np.ndarray) -> int:
    return round(statistics.median(values.tolist()))


def test_the_client_version_says_what_was_practised_how_long_and_what_changed(session: Path) -> None:
    content = session_content(session)
    report = client_report(content)
    events = [e for e in read_session(session).timeline if isinstance(e, TimelineEvent) and e.kind == "cue"]
    approved = {e.data["exercise"] for e in events if e.data.get("action") == "approved"}
    dismissed = {e.data["exercise"] for e in events if e.data.get("action") == "dismissed"}
    library = load_exercises()
    assert approved and dismissed
    assert set(report.practised) == {library[e].title for e in approved}  # what was taken up, by its title
    assert not {library[e].title for e in dismissed} & set(report.practised)

    practice = next(p.segment for p in content.phases if p.segment.label == "practice")  # after the calibration
    minutes = round((practice.end_s - practice.start_s) / 60.0)
    assert report.duration_text.startswith(f"You practised for about {minutes} minutes")
    assert f"about {round(content.duration_s / 60.0)} minutes" in report.duration_text  # the whole recording

    series = content.series  # the 60-s heart rate windows; start: ending 1-3 min in, end: the last 2 min
    start = series.hr_bpm[(series.hr_t_s >= practice.start_s + 60.0) & (series.hr_t_s <= practice.start_s + 180.0)]
    end = series.hr_bpm[(series.hr_t_s >= practice.end_s - 120.0) & (series.hr_t_s <= practice.end_s)]
    a, b = _rounded_median(start), _rounded_median(end)
    assert b <= a - 3  # the activation scenario settles by the end
    assert f"Your heart rate settled from about {a} to about {b} beats per minute over the practice." in report.changes
    breathing = content.figure("breathing_hr").value
    assert any(f"about {round(breathing)} breaths per minute" in s for s in report.changes)
    for text in report.texts():
        assert not BANNED.search(text), text


@pytest.mark.parametrize(("begin", "finish", "expected"), [
    (78.0, 70.0, "Your heart rate settled from about 78 to about 70 beats per minute over the practice."),
    (66.0, 74.0, "Your heart rate went up from about 66 to about 74 beats per minute over the practice."),
    (71.0, 72.0, "Your heart rate stayed about the same over the practice, around 72 beats per minute."),
])
def test_the_heart_rate_sentence_follows_the_recorded_values(session: Path, begin: float, finish: float,
                                                             expected: str) -> None:
    content = session_content(session)
    t = np.arange(60.0, 900.0, 1.0)
    hr = np.interp(t, [60.0, 180.0, 780.0, 900.0], [begin, begin, finish, finish])  # flat at each end, a ramp between
    steady = replace(content, phases=(), start_s=0.0, duration_s=900.0,
                     series=replace(content.series, hr_t_s=t, hr_bpm=hr))
    changes = client_report(steady).changes
    assert changes[0] == expected
    assert not any("highest" in sentence for sentence in changes)  # no peak above both ends


def test_client_html_and_pdf_from_the_command_and_the_ui_function(session: Path, tmp_path: Path, qt_app: Any,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from somafeedback.ui.report import command as report_command

    assert report_command.main(["report", str(session), "--format", "html", "--audience", "client",
                                "--out", str(tmp_path)]) == 0
    written = Path(capsys.readouterr().out.strip())
    assert written == tmp_path / f"{session.name.removesuffix('.session.sqlite')}_client_report.html"
    html_text = written.read_text(encoding="utf-8")
    report = client_report(session_content(session))
    visible = re.sub(r"<style>.*?</style>", "", html_text, flags=re.S)
    for sentence in (*report.changes, report.duration_text, *report.practised):
        assert sentence in visible
    text = re.sub(r"<[^>]+>", " ", visible)
    assert not BANNED.search(text), BANNED.search(text)
    assert "<img" not in html_text and "not a medical" in text

    pdf = report_command.client_report(session, "pdf", tmp_path / "client.pdf")
    words = _words(pdf)
    assert "What changed" in words and "not a medical assessment" in words
    assert not BANNED.search(words), BANNED.search(words)
    with pytest.raises(SystemExit):  # argparse refuses an audience not offered
        report_command.main(["report", str(session), "--format", "html", "--audience", "nobody"])


def test_a_deidentified_client_version_has_no_name_and_no_date(session: Path, tmp_path: Path, qt_app: Any) -> None:
    from somafeedback.ui.report.render import render_client_report

    written = render_client_report(session, "html", tmp_path, deidentify=True)
    text = written.read_text(encoding="utf-8").lower()
    for word in ("wren", "halloway", "ilse", "marchetti", "2024", "may"):
        assert word not in text, word
    assert "your heart rate" in text


def test_the_fixed_client_wording_makes_no_claims() -> None:
    for text in client_texts():
        assert not BANNED.search(text), text
    assert "not a medical device" in client_texts()[0] and "not a medical assessment" in client_texts()[0]
