"""band_of: the usual range (HR_ref, top of band, above-band line) of a recorded baseline, as the state model judges it."""

from __future__ import annotations

import pytest

from somafeedback.regulation.states import Baseline, RegulationConfig, band_of


def row(hr_ref: float, sd_hr: float) -> dict[str, object]:
    return Baseline(hr_ref, sd_hr, 3.9, 0.12, 1.0, "calibration", 240.0, 200.0, 20).as_dict()


@pytest.mark.parametrize(("hr_ref", "sd_hr"), [(62.0, 1.5), (71.0, 6.0), (80.5, 3.4)])
def test_the_band_is_the_default_thresholds_of_the_baseline(hr_ref: float, sd_hr: float) -> None:
    config = RegulationConfig()
    # written out from docs/regulation.md: top of band HR_ref + max(4, 1.25 sd_HR), above HR_ref + max(8, 2.5 sd_HR)
    top = hr_ref + max(4.0, 1.25 * sd_hr)
    above = hr_ref + max(8.0, 2.5 * sd_hr)
    assert (config.band_top_bpm, config.band_top_sd, config.above_bpm, config.above_sd) == (4.0, 1.25, 8.0, 2.5)
    band = band_of(row(hr_ref, sd_hr))
    assert band is not None
    assert band == pytest.approx((hr_ref, top, above))


def test_a_large_spread_widens_the_band_and_a_small_one_keeps_the_minimum() -> None:
    narrow, wide = band_of(row(60.0, 1.0)), band_of(row(60.0, 8.0))
    assert narrow == pytest.approx((60.0, 64.0, 68.0))
    assert wide == pytest.approx((60.0, 70.0, 80.0))


def test_a_baseline_from_an_older_session_and_unknown_fields_are_read() -> None:
    old = {k: v for k, v in row(65.0, 2.0).items() if k not in ("clean_s", "windows", "above_usual_range")}
    assert band_of({**old, "something_new": 1}) == pytest.approx((65.0, 69.0, 73.0))
    assert band_of(row(65, 2)) == (65.0, 69.0, 73.0) and isinstance(band_of(row(65, 2))[0], float)


@pytest.mark.parametrize("broken", [
    {},
    {k: v for k, v in row(60.0, 1.0).items() if k != "sd_hr"},
    {**row(60.0, 1.0), "hr_ref": "sixty"},
    {**row(60.0, 1.0), "sd_hr": None},
])
def test_a_baseline_that_cannot_be_read_gives_no_band(broken: dict[str, object]) -> None:
    assert band_of(broken) is None
