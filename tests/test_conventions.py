"""Frequency-domain convention sets (issue #16): each preset against a straightforward implementation
written here (numpy/scipy only, no project code) on real 5-min records; the segment placement and the
band-edge rule each make a difference a Kubios user would see; the live pipeline and analyze agree
under the same set; every output names its set."""

from __future__ import annotations

import csv
import io
import json
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import replace

import numpy as np
import pytest
import scipy.signal
from real_records import clean_segments, irurzun_ms, nsr001_ms, polar_slow_breathing_ms
from scipy.interpolate import CubicSpline

from somafeedback.cli.main import main as cli_main
from somafeedback.hrv.conventions import KUBIOS, LIVE, PRESETS, TASK_FORCE, conventions
from somafeedback.hrv.pipeline import MetricsPipeline, PipelineConfig
from somafeedback.hrv.spectral import band_powers
from somafeedback.hrv.whole_record import summarize

FS = 4.0
LF, HF = (0.04, 0.15), (0.15, 0.40)


def _five_minutes(rr: np.ndarray) -> np.ndarray:
    t = np.cumsum(rr) / 1000.0
    return rr[: int(np.searchsorted(t, t[0] + 300.0))]


RECORDS = {
    "nsr001": clean_segments(nsr001_ms(), 1, start=12000)[0],
    "irurzun": clean_segments(irurzun_ms(), 1, start=3000)[0],
    "polar slow breathing": _five_minutes(polar_slow_breathing_ms()[5:]),
}


# -- the independent implementations --------------------------------------------------------
def _tachogram(rr: np.ndarray) -> np.ndarray:
    """4 Hz cubic spline (not-a-knot) from the first beat to the last."""
    t = np.cumsum(rr) / 1000.0
    n = int(np.floor((t[-1] - t[0]) * FS + 1e-9)) + 1
    return CubicSpline(t, rr)(t[0] + np.arange(n) / FS)


def _bins(f: np.ndarray, p: np.ndarray, band: tuple[float, float]) -> float:
    return float(p[(f >= band[0]) & (f < band[1])].sum() * (f[1] - f[0]))


def _integral(f: np.ndarray, p: np.ndarray, band: tuple[float, float]) -> float:
    inside = (f > band[0]) & (f < band[1])
    x = np.concatenate(([band[0]], f[inside], [band[1]]))
    y = np.concatenate(([np.interp(band[0], f, p)], p[inside], [np.interp(band[1], f, p)]))
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))


