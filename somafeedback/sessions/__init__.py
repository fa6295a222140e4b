"""Sessions on disk: the SQLite session file (``file``: writer, reader, manifest), its
salvage after a killed recording (``salvage``), decoding recorded notifications back into beats
(``beats``) and raw signals (``raw_signals``), whole-session analysis (``analysis``), phases and
their statistics (``segments``), the session library of one folder (``library``: listing,
filters, tags) and review notes kept beside a session (``review_notes``). Reading a session never
changes it. May import ``hrv``, ``signals``, ``progress``, ``clock`` and ``devices``; not
``regulation`` or anything above.
"""
