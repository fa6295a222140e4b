"""The reports as HTML: one text for a browser (a self-contained file) and for Qt's PDF layout.

:func:`session_html` and :func:`progress_html` turn report content and its figures into
HTML; :func:`client_html` the client version of a session report (plain sentences only).
``src(image)`` says where each figure comes from: a ``data:image/png;base64,...`` URI for the
HTML file (nothing outside the file), a resource name of the ``QTextDocument`` for the PDF.
With ``for_pdf=True`` the markup keeps to what Qt's rich-text engine lays out (table
attributes, image widths in layout pixels). Sections flow on from page to page: a heading is kept with what follows it and a figure with its caption
(the CSS ``break-after: avoid`` / ``break-inside: avoid`` rules for a browser's print; Qt's PDF
layout does not read them, so :func:`~.pdf.pdf_bytes` moves such a heading or figure
to the next page itself).

Every text that comes from the session (notes, markers, names, tags, cue texts) is escaped.

Thread: any (pure string building; no Qt).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from somafeedback.reports.client import NO_EXERCISE_TEXT, ClientReport
from somafeedback.reports.common import clock
from somafeedback.reports.content import DEIDENTIFIED_TEXT, WHOLE_SESSION, SessionReportContent
from somafeedback.reports.progress_content import ProgressContent
from somafeedback.reports.relationship import RELATIONSHIP_CAVEAT
from somafeedback.reports import resonance as rf
from somafeedback.regulation.pendulation import SWING_HEADERS, swing_row
from somafeedback.sessions.segments import SegmentStats

if TYPE_CHECKING:  # a type only: this module stays Qt-free
    from .figures import ReportImage

PDF_IMAGE_WIDTH: Final = 660  # layout px of a figure in the PDF (the text width of an A4 page at 96 dpi)
CSS: Final = """
body { font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; font-size: 10pt; color: #222;
       max-width: 1100px; margin: 1.5em auto; padding: 0 1em; }
