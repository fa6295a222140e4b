"""The guided resonance-frequency assessment: a stepped paced-breathing protocol, the measures of
each step (Shaffer & Meehan 2020; Lehrer's criteria) and the ranking of the steps.

The protocol (the steps and their timing) is an exercise's ``[assessment]`` table:
:mod:`somafeedback.regulation.assessment_protocol`. ``run``: the assessment as it runs; ``events``: the
timeline events a run records;
``result``: per-step measures and the ranked result (the JSON the CLI prints); ``criteria``: each
measure computed from one step's beats and breathing; ``scoring``: the documented weighting.
Qt-free, no clock of its own: driven by beat time like every stage of the core.
"""
