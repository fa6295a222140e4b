"""What the client sees of a running breathing-rate assessment: the run's pacer and the step in plain words,
never a number measured (issue #19). Used by the practitioner's client view and by the home window.

:class:`AssessmentFollower` reads the run's timeline events (``resonance-step``, ``resonance``, ``pacer``) and
shows them on a :class:`ClientScreen`: the pacer exactly as the ``pacer`` events describe it (its start and every
change, so the screen's pacer is the one the engine measures the following against), the step's line, the rest.
While :attr:`running`, the window must not hand its own pacer to the engine (``Engine.set_pacer``): the run owns
the pacer then.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from typing import Any

from somafeedback.devices.events import TimelineEvent
from somafeedback.live.analysis import PACER_EVENT, pacer_from_data
from somafeedback.regulation.pacer import Pacer
from somafeedback.resonance.events import RESULT_EVENT, STEP_EVENT

from . import resonance_words as words
from .client_screen import ClientScreen

TEXTS = {"begin": words.CLIENT_BEGIN_TEXT, "start": words.CLIENT_STEP_TEXT, "repeat": words.CLIENT_STEP_TEXT,
         "rest": words.CLIENT_REST_TEXT, "stopped": words.CLIENT_STOPPED_TEXT}


def show_run_pacer(screen: ClientScreen, pacer: Pacer | None, text: str) -> None:
    """Show ``pacer`` (None: no pacer) with ``text`` on ``screen``: the same start and changes, so the screen's
    pacer equals the event's; a pacer with another start replaces the one shown."""
    if pacer is None:
        if text:
            screen.show_text(text)
        else:
            screen.clear()
        return
    shown = screen.pacer_widget().pacer() if screen.pacer_visible() and screen.current_exercise() is None else None
    if shown is not None and shown.changes[:1] != pacer.changes[:1]:
        screen.clear()  # another step's pacer: its own first breath
        shown = None
    done = len(shown.changes) if shown is not None else 0
    for at_s, settings in pacer.changes[done:]:
        screen.show_pacer(settings, at_s, text)  # the first starts it, the rest retime it phase-continuously
    if done and done == len(pacer.changes) and screen.current_text() != text:
        at_s, settings = pacer.changes[-1]
        screen.show_pacer(settings, at_s, text)  # the same pacer, a new line (a change at the same time replaces)


class AssessmentFollower:
    """Shows a running assessment on ``screen`` (None: no client view; the state is still followed)."""

    def __init__(self, screen: ClientScreen | None) -> None:
        self.screen = screen
        self.running = False
        self.pacer: Pacer | None = None
        self.text = ""
        self.result: dict[str, Any] | None = None
        self.stopped_by: str | None = None

    def take(self, event: TimelineEvent) -> bool:
        """Follow one event; True when it was the assessment's (a ``pacer`` event counts only while running)."""
        if event.kind == PACER_EVENT:
            if not self.running:
                return False
            self.pacer = pacer_from_data(event.data)
        elif event.kind == RESULT_EVENT:
            self.running, self.pacer, self.result = False, None, dict(event.data)
            self.text = words.CLIENT_END_TEXT if self.stopped_by is None else words.CLIENT_STOPPED_TEXT
        elif event.kind == STEP_EVENT:
            action = str(event.data.get("action"))
            if action == "begin":
                self.running, self.result, self.stopped_by, self.pacer = True, None, None, None
            elif action == "stopped":
                self.running, self.pacer = False, None
                self.stopped_by = str(event.data.get("by") or "practitioner")
            elif action == "rest":
                self.pacer = None  # the pacer is off in the rest (its own event follows)
            self.text = TEXTS.get(action, self.text)
        else:
            return False
        if self.screen is not None:
            show_run_pacer(self.screen, self.pacer, self.text)
        return True
