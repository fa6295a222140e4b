"""Synchrony between two heart rates: the windowed cross-correlation against an independent
computation on real beats, known lags and signs recovered, the chance level, and the live tracker."""

from __future__ import annotations

import numpy as np
import pytest
from real_records import irurzun_ms, nsr001_ms
from scipy.signal import detrend
from synchrony_helpers import beats_following, cut, smooth_noise

from somafeedback.synchrony.beats import heart_rate_over
from somafeedback.synchrony.confounds import ARTIFACTS, SHARED_PACER, ConfoundSpans
from somafeedback.synchrony.dyad import analyse_dyad
from somafeedback.synchrony.settings import SynchronySettings
from somafeedback.synchrony.tracker import SynchronyTracker
from somafeedback.synchrony.windows import all_windows, lag_grid_s

SETTINGS = SynchronySettings()


@pytest.fixture(scope="module")
def real_pair():
    return cut(irurzun_ms(), 0, 8), cut(nsr001_ms(), 30, 8)


def test_windowed_cross_correlation_equals_corrcoef_per_lag_on_real_beats(real_pair) -> None:
    a, b = real_pair
    windows = all_windows(a, b, SETTINGS)
    n, m, fs = SETTINGS.window_samples, SETTINGS.lag_samples, SETTINGS.fs_hz
    lags = lag_grid_s(SETTINGS)
    assert len(windows) > 80
    for w in windows[::7]:
        hr_a = heart_rate_over(a, w.start_s, n, fs, SETTINGS.margin_s, SETTINGS.max_bridge_s).hr_bpm
        hr_b = heart_rate_over(b, w.start_s - m / fs, n + 2 * m, fs, SETTINGS.margin_s, SETTINGS.max_bridge_s).hr_bpm
        assert hr_a is not None and hr_b is not None
        r = np.array([np.corrcoef(detrend(hr_a), detrend(hr_b[j:j + n]))[0, 1] for j in range(2 * m + 1)])
        best = int(np.argmax(np.abs(r)))
        assert w.r == pytest.approx(r[best], abs=1e-9)
        assert w.r_at_zero_lag == pytest.approx(r[m], abs=1e-9)
        assert w.lag_s == lags[best]
        assert w.z == pytest.approx(np.arctanh(r[best]), abs=1e-9)


@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["in-phase", "anti-phase"])
def test_a_known_lag_and_sign_are_recovered(sign: float) -> None:
    grid, wobble = smooth_noise(600, seed=3)
    _, noise = smooth_noise(600, seed=4)
    a = beats_following(grid, 70 + wobble, 600, seed=1)
    b = beats_following(grid + 2.0, 70 + sign * wobble + 0.4 * noise, 600, seed=2)  # B = ±A, 2.0 s later
    summary = analyse_dyad(a, b, slow=False)["summary"]
    assert summary["lag_s"] == pytest.approx(2.0, abs=0.5)
    assert summary["share_above_chance"] > 0.5
    assert summary["effect_size"] > 1.0
    assert summary["in_phase_share_of_above_chance"] == (1.0 if sign > 0 else 0.0)


def test_pseudo_dyads_of_two_different_real_recordings_stay_within_chance() -> None:
    """Two strangers' hearts: at most ~10 % of windows stand out (5 % expected, plus the spread of
    one 20-min dyad's ~230 overlapping windows), and the effect size stays small (|ES| < 0.5,
    against 1.0 and more for the coupled dyads above)."""
    irurzun, nsr = irurzun_ms(), nsr001_ms()
    for a, b in [(cut(irurzun, 0), cut(nsr, 0)), (cut(irurzun, 60), cut(nsr, 200)), (cut(nsr, 60), cut(irurzun, 100))]:
        summary = analyse_dyad(a, b, slow=False)["summary"]
        assert summary["windows_with_value"] > 200
        assert summary["share_above_chance"] <= 0.10
        assert abs(summary["effect_size"]) < 0.5


def test_false_positive_rate_of_independent_series_is_at_most_five_percent() -> None:
    """40 independent synthetic dyads (10 min, ~110 windows each), each with its own surrogate seed:
    the pooled share of windows standing out stays at the 5 % the threshold allows (by construction
    at most 4.99 % in expectation with 500 surrogates; +0.5 % is about one standard error of the
    pooled estimate, whose windows overlap)."""
    above = total = 0
    for seed in range(40):
        grid_a, hr_a = smooth_noise(600, seed)
        grid_b, hr_b = smooth_noise(600, 1000 + seed)
        a, b = beats_following(grid_a, 70 + hr_a, 600, seed), beats_following(grid_b, 70 + hr_b, 600, 500 + seed)
        summary = analyse_dyad(a, b, SynchronySettings(seed=seed), slow=False)["summary"]
        above += summary["windows_above_chance"]
        total += summary["windows_with_value"]
    assert total > 3500
    assert above / total <= 0.055


