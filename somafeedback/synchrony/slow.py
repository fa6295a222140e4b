"""The slower layer: RSA synchrony (60 s windows) and the concordance index of HR slopes.

* RSA synchrony: each person's RSA series (the mean peak-to-trough RR swing per breath,
  :func:`~somafeedback.hrv.rsa.rsa_peak_to_trough`, over ``rsa_span_s`` of accepted beats, one
  value every ``rsa_step_s``); per ``rsa_window_s`` window (half-overlapping) the Pearson r of
  the two series. It says whether the two people's breathing-linked heart-rate swings grew and
  shrank together; a handful of values per window, so r is coarse.
* Concordance index (Marci & Orr 2006, on HR instead of skin conductance): each person's HR
  slope (bpm/s, least squares) over ``slope_s``, one every ``slope_step_s``; the Pearson r of
  the two slope series over ``concordance_window_s``, sliding by one slope; CI = ln(sum of
  positive r / |sum of negative r|): > 0 when the slopes agree more than they oppose.

Thread: any (pure).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from somafeedback.hrv.rsa import rsa_peak_to_trough

from .beats import Beats, heart_rate_over
from .crosscorr import centred_ramp
from .settings import SynchronySettings

MIN_PAIRS = 5  # values needed in both series for an RSA r


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < MIN_PAIRS or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return None
    return float(np.corrcoef(x[ok], y[ok])[0, 1])


def rsa_series(beats: Beats, times_s: np.ndarray, span_s: float) -> np.ndarray:
    """Mean RSA swing (ms) over ``span_s`` centred on each time; NaN where none can be measured."""
    keep = ~beats.flagged
    t, rr = beats.t_s[keep], beats.rr_ms[keep]
    values = np.full(len(times_s), np.nan)
    for i, centre in enumerate(times_s):
        part = slice(t.searchsorted(centre - span_s / 2), t.searchsorted(centre + span_s / 2))
        try:
            swings = rsa_peak_to_trough(t[part], rr[part])
        except ValueError:  # too few beats
            continue
        if len(swings):
            values[i] = float(swings.mean())
    return values


def rsa_synchrony(a: Beats, b: Beats, start_s: float, end_s: float, settings: SynchronySettings) -> dict[str, Any]:
    """Per half-overlapping ``rsa_window_s`` window from ``start_s``: r of the two RSA series."""
    half = settings.rsa_span_s / 2
    times = np.arange(start_s + half, end_s - half + 1e-9, settings.rsa_step_s)
    rsa_a, rsa_b = rsa_series(a, times, settings.rsa_span_s), rsa_series(b, times, settings.rsa_span_s)
    rows = []
    w = settings.rsa_window_s
    for s in np.arange(start_s, end_s - w + 1e-9, w / 2):
        inside = (times - half >= s) & (times + half <= s + w)
        rows.append({"start_s": float(s), "end_s": float(s + w), "r": _pearson(rsa_a[inside], rsa_b[inside])})
    values = [row["r"] for row in rows if row["r"] is not None]
    return {"windows": rows, "mean_r": float(np.mean(values)) if values else None}


def hr_slopes(hr: np.ndarray, fs_hz: float, slope_s: float, step_s: float) -> np.ndarray:
    """Least-squares slope (bpm/s) of each ``slope_s`` stretch of ``hr``, one every ``step_s``."""
    n, step = int(round(slope_s * fs_hz)), max(1, int(round(step_s * fs_hz)))
    if len(hr) < n:
        return np.empty(0)
    k, kk = centred_ramp(n)
    stretches = np.lib.stride_tricks.sliding_window_view(hr, n)[::step]
    return (stretches @ k) / kk * fs_hz


def concordance(pos: float, neg: float) -> float | None:
    """ln(sum of positive r / |sum of negative r|); None when either sum is zero."""
    return math.log(pos / -neg) if pos > 0 and neg < 0 else None


def concordance_index(a: Beats, b: Beats, start_s: float, end_s: float, settings: SynchronySettings) -> dict[str, Any]:
    """The concordance index of the whole span and of each ``rsa_window_s`` block (blocks with a gap left out)."""
    fs, w = settings.fs_hz, settings.rsa_window_s
    per_window = int(round(settings.concordance_window_s / settings.slope_step_s))
    rows, pos_all, neg_all = [], 0.0, 0.0
    for s in np.arange(start_s, end_s - w + 1e-9, w):
        n = int(round(w * fs))
        hr_a = heart_rate_over(a, float(s), n, fs, settings.margin_s, settings.max_bridge_s).hr_bpm
        hr_b = heart_rate_over(b, float(s), n, fs, settings.margin_s, settings.max_bridge_s).hr_bpm
        if hr_a is None or hr_b is None:
            rows.append({"start_s": float(s), "end_s": float(s + w), "ci": None})
            continue
        sa = hr_slopes(hr_a, fs, settings.slope_s, settings.slope_step_s)
        sb = hr_slopes(hr_b, fs, settings.slope_s, settings.slope_step_s)
        rs = [r for i in range(len(sa) - per_window + 1)
              if (r := _pearson(sa[i:i + per_window], sb[i:i + per_window])) is not None]
        pos, neg = sum(r for r in rs if r > 0), sum(r for r in rs if r < 0)
        pos_all, neg_all = pos_all + pos, neg_all + neg
        rows.append({"start_s": float(s), "end_s": float(s + w), "ci": concordance(pos, neg)})
    return {"index": concordance(pos_all, neg_all), "windows": rows}
