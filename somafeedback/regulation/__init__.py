"""The regulation models, driven beat by beat: the state model with its baseline and
signal gate (``states``), the client's usual range from earlier sessions (``usual_range``), the
practitioner's suggestions and the home script (``cues``), the method modes SE / Focusing / CSE
with movement blocks (``methods``), pendulation swings (``pendulation``), the breathing pacer
(``pacer``) and the exercise scripts (``exercises`` reading the TOML files of
``exercise_scripts/``). Synchronous and clock-free: tests feed them chunk by chunk. May import
``sessions``, ``hrv``, ``signals`` and below; never ``live`` (which runs these models on a
stream) or anything above.
"""
