"""How synchrony is measured: the settings (with units) and the conventions every output carries.

Thread: any (immutable values).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Final

RESAMPLING: Final = "instantaneous HR (60000 / RR, bpm) of accepted beats, cubic spline (hrv.tachogram), evenly resampled"
DETRENDING: Final = "least-squares line removed per window (and per lagged segment)"
LAG_SIGN: Final = "positive lag = B follows A (A at t pairs with B at t + lag); negative = A follows B"
PEAK: Final = "the lag with the largest |r|, its r kept signed (r > 0 in phase, r < 0 anti-phase)"
BEAT_TIMING: Final = ("a Polar H10 streaming ECG times beats by their R peaks (within a few ms); a strap without ECG "
                      "(heart rate notifications only) has its beats placed by the arrival of the first notification "
                      "that carried them, up to ~1 s late and by a different amount per strap, so a lag between two "
                      "such straps is uncertain by up to about 1 s either way")
FISHER_CAP_R: Final = 0.9999  # |r| is capped here before Fisher's z (z <= 4.95), as rMEA caps z
STANDS_OUT: Final = ("a window stands out when its peak |z| exceeds the k-th smallest of the n surrogate peak |z| "
                     "values, k = ceil((1 - alpha)(n + 1)): at most alpha false positives when the two series "
                     "are unrelated")


@dataclass(frozen=True, slots=True)
class SynchronySettings:
    """Windows, lags and surrogates; times in seconds, rates in Hz."""

    window_s: float = 30.0  # windowed cross-correlation window (Boker et al. 2002)
    step_s: float = 5.0  # one window every step_s
    max_lag_s: float = 5.0  # lags from -max_lag_s to +max_lag_s, one sample (1 / fs_hz) apart
    fs_hz: float = 4.0  # resampling rate of both heart rates
    surrogates: int = 500  # segment-shuffled pairs giving the chance distribution (at least 100)
    seed: int = 0  # seed of the surrogate pairing
    alpha: float = 0.05  # share of unrelated windows allowed to stand out
    refresh_windows: int = 12  # the live tracker recomputes the chance level every this many windows (1 min)
    margin_s: float = 2.0  # beats this far beyond a window's span feed its spline (so a window is local)
    max_bridge_s: float = 3.0  # accepted beats further apart than this: a gap
    max_artifact_pct: float = 5.0  # the hrv rule: more flagged beats than this in a window marks it
    clock_uncertain_ms: float = 50.0  # a remote clock offset less certain than this marks the window
    rsa_window_s: float = 60.0  # RSA synchrony window
    rsa_span_s: float = 20.0  # each RSA value: mean peak-to-trough swing over this span ...
    rsa_step_s: float = 5.0  # ... one value every rsa_step_s
    slope_s: float = 5.0  # concordance: HR slope over this span ...
    slope_step_s: float = 1.0  # ... one slope every slope_step_s
    concordance_window_s: float = 15.0  # concordance: slopes correlated over this window (Marci & Orr 2006)

    def __post_init__(self) -> None:
        positive = ("window_s", "step_s", "max_lag_s", "fs_hz", "rsa_window_s", "rsa_span_s", "rsa_step_s",
                    "slope_s", "slope_step_s", "concordance_window_s")
        for name in positive:
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, not {value!r}")
        if self.surrogates < 100:
            raise ValueError(f"surrogates must be at least 100, not {self.surrogates}")
        if not 0.0 < self.alpha < 0.5:
            raise ValueError(f"alpha must be between 0 and 0.5, not {self.alpha}")
        if self.max_lag_s >= self.window_s:
            raise ValueError("max_lag_s must be shorter than window_s")

    @property
    def window_samples(self) -> int:
        return int(round(self.window_s * self.fs_hz))

    @property
    def lag_samples(self) -> int:
        return int(round(self.max_lag_s * self.fs_hz))

    @property
    def step_samples(self) -> int:
        return max(1, int(round(self.step_s * self.fs_hz)))

    def as_dict(self) -> dict[str, Any]:
        """The settings, with their units in the names' comments above (JSON-ready)."""
        return {**asdict(self), "lag_step_s": 1.0 / self.fs_hz}


def conventions() -> dict[str, str]:
    """How every number was made, in words (carried by every output)."""
    return {"resampling": RESAMPLING, "detrending": DETRENDING, "lag_sign": LAG_SIGN, "peak": PEAK,
            "fisher_z": f"z = atanh(r), |r| capped at {FISHER_CAP_R}", "stands_out": STANDS_OUT,
            "surrogates": "SUSY-style segment shuffling (Tschacher & Meier 2020): each A window paired with B's "
                          "segment from a non-overlapping time, seeded",
            "time_axis": "seconds from A's first beat; B placed by the offset (B's start minus A's)",
            "beat_timing": BEAT_TIMING}
