"""The timeline events an assessment records (``TimelineEvent`` kinds and their ``data``).

``resonance-step`` (:data:`STEP_EVENT`), ``data["action"]`` one of :data:`ACTIONS`:

* ``begin``: the assessment starts; ``protocol`` (:meth:`ResonanceProtocol.as_dict`),
  ``planned_s`` (its planned length), ``client`` (pseudonym or None);
* ``start``: a step starts, the pacer on at its rate; ``index`` (position in the run, 0-based; a
  repeated step gets a new index), ``step`` (position in the protocol's rates), ``rate_bpm``,
  ``inhale_share``, ``started_s``, ``scored_from_s`` (after settling), ``ends_s`` (planned end);
* ``progress``: every :data:`PROGRESS_EVERY_S` of the scored part: the same keys as ``start`` plus
  ``measures`` (:meth:`StepMeasures.as_dict` over the scored part so far; the view fills in);
* ``end``: the step is complete: ``measures`` over the whole scored part;
* ``skipped``: the practitioner skipped the step (``measures`` of what there was, often "not
  assessable: too short");
* ``repeat``: the practitioner asked to repeat the step (it starts again with a new ``index``);
* ``rest``: ordinary breathing until ``ends_s`` (pacer off);
* ``stopped``: the assessment was stopped (``by``: "practitioner", "client" or "end of session";
  ``reason`` in words).

``resonance`` (:data:`RESULT_EVENT`): the result, :meth:`ResonanceResult.as_dict` (also after a
stop, over the steps done; ``best_rate_bpm`` None when no step could be assessed). The CLI's JSON
line is ``{"type": "resonance", "strap": ..., "t_s": ..., **data}``.

Thread: any (constants).
"""

from __future__ import annotations

from typing import Final

STEP_EVENT: Final = "resonance-step"
RESULT_EVENT: Final = "resonance"
ACTIONS: Final = ("begin", "start", "progress", "end", "skipped", "repeat", "rest", "stopped")
PROGRESS_EVERY_S: Final = 10.0  # s of session time between progress events of a step
CONTROLS: Final = ("skip", "repeat", "stop")  # what the practitioner (or the client at home) can ask
