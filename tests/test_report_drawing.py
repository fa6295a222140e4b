"""How a report's figures are drawn: the PNG encoded only for a format that embeds it (an HTML report), and the
plots' breathing titles laid out once a frame, not once per metric set or estimate (an hour's report adds thousands).

The content is that of a 3-minute simulated Polar H10 session (ECG, chest motion, RR) recorded through the BLE path,
built by the report's own code.
"""

from __future__ import annotations

from typing import Any

import pytest
from recording_helpers import record_simulated

from somafeedback.reports.content import SessionReportContent, session_content

SESSION_S = 180.0  # long enough for breathing estimates from the chest and the RSA
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def qt_app() -> Any:
    from somafeedback.ui.report.render import ensure_app

    return ensure_app()


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> SessionReportContent:
    path = record_simulated(tmp_path_factory.mktemp("h10") / "h10.session.sqlite", "calm", SESSION_S, h10=True)
    made = session_content(path)
    assert made.raw_excerpts and made.metrics  # an H10 session: raw excerpts and every beat's metric set
    return made


def test_the_png_is_encoded_only_when_asked_for(qt_app: Any, content: SessionReportContent) -> None:
    from PySide6 import QtGui

    from somafeedback.ui.report.figures import session_images

    images = session_images(content)
    assert [i.key for i in images][:2] == ["timeline", "overview"]
    assert not any("png" in vars(i) for i in images)  # a PDF lays the images out: no PNG made
    png = images[1].png
    assert png.startswith(PNG_SIGNATURE) and images[1].png is png  # encoded once
    decoded = QtGui.QImage.fromData(png, "PNG").convertToFormat(images[1].picture.format())  # type: ignore[call-overload]
    assert decoded == images[1].picture


def test_the_breathing_titles_change_on_redraw_not_on_each_measure(qt_app: Any, content: SessionReportContent) -> None:
    from somafeedback.ui.live_plots import LivePlots
    from somafeedback.ui.raw_plots import RawPlots

    plots = LivePlots(span_s=content.duration_s, readout=False)
    before = plots.breathing.titleLabel.text
    for metrics in content.metrics:
        plots.add_metrics(metrics)
    assert plots.breathing.titleLabel.text == before
    plots.redraw()
    last = next(m.breathing for m in reversed(content.metrics) if m.breathing is not None)
    rsa = f"{last.rsa_p2t_ms:.0f} ms" if last.validity.valid and last.rsa_p2t_ms is not None else "--"
    assert plots.breathing.titleLabel.text.endswith(f"RSA peak-to-trough {rsa} (64 s)")

    raw = RawPlots()
    before = raw.breath_plot.titleLabel.text
    for item in content.raw_excerpts[-1].items:
        raw.add(item)
    assert raw.summary != "no chest motion yet" and raw.breath_plot.titleLabel.text == before
    raw.redraw()
    assert raw.breath_plot.titleLabel.text.endswith(f"— {raw.summary}")
