"""Chimes stay silent in every sense while sound is off: Qt Multimedia is not even loaded."""

from __future__ import annotations

import os
from types import ModuleType

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from somafeedback.ui.chimes import UNAVAILABLE_TEXT, Chimes  # noqa: E402


def test_sound_off_never_loads_the_audio_back_end(qtbot) -> None:
    loads: list[str] = []

    def multimedia() -> ModuleType | None:
        loads.append("QtMultimedia")
        return None

    messages: list[str] = []
    chimes = Chimes(report=messages.append, multimedia=multimedia)
    chimes.play("step")
    for phase in ("inhale", "exhale", None):
        chimes.phase(phase)
    chimes.step()
    chimes.set_enabled(False)
    assert loads == [] and messages == []  # a practice with sound off: no audio back end, no console noise
    chimes.set_enabled(True)
    chimes.step()
    chimes.set_enabled(True)
    assert loads == ["QtMultimedia"]  # loaded once, when sound was first wanted
    assert messages == [UNAVAILABLE_TEXT] and not chimes.available
    chimes.close()
