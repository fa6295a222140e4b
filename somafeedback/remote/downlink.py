"""What reaches the client's screen from the practitioner: cue and pacer events as down messages, and back.

The practitioner's side records every change to the client's view as a ``cue`` timeline event (an
approved suggestion ``delivered``, an exercise ``pushed``, ``pushed-paused``, ``pushed-resumed``,
``pushed-step``, ``cleared``) and every pacer change as a ``pacer`` event. In a remote session the same
events go down to the client: :func:`down_message` turns one into a :class:`~.messages.Cue` or a
:class:`~.messages.PacerSettings` (None for every other event); on the client's side
:func:`client_view_command` reads a ``Cue`` back as a :class:`ClientViewCommand` for the client's screen
and :func:`pacer_settings` reads the pacer. Data this version cannot read gives None: shown nowhere,
counted by the caller.

The client records each command it received as a ``remote-cue`` event (:func:`received_event`), and
the client's own "not now" (the client can always decline) as a ``remote-cue`` event with action
``declined`` (:func:`declined_event`), which is also sent up so the practitioner sees it.

Times: the pacer's settings travel without their session times (the two clocks differ); the
client's pacer starts with an inhale when the settings arrive.

Pure: no I/O. Thread: any.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from somafeedback.devices.events import TimelineEvent
from somafeedback.regulation.pacer import PacerSettings as PacerBreath

from .messages import Cue, PacerSettings

CUE_EVENT: Final = "cue"  # the practitioner's timeline event of a cue or a change to the client view
PACER_EVENT: Final = "pacer"  # the practitioner's timeline event of a pacer change
REMOTE_CUE_EVENT: Final = "remote-cue"  # the client's record of a command received, or of its own "not now"
DECLINED: Final = "declined"
# the practitioner's cue actions that change what the client sees, and the client view's command for each
VIEW_ACTIONS: Final[dict[str, str]] = {
    "delivered": "show", "pushed": "show", "pushed-paused": "pause", "pushed-resumed": "resume",
    "pushed-step": "step", "cleared": "clear",
}
COMMANDS: Final = frozenset(VIEW_ACTIONS.values())
_BREATH_FIELDS: Final = ("inhale_s", "exhale_s", "hold_in_s", "hold_out_s")


@dataclass(frozen=True)
class ClientViewCommand:
    """One change to the client's screen: ``show`` (an ``exercise`` by id, else ``text``), ``pause`` or
    ``resume`` the exercise shown, ``step`` (go to the 1-based ``step``), ``clear`` (the resting screen)."""

    action: str
    exercise: str | None = None
    text: str = ""
    step: int | None = None
    cue_id: Any = None  # the practitioner's cue id (a suggestion's), for the client's decline to name

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "exercise": self.exercise, "text": self.text, "step": self.step,
                "cue_id": self.cue_id}


def down_message(event: TimelineEvent) -> Cue | PacerSettings | None:
    """The down message for one practitioner event (a view-changing ``cue`` or a ``pacer``), else None."""
    if event.kind == CUE_EVENT:
        action = VIEW_ACTIONS.get(str(event.data.get("action")))
        if action is None:
            return None
        exercise = event.data.get("exercise")
        step = event.data.get("cue_id") if action == "step" else None
        return Cue(ClientViewCommand(action, str(exercise) if exercise else None, str(event.data.get("text") or ""),
                                     step if isinstance(step, int) and not isinstance(step, bool) else None,
                                     event.data.get("cue_id") if action == "show" else None).as_dict())
    if event.kind == PACER_EVENT:
        changes = event.data.get("changes")
        if not event.data.get("running") or not isinstance(changes, list) or not changes \
                or not isinstance(changes[-1], Mapping):
            return PacerSettings({"running": False})
        latest = changes[-1]
        return PacerSettings({"running": True, **{name: latest.get(name, 0.0) for name in _BREATH_FIELDS}})
    return None


def client_view_command(message: Cue) -> ClientViewCommand | None:
    """The command a ``Cue`` carries, or None when this version cannot read it."""
    data = message.data
    action, exercise, text, step = data.get("action"), data.get("exercise"), data.get("text", ""), data.get("step")
    if action not in COMMANDS or not isinstance(text, str) or not (exercise is None or isinstance(exercise, str)):
        return None
    if step is not None and (not isinstance(step, int) or isinstance(step, bool) or step < 1):
        return None
    if action == "show" and not exercise and not text:
        return None
    if action == "step" and step is None:
        return None
    cue_id = data.get("cue_id")
    return ClientViewCommand(action, exercise, text, step, cue_id if isinstance(cue_id, (int, str)) else None)


def pacer_settings(message: PacerSettings) -> tuple[bool, PacerBreath | None]:
    """``(readable, breath)``: the pacer's breath (None: the pacer stops); ``readable`` False for data this
    version cannot read (then leave the client's pacer as it is)."""
    data = message.data
    if data.get("running") is False:
        return True, None
    try:
        values = [float(data[name]) for name in _BREATH_FIELDS]
        return True, PacerBreath(*values)
    except (KeyError, TypeError, ValueError):
        return False, None


def received_event(command: ClientViewCommand, host_ns: int, wall_time: float) -> TimelineEvent:
    """The client's record of a command from the practitioner (on the client's clock)."""
    return TimelineEvent(REMOTE_CUE_EVENT, host_ns, wall_time, {"received": True, **command.as_dict()})


def declined_event(command: ClientViewCommand, host_ns: int, wall_time: float) -> TimelineEvent:
    """The client's "not now" to what is shown (recorded, and sent up so the practitioner sees it)."""
    return TimelineEvent(REMOTE_CUE_EVENT, host_ns, wall_time,
                         {**command.as_dict(), "action": DECLINED, "declined": command.action})
