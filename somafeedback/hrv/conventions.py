"""The named frequency-domain convention sets, so a number never travels without how it was made.

* ``live``: the beat-by-beat pipeline's set (the default of :class:`~.spectral.SpectralSettings`):
  4 Hz cubic spline, mean removed, Welch with 256 s Hann segments and 50 % overlap laid from the
  NEWEST sample (a live window's newest data matter most, and a change shows in LF/HF as soon
  as possible), FFT zero-padded x2, band power = the PSD integral with interpolated edges.
* ``kubios``: what Kubios HRV documents (Tarvainen et al. 2014, Kubios HRV user's guide): 4 Hz
  cubic spline, smoothness-priors detrending with lambda = 500 (:mod:`.detrend`), Welch with
  256 s Hann segments and 50 % overlap from the START of the window, band power = the sum of the
  bins inside the band (low <= f < high) times the bin width. Not confirmed against Kubios itself
  (no Kubios here): the FFT length (we use 300 points per Hz, 1200 at 4 Hz, a 1/300 Hz grid),
  whether its mean removal follows the detrending, and its exact band-edge inclusion.
* ``task-force``: the 1996 Task Force recommendations (Circulation 93:1043) for 5-min
  recordings: 4 Hz cubic spline (the Task Force asks for interpolation, without fixing one),
  mean and linear trend removed, one Hann-tapered periodogram of the whole 5 min (no Welch
  averaging), FFT zero-padded x2, band power = the PSD integral over exactly the band.

``analyze``, the session report and the review window use ``kubios`` unless told otherwise; the
live pipeline uses ``live``; under the same set the two give the same value for the same
beats (tests/test_conventions.py).

Thread: any (immutable values).
"""

from __future__ import annotations

from typing import Final

from .spectral import SpectralSettings

LIVE: Final = SpectralSettings()
KUBIOS: Final = SpectralSettings(name="kubios", segment_start="start", detrend="smoothness-priors",
                                 band_rule="bins", fft_points_per_hz=300.0)
TASK_FORCE: Final = SpectralSettings(name="task-force", segment_s=300.0, overlap=0.0, segment_start="start",
                                     detrend="linear")
PRESETS: Final = {settings.name: settings for settings in (LIVE, KUBIOS, TASK_FORCE)}
DEFAULT_FOR_RECORDS: Final = "kubios"  # analyze, reports, the review window
DESCRIPTIONS: Final = {  # one line each, for text outputs (docs/metrics.md section 5 has the table)
    "kubios": "kubios conventions (4 Hz cubic spline, smoothness-priors detrend, Welch 256 s Hann from the start, bins in band)",
    "task-force": "task-force conventions (4 Hz cubic spline, linear detrend, one Hann periodogram of each 5 min)",
    "live": "live conventions (4 Hz cubic spline, mean removed, Welch 256 s Hann from the newest sample, band integral)",
}


def conventions(name: str) -> SpectralSettings:
    """The convention set called ``name`` (ValueError naming the choices otherwise)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown conventions {name!r}: choose one of {', '.join(PRESETS)}") from None
