"""An exercise file's ``[assessment]`` table as a :class:`ResonanceProtocol`.

The exercise loader (``regulation``, below this layer) keeps the table as written and checks its
keys; its values are read here, where the protocol lives.

Thread: any (pure functions).
"""

from __future__ import annotations

from somafeedback.regulation.exercises import Exercise

from .protocol import ResonanceProtocol


def assessment_protocol(exercise: Exercise | None) -> ResonanceProtocol | None:
    """The assessment ``exercise`` runs (None: not an assessment). ValueError naming the file for
    values the protocol refuses (a rate outside 3..10 breaths/min, a step too short...)."""
    if exercise is None or exercise.assessment is None:
        return None
    try:
        return ResonanceProtocol.from_dict(exercise.assessment)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{exercise.source.name}: assessment: {error}") from None
