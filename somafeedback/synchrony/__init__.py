"""Physiological synchrony between two people: how two heart rates move together, and who follows whom.

``settings`` (the windows, lags and surrogates, with units, and the conventions every output
carries), ``beats`` (each person's accepted beats and their heart rate on the common time axis),
``crosscorr`` (the lagged correlations of one window, vectorised over lags), ``windows`` (one
window from two beat series, and every window of a recording), ``confounds`` (what each window is
marked with), ``breathing`` (a shared breathing rhythm read from both people's beats), ``surrogates``
(the chance level from segment-shuffled pairs: a pure function of
arrays, so it can run on a worker), ``tracker`` (the live, chunk-by-chunk form), ``slow`` (RSA
synchrony and the concordance index) and ``dyad`` (the whole analysis of two recordings, as the
``synchrony`` command prints it). docs/metrics.md, "Synchrony between two people", has every
formula and caveat.

Qt-free and BLE-free; every function is synchronous and driven by beat time, never by a clock.
May import ``hrv``, ``signals``, ``progress``, ``devices.events`` and ``clock``.
"""