def _kubios(rr: np.ndarray, newest: bool = False) -> tuple[float, float]:
    """Smoothness priors (λ = 500, dense formula), Welch 256 s Hann 50 % from the start (``newest``: the
    segments laid from the end instead), 1200-point FFT, bins in band."""
    x = _tachogram(rr)
    n = len(x)
    d2 = np.diff(np.eye(n), 2, axis=0)
    x = x - np.linalg.solve(np.eye(n) + 500.0**2 * d2.T @ d2, x)
    x = x - x.mean()
    nperseg = min(n, 1024)
    if newest:
        x = x[(n - nperseg) % (nperseg - nperseg // 2):]
    f, p = scipy.signal.welch(x, FS, window="hann", nperseg=nperseg, noverlap=nperseg // 2, nfft=max(nperseg, 1200),
                              detrend=False)
    return _bins(f, p, LF), _bins(f, p, HF)


def _task_force(rr: np.ndarray) -> tuple[float, float]:
    """Linear detrend, one Hann periodogram of the (first) 5 min, FFT x2, exact band integral."""
    x = scipy.signal.detrend(_tachogram(rr), type="linear")
    nperseg = min(len(x), 1200)
    f, p = scipy.signal.periodogram(x[:nperseg], FS, window="hann", nfft=2 * nperseg, detrend=False)
    return _integral(f, p, LF), _integral(f, p, HF)


def _live(rr: np.ndarray) -> tuple[float, float]:
    """Mean removed, Welch 256 s Hann 50 % laid from the newest sample, FFT x2, exact band integral."""
    x = _tachogram(rr)
    nperseg = min(len(x), 1024)
    step = nperseg - nperseg // 2
    x = x[(len(x) - nperseg) % step:]
    f, p = scipy.signal.welch(x - x.mean(), FS, window="hann", nperseg=nperseg, noverlap=nperseg // 2, nfft=2 * nperseg,
                              detrend=False)
    return _integral(f, p, LF), _integral(f, p, HF)


INDEPENDENT = {"kubios": _kubios, "task-force": _task_force, "live": _live}


@pytest.mark.parametrize("record", sorted(RECORDS))
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_each_preset_agrees_with_an_independent_implementation(name: str, record: str) -> None:
    rr = RECORDS[record]
    powers = band_powers(np.cumsum(rr) / 1000.0, rr, conventions(name))
    lf, hf = INDEPENDENT[name](rr)
    assert powers.lf_ms2 == pytest.approx(lf, rel=0.005) and powers.hf_ms2 == pytest.approx(hf, rel=0.005)


def test_kubios_lays_its_segments_from_the_start_of_the_window() -> None:
    """A 5-min window holds one whole 256 s segment: kubios analyses its first 256 s (as scipy's welch
    and MATLAB's pwelch do); the newest 256 s give another HF."""
    rr = RECORDS["irurzun"]
    t = np.cumsum(rr) / 1000.0
    got = band_powers(t, rr, KUBIOS)
    assert got.window_s == pytest.approx(1023 / FS)  # the first 1024 samples
    from_start, from_newest = _kubios(rr)[1], _kubios(rr, newest=True)[1]
    assert got.hf_ms2 == pytest.approx(from_start, rel=1e-9)
    assert abs(from_newest / from_start - 1.0) > 0.02


def test_band_edges_bins_inside_versus_the_interpolated_integral() -> None:
    """With power just below 0.04 Hz the rule for the edge strip changes LF; the kubios set sums bins."""
    rr = RECORDS["nsr001"]
    t = np.cumsum(rr) / 1000.0
    bins = band_powers(t, rr, KUBIOS)
    integral = band_powers(t, rr, replace(KUBIOS, band_rule="integral"))
    lf_bins, _ = _kubios(rr)
    assert bins.lf_ms2 == pytest.approx(lf_bins, rel=1e-9)
    assert integral.lf_ms2 != pytest.approx(bins.lf_ms2, rel=1e-3)


def test_the_live_pipeline_and_analyze_agree_under_the_same_set() -> None:
    """A whole real record: at the end of each 5-min segment the live pipeline's LF/HF (kubios set, 5-min
    window) equals analyze's value for that segment."""
    rr = irurzun_ms()[:1400]
    t = np.cumsum(rr) / 1000.0
    summary = summarize(rr, settings=KUBIOS)
    pipeline = MetricsPipeline(PipelineConfig(spectral=KUBIOS, frequency_window_s=300.0))
    compared = 0
    beats = iter(zip(t.tolist(), rr.tolist(), strict=True))
    pending = next(beats)
    for segment in summary["frequency_segments"]:
        while pending is not None and pending[0] <= segment["end_s"]:
            pipeline.push_beat(*pending)
            pending = next(beats, None)
        if not segment["used"] or segment["end_s"] - segment["start_s"] < 300.0 - 1e-6:
            continue
        live = pipeline.frequency_at(segment["end_s"])
        assert live.validity.valid and live.conventions == "kubios"
        assert live.lf_ms2 == pytest.approx(segment["lf_ms2"], rel=1e-9)
        assert live.hf_ms2 == pytest.approx(segment["hf_ms2"], rel=1e-9)
        compared += 1
    assert compared >= 3


def test_every_output_names_its_conventions(tmp_path) -> None:
    rr_file = tmp_path / "rr.txt"
    np.savetxt(rr_file, irurzun_ms()[:700], fmt="%.0f")
    for name in ("kubios", "task-force"):
        out = io.StringIO()
        with redirect_stdout(out), redirect_stderr(io.StringIO()):
            assert cli_main(["analyze", str(rr_file), "--json", "--conventions", name]) == 0
        assert json.loads(out.getvalue())["conventions"] == name
    series = io.StringIO()
    with redirect_stdout(series), redirect_stderr(io.StringIO()):
        assert cli_main(["analyze", str(rr_file), "--series"]) == 0
    rows = list(csv.DictReader(io.StringIO(series.getvalue())))
    assert {row["frequency_conventions"] for row in rows if row["lf_ms2"]} == {LIVE.name}
    assert TASK_FORCE.name == "task-force"


def test_the_report_names_its_conventions_and_computes_its_phases_under_them(tmp_path) -> None:
    import os
    import subprocess
    import sys

    from session_helpers import REPO

    from somafeedback.reports.content import session_content

    sample = REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite"
    kubios, task_force = session_content(sample), session_content(sample, conventions_name="task-force")
    assert kubios.conventions == "kubios" and "kubios conventions" in kubios.phase_text
    assert task_force.conventions == "task-force" and "task-force conventions" in task_force.phase_text
    assert all("task-force conventions" in phase.conventions for phase in task_force.phases)
    assert [p.lf_ms2 for p in task_force.phases] != [p.lf_ms2 for p in kubios.phases]
    out = tmp_path / "report.html"
    done = subprocess.run([sys.executable, "-m", "somafeedback.ui.launcher", "report", str(sample), "--format", "html",
                           "--out", str(out), "--conventions", "task-force"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    assert "task-force conventions" in out.read_text()
