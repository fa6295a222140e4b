"""The Polar H10's raw streams, turned into measures: R-peak detection from the ECG
(``ecg_peaks``), breathing from the ECG (``ecg_respiration``) and from chest motion
(``chest_motion``: breathing rate, movement), the cross-check of the strap's RR against the ECG
(``rr_crosscheck``), pacer following (``pacer_following``: did breathing follow the pacer) and
the per-strap bundle that feeds them from PMD frames (``raw_signals``). Synchronous, driven by
sample time. May import ``progress``, ``clock`` and ``devices`` (frame decoding and types);
not ``hrv`` or anything above.
"""