h1 { font-size: 18pt; margin-bottom: 0.2em; }
h2 { font-size: 14pt; margin-top: 1.2em; border-bottom: 1px solid #bbb; }
h3 { font-size: 11pt; margin-top: 1em; }
table { border-collapse: collapse; margin: 0.4em 0 1em 0; }
th, td { border: 1px solid #bbb; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #eef3f7; }
td.num { text-align: right; white-space: nowrap; }
.box { background: #f4f7f9; border: 1px solid #c8d3dc; padding: 6px 10px; margin: 0.6em 0; }
.meta td { border: none; padding: 1px 10px 1px 0; }
.caption { color: #555; font-size: 9pt; margin: 0.2em 0 1em 0; }
.muted { color: #666; }
img.figure { width: 100%; height: auto; display: block; }
h1, h2, h3 { page-break-after: avoid; break-after: avoid; }
.figure-block, tr { page-break-inside: avoid; break-inside: avoid; }
th { white-space: nowrap; }
.legend-swatch { font-size: 12pt; }
"""

ImageSource = Callable[["ReportImage"], str]

NOTHING_MARKED_TEXT = "No notes, markers or cue decisions in this session (no cues were suggested and no script ran)."


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = (), escape: bool = True,
           for_pdf: bool = False, wide: bool = False, nowrap: bool = False) -> str:
    """A table; ``numeric`` columns are right-aligned (and never wrap, nor any cell with ``nowrap``); ``wide``
    spans the page width."""
    attrs = ' border="1" cellspacing="0" cellpadding="4"' if for_pdf else ""
    attrs += ' width="100%"' if wide else ""
    head = "".join(f'<th style="white-space: nowrap">{"<br>".join(_e(w) for w in h.split(chr(10)))}</th>'
                   for h in headers)  # a header breaks only where it has a newline, never inside a word
    body = []
    for row in rows:
        cells = []
        for k, cell in enumerate(row):
            text = _e(cell) if escape else cell
            align = ' class="num" align="right" style="white-space: nowrap"' if k in numeric else \
                (' style="white-space: nowrap"' if nowrap else "")
            cells.append(f"<td{align}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table{attrs}><tr>{head}</tr>{''.join(body)}</table>"


def _section(title: str, for_pdf: bool, first: bool = False, new_page: bool = False) -> str:
    """A section heading; sections flow on (the PDF keeps each heading with what follows it), except one that
    starts its own page (``new_page``: a results page)."""
    klass = "" if first else ' class="section"'
    style = ' style="page-break-before: always;"' if new_page and for_pdf else ""
    return f"<h2{klass}{style}>{_e(title)}</h2>"


def _figure(image: ReportImage, src: ImageSource, for_pdf: bool) -> str:
    if for_pdf:
        height = round(PDF_IMAGE_WIDTH * image.height / max(image.width, 1))
        tag = f'<img src="{_e(src(image))}" width="{PDF_IMAGE_WIDTH}" height="{height}" alt="{_e(image.key)}">'
    else:
        tag = f'<img class="figure" src="{src(image)}" alt="{_e(image.caption)}">'
    return f'<div class="figure-block"><p>{tag}</p><p class="caption">{_e(image.caption)}</p>{_legend(image)}</div>'


def _legend(image: ReportImage) -> str:
    """The colours drawn in ``image`` with their names (nothing when it drew none)."""
    if not image.legend:
        return ""
    keys = " &nbsp; ".join(f'<span class="legend-swatch" style="color: rgb({r},{g},{b})">■</span> {_e(name)}'
                           for name, (r, g, b) in image.legend)
    return f'<p class="caption legend">States: {keys}</p>'


def _document(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>\n{body}\n</body></html>\n")


def _box(*paragraphs: str) -> str:
    return '<table class="box" width="100%" border="0" cellpadding="6" bgcolor="#f4f7f9"><tr><td>' + \
        "".join(f"<p>{_e(p)}</p>" for p in paragraphs) + "</td></tr></table>"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60.0:.1f} min"


NONLINEAR_PHASE_ROWS = (("DFA α1 (4–11 beats)", "dfa_alpha1", ".2f"), ("DFA α2 (12 beats to N/10)", "dfa_alpha2", ".2f"),
                        ("Sample entropy (m 2, r 0.2 SD)", "sample_entropy", ".2f"))


def _phase_rows(phases: Sequence[SegmentStats]) -> list[tuple[str, ...]]:
    """One row per measure, one column per phase (the measure's unit in its name)."""
    def num(value: float | None, spec: str) -> str:
        return "--" if value is None or value != value else f"{value:{spec}}"

    rows: list[tuple[str, ...]] = [
        ("Window (m:ss)", *(f"{clock(p.segment.start_s)}–{clock(p.segment.end_s)} ({clock(p.segment.duration_s)})"
                            for p in phases)),
        ("Beats (accepted / all)", *(f"{p.n_accepted} / {p.n_beats}" for p in phases)),
        ("Heart rate (bpm)", *(num(p.mean_hr_bpm, ".1f") for p in phases)),
        ("RMSSD (ms)", *(num(p.rmssd_ms, ".1f") for p in phases)),
        ("SDNN (ms)", *(num(p.sdnn_ms, ".1f") for p in phases)),
        ("pNN50 (%)", *(num(p.pnn50_pct, ".1f") for p in phases)),
        ("LF (ms²)", *(num(p.lf_ms2, ".0f") for p in phases)),
        ("HF (ms²)", *(num(p.hf_ms2, ".0f") for p in phases)),
        ("LF/HF", *(num(p.lf_hf, ".2f") for p in phases)),
        ("Breathing rate (breaths/min)", *(num(p.breathing_bpm, ".1f") for p in phases)),
        ("Artifacts (% of beats)", *(num(p.artifact_pct, ".1f") for p in phases)),
        ("Validity", *("valid" if p.valid else "not valid" for p in phases)),
    ]
    if any(p.nonlinear is not None for p in phases):  # report --full: neurokit2's indices (docs/metrics.md, section 8)
        for label, key, spec in NONLINEAR_PHASE_ROWS:
            rows.append((label, *(num((p.nonlinear or {}).get(key), spec) for p in phases)))
    return rows


def _phase_table(phases: Sequence[SegmentStats], for_pdf: bool) -> str:
    if not phases:
        return '<p class="muted">No beats to measure.</p>'
    table = _table(["Measure", *(p.segment.label for p in phases)], _phase_rows(phases),
                   numeric=tuple(range(1, len(phases) + 1)), for_pdf=for_pdf, wide=True)
    notes = [f"{p.segment.label}: {'; '.join(p.notes)}" for p in phases if p.notes]
    return table + (f'<p class="caption">Notes — {_e(" · ".join(notes))}.</p>' if notes else "")


def _swing_table(content: SessionReportContent, for_pdf: bool) -> str:
    """Each swing above the usual range (somafeedback.regulation.pendulation): start, peak, recovery; or why there is none."""
    if not content.swings_judged:
        return ('<p class="muted">No baseline in this session: there was no usual range to measure swings '
                "against.</p>")
    if not content.swings:
        return ('<p class="muted">Heart rate did not rise above the usual range long or high enough to count as a '
                f"swing.</p><p class=\"caption\">{_e(content.pendulation_text)}</p>")
    table = _table(list(SWING_HEADERS), [swing_row(s) for s in content.swings], numeric=(0, 1, 4), for_pdf=for_pdf,
                   wide=True)
    return table + f'<p class="caption">{_e(content.pendulation_text)}</p>'


def _rest_table(content: SessionReportContent, for_pdf: bool) -> str:
    """Each movement block's rest before and after (somafeedback.regulation.methods.RestComparison)."""
    def value(x: float | None, unit: str) -> str:
        return "--" if x is None else f"{x:.0f} {unit}"

    rows = [(f"{clock(r.start_s)}–{clock(r.end_s)}", r.source, value(r.before_hr, "bpm"), value(r.after_hr, "bpm"),
             value(r.before_rmssd, "ms"), value(r.after_rmssd, "ms"), r.note or "") for r in content.rest_comparisons]
    table = _table(["Block", "Marked by", "HR before", "HR after", "RMSSD before", "RMSSD after", "Not compared"],
                   rows, numeric=(2, 3, 4, 5), for_pdf=for_pdf, wide=True)
    return table + ('<p class="caption">Rest before: the 60 s before the block; rest after: 60 s starting 30 s after '
                    "it (HR as the mean of 60000/RR, RMSSD of successive accepted beats). A rest with under 80 % of its "
                    "time in accepted beats, or over 5 % rejected, is not compared.</p>")


def _count(n: int, noun: str) -> str:
    """``1 week``, ``2 weeks``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _relationship(content: SessionReportContent, image: ReportImage | None, src: ImageSource, for_pdf: bool) -> str:
    """The two people's heart rates: the summary in words, how it was made, the figure."""
    rel = content.relationship
    assert rel is not None
    parts = [_section("Two heart rates: the practitioner's and the client's", for_pdf),
             f"<p>{_e(rel.summary_text())}</p>", f'<p class="caption">{_e(rel.settings_text())}</p>',
             f'<p class="muted">{_e(RELATIONSHIP_CAVEAT)}</p>']
    if image is not None:
        parts.append(_figure(image, src, for_pdf))
    return "\n".join(parts)


def _resonance(content: SessionReportContent, image: ReportImage | None, src: ImageSource, for_pdf: bool) -> str:
    """The breathing-rate assessment: the best rates in words, the steps' table (a column per step; a step that could
    not be assessed greyed, with its reason), the figure, how the ranking was made and the conventions."""
    record = content.resonance
    assert record is not None
    parts = [_section(rf.PAGE_TITLE, for_pdf, new_page=True), f"<p><b>{_e(rf.best_text(record))}</b></p>"]
    parts += [f'<p class="muted">{_e(text)}</p>' for text in (record.problem, record.unfinished) if text]
    result = record.result
    if result is not None:  # one column per step run (a page's width holds them; a row per step would not)
        cells = [rf.step_row(s) for s in result.steps]
        rows = [[_e(label.replace(chr(10), " "))]
                + [_e(c[k]) if s.assessable else f'<font color="#777777">{_e(c[k])}</font>'
                   for c, s in zip(cells, result.steps)] for k, label in enumerate(rf.HEADERS) if k > 0]
        parts.append(_table(["Breathing rate"] + [f"{s.rate_bpm:g}/min" for s in result.steps], rows, escape=False,
                            for_pdf=for_pdf, wide=True))
        if image is not None:
            parts.append(_figure(image, src, for_pdf))
        if record.ranked:
            parts.append(f"<p>{_e(rf.weights_text(result))}</p>")
    parts.append(f'<p class="caption">{_e(rf.ABOUT_TEXT)}</p>')
    parts.append(_table(["Measure", "How it was computed"], rf.convention_rows(), for_pdf=for_pdf, wide=True))
    return "\n".join(parts)


def session_title(content: SessionReportContent) -> str:
    who = "" if content.deidentified or not content.client else f" — {content.client}"
    return f"Session report{who}"


def session_html(content: SessionReportContent, images: Sequence[ReportImage], src: ImageSource,
                 for_pdf: bool = False) -> str:
    """The whole session report."""
    parts = [f"<h1>{_e(session_title(content))}</h1>"]
    meta = [("Started", content.started_text), ("Recorded time", clock(content.duration_s)),
            ("Session", content.session_id[:12] + (" (de-identified)" if content.deidentified else ""))]
    if content.client:
        meta.insert(0, ("Client", content.client))
    if content.practitioner:
        meta.insert(1 if content.client else 0, ("Practitioner", content.practitioner))
    if content.mode:
        meta.append(("Mode", content.mode))
    if content.method:
        meta.append(("Method", content.method))
    if content.tags:
        meta.append(("Tags", ", ".join(content.tags)))
    if content.straps:
        meta.append(("Strap", ", ".join(content.straps)))
    meta.append(("Beats", content.beat_source))
    parts.append('<table class="meta" border="0" cellpadding="2">'
                 + "".join(f"<tr><td><b>{_e(k)}</b></td><td>{_e(v)}</td></tr>" for k, v in meta) + "</table>")
    boxed = [content.measured_text, content.not_medical_text]
    if content.deidentified:
        boxed.append(DEIDENTIFIED_TEXT)
    parts.append(_box(*boxed))
    if content.problems:
        parts.append("<p><b>Reading the file:</b> " + _e("; ".join(content.problems)) + "</p>")

    parts.append(_section("Summary", for_pdf, first=True))
    parts.append(_table(["Measure", "Value", "How it was computed"],
                        [(f.label, f.text, f.detail) for f in content.figures], numeric=(1,), for_pdf=for_pdf,
                        wide=True))
    parts.append("<h3>Baseline</h3>")
    if content.baseline_info is not None:
        parts.append(_table(["Baseline", "Value", "How it was made"], content.baseline_info.rows(),
                            for_pdf=for_pdf, wide=True))
    else:
        parts.append('<p class="muted">No baseline was measured or stored for this session: the states, if any, '
                     "had no usual range to compare with.</p>")
    parts.append("<h3>" + ("Phases" if len(content.phases) > 1 or content.phases and
                            content.phases[0].segment.label != WHOLE_SESSION else "The session as one stretch") + "</h3>")
    parts.append(_phase_table(content.phases, for_pdf))
    parts.append(f'<p class="caption">{_e(content.phase_text)}</p>')
    parts.append("<h3>Time in each state</h3>")
    total = sum(content.state_seconds.values())
    if content.state_seconds:
        parts.append(_table(["State", "Time", "Share"],
                            [(name, _minutes(secs), f"{100.0 * secs / total:.0f} %" if total else "--")
                             for name, secs in content.state_seconds.items() if secs >= 0.5], numeric=(1, 2),
                            for_pdf=for_pdf))
    else:
        parts.append('<p class="muted">No states were recorded in this session (it was recorded without the '
                     "state model).</p>")
    parts.append("<h3>Cues</h3>")
    counts = {k: v for k, v in content.cue_counts.items() if v}
    if counts:
        parts.append(_table(["Cue step", "Count"], [(k, str(v)) for k, v in content.cue_counts.items()
                                                    if v or k in ("suggested", "approved", "dismissed")],
                            numeric=(1,), for_pdf=for_pdf))
    else:
        parts.append('<p class="muted">No cues were suggested in this session.</p>')

    parts.append("<h3>Pendulation swings</h3>")
    parts.append(_swing_table(content, for_pdf))
    if content.rest_comparisons:
        parts.append("<h3>Movement blocks: rest before and after</h3>")
        parts.append(_rest_table(content, for_pdf))

    by_key = {image.key: image for image in images}
    parts.append(_section("Over the session", for_pdf))
    if "timeline" in by_key:
        parts.append(_figure(by_key["timeline"], src, for_pdf))  # with the legend of the states it drew, if any
    if "overview" in by_key:
        parts.append(_figure(by_key["overview"], src, for_pdf))
    raw = [image for image in images if image.key.startswith("raw-")]
    if raw:
        parts.append(_section("Raw signals (Polar H10)", for_pdf))
        for image in raw:
            parts.append(_figure(image, src, for_pdf))

    if content.relationship is not None:
        parts.append(_relationship(content, by_key.get("relationship"), src, for_pdf))
    if content.resonance is not None:
        parts.append(_resonance(content, by_key.get("resonance"), src, for_pdf))
    parts.append(_section("Notes, markers and cue decisions", for_pdf))
    if not (content.notes or content.markers or content.cue_decisions):  # one line, not three near-empty headings
        parts.append(f'<p class="muted">{NOTHING_MARKED_TEXT}</p>')
        parts.append(f'<p class="muted">Made by somafeedback {_e(content.app_version)} from the recorded session file.</p>')
        return _document(session_title(content), "\n".join(parts))
    parts.append("<h3>Notes</h3>")
    if content.notes:
        rows = [(clock(n.t_s), "review note" if n.kind == "review" else "note",
                 n.text + (f" — {n.author}" if n.author else "")) for n in content.notes]
        parts.append(_table(["At", "Kind", "Text"], rows, numeric=(0,), for_pdf=for_pdf, wide=True))
    else:
        parts.append('<p class="muted">No notes.</p>')
    parts.append("<h3>Markers</h3>")
    if content.markers:
        parts.append(_table(["At", "Marker"], [(clock(m.t_s), m.text) for m in content.markers], numeric=(0,),
                            for_pdf=for_pdf))
    else:
        parts.append('<p class="muted">No markers.</p>')
    parts.append("<h3>Cue decisions</h3>")
    if content.cue_decisions:
        decision_rows = []
        for d in content.cue_decisions:
            outcome = d.outcome if d.outcome_s is None or d.outcome_s == d.t_s else f"{d.outcome} at {clock(d.outcome_s)}"
            if d.delivered:
                outcome += ", shown to the client"
            decision_rows.append((clock(d.t_s), d.kind, d.exercise or "", d.text, outcome))
        parts.append(_table(["At", "Cue", "Exercise", "Text", "Decision"], decision_rows, numeric=(0,), for_pdf=for_pdf, wide=True))
    else:
        parts.append('<p class="muted">No cues were suggested, and no script ran.</p>')
    parts.append(f'<p class="muted">Made by somafeedback {_e(content.app_version)} from the recorded session file.</p>')
    return _document(session_title(content), "\n".join(parts))


def progress_title(content: ProgressContent) -> str:
    return f"Progress over weeks — {content.client}"


def progress_html(content: ProgressContent, images: Sequence[ReportImage], src: ImageSource, for_pdf: bool = False,
                  min_resting_readings: int = 3, made: dt.date | None = None) -> str:
    """The whole progress report; resting values of weeks with fewer than ``min_resting_readings`` readings are listed
    with their count but flagged as not drawn."""
    first, last = content.weeks[0].start, content.weeks[-1].start + dt.timedelta(days=6)
    parts = [f"<h1>{_e(progress_title(content))}</h1>",
             '<table class="meta" border="0" cellpadding="2">'
             f"<tr><td><b>Client</b></td><td>{_e(content.client)}</td></tr>"
             f"<tr><td><b>Weeks</b></td><td>{first.isoformat()} to {last.isoformat()} ({_count(len(content.weeks), 'week')})</td></tr>"
             f"<tr><td><b>Sessions</b></td><td>{len(content.sessions)}</td></tr>"
             + (f"<tr><td><b>Made</b></td><td>{made.isoformat()}</td></tr>" if made else "")
             + "</table>",
             _box(content.measured_text, content.not_medical_text)]
    if content.problems:
        parts.append("<p><b>Not read:</b> " + _e("; ".join(content.problems)) + "</p>")
    parts.append("<h2>Week by week</h2>")
    rows = []
    for w in content.weeks:
        resting = "--" if w.resting_ln_rmssd is None else f"{w.resting_ln_rmssd:.2f} (n={w.resting_readings})"
        share = f"{w.in_band_pct:.0f} % of {w.judged_min:.0f} min" if w.in_band_pct is not None else "--"
        rows.append((f"{w.year}-W{w.week:02d}", str(w.sessions), f"{w.minutes:.1f}",
                     f"{w.practices} / {w.practice_minutes:.1f}", resting, share,
                     f"{w.cues_suggested} / {w.cues_approved}", str(w.script_pauses)))
    parts.append(_table(["Week", "Sessions", "Minutes", "Home\npractice", "Resting\nln RMSSD", "In usual\nrange",
                         "Cues", "Pauses"], rows, numeric=(1, 2, 3, 4, 5, 6, 7), for_pdf=for_pdf, nowrap=True))
    parts.append('<p class="caption">Weeks run Monday to Sunday; the first starts on '
                 f"{content.weeks[0].start.isoformat()}. Home practice: practices / minutes. Resting ln RMSSD: the "
                 "weekly median of the sessions' resting readings and their number n (the trend draws weeks with "
                 f"n of {min_resting_readings} or more). In usual range: share of the time the state model judged. "
                 "Cues: suggested / approved. Pauses: the home script paused into grounding.</p>")
    parts.append(_section("Trends", for_pdf))
    for image in images:
        parts.append(_figure(image, src, for_pdf))
    parts.append(_section("Sessions", for_pdf))
    session_rows = []
    for s in content.sessions:
        session_rows.append((s.started.strftime("%Y-%m-%d %H:%M"), s.mode or "", f"{s.minutes:.1f}",
                             f"{s.resting_ln_rmssd:.2f}" if s.resting_ln_rmssd is not None else "--",
                             f"{s.in_band_min:.1f} of {s.judged_min:.1f} min" if s.judged_min > 0 else "--",
                             f"{s.cues_suggested} / {s.cues_approved}", s.session_id[:8]))
    parts.append(_table(["Started", "Mode", "Minutes", "Resting\nln RMSSD", "In usual\nrange", "Cues", "Session"],
                        session_rows, numeric=(2, 3, 4, 5), for_pdf=for_pdf, nowrap=True))
    parts.append(f'<p class="muted">Made by somafeedback {_e(content.app_version)} from the session library '
                 f"{_e(content.library)}.</p>")
    return _document(progress_title(content), "\n".join(parts))


def client_html(report: ClientReport) -> str:
    """The client version of a session report: plain sentences, no figures, no technical measures."""
    parts = [f"<h1>{_e(report.title)}</h1>", f"<p>{_e(report.date_text)}</p>",
             "<h2>What you practised</h2>"]
    if report.practised:
        parts.append("<ul>" + "".join(f"<li>{_e(title)}</li>" for title in report.practised) + "</ul>")
    else:
        parts.append(f"<p>{_e(NO_EXERCISE_TEXT)}</p>")
    parts.append("<h2>How long</h2>")
    parts.append(f"<p>{_e(report.duration_text)}</p>")
    parts.append("<h2>What changed</h2>")
    parts.append("".join(f"<p>{_e(sentence)}</p>" for sentence in report.changes))
    parts.append(_box(report.not_medical_text))
    return _document(report.title, "\n".join(parts))