def test_the_tracker_fed_chunk_by_chunk_gives_the_whole_series_windows(real_pair) -> None:
    a, b = real_pair
    whole = all_windows(a, b, SETTINGS)
    tracker = SynchronyTracker(SETTINGS)
    rng = np.random.default_rng(0)
    got, ia, ib = [], 0, 0
    while ia < len(a.t_s) or ib < len(b.t_s):
        ka, kb = int(rng.integers(0, 8)), int(rng.integers(0, 8))
        chunk_a = (a.t_s[ia:ia + ka], a.rr_ms[ia:ia + ka], a.flagged[ia:ia + ka])
        chunk_b = (b.t_s[ib:ib + kb], b.rr_ms[ib:ib + kb], b.flagged[ib:ib + kb])
        got.extend(tracker.update(chunk_a, chunk_b))
        ia, ib = ia + ka, ib + kb
    assert [w.row() | {"above_chance": None} for w in got] == [w.row() for w in whole]
    assert sum(w.above_chance is not None for w in got) >= len(got) - SETTINGS.refresh_windows  # judged once a chance level exists
    assert tracker.chance.surrogates == SETTINGS.surrogates


def test_surrogates_are_seeded_and_confounds_mark_windows_without_dropping_them(real_pair) -> None:
    a, b = real_pair
    spans = ConfoundSpans(shared_pacer=((100.0, 160.0),))
    first = analyse_dyad(a, b, SynchronySettings(seed=7), spans, slow=False)
    assert analyse_dyad(a, b, SynchronySettings(seed=7), spans, slow=False)["chance"] == first["chance"]
    assert analyse_dyad(a, b, SynchronySettings(seed=8), spans, slow=False)["chance"] != first["chance"]
    paced = [w for w in first["windows"] if SHARED_PACER in w["confounds"]]
    assert paced and all(w["start_s"] < 160.0 and w["end_s"] > 100.0 and w["r"] is not None for w in paced)
    flagged = b.flagged.copy()
    flagged[(b.t_s > 200) & (b.t_s < 215)] = True  # 15 s of B's beats rejected: bridged, marked
    marked = analyse_dyad(a, type(b)(b.t_s, b.rr_ms, flagged), slow=False)["windows"]
    hit = [w for w in marked if w["start_s"] < 215 and w["end_s"] > 200]
    assert hit and all(ARTIFACTS in w["confounds"] for w in hit)
    assert first["settings"]["surrogates"] == 500 and "lag_sign" in first["conventions"]


def test_the_slow_layer_reports_rsa_synchrony_and_a_concordance_index() -> None:
    grid, wobble = smooth_noise(600, seed=3)
    _, other = smooth_noise(600, seed=9)
    a = beats_following(grid, 70 + wobble, 600, seed=1)
    same, opposite, unrelated = (analyse_dyad(a, beats_following(grid, 70 + hr, 600, seed=2))["slow"]
                                 for hr in (wobble + 0.5 * other, -wobble + 0.5 * other, other))
    assert same["concordance"]["index"] > 2.0  # HR slopes agree far more than they oppose
    assert opposite["concordance"]["index"] < -2.0
    assert abs(unrelated["concordance"]["index"]) < 1.0
    assert same["rsa_synchrony"]["mean_r"] > unrelated["rsa_synchrony"]["mean_r"] + 0.3
    assert all(set(w) == {"start_s", "end_s", "r"} for w in same["rsa_synchrony"]["windows"])


def test_a_live_pair_window_says_what_was_measured_in_words() -> None:
    from somafeedback.synchrony.pair_window import PairWindow, describe
    from somafeedback.synchrony.windows import SyncWindow

    def window(r, lag, above, confounds=()):
        return SyncWindow(3, 15.0, 45.0, r, None, lag, None, confounds, None, None, above)

    assert describe(window(0.61, 2.0, True)) == "heart rates moved together, client ~2.0 s after you, r = 0.61, above chance"
    assert describe(window(-0.4, -1.5, False, ("shared pacer",))) == (
        "heart rates moved in opposite directions, you ~1.5 s after client, r = -0.40, within chance "
        "(marked: shared pacer)")
    assert describe(window(0.3, 0.0, None)).endswith("at the same time, r = 0.30, chance level not known yet")
    assert describe(window(None, None, None)).startswith("not enough clean beats")
    pair = PairWindow("strap2", "strap1", window(0.61, 2.0, True), effect_size=1.2, share_above_chance=0.25)
    assert pair.pair == ("strap2", "strap1") and pair.row()["lag_s"] == 2.0 and pair.row()["effect_size"] == 1.2
