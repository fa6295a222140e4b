"""Beat-level heart-rate variability: from beat times to the measures a practitioner reads.

The adaptive causal artifact rule (``artifacts``), the sliding time-domain windows
(``time_domain``: RMSSD, SDNN, pNN50 in ms), the spectral measures (``spectral``: Welch LF/HF
in ms², breathing rate, coherence), the live metric pipeline that joins them beat by beat
(``pipeline``), whole-record analysis of an RR file (``whole_record``, the ``analyze`` command)
and the metric set as table rows with units (``metric_rows``). Every function here is
synchronous and driven by beat time, never by a clock. May import ``progress``, ``clock`` and
``devices.events`` (the beat and notification types); nothing else of the core.
"""
